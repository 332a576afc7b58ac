package sqlsim

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The PowerShell job step: the simulator does not run PowerShell; it recognises the two
// probe shapes a link's network test uses, from the step's text, and performs their
// TCP connects on the simulated Network, with the costs of a real step (Options:
// StepLatency, SQLPSLoad, TncTimeout; Network.SetLatency).

var (
	// reProbeEntry is one target of a probe script that lists its targets as
	// hashtables (@{ n = 'mi:5022'; h = 'mi'; p = 5022; t = 5000 }): n is the name the
	// script prints, h the host, p the port, t the connect timeout in milliseconds.
	reProbeEntry = regexp.MustCompile(`@\{\s*n\s*=\s*'([^']*)'\s*;\s*h\s*=\s*'([^']*)'\s*;\s*p\s*=\s*(\d+)\s*;\s*t\s*=\s*(\d+)\s*\}`)
	reTnc        = regexp.MustCompile(`(?i)^\s*(?:tnc|Test-NetConnection)\s+(?:-ComputerName\s+)?(\S+)\s+-port\s+(\d+)(.*)$`)
)

// loadsSQLPS reports whether a PowerShell step with this command loads the SQLPS
// module before running: always before SQL Server 2019; from 2019 on (and on the
// managed instance) unless the first line is #NOSQLPS ("Beginning with SQL Server 2019,
// you can disable SQLPS ... add #NOSQLPS, which stops the SQL Agent from auto loading
// the SQLPS module":
// https://learn.microsoft.com/sql/powershell/run-windows-powershell-steps-in-sql-server-agent).
func (a *agent) loadsSQLPS(cmd string) bool {
	first, _, _ := strings.Cut(strings.TrimSpace(cmd), "\n")
	skip := strings.EqualFold(strings.TrimSpace(first), "#NOSQLPS")
	return !(skip && (a.in.pers.MI || a.in.pers.Major >= 15))
}

// runPowerShell runs a PowerShell step whose owner may run it: the process start
// (StepLatency), the SQLPS load (SQLPSLoad, see loadsSQLPS), then the script.
func (a *agent) runPowerShell(ctx context.Context, s *jobStep) (bool, string, bool) {
	in := a.in
	cost := in.opts.StepLatency
	if a.loadsSQLPS(s.command) {
		cost += in.opts.SQLPSLoad
	}
	if !sleepCtx(ctx, cost) {
		return false, "", true
	}
	cmd := s.command
	if ms := reProbeEntry.FindAllStringSubmatch(cmd, -1); ms != nil && strings.Contains(cmd, "ConnectAsync") {
		return a.runProbeScript(ctx, cmd, ms)
	}
	line := strings.SplitN(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(cmd), "#NOSQLPS")), "\n", 2)[0]
	if m := reTnc.FindStringSubmatch(line); m != nil {
		return a.runTnc(ctx, m)
	}
	word := strings.Fields(line)
	name := ""
	if len(word) > 0 {
		name = word[0]
	}
	return false, fmt.Sprintf("A job step received an error at line 1 in a PowerShell script. The corresponding line is '%s'. Correct the script and reschedule the job. The error information returned by PowerShell is: 'The term '%s' is not recognized as the name of a cmdlet, function, script file, or operable program.'", line, name), false
}

// probeOutcome is one target's result in a probe script.
type probeOutcome struct {
	name, ok, code, addr, detail string
	elapsed                      time.Duration
}

// runProbeScript performs the connects of a script that lists its targets as
// hashtables and calls TcpClient.ConnectAsync for each. When the script waits with
// Task.WaitAny or Task.WaitAll after starting them all, the connects run at once and
// each completes or times out on its own (https://learn.microsoft.com/dotnet/api/system.threading.tasks.task.waitany);
// otherwise one after the other. It prints one line per target, in order, with the
// fields the script prints: the .NET SocketError name of the failure
// (https://learn.microsoft.com/dotnet/api/system.net.sockets.socketerror: Success,
// ConnectionRefused 10061, HostNotFound 11001; a connect still pending at its timeout
// raises nothing and the script says TimedOut), the address, and the time in ms.
func (a *agent) runProbeScript(ctx context.Context, cmd string, entries [][]string) (bool, string, bool) {
	out := make([]probeOutcome, len(entries))
	start := time.Now()
	one := func(i int) {
		e := entries[i]
		port, _ := strconv.Atoi(e[3])
		ms, _ := strconv.Atoi(e[4])
		res := a.in.net.Probe(ctx, e[2], port, time.Duration(ms)*time.Millisecond)
		o := probeOutcome{name: e[1], ok: "False", addr: res.RemoteAddress, elapsed: time.Since(start)}
		switch res.Err {
		case nil:
			o.ok, o.code, o.detail = "True", "Success", "connected"
		case ErrTimedOut:
			o.code, o.detail = "TimedOut", fmt.Sprintf("timed out after %d ms", ms)
		case ErrRefused:
			o.code, o.detail = "ConnectionRefused", fmt.Sprintf("%s %s", ErrRefused, net.JoinHostPort(res.RemoteAddress, strconv.Itoa(port))) // .NET: [v6]:port
		case ErrNoSuchHost:
			o.code, o.detail = "HostNotFound", res.Err.Error()
		default:
			o.code, o.detail = "SocketError", res.Err.Error()
		}
		out[i] = o
	}
	if strings.Contains(cmd, "WaitAny") || strings.Contains(cmd, "WaitAll") {
		var wg sync.WaitGroup
		for i := range entries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				one(i)
			}()
		}
		wg.Wait()
	} else {
		for i := range entries {
			one(i)
		}
	}
	if ctx.Err() != nil {
		return false, "", true
	}
	var b strings.Builder
	for _, o := range out {
		fmt.Fprintf(&b, "%s TcpTestSucceeded : %s SocketErrorCode : %s RemoteAddress : %s ElapsedMs : %d Detail : %s\r\n",
			o.name, o.ok, o.code, o.addr, o.elapsed.Milliseconds(), o.detail)
	}
	return true, b.String(), false
}

// runTnc runs Test-NetConnection as the source document's steps call it: it takes
// TncTimeout on a port that does not answer (it has no timeout of its own), and does
// not fail the step when the port is closed.
func (a *agent) runTnc(ctx context.Context, m []string) (bool, string, bool) {
	port, _ := strconv.Atoi(m[2])
	quiet := strings.Contains(strings.ToLower(m[3]), "-informationlevel quiet")
	res := a.in.net.Probe(ctx, m[1], port, a.in.opts.TncTimeout)
	if ctx.Err() != nil {
		return false, "", true
	}
	okWord := "False"
	if res.Err == nil {
		okWord = "True"
	}
	var b strings.Builder
	if res.Err == ErrNoSuchHost {
		fmt.Fprintf(&b, "WARNING: Name resolution of %s failed\r\n", m[1])
	} else if res.Err != nil {
		fmt.Fprintf(&b, "WARNING: TCP connect to (%s : %d) failed\r\n", res.RemoteAddress, port)
	}
	if quiet {
		b.WriteString(okWord + "\r\n")
	} else {
		fmt.Fprintf(&b, "\r\n\r\nComputerName     : %s\r\nRemoteAddress    : %s\r\nTcpTestSucceeded : %s\r\n\r\n\r\n", m[1], res.RemoteAddress, okWord)
	}
	return true, b.String(), false
}
