package steps_test

import (
	"context"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/milink/milink/steps"
)

// BenchmarkInventory50Pairs is issue 15's scale goal, measured in one run: 50 pairs
// on sqlsim (100 simulated instances in this one process), all at once, against one
// pair alone with the same costs. It reports the ratio (goal ≤ 2) and the memory
// allocated per pair, and fails when the ratio is above 2. The simulated costs are
// realCosts unscaled (a one-step Agent job: ~1 s pickup, ~2 s PowerShell start),
// unlike the speed benchmarks' 1/10: here the 100 simulated servers share this
// process's CPU with milink (about 0.03 s of CPU per pair, both sides together), and
// with costs divided by 10 that CPU, which real servers would spend on their own
// machines, becomes a tenth of a pair's time and the ratio measures the simulator. Both are measured
// after a first run of every pair (reported as cold-50-pairs-s): the first contact
// with 100 fresh simulated instances costs the process more (TLS, connection and
// simulator warm-up) than the steady state a fleet of real servers is checked in.
//
//	go test -run '^$' -bench Inventory50Pairs -benchtime 3x ./steps
func BenchmarkInventory50Pairs(b *testing.B) {
	const n = 50
	start := time.Now()
	var pairs []steps.InventoryPair
	for range n {
		_, cfg := speedPair(b, realCosts, "")
		pairs = append(pairs, steps.InventoryPair{Config: cfg})
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
	var one, all, cpu time.Duration
	var perPair float64
	b.ResetTimer()
	for range b.N {
		d, failed := run(pairs[:1])
		one += d
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		c0 := cpuTime(b)
		d, f50 := run(pairs)
		all += d
		cpu += cpuTime(b) - c0
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
	// The process's CPU time per pair: on a shared machine the ratio above depends on
	// how much CPU the 50 pairs get; this does not.
	b.ReportMetric(cpu.Seconds()/float64(b.N*n), "cpu-s/pair")
	b.Logf("one pair %.2fs, 50 pairs %.2fs (%.2f×), %.0f B allocated and %.3f s CPU per pair; first run of all 50 %.2fs",
		one.Seconds()/float64(b.N), all.Seconds()/float64(b.N), ratio, perPair/float64(b.N), cpu.Seconds()/float64(b.N*n), cold.Seconds())
	if ratio > 2 {
		b.Errorf("50 pairs took %.2f× one pair's time; the goal is ≤ 2×", ratio)
	}
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
