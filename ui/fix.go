package ui

import (
	"context"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/milink/milink/steps"
)

// The Prerequisites page's Fix action (f while reviewing): milink plans the changes
// that fix the findings (steps.Session.PlanPreparation), shows each exact statement
// with a choice per change (apply / skip: one finding or all that can be fixed), asks
// for what they need (the backup directory, the master key password twice), asks
// for consent (y/n), applies them (ApplyPreparation) and shows each record and the
// prerequisites before → after. Declining changes nothing. A restart (Linux, over the
// SSH prober) is asked for separately, naming the instance and its open sessions, while
// the changes are applied (restartAskMsg).

var fixKey = key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "fix…"))

// nothingToFix is what f says when milink has no change to make for the findings.
const nothingToFix = "Nothing milink can fix here: no finding needs a change milink makes (the fixes shown are for you to run)."

// fixable reports whether a finding fails or warns: only then is f offered (the plan
// may still find nothing milink can change, and then says so).
func (p *prereqModel) fixable() bool {
	if p.pre == nil {
		return false
	}
	for _, f := range p.pre.Findings {
		if f.Severity == steps.Fail || f.Severity == steps.Warn {
			return true
		}
	}
	return false
}

// help is the Fix page's footer for its state; cmds are the statements' blocks.
func (f *fixModel) help(keys keyMap, cmds *cmdList) bindings {
	switch f.state {
	case fixRestartAsk:
		return bindings{withHelp(keys.Yes, "y", "restart now"), withHelp(keys.No, "n", "not now"), keys.Quit}
	case fixConfirming:
		return bindings{withHelp(keys.Yes, "y", "apply"), withHelp(keys.No, "n", "change nothing"), keys.Quit}
	case fixDone:
		return bindings{withHelp(keys.Next, "enter/esc", "back to the findings"), keys.Scroll, keys.Quit}
	case fixEditing:
		if f.plan == nil { // planning failed
			return bindings{withHelp(keys.Back, "esc", "close"), keys.Quit}
		}
		b := bindings{withHelp(keys.Next, "enter", "review and apply"), withHelp(keys.Change, "←/→", "apply/skip")}
		if f.form.focused && f.form.fields[f.form.focus].isChoice() {
			b = append(b, cmds.help(keys)...)
		}
		return append(b, keys.NextField, keys.Page, withHelp(keys.Back, "esc", "cancel"), keys.Quit)
	}
	return bindings{keys.Quit}
}

// fixState is where the Fix action is.
type fixState int

const (
	fixPlanning fixState = iota
	fixEditing
	fixConfirming
	fixApplying
	fixRestartAsk
	fixDone
)

// Labels of the fix form's input fields (after one choice field per change).
const (
	fixBackupLabel = "Backup directory"
	fixPasswordLbl = "Master key password"
	fixAgainLabel  = "Password again"
)

// fixModel is the Fix action's state within the Prerequisites page.
type fixModel struct {
	state    fixState
	gen      int
	plan     *steps.Preparation
	form     form
	changes  []int // the change index of each choice field
	err      error
	outcome  *steps.PrepareOutcome
	declined bool
	ask      *restartAskMsg // the restart question while it is open
}

// restartAskMsg: ApplyPreparation asks whether to restart instance now (its
// ConfirmRestart); the answer goes back on answer.
type restartAskMsg struct {
	gen      int
	instance string
	sessions int
	answer   chan<- bool
}

// waitRestartAskCmd delivers the restart question of the running apply; it ends
// with nil when the apply finished without asking (asks closed).
func waitRestartAskCmd(ctx context.Context, asks <-chan restartAskMsg) tea.Cmd {
	return func() tea.Msg {
		select {
		case a, ok := <-asks:
			if ok {
				return a
			}
		case <-ctx.Done():
		}
		return nil
	}
}

// restartAsker is ApplyOptions.ConfirmRestart for the wizard: the question goes to the
// page through asks and the goroutine waits for the key the user presses.
func restartAsker(ctx context.Context, asks chan<- restartAskMsg, gen int) func(string, int) bool {
	return func(instance string, sessions int) bool {
		answer := make(chan bool, 1)
		select {
		case asks <- restartAskMsg{gen: gen, instance: instance, sessions: sessions, answer: answer}:
		case <-ctx.Done():
			return false
		}
		select {
		case yes := <-answer:
			return yes
		case <-ctx.Done():
			return false
		}
	}
}

