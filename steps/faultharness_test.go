package steps_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/steps"
)

// The fault harness puts a real fault-injecting TCP proxy (Shopify's toxiproxy, as a
// library) between milink and each simulated instance and strikes at every stage of a
// run: a stop (a canceled context, as SIGINT/SIGTERM make milink check do), outages
// shorter than the reconnect window, an outage that never ends, and a stop with the
// connection cut (milink cannot clean up; what is left is what 'milink cleanup' must
// then remove, as after SIGKILL). Durations are scaled down with harnessWindow; the
// relation to the reconnect window is the real one (2 s and 10 s against 60 s: both
// shorter). Two trials run at real scale with the default window.
const (
	harnessWindow = 2 * time.Second        // ConnConfig.ReconnectWindow in scaled trials
	shortOutage   = 250 * time.Millisecond // "2 s"
	longOutage    = time.Second            // "10 s"
)

// faultProxy is a toxiproxy proxy in front of one instance.
type faultProxy struct {
	mu sync.Mutex
	p  *toxiproxy.Proxy
}

func newFaultProxy(t *testing.T, name, upstream string) *faultProxy {
	t.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, name, "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	fp := &faultProxy{p: p}
	t.Cleanup(fp.p.Stop)
	return fp
}

// addr is the proxy's listen address, host and port.
func (f *faultProxy) addr(t *testing.T) (string, int) {
	t.Helper()
	var port int
	host, ps, _ := strings.Cut(f.p.Listen, ":")
	if _, err := fmt.Sscanf(ps, "%d", &port); err != nil {
		t.Fatal(err)
	}
	return host, port
}

// outage closes the listener and every connection through the proxy (the instance is
// unreachable: connection refused) and, when d >= 0, restores it after d.
func (f *faultProxy) outage(d time.Duration) {
	f.p.Stop()
	if d >= 0 {
		time.AfterFunc(d, func() { _ = f.p.Start() })
	}
}

// stage is a moment of a run, known by the event milink emits there.
type stage struct{ name, event string }

var harnessStages = []stage{
	{"connect", "connecting to SQL Server"},
	{"after job create", "starting job TestMILinkConnection"},
	{"while jobs run", "waiting for job NetHelper"},
	{"after endpoint create", "creating Agent job NetHelper"},
	{"during cleanup", "removed job"},
}

// harnessFault is what strikes; resilient says that milink must ride it out (pass).
type harnessFault struct {
	name      string
	resilient bool
	strike    func(sqlP, miP *faultProxy, cancel context.CancelFunc)
}

// blackHole makes the proxy swallow every byte from the instance from now on without
// closing anything (toxiproxy's "timeout" toxic of 0): the network went silent.
func (f *faultProxy) blackHole() {
	_, _ = f.p.Toxics.AddToxicJson(strings.NewReader(`{"name":"blackhole","type":"timeout","stream":"downstream","attributes":{"timeout":0}}`))
}

var harnessFaults = []harnessFault{
	{"stop (INT/TERM)", false, func(_, _ *faultProxy, cancel context.CancelFunc) { cancel() }},
	{"outage 2s (scaled)", true, func(s, m *faultProxy, _ context.CancelFunc) { s.outage(shortOutage); m.outage(shortOutage) }},
	{"outage 10s (scaled)", true, func(s, m *faultProxy, _ context.CancelFunc) { s.outage(longOutage); m.outage(longOutage) }},
	{"outage forever", false, func(s, m *faultProxy, _ context.CancelFunc) { s.outage(-1); m.outage(-1) }},
	{"stop with the connection cut (KILL-like)", false, func(s, m *faultProxy, cancel context.CancelFunc) { s.outage(-1); m.outage(-1); cancel() }},
	{"silent network forever", false, func(s, m *faultProxy, _ context.CancelFunc) { s.blackHole(); m.blackHole() }},
}

// tally counts the harness's trials.
type tally struct {
	mu                                 sync.Mutex
	trials, survived, left, userChange int
}

func (t *tally) add(survived bool, left, userChanged int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.trials++
	if survived {
		t.survived++
	}
	t.left += left
	t.userChange += userChanged
}

