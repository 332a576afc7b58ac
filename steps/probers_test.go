package steps_test

import (
	"encoding/json"
	"net"
	"os/exec"
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

// TestManualFallbackIPv6 runs the Linux fallback the wizard and check print
// (ManualProbeCommandFor) for an IPv6 loopback target, ::1 as milink takes it, against
// a listener, and pastes its output back through the parser they use
// (ParsePastedProbeResults): the command must print the endpoint as [::1]:port, the
// form the parser looks for.
func TestManualFallbackIPv6(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer l.Close()
	targets := []sqlops.ProbeTarget{{Label: "Test Port 5022", Host: "::1", Port: l.Addr().(*net.TCPAddr).Port, Timeout: 2 * time.Second}}
	cmd := steps.ManualProbeCommandFor("Linux", targets)
	if cmd == "" {
		t.Fatal("no fallback command for an IPv6 target")
	}
	out, err := exec.Command("bash", "-c", cmd).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	rs, err := steps.ParsePastedProbeResults(string(out), targets)
	if err != nil || len(rs) != 1 || rs[0].Verdict != sqlops.VerdictConnected {
		t.Errorf("fallback for ::1, pasted back: %v %+v\n%s", err, rs, out)
	}
}
