package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/milink/milink/steps"
)

// summaryModel is the Summary page: the plan (Session.BuildPlan, run in a Cmd when the
// page is entered) listed in order and labelled by server, with the decisions the
// user should know about. Enter ("Finish") starts the test; nothing is created before.
type summaryModel struct {
	gen      int
	building bool
	plan     *steps.Plan
	err      error
	vp       viewport.Model
	cmds     cmdList // the fixes of the plan's findings, as command blocks to copy
}

func newSummaryModel() summaryModel { return summaryModel{vp: newViewport()} }

// begin marks a new plan as being built and returns its generation.
func (p *summaryModel) begin() int {
	p.gen++
	p.building = true
	p.plan = nil
	p.err = nil
	p.vp.GotoTop()
	return p.gen
}

func (p *summaryModel) built(msg planBuiltMsg) {
	if msg.gen != p.gen {
		return
	}
	p.building = false
	p.plan, p.err = msg.plan, msg.err
	p.cmds = cmdList{} // new findings: their own fixes, the first selected
}

func (p *summaryModel) update(msg tea.Msg, keys keyMap) (tea.Cmd, nav) {
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil, navNone
	}
	if p.plan != nil && !p.building {
		if cmd, done := p.cmds.update(km, keys, &p.vp); done {
			return cmd, navNone
		}
	}
	defer p.cmds.follow(&p.vp)
	switch {
	case key.Matches(km, keys.Back):
		return nil, navBack
	case key.Matches(km, keys.Start):
		if p.plan != nil && !p.building {
			return nil, navNext
		}
	case key.Matches(km, keys.Scroll):
		scroll(&p.vp, km)
	}
	return nil, navNone
}

func (p *summaryModel) setSize(width, height int) {
	p.vp.SetWidth(width)
	p.vp.SetHeight(max(1, height-1))
	p.vp.SetContent(p.content(width))
	p.cmds.track(&p.vp)
}

func (p *summaryModel) content(width int) string {
	p.cmds.reset()
	switch {
	case p.building:
		return styles.Spinner.Render("… ") + "Building the plan: choosing object names, checking for an existing endpoint and for leftovers of earlier runs …"
	case p.err != nil:
		return wrap("The plan could not be built: "+p.err.Error(), width, styles.Error.Render("✗ "), "  ", styles.Fail.Render) +
			"\n\n" + styles.Muted.Render("Press Esc to go back and correct the options.")
	case p.plan == nil:
		return ""
	}
	pl := p.plan
	var b strings.Builder
	b.WriteString(wrap("Nothing has been created yet. Press Enter (Finish) to run these actions; everything milink creates is removed at the end.", width, "", "", styles.Muted.Render))
	b.WriteString("\n")
	if len(pl.Findings) > 0 {
		b.WriteString("\n")
		p.cmds.base = strings.Count(b.String(), "\n")
		b.WriteString(renderFindings(pl.Findings, "Windows", width, &p.cmds))
		b.WriteString("\n")
	}
	for _, d := range []struct {
		name   string
		run    bool
		reason string
	}{{string(steps.SQLToMI), pl.RunSQLToMI, pl.SQLToMISkipReason}, {string(steps.MIToSQL), pl.RunMIToSQL, pl.MIToSQLSkipReason}} {
		if !d.run {
			b.WriteString("\n")
			b.WriteString(wrap(d.name+" will not be tested: "+d.reason, width, styles.Badge[steps.Warn].Render("SKIP")+"  ", "      ", nil))
			b.WriteString("\n")
		}
	}
	b.WriteString("\n")
	b.WriteString(styles.Heading.Render(fmt.Sprintf("Actions, in order (run %s)", pl.RunID)))
	const serverW = 17
	for i, a := range pl.Actions {
		b.WriteString("\n")
		label := padRight(a.Server, serverW)
		if a.Server == "SQL Server" {
			label = styles.Info.Render(label)
		} else {
			label = styles.Value.Render(label)
		}
		first := fmt.Sprintf("%2d. ", i+1) + label
		indent := strings.Repeat(" ", 4+serverW)
		b.WriteString(wrap(a.Description, width, first, indent, nil))
		if a.Detail != "" {
			b.WriteString("\n")
			b.WriteString(wrap(a.Detail, width, indent, indent, styles.Muted.Render))
		}
	}
	return b.String()
}

func (p *summaryModel) view(width, height int) string {
	return fitHeight(scrolled(p.vp), width, height)
}

func (p *summaryModel) help(keys keyMap) bindings {
	if p.plan == nil {
		return bindings{keys.Back, keys.Quit}
	}
	return append(append(bindings{keys.Start}, p.cmds.help(keys)...), keys.Scroll, keys.Back, keys.Quit)
}
