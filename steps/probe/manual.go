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

// Command is CommandFor("Linux", targets): the bash fallback.
func Command(targets []sqlops.ProbeTarget) string { return CommandFor("Linux", targets) }

// CommandFor is a one-line command for the SQL Server host's platform that probes
// targets and prints one line per target that ParsePasted reads back:
// "host:port TcpTestSucceeded : True|False SocketErrorCode : <name>". On Windows it is
// PowerShell with a timed System.Net.Sockets.TcpClient connect, printing .NET's
// SocketError name (not localised:
// https://learn.microsoft.com/dotnet/api/system.net.sockets.socketerror); on Linux
// bash's /dev/tcp under timeout(1) in the C locale, mapping timeout's exit status 124
// and the C library's messages to the same names. Targets with an invalid host or port
// are left out, so nothing unvalidated reaches the shell.
func CommandFor(platform string, targets []sqlops.ProbeTarget) string {
	var parts []string
	for _, t := range targets {
		c := commandFor(t)
		if strings.EqualFold(platform, "Windows") {
			c = psCommandFor(t)
		}
		if c != "" {
			parts = append(parts, c)
		}
	}
	return strings.Join(parts, "; ")
}

// commandFor is the bash command's part for one target ("" when the target is invalid).
func commandFor(t sqlops.ProbeTarget) string {
	if sqlops.ValidateHost(t.Host) != nil || sqlops.ValidatePort(t.Port) != nil {
		return ""
	}
	secs := int(t.Timeout.Seconds())
	if secs < 1 {
		secs = 1
	}
	return fmt.Sprintf(`e=$(LC_ALL=C timeout %d bash -c '</dev/tcp/%s/%d' 2>&1); c=$?; r=False; case "$c:$e" in 0:*) r=True; s=Success;; 124:*) s=TimedOut;; *refused*) s=ConnectionRefused;; *"not known"*|*"Name or service"*|*"No address"*) s=HostNotFound;; *"timed out"*) s=TimedOut;; *) s=SocketError;; esac; echo "%s:%d TcpTestSucceeded : $r SocketErrorCode : $s"`, secs, t.Host, t.Port, t.Host, t.Port)
}

// psCommandFor is the PowerShell command's part for one target ("" when invalid).
func psCommandFor(t sqlops.ProbeTarget) string {
	if sqlops.ValidateHost(t.Host) != nil || sqlops.ValidatePort(t.Port) != nil {
		return ""
	}
	ms := t.Timeout.Milliseconds()
	if ms < 1000 {
		ms = 1000
	}
	return fmt.Sprintf(`$c = New-Object System.Net.Sockets.TcpClient; $r = 'False'; $s = 'SocketError'; try { if ($c.ConnectAsync('%s', %d).Wait(%d)) { $r = 'True'; $s = 'Success' } else { $s = 'TimedOut' } } catch { $e = $_.Exception.GetBaseException(); if ($e -is [System.Net.Sockets.SocketException]) { $s = [string]$e.SocketErrorCode } } finally { $c.Dispose() }; "%s:%d TcpTestSucceeded : $r SocketErrorCode : $s"`, t.Host, t.Port, ms, t.Host, t.Port)
}

// ParsePasted reads the lines printed by CommandFor, pasted back by the user (LF, CRLF
// or CR line endings), and returns one Result per target, in order, with the verdict
// its SocketErrorCode gives (VerdictFailed for a bare False). It fails, naming the
// target, when a target has no line.
func ParsePasted(text string, targets []sqlops.ProbeTarget) ([]Result, error) {
	text = strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(text)
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
// target has no line). The durations are unknown (zero).
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
