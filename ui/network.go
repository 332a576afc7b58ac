package ui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps"
)

// networkModel is the Network Options page: the discovered managed instance
// parameters (read-only) and the SQL Server address the managed instance probes, plus
// the probe timeout. The values are validated as they are typed; Next is refused while
// they are invalid.
type networkModel struct {
	form         form
	mi           sqlops.MIParams
	endpointPort int
	ipEdited     bool // the user typed an address: keep it when discovery changes
	defaultIP    string
	err          error  // validation error of the current values
	warn         string // steps.AddressWarning of the current address
	tried        bool   // Enter was pressed with invalid values
	head         string
}

const (
	nfIP = iota
	nfTimeout
	nfProbeFrom
)

// probeFromChoices are where the SQL Server → managed instance probes can run.
var probeFromChoices = []string{steps.ProbeAuto, steps.ProbeAgent, steps.ProbeLocal, steps.ProbeManual}

var probeFromHelp = map[string]string{
	steps.ProbeAuto:   "Agent job on Windows; on Linux from this machine if it is the SQL Server host, else a command to run there",
	steps.ProbeAgent:  "an Agent job on SQL Server (Windows only)",
	steps.ProbeLocal:  "TCP connects from this machine (run milink on the SQL Server host)",
	steps.ProbeManual: "print a command to run on the SQL Server host",
}

func newNetworkModel(cfg steps.Config) networkModel {
	n := networkModel{endpointPort: cfg.EndpointPort, form: form{fields: []field{
		newTextField("SQL Server IP", cfg.SQLServerIP, "address the managed instance reaches SQL Server on", false),
		newTextField("Probe timeout", cfg.ProbeTimeout.String(), "5s", false),
		newChoiceField("SQL Server → MI probes", probeFromChoices, orDefault(cfg.ProbeFrom, steps.ProbeAuto), ""),
	}}}
	n.ipEdited = cfg.SQLServerIP != ""
	n.form.focusOn(nfIP)
	return n
}

// enter refreshes the page from the earlier steps: the discovered parameters and,
// unless the user typed one, the SQL Server address SQL Server itself reported.
func (p *networkModel) enter(pre *steps.Prerequisites, mi *steps.ManagedInstance) tea.Cmd {
	if mi != nil {
		p.mi = mi.Params
	}
	if pre != nil && !p.ipEdited {
		p.defaultIP = pre.LocalIP
		p.form.fields[nfIP].input.SetValue(pre.LocalIP)
		p.form.fields[nfIP].input.CursorEnd()
	}
	p.check()
	return p.form.focusOn(p.form.focus)
}

// parseTimeout accepts a Go duration ("5s", "1500ms") or a number of seconds.
func parseTimeout(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("probe timeout: %w: it is empty", sqlops.ErrInvalidInput)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		n, nerr := strconv.ParseFloat(s, 64)
		if nerr != nil {
			return 0, fmt.Errorf("probe timeout: %w: %q is not a duration (e.g. 5s, 1500ms)", sqlops.ErrInvalidInput, s)
		}
		d = time.Duration(n * float64(time.Second))
	}
	if d < 100*time.Millisecond || d > 5*time.Minute {
		return 0, fmt.Errorf("probe timeout: %w: %s is outside 100ms-5m", sqlops.ErrInvalidInput, d)
	}
	return d, nil
}

// options returns the validated network options (no I/O).
func (p *networkModel) options() (steps.NetworkOptions, error) {
	o := steps.NetworkOptions{MI: p.mi, SQLServerIP: p.form.fields[nfIP].value(), EndpointPort: p.endpointPort, ProbeFrom: p.form.fields[nfProbeFrom].value()}
	d, err := parseTimeout(p.form.fields[nfTimeout].value())
	if err != nil {
		return o, err
	}
	o.ProbeTimeout = d
	if err := o.Validate(); err != nil {
		return o, err
	}
	return o, nil
}

// check validates the current values.
func (p *networkModel) check() {
	_, p.err = p.options()
	p.warn = steps.AddressWarning(p.form.fields[nfIP].value())
}

// valid reports whether Next is allowed.
func (p *networkModel) valid() bool { return p.err == nil }

func (p *networkModel) update(msg tea.Msg, keys keyMap) (tea.Cmd, nav) {
	if km, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(km, keys.Back):
			return nil, navBack
		case key.Matches(km, keys.Next):
			p.check()
			if !p.valid() {
				p.tried = true
				return nil, navNone
			}
			return nil, navNext
		}
	}
	cmd, changed := p.form.update(msg, keys)
	if changed {
		if p.form.focus == nfIP {
			p.ipEdited = true
		}
		p.check()
	}
	return cmd, navNone
}

func (p *networkModel) setSize(width, _ int) {
	p.form.setWidth(width)
	var b strings.Builder
	b.WriteString(wrap("Give the address the managed instance's network reaches SQL Server on.", width, "", "", styles.Muted.Render))
	b.WriteString("\n\n")
	b.WriteString(styles.Heading.Render("Managed instance (discovered, read-only)"))
	b.WriteString("\n")
	b.WriteString(kv([][2]string{
		{"FQDN", p.mi.FQDN},
		{"Current node", p.mi.Node},
		{"HADR port", strconv.Itoa(p.mi.HadrPort)},
		{"SQL Server endpoint port", strconv.Itoa(p.endpointPort)},
	}, width))
	b.WriteString("\n\n")
	b.WriteString(p.form.view(width))
	b.WriteString("\n\n")
	switch {
	case p.err != nil:
		b.WriteString(wrap(p.err.Error(), width, styles.Error.Render("✗ "), "  ", styles.Fail.Render))
		if p.tried {
			b.WriteString("\n")
			b.WriteString(styles.Muted.Render("  Correct the value to continue."))
		}
	default:
		o, _ := p.options()
		t := o.Targets()
		b.WriteString(wrap(fmt.Sprintf("Probes: SQL Server → %s:%d and %s:%d (%s); managed instance → %s:%d (timeout %s each)",
			t[0].Host, t[0].Port, t[1].Host, t[1].Port, probeFromHelp[o.ProbeFrom], t[2].Host, t[2].Port, o.ProbeTimeout), width, styles.Pass.Render("✓ "), "  ", nil))
		if p.warn != "" {
			b.WriteString("\n")
			b.WriteString(wrap(p.warn, width, styles.Badge[steps.Warn].Render("WARN")+"  ", "      ", styles.Warn.Render))
		}
	}
	p.head = b.String()
}

func (p *networkModel) view(width, height int) string { return fitHeight(p.head, width, height) }

func (p *networkModel) help(keys keyMap) bindings {
	return bindings{withHelp(keys.Next, "enter", "next: summary"), keys.NextField, keys.Change, keys.Back, keys.Quit}
}
