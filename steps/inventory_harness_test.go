package steps_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/steps"
)

// runInventoryTrial is the fault harness's inventory run: three pairs, two at a time,
// stopped (as by SIGINT) while both running pairs wait for their jobs. Every running
// pair must clean up (nothing of milink's left, nothing of the user's changed, read
// back over separate connections), exit 130, and the third must never start.
func runInventoryTrial(t *testing.T, tl *tally) {
	var pairs []steps.InventoryPair
	for i := range 3 {
		p := startFaultPair(t, nil, func(o *sqlsim.Options) { o.JobStartLatency = time.Minute })
		pairs = append(pairs, steps.InventoryPair{Name: fmt.Sprintf("p%d", i+1), Config: pairConfig(t, p)})
	}
	var before [][2]sqlops.Leftovers
	for _, p := range pairs {
		before = append(before, [2]sqlops.Leftovers{inventoryOver(t, p.Config.SQLServer), inventoryOver(t, p.Config.MI)})
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	waiting := map[int]bool{}
	res := steps.RunInventory(ctx, pairs, steps.InventoryOptions{Parallel: 2, PairTimeout: time.Minute,
		Events: func(i int, e steps.Event) {
			mu.Lock()
			defer mu.Unlock()
			if strings.Contains(e.Message, "waiting for job NetHelper") {
				waiting[i] = true
			}
			if len(waiting) == 2 {
				cancel()
			}
		}})
	var problems []string
	left, userChanged := 0, 0
	for i, p := range pairs {
		for j, cc := range []sqlops.ConnConfig{p.Config.SQLServer, p.Config.MI} {
			after := inventoryOver(t, cc)
			userChanged += changedUserObjects(before[i][j], after)
			if n := newObjects(before[i][j], after); len(n) != 0 {
				left += len(n)
				problems = append(problems, fmt.Sprintf("%s: left %v", p.Name, n))
			}
		}
		r := res.Pairs[i]
		if !r.Interrupted || r.NotStarted != (i == 2) || r.ExitCode() != steps.ExitInterrupted {
			problems = append(problems, fmt.Sprintf("%s: interrupted %v, not started %v, exit %d (%s)", p.Name, r.Interrupted, r.NotStarted, r.ExitCode(), r.Report.Outcome))
		}
	}
	if !res.Interrupted || res.ExitCode() != steps.ExitInterrupted {
		problems = append(problems, fmt.Sprintf("inventory: interrupted %v, exit %d", res.Interrupted, res.ExitCode()))
	}
	if userChanged != 0 {
		problems = append(problems, fmt.Sprintf("%d user objects changed", userChanged))
	}
	tl.add(len(problems) == 0, left, userChanged)
	for _, pr := range problems {
		t.Error(pr)
	}
}
