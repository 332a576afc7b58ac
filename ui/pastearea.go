package ui

import (
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textarea"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/milink/milink/steps"
)

// pasteArea is the Results page's paste mode (p): a text area for the lines the
// command run by hand printed. It takes every key, typed or pasted, with bracketed
// paste or without (tmux paste-buffer without -p, a terminal that sends a paste as
// key presses), so nothing typed there is read as a hotkey of the page; Ctrl-D hands
// the text over, Esc cancels.
type pasteArea struct {
	open bool
	err  string // why the last text handed over could not be read (the area stays open)
	ta   textarea.Model
}

// pasteAreaHeight is the text area's height in lines.
const pasteAreaHeight = 5

// start opens an empty area.
func (a *pasteArea) start(width int) tea.Cmd {
	ta := textarea.New()
	ta.ShowLineNumbers = false
	ta.Prompt = "  "
	ta.CharLimit = 0
	ta.MaxHeight = 0
	ta.Placeholder = "paste or type the lines here"
	// A paste sent as key presses ends its lines with CR (Enter) or LF (Ctrl-J).
	ta.KeyMap.InsertNewline = key.NewBinding(key.WithKeys("enter", "ctrl+m", "ctrl+j"))
	ta.KeyMap.DeleteCharacterForward = key.NewBinding(key.WithKeys("delete")) // Ctrl-D ends the paste
	st := textarea.DefaultDarkStyles()
	st.Focused.CursorLine = lipgloss.NewStyle()
	st.Focused.Placeholder = lipgloss.NewStyle().Foreground(colorMuted)
	ta.SetStyles(st)
	ta.SetWidth(max(10, width))
	ta.SetHeight(pasteAreaHeight)
	a.ta, a.open, a.err = ta, true, ""
	return a.ta.Focus()
}

// update gives msg to the area. done is true when the paste ended: with Ctrl-D
// (submit true; the text is in value) or Esc (canceled, the area is closed).
func (a *pasteArea) update(msg tea.Msg, keys keyMap) (cmd tea.Cmd, done, submit bool) {
	if km, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(km, keys.Back):
			a.open, a.err = false, ""
			return nil, true, false
		case key.Matches(km, keys.Submit):
			return nil, true, true
		}
	}
	a.ta, cmd = a.ta.Update(msg)
	return cmd, false, false
}

// value is the text in the area.
func (a *pasteArea) value() string { return a.ta.Value() }

// close closes the area after its text was read.
func (a *pasteArea) close() { a.open, a.err = false, "" }

// view is the instruction, the area and the last error.
func (a *pasteArea) view(width int) string {
	a.ta.SetWidth(max(10, width))
	s := wrap("Paste (or type) the lines the command printed on the SQL Server host. Ctrl-D reads them, Esc cancels.", width, styles.Key.Render("▸ "), "  ", nil) +
		"\n" + a.ta.View()
	if a.err != "" {
		s += "\n" + wrap(a.err, width, styles.Error.Render("✗ "), "  ", styles.Fail.Render)
	}
	return s
}

// manualDirection returns the direction whose probes wait for a command run by hand.
func (p *resultsModel) manualDirection() steps.Direction {
	if p.rep == nil || p.rep.MIParams == nil {
		return ""
	}
	for _, d := range p.rep.Directions {
		if d.WaitsForPaste() {
			return d.Direction
		}
	}
	return ""
}

// pasteApplied shows the outcome of Session.ApplyPastedProbes: the updated report, or
// why the paste could not be read (the page keeps waiting for a paste).
func (p *resultsModel) pasteApplied(rep *steps.Report, err error) {
	if err != nil {
		p.paste.err = err.Error()
		return
	}
	p.rep = rep
	p.paste.close()
	p.pasted = ""
}
