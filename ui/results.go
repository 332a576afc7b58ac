package ui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/milink/milink/steps"
)

// resultsModel is the Results page: live progress per direction while the runner
// works (spinner, elapsed time, latest action), then the result table per probe with
// explanations and fixes, the cleanup status and the overall outcome.
type resultsModel struct {
	running    bool
	finished   bool
	cleaningUp bool // quit was confirmed while running: waiting for Execute's cleanup
	started    time.Time
	now        time.Time
	spinner    spinner.Model
	dirs       []dirProgress
	general    string // latest event without a direction (cleanup, warnings)
	events     []steps.Event
	rep        *steps.Report
	platform   string
	saving     bool
	saved      []string
	savedNote  string // the report went elsewhere than asked (the state directory)
	saveErr    error
	saveAsk    savePrompt // s: where to save
	saveTo     string     // the path given (resultsSave)
	vp         viewport.Model
	head       string
	paste      pasteArea  // p: the pasted output of the manual probe command
	pasted     string     // the pasted text handed to the session (resultsPaste)
	azureWait  bool       // the Azure checks still run; their outcome is added to the report when they end
	cmds       cmdList    // the command to run by hand and the fixes, as blocks to copy
	watch      watchState // w: test again every few seconds until both directions pass
}

type dirProgress struct {
	dir  steps.Direction
	last string
	done bool
	end  time.Time
}

func newResultsModel(reportDir string) resultsModel {
	return resultsModel{
		saveTo:  orDefault(reportDir, "."),
		spinner: spinner.New(spinner.WithSpinner(spinner.Line), spinner.WithStyle(styles.Spinner)),
		vp:      newViewport(),
	}
}

// start begins the live progress view.
func (p *resultsModel) start(now time.Time, rep *steps.Report, platform string) tea.Cmd {
	p.running, p.finished, p.cleaningUp = true, false, false
	p.started, p.now = now, now
	p.rep, p.platform = rep, platform
	p.dirs = []dirProgress{{dir: steps.SQLToMI, last: "waiting to start"}, {dir: steps.MIToSQL, last: "waiting to start"}}
	p.events, p.general = nil, ""
	p.cmds = cmdList{} // a new report: its own commands, the first selected
	// The banners of the last run's report and of the last watch are about runs
	// that are over: gone when a new one starts.
	p.saved, p.savedNote, p.saveErr = nil, "", nil
	p.watch.result = ""
	return p.spinner.Tick
}

// event records one runner event.
func (p *resultsModel) event(ev steps.Event) {
	p.events = append(p.events, ev)
	if !ev.Time.IsZero() && ev.Time.After(p.now) {
		p.now = ev.Time
	}
	for i := range p.dirs {
		if p.dirs[i].dir == ev.Direction {
			p.dirs[i].last = ev.Message
			if ev.Kind == steps.EventDone {
				p.dirs[i].done = true
				p.dirs[i].end = ev.Time
			}
			return
		}
	}
	p.general = ev.Message
}

// finish shows the final results of rep.
func (p *resultsModel) finish(now time.Time) {
	p.running, p.finished = false, true
	p.now = now
	p.vp.GotoTop()
}

