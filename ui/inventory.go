// The live progress of milink check --inventory: one line per pair, fed by the pairs'
// changes of state.

package ui

import (
	"fmt"
	"io"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/milink/milink/steps"
)

// InventoryModel is the Bubble Tea model of an inventory run's progress: one line per
// pair with its state, updated from a channel of steps.PairUpdate; the program ends
// when the channel is closed.
type InventoryModel struct {
	names         []string
	lines         []string
	states        []steps.PairState
	done          int
	updates       <-chan steps.PairUpdate
	width, height int
}

// inventoryClosed says that the channel of updates was closed: every pair finished.
type inventoryClosed struct{}

// NewInventoryModel shows the pairs names (in inventory order) and reads their
// updates from updates.
func NewInventoryModel(names []string, updates <-chan steps.PairUpdate) *InventoryModel {
	lines, states := make([]string, len(names)), make([]steps.PairState, len(names))
	for i := range lines {
		lines[i], states[i] = string(steps.PairQueued), steps.PairQueued
	}
	return &InventoryModel{names: names, lines: lines, states: states, updates: updates}
}

// Init starts reading the updates.
func (m *InventoryModel) Init() tea.Cmd { return m.next() }

// next is the command that waits for the next update.
func (m *InventoryModel) next() tea.Cmd {
	ch := m.updates
	return func() tea.Msg {
		u, ok := <-ch
		if !ok {
			return inventoryClosed{}
		}
		return u
	}
}

// Update records a pair's update and waits for the next; it quits once the updates
// are closed.
func (m *InventoryModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case steps.PairUpdate:
		if msg.Index >= 0 && msg.Index < len(m.lines) {
			m.lines[msg.Index], m.states[msg.Index] = msg.Line(), msg.State
			if msg.State == steps.PairDone {
				m.done++
			}
		}
		return m, m.next()
	case inventoryClosed:
		return m, tea.Quit
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	}
	return m, nil
}

// Done is how many pairs have finished.
func (m *InventoryModel) Done() int { return m.done }

// render is the frame: a heading, then one line per pair, each cut to the width. When
// the pairs do not fit the terminal's height, the running pairs come first, then the
// finished ones, then the queued, and a last line counts those not shown.
func (m *InventoryModel) render() string {
	w := 0
	for _, n := range m.names {
		w = max(w, len(n))
	}
	order := make([]int, 0, len(m.names))
	for _, pick := range []func(steps.PairState) bool{
		func(s steps.PairState) bool { return s != steps.PairQueued && s != steps.PairDone },
		func(s steps.PairState) bool { return s == steps.PairDone },
		func(s steps.PairState) bool { return s == steps.PairQueued },
	} {
		for i, s := range m.states {
			if pick(s) {
				order = append(order, i)
			}
		}
	}
	room := len(order)
	if m.height > 2 && len(order) > m.height-2 {
		room = m.height - 3 // the heading and the "more" line
		order = order[:room]
	} else {
		order = order[:0]
		for i := range m.names {
			order = append(order, i) // everything fits: inventory order
		}
	}
	lines := []string{fmt.Sprintf("milink: %d of %d pair(s) finished", m.done, len(m.names))}
	for _, i := range order {
		lines = append(lines, fmt.Sprintf("%-*s  %s", w, m.names[i], m.lines[i]))
	}
	if hidden := len(m.names) - len(order); hidden > 0 {
		lines = append(lines, fmt.Sprintf("… and %d more pair(s)", hidden))
	}
	var b strings.Builder
	for _, l := range lines {
		if m.width > 0 {
			l = ansi.Truncate(l, m.width-1, "…")
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}

// View is the frame, inline (not the alternate screen): it stays on the terminal
// when the run ends.
func (m *InventoryModel) View() tea.View { return tea.NewView(m.render()) }

// RunInventoryProgress shows the live progress on out until updates is closed. It
// reads no input and leaves signals to the caller: a stop lets the pairs clean up
// while the view goes on showing them.
func RunInventoryProgress(out io.Writer, names []string, updates <-chan steps.PairUpdate) error {
	opts := []tea.ProgramOption{tea.WithInput(nil), tea.WithOutput(out), tea.WithoutSignals()}
	if !isTerminal(out) {
		// No size to query (tests): COLUMNS, and room for every pair.
		opts = append(opts, tea.WithWindowSize(envInt("COLUMNS", 100), len(names)+3))
	}
	p := tea.NewProgram(NewInventoryModel(names, updates), opts...)
	_, err := p.Run()
	return err
}
