package sqlops

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Endpoint is the target as its result line starts: "host:port", or "[v6]:port" for
// an IPv6 address (net.JoinHostPort). Every probe command milink prints or runs
// (ProbeScript, the bash and PowerShell fallbacks) starts its line for the target with it.
func (t ProbeTarget) Endpoint() string {
	if strings.Contains(t.Host, ":") {
		return net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
	}
	return t.Host + ":" + strconv.Itoa(t.Port)
}

// ProbeLineFields documents the line every probe command prints per target, in this
// order (ParseProbeLines reads it; the order is not required):
//
//	<Endpoint> TcpTestSucceeded : True|False SocketErrorCode : <name> RemoteAddress : <ip> ElapsedMs : <n> Detail : <text>
//
// SocketErrorCode is .NET's SocketError name (Success, TimedOut, ConnectionRefused,
// HostNotFound, ...: https://learn.microsoft.com/dotnet/api/system.net.sockets.socketerror),
// ElapsedMs the target's own time in milliseconds from the start of all connects,
// RemoteAddress may be empty, Detail is one line and comes last.
const ProbeLineFields = "TcpTestSucceeded SocketErrorCode RemoteAddress ElapsedMs Detail"

// ProbeScript returns the PowerShell job-step command that probes all targets at
// once in one PowerShell process: it starts one
// System.Net.Sockets.TcpClient.ConnectAsync per target (and a Dns.GetHostAddressesAsync
// for the address), then waits with Task.WaitAny until every connect has completed or
// passed its own timeout
// (https://learn.microsoft.com/dotnet/api/system.threading.tasks.task.waitany: the index
// of the completed task, or -1 on timeout), so the step takes as long as its slowest
// target, never the sum. It prints one line per target, in the targets' order, in the
// ProbeLineFields format; a failed connect's SocketErrorCode comes from its
// SocketException (not localised), a connect still pending at its timeout is TimedOut.
// Test-NetConnection is not used: it has no timeout (~21 s per address on a filtered
// port). skipSQLPS adds the "#NOSQLPS" first line, which SQL Server 2019 and later
// read as "do not load the SQLPS module"
// (https://learn.microsoft.com/sql/powershell/run-windows-powershell-steps-in-sql-server-agent).
//
// Every target is validated first (ProbeTarget.Validate: the host only letters, digits,
// '.', '-' and ':'; the port 1-65535; the timeout 100ms-10m), so the single-quoted
// strings cannot be broken out of; its error wraps ErrInvalidInput. Each statement of
// the script is one line, so the lines also join with "; " into one command line.
func ProbeScript(targets []ProbeTarget, skipSQLPS bool) (string, error) {
	lines, err := probeScriptLines(targets)
	if err != nil {
		return "", err
	}
	if skipSQLPS {
		lines = append([]string{"#NOSQLPS"}, lines...)
	}
	return strings.Join(lines, "\n") + "\n", nil
}

// ProbeCommandLine is ProbeScript's statements joined into one PowerShell command line
// (for a user to paste into a console on the SQL Server host), without #NOSQLPS.
func ProbeCommandLine(targets []ProbeTarget) (string, error) {
	lines, err := probeScriptLines(targets)
	if err != nil {
		return "", err
	}
	return strings.Join(lines, "; "), nil
}