func (p *resultsModel) update(msg tea.Msg, keys keyMap) (tea.Cmd, resultsAction) {
	switch msg := msg.(type) {
	case spinner.TickMsg:
		if !p.running {
			return nil, resultsNone
		}
		p.now = msg.Time
		var cmd tea.Cmd
		p.spinner, cmd = p.spinner.Update(msg)
		return cmd, resultsNone
	case tea.PasteMsg:
		if p.saveAsk.open {
			cmd, _, _ := p.saveAsk.update(msg, keys)
			return cmd, resultsNone
		}
		if p.paste.open {
			cmd, _, _ := p.paste.update(msg, keys)
			return cmd, resultsNone
		}
		return nil, resultsNone
	case tea.KeyPressMsg:
		if !p.finished {
			return nil, resultsNone
		}
		if p.paste.open { // every key is text until Ctrl-D or Esc
			cmd, done, submit := p.paste.update(msg, keys)
			if done && submit {
				p.pasted = p.paste.value()
				return nil, resultsPaste
			}
			return cmd, resultsNone
		}
		if p.saveAsk.open {
			cmd, done, path := p.saveAsk.update(msg, keys)
			if done && path != "" {
				p.saving, p.saveTo = true, path
				return nil, resultsSave
			}
			return cmd, resultsNone
		}
		if cmd, done := p.cmds.update(msg, keys, &p.vp); done {
			return cmd, resultsNone
		}
		switch {
		case key.Matches(msg, keys.Paste) && p.manualDirection() != "":
			return p.paste.start(p.vp.Width()), resultsNone
		case key.Matches(msg, keys.Save):
			if !p.saving {
				return p.saveAsk.start(p.saveTo), resultsNone
			}
		case key.Matches(msg, keys.Retest):
			return nil, resultsRerun
		case key.Matches(msg, keys.Watch):
			return nil, resultsWatch
		case key.Matches(msg, keys.Recheck):
			return nil, resultsRecheck
		case key.Matches(msg, keys.Close):
			return nil, resultsClose
		case key.Matches(msg, keys.Scroll):
			scroll(&p.vp, msg)
			p.cmds.follow(&p.vp)
		}
	default:
		if p.saveAsk.open { // the cursor's blink
			cmd, _, _ := p.saveAsk.update(msg, keys)
			return cmd, resultsNone
		}
		if p.paste.open {
			cmd, _, _ := p.paste.update(msg, keys)
			return cmd, resultsNone
		}
	}
	return nil, resultsNone
}

type resultsAction int

const (
	resultsNone resultsAction = iota
	resultsSave
	resultsClose
	resultsRerun   // re-run the network test on the same connections
	resultsRecheck // back to Prerequisites, checked again on the same connection
	resultsPaste   // the user pasted the manual command's output (in pasted)
	resultsWatch   // start or stop the watch mode
)

func (p *resultsModel) savedReport(msg reportSavedMsg) {
	p.saving = false
	p.saved, p.saveErr, p.savedNote = msg.paths, msg.err, msg.note
}

func (p *resultsModel) setSize(width, height int) {
	if !p.finished {
		p.head = p.progressView(width)
		return
	}
	var head strings.Builder
	head.WriteString(outcomeLine(p.rep))
	if l := p.watch.line(); l != "" {
		head.WriteString("\n" + l)
	}
	switch {
	case p.saveErr != nil:
		head.WriteString("\n" + wrap(p.saveErr.Error(), width, styles.Error.Render("✗ "), "  ", styles.Fail.Render))
	case len(p.saved) > 0:
		head.WriteString("\n" + wrap(strings.TrimSpace(p.savedNote+" Report saved: "+strings.Join(p.saved, ", ")), width, styles.Pass.Render("✓ "), "  ", nil))
	case p.saving:
		head.WriteString("\n" + styles.Muted.Render("Saving the report …"))
	}
	if p.saveAsk.open {
		head.WriteString("\n" + p.saveAsk.view(width))
	}
	if p.paste.open {
		head.WriteString("\n" + p.paste.view(width))
	}
	p.head = head.String()
	p.vp.SetWidth(width)
	p.vp.SetHeight(max(1, height-strings.Count(p.head, "\n")-3))
	p.vp.SetContent(p.resultsContent(width))
	p.cmds.track(&p.vp)
}

func (p *resultsModel) view(width, height int) string {
	if !p.finished {
		return fitHeight(p.head, width, height)
	}
	return fitHeight(p.head+"\n\n"+scrolled(p.vp), width, height)
}

