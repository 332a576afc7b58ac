package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/milink/milink/steps"
)

// checkFlags are the flags of milink check.
type checkFlags struct {
	sql, mi                            connFlags
	az                                 azureFlags
	sqlIP, output, logFile, configPath string
	probeFrom, probeOutput, pasted     string
	ssh                                steps.SSHConfig
	endpointPort                       int
	probeTimeout, jobTimeout, watch    time.Duration
	databases                          []string
	quiet                              bool
	inv                                inventoryFlags // --inventory and its flags (cmd_inventory.go)
}

// checkCmd is milink check: the whole wizard without a user, for scripts and CI.
func (a *app) checkCmd() *cobra.Command {
	f := &checkFlags{sql: connFlags{prefix: "sql", role: "SQL Server"}, mi: connFlags{prefix: "mi", role: "managed instance"}}
	cmd := &cobra.Command{
		Use:     "check",
		Short:   "Check prerequisites and test the network in both directions, without a terminal UI",
		Long:    checkLong,
		Example: checkExample,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return a.runCheck(cmd.Flags(), f) },
	}
	f.register(cmd.Flags())
	return cmd
}

func (f *checkFlags) register(fs *pflag.FlagSet) {
	f.sql.register(fs)
	f.mi.register(fs)
	f.az.register(fs)
	fs.StringVar(&f.sqlIP, "sql-ip", "", "SQL Server address the managed instance probes (default: the address SQL Server reports for this connection)")
	fs.Var(newPortValue(&f.endpointPort, 5022), "endpoint-port", "SQL Server database mirroring endpoint port")
	fs.DurationVar(&f.probeTimeout, "probe-timeout", 5*time.Second, "timeout of each TCP probe")
	fs.DurationVar(&f.jobTimeout, "job-timeout", 2*time.Minute, "how long to wait for each Agent job's outcome")
	fs.StringVar(&f.probeFrom, "probe-from", steps.ProbeAuto, "where the SQL Server → MI probes run: auto (Agent job on Windows; on Linux this host when it is the SQL Server host, else ssh when --ssh is given, else manual), agent, local, ssh or manual")
	registerSSH(fs, &f.ssh)
	fs.StringVar(&f.probeOutput, "probe-output", "", "file with the output of the SQL Server → MI command milink printed for --probe-from manual, run on the SQL Server host")
	fs.StringSliceVar(&f.databases, "database", nil, "database to check for the link (repeatable; default all user databases)")
	fs.StringVarP(&f.output, "output", "o", "text", "report format: text, json or markdown")
	fs.StringVar(&f.logFile, "log-file", "", "log file (default $XDG_STATE_HOME/milink/milink.log; '-' for none)")
	fs.StringVar(&f.configPath, "config", "", "JSON file with flag values (no passwords)")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "no progress lines on stderr, only warnings (--watch still prints one line a round)")
	fs.DurationVar(&f.watch, "watch", 0, "test the network again every interval (at least 1s) until both directions pass or milink is stopped; the report is the last round's")
	f.inv.register(fs)
}

// runCheck runs milink check: the flow of steps.Check, then the pasted probe output
// (--probe-output), then the report on stdout; the exit code is the report's.
func (a *app) runCheck(fs *pflag.FlagSet, f *checkFlags) error {
	if f.inv.file != "" || f.inv.given(fs) {
		return a.runInventory(fs, f)
	}
	cfg, err := a.checkConfig(fs, f)
	if err != nil {
		return err
	}
	log, closeLog, err := a.openLog(f.logFile)
	if err != nil {
		return usageError{err}
	}
	defer closeLog()
	log.Info("check started", "run_id", cfg.RunID, "sql_server", cfg.SQLServer.Address(), "mi", cfg.MI.Address(), "version", version)
	cleanup := cleanupCommand(fs)
	a.setAbandonHint("run " + cleanup)
	ctx, stop := a.signalContext()
	defer stop()
	sink := a.checkSink(log, f.quiet)
	rep := runFlow(ctx, cfg, sink, a.watchRounds(ctx, f.watch, sink, log))
	a.applyProbeOutput(rep, f.pasted, f.probeOutput)
	stoppedBy := a.stopSignal() // before the report is written: writing it may raise SIGPIPE
	if stoppedBy != nil {
		settleStop(rep, stoppedBy, cleanup)
		log.Info("check stopped", "signal", signalName(stoppedBy))
	}
	log.Info("check finished", "exit_code", rep.ExitCode, "outcome", rep.Outcome)
	if err := writeReport(a.stdout, rep, f.output); err != nil {
		if errors.Is(err, syscall.EPIPE) && stoppedBy == syscall.SIGPIPE {
			// The reader went away (milink check | head): that is what stopped the run,
			// and the exit code already says how it ended.
			log.Info("report not written: the reader of stdout has gone")
			return exitError{rep.ExitCode}
		}
		return fmt.Errorf("write report: %w", err)
	}
	if rep.Error != "" {
		fmt.Fprintf(a.stderr, "milink: %s\n", rep.Error)
	}
	if n := leftBehind(rep); n > 0 {
		fmt.Fprintf(a.stderr, "milink: %d test object(s) could not be removed; to remove them, run:\n  %s\n", n, cleanup)
	}
	if rep.ExitCode != 0 {
		return exitError{rep.ExitCode}
	}
	return nil
}

