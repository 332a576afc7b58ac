package ui

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/milink/milink/steps"
)

// TestResultsPasteManualProbeOutput runs a real check against a simulated SQL Server
// on Linux with the SQL Server → MI probes left to a command run by hand, then pastes
// that command's output on the Results page: an incomplete paste is refused with the
// missing target named and changes nothing; a complete one (with the CR line endings a
// terminal's paste carries) goes through the session into the report.
func TestResultsPasteManualProbeOutput(t *testing.T) {
	p := startPair(t, "linux", 20*time.Millisecond)
	cfg := p.config()
	cfg.ProbeFrom = steps.ProbeManual
	m := newTestModel(t, cfg, 80, 24)
	rep := m.sess.RunAll(context.Background(), nil)
	if m.sess.ManualDirection() != steps.SQLToMI {
		t.Fatalf("no direction waits for a paste: %s", rep.Outcome)
	}
	m.report, m.page = rep, pageResults
	m.results.start(time.Now(), rep, "Linux")
	m.results.finish(time.Now())
	if m.report.ExitCode != steps.ExitConnectivity {
		t.Fatalf("before the paste: exit %d", m.report.ExitCode)
	}
	send(m, keyRune('p'))
	if !m.results.pasting {
		t.Fatal("p did not start pasting")
	}
	if !strings.Contains(screenOf(m), "Paste the lines") {
		t.Errorf("no paste prompt:\n%s", screenOf(m))
	}
	mi := rep.MIParams.MI
	hadr := mi.Node + ":" + strconv.Itoa(mi.HadrPort)
	send(m, tea.PasteMsg{Content: mi.FQDN + ":5022 TcpTestSucceeded : True"})
	if !m.results.pasting || !strings.Contains(m.results.pasteErr, hadr) {
		t.Errorf("incomplete paste: pasting=%v err=%q", m.results.pasting, m.results.pasteErr)
	}
	if m.sess.ManualDirection() == "" {
		t.Fatal("an incomplete paste changed the results")
	}
	send(m, tea.PasteMsg{Content: mi.FQDN + ":5022 TcpTestSucceeded : True\r\n" + hadr + " TcpTestSucceeded : False\r\n"})
	if m.results.pasting {
		t.Fatalf("a complete paste was not accepted: %s", m.results.pasteErr)
	}
	d := m.report.Directions[0]
	if d.Status != steps.StatusFailed || len(d.Probes) != 2 || d.Probes[1].Explanation == "" {
		t.Errorf("after the paste: %+v", d)
	}
	if m.report.ExitCode != steps.ExitConnectivity || m.ExitCode() != steps.ExitConnectivity {
		t.Errorf("exit %d / %d", m.report.ExitCode, m.ExitCode())
	}
	if m.results.manualDirection() != "" || m.sess.ManualDirection() != "" {
		t.Error("the direction still waits for a paste")
	}
}

// TestResultsPasteAfterSSHError: when the SSH prober cannot reach the SQL Server host
// (here a closed loopback port), Results offers the command to run by hand, names p in
// its help, and p takes the pasted output into the report.
func TestResultsPasteAfterSSHError(t *testing.T) {
	p := startPair(t, "linux", 20*time.Millisecond)
	cfg := p.config()
	cfg.ProbeFrom = steps.ProbeSSH
	cfg.SSH = steps.SSHConfig{Host: "milink@127.0.0.1:1", NoAgent: true, Timeout: 2 * time.Second}
	m := newTestModel(t, cfg, 80, 22)
	rep := m.sess.RunAll(context.Background(), nil)
	m.report, m.page = rep, pageResults
	m.results.start(time.Now(), rep, "Linux")
	m.results.finish(time.Now())
	send(m, tea.WindowSizeMsg{Width: 80, Height: 22})
	if d := rep.Directions[0]; d.Status != steps.StatusError || d.ManualCommand == "" {
		t.Fatalf("SSH to a closed port: %+v", d)
	}
	if s := screenOf(m); !strings.Contains(s, "p paste") {
		t.Errorf("the help does not name p after an SSH error:\n%s", s)
	}
	send(m, keyRune('p'))
	mi := rep.MIParams.MI
	hadr := mi.Node + ":" + strconv.Itoa(mi.HadrPort)
	send(m, tea.PasteMsg{Content: mi.FQDN + ":5022 TcpTestSucceeded : True\n" + hadr + " TcpTestSucceeded : True\n"})
	if m.results.pasting {
		t.Fatalf("the paste was not accepted: %s", m.results.pasteErr)
	}
	if d := m.report.Directions[0]; d.Status != steps.StatusPassed {
		t.Errorf("after the paste: %+v", d)
	}
}