func (p *resultsModel) help(keys keyMap) bindings {
	if !p.finished {
		if p.watch.on {
			return bindings{withHelp(keys.Watch, "w", "stop watching"), withHelp(keys.Quit, "ctrl+c", "stop (cleans up)")}
		}
		return bindings{withHelp(keys.Quit, "ctrl+c", "stop (cleans up)")}
	}
	if p.paste.open {
		return bindings{withHelp(keys.Submit, "ctrl+d", "read the paste"), withHelp(keys.Back, "esc", "cancel paste")}
	}
	if p.saveAsk.open {
		return bindings{withHelp(keys.Next, "enter", "save"), withHelp(keys.Back, "esc", "cancel")}
	}
	// Short words: the footer fits 80 columns. The selected command's label names n/N
	// and ←/→; the hint under the page names the scroll keys.
	var b bindings
	if p.manualDirection() != "" {
		b = append(b, withHelp(keys.Paste, "p", "paste output"))
	}
	b = append(b, p.cmds.help(keys)...)
	watch := withHelp(keys.Watch, "w", "watch")
	if p.watch.on {
		watch = withHelp(keys.Watch, "w", "stop watching")
	}
	return append(b, withHelp(keys.Retest, "t", "re-test"), watch, withHelp(keys.Recheck, "r", "re-check prereqs"), withHelp(keys.Save, "s", "save"), withHelp(keys.Close, "q", "close"))
}

func round(d time.Duration) time.Duration { return d.Round(100 * time.Millisecond) }

func (p *resultsModel) progressView(width int) string {
	var b strings.Builder
	elapsed := p.now.Sub(p.started)
	b.WriteString(styles.Heading.Render("Testing the network in both directions") + styles.Muted.Render(fmt.Sprintf(" · %s elapsed", elapsed.Round(time.Second))))
	b.WriteString("\n")
	if l := p.watch.line(); l != "" {
		b.WriteString(ansi.Truncate(l, width, "…") + "\n")
	}
	if p.cleaningUp {
		b.WriteString("\n" + styles.Prompt.Render("Cleaning up…") + " removing what this run created (jobs, endpoint, certificate), then milink quits.\n")
	}
	for _, d := range p.dirs {
		b.WriteString("\n")
		if d.done {
			b.WriteString(styles.Pass.Render("✓ ") + styles.Value.Render(string(d.dir)) + styles.Muted.Render(fmt.Sprintf("  done after %s", round(d.end.Sub(p.started)))))
		} else {
			b.WriteString(p.spinner.View() + " " + styles.Value.Render(string(d.dir)) + styles.Muted.Render(fmt.Sprintf("  %s", elapsed.Round(time.Second))))
		}
		b.WriteString("\n")
		b.WriteString(wrap(d.last, width, "    ", "    ", nil))
	}
	if p.general != "" {
		b.WriteString("\n\n" + wrap(p.general, width, styles.Muted.Render("› "), "  ", nil))
	}
	b.WriteString("\n\n" + styles.Heading.Render("Events"))
	const keep = 6
	evs := p.events
	if len(evs) > keep {
		evs = evs[len(evs)-keep:]
	}
	for _, ev := range evs {
		b.WriteString("\n")
		b.WriteString(ansi.Truncate(styles.Muted.Render(ev.Time.Format("15:04:05")+"  ")+eventText(ev), width, "…"))
	}
	return b.String()
}

// eventText is an event as one line: "[SQL Server → managed instance] message".
func eventText(ev steps.Event) string {
	if ev.Direction == "" {
		return ev.Message
	}
	return "[" + shortDir(ev.Direction) + "] " + ev.Message
}

func shortDir(d steps.Direction) string {
	switch d {
	case steps.SQLToMI:
		return "SQL Server → MI"
	case steps.MIToSQL:
		return "MI → SQL Server"
	}
	return string(d)
}