// fixPlannedMsg: Session.PlanPreparation finished.
type fixPlannedMsg struct {
	gen  int
	plan *steps.Preparation
	err  error
}

// fixAppliedMsg: Session.ApplyPreparation finished.
type fixAppliedMsg struct {
	gen int
	out *steps.PrepareOutcome
	err error
}

func planFixCmd(ctx context.Context, sess *steps.Session, o steps.PrepareOptions, gen int) tea.Cmd {
	return func() tea.Msg {
		plan, err := sess.PlanPreparation(ctx, o)
		return fixPlannedMsg{gen: gen, plan: plan, err: err}
	}
}

// applyFixCmd plans again with the user's inputs (o.BackupDir), leaves out the
// changes set to skip, and applies the rest.
func applyFixCmd(ctx context.Context, sess *steps.Session, o steps.PrepareOptions, skip map[string]bool, a steps.ApplyOptions, asks chan restartAskMsg, gen int) tea.Cmd {
	return func() tea.Msg {
		defer close(asks)
		plan, err := sess.PlanPreparation(ctx, o)
		if err != nil {
			return fixAppliedMsg{gen: gen, err: err}
		}
		kept := plan.Changes[:0:0]
		for _, c := range plan.Changes {
			if !skip[c.ID] {
				kept = append(kept, c)
			}
		}
		plan.Changes = kept
		out, err := sess.ApplyPreparation(ctx, plan, a)
		return fixAppliedMsg{gen: gen, out: out, err: err}
	}
}

// startFix plans the fixes of the current findings.
func (p *prereqModel) startFix(ctx context.Context, sess *steps.Session) tea.Cmd {
	gen := 1
	if p.fix != nil {
		gen = p.fix.gen + 1
	}
	p.fix, p.fixNote = &fixModel{state: fixPlanning, gen: gen}, ""
	return planFixCmd(ctx, sess, steps.PrepareOptions{Databases: p.databases, SSH: p.host != nil}, gen)
}

// fixPlanned handles fixPlannedMsg: the form gets a choice per change milink can apply
// and the inputs the chosen changes need.
func (p *prereqModel) fixPlanned(msg fixPlannedMsg) tea.Cmd {
	f := p.fix
	if f == nil || msg.gen != f.gen {
		return nil
	}
	f.plan, f.err, f.state = msg.plan, msg.err, fixEditing
	if msg.err != nil {
		return nil
	}
	var fields []field
	backup, key := false, false
	for i, c := range msg.plan.Changes {
		if c.Kind != steps.ChangeTSQL && c.Kind != steps.ChangeSSH {
			continue
		}
		fields = append(fields, newChoiceField(fmt.Sprintf("%d. %s", i+1, c.ID), []string{"apply", "skip"}, "apply", ""))
		f.changes = append(f.changes, i)
		backup = backup || strings.HasPrefix(c.ID, "backup:")
		key = key || c.ID == "master-key"
	}
	if backup {
		fields = append(fields, newTextField(fixBackupLabel, "", "directory on the SQL Server host, writable by the service", false))
	}
	if key {
		fields = append(fields, newTextField(fixPasswordLbl, "", "never stored or shown: keep it safe", true), newTextField(fixAgainLabel, "", "", true))
	}
	f.form = form{fields: fields}
	if len(f.changes) == 0 {
		p.fix, p.fixNote = nil, nothingToFix
		return nil
	}
	return f.form.focusOn(0)
}

// fieldValue is the value of the field labelled label ("" when absent).
func (f *fixModel) fieldValue(label string) string {
	for i := range f.form.fields {
		if f.form.fields[i].label == label {
			return f.form.fields[i].value()
		}
	}
	return ""
}

// skipped is the set of change IDs set to skip.
func (f *fixModel) skipped() map[string]bool {
	skip := map[string]bool{}
	for k, i := range f.changes {
		if f.form.fields[k].value() == "skip" {
			skip[f.plan.Changes[i].ID] = true
		}
	}
	return skip
}

