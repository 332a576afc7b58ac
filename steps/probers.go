package steps

import (
	"fmt"
	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps/probe"
	"strconv"
	"strings"
)

// Prober runs the TCP probes of one direction; see probe.Prober. The front-ends pass
// one to Session and CheckWith for probes from this machine (nil: probe.Local).
type Prober = probe.Prober

// SSHProber runs the SQL Server → managed instance probes on the SQL Server host over
// SSH; see probe.SSH. SSHConfig.Prober makes one.
type SSHProber = probe.SSH

// ProbeResult is the outcome of one TCP probe in the report: the prober's Result (what
// ran, where, how long, the verdict), the direction it belongs to, and what the verdict
// means for the link with the fixes (Explain). Its JSON has the Result's fields inline.
type ProbeResult struct {
	Direction    Direction `json:"direction"` // the direction the probe tested
	probe.Result           // what ran, where, how long, and the verdict
	Explanation  string    `json:"explanation,omitempty"` // what the verdict means for the link ("" when connected)
	Fixes        []Fix     `json:"fixes,omitempty"`       // the remedies, per platform
}

// explainResults turns a prober's results for targets (in the same order) into the
// report's probe results of direction dir.
func explainResults(dir Direction, targets []sqlops.ProbeTarget, rs []probe.Result, o NetworkOptions) []ProbeResult {
	out := make([]ProbeResult, 0, len(rs))
	for i, r := range rs {
		t := sqlops.ProbeTarget{Label: r.Step, Host: r.Host, Port: r.Port}
		if i < len(targets) {
			t = targets[i]
		}
		pr := ProbeResult{Direction: dir, Result: r}
		pr.Explanation, pr.Fixes = Explain(dir, t, r.Verdict, o)
		if r.Verdict == sqlops.VerdictNotRun {
			pr.Explanation, pr.Fixes = ExplainNotRun(dir, r.Detail)
		}
		if dir == SQLToMI && PublicAddress(r.RemoteAddress) {
			publicMIAddress(&pr)
		}
		out = append(out, pr)
	}
	if dir == SQLToMI {
		classifyRange(out)
	}
	return out
}

// classifyRange grades the probes of the HADR port range (RangePorts): the node answers
// a port nobody listens on with a reset, so "refused" there means the path is open
// (only NSGs and firewalls drop: "timeout" means filtered). When some ports of
// 11000-11999 get through and others are filtered the range is only partly open, which
// breaks the link after a failover moves the node's port: the MI subnet's NSG must
// allow the whole range inbound from SQL Server, and SQL Server's firewalls outbound
// (https://learn.microsoft.com/azure/azure-sql/managed-instance/managed-instance-link-preparation#network-connectivity).
func classifyRange(ps []ProbeResult) {
	var open, filtered []string
	for i := range ps {
		p := &ps[i]
		inRange := isRangeProbe(p.Step) || p.Step == "Test HADR Port"
		if !inRange {
			continue
		}
		switch {
		case p.Verdict == sqlops.VerdictConnected:
			open = append(open, strconv.Itoa(p.Port))
		case p.Verdict == sqlops.VerdictRefused && isRangeProbe(p.Step):
			open = append(open, strconv.Itoa(p.Port))
			p.Succeeded = true
			p.Explanation, p.Fixes = "", nil
			p.Detail = "refused by the node (nothing listens on this port now): the path to it is open"
		case p.Verdict == sqlops.VerdictTimeout:
			filtered = append(filtered, strconv.Itoa(p.Port))
		}
	}
	if len(open) == 0 || len(filtered) == 0 {
		return
	}
	note := fmt.Sprintf("The HADR port range 11000-11999 is only partly open: port(s) %s get through, port(s) %s are filtered. The node's port changes after a failover, so the MI subnet's NSG (inbound from SQL Server) and SQL Server's firewalls (outbound) must allow the whole range.", strings.Join(open, ", "), strings.Join(filtered, ", "))
	for i := range ps {
		if ps[i].Verdict == sqlops.VerdictTimeout && (isRangeProbe(ps[i].Step) || ps[i].Step == "Test HADR Port") {
			ps[i].Explanation = note + " " + ps[i].Explanation
		}
	}
}

// ManualProbeCommand is a one-line shell command that runs the SQL Server → managed
// instance probes on a Linux host and prints lines ParsePastedProbeResults reads back
// (probe.Command).
func ManualProbeCommand(targets []sqlops.ProbeTarget) string { return probe.Command(targets) }

// ManualProbeCommandFor is the fallback command for a SQL Server host on platform:
// PowerShell on Windows, bash on Linux (probe.CommandFor); both print what
// ParsePastedProbeResults reads back, with the SocketErrorCode of each probe.
func ManualProbeCommandFor(platform string, targets []sqlops.ProbeTarget) string {
	return probe.CommandFor(platform, targets)
}

// ParsePastedProbeResults reads the lines printed by ManualProbeCommandFor
// ("host:port TcpTestSucceeded : True SocketErrorCode : Success") and returns one
// result per target, for Report.ApplyPastedProbes; it fails when 5022 or the node's
// HADR port has no line (probe.ParsePasted). Lines for the extra ports of the HADR range
// are optional (a command printed by an older milink has none).
func ParsePastedProbeResults(text string, targets []sqlops.ProbeTarget) ([]probe.Result, error) {
	var main, extra []sqlops.ProbeTarget
	for _, t := range targets {
		if isRangeProbe(t.Label) {
			extra = append(extra, t)
		} else {
			main = append(main, t)
		}
	}
	out, err := probe.ParsePasted(text, main)
	if err != nil {
		return nil, err
	}
	for _, t := range extra {
		if rs, err := probe.ParsePasted(text, []sqlops.ProbeTarget{t}); err == nil {
			out = append(out, rs...)
		}
	}
	return out, nil
}

// publicMIAddress marks a SQL Server → managed instance probe whose name resolved to a
// public address on the SQL Server side. The link's traffic needs the managed
// instance's private address over VPN, ExpressRoute or peering; the public endpoint
// (port 3342, TDS only) cannot carry it
// (https://learn.microsoft.com/azure/azure-sql/managed-instance/managed-instance-link-preparation#network-connectivity,
// https://learn.microsoft.com/azure/azure-sql/managed-instance/public-endpoint-overview).
// Even a connection made there is not a pass: it did not reach the right address.
func publicMIAddress(pr *ProbeResult) {
	note := fmt.Sprintf("On SQL Server %s resolves to the public address %s: the link needs the managed instance's private address, reached over site-to-site VPN, ExpressRoute or virtual network peering; the public endpoint cannot carry it. Make SQL Server's DNS resolve the name privately (a conditional forwarder to Azure DNS or a private DNS zone).", pr.Host, pr.RemoteAddress)
	if pr.Succeeded {
		pr.Succeeded, pr.Verdict = false, sqlops.VerdictFailed
		pr.Detail = "connected, but to a public address: " + pr.Detail
	}
	pr.Explanation = strings.TrimSpace(note + " " + pr.Explanation)
}

// explainPasted explains pasted results like a prober's (explainResults: verdict
// explanations, the HADR range's classification, a public MI address), matching each
// to its target by host and port.
func explainPasted(dir Direction, probes []probe.Result, opts NetworkOptions) []ProbeResult {
	targets := make([]sqlops.ProbeTarget, len(probes))
	for i, r := range probes {
		targets[i] = opts.MIToSQLTarget()
		for _, c := range opts.SQLToMITargets() {
			if c.Host == r.Host && c.Port == r.Port {
				targets[i] = c
			}
		}
	}
	return explainResults(dir, targets, probes, opts)
}
