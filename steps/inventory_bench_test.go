package steps_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/milink/milink/steps"
)

// BenchmarkInventory50Pairs is issue 15's scale goal, measured in one run: 50 pairs
// on sqlsim (100 simulated instances in this one process), all at once, against one
// pair alone with the same Agent latencies. It reports the ratio (goal ≤ 2) and the
// memory allocated per pair, and fails when the ratio is above 2. Both are measured
// after a first run of every pair (reported as cold-50-pairs-s): the first contact
// with 100 fresh simulated instances costs the process more (TLS, connection and
// simulator warm-up) than the steady state a fleet of real servers is checked in.
//
//	go test -run '^$' -bench Inventory50Pairs -benchtime 3x ./steps
func BenchmarkInventory50Pairs(b *testing.B) {
	const n = 50
	lat := 200 * time.Millisecond // sqlsim's default Agent job pickup and step start
	start := time.Now()
	var pairs []steps.InventoryPair
	for range n {
		p := startPair(b, "pass", lat, lat)
		pairs = append(pairs, steps.InventoryPair{Config: pairConfig(b, p)})
	}
	b.Logf("%d pairs (%d instances) started in %s", n, 2*n, time.Since(start).Round(time.Millisecond))
	for i := range pairs {
		pairs[i].Name = "p" + string(rune('A'+i/26)) + string(rune('a'+i%26))
	}
	run := func(ps []steps.InventoryPair) (time.Duration, int) {
		t0 := time.Now()
		res := steps.RunInventory(context.Background(), ps, steps.InventoryOptions{Parallel: len(ps), PairTimeout: time.Minute})
		d, failed := time.Since(t0), 0
		for _, p := range res.Pairs {
			if p.ExitCode() != steps.ExitOK {
				failed++
				for _, d := range p.Report.Directions {
					for _, pr := range d.Probes {
						if !pr.Succeeded {
							b.Logf("%s: %s %s:%d %s %s", p.Name, d.Direction, pr.Host, pr.Port, pr.Verdict, pr.Detail)
						}
					}
				}
			}
		}
		return d, failed
	}
	cold, coldFailed := run(pairs) // first contact with every instance
	b.ReportMetric(float64(coldFailed), "cold-failed-pairs")
	var one, all time.Duration
	var perPair float64
	b.ResetTimer()
	for range b.N {
		d, failed := run(pairs[:1])
		one += d
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		d, f50 := run(pairs)
		all += d
		runtime.ReadMemStats(&m1)
		if failed+f50 != 0 {
			b.Fatalf("%d pair(s) did not pass (probe timeout %s)", failed+f50, pairs[0].Config.ProbeTimeout)
		}
		perPair += float64(m1.TotalAlloc-m0.TotalAlloc) / n
	}
	ratio := float64(all) / float64(one)
	b.ReportMetric(one.Seconds()/float64(b.N), "s/one-pair")
	b.ReportMetric(all.Seconds()/float64(b.N), "s/50-pairs")
	b.ReportMetric(ratio, "ratio-50-to-1")
	b.ReportMetric(perPair/float64(b.N), "B-alloc/pair")
	b.ReportMetric(cold.Seconds(), "cold-50-pairs-s")
	if ratio > 2 {
		b.Errorf("50 pairs took %.2f× one pair's time; the goal is ≤ 2×", ratio)
	}
}
