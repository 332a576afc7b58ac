// Inventory runs: many SQL Server / managed instance pairs at once, each in its own
// Session (its own run id, locks and cleanup), with a bound on how many run together
// and an overall deadline per pair.

package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// InventoryPair is one SQL Server / managed instance pair of an inventory run.
type InventoryPair struct {
	// Name names the pair in progress lines, reports and report file names; the
	// front-end validates it.
	Name   string
	Config Config
	// Prober runs this pair's probes "from this machine" (nil: real TCP connects).
	Prober Prober
	// Timeout is the pair's own overall deadline (0: InventoryOptions.PairTimeout).
	Timeout time.Duration
}

// PairState is how far one pair's run has got.
type PairState string

// The states of a pair, in the order a run goes through them.
const (
	PairQueued     PairState = "queued"      // waiting for a free slot (--parallel)
	PairConnecting PairState = "connecting"  // signing in to SQL Server or the managed instance
	PairChecking   PairState = "checking"    // prerequisites, discovery and plan
	PairTesting    PairState = "testing"     // the network test runs
	PairCleaning   PairState = "cleaning up" // removing what the test created
	PairDone       PairState = "done"        // finished (Result says how)
)

var pairStateRank = map[PairState]int{PairQueued: 0, PairConnecting: 1, PairChecking: 2, PairTesting: 3, PairCleaning: 4, PairDone: 5}

// PairUpdate says that one pair changed state; Result is set when State is PairDone.
type PairUpdate struct {
	Index   int // 0-based position in the inventory
	Name    string
	State   PairState
	Message string // the event that moved the pair on
	Time    time.Time
	Result  *PairResult
}

// Line is the update as one line of progress (after the pair's name), escaped for a
// terminal: the state and the event that moved the pair on, or for a finished pair its
// exit code, verdicts and outcome.
func (u PairUpdate) Line() string {
	if u.State == PairDone && u.Result != nil {
		s2m, m2s := verdicts(u.Result.Report)
		return textEscape(fmt.Sprintf("done: exit %d; SQL→MI %s, MI→SQL %s; %.1fs; %s", u.Result.ExitCode(), s2m, m2s, u.Result.Duration.Seconds(), u.Result.Report.Outcome))
	}
	if u.Message == "" {
		return string(u.State)
	}
	return textEscape(string(u.State) + ": " + u.Message)
}

// PairResult is how one pair's run ended.
type PairResult struct {
	Index    int
	Name     string
	Report   *Report
	Duration time.Duration
	// TimedOut: the pair ran out of InventoryOptions.PairTimeout and was stopped (its
	// cleanup ran). Interrupted: the whole run was stopped (a signal) while the pair
	// ran. NotStarted: the run was stopped before the pair's turn came.
	TimedOut, Interrupted, NotStarted bool
	// Abandoned: the pair was stopped while a connect did not answer; nothing had
	// been created, and its session is left to time out on its own.
	Abandoned bool
}

// ExitCode is the pair's exit code, as milink check would give it.
func (p PairResult) ExitCode() int { return p.Report.ExitCode }

// InventoryOptions say how RunInventory runs the pairs.
type InventoryOptions struct {
	Parallel    int           // pairs run at once (default 4)
	PairTimeout time.Duration // overall deadline of each pair (default 10 minutes)
	// StuckGrace is how long a stopped pair may take to notice, before its network
	// test started, that it was stopped; after it the pair is abandoned (nothing of
	// it exists yet). Default 2 s.
	StuckGrace time.Duration
	// Updates receives every change of state, from the pairs' goroutines (nil: none).
	Updates func(PairUpdate)
	// Events receives every event of every pair, from the pairs' goroutines (nil: none).
	Events func(index int, e Event)
}

// Defaults of InventoryOptions.
const (
	DefaultParallel    = 4
	MaxParallel        = 64
	DefaultPairTimeout = 10 * time.Minute
)

// InventoryResult is the outcome of an inventory run, one PairResult per pair in
// inventory order.
type InventoryResult struct {
	StartedAt   time.Time
	Duration    time.Duration
	Parallel    int
	PairTimeout time.Duration
	Interrupted bool // the run was stopped (a signal) before every pair finished
	Pairs       []PairResult
}

