package ui

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/milink/milink/steps"
)

var keyCtrlD = tea.KeyPressMsg{Code: 'd', Mod: tea.ModCtrl}

// manualResults runs a real check against a simulated SQL Server on Linux with the
// SQL Server → MI probes left to a command run by hand, and shows its Results page.
func manualResults(t *testing.T) (*Model, *steps.Report) {
	t.Helper()
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
	return m, rep
}

// TestResultsPasteAreaTakesEveryKey: in paste mode every key is text, never a hotkey
// of the page (s save, t re-test, q close, w watch, r re-check), whether a paste
// arrives bracketed or as key presses (Enter ends a line); Esc cancels, a second p
// opens the area again, and Ctrl-D hands what was typed to the session.
func TestResultsPasteAreaTakesEveryKey(t *testing.T) {
	m, rep := manualResults(t)
	rec := newRecorder(m)
	tm := teatest.NewTestModel(t, rec, teatest.WithInitialTermSize(80, 24))
	typeKeys := func(s string) {
		for _, r := range s {
			if r == '\n' {
				tm.Send(keyEnter)
				continue
			}
			tm.Send(keyRune(r))
		}
	}
	waitScreen(t, rec, flowWait, "p paste")
	tm.Send(keyRune('p'))
	waitScreen(t, rec, flowWait, "reads them, Esc cancels", "ctrl+d read the paste")
	typeKeys("sqtwrpcn quits\nstop")
	waitScreen(t, rec, flowWait, "sqtwrpcn quits", "stop")
	if rec.sawFrame("Save the report") || rec.sawFrame("Testing the network") {
		t.Fatalf("a key typed in the paste area acted as a hotkey:\n%s", rec.screen())
	}
	tm.Send(keyEsc)
	waitScreen(t, rec, flowWait, "p paste output", "t re-test")
	tm.Send(keyRune('p')) // a second time
	waitScreen(t, rec, flowWait, "reads them, Esc cancels", "paste or type the lines here")

	mi := rep.MIParams.MI
	hadr := mi.Node + ":" + strconv.Itoa(mi.HadrPort)
	tm.Send(tea.PasteMsg{Content: mi.FQDN + ":5022 TcpTestSucceeded : True\n"})
	typeKeys(hadr + " TcpTestSucceeded : True\n")
	tm.Send(keyCtrlD)
	waitScreen(t, rec, flowWait, "✓ passed SQL Server → managed instance", "t re-test")
	if rec.sawFrame("Save the report") || rec.sawFrame("Testing the network") {
		t.Fatalf("a key typed in the paste area acted as a hotkey:\n%s", rec.screen())
	}
	tm.Send(keyRune('q'))
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(flowWait)).(*recorder).m
	if d := fm.Report().Directions[0]; d.Status != steps.StatusPassed {
		t.Errorf("after the paste: %+v", d)
	}
}

// TestResultsPasteManualProbeOutput runs a real check against a simulated SQL Server
// on Linux with the SQL Server → MI probes left to a command run by hand, then pastes
// that command's output on the Results page: an incomplete paste is refused with the
// missing target named and changes nothing; a complete one (with the CR line endings a
// terminal's paste carries) goes through the session into the report.
func TestResultsPasteManualProbeOutput(t *testing.T) {
	m, rep := manualResults(t)
	if m.report.ExitCode != steps.ExitConnectivity {
		t.Fatalf("before the paste: exit %d", m.report.ExitCode)
	}
	send(m, keyRune('p'))
	if !m.results.paste.open {
		t.Fatal("p did not start pasting")
	}
	if !strings.Contains(screenOf(m), "reads them, Esc cancels") {
		t.Errorf("no paste prompt:\n%s", screenOf(m))
	}
	mi := rep.MIParams.MI
	hadr := mi.Node + ":" + strconv.Itoa(mi.HadrPort)
	send(m, tea.PasteMsg{Content: mi.FQDN + ":5022 TcpTestSucceeded : True"}, keyCtrlD)
	if !m.results.paste.open || !strings.Contains(m.results.paste.err, hadr) {
		t.Errorf("incomplete paste: pasting=%v err=%q", m.results.paste.open, m.results.paste.err)
	}
	if m.sess.ManualDirection() == "" {
		t.Fatal("an incomplete paste changed the results")
	}
	// The missing line is added to the text kept in the area.
	send(m, tea.PasteMsg{Content: "\r\n" + hadr + " TcpTestSucceeded : False\r\n"}, keyCtrlD)
	if m.results.paste.open {
		t.Fatalf("a complete paste was not accepted: %s", m.results.paste.err)
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
	send(m, tea.PasteMsg{Content: mi.FQDN + ":5022 TcpTestSucceeded : True\n" + hadr + " TcpTestSucceeded : True\n"}, keyCtrlD)
	if m.results.paste.open {
		t.Fatalf("the paste was not accepted: %s", m.results.paste.err)
	}
	if d := m.report.Directions[0]; d.Status != steps.StatusPassed {
		t.Errorf("after the paste: %+v", d)
	}
}
