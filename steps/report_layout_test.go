package steps_test

import (
	"strings"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps"
	"github.com/milink/milink/steps/probe"
)

// layoutReport is a report with an allowlist of names of different lengths and a
// direction whose probes have hosts of different lengths.
func layoutReport() *steps.Report {
	rep := steps.NewReport(steps.Config{RunID: "0123456789abcdef"})
	rep.SetAzure(steps.AzureInfo{Cloud: "AzureCloud", Allowlist: []steps.AllowlistItem{
		{Name: "Entra ID", URL: "https://login.microsoftonline.com"},
		{Name: "Azure Resource Manager (management API)", URL: "https://management.azure.com"},
		{Name: "MI", URL: "sqlmi.database.windows.net"}}})
	o := steps.NetworkOptions{MI: sqlops.MIParams{FQDN: "sqlmi.6d71.database.windows.net", Node: "DB1.tr1.westus.worker.database.windows.net", HadrPort: 11002},
		SQLServerIP: "10.1.0.4", EndpointPort: 5022, ProbeTimeout: time.Second}
	rep.SetPlan(&steps.Plan{Options: o})
	rep.SetResults(&steps.Results{Directions: []steps.DirectionResult{
		{Direction: steps.SQLToMI, Status: steps.StatusFailed, Probes: []steps.ProbeResult{
			{Direction: steps.SQLToMI, Result: probe.Result{Host: o.MI.FQDN, Port: 5022, Verdict: sqlops.VerdictConnected, Succeeded: true, RemoteAddress: "10.0.0.10"}},
			{Direction: steps.SQLToMI, Result: probe.Result{Host: o.MI.Node, Port: 11002, Verdict: sqlops.VerdictTimeout}},
			{Direction: steps.SQLToMI, Result: probe.Result{Host: "fe80::1", Port: 11000, Verdict: sqlops.VerdictRefused}}}},
		{Direction: steps.MIToSQL, Status: steps.StatusPassed, Probes: []steps.ProbeResult{
			{Direction: steps.MIToSQL, Result: probe.Result{Host: "10.1.0.4", Port: 5022, Verdict: sqlops.VerdictConnected, Succeeded: true}}}}}})
	return rep
}

// TestTextColumnsAligned: the allowlist's addresses start in one column, as do the
// probes' targets and verdicts; an IPv6 target is bracketed.
func TestTextColumnsAligned(t *testing.T) {
	txt := reportText(layoutReport())
	col := func(line, sub string) int { return strings.Index(line, sub) }
	lines := strings.Split(txt, "\n")
	find := func(sub string) string {
		for _, l := range lines {
			if strings.Contains(l, sub) {
				return l
			}
		}
		t.Fatalf("no line with %q:\n%s", sub, txt)
		return ""
	}
	a, b, c := find("https://login"), find("https://management"), find("sqlmi.database.windows.net")
	if col(a, "https://login") != col(b, "https://management") || col(b, "https://management") != col(c, "sqlmi.database") {
		t.Errorf("allowlist addresses not aligned:\n%s\n%s\n%s", a, b, c)
	}
	p1, p2, p3 := find(":5022  "), find(":11002"), find("[fe80::1]:11000")
	if col(p1, "connected") != col(p2, "timeout") || col(p2, "timeout") != col(p3, "refused") {
		t.Errorf("probe verdicts not aligned:\n%s\n%s\n%s", p1, p2, p3)
	}
	for _, l := range lines {
		if strings.HasSuffix(l, " ") {
			t.Errorf("trailing space: %q", l)
		}
	}
}

// TestMarkdownFirewallTable: the Markdown report has the firewall and NSG rules as a
// table of source, destination, port, direction, where and why, with what this run
// found for each; every row has as many cells as the header.
func TestMarkdownFirewallTable(t *testing.T) {
	var b strings.Builder
	if err := layoutReport().WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	if !strings.HasPrefix(md, "# milink network check\n\n**Result:** a connectivity check failed or could not run (exit code 3)\n") {
		t.Errorf("the result does not come first:\n%s", md)
	}
	i := strings.Index(md, "## Firewall and NSG rules the link needs")
	if i < 0 {
		t.Fatalf("no firewall section:\n%s", md)
	}
	var rows []string
	for _, l := range strings.Split(md[i:], "\n")[1:] {
		if strings.HasPrefix(l, "## ") {
			break
		}
		if strings.HasPrefix(l, "|") {
			rows = append(rows, l)
		}
	}
	if len(rows) != 5 || !strings.HasPrefix(rows[0], "| Source | Destination | Port | Direction | Where to allow | Why | This run |") {
		t.Fatalf("firewall table:\n%s", strings.Join(rows, "\n"))
	}
	for _, r := range rows {
		if n := strings.Count(strings.ReplaceAll(r, `\|`, ""), "|"); n != 8 {
			t.Errorf("%d cell borders, want 8: %s", n, r)
		}
	}
	for _, want := range []string{"| SQL Server 10.1.0.4 | managed instance subnet (sqlmi.6d71.database.windows.net) | `5022` |",
		"`11000-11999`", "not open: 11002 timeout", "| managed instance subnet | SQL Server 10.1.0.4 | `5022` |", "open (5022)"} {
		if !strings.Contains(md, want) {
			t.Errorf("firewall table lacks %q:\n%s", want, strings.Join(rows, "\n"))
		}
	}
}

// TestMarkdownCodeSpans: code spans render their text exactly (CommonMark): a fence
// longer than the backtick runs inside, padding for a leading/trailing backtick or for
// spaces at both ends, and a | escaped only inside table cells.
func TestMarkdownCodeSpans(t *testing.T) {
	rep := steps.NewReport(steps.Config{RunID: "r"})
	rep.SetResults(&steps.Results{Cleanup: []steps.CleanupItem{
		{Server: "SQL Server", Kind: "job", Name: "x`y|z", Removed: true},
		{Server: "SQL Server", Kind: "job", Name: "`tick", Removed: true},
		{Server: "SQL Server", Kind: "job", Name: " pad ", Removed: true}}})
	var b strings.Builder
	if err := rep.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"- SQL Server: removed job ``x`y|z``\n", "- SQL Server: removed job `` `tick ``\n", "- SQL Server: removed job `  pad  `\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("lacks %q:\n%s", want, b.String())
		}
	}
}
