package steps_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps"
	"github.com/milink/milink/steps/probe"
)

// TestProbeResultJSON: the report's probe results keep the field names they had before
// the probers moved to steps/probe, flat, plus what ran and where.
func TestProbeResultJSON(t *testing.T) {
	pr := steps.ProbeResult{Direction: steps.SQLToMI, Result: probe.Result{Step: "Test Port 5022", Host: "mi.example", Port: 5022,
		Verdict: sqlops.VerdictTimeout, RemoteAddress: "10.0.0.4", Detail: "timed out after 5s", Duration: 5 * time.Second,
		Output: "TcpTestSucceeded : False", Ran: "job TestMILinkConnection step 1", Where: "SQL Server (Agent job)"},
		Explanation: "why", Fixes: []steps.Fix{{Platform: "Windows", Command: "New-NetFirewallRule"}}}
	b, err := json.Marshal(pr)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"detail", "direction", "duration_s", "explanation", "fixes", "host", "output", "port", "ran", "remote_address", "step", "succeeded", "verdict", "where"}
	if !slices.Equal(keys, want) {
		t.Errorf("JSON keys %q, want %q", keys, want)
	}
	if m["duration_s"] != 5.0 || m["direction"] != steps.SQLToMIID || m["host"] != "mi.example" || m["where"] != "SQL Server (Agent job)" {
		t.Errorf("JSON %s", b)
	}
	var back steps.ProbeResult
	if err := json.Unmarshal(b, &back); err != nil || back.Host != "mi.example" || back.Ran != pr.Ran || back.Direction != steps.SQLToMI || back.Duration != 5*time.Second {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}
