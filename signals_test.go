package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/steps"
)

// child is milink started as its own process, its stderr read line by line.
type child struct {
	cmd    *exec.Cmd
	stdout syncBuffer
	mu     sync.Mutex
	lines  []string
	seen   chan struct{} // gets a value per stderr line
	done   chan struct{}
	code   int
	// stderrR is the reading end of the child's stderr pipe (closing it makes the
	// child's next write to stderr fail with EPIPE).
	stderrR *os.File
}

// startMilink runs the built binary with args, the passwords in its environment
// (plus extraEnv) and its stdin empty.
func startMilink(t *testing.T, extraEnv []string, args ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(milinkBinary(t), args...), seen: make(chan struct{}, 1024), done: make(chan struct{})}
	c.cmd.Env = append(os.Environ(), "MILINK_SQL_PASSWORD="+simPassword, "MILINK_MI_PASSWORD="+simPassword)
	c.cmd.Env = append(c.cmd.Env, extraEnv...)
	c.cmd.Stdout = &c.stdout
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c.cmd.Stderr = w
	c.stderrR = r
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			c.mu.Lock()
			c.lines = append(c.lines, sc.Text())
			c.mu.Unlock()
			select {
			case c.seen <- struct{}{}:
			default:
			}
		}
	}()
	go func() {
		err := c.cmd.Wait()
		c.code = c.cmd.ProcessState.ExitCode()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				c.code = 128 + int(ws.Signal())
			}
		}
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			c.cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

func (c *child) stderr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.lines, "\n")
}

// waitLines waits until every text has appeared on the child's stderr.
func (c *child) waitLines(t *testing.T, d time.Duration, texts ...string) {
	t.Helper()
	deadline := time.After(d)
	for {
		s := c.stderr()
		ok := true
		for _, txt := range texts {
			ok = ok && strings.Contains(s, txt)
		}
		if ok {
			return
		}
		select {
		case <-c.seen:
		case <-c.done:
			t.Fatalf("milink exited (%d) before printing %q\nstderr:\n%s", c.code, texts, c.stderr())
		case <-deadline:
			t.Fatalf("timed out waiting for %q\nstderr:\n%s", texts, c.stderr())
		}
	}
}

// wait waits for the child to exit and returns its exit code (128+n when a signal
// killed it).
func (c *child) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-c.done:
		return c.code
	case <-time.After(d):
		t.Fatalf("milink did not exit within %s\nstderr:\n%s", d, c.stderr())
	}
	return 0
}

// verbose drops -q from args, so that milink prints its progress.
func verbose(args []string) []string {
	return slices.DeleteFunc(slices.Clone(args), func(s string) bool { return s == "-q" })
}

// slowJobs makes both instances' Agent take long to start a job, so the test can
// stop milink while both jobs wait.
func slowJobs(o *sqlsim.Options) { o.JobStartLatency = 10 * time.Second }

func TestCheckStopsCleanlyOnEverySignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			p := startPair(t, slowJobs, slowJobs)
			c := startMilink(t, nil, verbose(p.checkArgs())...)
			c.waitLines(t, 30*time.Second, "waiting for job NetHelper", "waiting for job TestMILinkConnection")
			if err := c.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if code := c.wait(t, 60*time.Second); code != steps.ExitInterrupted {
				t.Errorf("exit code %d after %s, want 130\n%s", code, sig, c.stderr())
			}
			if !strings.Contains(c.stderr(), "cleaning up") {
				t.Errorf("no cleanup notice:\n%s", c.stderr())
			}
			assertNoMilinkObjects(t, p)
		})
	}
}

func TestCheckSurvivesAClosedPipe(t *testing.T) {
	// milink check 2>&1 | head: the reader goes away while the jobs run; milink must
	// still clean up instead of dying of SIGPIPE at its next progress line.
	p := startPair(t, func(o *sqlsim.Options) { o.JobStartLatency = 2 * time.Second }, func(o *sqlsim.Options) { o.JobStartLatency = 2 * time.Second })
	c := startMilink(t, nil, verbose(p.checkArgs())...)
	c.waitLines(t, 30*time.Second, "waiting for job NetHelper", "waiting for job TestMILinkConnection")
	c.stderrR.Close()
	code := c.wait(t, 60*time.Second)
	if code == 128+int(syscall.SIGPIPE) {
		t.Fatalf("milink died of SIGPIPE")
	}
	if code != steps.ExitInterrupted {
		t.Errorf("exit code %d, want 130", code)
	}
	assertNoMilinkObjects(t, p)
}