// updateFix handles a key while the Fix action is open.
func (p *prereqModel) updateFix(ctx context.Context, sess *steps.Session, msg tea.Msg, keys keyMap) tea.Cmd {
	f := p.fix
	km, isKey := msg.(tea.KeyPressMsg)
	switch f.state {
	case fixPlanning, fixApplying:
		return nil
	case fixRestartAsk:
		if isKey && (key.Matches(km, keys.Yes) || key.Matches(km, keys.No)) {
			f.ask.answer <- key.Matches(km, keys.Yes)
			f.ask, f.state = nil, fixApplying
		}
		return nil
	case fixDone:
		if isKey && (key.Matches(km, keys.Back) || key.Matches(km, keys.Next)) {
			p.fix = nil
		} else if isKey && key.Matches(km, keys.Scroll) {
			scroll(&p.vp, km)
		}
		return nil
	case fixConfirming:
		if !isKey {
			return nil
		}
		switch {
		case key.Matches(km, keys.Yes):
			return p.applyFix(ctx, sess)
		case key.Matches(km, keys.No):
			f.state, f.declined = fixEditing, true
			return f.form.focusOn(f.form.focus)
		}
		return nil
	}
	if isKey && f.form.focused && f.form.fields[f.form.focus].isChoice() && !key.Matches(km, keys.CmdScroll) {
		// c, n and N act on the statements while no text input takes the keys.
		if cmd, done := p.cmds.update(km, keys, &p.vp); done {
			return cmd
		}
	}
	if isKey {
		switch {
		case key.Matches(km, keys.Back):
			p.fix = nil // cancel: nothing changed
			return nil
		case km.String() == "enter":
			if err := f.inputError(); err != nil {
				f.err = err
				return nil
			}
			f.err, f.state = nil, fixConfirming
			f.form.blur()
			return nil
		case key.Matches(km, keys.Page):
			scroll(&p.vp, km)
			p.cmds.follow(&p.vp)
			return nil
		}
	}
	cmd, _ := f.form.update(msg, keys)
	return cmd
}

// inputError checks the inputs the chosen changes need, naming the field.
func (f *fixModel) inputError() error {
	chosen := map[string]bool{}
	for k, i := range f.changes {
		if f.form.fields[k].value() == "apply" {
			chosen[f.plan.Changes[i].ID] = true
		}
	}
	needsDir := false
	for id := range chosen {
		needsDir = needsDir || strings.HasPrefix(id, "backup:")
	}
	switch {
	case len(chosen) == 0:
		return fmt.Errorf("every change is set to skip: nothing to apply (esc closes)")
	case needsDir && f.fieldValue(fixBackupLabel) == "":
		return fmt.Errorf("%s: give the directory on the SQL Server host for the full backup (milink prepare --backup-dir)", fixBackupLabel)
	case chosen["master-key"] && f.fieldValue(fixPasswordLbl) == "":
		return fmt.Errorf("%s: give the master key's password (milink prepare: MILINK_MASTER_KEY_PASSWORD)", fixPasswordLbl)
	case chosen["master-key"] && f.fieldValue(fixPasswordLbl) != f.fieldValue(fixAgainLabel):
		return fmt.Errorf("%s: the two passwords differ", fixAgainLabel)
	}
	return nil
}

// applyFix starts applying the chosen changes; the password leaves the form.
func (p *prereqModel) applyFix(ctx context.Context, sess *steps.Session) tea.Cmd {
	f := p.fix
	o := steps.PrepareOptions{Databases: p.databases, BackupDir: f.fieldValue(fixBackupLabel), SSH: p.host != nil}
	a := steps.ApplyOptions{MasterKeyPassword: f.fieldValue(fixPasswordLbl), Host: p.host}
	for i := range f.form.fields {
		if f.form.fields[i].label == fixPasswordLbl || f.form.fields[i].label == fixAgainLabel {
			f.form.fields[i].input.SetValue("")
		}
	}
	asks := make(chan restartAskMsg)
	if p.host != nil {
		a.ConfirmRestart = restartAsker(ctx, asks, f.gen)
	}
	f.state = fixApplying
	return tea.Batch(applyFixCmd(ctx, sess, o, f.skipped(), a, asks, f.gen), waitRestartAskCmd(ctx, asks))
}

