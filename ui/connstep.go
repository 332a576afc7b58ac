package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/milink/milink/steps"
)

// nav is what a page asks the root model to do after a key.
type nav int

const (
	navNone nav = iota
	navNext
	navBack
)

// connStep is the part the Prerequisites and Login pages share: a connection form
// that is validated by connecting (in a tea.Cmd), and a scrollable outcome below it.
//
// The page is either editing (form has the keyboard; Enter validates) or reviewing
// (after a successful validation: the form is one summary line, the outcome gets the
// room; Enter goes Next, r re-runs, Tab edits again).
type connStep struct {
	form      form
	base      steps.ConnConfig // role, timeouts etc. not on the form
	reviewing bool
	busy      string // "" or what is running ("Connecting to …")
	err       error  // last connection / validation error, shown inline
	gen       int    // generation of the running validation; stale replies are dropped
	used      steps.ConnConfig
	usedAuth  steps.AuthMethod // Entra method of used ("" = SQL login)
	notice    string           // shown under the busy line (a device code sign-in)
	vp        viewport.Model
	head      string // arranged form and status
	outcome   string // arranged outcome ("" = none shown)
	// trustAsk is the untrusted certificate of the last connect, shown with "trust this
	// certificate?" (y/n) as ssh does on first contact; pinnedFor is the address whose
	// certificate the user trusted (base.CertSHA256 applies to it only).
	trustAsk  *steps.UntrustedCertError
	pinnedFor string
	// The running connect: when it started, the latest tick, its time limit and how
	// to stop it (Esc cancels at once).
	busySince, busyNow time.Time
	busyLimit          time.Duration
	stop               context.CancelFunc
}

// busyTickMsg redraws the elapsed time of a running connect every second.
type busyTickMsg time.Time

func busyTick() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return busyTickMsg(t) })
}

// errCanceled is shown after Esc stopped a connect.
var errCanceled = errors.New("canceled: milink stopped connecting. Enter tries again; Esc goes back")

// beginBusy starts timing a connect limited by cfg's login timeout and returns the
// context that Esc cancels, and the command that ticks the elapsed time.
func (s *connStep) beginBusy(ctx context.Context, cfg steps.ConnConfig) (context.Context, tea.Cmd) {
	if s.stop != nil {
		s.stop()
	}
	ctx, s.stop = context.WithCancel(ctx)
	s.busySince, s.busyNow = time.Now(), time.Now()
	s.busyLimit = cfg.LoginTimeout
	if s.busyLimit <= 0 {
		s.busyLimit = 30 * time.Second // sqlops.ConnConfig's default
	}
	return ctx, busyTick()
}

// cancelBusy stops the running connect at once; its late reply is dropped.
func (s *connStep) cancelBusy() {
	if s.stop != nil {
		s.stop()
	}
	s.gen++
	s.busy, s.notice = "", ""
	s.busySince = time.Time{}
	s.err = errCanceled
	s.form.focusOn(s.form.focus)
}

func newConnStep(f form, base steps.ConnConfig) connStep {
	s := connStep{form: f, base: base, vp: newViewport()}
	// Start on the first empty field, so a pre-filled form only needs Enter.
	first := 0
	for i := range s.form.fields {
		fl := &s.form.fields[i]
		if !fl.hidden && !fl.isChoice() && fl.input.Value() == "" && i != cfCAFile && i != cfPort && i != cfTenant {
			first = i
			break
		}
	}
	s.form.focusOn(first)
	return s
}

// startValidation reads and checks the form; ok is false when the input is invalid
// (the error is shown, nothing is started).
func (s *connStep) startValidation(busy string) (steps.ConnConfig, bool) {
	cfg, err := connConfig(&s.form, s.base)
	if err != nil {
		s.err = err
		if i := invalidField(err); i >= 0 {
			s.form.focusOn(i)
		}
		return cfg, false
	}
	if cfg.CertSHA256 != "" && s.pinnedFor != "" && cfg.Address() != s.pinnedFor {
		cfg.CertSHA256, cfg.TrustOnFirstUse = "", false // another server: its own certificate
	}
	s.err = nil
	s.trustAsk = nil
	s.gen++
	s.busy = busy
	s.reviewing = false
	return cfg, true
}

// failed records a connection or check error and gives the keyboard back to the form.
func (s *connStep) failed(err error) tea.Cmd {
	field := s.form.focus
	if errors.Is(err, steps.ErrAuth) {
		field = cfPassword
		if s.form.fields[cfPassword].hidden {
			field = cfAuth
		}
	} else if errors.Is(err, steps.ErrConnect) {
		field = cfServer
	}
	return s.failedAt(err, field)
}

// failedAt is failed with the field to focus.
func (s *connStep) failedAt(err error, field int) tea.Cmd {
	s.busy = ""
	s.busySince = time.Time{}
	s.notice = ""
	s.err = err
	s.reviewing = false
	s.trustAsk = nil
	var u *steps.UntrustedCertError
	if errors.As(err, &u) {
		s.trustAsk = u
	}
	return s.form.focusOn(field)
}

// succeeded switches to reviewing.
func (s *connStep) succeeded() {
	s.busy = ""
	s.busySince = time.Time{}
	s.notice = ""
	s.err = nil
	s.reviewing = true
	s.form.blur()
	s.vp.GotoTop()
}

