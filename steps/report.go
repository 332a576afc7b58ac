package steps

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

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
	Duration   time.Duration     `json:"duration"`
	SQLServer  ServerSummary     `json:"sql_server"`
	MI         ServerSummary     `json:"managed_instance"`
	MIParams   *NetworkOptions   `json:"network,omitempty"`
	Cloud      string            `json:"cloud,omitempty"`
	Allowlist  []AllowlistItem   `json:"allowlist,omitempty"`
	Findings   []Finding         `json:"findings"`
	Actions    []Action          `json:"actions,omitempty"`
	Directions []DirectionResult `json:"directions,omitempty"`
	Cleanup    []CleanupItem     `json:"cleanup,omitempty"`
	Warnings   []string          `json:"warnings,omitempty"`
	Error      string            `json:"error,omitempty"`
	ExitCode   int               `json:"exit_code"`
	Outcome    string            `json:"outcome"`
	platform   string
}

// NewReport starts a report for cfg.
func NewReport(cfg Config) *Report {
	r := &Report{Tool: "milink", RunID: cfg.RunID, StartedAt: time.Now().UTC(),
		SQLServer: ServerSummary{Address: cfg.SQLServer.Address()}, MI: ServerSummary{Address: cfg.MI.Address()}}
	for _, c := range []struct {
		role  string
		trust bool
		enc   string
	}{{"SQL Server", cfg.SQLServer.TrustServerCertificate, cfg.SQLServer.Encrypt}, {"managed instance", cfg.MI.TrustServerCertificate, cfg.MI.Encrypt}} {
		if c.trust {
			r.Warnings = append(r.Warnings, fmt.Sprintf("The %s's TLS certificate was not verified (trust server certificate was requested).", c.role))
		}
		if c.enc == "disable" || c.enc == "false" {
			r.Warnings = append(r.Warnings, fmt.Sprintf("The connection to the %s was not fully encrypted (encrypt=%s).", c.role, c.enc))
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
	if res.Interrupted {
		r.ExitCode = ExitInterrupted
		r.Error = "interrupted; cleanup ran"
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
		if c.Error != "" {
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

// WriteText writes the report for a terminal.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "milink network check — run %s\n", r.RunID)
	fmt.Fprintf(&b, "SQL Server:       %s %s\n", r.SQLServer.Address, paren(r.SQLServer.Name, r.SQLServer.Version, r.SQLServer.Platform))
	fmt.Fprintf(&b, "Managed instance: %s %s\n", r.MI.Address, paren(r.MI.Name))
	if r.MIParams != nil {
		o := r.MIParams
		fmt.Fprintf(&b, "MI node:          %s, HADR port %d\n", o.MI.Node, o.MI.HadrPort)
		fmt.Fprintf(&b, "SQL Server IP:    %s, endpoint port %d\n", o.SQLServerIP, o.EndpointPort)
	}
	if len(r.Findings) > 0 {
		b.WriteString("\nPrerequisites\n")
		for _, f := range r.Findings {
			fmt.Fprintf(&b, "  [%s] %s: %s\n", marks[f.Severity], f.Server, f.Title)
			if f.Severity == Warn || f.Severity == Fail {
				if f.Detail != "" {
					fmt.Fprintf(&b, "         %s\n", f.Detail)
				}
				for _, x := range r.fixesToShow(f) {
					fmt.Fprintf(&b, "         fix (%s): %s\n", x.Platform, x.Command)
				}
			}
		}
	}
	if len(r.Allowlist) > 0 {
		fmt.Fprintf(&b, "\nAllowlist (%s): let these through proxies and firewalls\n", r.Cloud)
		for _, a := range r.Allowlist {
			fmt.Fprintf(&b, "  %-34s %s\n", a.Name, a.URL)
		}
	}
	if len(r.Directions) > 0 {
		b.WriteString("\nConnectivity\n")
		for _, d := range r.Directions {
			fmt.Fprintf(&b, "  [%s] %s", statusMark(d.Status), d.Direction)
			if d.Job != "" && d.Status != StatusNotRun {
				fmt.Fprintf(&b, " (job %s, %s)", d.Job, d.Elapsed.Round(100*time.Millisecond))
			} else if d.Method != "" && len(d.Probes) > 0 {
				fmt.Fprintf(&b, " (%s)", d.Method)
			}
			b.WriteString("\n")
			if d.Reason != "" {
				fmt.Fprintf(&b, "         %s\n", d.Reason)
			}
			for _, p := range d.Probes {
				mark := "ok  "
				if !p.Succeeded {
					mark = "FAIL"
				}
				fmt.Fprintf(&b, "         %s %s:%d  %s", mark, p.Host, p.Port, p.Verdict)
				if p.RemoteAddress != "" {
					fmt.Fprintf(&b, "  (remote address %s)", p.RemoteAddress)
				}
				b.WriteString("\n")
				if p.Explanation != "" {
					fmt.Fprintf(&b, "              %s\n", p.Explanation)
					for _, x := range p.Fixes {
						if x.Platform == r.Platform() || x.Platform == "Azure" {
							fmt.Fprintf(&b, "              fix (%s): %s\n", x.Platform, x.Command)
						}
					}
				}
			}
			if d.ManualCommand != "" {
				fmt.Fprintf(&b, "         run on the SQL Server host: %s\n", d.ManualCommand)
			}
		}
	}
	if len(r.Cleanup) > 0 {
		b.WriteString("\nCleanup\n")
		for _, c := range r.Cleanup {
			switch {
			case c.Error != "":
				fmt.Fprintf(&b, "  [FAIL] %s: %s %s: %s\n", c.Server, c.Kind, c.Name, c.Error)
			case c.Removed:
				fmt.Fprintf(&b, "  [ ok ] %s: removed %s %s\n", c.Server, c.Kind, c.Name)
			default:
				fmt.Fprintf(&b, "  [ ok ] %s: %s %s was not there\n", c.Server, c.Kind, c.Name)
			}
		}
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(&b, "\nWarning: %s\n", wn)
	}
	fmt.Fprintf(&b, "\nResult: %s (exit code %d)\n", r.Outcome, r.ExitCode)
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

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", "").Replace(s)
}

// WriteMarkdown writes the report as Markdown.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# milink network check\n\nRun `%s`, %s, took %s.\n\n", r.RunID, r.StartedAt.Format(time.RFC3339), r.Duration.Round(100*time.Millisecond))
	b.WriteString("| | Address | Details |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| SQL Server | `%s` | %s |\n", r.SQLServer.Address, mdEscape(strings.Trim(paren(r.SQLServer.Name, r.SQLServer.Version, r.SQLServer.Edition, r.SQLServer.Platform), "()")))
	fmt.Fprintf(&b, "| Managed instance | `%s` | %s |\n", r.MI.Address, mdEscape(strings.Trim(paren(r.MI.Name, r.MI.Version), "()")))
	if r.MIParams != nil {
		o := r.MIParams
		fmt.Fprintf(&b, "\nManaged instance node `%s`, HADR port `%d`; SQL Server IP `%s`, endpoint port `%d`.\n", o.MI.Node, o.MI.HadrPort, o.SQLServerIP, o.EndpointPort)
	}
	if len(r.Findings) > 0 {
		b.WriteString("\n## Prerequisites\n\n| Result | Server | Check | Details | Fix |\n|---|---|---|---|---|\n")
		for _, f := range r.Findings {
			var fixes []string
			for _, x := range r.fixesToShow(f) {
				fixes = append(fixes, fmt.Sprintf("%s: `%s`", x.Platform, mdEscape(x.Command)))
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", marks[f.Severity], f.Server, mdEscape(f.Title), mdEscape(f.Detail), strings.Join(fixes, "<br>"))
		}
	}
	if len(r.Allowlist) > 0 {
		fmt.Fprintf(&b, "\n## Allowlist (%s)\n\n| What | Address | Why |\n|---|---|---|\n", r.Cloud)
		for _, a := range r.Allowlist {
			fmt.Fprintf(&b, "| %s | `%s` | %s |\n", mdEscape(a.Name), a.URL, mdEscape(a.Why))
		}
	}
	if len(r.Directions) > 0 {
		b.WriteString("\n## Connectivity\n\n| Direction | Target | Result | Remote address | Explanation |\n|---|---|---|---|---|\n")
		for _, d := range r.Directions {
			if len(d.Probes) == 0 {
				fmt.Fprintf(&b, "| %s | | %s | | %s |\n", d.Direction, statusMark(d.Status), mdEscape(d.Reason))
				if d.ManualCommand != "" {
					fmt.Fprintf(&b, "\nRun on the SQL Server host:\n\n```sh\n%s\n```\n\n", d.ManualCommand)
				}
				continue
			}
			for _, p := range d.Probes {
				fmt.Fprintf(&b, "| %s | `%s:%d` | %s | %s | %s |\n", d.Direction, p.Host, p.Port, p.Verdict, p.RemoteAddress, mdEscape(p.Explanation))
			}
		}
	}
	if len(r.Cleanup) > 0 {
		b.WriteString("\n## Cleanup\n\n")
		for _, c := range r.Cleanup {
			switch {
			case c.Error != "":
				fmt.Fprintf(&b, "- **failed**: %s %s on %s: %s\n", c.Kind, c.Name, c.Server, mdEscape(c.Error))
			case c.Removed:
				fmt.Fprintf(&b, "- removed %s `%s` on %s\n", c.Kind, c.Name, c.Server)
			default:
				fmt.Fprintf(&b, "- %s `%s` on %s was not there\n", c.Kind, c.Name, c.Server)
			}
		}
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(&b, "\n> **Warning:** %s\n", wn)
	}
	fmt.Fprintf(&b, "\n**Result:** %s (exit code %d)\n", r.Outcome, r.ExitCode)
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
