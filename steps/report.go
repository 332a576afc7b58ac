package steps

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps/probe"
)

// ServerSummary names one instance in the report.
type ServerSummary struct {
	Address  string `json:"address"`
	Name     string `json:"name,omitempty"`
	Version  string `json:"version,omitempty"`
	Edition  string `json:"edition,omitempty"`
	Platform string `json:"platform,omitempty"`
}

// Report is everything a run found and did; it renders as text, JSON or Markdown and
// never contains a password.
type Report struct {
	Tool       string            `json:"tool"`
	RunID      string            `json:"run_id"`
	StartedAt  time.Time         `json:"started_at"`
	Duration   time.Duration     `json:"-"` // "duration_s" in JSON
	SQLServer  ServerSummary     `json:"sql_server"`
	MI         ServerSummary     `json:"managed_instance"`
	MIParams   *NetworkOptions   `json:"network,omitempty"`
	Cloud      string            `json:"cloud,omitempty"`
	Allowlist  []AllowlistItem   `json:"allowlist,omitempty"`
	Findings   []Finding         `json:"findings"`
	Actions    []Action          `json:"actions,omitempty"`
	Directions []DirectionResult `json:"directions,omitempty"`
	Cleanup    []CleanupItem     `json:"cleanup,omitempty"`
	// Changes are what milink prepare / the Fix action changed, each with when, by
	// whom and the statement; PrerequisiteChanges the findings that changed with them.
	Changes             []ChangeRecord  `json:"changes,omitempty"`
	PrerequisiteChanges []FindingChange `json:"prerequisite_changes,omitempty"`
	// Remaining are the objects of this run that cleanup could not verify as removed
	// (Results.Remaining); 'milink cleanup' with the same server flags removes them.
	Remaining []CleanupItem `json:"remaining,omitempty"`
	Warnings  []string      `json:"warnings,omitempty"`
	Error     string        `json:"error,omitempty"`
	ExitCode  int           `json:"exit_code"`
	Outcome   string        `json:"outcome"`
	platform  string
}

// NewReport starts a report for cfg.
func NewReport(cfg Config) *Report {
	r := &Report{Tool: "milink", RunID: cfg.RunID, StartedAt: time.Now().UTC(),
		SQLServer: ServerSummary{Address: cfg.SQLServer.Address()}, MI: ServerSummary{Address: cfg.MI.Address()}}
	for _, c := range []struct {
		role  string
		trust bool
		enc   string
	}{{"SQL Server", cfg.SQLServer.TrustServerCertificate && cfg.SQLServer.CertSHA256 == "", cfg.SQLServer.Encrypt},
		{"managed instance", cfg.MI.TrustServerCertificate && cfg.MI.CertSHA256 == "", cfg.MI.Encrypt}} {
		// A pinned fingerprint (CertSHA256) verifies the certificate even when trust
		// server certificate skips the CA and host name checks.
		if c.trust {
			r.Warnings = append(r.Warnings, fmt.Sprintf("The %s's TLS certificate was not verified (trust server certificate was requested).", c.role))
		}
		if c.enc == "disable" || c.enc == "false" {
			r.Warnings = append(r.Warnings, fmt.Sprintf("The connection to the %s was not fully encrypted (encrypt=%s).", c.role, c.enc))
		}
	}
	for _, c := range []ConnConfig{cfg.SQLServer, cfg.MI} {
		if sqlops.WeakTLSMin(c.TLSMin) {
			r.Warnings = append(r.Warnings, fmt.Sprintf("TLS %s was allowed for the %s (RFC 8996 deprecates TLS 1.0 and 1.1): enable TLS 1.2 on the server.", c.TLSMin, c.Role))
		}
		if c.PinNote != "" {
			r.Warnings = append(r.Warnings, fmt.Sprintf("The %s's %s: check this fingerprint with the server's administrator.", c.Role, c.PinNote))
		}
	}
	r.finish()
	return r
}