// outcomeLine is the report's overall outcome, coloured by exit code.
func outcomeLine(rep *steps.Report) string {
	if rep == nil {
		return ""
	}
	st := styles.Fail
	switch rep.ExitCode {
	case steps.ExitOK:
		st = styles.Pass
	case steps.ExitPrereq, steps.ExitInterrupted:
		st = styles.Warn
	}
	return styles.Heading.Render("Result: ") + st.Bold(true).Render(rep.Outcome) + styles.Muted.Render(fmt.Sprintf(" (exit code %d)", rep.ExitCode))
}

func statusWord(s string) string {
	switch s {
	case steps.StatusPassed:
		return styles.Pass.Render("✓ passed")
	case steps.StatusNotRun:
		return styles.Warn.Render("– not run")
	case steps.StatusFailed:
		return styles.Fail.Render("✗ failed")
	}
	return styles.Fail.Render("✗ " + s)
}

func (p *resultsModel) resultsContent(width int) string {
	rep := p.rep
	p.cmds.reset()
	var b strings.Builder
	for _, d := range rep.Directions {
		line := statusWord(d.Status) + " " + string(d.Direction)
		switch {
		case d.Status == steps.StatusNotRun:
		case d.Job != "":
			line += styles.Muted.Render(fmt.Sprintf(" (job %s, %s)", d.Job, round(d.Elapsed)))
		case d.Method != "":
			line += styles.Muted.Render(fmt.Sprintf(" (%s, %s)", d.Method, round(d.Elapsed)))
		}
		b.WriteString(ansi.Truncate(line, width, "…") + "\n")
	}
	b.WriteString("\n")
	b.WriteString(probeTable(rep.Directions, width))
	// Explanations and fixes of what failed.
	for _, d := range rep.Directions {
		if d.Reason != "" {
			b.WriteString("\n\n")
			b.WriteString(wrap(shortDir(d.Direction)+": "+d.Reason, width, styles.Badge[steps.Warn].Render("NOTE")+"  ", "      ", nil))
		}
		if d.ManualCommand != "" {
			b.WriteString("\n")
			p.cmds.write(&b, "Run on the SQL Server host:", d.ManualCommand, width)
		}
		for _, pr := range d.Probes {
			if pr.Succeeded {
				continue
			}
			b.WriteString("\n\n")
			b.WriteString(wrap(fmt.Sprintf("%s %s: %s", shortDir(d.Direction), hostPort(pr.Host, pr.Port), pr.Verdict), width, styles.Badge[steps.Fail].Render("FAIL")+"  ", "      ", styles.Value.Render))
			if pr.Detail != "" && pr.Explanation == "" {
				b.WriteString("\n" + wrap(pr.Detail, width, "      ", "      ", styles.Muted.Render))
			}
			if pr.Explanation != "" {
				b.WriteString("\n" + wrap(pr.Explanation, width, "      ", "      ", nil))
			}
			for _, x := range pr.Fixes {
				if x.Platform == p.platform || x.Platform == "Azure" {
					b.WriteString("\n")
					writeFix(&b, &p.cmds, x, width)
				}
			}
		}
	}
	if len(rep.Cleanup) > 0 {
		b.WriteString("\n\n" + styles.Heading.Render("Cleanup"))
		for _, c := range rep.Cleanup {
			b.WriteString("\n")
			switch {
			case c.Error != "":
				b.WriteString(wrap(fmt.Sprintf("%s: %s %s: %s", c.Server, c.Kind, c.Name, c.Error), width, styles.Fail.Render("✗ "), "  ", styles.Fail.Render))
			case c.Removed:
				b.WriteString(wrap(fmt.Sprintf("%s: removed %s %s", c.Server, c.Kind, c.Name), width, styles.Pass.Render("✓ "), "  ", nil))
			case c.Note != "":
				b.WriteString(wrap(fmt.Sprintf("%s: %s %s: %s", c.Server, c.Kind, c.Name, c.Note), width, styles.Pass.Render("✓ "), "  ", nil))
			default:
				b.WriteString(wrap(fmt.Sprintf("%s: %s %s was not there", c.Server, c.Kind, c.Name), width, styles.Pass.Render("✓ "), "  ", nil))
			}
		}
		if !cleanupOK(rep.Cleanup) {
			b.WriteString("\n" + wrap("Run 'milink cleanup' with the same servers to remove what is left (only milink's objects are touched).", width, "  ", "  ", styles.Warn.Render))
		}
	} else if rep.Error == "" || len(rep.Directions) > 0 {
		b.WriteString("\n\n" + styles.Heading.Render("Cleanup") + "\n" + styles.Pass.Render("✓ ") + "nothing was left to remove")
	}
	if len(rep.Findings) > 0 {
		b.WriteString("\n\n" + styles.Heading.Render("Prerequisites: ") + countFindings(rep.Findings))
		for _, f := range sortedFindings(rep.Findings) {
			if f.Severity == steps.Fail || f.Severity == steps.Warn {
				b.WriteString("\n" + wrap(f.Server+": "+f.Title, width, badge(f.Severity)+"  ", "      ", nil))
			}
		}
	}
	if p.azureWait {
		b.WriteString("\n\n" + wrap("Azure checks are still running; their findings and the allowlist are added to the report when they end.", width, styles.Spinner.Render("… "), "  ", styles.Muted.Render))
	}
	if len(rep.Allowlist) > 0 {
		b.WriteString("\n\n" + wrap("Add to your allowlist ("+rep.Cloud+"): proxies and firewalls between SQL Server and Azure must let these through", width, "", "", styles.Heading.Render))
		b.WriteString("\n" + renderAllowlist(rep.Allowlist, width))
	}
	for _, w := range rep.Warnings {
		b.WriteString("\n\n" + wrap(w, width, styles.Badge[steps.Warn].Render("WARN")+"  ", "      ", nil))
	}
	if rep.Error != "" && rep.ExitCode != steps.ExitInterrupted {
		b.WriteString("\n\n" + wrap(rep.Error, width, styles.Error.Render("✗ "), "  ", styles.Fail.Render))
	}
	return b.String()
}

