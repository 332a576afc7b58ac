package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
)

// These tests run the built binary inside tmux at 80×24, as a person on an SSH session
// would see it: send-keys to type, capture-pane to read the screen, polling with
// deadlines.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func milinkBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "milink-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "milink")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func needTmux(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tmux is not installed; .ci/run installs it")
		}
		t.Skip("tmux is not installed")
	}
}

// tmuxSession is one detached tmux session running a command.
type tmuxSession struct {
	t        *testing.T
	name     string
	socket   string
	exitFile string
}

func startTmux(t *testing.T, env map[string]string, args ...string) *tmuxSession {
	t.Helper()
	return startTmuxSize(t, 80, 24, env, args...)
}

// startTmuxSize is startTmux in a window of w×h cells.
func startTmuxSize(t *testing.T, w, h int, env map[string]string, args ...string) *tmuxSession {
	t.Helper()
	needTmux(t)
	dir := t.TempDir()
	s := &tmuxSession{t: t, name: "milink", socket: filepath.Join(dir, "tmux.sock"), exitFile: filepath.Join(dir, "exit")}
	var quoted []string
	for _, a := range args {
		quoted = append(quoted, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
	}
	script := fmt.Sprintf("%s; echo $? > '%s'; sleep 600", strings.Join(quoted, " "), s.exitFile)
	tmuxArgs := []string{"-S", s.socket, "new-session", "-d", "-s", s.name, "-x", strconv.Itoa(w), "-y", strconv.Itoa(h)}
	for k, v := range env {
		tmuxArgs = append(tmuxArgs, "-e", k+"="+v)
	}
	tmuxArgs = append(tmuxArgs, "-e", "TERM=xterm-256color", "sh", "-c", script)
	cmd := exec.Command("tmux", tmuxArgs...)
	cmd.Env = append(os.Environ(), "TERM=xterm-256color")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("tmux", "-S", s.socket, "kill-server").Run() })
	return s
}

func (s *tmuxSession) screen() string {
	out, err := exec.Command("tmux", "-S", s.socket, "capture-pane", "-p", "-t", s.name).Output()
	if err != nil {
		return ""
	}
	return string(out)
}

func (s *tmuxSession) keys(keys ...string) {
	s.t.Helper()
	args := append([]string{"-S", s.socket, "send-keys", "-t", s.name}, keys...)
	if out, err := exec.Command("tmux", args...).CombinedOutput(); err != nil {
		s.t.Fatalf("tmux send-keys %v: %v\n%s", keys, err, out)
	}
}

