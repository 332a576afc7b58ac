package steps_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/steps"
)

func TestWorstExitCode(t *testing.T) {
	for _, c := range []struct {
		codes []int
		want  int
	}{
		{nil, steps.ExitOK},
		{[]int{0, 5, 0}, steps.ExitPrereq},
		{[]int{5, 3}, steps.ExitConnectivity},
		{[]int{3, 4, 5}, steps.ExitAuth},
		{[]int{4, 2}, steps.ExitUsage},
		{[]int{2, 130, 0}, steps.ExitInterrupted},
		{[]int{130, 1, 3}, steps.ExitError},
		{[]int{0, 42}, steps.ExitError}, // an unknown code is the worst
	} {
		if got := steps.WorstExitCode(c.codes...); got != c.want {
			t.Errorf("WorstExitCode(%v) = %d, want %d", c.codes, got, c.want)
		}
	}
}

// summaryOf is the summary of pairs that ended with the reports reps (no run).
func summaryOf(reps ...*steps.Report) steps.InventorySummary {
	res := &steps.InventoryResult{Parallel: 2, PairTimeout: time.Minute}
	for i, r := range reps {
		res.Pairs = append(res.Pairs, steps.PairResult{Index: i, Name: fmt.Sprintf("p%d", i+1), Report: r, Duration: 1500 * time.Millisecond})
	}
	return res.Summary(nil)
}

func TestSummaryCSVIsQuotedAndFormulaSafe(t *testing.T) {
	hostile := []string{`=HYPERLINK("http://x","y")`, "+1", "-2", "@SUM(A1)", "\tx", "a,b", `say "hi"`, "two\nlines"}
	var reps []*steps.Report
	for _, h := range hostile {
		r := steps.NewReport(steps.Config{})
		r.Fatal(steps.ExitError, fmt.Errorf("%s", h))
		r.Outcome = h
		reps = append(reps, r)
	}
	var b bytes.Buffer
	if err := summaryOf(reps...).WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, b.String())
	}
	outcome := len(steps.CSVHeader) - 1
	for i, h := range hostile {
		got := rows[i+1][outcome]
		want := h
		if strings.ContainsRune("=+-@\t", rune(h[0])) {
			want = "'" + h
		}
		if got != want {
			t.Errorf("outcome %q came back as %q, want %q", h, got, want)
		}
	}
}

func TestSummaryTextAndMarkdownEscape(t *testing.T) {
	r := steps.NewReport(steps.Config{})
	r.Fatal(steps.ExitAuth, fmt.Errorf("bad"))
	r.Outcome = "x\x1b[31m | <img src=x onerror=alert(1)>\nResult: forged"
	s := summaryOf(r)
	var txt, md bytes.Buffer
	if err := s.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(txt.String(), "\x1b") || strings.Contains(txt.String(), "\nResult: forged") {
		t.Errorf("text summary carries the escape or a forged line:\n%s", txt.String())
	}
	if strings.Contains(md.String(), "<img") || strings.Count(md.String(), "\n| 1 |") != 1 {
		t.Errorf("markdown summary carries HTML or a broken row:\n%s", md.String())
	}
	if !strings.Contains(txt.String(), "exit code 4, the worst") {
		t.Errorf("text summary's result line:\n%s", txt.String())
	}
}

// inventoryOf makes an inventory of the pairs ps (names p1, p2, ...).
func inventoryOf(tb testing.TB, ps ...*sqlsim.Pair) []steps.InventoryPair {
	out := make([]steps.InventoryPair, len(ps))
	for i, p := range ps {
		out[i] = steps.InventoryPair{Name: fmt.Sprintf("p%d", i+1), Config: pairConfig(tb, p)}
	}
	return out
}