// checkConfig checks the flags and builds the run's configuration, validating
// everything before it asks for the passwords.
func (a *app) checkConfig(fs *pflag.FlagSet, f *checkFlags) (steps.Config, error) {
	if err := a.applyEnvAndConfig(fs, f.configPath); err != nil {
		return steps.Config{}, err
	}
	switch f.output {
	case "text", "json", "markdown":
	default:
		return steps.Config{}, usageError{fmt.Errorf("--output must be text, json or markdown, not %q", f.output)}
	}
	if f.sql.server == "" || f.mi.server == "" {
		return steps.Config{}, usageError{errors.New("--sql-server and --mi-server are required (or MILINK_SQL_SERVER / MILINK_MI_SERVER)")}
	}
	if err := checkNumbers(fs); err != nil {
		return steps.Config{}, err
	}
	if err := checkSSHFlags(f.ssh, f.sql.server); err != nil {
		return steps.Config{}, err
	}
	if f.watch > 0 && f.probeOutput != "" {
		return steps.Config{}, usageError{errors.New("--watch tests the network again every interval, --probe-output gives one run's probes by hand: give one of them")}
	}
	if f.probeOutput != "" {
		b, err := readCapped("probe-output", f.probeOutput, maxProbeOutput)
		if err != nil {
			return steps.Config{}, err
		}
		if err := checkPasted(string(b)); err != nil {
			return steps.Config{}, usageError{fmt.Errorf("--probe-output %s: %w", f.probeOutput, err)}
		}
		f.pasted = string(b)
	}
	azs, err := f.az.setup(a.printDeviceCode)
	if err != nil {
		return steps.Config{}, err
	}
	scrubAzureSecrets()
	cfg := f.stepsConfig()
	cfg.Azure = azs.checker
	azs.signInMI(&cfg.MI, fs)
	cfg.Defaults()
	cfg.SQLServer.Password, cfg.MI.Password = "x", "x"
	if err := cfg.Validate(); err != nil {
		return steps.Config{}, flagErrors(err)
	}
	var need []*connFlags
	if f.sql.needsPassword() {
		need = append(need, &f.sql)
	}
	if cfg.MI.Token == nil {
		need = append(need, &f.mi)
	}
	pw, err := a.passwords(need...)
	if err != nil {
		return steps.Config{}, err
	}
	cfg.SQLServer.Password, cfg.MI.Password = "", ""
	for i, c := range need {
		if c == &f.sql {
			cfg.SQLServer.Password = pw[i]
		} else {
			cfg.MI.Password = pw[i]
		}
	}
	if err := cfg.Validate(); err != nil { // the passwords themselves
		return steps.Config{}, flagErrors(err)
	}
	return cfg, nil
}

// checkSink logs every event and prints it on stderr as "15:04:05  [direction]
// message"; quiet prints only the warnings (steps.EventWarn: a server lost and
// waited for, an object cleanup could not remove), which are not progress.
func (a *app) checkSink(log *slog.Logger, quiet bool) steps.Sink {
	return func(e steps.Event) {
		log.Info("event", "direction", e.Direction.ID(), "kind", string(e.Kind), "message", e.Message)
		if quiet && e.Kind != steps.EventWarn {
			return
		}
		prefix := ""
		if e.Direction != "" {
			prefix = "[" + string(e.Direction) + "] "
		}
		fmt.Fprintf(a.stderr, "%s  %s%s\n", e.Time.Format("15:04:05"), prefix, e.Message)
	}
}

// applyProbeOutput records the pasted output of the manual SQL Server → MI command (read
// from the file named file) when that direction was not run; a paste that lacks a
// target is reported on stderr and ignored.
func (a *app) applyProbeOutput(rep *steps.Report, pasted, file string) {
	if pasted == "" || rep.MIParams == nil {
		return
	}
	for _, d := range rep.Directions {
		if d.Direction != steps.SQLToMI || d.Status != steps.StatusNotRun {
			continue
		}
		probes, err := steps.ParsePastedProbeResults(pasted, rep.MIParams.SQLToMITargets())
		if err != nil {
			fmt.Fprintf(a.stderr, "milink: --probe-output %s: %v\n", file, err)
			break
		}
		rep.ApplyPastedProbes(steps.SQLToMI, probes, *rep.MIParams)
	}
}

// writeReport writes rep to w as text, json or markdown.
func writeReport(w io.Writer, rep *steps.Report, format string) error {
	switch format {
	case "json":
		return rep.WriteJSON(w)
	case "markdown":
		return rep.WriteMarkdown(w)
	}
	return rep.WriteText(w)
}