// ExitCode is the worst of the pairs' exit codes (WorstExitCode).
func (r *InventoryResult) ExitCode() int {
	codes := make([]int, len(r.Pairs))
	for i, p := range r.Pairs {
		codes[i] = p.ExitCode()
	}
	return WorstExitCode(codes...)
}

// exitOrder lists milink check's exit codes from the worst to the best: objects left
// or a run that could not complete (1) first, then a stop (130), then by how early a
// pair's check ended: bad input (2), a rejected login (4), the network (3), a link
// prerequisite (5), and all passed (0) last.
var exitOrder = []int{ExitError, ExitInterrupted, ExitUsage, ExitAuth, ExitConnectivity, ExitPrereq, ExitOK}

// WorstExitCode is the worst of codes in the order ExitError, ExitInterrupted,
// ExitUsage, ExitAuth, ExitConnectivity, ExitPrereq, ExitOK (a code outside it counts
// as ExitError); ExitOK for none.
func WorstExitCode(codes ...int) int {
	worst := len(exitOrder) - 1
	for _, c := range codes {
		rank := 0 // unknown codes are the worst
		for i, o := range exitOrder {
			if o == c {
				rank = i
			}
		}
		worst = min(worst, rank)
	}
	return exitOrder[worst]
}

// RunInventory runs every pair, at most o.Parallel at once and in inventory order, each
// in its own Session under o.PairTimeout; pairs that share a SQL Server run one after
// another (it has one mirroring endpoint). A pair that fails or hangs never stops the
// others. When ctx ends (a stop signal) the running pairs stop and clean up, and the
// pairs not started are reported as such. It returns once every pair has finished.
func RunInventory(ctx context.Context, pairs []InventoryPair, o InventoryOptions) *InventoryResult {
	if o.Parallel <= 0 {
		o.Parallel = DefaultParallel
	}
	if o.PairTimeout <= 0 {
		o.PairTimeout = DefaultPairTimeout
	}
	if o.StuckGrace <= 0 {
		o.StuckGrace = 2 * time.Second
	}
	res := &InventoryResult{StartedAt: time.Now().UTC(), Parallel: o.Parallel, PairTimeout: o.PairTimeout, Pairs: make([]PairResult, len(pairs))}
	for i, p := range pairs {
		o.update(PairUpdate{Index: i, Name: p.Name, State: PairQueued, Time: time.Now()})
	}
	start := time.Now()
	skip := func(i int) {
		res.Pairs[i] = notStarted(i, pairs[i])
		o.update(PairUpdate{Index: i, Name: pairs[i].Name, State: PairDone, Message: "not started", Time: time.Now(), Result: &res.Pairs[i]})
	}
	// The pairs of one SQL Server run one after another, in one slot (see
	// sqlServerGroups); the slots take the groups in inventory order.
	groups := sqlServerGroups(ctx, pairs)
	next := make(chan []int)
	var wg sync.WaitGroup
	for range min(o.Parallel, len(groups)) {
		wg.Go(func() {
			for g := range next {
				for _, i := range g {
					if ctx.Err() != nil {
						skip(i)
						continue
					}
					res.Pairs[i] = o.runPair(ctx, i, pairs[i])
				}
			}
		})
	}
	for _, g := range groups {
		if ctx.Err() == nil {
			select {
			case next <- g:
				continue
			case <-ctx.Done():
			}
		}
		for _, i := range g {
			skip(i)
		}
	}
	close(next)
	wg.Wait()
	res.Duration = time.Since(start)
	res.Interrupted = ctx.Err() != nil
	return res
}

func (o InventoryOptions) update(u PairUpdate) {
	if o.Updates != nil {
		o.Updates(u)
	}
}

// notStarted is the result of a pair the run was stopped before.
func notStarted(i int, p InventoryPair) PairResult {
	cfg := p.Config
	cfg.Defaults()
	rep := NewReport(cfg)
	rep.Fatal(ExitInterrupted, errors.New("not started: the run was stopped before this pair's turn; nothing was created"))
	return PairResult{Index: i, Name: p.Name, Report: rep, Interrupted: true, NotStarted: true}
}

