package main

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// helpPages are every command's and help topic's help.
var helpPages = [][]string{{"--help"}, {"check", "--help"}, {"cleanup", "--help"}, {"demo", "--help"}, {"sim", "--help"},
	{"completion", "--help"}, {"completion", "bash", "--help"}, {"help", "exit-codes"}, {"help", "environment"}, {"help", "--help"}, {"help", "check"}}

// TestHelpFits80Columns: off a terminal every help page fits 80 columns, and every
// command's page has an Examples section.
func TestHelpFits80Columns(t *testing.T) {
	for _, args := range helpPages {
		r := runApp(t, nil, "", args...)
		if r.code != 0 || r.stdout == "" {
			t.Fatalf("%q: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
		for i, line := range strings.Split(r.stdout, "\n") {
			if n := utf8.RuneCountInString(line); n > 80 {
				t.Errorf("%q line %d has %d columns: %q", args, i+1, n, line)
			}
		}
		if (args[0] != "help" || args[1] == "--help" || args[1] == "check") && !strings.Contains(r.stdout, "\nEXAMPLES\n  ") {
			t.Errorf("%q: no EXAMPLES section:\n%s", args, r.stdout)
		}
	}
}

// TestWrapText: paragraphs are filled anew, table rows continue at their second
// column, and nothing is cut inside a word.
func TestWrapText(t *testing.T) {
	got := wrapText("one two three four\nfive six\n\n  0    alpha beta gamma delta", 14)
	want := "one two three\nfour five six\n\n  0    alpha\n       beta\n       gamma\n       delta"
	if got != want {
		t.Errorf("wrapText:\n%s\nwant:\n%s", got, want)
	}
	if got := wrapText("  --a-very-long-flag-name", 10); got != "  --a-very-long-flag-name" {
		t.Errorf("a long word was cut: %q", got)
	}
}

// TestRootHelpSaysWizard: the root help says that milink with no command is the wizard,
// lists the help topics, and shows each flag's MILINK_* variable beside it.
func TestRootHelpSaysWizard(t *testing.T) {
	r := runApp(t, nil, "", "--help")
	for _, want := range []string{"With no command, on a terminal, milink starts the wizard", "HELP TOPICS", "exit-codes", "environment",
		"--sql-server string", "MILINK_SQL_SERVER", "--probe-timeout duration          MILINK_PROBE_TIMEOUT"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("root help lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "MILINK_CONFIG") || strings.Contains(r.stdout, "MILINK_SQL_PASSWORD_STDIN") {
		t.Error("help shows a variable for --config or --sql-password-stdin, which no variable sets")
	}
	demo := runApp(t, nil, "", "demo", "--help")
	if strings.Contains(demo.stdout, "MILINK_SCENARIO") {
		t.Error("demo --help shows MILINK_* variables, but demo reads none")
	}
}

// TestCleanupHelpOnlyItsFlags: cleanup --help lists no flag that cleanup ignores.
func TestCleanupHelpOnlyItsFlags(t *testing.T) {
	r := runApp(t, nil, "", "cleanup", "--help")
	for _, ignored := range []string{"--azure-auth", "--subscription", "--mi-resource-id", "--probe-timeout", "--sql-ip", "--output"} {
		if strings.Contains(r.stdout, ignored) {
			t.Errorf("cleanup --help lists %s", ignored)
		}
	}
	for _, used := range []string{"--dry-run", "--yes", "--sql-server", "--mi-auth"} {
		if !strings.Contains(r.stdout, used) {
			t.Errorf("cleanup --help lacks %s", used)
		}
	}
	if r := runApp(t, nil, "", "cleanup", "--mi-server", "x", "--subscription", "y"); r.code != 2 || !strings.Contains(r.stderr, "unknown flag: --subscription") {
		t.Errorf("cleanup --subscription: exit %d, %q", r.code, r.stderr)
	}
}

// TestHelpTopics: milink help exit-codes and milink help environment.
func TestHelpTopics(t *testing.T) {
	r := runApp(t, nil, "", "help", "exit-codes")
	for _, want := range []string{"130", "a login was rejected", "milink cleanup exits 0"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("help exit-codes lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runApp(t, nil, "", "help", "environment")
	for _, want := range []string{"MILINK_SQL_PASSWORD", "MILINK_SQL_PORT", "--sql-port", "MILINK_YES", "XDG_STATE_HOME"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("help environment lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestUsageConventions: -v is not --version, an unknown flag gets the closest flag and
// the command's help, and --version works.
func TestUsageConventions(t *testing.T) {
	if r := runApp(t, nil, "", "-v"); r.code != 2 || strings.Contains(r.stdout, version) {
		t.Errorf("-v: exit %d, stdout %q", r.code, r.stdout)
	}
	if r := runApp(t, nil, "", "--version"); r.code != 0 || !strings.Contains(r.stdout, version) {
		t.Errorf("--version: exit %d, stdout %q", r.code, r.stdout)
	}
	r := runApp(t, nil, "", "check", "--sql-prot", "1")
	if r.code != 2 || !strings.Contains(r.stderr, "did you mean --sql-port?") || !strings.Contains(r.stderr, "Run 'milink check --help' for usage.") {
		t.Errorf("unknown flag: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runApp(t, nil, "", "cleanup")
	if r.code != 2 || !strings.Contains(r.stderr, "'milink cleanup --help'") {
		t.Errorf("cleanup without servers: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runApp(t, nil, "", "chek")
	if r.code != 2 || !strings.Contains(r.stderr, "did you mean 'milink check'?") {
		t.Errorf("mistyped command: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runApp(t, nil, "", "help", "nosuch")
	if r.code != 2 || !strings.Contains(r.stderr, `unknown help topic "nosuch"`) || r.stdout != "" {
		t.Errorf("help nosuch: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestUnknownVariableWarning: a mistyped MILINK_* variable is named with the closest
// known one, and its value (perhaps a password) is never printed; the master key
// password and an inventory's MILINK_PW* variables are not warned about.
func TestUnknownVariableWarning(t *testing.T) {
	var out, errb strings.Builder
	a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" },
		isTTY: func(int) bool { return false }, environ: func() []string {
			return []string{"MILINK_SQL_PROT=1433", "MILINK_SQL_PASWORD=hunter2-secret", "MILINK_SQL_PORT=1433", "PATH=/bin", "MILINK_ZZZZZZZZZZZZ=x",
				"MILINK_MASTER_KEY_PASSWORD=k", "MILINK_PW_SQLPROD01=p"} // milink prepare's and an inventory's
		}}
	a.run([]string{"--version"})
	got := errb.String()
	for _, want := range []string{"MILINK_SQL_PROT is not a variable milink reads; did you mean MILINK_SQL_PORT?",
		"MILINK_SQL_PASWORD is not a variable milink reads; did you mean MILINK_SQL_PASSWORD?", "MILINK_ZZZZZZZZZZZZ is not a variable milink reads (see"} {
		if !strings.Contains(got, want) {
			t.Errorf("stderr lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "hunter2") || strings.Contains(got, "MILINK_SQL_PORT is not") || strings.Contains(got, "PATH") ||
		strings.Contains(got, "MILINK_MASTER_KEY_PASSWORD") || strings.Contains(got, "MILINK_PW_") {
		t.Errorf("warned about a known variable or printed a value:\n%s", got)
	}
}

// TestHelpWrapsAtWidth: on a terminal of 60 or 100 columns every help page but its
// examples fits it (the width comes from the terminal; here it is given).
func TestHelpWrapsAtWidth(t *testing.T) {
	a := &app{stdin: strings.NewReader(""), getenv: func(string) string { return "" }, isTTY: func(int) bool { return false }}
	root := a.rootCmd()
	cmds := append(root.Commands(), root)
	for _, width := range []int{60, 100} {
		for _, c := range cmds {
			var out strings.Builder
			c.SetOut(&out)
			printHelp(c, width)
			// Examples are commands, kept whole so they can be copied (they fit 80
			// columns: TestHelpFits80Columns).
			text := out.String()
			if i, j := strings.Index(text, "\nEXAMPLES\n"), strings.Index(text, "\nLEARN MORE\n"); i >= 0 && j > i {
				text = text[:i] + text[j:]
			}
			for _, line := range strings.Split(text, "\n") {
				if n := utf8.RuneCountInString(line); n > width && strings.Contains(strings.TrimSpace(line), " ") {
					t.Errorf("%s at %d columns: %d-column line %q", c.CommandPath(), width, n, line)
				}
			}
		}
	}
}

// TestInventoryFlagsHaveNoVariable: --inventory, --parallel, --pair-timeout and
// --report-dir are read from the command line only, so neither check --help nor help
// environment offers a MILINK_* variable for them, and a set one is reported as not
// read instead of being silently ignored.
func TestInventoryFlagsHaveNoVariable(t *testing.T) {
	vars := []string{"MILINK_INVENTORY", "MILINK_PARALLEL", "MILINK_PAIR_TIMEOUT", "MILINK_REPORT_DIR"}
	for _, args := range [][]string{{"check", "--help"}, {"help", "environment"}, {"--help"}} {
		r := runApp(t, nil, "", args...)
		for _, v := range vars {
			if strings.Contains(r.stdout, v) {
				t.Errorf("%q shows %s, which milink does not read:\n%s", args, v, r.stdout)
			}
		}
	}
	if r := runApp(t, nil, "", "check", "--help"); !strings.Contains(r.stdout, "--inventory string") {
		t.Errorf("check --help lacks --inventory:\n%s", r.stdout)
	}
	env := map[string]string{"MILINK_INVENTORY": "testdata/inventory.yaml", "MILINK_PARALLEL": "2", "MILINK_PAIR_TIMEOUT": "1m", "MILINK_REPORT_DIR": "r"}
	r := runApp(t, env, "", "check")
	if r.code != 2 {
		t.Errorf("exit %d, want 2 (no servers given)", r.code)
	}
	for _, v := range vars {
		flag := "--" + strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(v, "MILINK_"), "_", "-"))
		if want := "milink: warning: " + v + " is not read: " + flag + " is taken from the command line only"; !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

// TestHelpTopicRowsRefilled: a help topic's table rows are filled anew at the width
// (off a terminal 80, or a terminal's), not cut line by line: no row is left with a
// stray one-word line in its middle, and no word is lost.
func TestHelpTopicRowsRefilled(t *testing.T) {
	words := strings.Fields(exitCodesHelp)
	for _, width := range []int{60, 80, 100} {
		got := wrapText(exitCodesHelp, width)
		if w := strings.Fields(got); strings.Join(w, " ") != strings.Join(words, " ") {
			t.Errorf("at %d columns the words changed:\n%s", width, got)
		}
		lines := strings.Split(got, "\n")
		for i, l := range lines {
			if utf8.RuneCountInString(l) > width {
				t.Errorf("at %d columns line %q is too long", width, l)
			}
			// A one-word line followed by more of the same row (deeper than the margin).
			if i+1 < len(lines) && len(strings.Fields(l)) == 1 && strings.HasPrefix(l, "       ") && strings.HasPrefix(lines[i+1], "       ") {
				t.Errorf("at %d columns a row has a stray one-word line %q:\n%s", width, l, got)
			}
		}
	}
	r := runApp(t, nil, "", "help", "exit-codes")
	if !strings.Contains(r.stdout, "  1    milink could not complete the run (connection error, ...), or test\n       objects are left:") {
		t.Errorf("help exit-codes off a terminal:\n%s", r.stdout)
	}
}
