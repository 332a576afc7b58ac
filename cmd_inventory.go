package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/milink/milink/steps"
)

// inventoryFlags are check's flags for many pairs at once (--inventory).
type inventoryFlags struct {
	file, reportDir string
	parallel        int
	pairTimeout     time.Duration
}

// inventoryRunFlags are the flags that apply to an inventory run as a whole; every
// other check flag is a pair's setting, given in the inventory.
var inventoryRunFlags = []string{"inventory", "parallel", "pair-timeout", "report-dir", "output", "log-file", "quiet"}

func (f *inventoryFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.file, "inventory", "", "YAML or JSON file of SQL Server / managed instance pairs to check at once, with check's settings per pair (see README)")
	fs.IntVar(&f.parallel, "parallel", steps.DefaultParallel, fmt.Sprintf("with --inventory: pairs checked at once, 1-%d", steps.MaxParallel))
	fs.DurationVar(&f.pairTimeout, "pair-timeout", steps.DefaultPairTimeout, "with --inventory: overall deadline of each pair (a pair's pair_timeout overrides it); a pair that runs out is stopped and cleaned up")
	fs.StringVar(&f.reportDir, "report-dir", "", "with --inventory: directory for each pair's reports (NAME.txt, NAME.md, NAME.json) and the summary (summary.txt, .md, .json, .csv)")
}

// inventoryFlag reports the flags of an inventory run, which are taken from the command
// line only (not from MILINK_* or --config).
func inventoryFlag(name string) bool {
	return name == "inventory" || name == "parallel" || name == "pair-timeout" || name == "report-dir"
}

// given reports whether an inventory-only flag was given (they need --inventory).
func (f *inventoryFlags) given(fs *pflag.FlagSet) bool {
	return fs.Changed("parallel") || fs.Changed("pair-timeout") || fs.Changed("report-dir")
}

// checkInventoryFlags refuses what an inventory run cannot take: a pair's setting on
// the command line, a bad --parallel, and an --output without a summary format.
func checkInventoryFlags(fs *pflag.FlagSet, f *checkFlags) error {
	if f.inv.file == "" {
		return usageError{errors.New("--parallel, --pair-timeout and --report-dir need --inventory")}
	}
	var err error
	fs.Visit(func(fl *pflag.Flag) {
		for _, name := range inventoryRunFlags {
			if fl.Name == name {
				return
			}
		}
		switch _, notPair := notInInventory[fl.Name]; {
		case err != nil:
		case fl.Name == "watch":
			err = usageError{errors.New("--" + noWatch)}
		case notPair:
			err = usageError{fmt.Errorf("--%s cannot be combined with --inventory", fl.Name)}
		default:
			err = usageError{fmt.Errorf("--%s cannot be combined with --inventory: set %s in the inventory, for a pair or under defaults", fl.Name, strings.ReplaceAll(fl.Name, "-", "_"))}
		}
	})
	if err != nil {
		return err
	}
	if f.inv.parallel < 1 || f.inv.parallel > steps.MaxParallel {
		return usageError{fmt.Errorf("--parallel must be from 1 to %d, not %d", steps.MaxParallel, f.inv.parallel)}
	}
	switch f.output {
	case "text", "json", "markdown", "csv":
	default:
		return usageError{fmt.Errorf("--output must be text, json, markdown or csv with --inventory, not %q", f.output)}
	}
	return checkNumbers(fs)
}

