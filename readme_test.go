package main

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// readmeCommand is one command line of a README sh block: its words (quotes removed,
// the comment dropped), where stdout goes (> file), and the line as written.
type readmeCommand struct {
	words    []string
	redirect string
	line     string
}

// readmeCommands returns every line of a ```sh block of README.md that starts with
// "milink" (continuation lines joined), and every export line before it, in order.
func readmeCommands(t *testing.T) []readmeCommand {
	t.Helper()
	f, err := os.Open("README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []readmeCommand
	in, joined := false, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```sh"):
			in = true
			continue
		case strings.HasPrefix(line, "```"):
			in = false
			continue
		case !in:
			continue
		}
		if strings.HasSuffix(line, `\`) {
			joined += strings.TrimSuffix(line, `\`) + " "
			continue
		}
		line, joined = strings.TrimSpace(joined+line), ""
		if line == "milink" || strings.HasPrefix(line, "milink ") || strings.HasPrefix(line, "export ") {
			words, redirect := shellWords(t, line)
			out = append(out, readmeCommand{words: words, redirect: redirect, line: line})
		}
	}
	return out
}

// shellWords splits a README command line as sh would, for the forms the README uses:
// words, '…' and "…" quotes, a comment after an unquoted #, and "> file".
func shellWords(t *testing.T, line string) (words []string, redirect string) {
	var cur strings.Builder
	var quote rune
	inWord, toFile := false, false
	flush := func() {
		if !inWord {
			return
		}
		if toFile {
			redirect, toFile = cur.String(), false
		} else {
			words = append(words, cur.String())
		}
		cur.Reset()
		inWord = false
	}
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			flush()
		case r == '#' && !inWord:
			flush()
			return words, redirect
		case r == '>' && !inWord:
			toFile = true
		case r == '&' || r == '|' || r == ';' || r == '<' || r == '$' || r == '`':
			t.Fatalf("README command uses shell syntax this test does not run (%q): %s", r, line)
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	flush()
	return words, redirect
}

// readmeSim is a `milink sim` the test runs in-process on free ports.
type readmeSim struct {
	sqlPort, miPort string
	caDir           string // "" with --encrypt off
	stop            func()
}

// startReadmeSim runs `milink <args>` (a sim command of the README) with its ports
// replaced by free loopback ports and its --ca-dir by a new directory, and waits for
// its "ready" line.
func startReadmeSim(t *testing.T, args []string) *readmeSim {
	t.Helper()
	s := &readmeSim{sqlPort: freePort(t), miPort: freePort(t)}
	args = append(args, "--listen", "127.0.0.1:"+s.sqlPort, "--mi-listen", "127.0.0.1:"+s.miPort)
	for i := range args {
		if args[i] == "--ca-dir" && i+1 < len(args) {
			s.caDir = t.TempDir()
			args[i+1] = s.caDir
		}
	}
	ready := make(chan struct{})
	stdout := &onLine{fn: func(line string) {
		if line == "ready" {
			close(ready)
		}
	}}
	sigs := make(chan os.Signal, 1)
	var stderr syncBuffer
	a := &app{stdin: strings.NewReader(""), stdout: stdout, stderr: &stderr, getenv: func(string) string { return "" },
		isTTY: func(int) bool { return false }, environ: func() []string { return nil }, signals: sigs}
	done := make(chan int, 1)
	go func() { done <- a.run(args) }()
	select {
	case <-ready:
	case code := <-done:
		t.Fatalf("milink %s exited %d before it was ready:\n%s", strings.Join(args, " "), code, stderr.String())
	}
	s.stop = func() {
		sigs <- os.Interrupt
		<-done
	}
	return s
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// readmeElsewhere are README commands this test does not run, with the test that
// covers them instead.
var readmeElsewhere = map[string]string{
	"check --inventory": "its inventory names an example fleet (hosts, password files): TestInventoryREADMEExample checks the README's inventory is testdata/inventory.yaml and loads, TestInventoryMixedOutcomes runs inventories against sqlsim",
}

// readmeNoTerminal are the README commands that need a terminal, run with --help.
var readmeNoTerminal = map[string]string{
	"milink":      "the wizard needs a terminal: its help is run instead",
	"milink demo": "the demo is the wizard: its help is run instead",
}

// TestReadmeCommands runs every milink command of the README's sh blocks against the
// simulator, in order: each `milink sim` really starts (on free ports, its --ca-dir in a
// new directory) and serves the commands after it; the commands before the first one
// run against a `milink sim --ca-dir` the test starts. In the commands, 14330 and 14331
// become the simulator's ports, /tmp/milink-sim its --ca-dir, sqlprod01.contoso.local
// and sqlmi-demo… its SQL Server and managed instance (with their CA files when the
// command gives none). Each must exit 0; a redirected report must be written. The
// commands that need a terminal run with --help (readmeNoTerminal); milink cleanup,
// which asks on a terminal, gets one.
func TestReadmeCommands(t *testing.T) {
	cmds := readmeCommands(t)
	if len(cmds) < 8 {
		t.Fatalf("only %d milink commands found in README.md's sh blocks", len(cmds))
	}
	sim := startReadmeSim(t, []string{"sim", "--ca-dir", "x"})
	defer func() { sim.stop() }()
	env := map[string]string{}
	ran := 0
	for _, c := range cmds {
		if c.words[0] == "export" {
			for _, kv := range c.words[1:] {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					v = simPassword // export NAME: the reader's own value
				}
				env[k] = v
			}
			continue
		}
		args := c.words[1:]
		if len(args) > 1 {
			if why, ok := readmeElsewhere[args[0]+" "+args[1]]; ok {
				t.Logf("%s: not run here: %s", c.line, why)
				continue
			}
		}
		if why, ok := readmeNoTerminal[strings.Join(c.words, " ")]; ok {
			t.Logf("%s: %s", c.line, why)
			args = append(args, "--help")
		}
		if len(args) > 0 && args[0] == "sim" {
			sim.stop()
			sim = startReadmeSim(t, args)
			ran++
			continue
		}
		args = readmeArgs(args, sim)
		if len(args) > 0 && (args[0] == "check" || args[0] == "cleanup") {
			args = append(args, "--log-file", "-")
		}
		var r result
		if len(args) > 0 && args[0] == "cleanup" {
			r = runOnTerminal(t, env, "y\ny\n", args...)
		} else {
			r = runApp(t, env, "", args...)
		}
		ran++
		if r.code != 0 {
			t.Errorf("README: %s\nran: milink %s\nexit %d\nstdout:\n%s\nstderr:\n%s", c.line, strings.Join(args, " "), r.code, r.stdout, r.stderr)
			continue
		}
		if c.redirect != "" {
			out := filepath.Join(t.TempDir(), filepath.Base(c.redirect))
			if err := os.WriteFile(out, []byte(r.stdout), 0o600); err != nil || r.stdout == "" {
				t.Errorf("README: %s: nothing to write to %s (%v)", c.line, c.redirect, err)
			}
		}
	}
	t.Logf("ran %d README commands", ran)
}

// readmeArgs replaces in args the README's ports, CA directory and example servers by
// sim's, adding sim's CA files for the example servers when args give none.
func readmeArgs(args []string, sim *readmeSim) []string {
	out := make([]string, 0, len(args)+4)
	hasCA := map[string]bool{}
	usesSQL, usesMI := false, false
	for _, a := range args {
		switch {
		case a == "sqlprod01.contoso.local":
			a, usesSQL = "127.0.0.1,"+sim.sqlPort, true
		case strings.HasPrefix(a, "sqlmi-demo."):
			a, usesMI = "127.0.0.1,"+sim.miPort, true
		}
		a = strings.NewReplacer("14330", sim.sqlPort, "14331", sim.miPort, "/tmp/milink-sim", sim.caDir).Replace(a)
		if a == "--sql-ca-cert" || a == "--mi-ca-cert" {
			hasCA[a] = true
		}
		out = append(out, a)
	}
	if sim.caDir != "" {
		if usesSQL && !hasCA["--sql-ca-cert"] {
			out = append(out, "--sql-ca-cert", filepath.Join(sim.caDir, "sqlserver-ca.pem"))
		}
		if usesMI && !hasCA["--mi-ca-cert"] {
			out = append(out, "--mi-ca-cert", filepath.Join(sim.caDir, "mi-ca.pem"))
		}
	}
	return out
}
