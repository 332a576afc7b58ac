package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest/v2"
)

// TestFixPageShowsPlaceholdersAndKeys: the Fix page's empty inputs show their whole
// placeholder (not one letter that looks like a value) and the footer names the
// page's keys, not only ctrl+c.
func TestFixPageShowsPlaceholdersAndKeys(t *testing.T) {
	p := unpreparedScenario(t)
	m := NewModel(t.Context(), Options{Config: p.config(), ReportDir: t.TempDir()})
	rec, tm := openPrerequisites(t, m)
	tm.Send(keyRune('f'))
	waitScreen(t, rec, flowWait, "Fix: SQL Server SQLPROD01", fixBackupLabel)
	scr := rec.screen()
	for _, want := range []string{"directory on the SQL Server host, writable by the service", "never stored or shown: keep it safe", "enter review and apply", "esc cancel"} {
		if !strings.Contains(scr, want) {
			t.Errorf("the Fix page lacks %q:\n%s", want, scr)
		}
	}
	// The statements are command blocks: one selected (▶), n selects the next, c
	// copies it while an apply/skip field has the keys.
	if !strings.Contains(scr, "c copy") || lineWith(scr, "▶") == "" {
		t.Errorf("no selected statement block:\n%s", scr)
	}
	tm.Send(keyRune('n'))
	tm.Send(keyRune('c'))
	waitScreen(t, rec, flowWait, "✓ copied to the clipboard", "apply")
	tm.Send(keyCtrlC)
	tm.Send(keyRune('y'))
	tm.FinalModel(t, teatest.WithFinalTimeout(flowWait))
}

// lineWith returns the first line of scr containing s ("" when none).
func lineWith(scr, s string) string {
	for _, l := range strings.Split(scr, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// TestFixNotOfferedWhenNothingToFix: with every prerequisite met, f is not in the
// footer, and pressing it says there is nothing milink can fix instead of opening an
// empty page.
func TestFixNotOfferedWhenNothingToFix(t *testing.T) {
	p := startPair(t, "pass", 10*time.Millisecond)
	m := NewModel(t.Context(), Options{Config: p.config(), ReportDir: t.TempDir()})
	rec, tm := openPrerequisites(t, m, "r re-run")
	if scr := rec.screen(); strings.Contains(scr, "f fix") {
		t.Errorf("f is offered with nothing to fix:\n%s", scr)
	}
	tm.Send(keyRune('f'))
	waitScreen(t, rec, flowWait, "Nothing milink can fix here")
	if rec.sawFrame("Fix: SQL Server") {
		t.Errorf("f opened the Fix page:\n%s", rec.screen())
	}
	tm.Send(keyCtrlC)
	tm.Send(keyRune('y'))
	tm.FinalModel(t, teatest.WithFinalTimeout(flowWait))
}
