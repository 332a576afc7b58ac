package probe_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/steps/probe"
)

// openSimSQL starts a simulated pair for scenario and returns a connection to its SQL
// Server and the pair.
func openSimSQL(t *testing.T, scenario string) (*sqlops.Conn, *sqlsim.Pair) {
	t.Helper()
	s, err := sqlsim.LookupScenario(scenario)
	if err != nil {
		t.Fatal(err)
	}
	p, err := sqlsim.StartPair(s, 10*time.Millisecond, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	sqlCA, _, err := p.WriteCACerts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c, err := sqlops.Open(context.Background(), sqlops.ConnConfig{Host: p.SQL.Host(), Port: p.SQL.Port(), User: "sa", Password: "Sim-Passw0rd!", CACertFile: sqlCA, Role: "SQL Server"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.Key = sqlops.RandomKey() // never the user's key file
	return c, p
}

// ownMark is the mark c's key gives job name of run.
func ownMark(t *testing.T, c *sqlops.Conn, name, run string) string {
	t.Helper()
	k, err := c.OwnerKey()
	if err != nil {
		t.Fatal(err)
	}
	return k.Mark(sqlops.KindJob, name, run)
}

// TestAgentJobProbes runs the SQL Server → MI job against the simulator with 5022
// filtered: the job is tracked before it exists and again once it does, it has ONE
// PowerShell step for both targets, each target's verdict and own duration are read
// from its line, and the results say which job step ran where.
func TestAgentJobProbes(t *testing.T) {
	c, p := openSimSQL(t, "blocked-5022")
	ctx := context.Background()
	runID := sqlops.NewRunID()
	mi := p.MI.Options()
	targets := []sqlops.ProbeTarget{
		{Label: "Test Port 5022", Host: mi.FQDN, Port: 5022, Timeout: 300 * time.Millisecond},
		{Label: "Test HADR Port", Host: mi.NodeName + "." + mi.ClusterName, Port: mi.HadrPort, Timeout: 300 * time.Millisecond},
	}
	var tracked []string
	job := &probe.AgentJob{Conn: c, Server: "SQL Server", Name: "TestMILinkConnection", Description: sqlops.JobDescription("probe test", ownMark(t, c, "TestMILinkConnection", runID)),
		SkipSQLPS: true, Timeout: 30 * time.Second,
		Track: func(name string, j *sqlops.Job) {
			existing, err := c.JobByName(ctx, name)
			if err != nil {
				t.Error(err)
			}
			switch {
			case j == nil && existing == nil:
				tracked = append(tracked, "before "+name)
			case j != nil && existing != nil && existing.ID == j.ID:
				tracked = append(tracked, "after "+name)
			default:
				t.Errorf("Track(%q, %v) with %v on the server", name, j, existing)
			}
		}}
	var mu sync.Mutex
	var notes []string
	rs, err := job.Probe(ctx, targets, func(n probe.Note) { mu.Lock(); notes = append(notes, n.Message); mu.Unlock() })
	if err != nil || len(rs) != 2 {
		t.Fatalf("Probe: %v, %+v", err, rs)
	}
	t.Cleanup(func() {
		if j, _ := c.JobByName(ctx, job.Name); j != nil {
			c.DeleteJob(ctx, j, runID)
		}
	})
	if strings.Join(tracked, ", ") != "before TestMILinkConnection, after TestMILinkConnection" {
		t.Errorf("tracked: %q", tracked)
	}
	if rs[0].Verdict != sqlops.VerdictTimeout || rs[0].Succeeded || rs[1].Verdict != sqlops.VerdictConnected || !rs[1].Succeeded {
		t.Errorf("verdicts: %s, %s", rs[0].Verdict, rs[1].Verdict)
	}
	for i, r := range rs {
		if r.Step != targets[i].Label || r.Host != targets[i].Host || r.Where != "SQL Server (Agent job)" || !strings.HasPrefix(r.Ran, "job TestMILinkConnection step 1 (PowerShell)") || !strings.HasPrefix(r.Output, targets[i].Endpoint()+" TcpTestSucceeded") {
			t.Errorf("result %d: %+v", i, r)
		}
	}
	// The filtered target took its timeout, the open one less: each its own time.
	if rs[0].Duration < targets[0].Timeout || rs[1].Duration >= targets[1].Timeout {
		t.Errorf("durations: filtered %s, open %s (timeout %s)", rs[0].Duration, rs[1].Duration, targets[0].Timeout)
	}
	var steps int
	if err := c.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM msdb.dbo.sysjobsteps s JOIN msdb.dbo.sysjobs j ON j.job_id = s.job_id WHERE j.name = N'TestMILinkConnection'").Scan(&steps); err != nil || steps != 1 {
		t.Errorf("job steps: %d (%v), want 1 for both targets", steps, err)
	}
	for _, want := range []string{"SQL Server: creating Agent job TestMILinkConnection", "SQL Server: waiting for job TestMILinkConnection", targets[0].Endpoint() + ": timeout", targets[1].Endpoint() + ": connected"} {
		if !strings.Contains(strings.Join(notes, "\n"), want) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}
}

// TestAgentJobErrors: an invalid target creates nothing, and a stopped Agent is an
// error that says so, after the job was tracked.
func TestAgentJobErrors(t *testing.T) {
	c, _ := openSimSQL(t, "agent-stopped")
	ctx := context.Background()
	var tracked int
	job := &probe.AgentJob{Conn: c, Server: "SQL Server", Name: "TestMILinkConnection", Description: sqlops.JobDescription("probe test", ownMark(t, c, "TestMILinkConnection", sqlops.NewRunID())),
		Track: func(string, *sqlops.Job) { tracked++ }}
	rs, err := job.Probe(ctx, []sqlops.ProbeTarget{{Label: "bad", Host: "a'b", Port: 5022, Timeout: time.Second}}, nil)
	if rs != nil || !errors.Is(err, sqlops.ErrInvalidInput) || tracked != 0 {
		t.Errorf("invalid target: %v, %v, tracked %d", rs, err, tracked)
	}
	rs, err = job.Probe(ctx, []sqlops.ProbeTarget{{Label: "ok", Host: "10.0.0.4", Port: 5022, Timeout: time.Second}}, nil)
	if rs != nil || err == nil || tracked == 0 {
		t.Fatalf("stopped Agent: %v, %v, tracked %d", rs, err, tracked)
	}
	t.Log(err)
}

// TestAgentJobStepThatCannotStart (issue 11, item 2): SQL Agent on Linux cannot start a
// PowerShell step. The step has no probe output: its verdict is "not run" (not a
// network failure) and the result carries Agent's own message.
func TestAgentJobStepThatCannotStart(t *testing.T) {
	c, p := openSimSQL(t, "linux")
	ctx := context.Background()
	runID := sqlops.NewRunID()
	mi := p.MI.Options()
	job := &probe.AgentJob{Conn: c, Server: "SQL Server", Name: "TestMILinkConnection", Description: sqlops.JobDescription("probe test", runID),
		SkipSQLPS: true, Timeout: 30 * time.Second}
	t.Cleanup(func() {
		if j, _ := c.JobByName(ctx, job.Name); j != nil {
			c.DeleteJob(ctx, j, runID)
		}
	})
	rs, err := job.Probe(ctx, []sqlops.ProbeTarget{{Label: "Test Port 5022", Host: mi.FQDN, Port: 5022, Timeout: 300 * time.Millisecond}}, nil)
	if err != nil || len(rs) != 1 {
		t.Fatalf("Probe: %v, %+v", err, rs)
	}
	if r := rs[0]; r.Verdict != sqlops.VerdictNotRun || r.Succeeded || !strings.Contains(r.Detail, "Unable to start execution of step 1") {
		t.Errorf("a step Agent could not start: %s %q", r.Verdict, r.Detail)
	}
}