// TestFaultHarness runs every fault at every stage and checks, over separate clean
// connections to both instances, that nothing of the user's changed, that what is left
// of milink's is exactly what the report lists as remaining (and 'milink cleanup' then
// removes it), and that the exit code is true.
func TestFaultHarness(t *testing.T) {
	var tl tally
	t.Run("trials", func(t *testing.T) {
		for _, st := range harnessStages {
			for _, f := range harnessFaults {
				t.Run(st.name+"/"+f.name, func(t *testing.T) {
					t.Parallel()
					runTrial(t, &tl, st, f, harnessWindow)
				})
			}
		}
		// Real scale, default reconnect window: a 2 s loss while the jobs run, a 4 s
		// loss during cleanup.
		for _, rt := range []struct {
			st stage
			d  time.Duration
		}{{harnessStages[2], 2 * time.Second}, {harnessStages[4], 4 * time.Second}} {
			f := harnessFault{fmt.Sprintf("outage %s (real)", rt.d), true, func(s, m *faultProxy, _ context.CancelFunc) { s.outage(rt.d); m.outage(rt.d) }}
			t.Run(rt.st.name+"/"+f.name, func(t *testing.T) {
				t.Parallel()
				runTrial(t, &tl, rt.st, f, 0)
			})
		}
		t.Run("inventory/stop while pairs wait for jobs", func(t *testing.T) {
			t.Parallel()
			runInventoryTrial(t, &tl) // steps/inventory_harness_test.go
		})
	})
	msg := fmt.Sprintf("fault harness: %d trials, %d survived, %d objects left after the run (all then removed by cleanup), %d user objects changed",
		tl.trials, tl.survived, tl.left, tl.userChange)
	fmt.Fprintln(os.Stderr, msg)
	t.Log(msg)
	if f := os.Getenv("MILINK_TALLY_FILE"); f != "" { // .ci/run prints it after go test
		if err := os.WriteFile(f, []byte(msg+"\n"), 0o600); err != nil {
			t.Errorf("write the tally: %v", err)
		}
	}
	if tl.userChange != 0 || tl.survived != tl.trials {
		t.Errorf("%s", msg)
	}
}

