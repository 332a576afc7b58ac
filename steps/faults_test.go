package steps_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/steps"
)

// userObjects are the user's own objects every fault test plants and checks afterwards.
func plantUserObjects(sqlOpts, miOpts *sqlsim.Options) {
	sqlOpts.Jobs = []sqlsim.JobSpec{{Name: "NightlyBackup", Description: "the DBA's backup job"}}
	sqlOpts.Certificates = []sqlsim.CertSpec{{Name: "UserCert", Subject: "the DBA's certificate"}}
	miOpts.Jobs = []sqlsim.JobSpec{{Name: "NetHelper", Description: "the DBA's own NetHelper"}}
}

func startFaultPair(t *testing.T, mutSQL, mutMI func(*sqlsim.Options)) *sqlsim.Pair {
	t.Helper()
	s := sqlsim.Scenario{Name: "fault",
		SQL: func(o *sqlsim.Options) {
			var mi sqlsim.Options
			plantUserObjects(o, &mi)
			if mutSQL != nil {
				mutSQL(o)
			}
		},
		MI: func(o *sqlsim.Options) {
			var sq sqlsim.Options
			plantUserObjects(&sq, o)
			if mutMI != nil {
				mutMI(o)
			}
		}}
	p, err := sqlsim.StartPair(s, 50*time.Millisecond, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// checkAfterFault counts what the run left, removes it as 'milink cleanup' does, and
// checks that nothing of milink's remains and every user object is untouched.
func checkAfterFault(t *testing.T, p *sqlsim.Pair, cfg steps.Config, rep *steps.Report) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	left, removed := 0, 0
	for i, cc := range []sqlops.ConnConfig{cfg.SQLServer, cfg.MI} {
		c, err := sqlops.Open(ctx, cc)
		if err != nil {
			t.Fatalf("reconnect: %v", err)
		}
		l, err := c.FindLeftovers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		left += l.Count()
		for _, r := range c.RemoveLeftovers(ctx, l) {
			if r.Err != nil {
				t.Errorf("milink cleanup failed on %s %s: %v", r.Kind, r.Name, r.Err)
			} else {
				removed++
			}
		}
		inv, err := c.Inventory(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		for _, j := range inv.Jobs {
			if _, ours := j.RunID(); ours {
				t.Errorf("%s: milink job %s remains", cc.Address(), j.Name)
			}
		}
		for _, ce := range inv.Certificates {
			if _, ours := sqlops.MarkedRunID(ce.Subject); ours {
				t.Errorf("%s: milink certificate %s remains", cc.Address(), ce.Name)
			}
		}
		if i == 0 {
			if !slices.ContainsFunc(inv.Jobs, func(j sqlops.Job) bool { return j.Name == "NightlyBackup" && j.Description == "the DBA's backup job" }) ||
				!slices.ContainsFunc(inv.Certificates, func(c sqlops.Certificate) bool { return c.Name == "UserCert" }) {
				t.Errorf("SQL Server user objects touched: %+v", inv)
			}
			if slices.ContainsFunc(inv.Endpoints, func(e sqlops.Endpoint) bool { return e.Type == "DATABASE_MIRRORING" }) {
				t.Errorf("a mirroring endpoint remains: %+v", inv.Endpoints)
			}
		} else if !slices.ContainsFunc(inv.Jobs, func(j sqlops.Job) bool { return j.Name == "NetHelper" && j.Description == "the DBA's own NetHelper" }) {
			t.Errorf("MI user job touched: %+v", inv.Jobs)
		}
	}
	cleaned := 0
	for _, c := range rep.Cleanup {
		if c.Removed {
			cleaned++
		}
	}
	t.Logf("fault outcome %q (exit %d): run's own cleanup removed %d, left %d, 'milink cleanup' removed %d", rep.Outcome, rep.ExitCode, cleaned, left, removed)
}

// trigger runs fault once, at the first event whose message contains substr.
func trigger(substr string, fault func()) (steps.Sink, func() bool) {
	return triggerAll([]string{substr}, fault)
}

// triggerAll runs fault once, at the first event after which every one of substrs has
// been seen in some event's message.
func triggerAll(substrs []string, fault func()) (steps.Sink, func() bool) {
	var once sync.Once
	var mu sync.Mutex
	fired := false
	seen := map[string]bool{}
	return func(e steps.Event) {
			mu.Lock()
			for _, s := range substrs {
				if strings.Contains(e.Message, s) {
					seen[s] = true
				}
			}
			all := len(seen) == len(substrs)
			mu.Unlock()
			if all {
				once.Do(func() {
					fault()
					mu.Lock()
					fired = true
					mu.Unlock()
				})
			}
		}, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return fired
		}
}

func TestFaultsAtEveryStage(t *testing.T) {
	type fault struct {
		name     string
		mutSQL   func(*sqlsim.Options)
		mutMI    func(*sqlsim.Options)
		at       string // event text at which the fault strikes
		strike   func(p *sqlsim.Pair, cancel context.CancelFunc)
		jobLimit time.Duration
	}
	drop := func(p *sqlsim.Pair, _ context.CancelFunc) { p.SQL.DropConnections(); p.MI.DropConnections() }
	faults := []fault{
		{name: "dropped connections after the SQL Server job is created", at: "starting job TestMILinkConnection", strike: drop},
		{name: "dropped connections while the jobs run", at: "waiting for job NetHelper_milink", strike: drop},
		{name: "dropped connections after the endpoint is created", at: "creating Agent job NetHelper_milink", strike: drop},
		{name: "dropped connections during cleanup", at: "removed job", strike: drop},
		{name: "cancel after the endpoint is created", at: "creating Agent job NetHelper_milink", strike: func(_ *sqlsim.Pair, c context.CancelFunc) { c() }},
		{name: "cancel during cleanup", at: "removed job", strike: func(_ *sqlsim.Pair, c context.CancelFunc) { c() }},
		{name: "SQL Server restarts while its job runs", at: "waiting for job TestMILinkConnection",
			mutSQL: func(o *sqlsim.Options) { o.JobStartLatency = time.Second }, jobLimit: 2 * time.Second,
			strike: func(p *sqlsim.Pair, _ context.CancelFunc) { p.SQL.Restart() }},
		{name: "managed instance restarts while its job runs", at: "waiting for job NetHelper_milink",
			mutMI: func(o *sqlsim.Options) { o.JobStartLatency = time.Second }, jobLimit: 2 * time.Second,
			strike: func(p *sqlsim.Pair, _ context.CancelFunc) { p.MI.Restart() }},
		{name: "a job that never finishes", mutMI: func(o *sqlsim.Options) { o.JobStartLatency = time.Hour }, jobLimit: time.Second},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			p := startFaultPair(t, f.mutSQL, f.mutMI)
			cfg := pairConfig(t, p)
			if f.jobLimit > 0 {
				cfg.JobTimeout = f.jobLimit
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var sink steps.Sink
			fired := func() bool { return true }
			if f.strike != nil {
				sink, fired = trigger(f.at, func() { f.strike(p, cancel) })
			}
			rep := steps.Check(ctx, cfg, sink)
			if !fired() {
				t.Fatalf("the fault never struck (no event %q); outcome %s", f.at, rep.Outcome)
			}
			if rep.ExitCode == steps.ExitOK && f.name == "a job that never finishes" {
				t.Errorf("a job that never finished was reported as passed")
			}
			checkAfterFault(t, p, cfg, rep)
		})
	}
}

func TestLoginThatHangs(t *testing.T) {
	p := startFaultPair(t, nil, nil)
	release := make(chan struct{})
	p.SQL.SetLoginHook(func(ctx context.Context, _ string) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-release:
			return errors.New("released")
		}
	})
	cfg := pairConfig(t, p)
	cfg.SQLServer.LoginTimeout = 500 * time.Millisecond
	start := time.Now()
	rep := steps.Check(context.Background(), cfg, nil)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("a hanging login took %s to give up", took)
	}
	if rep.ExitCode != steps.ExitError || !strings.Contains(rep.Error, "SQL Server") {
		t.Errorf("hanging login: exit %d, %q", rep.ExitCode, rep.Error)
	}
	t.Logf("hanging login reported after %s: %s", time.Since(start).Round(time.Millisecond), rep.Error)
	p.SQL.SetLoginHook(nil)
	close(release)
	if !strings.Contains(rep.Error, "did not complete the login within") {
		t.Errorf("the hanging login is not explained: %q", rep.Error)
	}
	checkAfterFault(t, p, cfg, rep)
}
