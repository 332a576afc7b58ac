package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps"
)

// cleanupFlags are the flags of milink cleanup.
type cleanupFlags struct {
	sql, mi             connFlags
	az                  azureFlags
	dryRun              bool
	logFile, configPath string
}

// cleanupCmd is milink cleanup: it removes what crashed runs left, and only milink's.
func (a *app) cleanupCmd() *cobra.Command {
	f := &cleanupFlags{sql: connFlags{prefix: "sql", role: "SQL Server"}, mi: connFlags{prefix: "mi", role: "managed instance"}}
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Find and remove test objects a crashed milink run left behind (only milink's)",
		Long: `cleanup connects to SQL Server and/or the managed instance and removes every Agent job,
endpoint and certificate that carries milink's marker. Objects without the marker are never
touched. Exit code 0 when nothing is left, 1 when something could not be removed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runCleanup(cmd.Flags(), f) },
	}
	fs := cmd.Flags()
	f.sql.register(fs)
	f.mi.register(fs)
	f.az.register(fs)
	fs.BoolVar(&f.dryRun, "dry-run", false, "list what would be removed, remove nothing")
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
	for i, c := range targets {
		if !a.cleanupServer(ctx, c, configs[i], f.dryRun) {
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
		if configs[i].Token == nil {
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
		if configs[i].Token == nil {
			configs[i].Password = pw[k]
			k++
		}
	}
	return configs, nil
}

// cleanupServer finds milink's objects on one server and removes them (lists them with
// dryRun), printing each on stdout; it reports whether everything went well.
func (a *app) cleanupServer(ctx context.Context, c *connFlags, cfg sqlops.ConnConfig, dryRun bool) bool {
	conn, err := sqlops.Open(ctx, cfg)
	if err != nil {
		fmt.Fprintf(a.stderr, "milink: %v\n", err)
		return false
	}
	defer conn.Close()
	left, err := conn.FindLeftovers(ctx)
	if err != nil {
		fmt.Fprintf(a.stderr, "milink: %s: %v\n", c.role, err)
		return false
	}
	fmt.Fprintf(a.stdout, "%s %s: %d milink object(s) found\n", c.role, c.server, left.Count())
	if dryRun {
		for _, j := range left.Jobs {
			fmt.Fprintf(a.stdout, "  job %s\n", j.Name)
		}
		for _, e := range left.Endpoints {
			fmt.Fprintf(a.stdout, "  endpoint %s (port %d)\n", e.Name, e.Port)
		}
		for _, ce := range left.Certificates {
			fmt.Fprintf(a.stdout, "  certificate %s\n", ce.Name)
		}
		return true
	}
	ok := true
	for _, r := range conn.RemoveLeftovers(context.WithoutCancel(ctx), left) {
		if r.Err != nil {
			ok = false
			fmt.Fprintf(a.stdout, "  FAILED %s %s: %v\n", r.Kind, r.Name, r.Err)
		} else {
			fmt.Fprintf(a.stdout, "  removed %s %s\n", r.Kind, r.Name)
		}
	}
	return ok
}