// runInventory is milink check --inventory: every pair of the file, validated whole
// first, run at most --parallel at once under --pair-timeout, with live progress on
// stderr, a report per pair and a summary; the exit code is the worst pair's
// (steps.WorstExitCode).
func (a *app) runInventory(fs *pflag.FlagSet, f *checkFlags) error {
	if err := checkInventoryFlags(fs, f); err != nil {
		return err
	}
	pairs, err := a.loadInventory(f.inv.file)
	if err != nil {
		return err
	}
	if f.inv.reportDir != "" {
		if err := os.MkdirAll(f.inv.reportDir, 0o700); err != nil {
			return usageError{fmt.Errorf("--report-dir: %w", err)}
		}
	}
	log, closeLog, err := a.openLog(f.logFile)
	if err != nil {
		return usageError{err}
	}
	defer closeLog()
	run := make([]steps.InventoryPair, len(pairs))
	hint := []string{"run milink cleanup for each pair:"}
	for i, p := range pairs {
		run[i] = steps.InventoryPair{Name: p.name, Config: p.cfg, Timeout: p.timeout}
		hint = append(hint, p.cleanup)
		log.Info("inventory pair", "pair", p.name, "run_id", p.cfg.RunID, "sql_server", p.cfg.SQLServer.Address(), "mi", p.cfg.MI.Address())
	}
	a.setAbandonHint(strings.Join(hint, "\n  "))
	progress, finish := a.inventoryProgress(pairs, f.quiet) // before the signals: their messages go through the view
	ctx, stop := a.signalContext()
	defer stop()
	opts := steps.InventoryOptions{Parallel: f.inv.parallel, PairTimeout: f.inv.pairTimeout, StuckGrace: stuckGrace,
		Updates: func(u steps.PairUpdate) {
			log.Info("pair", "pair", u.Name, "state", string(u.State), "message", u.Message)
			progress(u)
		},
		Events: func(i int, e steps.Event) {
			log.Info("event", "pair", pairs[i].name, "direction", string(e.Direction), "kind", string(e.Kind), "message", e.Message)
		}}
	res := steps.RunInventory(ctx, run, opts)
	finish()
	if sig := a.stopSignal(); sig != nil {
		for i := range res.Pairs {
			if p := &res.Pairs[i]; p.Interrupted && !p.NotStarted {
				settleStop(p.Report, sig, pairs[i].cleanup)
			}
		}
	}
	sum := res.Summary(reportFiles(f.inv.reportDir))
	log.Info("inventory finished", "exit_code", sum.ExitCode, "pairs", len(pairs))
	if err := writeInventoryReports(f.inv.reportDir, res, sum); err != nil {
		return err
	}
	if err := writeSummary(a.stdout, sum, f.output); err != nil {
		return fmt.Errorf("write the summary: %w", err)
	}
	for i, p := range res.Pairs {
		if n := leftBehind(p.Report); n > 0 {
			fmt.Fprintf(a.stderr, "milink: %s: %d test object(s) could not be removed; to remove them, run:\n  %s\n", p.Name, n, pairs[i].cleanup)
		}
	}
	if sum.ExitCode != 0 {
		return exitError{sum.ExitCode}
	}
	return nil
}

// reportFiles names each pair's report files in dir ("" : none).
func reportFiles(dir string) func(steps.PairResult) map[string]string {
	if dir == "" {
		return nil
	}
	return func(p steps.PairResult) map[string]string {
		return map[string]string{"text": p.Name + ".txt", "markdown": p.Name + ".md", "json": p.Name + ".json"}
	}
}

// writeInventoryReports writes each pair's report as text, Markdown and JSON, and
// the summary as text, Markdown, JSON and CSV, into dir (nothing when dir is "").
// Files are private (0600).
func writeInventoryReports(dir string, res *steps.InventoryResult, sum steps.InventorySummary) error {
	if dir == "" {
		return nil
	}
	write := func(name string, w func(io.Writer) error) error {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return fmt.Errorf("--report-dir: %w", err)
		}
		if err := w(f); err != nil {
			f.Close()
			return fmt.Errorf("--report-dir: write %s: %w", name, err)
		}
		return f.Close()
	}
	for _, p := range res.Pairs {
		for _, ff := range []struct {
			ext string
			w   func(io.Writer) error
		}{{".txt", p.Report.WriteText}, {".md", p.Report.WriteMarkdown}, {".json", p.Report.WriteJSON}} {
			if err := write(p.Name+ff.ext, ff.w); err != nil {
				return err
			}
		}
	}
	for _, format := range []string{"text", "markdown", "json", "csv"} {
		ext := map[string]string{"text": ".txt", "markdown": ".md", "json": ".json", "csv": ".csv"}[format]
		if err := write("summary"+ext, func(w io.Writer) error { return writeSummary(w, sum, format) }); err != nil {
			return err
		}
	}
	return nil
}

// writeSummary writes the summary in format: text, json, markdown or csv.
func writeSummary(w io.Writer, sum steps.InventorySummary, format string) error {
	switch format {
	case "json":
		return sum.WriteJSON(w)
	case "markdown":
		return sum.WriteMarkdown(w)
	case "csv":
		return sum.WriteCSV(w)
	}
	return sum.WriteText(w)
}
