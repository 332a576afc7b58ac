package ui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps"
)

func manualReport() *steps.Report {
	opts := steps.NetworkOptions{MI: sqlops.MIParams{FQDN: "mi.example.database.windows.net", Node: "db1.tr1.example.net", HadrPort: 11002},
		SQLServerIP: "10.1.0.4", EndpointPort: 5022, ProbeTimeout: 5 * time.Second}
	rep := steps.NewReport(steps.Config{})
	rep.SetPlan(&steps.Plan{Options: opts})
	rep.SetResults(&steps.Results{Directions: []steps.DirectionResult{
		{Direction: steps.SQLToMI, Status: steps.StatusNotRun, Reason: "Linux", ManualCommand: steps.ManualProbeCommand(opts.SQLToMITargets())},
		{Direction: steps.MIToSQL, Status: steps.StatusPassed},
	}})
	return rep
}

func TestResultsPasteManualProbeOutput(t *testing.T) {
	p := newResultsModel()
	p.start(time.Now(), manualReport(), "Linux")
	p.finish(time.Now())
	keys := newKeyMap()
	if p.rep.ExitCode != steps.ExitConnectivity {
		t.Fatalf("before the paste: exit %d", p.rep.ExitCode)
	}
	p.update(keyRune('p'), keys)
	if !p.pasting {
		t.Fatal("p did not start pasting")
	}
	p.setSize(80, 20)
	if !strings.Contains(p.view(80, 20), "Paste the lines") {
		t.Errorf("no paste prompt:\n%s", p.view(80, 20))
	}
	// An incomplete paste is refused with a reason and changes nothing.
	p.update(tea.PasteMsg{Content: "mi.example.database.windows.net:5022 TcpTestSucceeded : True"}, keys)
	if !p.pasting || !strings.Contains(p.pasteErr, "db1.tr1.example.net:11002") {
		t.Errorf("incomplete paste: pasting=%v err=%q", p.pasting, p.pasteErr)
	}
	p.update(tea.PasteMsg{Content: "mi.example.database.windows.net:5022 TcpTestSucceeded : True\r\ndb1.tr1.example.net:11002 TcpTestSucceeded : False\r\n"}, keys)
	if p.pasting {
		t.Fatalf("a complete paste was not accepted: %s", p.pasteErr)
	}
	d := p.rep.Directions[0]
	if d.Status != steps.StatusFailed || len(d.Probes) != 2 || d.Probes[1].Explanation == "" {
		t.Errorf("after the paste: %+v", d)
	}
	if p.rep.ExitCode != steps.ExitConnectivity {
		t.Errorf("exit %d", p.rep.ExitCode)
	}
	if p.manualDirection() != "" {
		t.Error("the direction still waits for a paste")
	}
}