// restartAsked handles restartAskMsg: the question waits for y or n.
func (p *prereqModel) restartAsked(msg restartAskMsg) {
	f := p.fix
	if f == nil || msg.gen != f.gen || f.state != fixApplying {
		msg.answer <- false
		return
	}
	f.ask, f.state = &msg, fixRestartAsk
}

// fixApplied handles fixAppliedMsg: the records, and the page's findings checked again.
func (p *prereqModel) fixApplied(msg fixAppliedMsg) {
	f := p.fix
	if f == nil || msg.gen != f.gen {
		return
	}
	f.state, f.outcome, f.err = fixDone, msg.out, msg.err
	if msg.out == nil && msg.err != nil {
		// The inputs were refused before anything ran (a bad backup directory).
		f.state = fixEditing
	}
	if msg.out != nil && msg.out.After != nil {
		p.pre = msg.out.After
	}
}

// view renders the Fix action for the outcome area; the statements are command
// blocks of cmds (one line each, copied with c).
func (f *fixModel) view(width int, cmds *cmdList) string {
	var b strings.Builder
	line := func(s string) { b.WriteString(wrap(s, width, "", "  ", nil) + "\n") }
	switch f.state {
	case fixPlanning:
		return styles.Spinner.Render("… ") + "Planning the fixes …"
	case fixApplying:
		return styles.Spinner.Render("… ") + "Applying the changes, then checking the prerequisites again …"
	case fixRestartAsk:
		line(fmt.Sprintf("The startup settings take effect when SQL Server restarts. Restart SQL Server %s now? It has %d open user session(s), which the restart cuts.", f.ask.instance, f.ask.sessions))
		line("y: restart now · n: not now (restart it later yourself)")
		return b.String()
	case fixDone:
		b.WriteString(styles.Heading.Render("Fix: what changed") + "\n")
		if f.outcome != nil {
			for _, r := range f.outcome.Records {
				line(fmt.Sprintf("%s %s (%s, %s)", r.Status, r.What, r.By, r.At.Format("15:04:05Z")))
				for _, s := range []string{r.Output, r.Error, r.LeftAsIs} {
					if s != "" {
						line("    " + s)
					}
				}
			}
			if len(f.outcome.Changed) > 0 {
				b.WriteString(styles.Heading.Render("Prerequisites, before → after") + "\n")
				for _, c := range f.outcome.Changed {
					line(fmt.Sprintf("%s: %s → %s", c.ID, c.Before, c.After))
				}
			}
		}
		if f.err != nil {
			line("Error: " + f.err.Error())
		}
		line("Enter or esc: back to the findings.")
		return b.String()
	}
	if f.err != nil && f.plan == nil {
		return "Fix: " + f.err.Error()
	}
	b.WriteString(styles.Heading.Render(fmt.Sprintf("Fix: SQL Server %s (%s), as %s", f.plan.Instance, f.plan.Platform, f.plan.Login)) + "\n")
	cmds.noScroll = true // ←/→ change the focused apply/skip field
	for i, c := range f.plan.Changes {
		line(fmt.Sprintf("%d. %s [%s]", i+1, c.What, c.Kind))
		for k, s := range c.Statements {
			cmds.write(&b, fmt.Sprintf("%d.%d", i+1, k+1), s, width)
			b.WriteString("\n")
		}
		if c.Note != "" {
			line("   " + c.Note)
		}
	}
	f.form.setWidth(width) // a text input without a width shows one letter of its placeholder
	b.WriteString("\n" + f.form.view(width) + "\n")
	if f.err != nil {
		line(styles.Fail.Render("✗ ") + f.err.Error())
	}
	switch {
	case f.state == fixConfirming:
		line(fmt.Sprintf("Apply the chosen changes to SQL Server %s now? y: apply · n: no, change nothing", f.plan.Instance))
	case f.declined:
		line("Nothing was changed. Enter asks again; esc closes.")
	default:
		line("←/→ apply or skip each change · enter: review and apply · esc: cancel, nothing changes")
	}
	return b.String()
}
