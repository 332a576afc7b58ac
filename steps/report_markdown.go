// The Markdown report: for a network admin, with the firewall and NSG rules the link
// needs as a table. Every value is escaped for where it goes.

package steps

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

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

// mdCode writes s as an inline code span for a table cell (inert: nothing in it is
// Markdown or HTML; see mdSpan); a | is escaped so it does not split the cell (GFM
// tables unescape it, also inside code spans).
func mdCode(s string) string {
	s = textEscape(strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s))
	return mdSpan(strings.ReplaceAll(s, "|", `\|`))
}

// mdCodeText writes s as an inline code span outside a table: like mdCode, but a |
// stays as it is (a backslash before it would show).
func mdCodeText(s string) string {
	return mdSpan(textEscape(strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)))
}

// mdSpan fences s as a code span that renders exactly s (CommonMark 6.1): the fence is
// longer than any run of backticks in s, and s is padded with a space on each side
// when it starts or ends with a backtick, or starts and ends with a space (a renderer
// strips one space from each side then).
func mdSpan(s string) string {
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") ||
		(strings.HasPrefix(s, " ") && strings.HasSuffix(s, " ") && strings.Trim(s, " ") != "") {
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
	fmt.Fprintf(&b, "# milink network check\n\n**Result:** %s (exit code %d)\n\nRun %s, %s, took %s.\n\n", e(r.Outcome), r.ExitCode,
		mdCodeText(r.RunID), r.StartedAt.Format(time.RFC3339), r.Duration.Round(100*time.Millisecond))
	b.WriteString("| | Address | Details |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| SQL Server | %s | %s |\n", c(r.SQLServer.Address), e(strings.Trim(paren(r.SQLServer.Name, r.SQLServer.Version, r.SQLServer.Edition, r.SQLServer.Platform), "()")))
	fmt.Fprintf(&b, "| Managed instance | %s | %s |\n", c(r.MI.Address), e(strings.Trim(paren(r.MI.Name, r.MI.Version), "()")))
	if r.MIParams != nil {
		o := r.MIParams
		fmt.Fprintf(&b, "\nManaged instance node %s, HADR port `%d`; SQL Server IP %s, endpoint port `%d`.\n", mdCodeText(o.MI.Node), o.MI.HadrPort, mdCodeText(o.SQLServerIP), o.EndpointPort)
		r.writeFirewallRules(&b)
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
			failed := ""
			if x.Error != "" {
				failed = "**failed** "
			}
			fmt.Fprintf(&b, "- %s%s: %s\n", failed, e(x.Server), x.phrase(e, mdCodeText))
		}
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(&b, "\n> **Warning:** %s\n", e(wn))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// firewallRule is one rule the link needs in host firewalls, network firewalls and the
// managed instance subnet's NSG.
type firewallRule struct {
	dir                 Direction
	source, destination string
	ports               string
	where, why          string
	match               func(ProbeResult) bool // the probes that tested it
}

// firewallRules are the rules the link needs, for the options o (https://learn.microsoft.com/azure/azure-sql/managed-instance/managed-instance-link-preparation#network-connectivity).
func firewallRules(o *NetworkOptions) []firewallRule {
	sqlIP, mi := o.SQLServerIP, o.MI.FQDN
	if sqlIP == "" {
		sqlIP = "SQL Server"
	}
	return []firewallRule{
		{SQLToMI, "SQL Server " + sqlIP, "managed instance subnet (" + mi + ")", "5022",
			"outbound on SQL Server's firewalls; inbound in the MI subnet's NSG", "the link's database mirroring connection to the managed instance",
			func(p ProbeResult) bool { return p.Port == 5022 }},
		{SQLToMI, "SQL Server " + sqlIP, "managed instance subnet (" + o.MI.Node + ")", "11000-11999",
			"outbound on SQL Server's firewalls; inbound in the MI subnet's NSG", "redirect to the node's HADR port, which changes after a failover: the whole range",
			func(p ProbeResult) bool { return p.Port >= 11000 && p.Port <= 11999 }},
		{MIToSQL, "managed instance subnet", "SQL Server " + sqlIP, strconv.Itoa(o.EndpointPort),
			"outbound in the MI subnet's NSG; inbound on SQL Server's firewalls", "the managed instance connects back to SQL Server's mirroring endpoint",
			func(p ProbeResult) bool { return p.Port == o.EndpointPort }},
	}
}

// writeFirewallRules writes the firewall and NSG rules the link needs as a table, each
// with what this run's probes found for it.
func (r *Report) writeFirewallRules(b *strings.Builder) {
	e, c := mdEscape, mdCode
	b.WriteString("\n## Firewall and NSG rules the link needs\n\nAll TCP. Allow each in the host firewalls, the network firewalls (or VPN) between the networks, and the managed instance subnet's network security group.\n\n")
	b.WriteString("| Source | Destination | Port | Direction | Where to allow | Why | This run |\n|---|---|---|---|---|---|---|\n")
	for _, fr := range firewallRules(r.MIParams) {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", e(fr.source), e(fr.destination), c(fr.ports), e(string(fr.dir)), e(fr.where), e(fr.why), e(r.ruleResult(fr)))
	}
}

// ruleResult says what this run's probes found for rule fr: "open", "blocked
// (timeout)", "not tested".
func (r *Report) ruleResult(fr firewallRule) string {
	var open, bad []string
	for _, d := range r.Directions {
		if d.Direction != fr.dir {
			continue
		}
		for _, p := range d.Probes {
			if !fr.match(p) {
				continue
			}
			if p.Succeeded {
				open = append(open, strconv.Itoa(p.Port))
			} else {
				bad = append(bad, fmt.Sprintf("%d %s", p.Port, p.Verdict))
			}
		}
	}
	switch {
	case len(bad) > 0:
		return "not open: " + strings.Join(bad, ", ")
	case len(open) > 0:
		return "open (" + strings.Join(open, ", ") + ")"
	}
	return "not tested"
}
