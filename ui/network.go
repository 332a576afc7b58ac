package ui

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/milink/milink/steps"
)

// networkModel is the Network Options page: the discovered managed instance
// parameters (read-only) and the SQL Server address the managed instance probes, plus
// the probe timeout. The values are validated as they are typed; Next is refused while
// they are invalid.
//
// Below the form the Azure section shows the checks of steps.NewAzureChecker (run in a Cmd
// when the page is entered, and again before Summary when the address changed): the
// cloud, the permissions and NSG findings, and the allowlist of the cloud chosen on the
// Login page. A running or failing Azure check never blocks Next.
type networkModel struct {
	form         form
	mi           steps.MIParams
	endpointPort int
	sshHost      string          // --ssh: used in auto mode when the SSH fields are hidden
	sshBase      steps.SSHConfig // the configured SSH connection: the fields start from it
	sqlHost      string          // the SQL Server host: the SSH host when its field is empty
	formLine     int             // line of the form's first field in the page's content
	scrolledOff  bool            // PgUp/PgDn took the focused field off screen: no field has the keyboard
	ipEdited     bool            // the user typed an address: keep it when discovery changes
	defaultIP    string
	err          error  // validation error of the current values
	warn         string // steps.AddressWarning of the current address
	tried        bool   // Enter was pressed with invalid values
	vp           viewport.Model
	cmds         cmdList // the Azure findings' fixes, as command blocks; they take the keys only when no field has them

	cloud    steps.Cloud      // chosen on the Login page
	azKey    string           // what the latest Azure check was started for
	azGen    int              // generation of the latest Azure check
	azBusy   bool             // the latest Azure check is running
	azInfo   *steps.AzureInfo // outcome of the latest Azure check
	azMethod steps.AuthMethod // how the Azure check signs in ("" = not signed in)
	azCancel context.CancelFunc
	devCode  *deviceCodeMsg // device code sign-in of the Azure check
}

const (
	nfIP = iota
	nfTimeout
	nfProbeFrom
)

// probeFromChoices are where the SQL Server → managed instance probes can run.
var probeFromChoices = []string{steps.ProbeAuto, steps.ProbeAgent, steps.ProbeLocal, steps.ProbeSSH, steps.ProbeManual}

var probeFromHelp = map[string]string{
	steps.ProbeAuto:   "Agent job on Windows; on Linux from this machine if it is the SQL Server host, else a command to run there",
	steps.ProbeAgent:  "an Agent job on SQL Server, Windows only",
	steps.ProbeLocal:  "TCP connects from this machine, which must be the SQL Server host",
	steps.ProbeManual: "print a command to run on the SQL Server host",
	steps.ProbeSSH:    "over SSH on the SQL Server host, its host key checked against known_hosts",
}

func newNetworkModel(cfg steps.Config) networkModel {
	n := networkModel{endpointPort: cfg.EndpointPort, sshHost: cfg.SSH.Host, sshBase: cfg.SSH, sqlHost: cfg.SQLServer.Host, form: form{fields: append([]field{
		newTextField("SQL Server IP", cfg.SQLServerIP, "the address the MI reaches SQL Server on", false),
		newTextField("Probe timeout", cfg.ProbeTimeout.String(), "5s", false),
		newChoiceField("SQL Server → MI probes", probeFromChoices, orDefault(cfg.ProbeFrom, steps.ProbeAuto), ""),
	}, sshFields(cfg.SSH)...), refresh: showSSH}}
	showSSH(&n.form)
	n.ipEdited = cfg.SQLServerIP != ""
	n.form.focusOn(nfIP)
	n.vp = newViewport()
	n.cloud = lookupCloud("")
	return n
}

// enter refreshes the page from the session's defaults for this step: the
// discovered parameters and, unless the user typed one, the SQL Server address SQL
// Server itself reported; and the cloud chosen on the Login page.
func (p *networkModel) enter(defaults steps.NetworkOptions, cloud steps.Cloud) tea.Cmd {
	p.mi = defaults.MI
	p.cloud = cloud
	if !p.ipEdited {
		p.defaultIP = defaults.SQLServerIP
		p.form.fields[nfIP].input.SetValue(defaults.SQLServerIP)
		p.form.fields[nfIP].input.CursorEnd()
	}
	p.check()
	p.scrolledOff = false
	return p.form.focusOn(p.form.focus)
}

