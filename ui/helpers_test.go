package ui

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/steps"
)

const simPassword = "Sim-Passw0rd!"

// simPair is a simulated SQL Server and managed instance with the CA files to trust.
type simPair struct {
	*sqlsim.Pair
	sqlCA, miCA string
}

func startPair(t testing.TB, scenario string, latency time.Duration) *simPair {
	t.Helper()
	s, err := sqlsim.LookupScenario(scenario)
	if err != nil {
		t.Fatal(err)
	}
	return startScenario(t, s, latency)
}

// startScenario is startPair for a scenario of the test's own.
func startScenario(t testing.TB, s sqlsim.Scenario, latency time.Duration) *simPair {
	t.Helper()
	p, err := sqlsim.StartPair(s, latency, latency)
	if err != nil {
		t.Fatalf("start simulated pair: %v", err)
	}
	t.Cleanup(p.Close)
	sp := &simPair{Pair: p}
	if sp.sqlCA, sp.miCA, err = p.WriteCACerts(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	return sp
}

// config is a fully pre-filled configuration for the pair (as "milink demo" gives).
func (p *simPair) config() steps.Config {
	return steps.Config{
		SQLServer:    steps.ConnConfig{Host: p.SQL.Host(), Port: p.SQL.Port(), User: "sa", Password: simPassword, CACertFile: p.sqlCA, DialTimeout: 2 * time.Second, LoginTimeout: 5 * time.Second},
		MI:           steps.ConnConfig{Host: p.MI.Host(), Port: p.MI.Port(), User: "miadmin", Password: simPassword, CACertFile: p.miCA, DialTimeout: 2 * time.Second, LoginTimeout: 5 * time.Second},
		ProbeTimeout: 300 * time.Millisecond,
		JobTimeout:   30 * time.Second,
		Poll:         sqlops.PollPolicy{First: 20 * time.Millisecond, Max: 100 * time.Millisecond},
	}
}

// leftovers lists the milink objects left on one simulated instance, over TDS.
func leftovers(t testing.TB, in *sqlsim.Instance, user, ca string) sqlops.Leftovers {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := sqlops.Open(ctx, steps.ConnConfig{Role: "check", Host: in.Host(), Port: in.Port(), User: user, Password: simPassword, CACertFile: ca})
	if err != nil {
		t.Fatalf("connect to check for leftovers: %v", err)
	}
	defer c.Close()
	l, err := c.FindLeftovers(ctx)
	if err != nil {
		t.Fatalf("find leftovers: %v", err)
	}
	return l
}

func assertNoLeftovers(t *testing.T, p *simPair) {
	t.Helper()
	if l := leftovers(t, p.SQL, "sa", p.sqlCA); !l.Empty() {
		t.Errorf("SQL Server: %d milink objects left: %+v", l.Count(), l)
	}
	if l := leftovers(t, p.MI, "miadmin", p.miCA); !l.Empty() {
		t.Errorf("managed instance: %d milink objects left: %+v", l.Count(), l)
	}
}

// recorder wraps the root model and keeps the text of every frame it renders: the
// exact content the renderer draws, without styles. teatest.WaitFor polls it.
type recorder struct {
	m       *Model
	mu      sync.Mutex
	frame   string
	frames  []string // every frame, in order
	pending []byte
}

const frameSep = "\x00--frame--\x00"

func newRecorder(m *Model) *recorder { return &recorder{m: m} }

func (r *recorder) Init() tea.Cmd { return r.m.Init() }

func (r *recorder) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	_, cmd := r.m.Update(msg)
	return r, cmd
}

func (r *recorder) View() tea.View {
	v := r.m.View()
	r.mu.Lock()
	r.frame = ansi.Strip(v.Content)
	r.frames = append(r.frames, r.frame)
	r.mu.Unlock()
	return v
}

// Read returns the latest frame once per io.ReadAll, so WaitFor sees frames in order.
func (r *recorder) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending == nil {
		r.pending = []byte(frameSep + r.frame)
	}
	if len(r.pending) == 0 {
		r.pending = nil
		return 0, io.EOF
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}

// screen returns the latest frame.
func (r *recorder) screen() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.frame
}

// sawFrame reports whether any rendered frame so far contained every one of want.
func (r *recorder) sawFrame(want ...string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.frames {
		ok := true
		for _, w := range want {
			if !strings.Contains(f, w) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// lastFrame is the newest frame in WaitFor's accumulated bytes.
func lastFrame(b []byte) string {
	i := bytes.LastIndex(b, []byte(frameSep))
	if i < 0 {
		return string(b)
	}
	return string(b[i+len(frameSep):])
}

// waitScreen waits until the visible frame contains every one of want.
func waitScreen(t *testing.T, r *recorder, d time.Duration, want ...string) {
	t.Helper()
	teatest.WaitFor(t, r, func(b []byte) bool {
		f := lastFrame(b)
		for _, w := range want {
			if !strings.Contains(f, w) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(d), teatest.WithCheckInterval(20*time.Millisecond))
}

// Keys.
var (
	keyEnter = tea.KeyPressMsg{Code: tea.KeyEnter}
	keyEsc   = tea.KeyPressMsg{Code: tea.KeyEscape}
	keyTab   = tea.KeyPressMsg{Code: tea.KeyTab}
	keyBack  = tea.KeyPressMsg{Code: tea.KeyBackspace}
	keyCtrlC = tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
)

func keyRune(r rune) tea.KeyPressMsg { return tea.KeyPressMsg{Code: r, Text: string(r)} }

// send updates the model directly (unit tests) and returns the command.
func send(m *Model, msgs ...tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	for _, msg := range msgs {
		_, cmd = m.Update(msg)
	}
	return cmd
}

func typeText(m *Model, s string) {
	for _, r := range s {
		send(m, keyRune(r))
	}
}

func screenOf(m *Model) string { return ansi.Strip(m.View().Content) }

var pgdown = tea.KeyPressMsg{Code: tea.KeyPgDown}

// runCmd runs a command the way the program would and returns its message; of a
// batch (a connect with its elapsed-time tick) the first message that is not a tick.
func runCmd(cmd tea.Cmd) tea.Msg {
	msg := cmd()
	batch, ok := msg.(tea.BatchMsg)
	if !ok {
		return msg
	}
	out := make(chan tea.Msg, len(batch))
	for _, c := range batch {
		if c != nil {
			go func() { out <- c() }()
		}
	}
	for {
		if m := <-out; m != nil {
			if _, tick := m.(busyTickMsg); !tick {
				return m
			}
		}
	}
}
