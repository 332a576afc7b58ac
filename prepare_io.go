// What milink prepare prints and reads: the plan, the script, the outcome and the
// master key password.

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/charmbracelet/x/term"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps"
)

// masterKeyEnv holds the master key password (read once and unset: secrets.go).
const masterKeyEnv = "MILINK_MASTER_KEY_PASSWORD"

// writePlan lists the changes, each with its exact statements.
func writePlan(w io.Writer, p *steps.Preparation) {
	fmt.Fprintf(w, "SQL Server %s (%s), as %s: %d change(s)\n", p.Instance, p.Platform, p.Login, len(p.Changes))
	for i, c := range p.Changes {
		fmt.Fprintf(w, "\n%d. %s [%s]\n", i+1, c.What, c.Kind)
		for _, s := range c.Statements {
			fmt.Fprintf(w, "     %s\n", s)
		}
		if c.Note != "" {
			fmt.Fprintf(w, "   %s\n", c.Note)
		}
		if c.Needs != "" {
			fmt.Fprintf(w, "   Not applicable yet: give %s\n", c.Needs)
		}
	}
	fmt.Fprintln(w)
}

// writeScript prints the T-SQL to run as a sqlcmd script, the host commands as
// comments marked "shell:", and the shown-only steps as comments. The master key
// password is a placeholder.
func writeScript(w io.Writer, p *steps.Preparation) {
	fmt.Fprintf(w, "-- milink prepare --script: SQL Server %s (%s)\n", p.Instance, p.Platform)
	placeholder := slices.ContainsFunc(p.Changes, func(c steps.Change) bool {
		return slices.ContainsFunc(c.Statements, func(s string) bool { return strings.Contains(s, sqlops.MasterKeyPlaceholder) })
	})
	if placeholder {
		fmt.Fprintf(w, "-- Nothing was changed. Replace %s before running; keep that password safe.\n", sqlops.MasterKeyPlaceholder)
	} else {
		fmt.Fprintln(w, "-- Nothing was changed.")
	}
	for _, c := range p.Changes {
		fmt.Fprintf(w, "\n-- %s [%s]\n", c.What, c.Kind)
		if note := c.Note; note != "" {
			if c.Restart {
				// A script is run by hand: milink asks nothing there.
				note = strings.Replace(note, "; milink asks separately before it restarts.", "; this script does not restart it: run the command when the sessions may be cut.", 1)
			}
			fmt.Fprintf(w, "-- %s\n", oneLine(note))
		}
		for _, s := range c.Statements {
			switch c.Kind {
			case steps.ChangeTSQL:
				fmt.Fprintf(w, "%s\nGO\n", s)
			case steps.ChangeSSH:
				fmt.Fprintf(w, "-- shell: %s\n", s)
			default:
				fmt.Fprintf(w, "-- %s\n", oneLine(s))
			}
		}
	}
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// writeOutcome prints what each change did and the prerequisites before → after.
func writeOutcome(w io.Writer, o *steps.PrepareOutcome) {
	fmt.Fprintln(w, "Changes:")
	for _, r := range o.Records {
		fmt.Fprintf(w, "  %-8s %s (%s, %s)\n", r.Status, r.What, r.By, r.At.Format("15:04:05Z"))
		if r.Output != "" {
			for _, l := range strings.Split(r.Output, "\n") {
				fmt.Fprintf(w, "           | %s\n", l)
			}
		}
		if r.Error != "" {
			fmt.Fprintf(w, "           SQL Server said: %s\n", r.Error)
		}
		if r.LeftAsIs != "" {
			fmt.Fprintf(w, "           %s\n", r.LeftAsIs)
		}
	}
	if len(o.Changed) > 0 {
		fmt.Fprintln(w, "Prerequisites, before → after:")
		for _, c := range o.Changed {
			fmt.Fprintf(w, "  %s: %s → %s  %s\n", c.ID, c.Before, c.After, c.Title)
		}
	}
	if o.After != nil {
		fmt.Fprintf(w, "Prerequisites now: %s\n", steps.Worst(o.After.Findings))
	}
}

// hasApplicable reports whether milink itself would apply any change.
func hasApplicable(p *steps.Preparation) bool {
	for _, c := range p.Changes {
		if c.Applicable() || (c.Kind != steps.ChangeInfo && c.Kind != steps.ChangeManual) {
			return true
		}
	}
	return false
}

// missingInput refuses, before anything changes, a plan that lacks a value (a backup
// without --backup-dir).
func missingInput(p *steps.Preparation) error {
	var lines []string
	for _, c := range p.Changes {
		if c.Needs != "" {
			lines = append(lines, fmt.Sprintf("%s: %s", c.Needs, c.What))
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return usageError{errors.New(strings.Join(lines, "\nmilink: ") + "\nmilink: nothing was changed")}
}

// needsPassword reports whether the plan creates the master key.
func needsPassword(p *steps.Preparation) bool {
	for _, c := range p.Changes {
		if c.ID == "master-key" {
			return true
		}
	}
	return false
}

// masterKeyPassword reads the master key password: a line of standard input
// (--master-key-password-stdin), MILINK_MASTER_KEY_PASSWORD, or a prompt without echo,
// twice, on a terminal.
func (a *app) masterKeyPassword(f *prepareFlags, in *bufio.Reader) (string, error) {
	switch {
	case f.mkStdin:
		line, err := in.ReadString('\n')
		if len(line) > maxPasswordLine {
			return "", usageError{fmt.Errorf("--master-key-password-stdin: the line is longer than %d bytes", maxPasswordLine)}
		}
		if pw := strings.TrimRight(line, "\r\n"); pw != "" {
			return pw, nil
		}
		if err == nil {
			return "", usageError{errors.New("--master-key-password-stdin: the line on standard input is empty; nothing was changed")}
		}
		return "", usageError{fmt.Errorf("--master-key-password-stdin: no password on standard input (%v); nothing was changed", err)}
	case a.getenv(masterKeyEnv) != "":
		return a.getenv(masterKeyEnv), nil
	}
	if !a.stdinTTY() {
		return "", usageError{fmt.Errorf("the master key needs a password: set %s, use --master-key-password-stdin, or run on a terminal to be prompted; nothing was changed", masterKeyEnv)}
	}
	fd := a.stdin.(interface{ Fd() uintptr }).Fd()
	var pw [2]string
	for i, q := range []string{"Master key password: ", "Again: "} {
		fmt.Fprint(a.stderr, q)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(a.stderr)
		if err != nil {
			return "", fmt.Errorf("read the master key password: %w", err)
		}
		pw[i] = string(b)
	}
	if pw[0] == "" || pw[0] != pw[1] {
		return "", usageError{errors.New("the two master key passwords are empty or differ; nothing was changed")}
	}
	return pw[0], nil
}

// stdinTTY reports whether standard input is a terminal.
func (a *app) stdinTTY() bool {
	f, ok := a.stdin.(*os.File)
	return ok && a.isTTY(int(f.Fd()))
}

// promptReader reads answers from standard input, sharing a buffered stdin.
func (a *app) promptReader() *bufio.Reader {
	if r, ok := a.stdin.(*bufio.Reader); ok {
		return r
	}
	return bufio.NewReader(a.stdin)
}

// confirm prints question on stdout and reports whether the answer is y or yes.
func confirm(w io.Writer, in *bufio.Reader, question string) bool {
	fmt.Fprint(w, question)
	line, _ := in.ReadString('\n')
	ans := strings.ToLower(strings.TrimSpace(line))
	return ans == "y" || ans == "yes"
}

// restartConfirmer is the separate restart confirmation: --yes-restart, else a prompt
// on a terminal that names the instance and its open sessions and wants the instance's
// name typed back; without a terminal the restart is not done.
func (a *app) restartConfirmer(w io.Writer, f *prepareFlags, in *bufio.Reader) func(string, int) bool {
	return func(instance string, sessions int) bool {
		fmt.Fprintf(w, "Restarting SQL Server %s cuts its %d open user session(s).\n", instance, sessions)
		if f.yesRest {
			fmt.Fprintln(w, "--yes-restart given: restarting.")
			return true
		}
		if !a.stdinTTY() {
			fmt.Fprintln(w, "Not restarted: no terminal to confirm on (give --yes-restart).")
			return false
		}
		fmt.Fprintf(w, "Type the instance name (%s) to restart it now, anything else to skip: ", instance)
		line, _ := in.ReadString('\n')
		return strings.EqualFold(strings.TrimSpace(line), instance)
	}
}