// Fatal records an error that stopped the run.
func (r *Report) Fatal(code int, err error) {
	r.Error = err.Error()
	r.ExitCode = code
	r.finish()
}

// SetPrerequisites adds the Prerequisites step's outcome.
func (r *Report) SetPrerequisites(p *Prerequisites) {
	r.SQLServer.Name = p.Server.ServerName
	r.SQLServer.Version = p.Server.ProductVersion
	r.SQLServer.Edition = p.Server.Edition
	r.SQLServer.Platform = p.Server.HostPlatform
	r.platform = p.Platform()
	r.Findings = append(r.Findings, p.Findings...)
	r.finish()
}

// SetManagedInstance adds the Login step's outcome.
func (r *Report) SetManagedInstance(m *ManagedInstance) {
	r.MI.Name = m.Params.FQDN
	r.MI.Version = m.Server.ProductVersion
	r.MI.Edition = m.Server.Edition
	r.Findings = append(r.Findings, m.Findings...)
	r.finish()
}

// SetAzure adds the Azure checks' outcome: cloud, allowlist and findings.
func (r *Report) SetAzure(a AzureInfo) {
	r.Cloud = a.Cloud
	r.Allowlist = a.Allowlist
	r.Findings = append(r.Findings, a.Findings...)
	r.finish()
}

// SetPlan adds the Summary step's decisions.
func (r *Report) SetPlan(p *Plan) {
	o := p.Options
	r.MIParams = &o
	r.Actions = p.Actions
	r.Findings = append(r.Findings, p.Findings...)
	r.finish()
}

// SetResults adds the Results step's outcome.
func (r *Report) SetResults(res *Results) {
	r.Directions = res.Directions
	r.Cleanup = res.Cleanup
	r.Remaining = res.Remaining()
	if res.Interrupted {
		// 130 only when cleanup read the catalog back and nothing of the run remains.
		r.ExitCode = ExitInterrupted
		r.Error = "interrupted; cleanup ran" // and read back: nothing of this run remains
		if len(r.Remaining) > 0 {
			var names []string
			for _, c := range r.Remaining {
				names = append(names, c.Server+" "+c.Kind+" "+c.Name)
			}
			r.ExitCode = ExitError
			r.Error = fmt.Sprintf("interrupted; cleanup could not verify the removal of %d object(s) of this run: %s; run 'milink cleanup' to remove what is left", len(names), strings.Join(names, ", "))
		}
	}
	r.finish()
}

