package steps_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/steps"
	"github.com/milink/milink/steps/probe"
)

const simPassword = "Sim-Passw0rd!"

func pairConfig(tb testing.TB, p *sqlsim.Pair) steps.Config {
	tb.Helper()
	sqlCA, miCA, err := p.WriteCACerts(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	return steps.Config{
		SQLServer:    sqlops.ConnConfig{Host: p.SQL.Host(), Port: p.SQL.Port(), User: "sa", Password: simPassword, CACertFile: sqlCA},
		MI:           sqlops.ConnConfig{Host: p.MI.Host(), Port: p.MI.Port(), User: "miadmin", Password: simPassword, CACertFile: miCA},
		ProbeTimeout: 300 * time.Millisecond,
		JobTimeout:   30 * time.Second,
	}
}

func startPair(tb testing.TB, scenario string, job, step time.Duration) *sqlsim.Pair {
	tb.Helper()
	s, err := sqlsim.LookupScenario(scenario)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := sqlsim.StartPair(s, job, step)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Close)
	return p
}

// TestCheckCanceledCleansUp cancels a run while both jobs are running and checks that
// cleanup still removed every milink object.
func TestCheckCanceledCleansUp(t *testing.T) {
	p := startPair(t, "pass", 5*time.Second, 5*time.Second)
	cfg := pairConfig(t, p)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	running := make(chan struct{})
	var closed bool
	sink := func(e steps.Event) {
		if e.Kind == steps.EventStep && !closed && len(e.Message) > 0 && e.Direction == steps.MIToSQL && contains(e.Message, "waiting for job") {
			closed = true
			close(running)
		}
	}
	done := make(chan *steps.Report)
	go func() { done <- steps.Check(ctx, cfg, sink) }()
	select {
	case <-running:
	case <-time.After(20 * time.Second):
		t.Fatal("the MI job never started")
	}
	cancel()
	var rep *steps.Report
	select {
	case rep = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Check did not return after cancel")
	}
	if rep.ExitCode != steps.ExitInterrupted {
		t.Errorf("exit code %d, want %d (%s)", rep.ExitCode, steps.ExitInterrupted, rep.Outcome)
	}
	assertClean(t, p, cfg)
	removed := 0
	for _, c := range rep.Cleanup {
		if c.Removed {
			removed++
		}
	}
	t.Logf("cleanup after cancel removed %d objects: %+v", removed, rep.Cleanup)
	if removed < 3 {
		t.Errorf("cleanup removed %d objects, want the 2 jobs + endpoint + certificate", removed)
	}
}

// TestCheckDroppedConnectionCleansUp drops every client connection of both instances
// while the jobs run; the run reports an error but cleanup reconnects and removes
// everything.
func TestCheckDroppedConnectionCleansUp(t *testing.T) {
	p := startPair(t, "pass", 2*time.Second, 200*time.Millisecond)
	cfg := pairConfig(t, p)
	dropped := make(chan struct{})
	var once bool
	sink := func(e steps.Event) {
		if !once && contains(e.Message, "waiting for job NetHelper") {
			once = true
			p.SQL.DropConnections()
			p.MI.DropConnections()
			close(dropped)
		}
	}
	rep := steps.Check(context.Background(), cfg, sink)
	select {
	case <-dropped:
	default:
		t.Fatal("connections were never dropped")
	}
	var b strings.Builder
	rep.WriteText(&b)
	t.Logf("report after dropped connections:\n%s", b.String())
	assertClean(t, p, cfg)
}

func assertClean(t *testing.T, p *sqlsim.Pair, cfg steps.Config) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, cc := range []sqlops.ConnConfig{cfg.SQLServer, cfg.MI} {
		c, err := sqlops.Open(ctx, cc)
		if err != nil {
			t.Fatal(err)
		}
		left, err := c.FindLeftovers(ctx)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !left.Empty() {
			t.Errorf("%s: %d milink objects left: %+v", cc.Address(), left.Count(), left)
		}
	}
}

func contains(s, sub string) bool { return len(sub) <= len(s) && (s == sub || indexOf(s, sub) >= 0) }

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// BenchmarkCheck measures the wall time of a whole check against the simulated Agent's
// job latency. Each direction's job is a job start + one step (all of its probes at
// once). The "overhead-s" metric is the wall time beyond that; the goal is ≤ 0.5 s.
func BenchmarkCheck(b *testing.B) {
	for _, lat := range []time.Duration{100 * time.Millisecond, 500 * time.Millisecond, time.Second} {
		b.Run(fmt.Sprintf("step-latency=%s", lat), func(b *testing.B) {
			p := startPair(b, "pass", lat, lat)
			cfg := pairConfig(b, p)
			slowest := 2 * lat
			var total time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				rep := steps.Check(context.Background(), cfg, nil)
				total += time.Since(start)
				if rep.ExitCode != 0 {
					b.Fatalf("exit %d: %s", rep.ExitCode, rep.Outcome)
				}
			}
			avg := total / time.Duration(b.N)
			b.ReportMetric(avg.Seconds(), "s/check")
			b.ReportMetric((avg - slowest).Seconds(), "overhead-s")
		})
	}
}

