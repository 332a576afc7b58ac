package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/milink/milink/steps"
)

// TestSaveAsksWhere: s asks for a path (the report directory by default); a file name
// saves name.md and name.json there and the page shows where.
func TestSaveAsksWhere(t *testing.T) {
	m := resultsWithFixes(t)
	m.report.RunID = "0123456789abcdef"
	send(m, keyRune('s'))
	s := screenOf(m)
	if !strings.Contains(s, "Save the report") || !strings.Contains(s, m.opts.ReportDir) {
		t.Fatalf("no prompt with the default directory:\n%s", s)
	}
	// Enter alone saves in the default directory.
	send(m, runCmd(send(m, keyEnter)))
	if _, err := os.Stat(filepath.Join(m.opts.ReportDir, "milink-report-0123456789abcdef.md")); err != nil {
		t.Errorf("Enter alone did not save in the default directory: %v", err)
	}
	// The default is the placeholder: typing replaces it, it is not appended to.
	send(m, keyRune('s'))
	target := filepath.Join(t.TempDir(), "firewall-ticket.md")
	typeText(m, target)
	cmd := send(m, keyEnter)
	if cmd == nil {
		t.Fatal("Enter did not save")
	}
	send(m, cmd())
	base := strings.TrimSuffix(target, ".md")
	for _, p := range []string{base + ".md", base + ".json"} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s not written: %v", p, err)
		}
	}
	if s := flat(screenOf(m)); !strings.Contains(s, "Report saved: "+base+".md") {
		t.Errorf("the page does not say where it saved:\n%s", screenOf(m))
	}
	// Esc cancels the prompt; nothing is saved.
	send(m, keyRune('s'))
	if cmd := send(m, keyEsc); cmd != nil || m.results.saveAsk.open {
		t.Error("Esc did not cancel the prompt")
	}
}

// TestSaveFallsBackToStateDir: when the default directory cannot be written, the
// report goes to milink's state directory, and the note says so.
func TestSaveFallsBackToStateDir(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	def := filepath.Join(t.TempDir(), "gone")
	rep := steps.NewReport(steps.Config{RunID: "0123456789abcdef"})
	paths, note, err := saveReportTo(rep, "", def)
	if err != nil || len(paths) != 2 || !strings.HasPrefix(paths[0], filepath.Join(state, "milink")) {
		t.Fatalf("saveReportTo = %v, %q, %v", paths, note, err)
	}
	if !strings.Contains(note, "Not writable: "+def) {
		t.Errorf("note = %q", note)
	}
	// A path the user typed is not replaced by another.
	if _, _, err := saveReportTo(rep, filepath.Join(def, "x.md"), def); err == nil {
		t.Error("saving into a missing directory the user named succeeded")
	}
}

// TestSaveCreatesNamedDirectory: a path ending in / that does not exist is created
// (0700) and the report saved in it; a file name in a missing directory is refused,
// naming that directory.
func TestSaveCreatesNamedDirectory(t *testing.T) {
	rep := steps.NewReport(steps.Config{RunID: "0123456789abcdef"})
	dir := filepath.Join(t.TempDir(), "tickets", "new") + string(filepath.Separator)
	paths, _, err := saveReportTo(rep, dir, t.TempDir())
	if err != nil || len(paths) != 2 {
		t.Fatalf("saveReportTo(%s) = %v, %v", dir, paths, err)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("the new directory: %v, %v", st, err)
	}
	missing := filepath.Join(t.TempDir(), "nope")
	_, _, err = saveReportTo(rep, filepath.Join(missing, "x.md"), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "the directory "+missing+" does not exist") {
		t.Errorf("a file in a missing directory: %v", err)
	}
}