// finish recomputes the exit code and outcome.
func (r *Report) finish() {
	if r.Error != "" {
		if r.ExitCode == 0 {
			r.ExitCode = ExitError
		}
		r.Outcome = "error: " + r.Error
		return
	}
	code, outcome := ExitOK, "all checks passed"
	if len(r.Directions) == 0 {
		outcome = "not finished"
	}
	if Worst(r.Findings) == Fail {
		code, outcome = ExitPrereq, "network OK, but a link prerequisite is not met"
	}
	for _, d := range r.Directions {
		if d.Status != StatusPassed {
			code, outcome = ExitConnectivity, "a connectivity check failed or could not run"
		}
	}
	for _, c := range r.Cleanup {
		if c.Error != "" || c.Remains {
			code, outcome = ExitError, "cleanup failed: run 'milink cleanup'"
		}
	}
	r.ExitCode, r.Outcome = code, outcome
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

var marks = map[Severity]string{Pass: "PASS", Info: "INFO", Warn: "WARN", Fail: "FAIL"}

func statusMark(s string) string {
	switch s {
	case StatusPassed:
		return "PASS"
	case StatusFailed:
		return "FAIL"
	case StatusNotRun:
		return "SKIP"
	}
	return "ERROR"
}

// Platform returns the SQL Server platform whose fixes the report shows.
func (r *Report) Platform() string {
	if r.platform == "" {
		return "Windows"
	}
	return r.platform
}

func (r *Report) fixesToShow(f Finding) []Fix {
	var out []Fix
	for _, x := range f.Fixes {
		if x.Platform == r.Platform() || x.Platform == "T-SQL" || x.Platform == "Azure" {
			out = append(out, x)
		}
	}
	if len(out) == 0 {
		return f.Fixes
	}
	return out
}

// WriteText writes the report for a terminal. Every value is written through
// textEscape, so no value can start a line of its own or drive the terminal.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	t := textEscape
	fmt.Fprintf(&b, "milink network check — run %s\n", t(r.RunID))
	fmt.Fprintf(&b, "SQL Server:       %s %s\n", t(r.SQLServer.Address), t(paren(r.SQLServer.Name, r.SQLServer.Version, r.SQLServer.Platform)))
	fmt.Fprintf(&b, "Managed instance: %s %s\n", t(r.MI.Address), t(paren(r.MI.Name)))
	if r.MIParams != nil {
		o := r.MIParams
		fmt.Fprintf(&b, "MI node:          %s, HADR port %d\n", t(o.MI.Node), o.MI.HadrPort)
		fmt.Fprintf(&b, "SQL Server IP:    %s, endpoint port %d\n", t(o.SQLServerIP), o.EndpointPort)
	}
	if len(r.Findings) > 0 {
		b.WriteString("\nPrerequisites\n")
		for _, f := range r.Findings {
			fmt.Fprintf(&b, "  [%s] %s: %s\n", marks[f.Severity], t(f.Server), t(f.Title))
			if f.Severity == Warn || f.Severity == Fail {
				if f.Detail != "" {
					fmt.Fprintf(&b, "         %s\n", t(f.Detail))
				}
				for _, x := range r.fixesToShow(f) {
					fmt.Fprintf(&b, "         fix (%s): %s\n", t(x.Platform), t(x.Command))
				}
			}
		}
	}
	if len(r.Allowlist) > 0 {
		fmt.Fprintf(&b, "\nAllowlist (%s): let these through proxies and firewalls\n", t(r.Cloud))
		for _, a := range r.Allowlist {
			fmt.Fprintf(&b, "  %-34s %s\n", t(a.Name), t(a.URL))
		}
	}
	if len(r.Directions) > 0 {
		b.WriteString("\nConnectivity\n")
		for _, d := range r.Directions {
			fmt.Fprintf(&b, "  [%s] %s", statusMark(d.Status), t(string(d.Direction)))
			if d.Job != "" && d.Status != StatusNotRun {
				fmt.Fprintf(&b, " (job %s, %s)", t(d.Job), d.Elapsed.Round(100*time.Millisecond))
			} else if d.Method != "" && len(d.Probes) > 0 {
				fmt.Fprintf(&b, " (%s)", t(d.Method))
			}
			b.WriteString("\n")
			if d.Reason != "" {
				fmt.Fprintf(&b, "         %s\n", t(d.Reason))
			}
			for _, p := range d.Probes {
				mark := "ok  "
				if !p.Succeeded {
					mark = "FAIL"
				}
				fmt.Fprintf(&b, "         %s %s  %s", mark, t(hostPort(p.Host, p.Port)), t(string(p.Verdict)))
				if p.RemoteAddress != "" {
					fmt.Fprintf(&b, "  (remote address %s)", t(p.RemoteAddress))
				}
				b.WriteString("\n")
				if p.Explanation != "" {
					fmt.Fprintf(&b, "              %s\n", t(p.Explanation))
					for _, x := range p.Fixes {
						if x.Platform == r.Platform() || x.Platform == "Azure" {
							fmt.Fprintf(&b, "              fix (%s): %s\n", t(x.Platform), t(x.Command))
						}
					}
				}
			}
			if d.ManualCommand != "" {
				fmt.Fprintf(&b, "         run on the SQL Server host: %s\n", t(d.ManualCommand))
			}
		}
	}
	r.writeChangesText(&b)
	if len(r.Cleanup) > 0 {
		b.WriteString("\nCleanup\n")
		for _, c := range r.Cleanup {
			switch {
			case c.Error != "":
				fmt.Fprintf(&b, "  [FAIL] %s: %s %s: %s\n", t(c.Server), t(c.Kind), t(c.Name), t(c.Error))
			case c.Removed:
				fmt.Fprintf(&b, "  [ ok ] %s: removed %s %s\n", t(c.Server), t(c.Kind), t(c.Name))
			case c.Note != "":
				fmt.Fprintf(&b, "  [ ok ] %s: %s %s %s\n", t(c.Server), t(c.Kind), t(c.Name), t(c.Note))
			default:
				fmt.Fprintf(&b, "  [ ok ] %s: %s %s was not there\n", t(c.Server), t(c.Kind), t(c.Name))
			}
		}
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(&b, "\nWarning: %s\n", t(wn))
	}
	fmt.Fprintf(&b, "\nResult: %s (exit code %d)\n", t(r.Outcome), r.ExitCode)
	_, err := io.WriteString(w, b.String())
	return err
}