// parseTimeout accepts a Go duration ("5s", "1500ms") or a number of seconds.
func parseTimeout(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("probe timeout: %w: it is empty", steps.ErrInvalidInput)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		n, nerr := strconv.ParseFloat(s, 64)
		if nerr != nil {
			return 0, fmt.Errorf("probe timeout: %w: %q is not a duration (e.g. 5s, 1500ms)", steps.ErrInvalidInput, s)
		}
		d = time.Duration(n * float64(time.Second))
	}
	if d < 100*time.Millisecond || d > 5*time.Minute {
		return 0, fmt.Errorf("probe timeout: %w: %s is outside 100ms-5m", steps.ErrInvalidInput, d)
	}
	return d, nil
}

// options returns the validated network options (no I/O).
func (p *networkModel) options() (steps.NetworkOptions, error) {
	o := steps.NetworkOptions{MI: p.mi, SQLServerIP: p.form.fields[nfIP].value(), EndpointPort: p.endpointPort, ProbeFrom: p.form.fields[nfProbeFrom].value(), SSHHost: p.sshHost}
	d, err := parseTimeout(p.form.fields[nfTimeout].value())
	if err != nil {
		return o, err
	}
	o.ProbeTimeout = d
	if o.ProbeFrom == steps.ProbeSSH {
		c, err := p.sshConfig()
		if err != nil {
			return o, err
		}
		o.SSHHost = c.Host
	}
	if err := o.Validate(); err != nil {
		return o, err
	}
	if w := steps.UnusableAddress(o.SQLServerIP); w != "" {
		// Required: the managed instance can never reach it (on the MI, 127.0.0.1:5022
		// is the MI itself), so the MI → SQL Server test would prove nothing.
		return o, fmt.Errorf("SQL Server IP: %w: %s", steps.ErrInvalidInput, w)
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

// beginAzure records a new Azure check for key and returns its generation and context
// (a check still running for other values is canceled).
func (p *networkModel) beginAzure(ctx context.Context, key string, method steps.AuthMethod) (int, context.Context) {
	if p.azCancel != nil {
		p.azCancel()
	}
	ctx, p.azCancel = context.WithCancel(ctx)
	p.azKey, p.azMethod = key, method
	p.azGen++
	p.azBusy, p.azInfo, p.devCode = true, nil, nil
	p.cmds = cmdList{}
	return p.azGen, ctx
}

// azureDone records the outcome of the latest Azure check.
func (p *networkModel) azureDone(info steps.AzureInfo) {
	p.azBusy, p.devCode = false, nil
	p.azInfo = &info
	p.cmds = cmdList{} // new findings: their own fixes, the first selected
}

// azureResult is the outcome of the latest Azure check, or nil while it runs (or when
// none ran).
func (p *networkModel) azureResult() *steps.AzureInfo {
	if p.azBusy {
		return nil
	}
	return p.azInfo
}

// showDeviceCode displays a device code prompt of the running Azure check.
func (p *networkModel) showDeviceCode(msg deviceCodeMsg) {
	if !p.azBusy || (msg.tag.purpose == promptAzure && msg.tag.gen != p.azGen) {
		return
	}
	p.devCode = &msg
}

func (p *networkModel) update(msg tea.Msg, keys keyMap) (tea.Cmd, nav) {
	defer p.cmds.follow(&p.vp)
	if km, ok := msg.(tea.KeyPressMsg); ok {
		if !p.form.focused {
			// No field has the keyboard (scrolled off): the command keys are free.
			if cmd, done := p.cmds.update(km, keys, &p.vp); done {
				return cmd, navNone
			}
		}
		switch {
		case key.Matches(km, keys.Page):
			scroll(&p.vp, km)
			if p.scrolledOff && p.fieldVisible() {
				p.scrolledOff = false
				return p.form.focusOn(p.form.focus), navNone
			}
			if !p.fieldVisible() {
				// No hidden focus: typing must not edit a field the user cannot see.
				p.form.blur()
				p.scrolledOff = true
			}
			return nil, navNone
		case p.scrolledOff && (key.Matches(km, keys.NextField) || key.Matches(km, keys.PrevField)):
			p.scrolledOff = false
			return p.form.focusOn(p.form.focus), navNone
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

func (p *networkModel) setSize(width, height int) {
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
	p.formLine = strings.Count(b.String(), "\n")
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
		how := probeFromHelp[o.ProbeFrom]
		if o.ProbeFrom == steps.ProbeSSH {
			how = "over SSH to " + o.SSHHost + ", its host key checked against known_hosts"
		}
		b.WriteString(wrap(fmt.Sprintf("Probes: SQL Server → %s and %s (%s); managed instance → %s (timeout %s each)",
			hostPort(t[0].Host, t[0].Port), hostPort(t[1].Host, t[1].Port), how, hostPort(t[2].Host, t[2].Port), o.ProbeTimeout), width, styles.Pass.Render("✓ "), "  ", nil))
		if p.warn != "" {
			b.WriteString("\n")
			b.WriteString(wrap(p.warn, width, styles.Badge[steps.Warn].Render("WARN")+"  ", "      ", styles.Warn.Render))
		}
	}
	b.WriteString("\n\n")
	p.cmds.reset()
	p.cmds.inactive = p.form.focused // typed n, c, ←/→ belong to the focused field
	b.WriteString(p.azureSection(width, strings.Count(b.String(), "\n")))
	p.vp.SetWidth(width)
	p.vp.SetHeight(max(1, height-1))
	p.vp.SetContent(b.String())
	if p.form.focused && !p.fieldVisible() {
		p.vp.SetYOffset(max(0, p.fieldLine()-p.vp.Height()+1)) // the focused field follows the keyboard
		if p.fieldLine() < p.vp.YOffset() {
			p.vp.SetYOffset(p.fieldLine())
		}
	}
	p.cmds.track(&p.vp)
}

// fieldLine is the line of the focused field in the page's content.
func (p *networkModel) fieldLine() int {
	line := p.formLine
	for i := 0; i < p.form.focus; i++ {
		if !p.form.fields[i].hidden {
			line++
		}
	}
	return line
}

// fieldVisible reports whether the focused field is on screen.
func (p *networkModel) fieldVisible() bool {
	l := p.fieldLine()
	return l >= p.vp.YOffset() && l < p.vp.YOffset()+p.vp.Height()
}

// azureSection shows the Azure checks and the allowlist of the chosen cloud; line is
// the section's first line in the page's content (for the command blocks).
func (p *networkModel) azureSection(width, line int) string {
	var b strings.Builder
	how := "Azure sign-in: none, so your permissions and the NSG rules are not checked."
	if p.azMethod != "" {
		how = "Azure sign-in: Entra ID (" + methodName(p.azMethod) + ")."
	}
	status := styles.Muted.Render("not checked yet")
	switch {
	case p.azBusy:
		status = styles.Spinner.Render("checking …")
	case p.azInfo != nil && len(p.azInfo.Findings) > 0:
		status = countFindings(p.azInfo.Findings)
	}
	b.WriteString(ansi.Truncate(styles.Heading.Render("Azure ("+p.cloud.Name+"): ")+status, width, "…"))
	b.WriteString("\n")
	b.WriteString(wrap(how, width, "", "", styles.Muted.Render))
	switch {
	case p.azBusy:
		b.WriteString("\n")
		b.WriteString(wrap("Checking Azure … (cloud, your permissions on the managed instance, its subnet's NSG rules). Enter continues without waiting; the outcome goes into the report.", width, styles.Spinner.Render("… "), "  ", nil))
		if p.devCode != nil {
			b.WriteString("\n")
			b.WriteString(renderDeviceCode(*p.devCode, width, "The Azure checks wait for the sign-in; the network test does not."))
		}
	case p.azInfo != nil && len(p.azInfo.Findings) > 0:
		b.WriteString("\n")
		p.cmds.base = line + strings.Count(b.String(), "\n")
		b.WriteString(renderFindings(p.azInfo.Findings, "Windows", width, &p.cmds))
	}
	allow := allowlistOf(p.cloud, p.mi.FQDN)
	if info := p.azureResult(); info != nil && len(info.Allowlist) > 0 {
		allow = info.Allowlist
	}
	b.WriteString("\n\n")
	b.WriteString(wrap("Add to your allowlist ("+p.cloud.Name+"): proxies and firewalls between SQL Server and Azure must let these through", width, "", "", styles.Heading.Render))
	b.WriteString("\n")
	b.WriteString(renderAllowlist(allow, width))
	return b.String()
}

func (p *networkModel) view(width, height int) string {
	return fitHeight(scrolledHint(p.vp, "PgUp/PgDn to scroll"), width, height)
}

func (p *networkModel) help(keys keyMap) bindings {
	// PgUp/PgDn are named by the hint under the page when there is more to see.
	if p.scrolledOff {
		return append(append(bindings{withHelp(keys.Next, "enter", "next: summary")}, p.cmds.help(keys)...), withHelp(keys.NextField, "tab/↑↓", "back to the fields"), keys.Back, keys.Quit)
	}
	return bindings{withHelp(keys.Next, "enter", "next: summary"), keys.NextField, keys.Change, keys.Back, keys.Quit}
}
