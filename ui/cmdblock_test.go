package ui

import (
	"bytes"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps"
	"github.com/milink/milink/steps/probe"
)

var blockLabel = regexp.MustCompile(`^\s*((?:Fix \([^)]*\)|Run on the SQL Server host):)`)

// joinBlocks rewrites a screen so each command block reads "label command" on one line
// (the label line's key hints and the command line's marker dropped), for tests that
// look for a fix by its label and the start of its command.
func joinBlocks(s string) string {
	lines := strings.Split(s, "\n")
	var out []string
	for i := 0; i < len(lines); i++ {
		if m := blockLabel.FindStringSubmatch(lines[i]); m != nil && i+1 < len(lines) {
			cmd := strings.TrimLeft(strings.TrimSpace(lines[i+1]), "▶‹ ")
			out = append(out, m[1]+" "+cmd)
			i++
			continue
		}
		out = append(out, lines[i])
	}
	return strings.Join(out, "\n")
}

// resultsWithFixes is a Results page (80×22, Linux) whose SQL Server → MI probe timed
// out: three fix blocks (Linux, Azure and the second probe's) to select and copy.
func resultsWithFixes(t *testing.T) *Model {
	t.Helper()
	m := newTestModel(t, testConfig(), 80, 22)
	rep := &steps.Report{Outcome: "network test failed", ExitCode: steps.ExitConnectivity, MIParams: &steps.NetworkOptions{MI: steps.MIParams{FQDN: "sqlmi-demo.6d710bcf372b.database.windows.net"}}}
	fixes := []steps.Fix{
		{Platform: "Linux", Command: "sudo firewall-cmd --permanent --direct --add-rule ipv4 filter OUTPUT 0 -p tcp --dport 11000:11999 -j ACCEPT && sudo firewall-cmd --reload"},
		{Platform: "Azure", Command: "az network nsg rule create -g <mi-resource-group> --nsg-name <mi-subnet-nsg> -n allow-link-11000_11999-in --priority 200"},
	}
	rep.Directions = []steps.DirectionResult{{Direction: steps.SQLToMI, Status: steps.StatusFailed, Probes: []steps.ProbeResult{
		{Direction: steps.SQLToMI, Result: probe.Result{Host: "sqlmi-demo.6d710bcf372b.database.windows.net", Port: 5022, Verdict: sqlops.VerdictTimeout}, Explanation: "No answer.", Fixes: fixes},
	}}, {Direction: steps.MIToSQL, Status: steps.StatusFailed, Probes: []steps.ProbeResult{
		{Direction: steps.MIToSQL, Result: probe.Result{Host: "fe80::1", Port: 5022, Verdict: sqlops.VerdictRefused}, Explanation: "Refused."},
	}}}
	m.report = rep
	m.page = pageResults
	m.results.start(time.Now(), rep, "Linux")
	m.results.finish(time.Now())
	send(m, tea.WindowSizeMsg{Width: 80, Height: 22})
	return m
}

func TestCommandBlocksAreWholeAndScroll(t *testing.T) {
	m := resultsWithFixes(t)
	long := m.report.Directions[0].Probes[0].Fixes[0].Command
	s := screenOf(m)
	if !strings.Contains(joinBlocks(s), "Fix (Linux): sudo firewall-cmd --permanent --direct --add-rule") {
		t.Fatalf("no Linux fix block:\n%s", s)
	}
	// An IPv6 target is shown in brackets, as net.JoinHostPort writes it.
	send(m, tea.KeyPressMsg{Code: tea.KeyEnd})
	if s := screenOf(m); !strings.Contains(s, "[fe80::1]:5022") {
		t.Errorf("the IPv6 target is not [fe80::1]:5022:\n%s", s)
	}
	send(m, tea.KeyPressMsg{Code: tea.KeyHome})
	// The command is never wrapped: no line holds a later piece of it.
	if strings.Contains(s, "--reload") {
		t.Errorf("the end of an 80-column-wide command is shown before scrolling:\n%s", s)
	}
	if !strings.Contains(s, "›") {
		t.Errorf("no indicator that the command goes on to the right:\n%s", s)
	}
	for range 10 {
		send(m, tea.KeyPressMsg{Code: tea.KeyRight})
	}
	s = screenOf(m)
	if !strings.Contains(s, "-j ACCEPT && sudo firewall-cmd --reload") || !strings.Contains(s, "‹") {
		t.Errorf("→ does not scroll the selected command to its end:\n%s", s)
	}
	if c := m.results.cmds.selected(); c != long {
		t.Errorf("selected = %q, want the Linux fix", c)
	}
	// n selects the next block, which is marked; c copies it.
	send(m, keyRune('n'))
	if c := m.results.cmds.selected(); !strings.HasPrefix(c, "az network nsg rule create") {
		t.Fatalf("after n the selection is %q", c)
	}
	cmd := send(m, keyRune('c'))
	if cmd == nil {
		t.Fatal("c returned no command")
	}
	if !strings.Contains(screenOf(m), "✓ copied to the clipboard") {
		t.Errorf("no copied feedback:\n%s", screenOf(m))
	}
	if h := screenOf(m); !strings.Contains(h, "c copy") {
		t.Errorf("the footer does not name c:\n%s", h)
	}
}

// TestCopyWritesOSC52 runs the program and reads the bytes it writes to the terminal:
// c sends the selected command as an OSC 52 clipboard sequence.
func TestCopyWritesOSC52(t *testing.T) {
	m := resultsWithFixes(t)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 22))
	var out bytes.Buffer
	tm.Send(keyRune('c'))
	want := "\x1b]52;c;" + base64.StdEncoding.EncodeToString([]byte(m.report.Directions[0].Probes[0].Fixes[0].Command))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		out.Write(b)
		return bytes.Contains(out.Bytes(), []byte(want))
	}, teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
	tm.Send(tea.QuitMsg{})
}

