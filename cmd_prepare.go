package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps"
)

const prepareLong = `prepare applies the fixes of "Prepare your environment for a link" that milink can
apply on SQL Server, after showing each exact statement: the database master key, the FULL
recovery model and a full backup of the databases (--database, --backup-dir), trace flags
1800 and 9567 now, and 'Agent XPs'. On Linux with --ssh it also runs mssql-conf (startup
trace flags, hadr.hadrenabled, sqlagent.enabled) over SSH; on Windows it prints the
PowerShell to run. A restart happens only with --restart and its own confirmation
(a prompt naming the instance and its open sessions, or --yes-restart).

Without --yes it lists the changes and asks on a terminal; without a terminal it refuses.
--script prints the T-SQL and shell it would run and changes nothing.

The master key password comes from MILINK_MASTER_KEY_PASSWORD, --master-key-password-stdin
(the line after the SQL Server password's when both come from stdin) or a prompt (twice).
It is never stored, logged or printed: keep it safe.

Exit codes: 0 every change applied (or nothing to do); 1 a change failed, or it was
declined; 2 bad flags or input, nothing changed.`

// prepareFlags are the flags of milink prepare.
type prepareFlags struct {
	sql                           connFlags
	ssh                           steps.SSHConfig
	databases                     []string
	backupDir, output, logFile    string
	cloud                         string
	configPath                    string
	yes, script, restart, yesRest bool
	mkStdin, quiet                bool
}

// prepareCmd is milink prepare: the Prerequisites page's Fix action without a UI.
func (a *app) prepareCmd() *cobra.Command {
	f := &prepareFlags{sql: connFlags{prefix: "sql", role: "SQL Server"}}
	cmd := &cobra.Command{
		Use:   "prepare",
		Short: "Apply the link's preparation on SQL Server (master key, recovery model, backup, trace flags, Agent XPs), with consent",
		Long:  prepareLong,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return a.runPrepare(cmd.Flags(), f) },
	}
	fs := cmd.Flags()
	f.sql.register(fs)
	registerSSH(fs, &f.ssh)
	fs.StringSliceVar(&f.databases, "database", nil, "database to prepare for the link (repeatable; default all user databases)")
	fs.StringVar(&f.backupDir, "backup-dir", "", "directory on the SQL Server host for the full backups that start the log chain (writable by the SQL Server service; default: SERVERPROPERTY('InstanceDefaultBackupPath'), SQL Server 2019 and later)")
	fs.StringVar(&f.cloud, "cloud", "AzureCloud", "the managed instance's Azure cloud, for the TDE certificate upload command: "+strings.Join(steps.CloudNames(), ", "))
	fs.BoolVarP(&f.yes, "yes", "y", false, "apply without asking")
	fs.BoolVar(&f.script, "script", false, "print the T-SQL and shell that would run, change nothing")
	fs.BoolVar(&f.restart, "restart", false, "restart SQL Server over SSH after mssql-conf changes (asks separately on a terminal)")
	fs.BoolVar(&f.yesRest, "yes-restart", false, "with --restart: restart without asking")
	fs.Var(&switchValue{on: &f.mkStdin}, "master-key-password-stdin", "read the master key password from standard input (else MILINK_MASTER_KEY_PASSWORD, else a prompt)")
	fs.Lookup("master-key-password-stdin").NoOptDefVal = "true"
	fs.StringVarP(&f.output, "output", "o", "text", "report format: text or json")
	fs.StringVar(&f.logFile, "log-file", "", "log file (default $XDG_STATE_HOME/milink/milink.log; '-' for none)")
	fs.StringVar(&f.configPath, "config", "", "JSON file with flag values (no passwords)")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "no progress lines on stderr, only warnings")
	return cmd
}