func probeScriptLines(targets []ProbeTarget) ([]string, error) {
	if len(targets) == 0 {
		return nil, fmt.Errorf("probe script: %w: no targets", ErrInvalidInput)
	}
	entries := make([]string, len(targets))
	for i, t := range targets {
		if err := t.Validate(); err != nil {
			return nil, err
		}
		entries[i] = fmt.Sprintf("@{ n = '%s'; h = '%s'; p = %d; t = %d }", t.Endpoint(), t.Host, t.Port, t.Timeout.Milliseconds())
	}
	return []string{
		"$probes = @(" + strings.Join(entries, ", ") + ")",
		"$sw = [System.Diagnostics.Stopwatch]::StartNew()",
		// Start every connect (and an address lookup) before waiting for any.
		"foreach ($x in $probes) { $x.r = 'False'; $x.s = ''; $x.d = ''; $x.a = ''; $x.e = -1; $x.k = $null; $x.q = $null; $x.f = $null; " +
			"$x.c = New-Object System.Net.Sockets.TcpClient; " +
			"try { $x.q = [System.Net.Dns]::GetHostAddressesAsync($x.h) } catch { }; " +
			"try { $x.k = $x.c.ConnectAsync($x.h, $x.p) } catch { $x.f = $_.Exception; $x.e = $sw.ElapsedMilliseconds } }",
		// Wait for whichever completes first, until each is done or past its timeout (a
		// connect that completed by then counts as completed, whatever the clock says).
		"while ($true) { $now = $sw.ElapsedMilliseconds; " +
			"foreach ($x in $probes) { if ($x.e -lt 0 -and $now -ge $x.t -and -not $x.k.IsCompleted) { $x.e = $now; $x.s = 'TimedOut'; $x.d = \"timed out after $($x.t) ms\" } }; " +
			"$w = @($probes | Where-Object { $_.e -lt 0 }); if ($w.Count -eq 0) { break }; " +
			"$left = [int](($w | ForEach-Object { $_.t } | Measure-Object -Minimum).Minimum - $now); " +
			"$i = [System.Threading.Tasks.Task]::WaitAny([System.Threading.Tasks.Task[]]@($w | ForEach-Object { $_.k }), [Math]::Max($left, 1)); " +
			"if ($i -ge 0) { $w[$i].e = $sw.ElapsedMilliseconds } }",
		// One line per target, in order.
		"foreach ($x in $probes) { if ($x.s -eq '') { " +
			"if ($x.k -ne $null -and [string]$x.k.Status -eq 'RanToCompletion') { $x.r = 'True'; $x.s = 'Success'; $x.d = 'connected'; try { $x.a = $x.c.Client.RemoteEndPoint.Address.IPAddressToString } catch { } } " +
			"else { $b = $x.f; if ($x.k -ne $null -and $x.k.Exception -ne $null) { $b = $x.k.Exception }; " +
			"if ($b -ne $null) { $b = $b.GetBaseException(); $x.d = $b.Message; if ($b -is [System.Net.Sockets.SocketException]) { $x.s = [string]$b.SocketErrorCode } }; " +
			"if ($x.s -eq '') { $x.s = 'SocketError' } } }; " +
			"if ($x.a -eq '' -and $x.q -ne $null -and [string]$x.q.Status -eq 'RanToCompletion' -and $x.q.Result.Count -gt 0) { $x.a = $x.q.Result[0].IPAddressToString }; " +
			"$x.c.Dispose(); " +
			"\"$($x.n) TcpTestSucceeded : $($x.r) SocketErrorCode : $($x.s) RemoteAddress : $($x.a) ElapsedMs : $($x.e) Detail : $($x.d -replace '\\s+', ' ')\" }",
	}, nil
}

// ProbeLine is what ParseProbeLines read for one target.
type ProbeLine struct {
	ProbeOutput
	Found bool   // a line (or, for a lone target, any readable probe output) was found
	Text  string // the target's part of the output, trimmed
}

// ParseProbeLines reads each target's result from the output of a probe command that
// prints one line per target (ProbeScript, the fallback commands), returning one
// ProbeLine per target in the targets' order. A target's part starts at its Endpoint
// followed by " TcpTestSucceeded" (at the start of the text or after white space) and
// ends where the next target's part, or Agent's "  Process Exit Code" suffix, starts:
// so the step's log (one line per target) and its sysjobhistory message (the lines
// joined by spaces, possibly cut at 4000 characters) read alike, and the lines may
// come in any order (bash's background jobs). Each part is read by ParseProbeOutput.
// Text fallback: with a single target and no such line, the whole output is read as
// one probe's (Test-NetConnection's Format-List or Quiet output) when it has a
// TcpTestSucceeded or True/False answer.
func ParseProbeLines(out string, targets []ProbeTarget) []ProbeLine {
	type hit struct{ at, body, target int }
	var hits []hit
	for i, t := range targets {
		key := t.Endpoint() + " TcpTestSucceeded"
		for from := 0; ; {
			k := strings.Index(out[from:], key)
			if k < 0 {
				break
			}
			at := from + k
			if at == 0 || isSpace(out[at-1]) {
				hits = append(hits, hit{at: at, body: at + len(t.Endpoint()), target: i})
			}
			from = at + len(key)
		}
	}
	sort.Slice(hits, func(a, b int) bool { return hits[a].at < hits[b].at })
	res := make([]ProbeLine, len(targets))
	for k, h := range hits {
		if res[h.target].Found {
			continue // the first line for a target counts
		}
		end := len(out)
		if k+1 < len(hits) {
			end = hits[k+1].at
		}
		part := out[h.body:end]
		if i := strings.Index(part, "  Process Exit Code"); i >= 0 {
			part = part[:i]
		}
		po := ParseProbeOutput(part)
		if !po.Known {
			continue
		}
		res[h.target] = ProbeLine{ProbeOutput: po, Found: true, Text: strings.TrimSpace(out[h.at : h.body+len(part)])}
	}
	if len(targets) == 1 && !res[0].Found {
		if po := ParseProbeOutput(out); po.Known {
			res[0] = ProbeLine{ProbeOutput: po, Found: true, Text: strings.TrimSpace(out)}
		}
	}
	return res
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// ProbeDuration is the duration a probe line gives for its target: its ElapsedMs when
// printed, else fallback (e.g. the job step's run_duration, whole seconds).
func (l ProbeLine) ProbeDuration(fallback time.Duration) time.Duration {
	if l.HasElapsed {
		return l.Elapsed
	}
	return fallback
}