func cleanupOK(items []steps.CleanupItem) bool {
	for _, c := range items {
		if c.Error != "" {
			return false
		}
	}
	return true
}

// probeTable renders one row per probe: direction, target host:port, verdict, remote
// address. The target column takes the room that is left and wraps.
func probeTable(dirs []steps.DirectionResult, width int) string {
	type row struct{ dir, target, verdict, remote string }
	var rows []row
	for _, d := range dirs {
		for _, pr := range d.Probes {
			rows = append(rows, row{shortDir(d.Direction), hostPort(pr.Host, pr.Port), string(pr.Verdict), pr.RemoteAddress})
		}
	}
	if len(rows) == 0 {
		return styles.Muted.Render("No probe ran.")
	}
	dirW, verdictW, remoteW, longest := len("Direction"), len("Verdict"), len("Remote address"), len("Target")
	for _, r := range rows {
		longest = max(longest, len(r.target))
		dirW = max(dirW, ansi.StringWidth(r.dir))
		verdictW = max(verdictW, len(r.verdict))
		remoteW = max(remoteW, len(r.remote))
	}
	targetW := min(longest, max(12, width-dirW-verdictW-remoteW-6))
	cell := func(s string, w int) string { return padRight(s, w) }
	var b strings.Builder
	b.WriteString(styles.Muted.Render(cell("Direction", dirW) + "  " + cell("Target", targetW) + "  " + cell("Verdict", verdictW) + "  " + "Remote address"))
	for _, r := range rows {
		ok := r.verdict == "connected"
		tl := wrapLines(r.target, targetW)
		b.WriteString("\n")
		b.WriteString(cell(r.dir, dirW) + "  " + cell(tl[0], targetW) + "  " + statusStyle(ok).Render(cell(r.verdict, verdictW)) + "  " + r.remote)
		for _, l := range tl[1:] {
			b.WriteString("\n" + strings.Repeat(" ", dirW+2) + l)
		}
	}
	return b.String()
}