// runPrepare runs milink prepare: connect, check, plan, show, consent, apply, check again.
func (a *app) runPrepare(fs *pflag.FlagSet, f *prepareFlags) error {
	cc, err := a.prepareConfig(fs, f)
	if err != nil {
		return err
	}
	log, closeLog, logErr := a.openLog(f.logFile)
	if logErr != nil {
		return usageError{logErr}
	}
	ctx, stop := a.signalContext()
	defer func() { stop(); closeLog() }()
	sess := steps.NewSession(steps.Config{SQLServer: cc, Databases: f.databases, SSH: f.ssh}, steps.SessionOptions{})
	defer sess.Close()
	if err := sess.ConnectSQLServer(ctx, cc); err != nil {
		return fmt.Errorf("connect to SQL Server: %w", err)
	}
	if _, err := sess.CheckPrerequisites(ctx); err != nil {
		return fmt.Errorf("check the prerequisites: %w", err)
	}
	opts := steps.PrepareOptions{Databases: f.databases, BackupDir: f.backupDir, SSH: f.ssh.Host != "", Cloud: f.cloud}
	plan, err := sess.PlanPreparation(ctx, opts)
	if err != nil {
		if fe := steps.FieldErrors(err); len(fe) > 0 {
			return flagErrors(err)
		}
		return err
	}
	if f.script {
		writeScript(a.stdout, plan)
		return nil
	}
	human := a.stdout // the plan and outcome; on stderr when stdout carries the JSON report
	if f.output == "json" {
		human = a.stderr
	}
	writePlan(human, plan)
	if !hasApplicable(plan) {
		fmt.Fprintln(human, "Nothing for milink to apply.")
		return nil
	}
	if err := missingInput(plan); err != nil {
		return err
	}
	in := a.promptReader()
	if !f.yes {
		if !a.stdinTTY() {
			return usageError{errors.New("the changes above need consent: run on a terminal to be asked, or give --yes")}
		}
		if !confirm(human, in, "Apply these changes to SQL Server "+plan.Instance+"? [y/N] ") {
			fmt.Fprintln(human, "Nothing changed.")
			return exitError{steps.ExitError}
		}
	}
	ap := steps.ApplyOptions{Sink: a.checkSink(log, f.quiet)}
	if needsPassword(plan) {
		if ap.MasterKeyPassword, err = a.masterKeyPassword(f, in); err != nil {
			return err
		}
	}
	if f.ssh.Host != "" {
		pr := f.ssh.Prober(cc.Host)
		defer pr.Close()
		ap.Host = pr
	}
	if f.restart {
		ap.ConfirmRestart = a.restartConfirmer(human, f, in)
	}
	log.Info("prepare started", "sql_server", cc.Address(), "login", plan.Login, "changes", len(plan.Changes))
	out, err := sess.ApplyPreparation(ctx, plan, ap)
	ap.MasterKeyPassword = ""
	if out != nil {
		writeOutcome(human, out)
	}
	if f.output == "json" {
		if werr := sess.Report().WriteJSON(a.stdout); werr != nil {
			return fmt.Errorf("write report: %w", werr)
		}
	}
	if err != nil {
		return err
	}
	if out.Failed() {
		return exitError{steps.ExitError}
	}
	return nil
}

// prepareConfig checks the flags and returns the SQL Server connection with its password.
func (a *app) prepareConfig(fs *pflag.FlagSet, f *prepareFlags) (cc sqlops.ConnConfig, err error) {
	if err := a.applyEnvAndConfig(fs, f.configPath); err != nil {
		return cc, err
	}
	switch {
	case f.output != "text" && f.output != "json":
		return cc, usageError{fmt.Errorf("--output must be text or json, not %q", f.output)}
	case f.sql.server == "":
		return cc, usageError{errors.New("--sql-server is required (or MILINK_SQL_SERVER)")}
	case f.yesRest && !f.restart:
		return cc, usageError{errors.New("--yes-restart confirms a restart asked for with --restart: give both, or neither")}
	case f.restart && f.ssh.Host == "":
		return cc, usageError{errors.New("--restart restarts SQL Server on Linux over SSH: give --ssh too (on Windows milink prints the restart command instead)")}
	}
	if _, err := steps.LookupCloud(f.cloud); err != nil {
		return cc, usageError{fmt.Errorf("--cloud: %w", err)}
	}
	if err := checkNumbers(fs); err != nil {
		return cc, err
	}
	if err := checkSSHFlags(f.ssh, f.sql.server); err != nil {
		return cc, err
	}
	for _, d := range f.databases {
		if err := sqlops.ValidateDatabaseName(d); err != nil {
			return cc, usageError{fmt.Errorf("--database: %w", err)}
		}
	}
	cc = f.sql.config("x")
	if err := cc.Validate(); err != nil {
		return cc, usageError{err}
	}
	cc.Password = ""
	if f.sql.needsPassword() {
		if f.mkStdin && f.sql.passwordStdin {
			// Both passwords on stdin: one reader for both lines (passwords reuses it).
			a.stdin = bufio.NewReaderSize(a.stdin, maxPasswordLine)
		}
		pw, err := a.passwords(&f.sql)
		if err != nil {
			return cc, err
		}
		cc.Password = pw[0]
	}
	return cc, nil
}
