// Usage errors: cobra's argument errors, passwords given as flag values, and the wizard
// field that goes with each flag.

package main

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

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

// printUsageError prints a usage error (exit code 2) of cmd on stderr: the message (for
// the wizard and check with the wizard fields of the flags it names, unless it names
// them already; for a password given
// as a switch's value, without repeating it), then where the command's help is.
func (a *app) printUsageError(root, cmd *cobra.Command, args []string, err error) {
	msg := err.Error()
	if (cmd == root || cmd.Name() == "check") && !strings.Contains(msg, "wizard") {
		// check asks what the wizard asks: name the field there too.
		msg = withWizardFields(msg)
	}
	if sw := valueAfterSwitch(args); sw != "" && errors.As(err, new(argsError)) {
		msg = fmt.Sprintf("%s takes no value, and milink takes no arguments: the word after it is not repeated here (it may be a password); give the password on standard input", sw)
	}
	if name, ok := strings.CutPrefix(msg, `unknown command "`); ok {
		name, _, _ = strings.Cut(name, `"`)
		var names []string
		for _, c := range root.Commands() {
			if c.IsAvailableCommand() || c.IsAdditionalHelpTopicCommand() {
				names = append(names, c.Name())
			}
		}
		if s := closest(name, names); s != "" {
			msg += "; did you mean 'milink " + s + "'?"
		}
	}
	fmt.Fprintf(a.stderr, "milink: %s\n", a.withSources(msg))
	if cmd.Name() == "help" {
		cmd = root
	}
	if help := cmd.CommandPath() + " --help"; !strings.Contains(msg, help) {
		fmt.Fprintf(a.stderr, "Run '%s' for usage.\n", help)
	}
}

// setSource records that flag name got its value from source (a MILINK_* variable or
// "--config FILE"), for errors to name where to fix it.
func (a *app) setSource(name, source string) {
	if a.sources == nil {
		a.sources = map[string]string{}
	}
	a.sources[name] = source
}

// withSources names, beside the first mention of each flag in msg whose value came
// from a MILINK_* variable or --config, where it came from: "--sql-port (set by
// MILINK_SQL_PORT)". The value itself is never repeated.
func (a *app) withSources(msg string) string {
	for name, src := range a.sources {
		re := regexp.MustCompile(`--` + regexp.QuoteMeta(name) + `([^a-z0-9-]|$)`)
		if loc := re.FindStringIndex(msg); loc != nil && !strings.Contains(msg, src) {
			end := loc[0] + 2 + len(name)
			msg = msg[:end] + " (set by " + src + ")" + msg[end:]
		}
	}
	return msg
}