// runPair runs one pair in its own Session under the pair timeout.
func (o InventoryOptions) runPair(parent context.Context, i int, p InventoryPair) PairResult {
	start := time.Now()
	timeout := o.PairTimeout
	if p.Timeout > 0 {
		timeout = p.Timeout
	}
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	var mu sync.Mutex
	state := PairQueued
	sink := func(e Event) {
		if o.Events != nil {
			o.Events(i, e)
		}
		mu.Lock()
		next := eventState(state, e)
		moved := pairStateRank[next] > pairStateRank[state]
		if moved {
			state = next
		}
		mu.Unlock()
		if moved {
			o.update(PairUpdate{Index: i, Name: p.Name, State: next, Message: e.Message, Time: e.Time})
		}
	}
	s := NewSession(p.Config, SessionOptions{Prober: p.Prober})
	done := make(chan *Report, 1)
	go func() {
		defer s.Close()
		done <- s.RunAll(ctx, sink)
	}()
	r := PairResult{Index: i, Name: p.Name}
	select {
	case r.Report = <-done:
	case <-ctx.Done():
		r.Report, r.Abandoned = o.afterStop(ctx, s, done)
		// A pair that finished with its own outcome as the deadline came keeps it.
		stopped := r.Report.ExitCode == ExitInterrupted || r.Report.ExitCode == ExitError
		r.Interrupted = stopped && parent.Err() != nil
		r.TimedOut = stopped && parent.Err() == nil
	}
	if r.TimedOut {
		settleTimeout(r.Report, timeout)
	}
	r.Duration = time.Since(start)
	mu.Lock()
	state = PairDone
	mu.Unlock()
	o.update(PairUpdate{Index: i, Name: p.Name, State: PairDone, Message: r.Report.Outcome, Time: time.Now(), Result: &r})
	return r
}

// afterStop waits for a stopped pair's report: at once when the session notices the
// stop, else after StuckGrace, unless the network test started (its cleanup must
// finish). A session stuck in a connect that ignores the stop is abandoned: nothing of
// it exists yet.
func (o InventoryOptions) afterStop(ctx context.Context, s *Session, done <-chan *Report) (*Report, bool) {
	grace := time.NewTimer(o.StuckGrace)
	defer grace.Stop()
	select {
	case rep := <-done:
		return rep, false
	case <-grace.C:
	}
	if s.Running() || s.Step() >= StepSummary {
		return <-done, false
	}
	// The session's own report, without waiting for it: it is stuck in a connect.
	rep := s.Report()
	rep.Fatal(ExitInterrupted, fmt.Errorf("stopped before anything was created (%w)", ctx.Err()))
	return rep, true
}

// settleTimeout makes the report of a pair stopped by its timeout say so: a pair that
// ran out of time did not complete (exit 1), and what is left (if anything) is named
// by the report's cleanup.
func settleTimeout(rep *Report, d time.Duration) {
	if rep.ExitCode != ExitInterrupted {
		// Objects left, or the run failed as it was stopped: keep that, and say why.
		rep.Outcome = fmt.Sprintf("timed out after %s; %s", d, rep.Outcome)
		return
	}
	what := "nothing was created"
	if len(rep.Cleanup) > 0 {
		what = "cleanup removed every test object it created"
	}
	rep.Fatal(ExitError, fmt.Errorf("timed out after %s (the pair timeout); %s", d, what))
}

// eventState is the state a pair in state cur moves to on e (never backwards: the
// caller keeps the furthest).
func eventState(cur PairState, e Event) PairState {
	switch {
	case e.Kind == EventCleanup && cur == PairTesting:
		return PairCleaning
	case e.Direction != "":
		return PairTesting
	case strings.HasPrefix(e.Message, "connecting to"):
		return PairConnecting
	case e.Kind == EventStep && (strings.HasPrefix(e.Message, "checking") || strings.HasPrefix(e.Message, "discovering") || strings.HasPrefix(e.Message, "plan:")):
		return PairChecking
	}
	return cur
}
