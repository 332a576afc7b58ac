package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/milink/milink/steps"
)

// introModel is the Introduction page: what milink creates on each side and that it
// removes all of it afterwards.
type introModel struct {
	intro steps.Introduction
	vp    viewport.Model
}

func newIntroModel() introModel {
	return introModel{intro: steps.NewIntroduction(), vp: newViewport()}
}

func (p *introModel) update(msg tea.Msg, keys keyMap) (tea.Cmd, nav) {
	if km, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(km, keys.Next):
			return nil, navNext
		case key.Matches(km, keys.Scroll):
			scroll(&p.vp, km)
		}
	}
	return nil, navNone
}

func (p *introModel) setSize(width, height int) {
	p.vp.SetWidth(width)
	p.vp.SetHeight(max(1, height-1))
	p.vp.SetContent(p.content(width))
}

func (p *introModel) content(width int) string {
	var b strings.Builder
	b.WriteString(wrap("milink checks SQL Server's link prerequisites and tests the network between SQL Server and the managed instance in both directions.", width, "", "", nil))
	b.WriteString("\n")
	b.WriteString(styles.Heading.Render("What the test creates (and removes afterwards)"))
	var server string
	for _, a := range p.intro.Creates {
		if a.Server != server {
			server = a.Server
			b.WriteString("\n")
			b.WriteString(styles.Value.Render(server))
		}
		b.WriteString("\n")
		b.WriteString(wrap(a.Description, width, "  • ", "    ", nil))
		if a.Detail != "" {
			b.WriteString("\n")
			b.WriteString(wrap(a.Detail, width, "    ", "    ", styles.Muted.Render))
		}
	}
	for _, n := range p.intro.Notes {
		b.WriteString("\n")
		b.WriteString(wrap(n, width, styles.Pass.Render("✓ "), "  ", nil))
	}
	return b.String()
}

func (p *introModel) view(width, height int) string {
	return fitHeight(scrolled(p.vp), width, height)
}

func (p *introModel) help(keys keyMap) bindings {
	return bindings{withHelp(keys.Next, "enter", "start"), keys.Scroll, keys.Quit}
}

// withHelp returns a copy of b with other help text.
func withHelp(b key.Binding, k, desc string) key.Binding {
	b.SetHelp(k, desc)
	return b
}