func runTrial(t *testing.T, tl *tally, st stage, f harnessFault, window time.Duration) {
	p := startFaultPair(t, func(o *sqlsim.Options) {
		o.Endpoints = append(o.Endpoints, sqlsim.EndpointSpec{Name: "UserTsql", Type: "TSQL", Port: 14333})
	}, nil)
	direct := pairConfig(t, p)
	sqlP := newFaultProxy(t, "sql", p.SQL.Addr())
	miP := newFaultProxy(t, "mi", p.MI.Addr())
	cfg := direct
	cfg.SQLServer.Host, cfg.SQLServer.Port = sqlP.addr(t)
	cfg.MI.Host, cfg.MI.Port = miP.addr(t)
	for _, cc := range []*sqlops.ConnConfig{&cfg.SQLServer, &cfg.MI} {
		cc.ReconnectWindow, cc.LoginTimeout, cc.DialTimeout = window, time.Second, time.Second
	}
	cfg.JobTimeout = 20 * time.Second
	before := [2]sqlops.Leftovers{inventoryOver(t, direct.SQLServer), inventoryOver(t, direct.MI)}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sink, fired := trigger(st.event, func() { f.strike(sqlP, miP, cancel) })
	rep := steps.Check(ctx, cfg, sink)
	if !fired() {
		t.Fatalf("the fault never struck (no event %q): %s", st.event, rep.Outcome)
	}
	// The proxies go away: the instances see the lost sessions end (as a server does
	// once TCP gives up on a silent client), which frees the run's locks.
	sqlP.p.Stop()
	miP.p.Stop()
	var problems []string
	userChanged, left := 0, 0
	var leftNames []string
	for i, cc := range []sqlops.ConnConfig{direct.SQLServer, direct.MI} {
		after := inventoryOver(t, cc)
		userChanged += changedUserObjects(before[i], after)
		for _, n := range newObjects(before[i], after) {
			leftNames = append(leftNames, n)
		}
	}
	left = len(leftNames)
	var remaining []string
	for _, c := range rep.Remaining {
		remaining = append(remaining, c.Kind+" "+c.Name)
	}
	// Every object left is listed as remaining; the list may name more: objects whose
	// creation was cut short, which cleanup could not check without a connection.
	for _, n := range leftNames {
		if !slices.Contains(remaining, n) {
			problems = append(problems, fmt.Sprintf("%s was left but the report does not list it (it lists %v)", n, remaining))
		}
	}
	switch {
	case rep.ExitCode == steps.ExitInterrupted && left != 0:
		problems = append(problems, "exit 130 with objects left")
	case rep.ExitCode == steps.ExitOK && (left != 0 || !passed(rep)):
		problems = append(problems, "exit 0 but not everything passed and was removed")
	case f.resilient && st.name != "connect" && rep.ExitCode != steps.ExitOK:
		problems = append(problems, fmt.Sprintf("an outage shorter than the reconnect window broke the run: exit %d %s", rep.ExitCode, rep.Outcome))
	case !f.resilient && strings.HasPrefix(f.name, "stop (") && rep.ExitCode != steps.ExitInterrupted:
		problems = append(problems, fmt.Sprintf("a stop exited %d (%s), want 130", rep.ExitCode, rep.Outcome))
	case left != 0 && rep.ExitCode != steps.ExitError:
		problems = append(problems, fmt.Sprintf("objects left but exit %d", rep.ExitCode))
	}
	for _, d := range rep.Directions {
		if f.resilient && st.name != "connect" && strings.Contains(d.Reason, "read history") {
			problems = append(problems, "direction error: "+d.Reason)
		}
	}
	// 'milink cleanup' over clean connections removes exactly what the run left.
	removed := 0
	for _, cc := range []sqlops.ConnConfig{direct.SQLServer, direct.MI} {
		c, err := sqlops.Open(context.Background(), cc)
		if err != nil {
			t.Fatal(err)
		}
		l, err := c.FindLeftovers(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Live) != 0 {
			problems = append(problems, fmt.Sprintf("objects of a finished run are live: %+v", l.Live))
		}
		for _, r := range c.RemoveLeftovers(context.Background(), l) {
			if r.Removed {
				removed++
			} else {
				problems = append(problems, fmt.Sprintf("cleanup could not remove %s %s: %v", r.Kind, r.Name, r.Err))
			}
		}
		c.Close()
	}
	if removed != left {
		problems = append(problems, fmt.Sprintf("cleanup removed %d objects, the run left %d", removed, left))
	}
	for i, cc := range []sqlops.ConnConfig{direct.SQLServer, direct.MI} {
		if n := newObjects(before[i], inventoryOver(t, cc)); len(n) != 0 {
			problems = append(problems, fmt.Sprintf("left after cleanup: %v", n))
		}
	}
	if userChanged != 0 {
		problems = append(problems, fmt.Sprintf("%d user objects changed", userChanged))
	}
	tl.add(len(problems) == 0, left, userChanged)
	t.Logf("exit %d (%s); left %d, cleanup removed %d", rep.ExitCode, rep.Outcome, left, removed)
	for _, pr := range problems {
		t.Error(pr)
	}
}

func passed(rep *steps.Report) bool {
	for _, d := range rep.Directions {
		if d.Status != steps.StatusPassed {
			return false
		}
	}
	return len(rep.Directions) == 2
}

// changedUserObjects counts the objects of before that are missing or different in
// after.
func changedUserObjects(before, after sqlops.Leftovers) int {
	n := 0
	for _, j := range before.Jobs {
		if !slices.ContainsFunc(after.Jobs, func(x sqlops.Job) bool { return x.ID == j.ID && x.Name == j.Name && x.Description == j.Description }) {
			n++
		}
	}
	for _, c := range before.Certificates {
		if !slices.Contains(after.Certificates, c) {
			n++
		}
	}
	for _, e := range before.Endpoints {
		if !slices.Contains(after.Endpoints, e) {
			n++
		}
	}
	return n
}

// newObjects names the objects in after that were not in before ("kind name").
func newObjects(before, after sqlops.Leftovers) []string {
	var out []string
	for _, j := range after.Jobs {
		if !slices.ContainsFunc(before.Jobs, func(x sqlops.Job) bool { return x.ID == j.ID }) {
			out = append(out, sqlops.KindJob+" "+j.Name)
		}
	}
	for _, c := range after.Certificates {
		if !slices.ContainsFunc(before.Certificates, func(x sqlops.Certificate) bool { return x.Name == c.Name }) {
			out = append(out, sqlops.KindCertificate+" "+c.Name)
		}
	}
	for _, e := range after.Endpoints {
		if !slices.ContainsFunc(before.Endpoints, func(x sqlops.Endpoint) bool { return x.Name == e.Name }) {
			out = append(out, sqlops.KindEndpoint+" "+e.Name)
		}
	}
	return out
}
