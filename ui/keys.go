package ui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
)

// keyMap is every key binding of the wizard; pages pick the ones they show in the
// footer.
type keyMap struct {
	Next      key.Binding // enter: next page
	Back      key.Binding // esc: previous page
	NextField key.Binding // tab / down: next form field
	PrevField key.Binding // shift+tab / up: previous form field
	Change    key.Binding // left / right / space: change a choice field
	Validate  key.Binding // enter on a form: connect and check
	Rerun     key.Binding // r: run the checks again
	Edit      key.Binding // tab / e: edit the connection form again
	Scroll    key.Binding // up / down / pgup / pgdown: scroll the findings
	Page      key.Binding // pgup / pgdown: scroll a page whose ↑/↓ move between fields
	Start     key.Binding // enter on Summary: start the test
	Save      key.Binding // s on Results: save the report
	Paste     key.Binding // p on Results: paste the output of the command run by hand
	Retest    key.Binding // t on Results: run the network test again on the same connections
	Recheck   key.Binding // r on Results: back to Prerequisites, checked again on the same connection
	Close     key.Binding // q on Results: close (Enter does nothing there: pressing through the wizard must not lose the results)
	Copy      key.Binding // c: copy the selected command to the clipboard (OSC 52)
	NextCmd   key.Binding // n: select the next command block
	PrevCmd   key.Binding // N: select the previous command block
	CmdScroll key.Binding // ←/→: scroll the selected command sideways
	Watch     key.Binding // w on Results: re-test every few seconds until both directions pass
	Submit    key.Binding // ctrl+d in the Results page's paste area: read the text
	Quit      key.Binding // ctrl+c anywhere: quit (asks first)
	Yes       key.Binding // y in the quit prompt
	No        key.Binding // n / esc in the quit prompt
}

func newKeyMap() keyMap {
	return keyMap{
		Next:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "next")),
		Back:      key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		NextField: key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab/↑↓", "fields")),
		PrevField: key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab/↑", "previous")),
		Change:    key.NewBinding(key.WithKeys("left", "right", "space"), key.WithHelp("←/→", "change")),
		Validate:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "validate")),
		Rerun:     key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "re-run")),
		Edit:      key.NewBinding(key.WithKeys("tab", "e"), key.WithHelp("tab", "edit")),
		Scroll:    key.NewBinding(key.WithKeys("up", "down", "pgup", "pgdown", "home", "end"), key.WithHelp("↑/↓", "scroll")),
		Page:      key.NewBinding(key.WithKeys("pgup", "pgdown"), key.WithHelp("pgup/pgdn", "scroll")),
		Start:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "finish: start the test")),
		Save:      key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "save report")),
		Paste:     key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "paste the command's output")),
		Retest:    key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "test again")),
		Recheck:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "re-check prerequisites")),
		Close:     key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "close")),
		Copy:      key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "copy command")),
		NextCmd:   key.NewBinding(key.WithKeys("n"), key.WithHelp("n/N", "next command")),
		PrevCmd:   key.NewBinding(key.WithKeys("N"), key.WithHelp("N", "previous command")),
		CmdScroll: key.NewBinding(key.WithKeys("left", "right"), key.WithHelp("←/→", "scroll command")),
		Watch:     key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "watch")),
		Submit:    key.NewBinding(key.WithKeys("ctrl+d"), key.WithHelp("ctrl+d", "read the paste")),
		Quit:      key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
		Yes:       key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "yes")),
		No:        key.NewBinding(key.WithKeys("n", "N", "esc"), key.WithHelp("n", "no")),
	}
}

// bindings is a footer's list of key bindings; it implements help.KeyMap.
type bindings []key.Binding

func (b bindings) ShortHelp() []key.Binding  { return b }
func (b bindings) FullHelp() [][]key.Binding { return [][]key.Binding{b} }

var _ help.KeyMap = bindings(nil)

func newHelp() help.Model {
	h := help.New()
	h.Styles = helpStyles()
	return h
}
