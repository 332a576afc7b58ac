package ui

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/milink/milink/steps"
)

// frameWatcher signals once the output contains the first page's text.
type frameWatcher struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	once sync.Once
	seen chan struct{}
}

func (f *frameWatcher) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.buf.Write(p)
	if bytes.Contains(f.buf.Bytes(), []byte("What the test creates")) {
		f.once.Do(func() { close(f.seen) })
	}
	return len(p), nil
}

// BenchmarkStartupToFirstFrame measures the time from creating the wizard to its first
// frame (the Introduction page) being written; the goal is < 50 ms. Nothing in the
// start-up path may query the terminal and wait for an answer (that stalls over SSH).
func BenchmarkStartupToFirstFrame(b *testing.B) {
	cfg := steps.Config{SQLServer: steps.ConnConfig{Host: "sql.example", User: "sa"}, MI: steps.ConnConfig{Host: "mi.example", User: "admin"}}
	var total, worst time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		in, inW := io.Pipe()
		out := &frameWatcher{seen: make(chan struct{})}
		m := NewModel(context.Background(), Options{Config: cfg, In: in, Out: out, ReportOut: io.Discard})
		p := tea.NewProgram(m, tea.WithInput(in), tea.WithOutput(out), tea.WithWindowSize(80, 24))
		done := make(chan struct{})
		go func() { p.Run(); close(done) }()
		select {
		case <-out.seen:
		case <-time.After(10 * time.Second):
			b.Fatal("no first frame within 10 s")
		}
		took := time.Since(start)
		total += took
		worst = max(worst, took)
		p.Quit()
		<-done
		inW.Close()
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms/first-frame")
	b.ReportMetric(float64(worst.Microseconds())/1000, "ms-worst")
}
