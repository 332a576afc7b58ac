package steps_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/steps"
	"github.com/milink/milink/steps/probe"
)

// The speed goals of issue 15, as benchmarks whose metrics are ratios measured in one
// run against the same simulator (a ratio ≤ 1 meets the goal). The simulator's costs
// are the real ones estimated below, divided by speedScale so a run is quick; the
// ratios do not depend on the scale, except that milink's own work (its T-SQL round
// trips and its polling of the job's history) is not scaled, which makes the goals
// harder to meet here than on a real server. Run them with
//
//	go test ./steps -run '^$' -bench 'Speed' -benchtime 3x

// speedCosts are the costs the simulator models, as separate knobs.
type speedCosts struct {
	pickup  time.Duration // Agent job pickup: sp_start_job to the first step (sqlsim JobStartLatency)
	psStart time.Duration // the start of a PowerShell step's process (StepLatency)
	sqlps   time.Duration // the SQLPS load of a step before SQL Server 2019 or without #NOSQLPS (SQLPSLoad)
	rtt     time.Duration // one network round trip (Network.SetLatency)
	timeout time.Duration // milink's probe timeout (--probe-timeout, default 5 s)
	tnc     time.Duration // Test-NetConnection on a filtered port: no timeout, ~21 s per address (FACTS)
}

// realCosts are estimates of a real SQL Server's costs (not measurements: the pickup
// and the process start vary with the host; tnc's ~21 s is the documented TCP retry
// time of Windows).
var realCosts = speedCosts{pickup: time.Second, psStart: 2 * time.Second, sqlps: 3 * time.Second,
	rtt: 20 * time.Millisecond, timeout: 5 * time.Second, tnc: 21 * time.Second}

// speedScale divides realCosts in the benchmarks.
const speedScale = 10

// verdictSlack is what the goals allow milink beyond the Agent's own time.
const verdictSlack = 250 * time.Millisecond

func (c speedCosts) scaled() speedCosts {
	return speedCosts{c.pickup / speedScale, c.psStart / speedScale, c.sqlps / speedScale, c.rtt / speedScale, c.timeout / speedScale, c.tnc / speedScale}
}

// speedPair starts a pair with costs c whose SQL Server is version (a build, major or
// year; "" keeps the default 2022).
func speedPair(b *testing.B, c speedCosts, version string) (*sqlsim.Pair, steps.Config) {
	b.Helper()
	set := func(o *sqlsim.Options) { o.SQLPSLoad, o.TncTimeout = c.sqlps, c.tnc }
	p, err := sqlsim.StartPair(sqlsim.Scenario{Name: "speed",
		SQL: func(o *sqlsim.Options) {
			set(o)
			if version != "" {
				pers, err := sqlsim.FindPersonality(version, "Windows", false)
				if err != nil {
					b.Fatal(err)
				}
				o.Personality = pers
			}
		}, MI: set}, c.pickup, c.psStart)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Close)
	p.Network.SetLatency(c.rtt)
	cfg := pairConfig(b, p)
	cfg.ProbeTimeout = c.timeout
	return p, cfg
}

// filterAll makes every port milink probes filtered: the managed instance's name and
// node on every port, and SQL Server's endpoint port.
func filterAll(p *sqlsim.Pair) {
	mo := p.MI.Options()
	p.Network.SetRule(mo.FQDN, 0, sqlsim.RuleFiltered)
	p.Network.SetRule(mo.NodeName+"."+mo.ClusterName, 0, sqlsim.RuleFiltered)
	p.Network.SetRule(p.SQL.Options().IP, 5022, sqlsim.RuleFiltered)
}

// timeToVerdict runs the check's steps up to the plan, then the network test (Session.Run)
// and returns the time from its start to the last direction's verdict (its "done"
// event), and to the end of the run (cleanup included).
func timeToVerdict(b *testing.B, cfg steps.Config, wantExit int) (verdict, total time.Duration) {
	b.Helper()
	ctx := context.Background()
	s := steps.NewSession(cfg, steps.SessionOptions{})
	defer s.Close()
	if _, err := s.BuildPlan(ctx, upToNetworkOptions(b, s, cfg)); err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	var last time.Time
	done := 0
	start := time.Now()
	rep := s.Run(ctx, func(e steps.Event) {
		if e.Kind == steps.EventDone {
			mu.Lock()
			done++
			if e.Time.After(last) {
				last = e.Time
			}
			mu.Unlock()
		}
	})
	total = time.Since(start)
	if rep.ExitCode != wantExit || done != 2 {
		b.Fatalf("exit %d (want %d), %d directions done: %s", rep.ExitCode, wantExit, done, rep.Outcome)
	}
	return last.Sub(start), total
}

