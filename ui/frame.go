package ui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// The frame around the pages: size limits, layout, header, step line and footer.

// pageModel is what the frame needs of every page: they cache their rendering in
// setSize (from Update), return it as a string and name their keys.
type pageModel interface {
	setSize(width, height int)
	view(width, height int) string
	help(keys keyMap) bindings
}

// current is the page shown.
func (m *Model) current() pageModel {
	switch m.page {
	case pagePrereq:
		return &m.prereq
	case pageLogin:
		return &m.login
	case pageNetwork:
		return &m.network
	case pageSummary:
		return &m.summary
	case pageResults:
		return &m.results
	}
	return &m.intro
}

// The smallest terminal the wizard draws in: 80×24 less tmux's status line and one
// more; the pages scroll.
const (
	minWidth  = 80
	minHeight = 22
)

func (m *Model) tooSmall() bool { return m.width < minWidth || m.height < minHeight }

// bodySize is the room the pages get inside the frame.
func (m *Model) bodySize() (int, int) {
	return max(1, m.width-2), max(1, m.height-5)
}

// layout sizes the active page after every message (pages cache their rendering).
func (m *Model) layout() {
	if m.width == 0 || m.tooSmall() {
		return
	}
	m.current().setSize(m.bodySize())
}

// View implements tea.View: the full-screen frame in the alternate screen.
func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "milink"
	return v
}

func (m *Model) render() string {
	if m.width == 0 || m.height == 0 {
		return ""
	}
	if m.tooSmall() {
		s := wrap(fmt.Sprintf("Terminal too small (need %d×%d, have %d×%d). Enlarge it, or run milink with --accessible for plain prompts that fit any terminal.", minWidth, minHeight, m.width, m.height), m.width, "", "", nil)
		if m.confirmQuit || (m.quitting && !m.quit) {
			s += "\n" + m.footer(m.width)
		}
		return s
	}
	w, h := m.bodySize()
	body := m.current().view(w, h)
	rule := styles.Rule.Render(strings.Repeat("─", m.width))
	lines := []string{m.titleLine(), " " + m.stepLine(m.width-2), rule}
	for _, l := range strings.Split(fitHeight(body, w, h), "\n") {
		lines = append(lines, " "+l)
	}
	lines = append(lines, rule, " "+m.footer(m.width-2))
	return strings.Join(lines, "\n")
}

func (m *Model) titleLine() string {
	left := " " + styles.Title.Render("milink") + styles.Muted.Render(" · Azure SQL Managed Instance link · network check")
	right := ""
	if m.opts.Banner != "" {
		right = styles.Banner.Render(m.opts.Banner) + " "
	}
	if ansi.StringWidth(left)+ansi.StringWidth(right)+1 > m.width {
		left = " " + styles.Title.Render("milink")
	}
	right = ansi.Truncate(right, max(0, m.width-ansi.StringWidth(left)-1), "…")
	gap := max(1, m.width-ansi.StringWidth(left)-ansi.StringWidth(right))
	return left + strings.Repeat(" ", gap) + right
}

// stepLine is the step indicator: "1 Introduction › 2 Prerequisites › …", with short
// names for the other steps when the full line does not fit.
func (m *Model) stepLine(width int) string {
	build := func(short bool) string {
		var parts []string
		for i := range pageNames {
			name := pageNames[i]
			if short && page(i) != m.page {
				name = pageShort[i]
			}
			label := fmt.Sprintf("%d %s", i+1, name)
			switch {
			case page(i) == m.page:
				label = styles.StepCurrent.Render(label)
			case page(i) < m.page:
				label = styles.StepDone.Render(label)
			default:
				label = styles.StepTodo.Render(label)
			}
			parts = append(parts, label)
		}
		return strings.Join(parts, styles.StepSep.Render(" › "))
	}
	s := build(false)
	if ansi.StringWidth(s) > width {
		s = build(true)
	}
	return ansi.Truncate(s, width, "…")
}

func (m *Model) footer(width int) string {
	switch {
	case m.quitting && !m.quit:
		return styles.Prompt.Render("Cleaning up… milink quits when the test objects are removed.")
	case m.confirmQuit:
		return styles.Prompt.Render(m.quitQuestion())
	}
	b := m.current().help(m.keys)
	return ansi.Truncate(m.help.View(b), width, "…")
}

// quitQuestion is the Ctrl-C prompt, true to what quitting does now: only a running
// test has objects to clean up; before it nothing exists, after it cleanup has run.
func (m *Model) quitQuestion() string {
	switch {
	case m.results.running:
		return "Quit? Test objects will be cleaned up. y/n"
	case m.results.finished:
		return "Quit? The test has finished and cleaned up. y/n"
	}
	return "Quit? Nothing has been created. y/n"
}
