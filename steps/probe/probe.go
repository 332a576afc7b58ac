// Package probe holds every way milink runs the TCP probes of the link's network test,
// behind one interface, Prober:
//
//   - AgentJob: a SQL Server Agent job with one PowerShell step for all targets
//     (concurrent timed TcpClient connects, sqlops.ProbeScript), on SQL Server or the
//     managed instance;
//   - Local: a TCP connect from the machine milink runs on (for SQL Server on Linux on
//     this host), with an injectable dialer and resolver; Func adapts any other
//     connection-attempt function (a simulated network) the same way;
//   - SSH: bash's /dev/tcp on the SQL Server host over SSH;
//   - Manual: a command the user runs by hand (Command) and whose printed lines are
//     pasted back (ParsePasted).
//
// A Prober runs all of one direction's targets in one call, at once (a direction takes
// as long as its slowest target, not the sum), and says, for each, what it ran, where,
// and how long it took. The package knows nothing of the wizard: it imports
// sqlops only, and package steps turns its results into the report's probe results.
package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/milink/milink/sqlops"
)

// Prober runs the TCP probes of one direction of the network test.
type Prober interface {
	// Where names the machine the probes run from, for progress messages and reports,
	// e.g. "this host" or "SQL Server host (ssh)".
	Where() string
	// Probe probes every target, in order, and returns one Result per target in the
	// same order. notify (may be nil) receives progress notes as they happen; it may be
	// called from several goroutines. A non-nil error means the prober could not run at
	// all (no SSH connection, the Agent job could not be created or gave no outcome);
	// the results are then nil. A target that cannot be reached is not an error: its
	// Result says why.
	Probe(ctx context.Context, targets []sqlops.ProbeTarget, notify Notify) ([]Result, error)
}

// Result is the outcome of probing one target. The JSON names are those of milink's
// report (steps.ProbeResult embeds Result).
type Result struct {
	Step          string              `json:"step"`                     // the target's label (sqlops.ProbeTarget.Label)
	Host          string              `json:"host"`                     // the target's host: a name or an IP address
	Port          int                 `json:"port"`                     // the target's TCP port
	Verdict       sqlops.ProbeVerdict `json:"verdict"`                  // connected, timeout, refused, dns, failed or unknown
	Succeeded     bool                `json:"succeeded"`                // the TCP connection was made
	RemoteAddress string              `json:"remote_address,omitempty"` // the address the host resolved to, when known
	Detail        string              `json:"detail,omitempty"`         // one line: why, as the probing side saw it
	Duration      time.Duration       `json:"-"`                        // how long the probe took ("duration_s", float seconds, in the report's JSON)
	Output        string              `json:"output,omitempty"`         // what the probe printed, when it printed something
	Ran           string              `json:"ran,omitempty"`            // what ran: the connect, remote command or job step
	Where         string              `json:"where,omitempty"`          // where it ran (the Prober's Where)
}

// NoteKind says what a Note reports.
type NoteKind string

// Note kinds.
const (
	NoteStep    NoteKind = "step"  // an action starts: connecting, creating a job, probing a target
	NoteVerdict NoteKind = "probe" // a target's verdict is known
)

// Note is one progress report of a Prober, a line a user can read.
type Note struct {
	Kind    NoteKind // NoteStep or NoteVerdict
	Message string   // one line, e.g. "this host: probing 10.0.0.4:5022"
}

// Notify receives a Prober's progress notes; it must be safe to call from several
// goroutines.
type Notify func(Note)

func (n Notify) note(k NoteKind, format string, a ...any) {
	if n != nil {
		n(Note{Kind: k, Message: fmt.Sprintf(format, a...)})
	}
}

