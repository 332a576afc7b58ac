package main

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// milinkPID returns the process the tmux pane's shell runs: milink.
func (s *tmuxSession) milinkPID() int {
	s.t.Helper()
	out, err := exec.Command("tmux", "-S", s.socket, "display-message", "-p", "-t", s.name, "#{pane_pid}").Output()
	if err != nil {
		s.t.Fatalf("tmux pane_pid: %v", err)
	}
	sh := strings.TrimSpace(string(out))
	kids, err := os.ReadFile("/proc/" + sh + "/task/" + sh + "/children")
	if err != nil || len(strings.Fields(string(kids))) == 0 {
		s.t.Fatalf("no milink process under the pane's shell %s: %v", sh, err)
	}
	pid, err := strconv.Atoi(strings.Fields(string(kids))[0])
	if err != nil {
		s.t.Fatal(err)
	}
	return pid
}

func TestAccessibleWizardStopsOnEverySignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGQUIT, syscall.SIGHUP, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			bin := milinkBinary(t)
			s := startTmux(t, nil, bin, "demo", "--accessible", "--log-file", "-")
			s.waitScreen(15*time.Second, "What the test creates")
			if err := syscall.Kill(s.milinkPID(), sig); err != nil {
				t.Fatal(err)
			}
			if code := s.exitCode(15 * time.Second); code != 130 {
				t.Errorf("exit code %d after %s, want 130; screen:\n%s", code, sig, s.screen())
			}
			if scr := s.screen(); !strings.Contains(scr, "nothing was created") {
				t.Errorf("no true stop message after %s:\n%s", sig, scr)
			}
		})
	}
}
