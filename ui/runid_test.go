package ui

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/milink/milink/steps"
)

// TestEachRunHasItsOwnRunID: the first test, t (a re-test) and r → Finish (a plan
// built again after a run) each start under a new run id, which the log's "test
// started" line names, and the report's started_at is when its test started.
func TestEachRunHasItsOwnRunID(t *testing.T) {
	p := startPair(t, "pass", 10*time.Millisecond)
	logs := &logWatcher{}
	m := NewModel(t.Context(), Options{Config: p.config(), ReportDir: t.TempDir(),
		Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	rec := newRecorder(m)
	tm := teatest.NewTestModel(t, rec, teatest.WithInitialTermSize(80, 24))
	driveToResults(t, tm, rec)
	waitLog(t, logs, "test finished")

	tm.Send(keyRune('t'))
	waitLog(t, logs, "test finished")

	tm.Send(keyRune('r'))
	waitLog(t, logs, "prerequisites checked")
	for _, to := range []string{"Login", "Network Options", "Summary"} {
		tm.Send(keyEnter)
		waitLog(t, logs, `"to":"`+to+`"`)
	}
	waitScreen(t, rec, flowWait, "Actions, in order") // the plan is built
	tm.Send(keyEnter)                                 // Finish
	waitLog(t, logs, "test finished")
	finish := time.Now()
	tm.Send(keyRune('q'))
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(flowWait)).(*recorder).m

	var ids []string
	for _, line := range strings.Split(logs.text(), "\n") {
		var rec struct {
			Msg   string `json:"msg"`
			RunID string `json:"run_id"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "test started" {
			ids = append(ids, rec.RunID)
		}
	}
	if len(ids) != 3 || ids[0] == ids[1] || ids[1] == ids[2] || ids[0] == ids[2] {
		t.Fatalf("run ids of the three tests: %q; want three different ones", ids)
	}
	rep := fm.Report()
	if rep.RunID != ids[2] {
		t.Errorf("the report's run id %s is not the last test's %s", rep.RunID, ids[2])
	}
	if rep.ExitCode != steps.ExitOK || rep.StartedAt.Add(rep.Duration).After(finish) {
		t.Errorf("exit %d; started at %s, took %s, but finished before %s", rep.ExitCode, rep.StartedAt, rep.Duration, finish)
	}
}