func paren(parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	if len(keep) == 0 {
		return ""
	}
	return "(" + strings.Join(keep, ", ") + ")"
}

// textEscape makes s safe for one line of the text report: control characters (a
// newline that would forge a report line, a terminal escape sequence) and Unicode
// direction overrides are written as Go escapes (\n, \x1b, \u202e).
func textEscape(s string) string {
	if !strings.ContainsFunc(s, unsafeRune) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unsafeRune(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// unsafeRune reports control characters, invalid UTF-8 and the bidirectional
// formatting characters that reorder what a terminal shows.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || r == utf8.RuneError || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f
}

// mdEscape makes s inert Markdown text for a table cell or a list item: HTML
// (<img onerror=…>) becomes entities, link, emphasis, code and table syntax is
// backslash-escaped, and a line break becomes a space.
func mdEscape(s string) string {
	return mdReplacer.Replace(textEscape(strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)))
}

var mdReplacer = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;",
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "|", `\|`,
)

// mdCode writes s as an inline code span (inert: nothing in it is Markdown or HTML)
// whose backtick fence is longer than any run of backticks in s; a | is escaped so it
// does not split a table cell.
func mdCode(s string) string {
	s = textEscape(strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s))
	s = strings.ReplaceAll(s, "|", `\|`)
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// mdFence is the fence of a code block holding s: at least three backticks, more
// than any run of backticks in s.
func mdFence(s string) string {
	return strings.Repeat("`", max(3, longestRun(s, '`')+1))
}

func longestRun(s string, c rune) int {
	best, n := 0, 0
	for _, r := range s {
		if r == c {
			n++
			best = max(best, n)
		} else {
			n = 0
		}
	}
	return best
}

