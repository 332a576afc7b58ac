package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/milink/milink/sqlops"
)

// Command is a one-line shell command that probes targets on a Linux host with bash's
// /dev/tcp under timeout(1) and prints one line per target that ParsePasted reads back:
// "host:port TcpTestSucceeded : True" (or False). Targets with an invalid host or port
// are left out, so nothing unvalidated reaches the shell.
func Command(targets []sqlops.ProbeTarget) string {
	var parts []string
	for _, t := range targets {
		if c := commandFor(t); c != "" {
			parts = append(parts, c)
		}
	}
	return strings.Join(parts, "; ")
}

// commandFor is Command's part for one target ("" when the target is invalid).
func commandFor(t sqlops.ProbeTarget) string {
	if sqlops.ValidateHost(t.Host) != nil || sqlops.ValidatePort(t.Port) != nil {
		return ""
	}
	secs := int(t.Timeout.Seconds())
	if secs < 1 {
		secs = 1
	}
	return fmt.Sprintf(`if timeout %d bash -c '</dev/tcp/%s/%d' 2>/dev/null; then r=True; else r=False; fi; echo "%s:%d TcpTestSucceeded : $r"`, secs, t.Host, t.Port, t.Host, t.Port)
}

// ParsePasted reads the lines printed by Command, pasted back by the user, and returns
// one Result per target, in order: VerdictConnected or VerdictFailed (the command does
// not tell a timeout from a refusal). It fails, naming the target, when a target has no
// line.
func ParsePasted(text string, targets []sqlops.ProbeTarget) ([]Result, error) {
	var out []Result
	for _, t := range targets {
		prefix := net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
		if !strings.Contains(t.Host, ":") {
			prefix = t.Host + ":" + strconv.Itoa(t.Port)
		}
		found := false
		for _, line := range strings.Split(text, "\n") {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, prefix+" ") {
				continue
			}
			po := sqlops.ParseProbeOutput(strings.TrimPrefix(line, prefix))
			if !po.Known {
				continue
			}
			pr := Result{Step: t.Label, Host: t.Host, Port: t.Port, Succeeded: po.Succeeded, Verdict: po.Verdict, Detail: "pasted result",
				Output: line, Ran: commandFor(t), Where: Manual{}.Where()}
			if !po.Succeeded {
				pr.Verdict = sqlops.VerdictFailed
			}
			out = append(out, pr)
			found = true
			break
		}
		if !found {
			return nil, errors.New("no result for " + prefix + " in the pasted text: paste every line the command printed")
		}
	}
	return out, nil
}

// Manual is the prober for probes run by hand: Command's output, pasted into Pasted.
type Manual struct {
	Pasted string // what Command printed on the SQL Server host
}

// Where returns "SQL Server host (by hand)".
func (Manual) Where() string { return "SQL Server host (by hand)" }

// Probe reads the targets' results from Pasted (see ParsePasted; its error when a
// target has no line). The durations are unknown (zero).
func (m Manual) Probe(_ context.Context, targets []sqlops.ProbeTarget, notify Notify) ([]Result, error) {
	rs, err := ParsePasted(m.Pasted, targets)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		notify.note(NoteVerdict, "%s:%d: %s", r.Host, r.Port, r.Verdict)
	}
	return rs, nil
}
