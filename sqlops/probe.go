package sqlops

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ProbeTarget is one TCP endpoint that an Agent job probes.
type ProbeTarget struct {
	Label   string        // human label, e.g. "MI endpoint 5022"
	Host    string        // IP address or DNS name
	Port    int           // TCP port
	Timeout time.Duration // connect timeout for the timed probe
}

// Validate checks the target so that it can be placed into a PowerShell step.
func (t ProbeTarget) Validate() error {
	if err := ValidateHost(t.Host); err != nil {
		return fmt.Errorf("probe %s: %w", t.Label, err)
	}
	if err := ValidatePort(t.Port); err != nil {
		return fmt.Errorf("probe %s: %w", t.Label, err)
	}
	if t.Timeout < 100*time.Millisecond || t.Timeout > 10*time.Minute {
		return fmt.Errorf("probe %s: %w: timeout %s is outside 100ms-10m", t.Label, ErrInvalidInput, t.Timeout)
	}
	return nil
}

// ProbeVerdict classifies the outcome of one probe.
type ProbeVerdict string

// Probe verdicts.
const (
	VerdictConnected ProbeVerdict = "connected" // TCP connect succeeded
	VerdictTimeout   ProbeVerdict = "timeout"   // no answer within the timeout: filtered by a firewall/NSG, or nothing routes there
	VerdictRefused   ProbeVerdict = "refused"   // the host answered with a reset: reachable, but nothing listens on the port
	VerdictDNS       ProbeVerdict = "dns"       // the name did not resolve on the probing host
	VerdictFailed    ProbeVerdict = "failed"    // the connect failed for another or unknown reason
	VerdictUnknown   ProbeVerdict = "unknown"   // the output could not be understood
	// VerdictNotRun: the probe itself did not run (an Agent job step that could not
	// start: PowerShell on SQL Server on Linux, SQLPS failing to load, a non-sysadmin job
	// owner without a proxy); it says nothing about the network.
	VerdictNotRun ProbeVerdict = "not-run"
)

// ProbeOutput is what could be read from a probe's output.
type ProbeOutput struct {
	// SocketErrorCode is the .NET SocketError name the probe printed ("Success",
	// "ConnectionRefused", "TimedOut", "HostNotFound", ...), "" when none.
	SocketErrorCode string
	Succeeded       bool
	Known           bool // whether a TcpTestSucceeded (or Quiet True/False) line was found
	RemoteAddress   string
	Detail          string
	Verdict         ProbeVerdict
	// Elapsed is the probe's own time (its "ElapsedMs : n" field, milliseconds in the
	// text), valid when HasElapsed.
	Elapsed    time.Duration
	HasElapsed bool
}

var (
	reSockErr  = regexp.MustCompile(`(?i)SocketErrorCode\s*:[ \t]*([A-Za-z]+)`)
	reTcpTest  = regexp.MustCompile(`(?i)TcpTestSucceeded\s*:\s*(True|False)`)
	reRemote   = regexp.MustCompile(`(?i)RemoteAddress\s*:[ \t]*((?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]*:[0-9A-Fa-f:.]+)`)
	reDetail   = regexp.MustCompile(`(?i)Detail\s*:[ \t]*([^\r\n]*?)(?:\s{2,}Process Exit Code|\r?\n|$)`)
	reElapsed  = regexp.MustCompile(`(?i)ElapsedMs\s*:[ \t]*(\d{1,9})\b`)
	reQuiet    = regexp.MustCompile(`(?i)(?:^|\.\s+|\n)\s*(True|False)\s*(?:$|\r?\n|\s{2}Process Exit)`)
	reNameRes  = regexp.MustCompile(`(?i)name resolution of .* failed|no such host is known|nodename nor servname|name or service not known`)
	reRefused  = regexp.MustCompile(`(?i)actively refused|connection refused`)
	reTimedOut = regexp.MustCompile(`(?i)timed out|did not properly respond|connection attempt failed`)
)

// socketErrorVerdict maps a .NET SocketError name (not localised, unlike exception
// messages: https://learn.microsoft.com/dotnet/api/system.net.sockets.socketerror) to
// a verdict. Linux's errno names, as milink's bash fallback prints them, map alike.
func socketErrorVerdict(code string) ProbeVerdict {
	switch strings.ToLower(code) {
	case "success":
		return VerdictConnected
	case "connectionrefused", "econnrefused":
		return VerdictRefused
	case "timedout", "etimedout":
		return VerdictTimeout
	case "hostnotfound", "nodata", "tryagain", "eai_noname":
		return VerdictDNS
	}
	return VerdictFailed
}

// ParseProbeOutput reads the output of a probe step, tolerant of every format seen in
// practice. A SocketErrorCode field decides the verdict; matching the (localised)
// exception text is only the fallback when there is none. Formats: Test-NetConnection's Format-List ("TcpTestSucceeded : True"), the
// "-InformationLevel Quiet" form ("True"), one target's part of a line of milink's
// probe commands (ProbeLineFields, split by ParseProbeLines; its ElapsedMs gives Elapsed),
// and those texts as the Agent stores them in sysjobhistory.message (lines joined,
// prefixed by "Executed as user: ..." and followed by "  Process Exit Code 0.  The
// step succeeded.", possibly cut at 4000 characters).
func ParseProbeOutput(s string) ProbeOutput {
	var out ProbeOutput
	if m := reTcpTest.FindStringSubmatch(s); m != nil {
		out.Known = true
		out.Succeeded = strings.EqualFold(m[1], "true")
	} else if m := reQuiet.FindStringSubmatch(strings.TrimSpace(s)); m != nil {
		out.Known = true
		out.Succeeded = strings.EqualFold(m[1], "true")
	}
	if m := reRemote.FindStringSubmatch(s); m != nil {
		out.RemoteAddress = m[1]
	}
	if m := reDetail.FindStringSubmatch(s); m != nil {
		out.Detail = strings.TrimSpace(m[1])
	}
	if m := reSockErr.FindStringSubmatch(s); m != nil {
		out.SocketErrorCode = m[1]
	}
	if m := reElapsed.FindStringSubmatch(s); m != nil {
		ms, _ := strconv.Atoi(m[1])
		out.Elapsed, out.HasElapsed = time.Duration(ms)*time.Millisecond, true
	}
	switch {
	case !out.Known:
		out.Verdict = VerdictUnknown
	case out.Succeeded:
		out.Verdict = VerdictConnected
	case out.SocketErrorCode != "":
		out.Verdict = socketErrorVerdict(out.SocketErrorCode)
	case reNameRes.MatchString(s):
		out.Verdict = VerdictDNS
	case reRefused.MatchString(s):
		out.Verdict = VerdictRefused
	case reTimedOut.MatchString(s):
		out.Verdict = VerdictTimeout
	default:
		out.Verdict = VerdictFailed
	}
	return out
}