// silentListener accepts TCP connections on loopback and never answers: a port where
// a connect waits for a PRELOGIN reply that never comes.
func silentListener(t *testing.T) int {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	go func() {
		for c, err := ln.Accept(); err == nil; c, err = ln.Accept() {
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestCheckStopBeforeAnythingIsCreated(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			p := startPair(t, nil, nil)
			args := p.checkArgs("--sql-port", fmt.Sprint(silentListener(t)), "--sql-login-timeout", "2m")
			c := startMilink(t, nil, verbose(args)...)
			c.waitLines(t, 30*time.Second, "connecting to SQL Server")
			start := time.Now()
			if err := c.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			// One signal must be enough, and the connect must not wait for its timeout.
			code := c.wait(t, 15*time.Second)
			if code != steps.ExitInterrupted {
				t.Errorf("exit code %d after %s during the connect, want 130\n%s", code, sig, c.stderr())
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %s to stop a connect", d)
			}
			if strings.Contains(c.stderr(), "context canceled") {
				t.Errorf("stderr shows a raw context error:\n%s", c.stderr())
			}
			assertNoMilinkObjects(t, p)
		})
	}
}

func TestCheckStoppedWithObjectsLeftSaysSoAndHowToFinish(t *testing.T) {
	p := startPair(t, slowJobs, slowJobs)
	sigs := make(chan os.Signal, 1)
	var out, errb syncBuffer
	a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return pwEnv[k] },
		isTTY: func(int) bool { return false }, signals: sigs}
	done := make(chan int)
	go func() {
		done <- a.run(append(verbose(p.checkArgs()), "--sql-login-timeout", "2s", "--mi-login-timeout", "2s"))
	}()
	waitFor(t, 30*time.Second, "both jobs to be running", func() bool {
		s := errb.String()
		return strings.Contains(s, "waiting for job NetHelper") && strings.Contains(s, "waiting for job TestMILinkConnection")
	})
	// The connections are cut and no new login gets through: cleanup cannot work.
	refuse := func(context.Context, string) error { return errors.New("login refused by the test") }
	for _, in := range []*sqlsim.Instance{p.sql, p.mi} {
		in.SetLoginHook(refuse)
		in.DropConnections()
	}
	sigs <- os.Interrupt
	var code int
	select {
	case code = <-done:
	case <-time.After(3 * time.Minute):
		t.Fatal("milink did not exit after the signal")
	}
	for _, in := range []*sqlsim.Instance{p.sql, p.mi} {
		in.SetLoginHook(nil)
	}
	stderr := errb.String()
	if code != steps.ExitError {
		t.Errorf("exit code %d with objects left, want 1\n%s", code, stderr)
	}
	if strings.Contains(stderr+out.String(), "cleanup ran") || strings.Contains(stderr, "removed every") {
		t.Errorf("milink claims a cleanup that did not happen:\n%s\n%s", stderr, out.String())
	}
	if n := len(p.sqlInventory(t).Jobs) + len(p.miInventory(t).Jobs); n == 0 {
		t.Fatalf("the test could not leave objects behind; stderr:\n%s", stderr)
	}
	// The printed command line removes what is left, with no password in it.
	i := strings.Index(stderr, "milink cleanup ")
	if i < 0 {
		t.Fatalf("no milink cleanup command printed:\n%s", stderr)
	}
	line := stderr[i:]
	line = line[:strings.IndexAny(line+"\n", "\n")]
	if strings.Contains(line, simPassword) || strings.Contains(line, "password") {
		t.Errorf("the cleanup command carries a password: %s", line)
	}
	args := strings.Fields(line)[1:]
	for _, want := range []string{"--sql-server", "--sql-port", "--sql-user", "--sql-ca-cert", "--mi-server", "--mi-port", "--mi-user", "--mi-ca-cert"} {
		if !slices.Contains(args, want) {
			t.Errorf("the cleanup command lacks %s: %s", want, line)
		}
	}
	// "y" answers milink cleanup's question on the terminal, once per server.
	if r := runOnTerminal(t, pwEnv, "y\ny\n", append(args, "--log-file", "-")...); r.code != 0 {
		t.Errorf("%s: exit %d\n%s%s", line, r.code, r.stdout, r.stderr)
	}
	assertNoMilinkObjects(t, p)
}

