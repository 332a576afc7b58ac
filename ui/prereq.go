package ui

import (
	"context"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/milink/milink/steps"
)

// prereqModel is the Prerequisites page: the SQL Server connection form, and after
// "Validate" (Enter) every prerequisite finding with its fix for the server's platform.
// Failures do not block Next: the network test is still worth running.
type prereqModel struct {
	connStep
	databases []string
	pre       *steps.Prerequisites
	fix       *fixModel        // the Fix action while it is open (fix.go)
	host      steps.HostRunner // the SSH prober, for mssql-conf; nil without one
	cmds      cmdList          // the fixes, as command blocks to copy
	fixNote   string           // f found nothing milink can fix (shown above the findings)
}

func newPrereqModel(cfg steps.Config) prereqModel {
	return prereqModel{connStep: newConnStep(newConnForm(cfg.SQLServer, "sqlprod01.contoso.local or 10.1.0.4", nil), cfg.SQLServer), databases: cfg.Databases}
}

// validate starts connecting to SQL Server; the check follows in prereqDoneMsg.
func (p *prereqModel) validate(ctx context.Context, sess *steps.Session) tea.Cmd {
	cfg, ok := p.startValidation("Connecting to SQL Server " + p.formAddress() + " …")
	if !ok {
		return nil
	}
	p.pre = nil
	ctx, tick := p.beginBusy(ctx, cfg)
	return tea.Batch(sqlConnectCmd(ctx, sess, cfg, p.gen), tick)
}

func (p *prereqModel) formAddress() string {
	c, _ := connConfig(&p.form, p.base)
	return c.Address()
}

// connected handles sqlConnectedMsg; the session owns the connection.
func (p *prereqModel) connected(ctx context.Context, sess *steps.Session, msg sqlConnectedMsg) tea.Cmd {
	if msg.err != nil {
		return p.failed(msg.err)
	}
	p.used = msg.cfg
	p.busy = "Checking the link prerequisites on " + msg.cfg.Address() + " …"
	return checkPrereqCmd(ctx, sess, msg.gen)
}

// recheck checks the prerequisites again on the session's open connection (from the
// Results page, after the user fixed something): no new connection, no password.
func (p *prereqModel) recheck(ctx context.Context, sess *steps.Session) tea.Cmd {
	p.gen++
	p.err = nil
	p.busy = "Checking the link prerequisites again on " + p.used.Address() + " …"
	p.reviewing = false
	p.form.blur()
	return checkPrereqCmd(ctx, sess, p.gen)
}

// checked handles prereqDoneMsg.
func (p *prereqModel) checked(msg prereqDoneMsg) tea.Cmd {
	if msg.err != nil {
		return p.failed(fmt.Errorf("checking the prerequisites failed: %w", msg.err))
	}
	p.pre, p.fixNote = msg.pre, ""
	p.cmds = cmdList{} // new findings: their own fixes, the first selected
	p.succeeded()
	return nil
}

func (p *prereqModel) update(ctx context.Context, sess *steps.Session, msg tea.Msg, keys keyMap) (tea.Cmd, nav) {
	if p.fix != nil {
		return p.updateFix(ctx, sess, msg, keys), navNone
	}
	if km, ok := msg.(tea.KeyPressMsg); ok && p.reviewing && p.busy == "" && p.pre != nil && key.Matches(km, fixKey) {
		if !p.fixable() {
			p.fixNote = nothingToFix
			return nil, navNone
		}
		return p.startFix(ctx, sess), navNone
	}
	if km, ok := msg.(tea.KeyPressMsg); ok && p.reviewing && p.busy == "" {
		if cmd, done := p.cmds.update(km, keys, &p.vp); done {
			return cmd, navNone
		}
	}
	cmd, n := p.handleKey(msg, keys, func() tea.Cmd { return p.validate(ctx, sess) })
	if n == navNext && p.pre == nil {
		n = navNone
	}
	p.cmds.follow(&p.vp)
	return cmd, n
}

func (p *prereqModel) setSize(width, height int) {
	p.arrange(width, height, "SQL Server: the instance the link replicates from. milink connects, checks the link prerequisites and shows how to fix what is missing.", p.outcome(width))
	p.cmds.track(&p.vp)
}

func (p *prereqModel) outcome(width int) string {
	p.cmds.reset()
	if p.pre == nil || !p.reviewing {
		return ""
	}
	if p.fix != nil {
		return p.fix.view(width, &p.cmds)
	}
	var b strings.Builder
	s := p.pre.Server
	b.WriteString(wrap(fmt.Sprintf("%s %s · %s · %s %s", s.ServerName, s.ProductVersion, s.Edition, p.pre.Platform(), paren(s.HostDistribution)), width, "", "", nil))
	b.WriteString("\n")
	b.WriteString(styles.Heading.Render("Prerequisites: ") + countFindings(p.pre.Findings))
	b.WriteString("\n")
	if p.fixNote != "" {
		b.WriteString(wrap(p.fixNote, width, styles.Muted.Render("› "), "  ", nil) + "\n")
	}
	if steps.Worst(p.pre.Findings) == steps.Fail {
		b.WriteString(wrap("Failures do not stop the network test: fix them before creating the link. Enter continues.", width, "", "", styles.Muted.Render))
		b.WriteString("\n")
	}
	p.cmds.base = strings.Count(b.String(), "\n")
	b.WriteString(renderFindings(p.pre.Findings, p.pre.Platform(), width, &p.cmds))
	return b.String()
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

func (p *prereqModel) view(width, height int) string { return p.render(width, height) }

func (p *prereqModel) help(keys keyMap) bindings {
	switch {
	case p.busy != "":
		return bindings{keys.Back, keys.Quit}
	case p.fix != nil:
		return p.fix.help(keys, &p.cmds)
	case p.reviewing:
		b := bindings{keys.Next}
		if p.fixable() {
			b = append(b, fixKey)
		}
		return append(append(b, p.cmds.help(keys)...), keys.Rerun, keys.Edit, keys.Scroll, keys.Back, keys.Quit)
	}
	return bindings{keys.Validate, keys.NextField, keys.Change, keys.Back, keys.Quit}
}