// TestCopyOnlyWhatIsShown: a selected command scrolled out of the viewport is not
// copied, and the footer does not offer c.
func TestCopyOnlyWhatIsShown(t *testing.T) {
	var c cmdList
	var b strings.Builder
	b.WriteString(strings.Repeat("text\n", 30))
	c.write(&b, "Fix (Linux):", "sudo true", 80)
	vp := newViewport()
	vp.SetHeight(10)
	vp.SetContent(b.String())
	c.track(&vp)
	if _, handled := c.update(keyRune('c'), newKeyMap(), &vp); handled || len(c.help(newKeyMap())) != 0 {
		t.Error("c copies a command that is off screen")
	}
	vp.GotoBottom()
	c.track(&vp)
	if cmd, handled := c.update(keyRune('c'), newKeyMap(), &vp); !handled || cmd == nil || len(c.help(newKeyMap())) != 1 {
		t.Error("c does not copy the command on screen")
	}
}

// nsgFix is a finding whose fix is a command longer than an 80-column page.
func nsgFix() steps.Finding {
	return steps.Finding{ID: "nsg:inbound", Server: "Azure", Severity: steps.Fail, Title: "The MI subnet's NSG does not allow the link's inbound ports",
		Fixes: []steps.Fix{{Platform: "Azure", Command: "az network nsg rule create -g <mi-resource-group> --nsg-name <mi-subnet-nsg> -n allow-link-5022-in --priority 200 --direction Inbound --destination-port-ranges 5022"}}}
}

// assertWholeBlock checks that the command of nsgFix is a command block on screen: its
// start after the label, cut with the › marker, never wrapped onto a second line.
func assertWholeBlock(t *testing.T, s string) {
	t.Helper()
	if !strings.Contains(joinBlocks(s), "Fix (Azure): az network nsg rule create -g <mi-resource-group>") {
		t.Errorf("no Azure fix block:\n%s", s)
	}
	if strings.Contains(s, "--destination-port-ranges 5022") || !strings.Contains(s, "›") {
		t.Errorf("the long command is wrapped instead of cut with ›:\n%s", s)
	}
}

// TestSummaryFixesAreCommandBlocks: the plan's findings show their fixes as command
// blocks at 80 columns, → scrolls the command, and c writes it as OSC 52.
func TestSummaryFixesAreCommandBlocks(t *testing.T) {
	m := newTestModel(t, testConfig(), 80, 30)
	onNetwork(t, m)
	send(m, keyEnter)
	plan := testPlan()
	plan.Findings = append(plan.Findings, nsgFix())
	send(m, planBuiltMsg{gen: m.summary.gen, plan: plan})
	assertWholeBlock(t, screenOf(m))
	if !strings.Contains(screenOf(m), "c copy") {
		t.Errorf("the footer does not name c:\n%s", screenOf(m))
	}
	for range 10 {
		send(m, tea.KeyPressMsg{Code: tea.KeyRight})
	}
	if s := screenOf(m); !strings.Contains(s, "--destination-port-ranges 5022") || !strings.Contains(s, "‹") {
		t.Errorf("→ does not scroll the command to its end:\n%s", s)
	}
	send(m, tea.KeyPressMsg{Code: tea.KeyLeft})
	if m.page != pageSummary || m.summary.plan == nil {
		t.Fatal("←/→ left the Summary page")
	}
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 30))
	var out bytes.Buffer
	tm.Send(keyRune('c'))
	want := "\x1b]52;c;" + base64.StdEncoding.EncodeToString([]byte(nsgFix().Fixes[0].Command))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		out.Write(b)
		return bytes.Contains(out.Bytes(), []byte(want))
	}, teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
	tm.Send(tea.QuitMsg{})
}

// TestNetworkFixesAreCommandBlocks: the Azure findings' fixes on Network Options are
// command blocks, but while a field has the keyboard n and c are typed into it; once
// PgDn took the fields off screen, c copies the command.
func TestNetworkFixesAreCommandBlocks(t *testing.T) {
	m := newTestModel(t, testConfig(), 80, 24)
	onNetwork(t, m)
	send(m, azureCheckedMsg{gen: m.network.azGen, info: steps.AzureInfo{Cloud: "AzureCloud", Findings: []steps.Finding{nsgFix()}}})
	for range 3 {
		send(m, tea.KeyPressMsg{Code: tea.KeyPgDown})
	}
	if !m.network.scrolledOff {
		t.Fatalf("PgDn did not take the fields off screen:\n%s", screenOf(m))
	}
	assertWholeBlock(t, screenOf(m))
	if cmd := send(m, keyRune('c')); cmd == nil || !strings.Contains(screenOf(m), "✓ copied to the clipboard") {
		t.Errorf("c does not copy the command:\n%s", screenOf(m))
	}
	// Back to the fields: c is typed into the address, nothing is copied.
	send(m, tea.KeyPressMsg{Code: tea.KeyTab})
	if m.network.scrolledOff || !m.network.form.focused {
		t.Fatal("tab did not give the keyboard back to the fields")
	}
	ip := m.network.form.fields[m.network.form.focus].value()
	send(m, keyRune('c'))
	if got := m.network.form.fields[m.network.form.focus].value(); got != ip+"c" {
		t.Errorf("c on a focused field: value %q, want %q", got, ip+"c")
	}
	if len(m.network.cmds.help(m.keys)) != 0 {
		t.Error("the footer offers c while a field has the keyboard")
	}
}