func TestSecondSignalAbandonsCleanupHonestly(t *testing.T) {
	p := startPair(t, slowJobs, slowJobs)
	release := make(chan struct{})
	var once sync.Once
	unblock := func() {
		once.Do(func() {
			close(release)
			p.sql.SetLoginHook(nil)
			p.mi.SetLoginHook(nil)
		})
	}
	t.Cleanup(unblock) // before the simulators close
	c := startMilink(t, nil, append(verbose(p.checkArgs()), "--sql-login-timeout", "1m", "--mi-login-timeout", "1m")...)
	c.waitLines(t, 30*time.Second, "waiting for job NetHelper", "waiting for job TestMILinkConnection")
	// The connections drop and logins hang: cleanup cannot finish on its own.
	hang := func(ctx context.Context, _ string) error {
		select {
		case <-release:
			return errors.New("refused by the test")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for _, in := range []*sqlsim.Instance{p.sql, p.mi} {
		in.SetLoginHook(hang)
		in.DropConnections()
	}
	if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	c.waitLines(t, 10*time.Second, "press Ctrl-C again")
	// A person reads the notice, then presses Ctrl-C again: at least
	// steps.AbandonAfter after the first signal (which came before the notice was
	// printed). This wait is the person's pause under test, not synchronisation.
	<-time.After(steps.AbandonAfter)
	if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	code := c.wait(t, 30*time.Second)
	unblock()
	stderr := c.stderr()
	if code != steps.ExitError {
		t.Errorf("exit code %d after cleanup was abandoned, want 1\n%s", code, stderr)
	}
	i := strings.Index(stderr, "milink cleanup --")
	if !strings.Contains(stderr, "abandoned") || i < 0 {
		t.Fatalf("no abandon notice with the cleanup command:\n%s", stderr)
	}
	line := strings.SplitN(stderr[i:], "\n", 2)[0]
	if r := runOnTerminal(t, pwEnv, "y\ny\n", append(strings.Fields(line)[1:], "--log-file", "-")...); r.code != 0 {
		t.Errorf("%s: exit %d\n%s%s", line, r.code, r.stdout, r.stderr)
	}
	assertNoMilinkObjects(t, p)
}

func TestCheckWithStdoutClosedCleansUpAndSaysSo(t *testing.T) {
	// milink check | head -0: the report cannot be written; milink must not die of
	// SIGPIPE, and it says on stderr why it failed.
	p := startPair(t, nil, nil)
	c := &child{cmd: exec.Command(milinkBinary(t), p.checkArgs()...), seen: make(chan struct{}, 1024), done: make(chan struct{})}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close() // nobody reads the report
	c.cmd.Env = append(os.Environ(), "MILINK_SQL_PASSWORD="+simPassword, "MILINK_MI_PASSWORD="+simPassword)
	c.cmd.Stdout = w
	var stderr syncBuffer
	c.cmd.Stderr = &stderr
	err = c.cmd.Run()
	w.Close()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			t.Fatalf("milink was killed by %s", ws.Signal())
		}
	}
	if code := c.cmd.ProcessState.ExitCode(); code != steps.ExitError {
		t.Errorf("exit code %d, want 1\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "write report") {
		t.Errorf("stderr does not say the report could not be written:\n%s", stderr.String())
	}
	assertNoMilinkObjects(t, p)
}

// TestCheckPipedIntoHead: milink check 2>&1 | head -1, run by bash exactly as a user
// types it — head goes away after the first line while the (slow) jobs run: milink
// stops, cleans up and exits 130, although the report can't be written any more.
func TestCheckPipedIntoHead(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	slow := func(o *sqlsim.Options) { o.JobStartLatency = 2 * time.Second }
	p := startPair(t, slow, slow)
	args := []string{milinkBinary(t)}
	for _, a := range verbose(p.checkArgs()) {
		args = append(args, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
	}
	cmd := exec.Command(bash, "-c", strings.Join(args, " ")+` 2>&1 | head -1; exit "${PIPESTATUS[0]}"`)
	cmd.Env = append(os.Environ(), "MILINK_SQL_PASSWORD="+simPassword, "MILINK_MI_PASSWORD="+simPassword)
	out, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != steps.ExitInterrupted {
		t.Errorf("exit code %d, want 130\n%s", code, out)
	}
	assertNoMilinkObjects(t, p)
}