// TestInventoryBoundAndStates runs six pairs two at a time: never more than two run
// at once, each goes through its states in order, and every pair passes.
func TestInventoryBoundAndStates(t *testing.T) {
	var ps []*sqlsim.Pair
	for range 6 {
		ps = append(ps, startPair(t, "pass", 20*time.Millisecond, 20*time.Millisecond))
	}
	var mu sync.Mutex
	running, most := 0, 0
	seen := map[string][]steps.PairState{}
	res := steps.RunInventory(context.Background(), inventoryOf(t, ps...), steps.InventoryOptions{Parallel: 2, PairTimeout: time.Minute,
		Updates: func(u steps.PairUpdate) {
			mu.Lock()
			defer mu.Unlock()
			seen[u.Name] = append(seen[u.Name], u.State)
			switch {
			case u.State == steps.PairConnecting:
				running++
				most = max(most, running)
			case u.State == steps.PairDone:
				running--
			}
		}})
	if most != 2 {
		t.Errorf("%d pairs ran at once, want 2", most)
	}
	want := []steps.PairState{steps.PairQueued, steps.PairConnecting, steps.PairChecking, steps.PairTesting, steps.PairCleaning, steps.PairDone}
	for name, states := range seen {
		if fmt.Sprint(states) != fmt.Sprint(want) {
			t.Errorf("%s went through %v, want %v", name, states, want)
		}
	}
	if res.ExitCode() != steps.ExitOK || len(res.Pairs) != 6 || res.Interrupted {
		t.Errorf("exit %d, %d pairs, interrupted %v", res.ExitCode(), len(res.Pairs), res.Interrupted)
	}
	for _, p := range res.Pairs {
		if p.ExitCode() != steps.ExitOK || p.Report.RunID == "" {
			t.Errorf("%s: exit %d %s", p.Name, p.ExitCode(), p.Report.Outcome)
		}
	}
	if res.Pairs[0].Report.RunID == res.Pairs[1].Report.RunID {
		t.Error("two pairs share a run id")
	}
}

// TestInventoryTimeoutDuringTest: a pair whose jobs never start in time runs out of
// its pair timeout during the network test: it is stopped, its cleanup runs (nothing
// is left), it exits 1 as timed out, and the other pair passes.
func TestInventoryTimeoutDuringTest(t *testing.T) {
	slow := startPair(t, "pass", time.Minute, 20*time.Millisecond)
	fast := startPair(t, "pass", 20*time.Millisecond, 20*time.Millisecond)
	inv := inventoryOf(t, slow, fast)
	res := steps.RunInventory(context.Background(), inv, steps.InventoryOptions{Parallel: 2, PairTimeout: 2 * time.Second})
	s, f := res.Pairs[0], res.Pairs[1]
	if !s.TimedOut || s.ExitCode() != steps.ExitError || !strings.Contains(s.Report.Outcome, "timed out after 2s") || len(s.Report.Cleanup) == 0 {
		t.Errorf("slow pair: timed out %v, exit %d, %s, cleanup %+v", s.TimedOut, s.ExitCode(), s.Report.Outcome, s.Report.Cleanup)
	}
	if f.TimedOut || f.ExitCode() != steps.ExitOK {
		t.Errorf("fast pair: timed out %v, exit %d %s", f.TimedOut, f.ExitCode(), f.Report.Outcome)
	}
	assertNothingLeft(t, inv...)
	if res.ExitCode() != steps.ExitError {
		t.Errorf("inventory exit %d, want 1", res.ExitCode())
	}
}

// assertNothingLeft reads back the catalog of every instance of pairs: no milink
// object, finished or live, is there.
func assertNothingLeft(t *testing.T, pairs ...steps.InventoryPair) {
	t.Helper()
	for _, p := range pairs {
		for _, cc := range []sqlops.ConnConfig{p.Config.SQLServer, p.Config.MI} {
			c, err := sqlops.Open(context.Background(), cc)
			if err != nil {
				t.Fatal(err)
			}
			l, err := c.FindLeftovers(context.Background())
			c.Close()
			if err != nil {
				t.Fatal(err)
			}
			if l.Count() != 0 || len(l.Live) != 0 {
				t.Errorf("%s: left on %s: %+v", p.Name, cc.Address(), l)
			}
		}
	}
}

// TestSummaryResultLine: the summary's last line counts the pairs in words, passed
// first and then by how they ended, worst first ("1 pair", "4 pairs").
func TestSummaryResultLine(t *testing.T) {
	rep := func(code int) *steps.Report {
		r := steps.NewReport(steps.Config{})
		if code != steps.ExitOK {
			r.Fatal(code, fmt.Errorf("exit %d", code))
		}
		return r
	}
	for _, c := range []struct {
		codes []int
		want  string
	}{
		{[]int{1, 1, 1, 1}, "Result: 4 pairs: 0 passed, 4 could not complete ("},
		{[]int{0, 3, 5, 3}, "Result: 4 pairs: 1 passed, 2 failed the network test, 1 missed a link prerequisite ("},
		{[]int{4}, "Result: 1 pair: 0 passed, 1 had a login rejected ("},
	} {
		var reps []*steps.Report
		for _, code := range c.codes {
			reps = append(reps, rep(code))
		}
		var b bytes.Buffer
		if err := summaryOf(reps...).WriteText(&b); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), c.want) || strings.Contains(b.String(), "pair(s)") {
			t.Errorf("%v: the summary does not say %q:\n%s", c.codes, c.want, b.String())
		}
	}
}
