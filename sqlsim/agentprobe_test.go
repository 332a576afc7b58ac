package sqlsim

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
)

// TestLoadsSQLPS: a PowerShell step loads SQLPS before SQL Server 2019 whatever its
// first line says, and from 2019 on (and on the managed instance) unless it starts
// with #NOSQLPS.
func TestLoadsSQLPS(t *testing.T) {
	for _, c := range []struct {
		version string
		mi      bool
		cmd     string
		want    bool
	}{
		{"13.0.7000.253", false, "#NOSQLPS\n$x = 1", true},
		{"14.0.3465.1", false, "#NOSQLPS\n$x = 1", true},
		{"15.0.4375.4", false, "#NOSQLPS\n$x = 1", false},
		{"16.0.4135.4", false, "$x = 1", true},
		{"12.0.2000.8", true, "#NOSQLPS\r\n$x = 1", false},
	} {
		pers, err := FindPersonality(c.version, "Windows", c.mi)
		if err != nil {
			t.Fatal(err)
		}
		a := &agent{in: &Instance{pers: pers}}
		if got := a.loadsSQLPS(c.cmd); got != c.want {
			t.Errorf("%s (MI %v) %q: loads SQLPS %v, want %v", c.version, c.mi, c.cmd, got, c.want)
		}
	}
}

// TestProbeScriptRunsTargetsAtOnce runs milink's one-step probe script as an Agent
// job: the simulator reads the targets from the script's text and, as the script
// starts every ConnectAsync before waiting, connects to all at once. Four targets on
// an address nothing answers each time out after their own timeout: every ElapsedMs
// stays below 3 timeouts (one after another, the fourth would print at least 4).
func TestProbeScriptRunsTargetsAtOnce(t *testing.T) {
	in, c := openSim(t, nil)
	c.Key = sqlops.RandomKey()
	const timeout = 300 * time.Millisecond
	targets := []sqlops.ProbeTarget{{Host: in.opts.IP, Port: 1433, Timeout: timeout}}
	for p := 11000; p < 11004; p++ {
		targets = append(targets, sqlops.ProbeTarget{Label: "range", Host: "10.9.9.9", Port: p, Timeout: timeout})
	}
	out := runProbeJob(t, c, targets)
	lines := sqlops.ParseProbeLines(out, targets)
	for i, l := range lines {
		if !l.Found || !l.HasElapsed {
			t.Fatalf("target %d: no line in %q", i, out)
		}
	}
	if lines[0].SocketErrorCode != "ConnectionRefused" || lines[0].RemoteAddress != in.opts.IP {
		t.Errorf("a port nothing listens on of the instance itself: %+v", lines[0])
	}
	for i, l := range lines[1:] {
		if l.SocketErrorCode != "TimedOut" || l.Elapsed < timeout || l.Elapsed >= 3*timeout {
			t.Errorf("filtered target %d: %s after %s (timeout %s)", i+1, l.SocketErrorCode, l.Elapsed, timeout)
		}
	}
}

// TestProbeScriptIPv6Detail: a refused probe of an IPv6 address says where it was
// refused as [address]:port (net.JoinHostPort), as every other host:port milink shows.
func TestProbeScriptIPv6Detail(t *testing.T) {
	in, c := openSim(t, func(o *Options) { o.IP = "fd00::4" })
	c.Key = sqlops.RandomKey()
	targets := []sqlops.ProbeTarget{{Host: in.opts.IP, Port: 1433, Timeout: 300 * time.Millisecond}}
	out := runProbeJob(t, c, targets)
	if !strings.Contains(out, "[fd00::4]:1433") || strings.Contains(out, " fd00::4:1433") {
		t.Errorf("the refused probe's line does not show [fd00::4]:1433:\n%s", out)
	}
}

// runProbeJob runs milink's probe script for targets as an Agent job on c and returns
// the job step's output.
func runProbeJob(t *testing.T, c *sqlops.Conn, targets []sqlops.ProbeTarget) string {
	t.Helper()
	ctx := context.Background()
	script, err := sqlops.ProbeScript(targets, true)
	if err != nil {
		t.Fatal(err)
	}
	k, err := c.OwnerKey()
	if err != nil {
		t.Fatal(err)
	}
	job, err := c.CreateJob(ctx, sqlops.JobSpec{Name: "TestMILinkConnection", Description: sqlops.JobDescription("t", k.Mark(sqlops.KindJob, "TestMILinkConnection", sqlops.NewRunID())),
		Steps: []sqlops.JobStep{{Name: "probes", Subsystem: "PowerShell", Command: script}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.StartJob(ctx, job); err != nil {
		t.Fatal(err)
	}
	res, err := c.WaitJob(ctx, job, time.Now().Add(30*time.Second), sqlops.PollPolicy{}, nil)
	if err != nil || len(res.Steps) != 1 {
		t.Fatalf("job: %v, %+v", err, res)
	}
	return res.Steps[0].Output()
}