// TestLinuxSQLServerProbesLocally: with SQL Server on Linux on this host (reached on a
// local address, and its MachineName is this machine's host name), the SQL Server → MI
// probes run from milink itself and no job is created on SQL Server.
func TestLinuxSQLServerProbesLocally(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skip(err)
	}
	p, cfg := startCustom(t, func(o *sqlsim.Options) {
		o.Platform, o.Distribution, o.TraceFlags = "Linux", "Ubuntu 22.04.4 LTS", nil
		o.ServerName = strings.SplitN(host, ".", 2)[0] // SQL Server installed on this machine
	}, nil)
	p.Network.SetRule(p.MI.Options().FQDN, 5022, sqlsim.RuleFiltered)
	var events []steps.Event
	rep := steps.CheckWith(context.Background(), cfg, func(e steps.Event) { events = append(events, e) },
		probe.Func(func(ctx context.Context, host string, port int, timeout time.Duration) (string, error) {
			r := p.Network.Probe(ctx, host, port, timeout)
			return r.RemoteAddress, r.Err
		}))
	var d steps.DirectionResult
	for _, x := range rep.Directions {
		if x.Direction == steps.SQLToMI {
			d = x
		}
	}
	if d.Status != steps.StatusFailed || len(d.Probes) != 5 || d.Job != "" { // 5022, the node's port, 3 more of 11000-11999
		t.Fatalf("SQL→MI on Linux: %+v", d)
	}
	if d.Probes[0].Verdict != sqlops.VerdictTimeout || d.Probes[1].Verdict != sqlops.VerdictConnected {
		t.Errorf("verdicts: %s, %s", d.Probes[0].Verdict, d.Probes[1].Verdict)
	}
	for _, e := range events {
		if strings.Contains(e.Message, "TestMILinkConnection") {
			t.Errorf("a job was used on Linux: %s", e.Message)
		}
	}
	if rep.ExitCode != steps.ExitConnectivity {
		t.Errorf("exit %d", rep.ExitCode)
	}
	assertClean(t, p, cfg)
}

// BenchmarkFilteredPortVerdict measures how long a check takes when the managed
// instance's 5022 is filtered: the timed probe must give its verdict within the probe
// timeout (Test-NetConnection would need ~21-42 s). "beyond-timeout-s" is the wall time
// beyond the slowest job (start + its one step) plus one probe timeout.
func BenchmarkFilteredPortVerdict(b *testing.B) {
	const lat = 100 * time.Millisecond
	for _, timeout := range []time.Duration{time.Second, 5 * time.Second} {
		b.Run(fmt.Sprintf("probe-timeout=%s", timeout), func(b *testing.B) {
			p := startPair(b, "blocked-5022", lat, lat)
			cfg := pairConfig(b, p)
			cfg.ProbeTimeout = timeout
			var total time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				rep := steps.Check(context.Background(), cfg, nil)
				total += time.Since(start)
				if rep.ExitCode != steps.ExitConnectivity {
					b.Fatalf("exit %d: %s", rep.ExitCode, rep.Outcome)
				}
			}
			avg := total / time.Duration(b.N)
			b.ReportMetric(avg.Seconds(), "s/check")
			b.ReportMetric((avg - 2*lat - timeout).Seconds(), "beyond-timeout-s")
		})
	}
}

// TestSSHProbeUnreachable: with --probe-from ssh and an SSH host that refuses, the SQL
// Server → MI direction is an error that says so and offers the manual command; the
// other direction still runs.
func TestSSHProbeUnreachable(t *testing.T) {
	p := startPair(t, "linux", 10*time.Millisecond, 10*time.Millisecond)
	cfg := pairConfig(t, p)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	cfg.ProbeFrom = steps.ProbeSSH
	cfg.SSH = steps.SSHConfig{Host: "dba@" + closed, KnownHosts: filepath.Join(t.TempDir(), "known_hosts"), NoAgent: true, Timeout: 2 * time.Second}
	rep := steps.Check(context.Background(), cfg, nil)
	var d steps.DirectionResult
	for _, x := range rep.Directions {
		if x.Direction == steps.SQLToMI {
			d = x
		}
	}
	if d.Status != steps.StatusError || d.ManualCommand == "" || !strings.Contains(strings.ToLower(d.Reason), "ssh") {
		t.Errorf("SQL→MI over an unreachable SSH host: %+v", d)
	}
	if rep.ExitCode != steps.ExitConnectivity {
		t.Errorf("exit %d: %s", rep.ExitCode, rep.Outcome)
	}
	t.Logf("reason: %s", d.Reason)
	assertClean(t, p, cfg)
}
