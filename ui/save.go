package ui

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/milink/milink/steps"
)

// savePrompt asks where s saves the report: a directory (the report is saved there
// as milink-report-<run id>.md and .json) or a file name (its .md and .json). It
// starts with the default directory, the wizard's (the current directory).
type savePrompt struct {
	open  bool
	def   string // shown as the placeholder; Enter on an empty input takes it
	input textinput.Model
}

// start opens the prompt, empty with def as its placeholder: typing replaces the
// default instead of appending to it, Enter alone accepts it.
func (s *savePrompt) start(def string) tea.Cmd {
	s.input = textinput.New()
	s.input.Prompt = ""
	s.input.SetStyles(inputStyles())
	s.input.CharLimit = 1024
	s.input.Placeholder = def
	s.def = def
	s.open = true
	return s.input.Focus()
}

// update edits the path; done is true with Enter (save to path) or Esc (canceled,
// path "").
func (s *savePrompt) update(msg tea.Msg, keys keyMap) (cmd tea.Cmd, done bool, path string) {
	if km, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(km, keys.Back):
			s.open = false
			return nil, true, ""
		case km.String() == "enter":
			s.open = false
			if v := strings.TrimSpace(s.input.Value()); v != "" {
				return nil, true, v
			}
			return nil, true, s.def
		}
	}
	s.input, cmd = s.input.Update(msg)
	return cmd, false, ""
}

// view is the prompt's two lines.
func (s *savePrompt) view(width int) string {
	s.input.SetWidth(max(10, width-4))
	return wrap("Save the report (Markdown and JSON) in a directory (a new one ends with /), or as a file name; Enter alone saves in the one shown. Esc cancels.", width, styles.Key.Render("▸ "), "  ", nil) +
		"\n  " + s.input.View()
}

// saveReportTo saves rep at target (see savePrompt; "" is def). When target is def
// and the report cannot be written there (read-only, not writable by the user,
// gone), it goes to milink's state directory instead, and
// note says so.
func saveReportTo(rep *steps.Report, target, def string) (paths []string, note string, err error) {
	if target == "" {
		target = def
	}
	if strings.HasPrefix(target, "~/") {
		if home, herr := os.UserHomeDir(); herr == nil {
			target = filepath.Join(home, target[2:])
		}
	}
	if st, serr := os.Stat(target); (serr == nil && st.IsDir()) || strings.HasSuffix(target, string(filepath.Separator)) || target == def {
		if target != def && errors.Is(serr, fs.ErrNotExist) {
			if err := os.MkdirAll(target, 0o700); err != nil {
				return nil, "", fmt.Errorf("save report: cannot create the directory %s: %w", target, err)
			}
		}
		paths, err = saveReport(rep, target)
	} else {
		base := strings.TrimSuffix(strings.TrimSuffix(target, ".md"), ".json")
		if dir := filepath.Dir(base); !isDir(dir) {
			return nil, "", fmt.Errorf("save report: the directory %s does not exist (end a path with / to have milink create it)", dir)
		}
		paths, err = saveFiles(rep, base)
	}
	if err == nil || target != def {
		return paths, "", err
	}
	dir, serr := steps.StateDir()
	if serr == nil {
		serr = os.MkdirAll(dir, 0o700)
	}
	if serr != nil {
		return nil, "", err
	}
	paths, err = saveReport(rep, dir)
	return paths, "Not writable: " + def + ". Saved in milink's state directory instead.", err
}

// isDir reports whether path is an existing directory.
func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}