// upToNetworkOptions takes session s through the steps before the plan, as
// Session.RunAll does, and returns the default network options.
func upToNetworkOptions(tb testing.TB, s *steps.Session, cfg steps.Config) steps.NetworkOptions {
	tb.Helper()
	loginSteps(tb, s, cfg)
	opts, err := s.NetworkDefaults()
	if err != nil {
		tb.Fatal(err)
	}
	return opts
}

// ownConn opens a connection to the server cc names with a key of its own, and names
// a job of a new run with its marked description.
func ownConn(b *testing.B, cc sqlops.ConnConfig) (c *sqlops.Conn, name, run, desc string) {
	b.Helper()
	c, err := sqlops.Open(context.Background(), cc)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	c.Key = sqlops.RandomKey()
	k, err := c.OwnerKey()
	if err != nil {
		b.Fatal(err)
	}
	run = sqlops.NewRunID()
	name = "TestMILinkConnection_milink_" + run[:8]
	return c, name, run, sqlops.JobDescription("speed", k.Mark(sqlops.KindJob, name, run))
}

// oneStepJob is the reference: the time from sp_start_job to the outcome of a job with
// one PowerShell step probing targets (sqlops.ProbeScript), on the server cc names,
// read back every millisecond. It is the Agent's own time for a direction.
func oneStepJob(b *testing.B, cc sqlops.ConnConfig, targets []sqlops.ProbeTarget, skipSQLPS bool) time.Duration {
	b.Helper()
	ctx := context.Background()
	c, name, run, desc := ownConn(b, cc)
	script, err := sqlops.ProbeScript(targets, skipSQLPS)
	if err != nil {
		b.Fatal(err)
	}
	job, err := c.CreateJob(ctx, sqlops.JobSpec{Name: name, Description: desc,
		Steps: []sqlops.JobStep{{Name: "probe", Subsystem: "PowerShell", Command: script}}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.DeleteJob(ctx, job, run)
	start := time.Now()
	if err := c.StartJob(ctx, job); err != nil {
		b.Fatal(err)
	}
	if _, err := c.WaitJob(ctx, job, time.Now().Add(time.Minute), sqlops.PollPolicy{First: time.Millisecond, Max: time.Millisecond}, nil); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// slowestDirection is the reference of both directions, the slower one: SQL Server's job
// probes the managed instance's name, node and three range ports; the managed
// instance's probes SQL Server's endpoint port.
func slowestDirection(b *testing.B, p *sqlsim.Pair, cfg steps.Config, c speedCosts, skipSQLPS bool) time.Duration {
	mo := p.MI.Options()
	node := mo.NodeName + "." + mo.ClusterName
	opts := steps.NetworkOptions{MI: sqlops.MIParams{FQDN: mo.FQDN, Node: node, HadrPort: mo.HadrPort},
		SQLServerIP: p.SQL.Options().IP, EndpointPort: 5022, ProbeTimeout: c.timeout, RangePorts: []int{11000, 11999, 11500}}
	sqlSide := oneStepJob(b, cfg.SQLServer, opts.SQLToMITargets(), skipSQLPS)
	miSide := oneStepJob(b, cfg.MI, []sqlops.ProbeTarget{opts.MIToSQLTarget()}, true)
	return max(sqlSide, miSide)
}

// BenchmarkSpeedTimeToVerdict (goal a): with every port open, the time from the start
// of the network test to the last direction's verdict is at most the slowest
// direction's single-step job time + 0.25 s: "goal-ratio" = verdict / (job + 0.25 s).
func BenchmarkSpeedTimeToVerdict(b *testing.B) {
	for _, v := range []struct {
		version   string
		skipSQLPS bool // milink's plan: #NOSQLPS from SQL Server 2019 on
	}{{"2022", true}, {"2016", false}} {
		b.Run("sql="+v.version, func(b *testing.B) {
			c := realCosts.scaled()
			p, cfg := speedPair(b, c, v.version)
			var verdict, job time.Duration
			for range b.N {
				job += slowestDirection(b, p, cfg, c, v.skipSQLPS)
				v, _ := timeToVerdict(b, cfg, steps.ExitOK)
				verdict += v
			}
			n := time.Duration(b.N)
			b.ReportMetric((verdict / n).Seconds(), "verdict-s")
			b.ReportMetric((job / n).Seconds(), "one-step-job-s")
			b.ReportMetric(float64(verdict)/float64(job+n*verdictSlack), "goal-ratio")
		})
	}
}

// BenchmarkSpeedAllFiltered (goal b): with every probed port filtered, the verdict
// comes within one probe timeout + one step + 0.25 s, whatever the number of ports:
// "goal-ratio" = verdict / (timeout + one-step job + 0.25 s), where the one-step job
// (the Agent's time for a step whose ports answer) is measured in the same run. The
// whole check probes 5 ports from SQL Server; "ports=N" runs SQL Server's Agent-job
// prober alone on N filtered ports of the managed instance's node.
func BenchmarkSpeedAllFiltered(b *testing.B) {
	c := realCosts.scaled()
	b.Run("check", func(b *testing.B) {
		p, cfg := speedPair(b, c, "")
		var verdict, job time.Duration
		for range b.N {
			p.Network.ClearRules()
			job += slowestDirection(b, p, cfg, c, true)
			filterAll(p)
			v, _ := timeToVerdict(b, cfg, steps.ExitConnectivity)
			verdict += v
		}
		n := time.Duration(b.N)
		b.ReportMetric((verdict / n).Seconds(), "verdict-s")
		b.ReportMetric(float64(verdict)/float64(job+n*(c.timeout+verdictSlack)), "goal-ratio")
	})
	for _, ports := range []int{2, 10, 40} {
		b.Run(fmt.Sprintf("ports=%d", ports), func(b *testing.B) {
			p, cfg := speedPair(b, c, "")
			mo := p.MI.Options()
			node := mo.NodeName + "." + mo.ClusterName
			var targets []sqlops.ProbeTarget
			for i := range ports {
				targets = append(targets, sqlops.ProbeTarget{Label: fmt.Sprint("port ", 11000+i), Host: node, Port: 11000 + i, Timeout: c.timeout})
			}
			var verdict, job time.Duration
			for range b.N {
				p.Network.ClearRules()
				job += oneStepJob(b, cfg.SQLServer, targets[:1], true)
				p.Network.SetRule(node, 0, sqlsim.RuleFiltered)
				verdict += agentJobProbe(b, cfg.SQLServer, targets)
			}
			n := time.Duration(b.N)
			b.ReportMetric((verdict / n).Seconds(), "verdict-s")
			b.ReportMetric(float64(verdict)/float64(job+n*(c.timeout+verdictSlack)), "goal-ratio")
		})
	}
}

// agentJobProbe runs milink's Agent-job prober for targets on the server cc names and
// returns how long it took (creating, starting, waiting for and reading the job).
func agentJobProbe(b *testing.B, cc sqlops.ConnConfig, targets []sqlops.ProbeTarget) time.Duration {
	b.Helper()
	ctx := context.Background()
	c, name, run, desc := ownConn(b, cc)
	job := &probe.AgentJob{Conn: c, Server: "SQL Server", Name: name, Description: desc,
		SkipSQLPS: true, Timeout: time.Minute}
	defer func() {
		if j, _ := c.JobByName(ctx, name); j != nil {
			c.DeleteJob(ctx, j, run)
		}
	}()
	start := time.Now()
	rs, err := job.Probe(ctx, targets, nil)
	d := time.Since(start)
	if err != nil || len(rs) != len(targets) {
		b.Fatalf("probe: %v", err)
	}
	for _, r := range rs {
		if r.Verdict != sqlops.VerdictTimeout {
			b.Fatalf("%s:%d: %s, want timeout", r.Host, r.Port, r.Verdict)
		}
	}
	return d
}

// loginSteps takes s through Prerequisites and Login on cfg's instances.
func loginSteps(tb testing.TB, s *steps.Session, cfg steps.Config) {
	tb.Helper()
	ctx := context.Background()
	if err := s.ConnectSQLServer(ctx, cfg.SQLServer); err != nil {
		tb.Fatal(err)
	}
	if _, err := s.CheckPrerequisites(ctx); err != nil {
		tb.Fatal(err)
	}
	if err := s.ConnectMI(ctx, cfg.MI); err != nil {
		tb.Fatal(err)
	}
	if _, err := s.DiscoverMI(ctx); err != nil {
		tb.Fatal(err)
	}
}

// sessionAtPrerequisites returns a session on cfg that has connected to SQL Server
// and checked its prerequisites; it is closed when the test ends.
func sessionAtPrerequisites(tb testing.TB, cfg steps.Config) (*steps.Session, *steps.Prerequisites) {
	tb.Helper()
	s := steps.NewSession(cfg, steps.SessionOptions{})
	tb.Cleanup(func() { s.Close() })
	ctx := context.Background()
	if err := s.ConnectSQLServer(ctx, cfg.SQLServer); err != nil {
		tb.Fatal(err)
	}
	pre, err := s.CheckPrerequisites(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return s, pre
}