// handleKey processes the keys both pages share. validate is called for Enter while
// editing and for r while reviewing.
func (s *connStep) handleKey(msg tea.Msg, keys keyMap, validate func() tea.Cmd) (tea.Cmd, nav) {
	km, isKey := msg.(tea.KeyPressMsg)
	if t, ok := msg.(busyTickMsg); ok {
		if s.busy == "" || s.busySince.IsZero() {
			return nil, navNone
		}
		s.busyNow = time.Time(t)
		return busyTick(), navNone
	}
	if !isKey {
		if s.reviewing || s.busy != "" {
			return nil, navNone
		}
		cmd, _ := s.form.update(msg, keys)
		return cmd, navNone
	}
	if key.Matches(km, keys.Back) {
		if s.busy != "" && !s.busySince.IsZero() {
			s.cancelBusy()
			return nil, navNone
		}
		return nil, navBack
	}
	if s.busy != "" {
		if key.Matches(km, keys.Scroll) {
			scroll(&s.vp, km)
		}
		return nil, navNone
	}
	if s.reviewing {
		switch {
		case key.Matches(km, keys.Next):
			return nil, navNext
		case key.Matches(km, keys.Rerun):
			return validate(), navNone
		case key.Matches(km, keys.Edit):
			s.reviewing = false
			return s.form.focusOn(0), navNone
		case key.Matches(km, keys.Scroll):
			scroll(&s.vp, km)
		}
		return nil, navNone
	}
	if s.trustAsk != nil {
		u := s.trustAsk
		s.trustAsk = nil
		switch km.String() {
		case "y", "Y":
			if cfg, err := connConfig(&s.form, s.base); err == nil {
				s.pinnedFor = cfg.Address()
			}
			s.base.CertSHA256, s.base.TrustOnFirstUse = u.SHA256, true
			return validate(), navNone
		case "n", "N":
			return nil, navNone
		}
	}
	if key.Matches(km, keys.Validate) {
		return validate(), navNone
	}
	cmd, changed := s.form.update(msg, keys)
	if changed {
		s.err = nil
	}
	return cmd, navNone
}

// arrange lays the page out for width×height (called from Update, after every
// message): the form (or its summary line), the status, and the outcome viewport.
// intro is a line above the form; outcome is the scrollable part.
func (s *connStep) arrange(width, height int, intro, outcome string) {
	s.form.setWidth(width)
	var top strings.Builder
	top.WriteString(wrap(intro, width, "", "", styles.Muted.Render))
	top.WriteString("\n\n")
	if s.reviewing {
		top.WriteString(wrap("Connected: "+connSummary(s.used, s.usedAuth), width, styles.Pass.Render("✓ "), "  ", styles.Value.Render))
	} else {
		top.WriteString(s.form.view(width))
	}
	switch {
	case s.busy == "" && s.err == nil && !s.reviewing:
		top.WriteString("\n\n" + styles.Muted.Render("Enter validates: milink connects and checks (nothing is created)."))
	case s.busy != "":
		top.WriteString("\n\n" + wrap(s.busy, width, styles.Spinner.Render("… "), "  ", nil))
		if !s.busySince.IsZero() {
			top.WriteString("\n" + styles.Muted.Render(fmt.Sprintf("  %s elapsed · gives up after %s · Esc cancels", s.busyNow.Sub(s.busySince).Round(time.Second), s.busyLimit)))
		}
		if s.notice != "" {
			top.WriteString("\n\n" + s.notice)
		}
	case s.err != nil:
		top.WriteString("\n\n" + wrap(s.err.Error(), width, styles.Error.Render("✗ "), "  ", styles.Fail.Render))
		if s.trustAsk != nil {
			top.WriteString("\n\n" + wrap("Trust this certificate and remember it, as ssh does on first contact? Compare its SHA-256 fingerprint "+s.trustAsk.SHA256+
				" with the one the server's administrator reads on the server. y trusts it, n (or any other key) does not.", width, styles.Heading.Render("? "), "  ", nil))
		}
	}
	s.head = top.String()
	s.outcome = outcome
	rest := height - strings.Count(s.head, "\n") - 2
	if outcome == "" || rest < 2 {
		s.outcome = ""
		return
	}
	s.vp.SetWidth(width)
	s.vp.SetHeight(max(1, rest-1))
	s.vp.SetContent(outcome)
}

// render returns the arranged page.
func (s *connStep) render(width, height int) string {
	if s.outcome == "" {
		return fitHeight(s.head, width, height)
	}
	return fitHeight(s.head+"\n\n"+scrolled(s.vp), width, height)
}

// newViewport returns a viewport driven only by the wizard's own scroll keys.
func newViewport() viewport.Model {
	vp := viewport.New()
	vp.SoftWrap = false
	return vp
}

// scrolled renders a viewport and, below it, a hint when there is more to see.
func scrolled(vp viewport.Model) string { return scrolledHint(vp, "↑/↓ PgUp/PgDn to scroll") }

// scrolledHint is scrolled with the page's scroll keys in the hint.
func scrolledHint(vp viewport.Model, keys string) string {
	hint := ""
	switch {
	case !vp.AtBottom():
		hint = "↓ more below · " + keys
	case vp.YOffset() > 0:
		hint = "↑ more above"
	}
	return vp.View() + "\n" + styles.Muted.Render(hint)
}

// scroll moves a viewport for up/down/pgup/pgdown/home/end.
func scroll(vp *viewport.Model, km tea.KeyPressMsg) {
	switch km.String() {
	case "up":
		vp.ScrollUp(1)
	case "down":
		vp.ScrollDown(1)
	case "pgup":
		vp.PageUp()
	case "pgdown":
		vp.PageDown()
	case "home":
		vp.GotoTop()
	case "end":
		vp.GotoBottom()
	}
}
