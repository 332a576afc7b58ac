// Command milink prepares and tests the network for an Azure SQL Managed Instance link
// from a Linux terminal: a wizard on a TTY, "milink check" for scripts, "milink demo"
// against simulated instances, and "milink cleanup" for leftovers of crashed runs.
//
// The commands live one per file: cmd_wizard.go (the root command), cmd_check.go,
// cmd_cleanup.go, cmd_demo.go and cmd_sim.go; flags.go holds the shared flag, environment,
// --config and password handling, azure_flags.go the Azure flags, and app.go the process
// plumbing (streams, exit codes, signals, the log file).
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
	a := &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, isTTY: func(fd int) bool { return term.IsTerminal(uintptr(fd)) }}
	os.Exit(a.run(os.Args[1:]))
}

// run executes the command line and returns the exit code.
func (a *app) run(args []string) int {
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	err := root.Execute()
	var ee exitError
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue):
		fmt.Fprintf(a.stderr, "milink: %v\n", ue.err)
		return steps.ExitUsage
	default:
		// cobra's own flag and argument errors
		fmt.Fprintf(a.stderr, "milink: %v\nRun 'milink --help' for usage.\n", err)
		return steps.ExitUsage
	}
}

// rootCmd is the milink command (the wizard) with its subcommands.
func (a *app) rootCmd() *cobra.Command {
	root := a.wizardCmd()
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(a.checkCmd(), a.cleanupCmd(), a.demoCmd(), a.simCmd())
	return root
}
