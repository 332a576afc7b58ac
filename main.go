// Command milink prepares and tests the network for an Azure SQL Managed Instance link
// from a Linux terminal: a wizard on a TTY, "milink check" for scripts, "milink demo"
// against simulated instances, and "milink cleanup" for leftovers of crashed runs.
//
// The commands live one per file: cmd_wizard.go (the root command), cmd_check.go (with
// check_watch.go for --watch), cmd_prepare.go (prepare_io.go its prompts and output),
// cmd_cleanup.go, cmd_demo.go and cmd_sim.go; cmd_inventory.go is check --inventory
// (inventory_file.go reads the file, inventory_pairs.go makes each pair's settings,
// inventory_progress.go shows progress). flags.go holds the shared flag, environment,
// --config and password handling (flag_values.go the strict flag values, flag_checks.go
// the checks of numbers and timeouts), azure_flags.go the Azure flags, help.go and
// help_topics.go the help, stop.go how a stopped run is settled, usage.go usage errors,
// secrets.go the password variables, and app.go the process plumbing (streams, exit
// codes, signals, the log file).
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/milink/milink/steps"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	getenv := takeSecrets(os.LookupEnv, os.Unsetenv, os.Getenv)
	a := &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: getenv, isTTY: func(fd int) bool { return term.IsTerminal(uintptr(fd)) }}
	os.Exit(a.run(os.Args[1:]))
}

// run executes the command line and returns the exit code.
func (a *app) run(args []string) int {
	code := a.execute(args)
	if a.teeLog != nil {
		a.teeLog.Info("cleanup finished", "exit_code", code)
		_ = a.teeClose()
	}
	return code
}

// execute runs the command line and returns the exit code.
func (a *app) execute(args []string) int {
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	a.warnUnknownVariables(root)
	cmd, err := root.ExecuteC()
	var ee exitError
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	}
	if !errors.As(err, &ue) && !errors.As(err, new(argsError)) {
		// The run itself failed (a report that could not be written, a simulator
		// that did not start): not a usage error.
		fmt.Fprintf(a.stderr, "milink: %s\n", err)
		return steps.ExitError
	}
	a.printUsageError(root, cmd, args, err)
	return steps.ExitUsage
}

// rootCmd is the milink command (the wizard) with its subcommands.
func (a *app) rootCmd() *cobra.Command {
	root := a.wizardCmd()
	cleanup := a.cleanupCmd()
	// cleanup logs what it prints: what it found, removed and left alone.
	cleanup.PreRun = func(*cobra.Command, []string) { a.teeOutput = true }
	root.AddCommand(a.checkCmd(), a.prepareCmd(), cleanup, a.demoCmd(), a.simCmd())
	a.setupHelp(root)
	// Argument errors are usage errors (exit 2); any other error a command returns is
	// a failed run (exit 1).
	root.Args = usageArgs(cobra.NoArgs)
	for _, c := range root.Commands() {
		if c.Args != nil {
			c.Args = usageArgs(c.Args)
		}
	}
	return root
}
