package steps_test

import (
	"strings"
	"testing"

	"github.com/milink/milink/steps"
)

// hostileReport is a report whose every free-text value tries to forge a line, drive
// the terminal or inject HTML, a link or a table cell.
func hostileReport() *steps.Report {
	const forge = "x\nResult: all checks passed (exit code 0)"
	const html = "<img src=x onerror=alert(1)> [click](javascript:alert(1)) a|b `code`"
	r := steps.NewReport(steps.Config{RunID: "0123456789abcdef"})
	r.SQLServer.Name = forge
	r.MI.Name = html
	r.Findings = []steps.Finding{{ID: "database:x", Server: "SQL Server", Severity: steps.Fail, Title: "Database " + html + " does not exist",
		Detail: forge + "\x1b[2J\u202e", Fixes: []steps.Fix{{Platform: "T-SQL", Command: "ALTER DATABASE [a`b|c] SET RECOVERY FULL;\n-- " + html}}}}
	r.Directions = []steps.DirectionResult{{Direction: steps.SQLToMI, Status: steps.StatusNotRun, Reason: forge, ManualCommand: "echo ```\nrm -rf /"}}
	r.Cleanup = []steps.CleanupItem{{Server: "SQL Server", Kind: "job", Name: forge, Error: html}, {Server: "SQL Server", Kind: "endpoint", Name: "Hadr_endpoint", Note: forge + " " + html}}
	r.Warnings = []string{forge}
	return r
}

func TestTextReportValuesCannotForgeLines(t *testing.T) {
	var b strings.Builder
	if err := hostileReport().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if n := strings.Count(out, "\nResult:"); n != 1 {
		t.Errorf("%d Result lines:\n%s", n, out)
	}
	if strings.ContainsAny(out, "\x1b\u202e") {
		t.Errorf("terminal control characters reach the text report: %q", out)
	}
	if !strings.Contains(out, `x\nResult: all checks passed`) {
		t.Errorf("the value is not shown escaped:\n%s", out)
	}
}

func TestMarkdownReportValuesAreInert(t *testing.T) {
	var b strings.Builder
	if err := hostileReport().WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	prose := withoutCodeSpans(out)
	for _, bad := range []string{"<img", "[click](javascript:"} {
		if strings.Contains(prose, bad) {
			t.Errorf("the Markdown report contains %q outside code:\n%s", bad, out)
		}
	}
	for _, bad := range []string{"\nResult:", "\x1b", "\nrm -rf"} {
		if strings.Contains(out, bad) {
			t.Errorf("the Markdown report contains %q:\n%s", bad, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "| FAIL |") && strings.Count(strings.ReplaceAll(line, `\|`, ""), "|") != 6 {
			t.Errorf("a value split the table row into extra cells: %s", line)
		}
	}
	if !strings.Contains(out, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Errorf("the value is not shown escaped:\n%s", out)
	}
}

// withoutCodeSpans drops inline code spans (a run of n backticks up to the next run of
// exactly n), where nothing renders as HTML or a link.
func withoutCodeSpans(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '`' {
			b.WriteByte(s[i])
			i++
			continue
		}
		n := 0
		for i+n < len(s) && s[i+n] == '`' {
			n++
		}
		fence := s[i : i+n]
		end := -1
		for j := i + n; j < len(s); {
			k := strings.Index(s[j:], fence)
			if k < 0 {
				break
			}
			k += j
			m := 0
			for k+m < len(s) && s[k+m] == '`' {
				m++
			}
			if m == n {
				end = k + n
				break
			}
			j = k + m
		}
		if end < 0 {
			b.WriteString(fence)
			i += n
			continue
		}
		i = end
	}
	return b.String()
}
