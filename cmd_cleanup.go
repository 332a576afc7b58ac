package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps"
)

// cleanupFlags are the flags of milink cleanup.
type cleanupFlags struct {
	sql, mi             connFlags
	az                  azureFlags
	dryRun, yes         bool
	logFile, configPath string
}

// cleanupCmd is milink cleanup: it removes what crashed runs left, and only milink's.
func (a *app) cleanupCmd() *cobra.Command {
	f := &cleanupFlags{sql: connFlags{prefix: "sql", role: "SQL Server"}, mi: connFlags{prefix: "mi", role: "managed instance"}}
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Find and remove test objects a crashed milink run left behind (only milink's)",
		Long: `cleanup connects to SQL Server and/or the managed instance, lists the Agent jobs,
endpoints and certificates that milink runs left behind, asks, and removes them.

An object is milink's only if it is named as milink names them (TestMILinkConnection*,
NetHelper*, TEST_ENDPOINT*, TEST_CERT*) and carries a mark that only this machine's
milink key (in $XDG_STATE_HOME/milink) can produce for that object; an endpoint only if
its certificate is milink's. Objects of a milink run that is still running (it holds
its lock on the instance) are left alone. Anything else that looks marked is listed
and never removed; objects of a run from another machine are listed with the T-SQL to
remove them by hand. Each removal is verified by reading the catalog back.

Exit code 0 when nothing removable is left, 1 when something was not removed (or
removal was declined).`,
		Example: `  # list what crashed runs left, remove nothing
  milink cleanup --sql-server sqlprod01 --sql-user sa \
    --mi-server sqlmi-demo --mi-user miadmin --dry-run

  # remove without asking (needed when standard input is not a terminal)
  milink cleanup --sql-server sqlprod01 --sql-user sa --yes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runCleanup(cmd.Flags(), f) },
	}
	fs := cmd.Flags()
	f.sql.register(fs)
	f.mi.register(fs)
	f.az.registerSignIn(fs)
	fs.BoolVar(&f.dryRun, "dry-run", false, "list what would be removed, remove nothing; exit 1 when something removable is left")
	fs.BoolVarP(&f.yes, "yes", "y", false, "remove without asking")
	fs.StringVar(&f.logFile, "log-file", "", "log file ('-' for none)")
	fs.StringVar(&f.configPath, "config", "", "JSON file with flag values (no passwords)")
	return cmd
}

// runCleanup cleans every server given, going on after a failure; any failure exits 1.
func (a *app) runCleanup(fs *pflag.FlagSet, f *cleanupFlags) error {
	if err := a.applyEnvAndConfig(fs, f.configPath); err != nil {
		return err
	}
	if err := checkNumbers(fs); err != nil {
		return err
	}
	var targets []*connFlags
	for _, c := range []*connFlags{&f.sql, &f.mi} {
		if c.server != "" {
			targets = append(targets, c)
		}
	}
	if len(targets) == 0 {
		return usageError{errors.New("give --sql-server and/or --mi-server")}
	}
	if in, ok := a.stdin.(*os.File); !f.yes && !f.dryRun && (!ok || !a.isTTY(int(in.Fd()))) {
		return usageError{errors.New("cleanup asks before it removes anything, and standard input is not a terminal: give --yes to remove without asking, or --dry-run to only list")}
	}
	configs, err := a.cleanupConfigs(fs, f, targets)
	if err != nil {
		return err
	}
	_, closeLog, err := a.openLog(f.logFile)
	if err != nil {
		return usageError{err}
	}
	defer closeLog()
	ctx, stop := a.signalContext()
	defer stop()
	failed := false
	in := bufio.NewReader(io.LimitReader(a.stdin, 64<<10))
	for i, c := range targets {
		if !a.cleanupServer(ctx, c, configs[i], f, in) {
			failed = true
		}
	}
	if failed {
		return exitError{steps.ExitError}
	}
	return nil
}

// cleanupConfigs returns the connection of each target, validated, with its password
// (or the managed instance's Entra token).
func (a *app) cleanupConfigs(fs *pflag.FlagSet, f *cleanupFlags, targets []*connFlags) ([]sqlops.ConnConfig, error) {
	azs, err := f.az.setup(a.printDeviceCode)
	if err != nil {
		return nil, err
	}
	configs := make([]sqlops.ConnConfig, len(targets))
	var needPw []*connFlags
	for i, c := range targets {
		configs[i] = c.config("x")
		if c == &f.mi {
			azs.signInMI(&configs[i], fs)
		}
		if configs[i].Token == nil && c.needsPassword() {
			needPw = append(needPw, c)
		}
		if err := configs[i].Validate(); err != nil {
			return nil, usageError{err}
		}
	}
	pw, err := a.passwords(needPw...)
	if err != nil {
		return nil, err
	}
	for i, k := 0, 0; i < len(targets); i++ {
		if configs[i].Token == nil && targets[i].needsPassword() {
			configs[i].Password = pw[k]
			k++
		} else if configs[i].Token == nil {
			configs[i].Password = "" // Kerberos: the ticket cache or keytab
		}
	}
	return configs, nil
}

// cleanupServer finds milink's leftovers on one server, lists them with what it leaves
// alone and why, and removes them (after asking on in, unless f.yes; never with
// f.dryRun), printing "removed" only for what the catalog, read back, no longer has. It
// reports whether nothing removable remains (with f.dryRun: whether there was none).
func (a *app) cleanupServer(ctx context.Context, c *connFlags, cfg sqlops.ConnConfig, f *cleanupFlags, in *bufio.Reader) bool {
	conn, err := sqlops.Open(ctx, cfg)
	if err != nil {
		fmt.Fprintf(a.stderr, "milink: %v\n", err)
		return false
	}
	defer conn.Close()
	var left sqlops.Leftovers
	err = sqlops.RetryWithin(ctx, cfg.ReconnectWindowOrDefault(), func() (err error) {
		left, err = conn.FindLeftovers(ctx)
		return err
	})
	if err != nil {
		fmt.Fprintf(a.stderr, "milink: %s: %v\n", c.role, err)
		return false
	}
	fmt.Fprintf(a.stdout, "%s %s: %d milink object(s) left behind\n", c.role, c.server, left.Count())
	for _, j := range left.Jobs {
		fmt.Fprintf(a.stdout, "  job %s\n", j.Name)
	}
	for _, e := range left.Endpoints {
		fmt.Fprintf(a.stdout, "  endpoint %s (port %d)\n", e.Name, e.Port)
	}
	for _, ce := range left.Certificates {
		fmt.Fprintf(a.stdout, "  certificate %s\n", ce.Name)
	}
	for _, s := range left.Live {
		fmt.Fprintf(a.stdout, "  left alone: %s %s: %s\n", s.Kind, s.Name, s.Reason)
	}
	for _, s := range left.Foreign {
		fmt.Fprintf(a.stdout, "  left alone: %s %s: %s\n", s.Kind, s.Name, s.Reason)
		if s.RemoveSQL != "" {
			fmt.Fprintf(a.stdout, "    to remove it by hand: %s\n", s.RemoveSQL)
		}
	}
	if f.dryRun || left.Empty() {
		return left.Empty() // --dry-run, like a linter, fails while something removable is left
	}
	if !f.yes {
		fmt.Fprintf(a.stdout, "Remove these %d object(s) from %s %s? [y/N] ", left.Count(), c.role, c.server)
		line, _ := in.ReadString('\n')
		if ans := strings.ToLower(strings.TrimSpace(line)); ans != "y" && ans != "yes" {
			fmt.Fprintln(a.stdout, "\n  nothing removed")
			return false
		}
	}
	ok := true
	conn.RemoveLeftoversEach(ctx, left, func(r sqlops.Removed) { // printed as each is done
		if r.Removed {
			fmt.Fprintf(a.stdout, "  removed %s %s\n", r.Kind, r.Name)
			return
		}
		ok = false
		why := "not verified as removed"
		if r.Err != nil {
			why = r.Err.Error()
		}
		fmt.Fprintf(a.stdout, "  NOT removed %s %s: %s\n", r.Kind, r.Name, why)
	})
	return ok
}
