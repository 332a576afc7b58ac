package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/milink/milink/steps"
	"github.com/milink/milink/ui"
)

// wizardCmd is the root command: with no subcommand, milink runs the wizard, its fields
// pre-filled from the flags, MILINK_<FLAG> and --config.
func (a *app) wizardCmd() *cobra.Command {
	wiz := &wizardFlags{}
	az := &azureFlags{}
	root := &cobra.Command{
		Use:   "milink",
		Short: "Prepare and test the network for an Azure SQL Managed Instance link",
		Long: `milink checks SQL Server's link prerequisites, connects to SQL Server and the
managed instance, and tests the network in both directions with temporary Agent
jobs that it always removes.

With no command, on a terminal, milink starts the wizard; its flags pre-fill the
wizard's fields. 'milink check' does the same without a terminal UI, for scripts.`,
		Example: `  milink                                   # the wizard
  milink --sql-server sqlprod01 --sql-user sa --accessible   # plain prompts
  milink check --help                      # the same without a terminal UI
  milink demo                              # against simulated instances`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, azo, err := a.wizardConfig(cmd.Flags(), wiz, az)
			if err != nil {
				return err
			}
			return a.runWizard(cfg, azo, wiz.accessible, wiz.logFile, "", nil)
		},
	}
	wiz.register(root.Flags())
	az.register(root.Flags())
	return root
}

// wizardConfig checks the wizard's flags and returns what they pre-fill; passwords come
// from MILINK_SQL_PASSWORD / MILINK_MI_PASSWORD here, else the wizard asks.
func (a *app) wizardConfig(fs *pflag.FlagSet, wiz *wizardFlags, az *azureFlags) (steps.Config, ui.AzureOptions, error) {
	if err := a.applyEnvAndConfig(fs, wiz.configPath); err != nil {
		return steps.Config{}, ui.AzureOptions{}, err
	}
	if err := checkNumbers(fs); err != nil {
		return steps.Config{}, ui.AzureOptions{}, err
	}
	cfg := steps.Config{SQLServer: wiz.sql.config(a.getenv("MILINK_SQL_PASSWORD")), MI: wiz.mi.config(a.getenv("MILINK_MI_PASSWORD")),
		SQLServerIP: wiz.sqlIP, ProbeTimeout: wiz.probeTimeout, JobTimeout: wiz.jobTimeout, ProbeFrom: wiz.probeFrom, SSH: wiz.ssh}
	if err := (steps.NetworkOptions{ProbeFrom: cfg.ProbeFrom}).Validate(); err != nil && strings.Contains(err.Error(), "probe from") {
		return steps.Config{}, ui.AzureOptions{}, usageError{err}
	}
	if err := checkSSHFlags(cfg.SSH, cfg.SQLServer.Host); err != nil {
		return steps.Config{}, ui.AzureOptions{}, err
	}
	azo := ui.AzureOptions{Cloud: az.cloud, MIAuth: az.miAuth, AzureAuth: az.azureAuth, TenantID: az.tenantID,
		ClientID: az.clientID, Subscriptions: az.subscriptions, MIResourceID: az.miID}
	if err := azo.Validate(); err != nil {
		return steps.Config{}, ui.AzureOptions{}, usageError{err}
	}
	return cfg, azo, nil
}

// wizardFlags pre-fill the wizard.
type wizardFlags struct {
	sql, mi                  connFlags
	sqlIP, logFile           string
	configPath               string
	probeTimeout, jobTimeout time.Duration
	accessible               bool
	probeFrom                string
	ssh                      steps.SSHConfig
}

func (w *wizardFlags) register(fs *pflag.FlagSet) {
	w.sql = connFlags{prefix: "sql", role: "SQL Server"}
	w.mi = connFlags{prefix: "mi", role: "managed instance"}
	w.sql.register(fs)
	w.mi.register(fs)
	fs.StringVar(&w.sqlIP, "sql-ip", "", "SQL Server address the managed instance probes (default: discovered)")
	fs.DurationVar(&w.probeTimeout, "probe-timeout", 5*time.Second, "timeout of each TCP probe")
	fs.DurationVar(&w.jobTimeout, "job-timeout", 2*time.Minute, "how long to wait for each Agent job's outcome")
	fs.StringVar(&w.probeFrom, "probe-from", steps.ProbeAuto, "where the SQL Server → MI probes run: auto, agent, local, ssh or manual")
	registerSSH(fs, &w.ssh)
	fs.BoolVar(&w.accessible, "accessible", false, "plain prompts and progress lines instead of the full-screen wizard (also when TERM=dumb)")
	fs.StringVar(&w.logFile, "log-file", "", "log file (default $XDG_STATE_HOME/milink/milink.log; '-' for none)")
	fs.StringVar(&w.configPath, "config", "", "JSON file with flag values (no passwords)")
}

// runWizard runs the interactive wizard on the terminal: drawn on stderr, report on stdout.
func (a *app) runWizard(cfg steps.Config, azo ui.AzureOptions, accessible bool, logFile, banner string, prober steps.Prober) error {
	in, ok := a.stdin.(*os.File)
	if !ok || !a.isTTY(int(in.Fd())) {
		return usageError{errors.New("the wizard needs a terminal; use 'milink check' in scripts (see 'milink check --help')")}
	}
	if a.getenv("TERM") == "dumb" {
		accessible = true
	}
	log, closeLog, err := a.openLog(logFile)
	if err != nil {
		return usageError{err}
	}
	defer closeLog()
	cfg.Defaults()
	log.Info("wizard started", "run_id", cfg.RunID, "version", version, "accessible", accessible, "demo", banner != "")
	ctx, stop := a.termContext()
	defer stop()
	dir, _ := os.Getwd()
	code, err := ui.Run(ctx, ui.Options{Config: cfg, Accessible: accessible, In: in, Out: a.stderr, ReportOut: a.stdout,
		ReportDir: dir, Logger: log, Banner: banner, Prober: prober, Azure: azo})
	log.Info("wizard finished", "exit_code", code)
	if err != nil {
		return fmt.Errorf("wizard: %w", err)
	}
	if code != 0 {
		return exitError{code}
	}
	return nil
}

// termContext is canceled by a stop signal (stopSignals): TERM, HUP (a closed terminal
// or dropped SSH session), QUIT, PIPE, and INT (the accessible mode reads lines, so
// Ctrl-C there is a signal; in the full-screen wizard it is a key that asks first).
// The wizard handles the cancellation like a confirmed Ctrl-C: a running test stops
// and its cleanup runs to the end. While it is active a write to a closed pipe fails
// with EPIPE instead of killing milink; after it SIGPIPE stays ignored.
func (a *app) termContext() (context.Context, func()) {
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	return ctx, func() {
		stop()
		signal.Ignore(syscall.SIGPIPE)
	}
}