// WriteMarkdown writes the report as Markdown. Every value is escaped for where it
// goes (mdEscape for text, mdCode for code spans, mdFence for code blocks), so none
// renders as HTML, a link or a table cell of its own.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	e, c := mdEscape, mdCode
	fmt.Fprintf(&b, "# milink network check\n\nRun %s, %s, took %s.\n\n", c(r.RunID), r.StartedAt.Format(time.RFC3339), r.Duration.Round(100*time.Millisecond))
	b.WriteString("| | Address | Details |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| SQL Server | %s | %s |\n", c(r.SQLServer.Address), e(strings.Trim(paren(r.SQLServer.Name, r.SQLServer.Version, r.SQLServer.Edition, r.SQLServer.Platform), "()")))
	fmt.Fprintf(&b, "| Managed instance | %s | %s |\n", c(r.MI.Address), e(strings.Trim(paren(r.MI.Name, r.MI.Version), "()")))
	if r.MIParams != nil {
		o := r.MIParams
		fmt.Fprintf(&b, "\nManaged instance node %s, HADR port `%d`; SQL Server IP %s, endpoint port `%d`.\n", c(o.MI.Node), o.MI.HadrPort, c(o.SQLServerIP), o.EndpointPort)
	}
	if len(r.Findings) > 0 {
		b.WriteString("\n## Prerequisites\n\n| Result | Server | Check | Details | Fix |\n|---|---|---|---|---|\n")
		for _, f := range r.Findings {
			var fixes []string
			for _, x := range r.fixesToShow(f) {
				fixes = append(fixes, fmt.Sprintf("%s: %s", e(x.Platform), c(x.Command)))
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", marks[f.Severity], e(f.Server), e(f.Title), e(f.Detail), strings.Join(fixes, "<br>"))
		}
	}
	if len(r.Allowlist) > 0 {
		fmt.Fprintf(&b, "\n## Allowlist (%s)\n\n| What | Address | Why |\n|---|---|---|\n", e(r.Cloud))
		for _, a := range r.Allowlist {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", e(a.Name), c(a.URL), e(a.Why))
		}
	}
	if len(r.Directions) > 0 {
		b.WriteString("\n## Connectivity\n\n| Direction | Target | Result | Remote address | Explanation |\n|---|---|---|---|---|\n")
		for _, d := range r.Directions {
			if len(d.Probes) == 0 {
				fmt.Fprintf(&b, "| %s | | %s | | %s |\n", e(string(d.Direction)), statusMark(d.Status), e(d.Reason))
				if d.ManualCommand != "" {
					cmd := textEscape(d.ManualCommand)
					fence := mdFence(cmd)
					fmt.Fprintf(&b, "\nRun on the SQL Server host:\n\n%ssh\n%s\n%s\n\n", fence, cmd, fence)
				}
				continue
			}
			for _, p := range d.Probes {
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", e(string(d.Direction)), c(net.JoinHostPort(p.Host, strconv.Itoa(p.Port))), e(string(p.Verdict)), e(p.RemoteAddress), e(p.Explanation))
			}
		}
	}
	r.writeChangesMarkdown(&b)
	if len(r.Cleanup) > 0 {
		b.WriteString("\n## Cleanup\n\n")
		for _, x := range r.Cleanup {
			switch {
			case x.Error != "":
				fmt.Fprintf(&b, "- **failed**: %s %s on %s: %s\n", e(x.Kind), c(x.Name), e(x.Server), e(x.Error))
			case x.Removed:
				fmt.Fprintf(&b, "- removed %s %s on %s\n", e(x.Kind), c(x.Name), e(x.Server))
			case x.Note != "":
				fmt.Fprintf(&b, "- %s %s on %s: %s\n", e(x.Kind), c(x.Name), e(x.Server), e(x.Note))
			default:
				fmt.Fprintf(&b, "- %s %s on %s was not there\n", e(x.Kind), c(x.Name), e(x.Server))
			}
		}
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(&b, "\n> **Warning:** %s\n", e(wn))
	}
	fmt.Fprintf(&b, "\n**Result:** %s (exit code %d)\n", e(r.Outcome), r.ExitCode)
	_, err := io.WriteString(w, b.String())
	return err
}

// ApplyPastedProbes records probe results that the user ran by hand on the SQL Server
// host (ManualProbeCommand) and pasted back, and recomputes the outcome.
func (r *Report) ApplyPastedProbes(dir Direction, probes []probe.Result, opts NetworkOptions) {
	applyPastedProbes(r.Directions, dir, probes, opts)
	r.finish()
}

// applyPastedProbes replaces dir's probes in dirs with the pasted ones.
func applyPastedProbes(dirs []DirectionResult, dir Direction, probes []probe.Result, opts NetworkOptions) {
	for i := range dirs {
		d := &dirs[i]
		if d.Direction != dir {
			continue
		}
		d.Probes = explainPasted(dir, probes, opts)
		d.Status = StatusPassed
		for _, pr := range d.Probes {
			if !pr.Succeeded {
				d.Status = StatusFailed
			}
		}
		d.Method = "command run by hand on the SQL Server host, output pasted"
		d.Reason, d.Job = "", "" // no job ran: label the results by their prober
	}
}
