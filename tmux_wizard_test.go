package main

import (
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// These tests drive the wizard at 80×22 (an 80×24 terminal less tmux's status line
// and one more), as issue 14 asks: copyable commands, no hidden focus, SSH fields,
// watch mode, a connect that shows its time and stops on Esc, the size limit.

// lineWith returns the first screen line containing s ("" when none).
func lineWith(scr, s string) string {
	for _, l := range strings.Split(scr, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// pressUntil presses key up to n times until the screen contains want.
func (s *tmuxSession) pressUntil(key, want string, n int) string {
	s.t.Helper()
	for range n {
		if scr := s.screen(); strings.Contains(scr, want) {
			return scr
		}
		before := s.screen()
		s.keys(key)
		s.waitChange(before)
	}
	return s.waitScreen(5*time.Second, want)
}

// waitChange waits (up to 2s) until the screen differs from before.
func (s *tmuxSession) waitChange(before string) {
	deadline := time.Now().Add(2 * time.Second)
	for s.screen() == before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTmuxWizardAt80x22 walks the blocked-5022 demo at 80×22: too small below it
// (naming --accessible); PgDn on Network Options cannot leave the focused field
// editable off screen; on Results the Windows firewall fix is one unwrapped command
// block that scrolls sideways and is copied with c; w watches and w stops it.
func TestTmuxWizardAt80x22(t *testing.T) {
	bin := milinkBinary(t)
	s := startTmuxSize(t, 80, 22, nil, bin, "demo", "--scenario", "blocked-5022", "--job-latency", "300ms", "--step-latency", "200ms", "--log-file", "-")
	s.waitScreen(15*time.Second, "1 Introduction", "What the test creates")
	exec.Command("tmux", "-S", s.socket, "resize-window", "-t", s.name, "-x", "80", "-y", "21").Run()
	s.waitScreen(10*time.Second, "too small", "--accessible")
	exec.Command("tmux", "-S", s.socket, "resize-window", "-t", s.name, "-x", "80", "-y", "22").Run()
	s.waitScreen(10*time.Second, "What the test creates")

	walkToNetwork(s)

	// Item 2: no hidden focus.
	s.waitScreen(10*time.Second, "› SQL Server IP", "Probe timeout")
	for range 3 {
		before := s.screen()
		s.keys("NPage")
		s.waitChange(before)
	}
	scr := s.waitScreen(5*time.Second, "back to the fields")
	if strings.Contains(scr, "SQL Server IP") {
		t.Fatalf("PgDn did not scroll the field away:\n%s", scr)
	}
	s.keys("x")
	s.keys("Tab")
	scr = s.waitScreen(5*time.Second, "› SQL Server IP")
	if l := lineWith(scr, "› SQL Server IP"); !strings.Contains(l, "10.1.0.4") || strings.Contains(l, "10.1.0.4x") {
		t.Fatalf("the field was edited while off screen: %q\n%s", l, scr)
	}
	s.keys("Enter")
	s.waitScreen(10*time.Second, "Actions, in order")
	s.keys("Enter")
	s.waitScreen(30*time.Second, "Result:", "exit code 3")

	// Item 1: a copyable command, whole on one line, scrolled sideways.
	const fix = "New-NetFirewallRule -DisplayName"
	scr = s.pressUntil("NPage", fix, 12)
	l := lineWith(scr, fix)
	if !strings.HasSuffix(strings.TrimRight(l, " "), "›") {
		t.Errorf("the command line has no › for the rest: %q\n%s", l, scr)
	}
	if strings.Contains(scr, "-Protocol TCP") {
		t.Errorf("the end of the command is shown before scrolling (wrapped):\n%s", scr)
	}
	for range 6 {
		if strings.Contains(lineWith(s.screen(), "▶"), "New-NetFirewallRule") {
			break
		}
		before := s.screen()
		s.keys("n")
		s.waitChange(before)
	}
	scr = s.pressUntil("Right", "-RemotePort 5022 -Protocol TCP", 8)
	if l := lineWith(scr, "-Protocol TCP"); !strings.Contains(l, "▶") || !strings.Contains(l, "‹") {
		t.Errorf("the end of the command is not on the selected, scrolled line: %q\n%s", l, scr)
	}
	s.keys("c")
	s.waitScreen(5*time.Second, "✓ copied to the clipboard")

	// Item 4: watch mode, with its countdown, stopped by w.
	s.keys("w")
	s.waitScreen(30*time.Second, "Watch every 10s: next test in", "round 1")
	s.keys("w")
	s.waitScreen(5*time.Second, "Watch stopped after 1 rounds")
	s.keys("q")
	if code := s.exitCode(15 * time.Second); code != 3 {
		t.Errorf("exit code %d, want 3", code)
	}
}

// TestTmuxSSHFields: choosing ssh on Network Options offers the SSH fields, and
// Summary names the target.
func TestTmuxSSHFields(t *testing.T) {
	bin := milinkBinary(t)
	s := startTmuxSize(t, 80, 22, map[string]string{"USER": "dba"}, bin, "demo", "--scenario", "linux", "--job-latency", "300ms", "--step-latency", "200ms", "--log-file", "-")
	walkToNetwork(s)
	s.waitScreen(10*time.Second, "› SQL Server IP")
	s.keys("Tab", "Tab")
	s.waitScreen(5*time.Second, "› SQL Server → MI probes")
	scr := s.pressUntil("Right", "[ssh]", 4)
	for _, want := range []string{"SSH host", "SSH user", "SSH port", "SSH key file", "SSH known_hosts"} {
		if !strings.Contains(scr, want) {
			t.Errorf("no %q field:\n%s", want, scr)
		}
	}
	s.keys("Tab") // SSH host: empty is the SQL Server host
	s.keys("Tab") // SSH user: $USER
	s.keys("Tab", "2222")
	s.waitScreen(5*time.Second, "› SSH port")
	s.keys("Enter")
	s.waitScreen(10*time.Second, "Actions, in order", "Over SSH to dba@127.0.0.1:2222")
	s.quitBeforeTest()
}

// quitBeforeTest quits with Ctrl-C before anything was created: the prompt says so
// and milink exits 130.
func (s *tmuxSession) quitBeforeTest() {
	s.t.Helper()
	s.keys("C-c")
	s.waitScreen(5*time.Second, "Quit? Nothing has been created.")
	s.keys("y")
	if code := s.exitCode(15 * time.Second); code != 130 {
		s.t.Errorf("exit code %d, want 130", code)
	}
}

// TestTmuxConnectShowsTimeAndEscCancels: a SQL Server that accepts and never answers;
// the page counts the seconds against the login timeout and Esc stops at once.
func TestTmuxConnectShowsTimeAndEscCancels(t *testing.T) {
	bin := milinkBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0") // never accepted: nothing answers
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	s := startTmuxSize(t, 80, 22, map[string]string{"MILINK_SQL_PASSWORD": "x"}, bin, "--sql-server", "127.0.0.1", "--sql-port", port, "--sql-user", "sa",
		"--sql-login-timeout", "40s", "--log-file", "-")
	s.waitScreen(15*time.Second, "What the test creates")
	s.keys("Enter")
	s.waitScreen(10*time.Second, "Prerequisites", "Password")
	s.keys("Enter")
	s.waitScreen(10*time.Second, "Connecting to SQL Server", "gives up after 40s · Esc cancels")
	s.waitScreen(5*time.Second, "2s elapsed")
	s.keys("Escape")
	s.waitScreen(2*time.Second, "canceled: milink stopped connecting")
	s.quitBeforeTest()
}

// TestTmuxPasteAsKeyPresses: with the SQL Server → MI probes left to a command run by
// hand, p opens the paste area; text sent as plain key presses (tmux send-keys -l, no
// bracketed paste, like paste-buffer without -p) goes into it, its s, t and q never
// act as hotkeys, and Ctrl-D reads it into the report.
func TestTmuxPasteAsKeyPresses(t *testing.T) {
	bin := milinkBinary(t)
	s := startTmuxSize(t, 80, 22, nil, bin, "demo", "--scenario", "linux", "--job-latency", "300ms", "--step-latency", "200ms", "--log-file", "-")
	walkToNetwork(s)
	s.waitScreen(10*time.Second, "› SQL Server IP")
	s.keys("Tab", "Tab")
	s.waitScreen(5*time.Second, "› SQL Server → MI probes")
	s.pressUntil("Right", "[manual]", 6)
	s.keys("Enter")
	s.waitScreen(10*time.Second, "Actions, in order")
	s.keys("Enter")
	s.waitScreen(30*time.Second, "Result:", "p paste output")
	s.keys("p")
	s.waitScreen(5*time.Second, "reads them, Esc cancels", "ctrl+d read the paste")
	lines := []string{
		"sqlmi-demo.6d710bcf372b.database.windows.net:5022 TcpTestSucceeded : True SocketErrorCode : Success",
		"DB123.tr123456.west-us.worker.database.windows.net:11002 TcpTestSucceeded : True SocketErrorCode : Success",
	}
	for _, l := range lines {
		s.keys("-l", l)
		s.keys("Enter")
	}
	s.waitScreen(5*time.Second, "11002 TcpTestSucceeded")
	if scr := s.screen(); strings.Contains(scr, "Save the report") || strings.Contains(scr, "Testing the network") {
		t.Fatalf("text sent as key presses acted as hotkeys:\n%s", scr)
	}
	s.keys("C-d")
	s.waitScreen(10*time.Second, "passed SQL Server → managed instance", "Result: all checks passed")
	s.keys("q")
	if code := s.exitCode(15 * time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}
