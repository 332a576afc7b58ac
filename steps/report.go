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
			if gone := cleanupGone(r.Cleanup); gone != "" {
				r.Error = fmt.Sprintf("interrupted; cleanup could not remove %d object(s) of this run: %s; run 'milink cleanup' with the same servers once they are back", len(names), gone)
			}
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
	if code == ExitConnectivity {
		if o := untestedOutcome(r.Directions); o != "" {
			outcome = o
		}
	}
	for _, c := range r.Cleanup {
		if c.Error != "" || c.Remains {
			code, outcome = ExitError, "cleanup failed: run 'milink cleanup'"
		}
	}
	if gone := cleanupGone(r.Cleanup); gone != "" {
		outcome = fmt.Sprintf("cleanup could not remove %d object(s): %s; run 'milink cleanup' with the same servers once they are back", len(r.Remaining), gone)
	}
	r.ExitCode, r.Outcome = code, outcome
}

// LostServers says which servers were lost during cleanup and did not come back, and
// what of the run each still holds ("SQL Server did not come back within 60s (job
// TestMILinkConnection)"), or "" when nothing remains for that reason.
func (r *Report) LostServers() string { return cleanupGone(r.Cleanup) }

// cleanupGone says which servers were lost during cleanup and did not come back, and
// what of the run each still holds: "SQL Server did not come back within 60s (job
// TestMILinkConnection, endpoint TEST_ENDPOINT)"; "" when nothing remains for that
// reason.
func cleanupGone(items []CleanupItem) string {
	var order []string
	left := map[string][]string{}
	for _, c := range items {
		if !c.Remains || c.gone == "" {
			continue
		}
		if _, ok := left[c.gone]; !ok {
			order = append(order, c.gone)
		}
		left[c.gone] = append(left[c.gone], c.Kind+" "+c.Name)
	}
	var parts []string
	for _, g := range order {
		parts = append(parts, g+" ("+strings.Join(left[g], ", ")+")")
	}
	return strings.Join(parts, "; ")
}

// untestedOutcome is the outcome when no direction failed or ended in an error but
// one was not run (a prerequisite such as the master key, Agent or the version, or a
// probe left to run by hand): it names each such direction with why, and the ones
// that passed, so that it does not read as a network failure. The exit code stays 3.
// "" when a direction failed or ended in an error.
func untestedOutcome(dirs []DirectionResult) string {
	var notRun, passed []string
	for _, d := range dirs {
		switch d.Status {
		case StatusPassed:
			passed = append(passed, string(d.Direction)+" passed")
		case StatusNotRun:
			part := string(d.Direction) + " was not tested"
			if why := shortReason(d.Reason); why != "" {
				part += " (" + why + ")"
			}
			notRun = append(notRun, part)
		default:
			return ""
		}
	}
	if len(notRun) == 0 {
		return ""
	}
	return strings.Join(append(notRun, passed...), "; ")
}

// ShortReason is the first clause of a not-run direction's reason, before what to do:
// "not tested (no master key): the test endpoint's …" → "no master key"; "" without a
// reason.
func (d DirectionResult) ShortReason() string { return shortReason(d.Reason) }

// shortReason is DirectionResult.ShortReason of reason.
func shortReason(reason string) string {
	for _, sep := range []string{": ", "; "} {
		if i := strings.Index(reason, sep); i > 0 {
			reason = reason[:i]
		}
	}
	reason = strings.TrimSuffix(strings.TrimSpace(reason), ".")
	if r, ok := strings.CutPrefix(reason, "not tested ("); ok && strings.HasSuffix(r, ")") {
		reason = strings.TrimSuffix(r, ")")
	}
	return reason
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
	fmt.Fprintf(&b, "SQL Server:       %s\n", strings.TrimSpace(t(r.SQLServer.Address)+" "+t(paren(r.SQLServer.Name, r.SQLServer.Version, r.SQLServer.Platform))))
	fmt.Fprintf(&b, "Managed instance: %s\n", strings.TrimSpace(t(r.MI.Address)+" "+t(paren(r.MI.Name))))
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
		var rows [][]string
		for _, a := range r.Allowlist {
			rows = append(rows, []string{t(a.Name), t(a.URL)})
		}
		for _, line := range columns(rows) {
			b.WriteString("  " + line + "\n")
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
			var rows [][]string
			for _, p := range d.Probes {
				mark := "ok"
				if !p.Succeeded {
					mark = "FAIL"
				}
				row := []string{mark, t(net.JoinHostPort(p.Host, strconv.Itoa(p.Port))), t(string(p.Verdict)), ""}
				if p.RemoteAddress != "" {
					row[3] = "remote address " + t(p.RemoteAddress)
				}
				rows = append(rows, row)
			}
			lines := columns(rows)
			for i, p := range d.Probes {
				b.WriteString("         " + lines[i] + "\n")
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
			mark, what := "[ ok ]", c.phrase(t, t)
			if c.Error != "" {
				mark = "[FAIL]"
			}
			fmt.Fprintf(&b, "  %s %s: %s\n", mark, t(c.Server), what)
		}
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(&b, "\nWarning: %s\n", t(wn))
	}
	fmt.Fprintf(&b, "\nResult: %s (exit code %d)\n", t(r.Outcome), r.ExitCode)
	_, err := io.WriteString(w, b.String())
	return err
}

// phrase says what cleanup did with c, its kind written by esc and its name by name:
// "removed job X", "job X was not there", "job X <note>", "job X: <error>".
func (c CleanupItem) phrase(esc, name func(string) string) string {
	what := esc(c.Kind) + " " + name(c.Name)
	switch {
	case c.Error != "":
		return what + ": " + esc(c.Error)
	case c.Removed:
		return "removed " + what
	case c.Note != "":
		return what + " " + esc(c.Note)
	}
	return what + " was not there"
}

// columns aligns rows as columns two spaces apart, each as wide as its widest cell (in
// runes), with no trailing spaces.
func columns(rows [][]string) []string {
	var widths []int
	for _, row := range rows {
		for i, cell := range row {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	out := make([]string, len(rows))
	for r, row := range rows {
		var b strings.Builder
		for i, cell := range row {
			b.WriteString(cell)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell)+2))
			}
		}
		out[r] = strings.TrimRight(b.String(), " ")
	}
	return out
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
