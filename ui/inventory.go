// The live progress of milink check --inventory: one line per pair, fed by the pairs'
// changes of state.

package ui

import (
	"fmt"
	"io"
	"strings"
	"sync"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/milink/milink/steps"
)

// InventoryModel is the Bubble Tea model of an inventory run's progress: one line per
// pair with its state, updated from a channel of steps.PairUpdate; the program ends
// when the channel is closed.
type InventoryModel struct {
	names         []string
	index         map[string]int // pair name → its line
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
	index := make(map[string]int, len(names))
	for i, n := range names {
		index[n] = i
	}
	return &InventoryModel{names: names, index: index, lines: lines, states: states, updates: updates}
}

// Init starts reading the updates.
func (m *InventoryModel) Init() tea.Cmd { return m.next() }

// next is the command that waits for the next update (none without a channel: the
// updates are sent to the program).
func (m *InventoryModel) next() tea.Cmd {
	ch := m.updates
	if ch == nil {
		return nil
	}
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
		// A pair's line is found by its name (the index only for an update without one).
		i, ok := m.index[msg.Name]
		if !ok && msg.Name == "" && msg.Index >= 0 && msg.Index < len(m.lines) {
			i, ok = msg.Index, true
		}
		if ok {
			if msg.State == steps.PairDone && m.states[i] != steps.PairDone {
				m.done++
			}
			m.lines[i], m.states[i] = msg.Line(), msg.State
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

// RunInventoryProgress shows the live progress on out until updates is closed (see
// InventoryProgress). It reads no input and leaves signals to the caller: a stop lets
// the pairs clean up while the view goes on showing them.
func RunInventoryProgress(out io.Writer, names []string, updates <-chan steps.PairUpdate) error {
	p := StartInventoryProgress(out, names)
	for u := range updates {
		p.Update(u)
	}
	return p.Close()
}

// InventoryProgress is the live view of an inventory run on a terminal. It is the
// only writer of out while it runs: whatever else must reach out (the stop message of
// a signal) goes through Print, which ends the view, prints, and lets the next update
// start it again below with the same lines, so that no line is drawn over another's.
type InventoryProgress struct {
	out   io.Writer
	model *InventoryModel

	mu     sync.Mutex
	prog   *tea.Program  // the running program; nil between Print and the next update, and once closed
	done   chan struct{} // closed when prog's Run returns
	closed bool
	err    error // the first error of a Run
}

// StartInventoryProgress shows the pairs names (in inventory order), all queued, on
// out and returns the view to feed with Update.
func StartInventoryProgress(out io.Writer, names []string) *InventoryProgress {
	p := &InventoryProgress{out: out, model: NewInventoryModel(names, nil)}
	p.start()
	return p
}

// start runs a program on the model (p.mu held, or before p is shared).
func (p *InventoryProgress) start() {
	opts := []tea.ProgramOption{tea.WithInput(nil), tea.WithOutput(p.out), tea.WithoutSignals()}
	if !isTerminal(p.out) {
		// No size to query (tests): COLUMNS, and room for every pair.
		opts = append(opts, tea.WithWindowSize(envInt("COLUMNS", 100), len(p.model.names)+3))
	}
	prog, done := tea.NewProgram(p.model, opts...), make(chan struct{})
	go func() {
		defer close(done)
		if _, err := prog.Run(); err != nil && p.err == nil {
			p.err = err
		}
	}()
	p.prog, p.done = prog, done
}

// stop ends the running program, if any, after its last frame (p.mu held).
func (p *InventoryProgress) stop() {
	if p.prog != nil {
		p.prog.Quit()
		<-p.done
		p.prog = nil
	}
}

// Update shows a pair's change of state on its line (found by the pair's name).
func (p *InventoryProgress) Update(u steps.PairUpdate) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return
	case p.prog == nil: // after a Print: the view starts again below it
		p.model.Update(u)
		p.start()
	default:
		p.prog.Send(u)
	}
}

// Print writes text on out between two frames: the view ends with its current lines
// (and gives the cursor back), text follows on lines of its own, and the next update
// starts the view again below it. Once the view is closed, text is written as it is.
func (p *InventoryProgress) Print(text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.prog != nil {
		p.stop()
		text = "\r" + text // over the ^C a terminal echoes for Ctrl-C
	}
	_, _ = io.WriteString(p.out, text)
}

// Close ends the view, its last frame left on out, and returns the first error of
// the program.
func (p *InventoryProgress) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stop()
	p.closed = true
	return p.err
}
