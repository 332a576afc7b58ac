package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/milink/milink/sqlops"
)

// Command is CommandFor("Linux", targets): the bash fallback.
func Command(targets []sqlops.ProbeTarget) string { return CommandFor("Linux", targets) }

// CommandFor is a one-line command for the SQL Server host's platform that probes
// all targets at once and prints one line per target that ParsePasted reads back, in
// sqlops.ProbeLineFields' format: "host:port TcpTestSucceeded : True|False
// SocketErrorCode : <name> RemoteAddress : <ip> ElapsedMs : <n>". On Windows it is
// the Agent job's own PowerShell (sqlops.ProbeCommandLine: concurrent
// System.Net.Sockets.TcpClient connects, .NET's SocketError names, not localised:
// https://learn.microsoft.com/dotnet/api/system.net.sockets.socketerror); on Linux bash,
// one background job per target (bash's /dev/tcp under timeout(1) in the C locale,
// mapping timeout's exit status 124 and the C library's messages to the same names)
// and a wait for all, in a subshell so an interactive shell prints no job numbers.
// Either takes as long as the slowest target. Targets with an invalid host, port or
// timeout are left out, so nothing unvalidated reaches the shell.
func CommandFor(platform string, targets []sqlops.ProbeTarget) string {
	var valid []sqlops.ProbeTarget
	for _, t := range targets {
		if t.Validate() == nil {
			valid = append(valid, t)
		}
	}
	if len(valid) == 0 {
		return ""
	}
	if strings.EqualFold(platform, "Windows") {
		c, _ := sqlops.ProbeCommandLine(valid)
		return c
	}
	parts := make([]string, len(valid))
	for i, t := range valid {
		parts[i] = "( " + commandFor(t) + " ) &"
	}
	return "( " + strings.Join(parts, " ") + " wait )"
}

// commandFor is the bash command for one target ("" when the target is invalid).
func commandFor(t sqlops.ProbeTarget) string {
	if t.Validate() != nil {
		return ""
	}
	secs := strconv.FormatFloat(t.Timeout.Round(time.Millisecond).Seconds(), 'f', -1, 64)
	return fmt.Sprintf(`t0=$(date +%%s%%3N); e=$(LC_ALL=C timeout %s bash -c '</dev/tcp/%s/%d' 2>&1); c=$?; t1=$(date +%%s%%3N); r=False; case "$c:$e" in 0:*) r=True; s=Success;; 124:*) s=TimedOut;; *refused*) s=ConnectionRefused;; *"not known"*|*"Name or service"*|*"No address"*) s=HostNotFound;; *"timed out"*) s=TimedOut;; *) s=SocketError;; esac; a=$(LC_ALL=C timeout 1 getent ahosts %s 2>/dev/null); echo "%s TcpTestSucceeded : $r SocketErrorCode : $s RemoteAddress : ${a%%%%[[:space:]]*} ElapsedMs : $((t1-t0))"`,
		secs, t.Host, t.Port, t.Host, t.Endpoint())
}

// ParsePasted reads the lines printed by CommandFor, pasted back by the user (LF, CRLF
// or CR line endings), and returns one Result per target, in order, with the verdict
// its SocketErrorCode gives (VerdictFailed for a bare False). It fails, naming the
// target, when a target has no line.
func ParsePasted(text string, targets []sqlops.ProbeTarget) ([]Result, error) {
	text = strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(text)
	var out []Result
	for _, t := range targets {
		prefix := t.Endpoint()
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
				Output: line, Ran: commandFor(t), Where: Manual{}.Where(), Duration: po.Elapsed}
			if po.SocketErrorCode != "" {
				pr.Detail = "pasted result: " + po.SocketErrorCode
			}
			if !po.Succeeded && po.SocketErrorCode == "" {
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
// target has no line). A duration is the line's ElapsedMs (zero when it has none).
func (m Manual) Probe(_ context.Context, targets []sqlops.ProbeTarget, notify Notify) ([]Result, error) {
	rs, err := ParsePasted(m.Pasted, targets)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		notify.note(NoteVerdict, "%s: %s", net.JoinHostPort(r.Host, strconv.Itoa(r.Port)), r.Verdict)
	}
	return rs, nil
}