// waitScreen polls the screen until every text appears on it.
func (s *tmuxSession) waitScreen(d time.Duration, texts ...string) string {
	s.t.Helper()
	deadline := time.Now().Add(d)
	for {
		scr := s.screen()
		ok := true
		for _, txt := range texts {
			if !strings.Contains(scr, txt) {
				ok = false
			}
		}
		if ok {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out after %s waiting for %q on the screen:\n%s", d, texts, scr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// exitCode waits for the command to end and returns its exit status.
func (s *tmuxSession) exitCode(d time.Duration) int {
	s.t.Helper()
	deadline := time.Now().Add(d)
	for {
		if b, err := os.ReadFile(s.exitFile); err == nil && strings.HasSuffix(string(b), "\n") {
			code, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				s.t.Fatalf("exit file: %q", b)
			}
			return code
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("milink did not exit within %s; screen:\n%s", d, s.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// walkToResults drives the wizard from the Introduction to the Results page with a
// pre-filled configuration.
func walkToResults(s *tmuxSession) {
	walkToNetwork(s)
	s.keys("Enter") // → Summary
	s.waitScreen(10*time.Second, "Actions, in order")
	s.keys("Enter") // Finish: start the test
}

// walkToNetwork drives the wizard from the Introduction to Network Options with a
// pre-filled configuration.
func walkToNetwork(s *tmuxSession) {
	s.waitScreen(15*time.Second, "1 Introduction", "What the test creates")
	s.keys("Enter") // Introduction → Prerequisites
	s.waitScreen(10*time.Second, "Prerequisites", "Password")
	s.keys("Enter") // validate SQL Server
	s.waitScreen(15*time.Second, "✓ Connected", "Prerequisites:")
	s.keys("Enter") // → Login
	s.waitScreen(10*time.Second, "Managed instance:", "Password")
	s.keys("Enter") // validate the managed instance
	s.waitScreen(15*time.Second, "✓ Connected", "HADR port")
	s.keys("Enter") // → Network Options
	s.waitScreen(10*time.Second, "SQL Server IP", "Probe timeout")
}

func TestTmuxDemoWalkthrough(t *testing.T) {
	bin := milinkBinary(t)
	s := startTmux(t, nil, bin, "demo", "--scenario", "pass", "--job-latency", "300ms", "--step-latency", "200ms", "--log-file", "-")
	walkToResults(s)
	// Five SQL Server → MI probes (5022, the node's port, 3 more of 11000-11999) push
	// Cleanup below the fold at 80×24: page down to it.
	scr := s.waitScreen(30*time.Second, "Result:", "passed managed instance")
	s.keys("NPage")
	scr += s.waitScreen(10*time.Second, "Cleanup", "removed job NetHelper")
	for _, want := range []string{"passed SQL Server → managed instance", "passed managed instance → SQL Server", "connected", "removed job NetHelper"} {
		if !strings.Contains(scr, want) {
			t.Errorf("results screen lacks %q:\n%s", want, scr)
		}
	}
	t.Logf("Results screen at 80×24:\n%s", scr)
	s.keys("q")
	if code := s.exitCode(15 * time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	// After the wizard the report stays in the terminal's scrollback.
	out, _ := exec.Command("tmux", "-S", s.socket, "capture-pane", "-p", "-S", "-200", "-t", s.name).Output()
	if !strings.Contains(string(out), "Result: all checks passed (exit code 0)") {
		t.Errorf("the report is not in scrollback:\n%s", out)
	}
}

func TestTmuxTooSmall(t *testing.T) {
	bin := milinkBinary(t)
	s := startTmux(t, nil, bin, "demo", "--scenario", "pass", "--log-file", "-")
	s.waitScreen(15*time.Second, "What the test creates")
	exec.Command("tmux", "-S", s.socket, "resize-window", "-t", s.name, "-x", "60", "-y", "20").Run()
	s.waitScreen(10*time.Second, "too small")
	exec.Command("tmux", "-S", s.socket, "resize-window", "-t", s.name, "-x", "80", "-y", "24").Run()
	s.waitScreen(10*time.Second, "What the test creates")
}

// simProcess runs 'milink sim --role pair' as a separate process so the simulated
// instances outlive the wizard and can be inspected afterwards.
type simProcess struct {
	sqlAddr, miAddr string
	caDir           string
}

func startSimProcess(t *testing.T, bin string, jobLatency string, extra ...string) *simProcess {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	args := append([]string{"sim", "--role", "pair", "--listen", "127.0.0.1:0", "--mi-listen", "127.0.0.1:0",
		"--job-latency", jobLatency, "--ca-dir", dir}, extra...)
	cmd := exec.CommandContext(ctx, bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	p := &simProcess{caDir: dir}
	re := regexp.MustCompile(`^(sqlserver|mi) listening on (\S+)`)
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("milink sim exited early")
			}
			if m := re.FindStringSubmatch(line); m != nil {
				if m[1] == "sqlserver" {
					p.sqlAddr = m[2]
				} else {
					p.miAddr = m[2]
				}
			}
			if line == "ready" {
				go func() {
					for range lines {
					}
				}()
				return p
			}
		case <-timeout:
			t.Fatal("milink sim did not become ready")
		}
	}
}

func splitAddr(t *testing.T, addr string) (string, string) {
	t.Helper()
	i := strings.LastIndex(addr, ":")
	return addr[:i], addr[i+1:]
}

func TestTmuxCtrlCMidRunCleansUp(t *testing.T) {
	bin := milinkBinary(t)
	sim := startSimProcess(t, bin, "8s")
	sh, sp := splitAddr(t, sim.sqlAddr)
	mh, mp := splitAddr(t, sim.miAddr)
	sqlCA, miCA := filepath.Join(sim.caDir, "sqlserver-ca.pem"), filepath.Join(sim.caDir, "mi-ca.pem")
	env := map[string]string{"MILINK_SQL_PASSWORD": simPassword, "MILINK_MI_PASSWORD": simPassword}
	s := startTmux(t, env, bin, "--sql-server", sh, "--sql-port", sp, "--sql-user", "sa", "--sql-ca-cert", sqlCA,
		"--mi-server", mh, "--mi-port", mp, "--mi-user", "miadmin", "--mi-ca-cert", miCA, "--log-file", "-")
	walkToResults(s)
	s.waitScreen(20*time.Second, "waiting for job NetHelper", "waiting for job TestMILinkConnection")
	s.keys("C-c")
	s.waitScreen(10*time.Second, "Quit?")
	s.keys("y")
	if code := s.exitCode(60 * time.Second); code != 130 {
		t.Errorf("exit code %d after Ctrl-C, want 130\n%s", code, s.screen())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	total := 0
	for _, cc := range []sqlops.ConnConfig{
		{Role: "SQL Server", Host: sh, Port: atoi(t, sp), User: "sa", Password: simPassword, CACertFile: sqlCA},
		{Role: "managed instance", Host: mh, Port: atoi(t, mp), User: "miadmin", Password: simPassword, CACertFile: miCA},
	} {
		c, err := sqlops.Open(ctx, cc)
		if err != nil {
			t.Fatal(err)
		}
		left, err := c.FindLeftovers(ctx)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		total += left.Count()
		if !left.Empty() {
			t.Errorf("%s: milink objects left after Ctrl-C: %+v", cc.Role, left)
		}
	}
	t.Logf("after Ctrl-C mid-run: %d milink objects left on the simulated instances", total)
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
