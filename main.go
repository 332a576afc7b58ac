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
	"regexp"
	"slices"
	"strings"

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

// secretEnv are the environment variables that hold milink's passwords.
var secretEnv = []string{"MILINK_SQL_PASSWORD", "MILINK_MI_PASSWORD"}

// takeSecrets reads the password variables once and removes them from the process
// environment, so that no child process (az for --azure-auth azure-cli, or any other
// program milink starts) inherits them. The getenv it returns still answers them from what was read.
func takeSecrets(lookup func(string) (string, bool), unset func(string) error, getenv func(string) string) func(string) string {
	kept := map[string]string{}
	for _, k := range secretEnv {
		if v, ok := lookup(k); ok {
			kept[k] = v
			_ = unset(k)
		}
	}
	return func(k string) string {
		if v, ok := kept[k]; ok {
			return v
		}
		return getenv(k)
	}
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
	cmd, err := root.ExecuteC()
	var ee exitError
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	}
	msg := err.Error()
	if cmd == root {
		msg = withWizardFields(msg)
	}
	var ae argsError
	switch {
	case errors.As(err, &ae):
		if sw := valueAfterSwitch(args); sw != "" {
			msg = fmt.Sprintf("%s takes no value, and milink takes no arguments: the word after it is not repeated here (it may be a password); give the password on standard input", sw)
		}
		fmt.Fprintf(a.stderr, "milink: %s\nRun 'milink --help' for usage.\n", msg)
	case errors.As(err, &ue):
		fmt.Fprintf(a.stderr, "milink: %s\n", msg)
	default:
		// The run itself failed (a report that could not be written, a simulator
		// that did not start): not a usage error.
		fmt.Fprintf(a.stderr, "milink: %s\n", msg)
		return steps.ExitError
	}
	return steps.ExitUsage
}

// argsError is cobra's complaint about positional arguments (exit code 2).
type argsError struct{ err error }

func (e argsError) Error() string { return e.err.Error() }
func (e argsError) Unwrap() error { return e.err }

// usageArgs makes a cobra argument check's error an argsError.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return argsError{err}
		}
		return nil
	}
}

// valueAfterSwitch returns the --*-password-stdin switch in args that is followed by
// a word that is not a flag (most likely the password, given as its value), or "".
func valueAfterSwitch(args []string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "--" {
			break
		}
		if strings.HasSuffix(args[i], "-password-stdin") && !strings.HasPrefix(args[i+1], "-") {
			return args[i]
		}
	}
	return ""
}

// wizardFields names the wizard field each flag pre-fills, so that an error about a
// flag of the wizard also says where to fix it in the wizard.
var wizardFields = map[string]string{
	"sql-server": "Prerequisites › Server", "sql-port": "Prerequisites › Port", "sql-user": "Prerequisites › User",
	"sql-encrypt": "Prerequisites › Encrypt", "sql-trust-server-certificate": "Prerequisites › Trust server certificate",
	"sql-ca-cert": "Prerequisites › CA file (PEM)",
	"mi-server":   "Login › Server", "mi-port": "Login › Port", "mi-user": "Login › User", "mi-encrypt": "Login › Encrypt",
	"mi-trust-server-certificate": "Login › Trust server certificate", "mi-ca-cert": "Login › CA file (PEM)",
	"mi-auth": "Login › Authentication", "cloud": "Login › Cloud", "tenant-id": "Login › Tenant ID",
	"sql-ip": "Network Options › SQL Server IP", "probe-timeout": "Network Options › Probe timeout",
	"probe-from": "Network Options › SQL Server → MI probes",
}

var flagNameRE = regexp.MustCompile(`--([a-z][a-z0-9-]*)`)

// withWizardFields appends the wizard fields of the flags msg names.
func withWizardFields(msg string) string {
	var fields []string
	for _, m := range flagNameRE.FindAllStringSubmatch(msg, -1) {
		if f, ok := wizardFields[m[1]]; ok && !slices.Contains(fields, f) {
			fields = append(fields, f)
		}
	}
	if len(fields) == 0 {
		return msg
	}
	return msg + " (in the wizard: " + strings.Join(fields, "; ") + ")"
}

// rootCmd is the milink command (the wizard) with its subcommands.
func (a *app) rootCmd() *cobra.Command {
	root := a.wizardCmd()
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	cleanup := a.cleanupCmd()
	// cleanup logs what it prints: what it found, removed and left alone.
	cleanup.PreRun = func(*cobra.Command, []string) { a.teeOutput = true }
	root.AddCommand(a.checkCmd(), cleanup, a.demoCmd(), a.simCmd())
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