// each probes all targets at once with one (at most limit at a time; 0: no limit),
// filling in Step, Host, Port, Where and Duration (each target's own time), and
// notifies before each probe and as each verdict is known. The results are in the
// targets' order; the whole takes as long as the slowest target, not the sum.
func each(ctx context.Context, where string, targets []sqlops.ProbeTarget, notify Notify, limit int, one func(context.Context, sqlops.ProbeTarget) Result) []Result {
	out := make([]Result, len(targets))
	if limit <= 0 || limit > len(targets) {
		limit = len(targets)
	}
	slots := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			notify.note(NoteStep, "%s: probing %s", where, t.Endpoint())
			start := time.Now()
			r := one(ctx, t)
			r.Step, r.Host, r.Port, r.Where, r.Duration = t.Label, t.Host, t.Port, where, time.Since(start)
			notify.note(NoteVerdict, "%s: %s", t.Endpoint(), r.Verdict)
			out[i] = r
		}()
	}
	wg.Wait()
	return out
}

// Func is one TCP connection attempt to host:port within timeout, as a PowerShell
// TcpClient makes it: it returns the address host resolved to ("" when it did not) and
// nil when the connection was made (and closed), or the error. Func is a Prober whose
// Where is "this host", so a simulated network (sqlsim.Network.Probe, wrapped to this
// shape by its caller) plugs in without knowing about probers.
//
// Errors are classified as Local's are: connection refused, timeouts (context deadline
// or a net.Error's Timeout) and *net.DNSError; any other error by its text, as the Agent
// job's output is (sqlops.ParseProbeOutput: Windows' "actively refused", "did not
// properly respond", "No such host is known").
type Func func(ctx context.Context, host string, port int, timeout time.Duration) (addr string, err error)

// Where returns "this host".
func (f Func) Where() string { return "this host" }

// Probe makes one connection attempt per target, all at once; it never returns an error.
func (f Func) Probe(ctx context.Context, targets []sqlops.ProbeTarget, notify Notify) ([]Result, error) {
	return each(ctx, f.Where(), targets, notify, 0, func(ctx context.Context, t sqlops.ProbeTarget) Result {
		r := Result{Ran: connectText(t)}
		addr, err := f(ctx, t.Host, t.Port, t.Timeout)
		r.RemoteAddress = addr
		r.Verdict, r.Detail = classify(err, t.Timeout)
		r.Succeeded = r.Verdict == sqlops.VerdictConnected
		return r
	}), nil
}

func connectText(t sqlops.ProbeTarget) string {
	return "TCP connect to " + net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) + " within " + t.Timeout.String()
}

// lookupError marks a failure to resolve the target's name.
type lookupError struct{ err error }

func (e *lookupError) Error() string {
	if e.err == nil {
		return "the name resolved to no address"
	}
	return e.err.Error()
}

func (e *lookupError) Unwrap() error { return e.err }

// classify turns a connection attempt's error into a verdict and a one-line detail.
func classify(err error, timeout time.Duration) (sqlops.ProbeVerdict, string) {
	if err == nil {
		return sqlops.VerdictConnected, "connected"
	}
	var le *lookupError
	if errors.As(err, &le) {
		v, d, _ := netVerdict(le.err)
		if !errors.Is(le.err, context.DeadlineExceeded) {
			v = sqlops.VerdictDNS
		}
		return v, d
	}
	v, d, known := netVerdict(err)
	if !known {
		// Not a net error: read its text as the Agent job's PowerShell output is read.
		v = sqlops.ParseProbeOutput("TcpTestSucceeded : False\n" + d).Verdict
	}
	if v == sqlops.VerdictTimeout {
		d = "timed out after " + timeout.String()
	}
	return v, d
}

// netVerdict classifies the errors of package net and the system calls under it;
// known is false for any other error (VerdictFailed, with the error's text).
func netVerdict(err error) (v sqlops.ProbeVerdict, detail string, known bool) {
	if err == nil {
		return sqlops.VerdictFailed, "no address", true
	}
	var dnsErr *net.DNSError
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return sqlops.VerdictRefused, "connection refused", true
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return sqlops.VerdictTimeout, "timed out", true
	case errors.As(err, &dnsErr):
		return sqlops.VerdictDNS, dnsErr.Error(), true
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return sqlops.VerdictFailed, "no route to host", true
	}
	return sqlops.VerdictFailed, err.Error(), false
}
