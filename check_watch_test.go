package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/steps"
	"github.com/milink/milink/steps/reportschema"
)

// onLine is a writer that calls fn with each complete line written to it, and keeps
// everything.
type onLine struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	pending string
	fn      func(string)
}

func (w *onLine) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	w.pending += string(p)
	for {
		i := strings.IndexByte(w.pending, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := w.pending[:i]
		w.pending = w.pending[i+1:]
		w.fn(line)
	}
}

func (w *onLine) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestCheckWatch: with 5022 filtered the first round fails; the "network admin" opens
// it when round 1's status line appears, and round 2 passes: check stops there, prints
// one status line a round, reads the passwords once (stdin has one line each) and
// exits with the last round's code; its report is the last round's.
func TestCheckWatch(t *testing.T) {
	p := startPair(t, nil, nil)
	p.net.SetRule(p.miOpts.FQDN, 5022, sqlsim.RuleFiltered)
	stderr := &onLine{fn: func(line string) {
		if strings.Contains(line, "watch round 1 ") {
			p.net.ClearRules()
		}
	}}
	var out bytes.Buffer
	a := &app{stdin: strings.NewReader(simPassword + "\n" + simPassword + "\n"), stdout: &out, stderr: stderr,
		getenv: func(string) string { return "" }, isTTY: func(int) bool { return false }, environ: func() []string { return nil }}
	code := a.run(p.checkArgs("--sql-password-stdin", "--mi-password-stdin", "--watch", "1s", "--output", "json"))
	log := stderr.String()
	if code != steps.ExitOK {
		t.Fatalf("exit %d, want 0 (the last round passed)\n%s", code, log)
	}
	if n := strings.Count(log, "milink: watch round "); n != 2 {
		t.Errorf("%d round lines, want 2:\n%s", n, log)
	}
	if !strings.Contains(log, "watch round 1 ") || !strings.Contains(log, "failed (timeout 5022") || !strings.Contains(log, "again in 1s") ||
		!strings.Contains(log, "watch round 2 ") || !strings.Contains(log, "done (exit code 0)") {
		t.Errorf("round lines:\n%s", log)
	}
	reportschema.Check(t, out.Bytes())
	var rep steps.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.ExitCode != 0 || len(rep.Directions) != 2 {
		t.Errorf("report: exit %d, %d directions, %v", rep.ExitCode, len(rep.Directions), err)
	}
	assertNoMilinkObjects(t, p)
}

// TestCheckWatchRechecksPrerequisites: without a master key, managed instance → SQL
// Server is not run and the round line says why; the DBA creates the key when round
// 1's line appears, and round 2 checks the prerequisites again, runs both directions
// and passes.
func TestCheckWatchRechecksPrerequisites(t *testing.T) {
	p := startPair(t, func(o *sqlsim.Options) { o.MasterKey = false }, nil)
	sigs := make(chan os.Signal, 1)
	stderr := &onLine{fn: func(line string) {
		if strings.Contains(line, "watch round 3 ") {
			sigs <- os.Interrupt // round 2 should have passed: stop rather than watch forever
		}
		if !strings.Contains(line, "watch round 1 ") {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := sqlops.Open(ctx, sqlops.ConnConfig{Role: "dba", Host: p.sql.Host(), Port: p.sql.Port(), User: "sa", Password: simPassword, CACertFile: p.sqlCA})
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		if err := c.CreateMasterKey(ctx, masterKeySecret); err != nil {
			t.Error(err)
		}
	}}
	var out bytes.Buffer
	a := &app{stdin: strings.NewReader(simPassword + "\n" + simPassword + "\n"), stdout: &out, stderr: stderr,
		getenv: func(string) string { return "" }, isTTY: func(int) bool { return false }, environ: func() []string { return nil }, signals: sigs}
	code := a.run(p.checkArgs("--sql-password-stdin", "--mi-password-stdin", "--watch", "1s"))
	log := stderr.String()
	if code != steps.ExitOK {
		t.Fatalf("exit %d, want 0 (round 2 ran both directions after the master key was created)\n%s", code, log)
	}
	if n := strings.Count(log, "milink: watch round "); n != 2 {
		t.Errorf("%d round lines, want 2:\n%s", n, log)
	}
	if !strings.Contains(log, "managed instance → SQL Server not run (no master key);") {
		t.Errorf("round 1 does not say why a direction was not run:\n%s", log)
	}
	assertNoMilinkObjects(t, p)
}

// TestCheckWatchFlags: --watch below 1s, and --watch with --probe-output, are refused
// before anything is read or created.
func TestCheckWatchFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--watch", "500ms"}, "--watch must be at least 1s"},
		{[]string{"--watch", "-1s"}, "--watch must be positive"},
		{[]string{"--watch", "10s", "--probe-output", "/nonexistent"}, "give one of them"},
	} {
		r := runApp(t, pwEnv, "", append([]string{"check", "--sql-server", "a", "--mi-server", "b"}, c.args...)...)
		if r.code != steps.ExitUsage || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
}

// TestCheckWatchStopped: Ctrl-C while --watch waits for the next round ends at once
// with 130 (the round's cleanup already ran, nothing is left), without another round.
func TestCheckWatchStopped(t *testing.T) {
	p := startPair(t, nil, nil)
	p.net.SetRule(p.miOpts.FQDN, 5022, sqlsim.RuleFiltered)
	sigs := make(chan os.Signal, 1)
	stderr := &onLine{fn: func(line string) {
		if strings.Contains(line, "watch round 1 ") {
			sigs <- os.Interrupt
		}
	}}
	var out bytes.Buffer
	a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: stderr, getenv: func(k string) string { return pwEnv[k] },
		isTTY: func(int) bool { return false }, environ: func() []string { return nil }, signals: sigs}
	code := a.run(p.checkArgs("--watch", "1h"))
	log := stderr.String()
	if code != steps.ExitInterrupted || strings.Contains(log, "watch round 2") {
		t.Errorf("exit %d, want 130 after one round:\n%s", code, log)
	}
	assertNoMilinkObjects(t, p)
}
