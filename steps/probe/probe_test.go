package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
)

// The probers are Probers.
var (
	_ Prober = Func(nil)
	_ Prober = Local{}
	_ Prober = (*SSH)(nil)
	_ Prober = Manual{}
	_ Prober = (*AgentJob)(nil)
)

// TestFuncClassifies: every error a connection attempt can give maps to the verdict
// the Agent job would report, and each result says what ran, where and how long.
func TestFuncClassifies(t *testing.T) {
	errs := map[string]error{
		"ok":       nil,
		"reset":    &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED},
		"deadline": context.DeadlineExceeded,
		"dns":      &net.DNSError{Err: "no such host", Name: "dns", IsNotFound: true},
		"unreach":  &net.OpError{Op: "dial", Err: syscall.EHOSTUNREACH},
		"win-rst":  errors.New("No connection could be made because the target machine actively refused it"),
		"win-to":   errors.New("A connection attempt failed because the connected party did not properly respond after a period of time"),
		"win-dns":  errors.New("No such host is known"),
		"other":    errors.New("boom"),
		"fd00::9":  nil,
	}
	want := []struct {
		host    string
		verdict sqlops.ProbeVerdict
		detail  string
	}{
		{"ok", sqlops.VerdictConnected, "connected"},
		{"reset", sqlops.VerdictRefused, "connection refused"},
		{"deadline", sqlops.VerdictTimeout, "timed out after 1.5s"},
		{"dns", sqlops.VerdictDNS, "lookup dns: no such host"},
		{"unreach", sqlops.VerdictFailed, "no route to host"},
		{"win-rst", sqlops.VerdictRefused, errs["win-rst"].Error()},
		{"win-to", sqlops.VerdictTimeout, "timed out after 1.5s"},
		{"win-dns", sqlops.VerdictDNS, "No such host is known"},
		{"other", sqlops.VerdictFailed, "boom"},
		{"fd00::9", sqlops.VerdictConnected, "connected"},
	}
	var targets []sqlops.ProbeTarget
	for i, w := range want {
		targets = append(targets, sqlops.ProbeTarget{Label: "t" + strconv.Itoa(i), Host: w.host, Port: 5022 + i, Timeout: 1500 * time.Millisecond})
	}
	f := Func(func(_ context.Context, host string, port int, timeout time.Duration) (string, error) {
		if timeout != 1500*time.Millisecond {
			t.Errorf("%s: timeout %s", host, timeout)
		}
		return "10.0.0." + strconv.Itoa(port-5022), errs[host]
	})
	var mu sync.Mutex
	var notes []string
	rs, err := f.Probe(context.Background(), targets, func(n Note) { mu.Lock(); notes = append(notes, string(n.Kind)+" "+n.Message); mu.Unlock() })
	if err != nil || len(rs) != len(want) {
		t.Fatalf("Probe: %v, %d results", err, len(rs))
	}
	for i, w := range want {
		r := rs[i]
		if r.Verdict != w.verdict || r.Detail != w.detail || r.Succeeded != (w.verdict == sqlops.VerdictConnected) {
			t.Errorf("%s: %s %q (succeeded %v), want %s %q", w.host, r.Verdict, r.Detail, r.Succeeded, w.verdict, w.detail)
		}
		if r.Step != targets[i].Label || r.Host != w.host || r.Port != targets[i].Port || r.RemoteAddress != "10.0.0."+strconv.Itoa(i) {
			t.Errorf("%s: identity %+v", w.host, r)
		}
		wantRan := fmt.Sprintf("TCP connect to %s within 1.5s", net.JoinHostPort(w.host, strconv.Itoa(targets[i].Port)))
		if r.Where != "this host" || r.Ran != wantRan || r.Duration <= 0 {
			t.Errorf("%s: where %q, ran %q, duration %s; want this host, %q", w.host, r.Where, r.Ran, r.Duration, wantRan)
		}
	}
	if len(notes) != 2*len(want) || !noteBefore(notes, "step this host: probing ok:5022", "probe ok:5022: connected") || !noteBefore(notes, "step this host: probing reset:5023", "probe reset:5023: refused") ||
		!noteBefore(notes, "step this host: probing [fd00::9]:5031", "probe [fd00::9]:5031: connected") {
		t.Errorf("notes: %q", notes)
	}
}

// noteBefore reports whether notes has first, and then later second.
func noteBefore(notes []string, first, second string) bool {
	i, j := slices.Index(notes, first), slices.Index(notes, second)
	return i >= 0 && j > i
}

// TestFuncProbesAtOnce: every target's connection attempt is under way before any
// ends (each attempt waits until all have started, which a prober that probes one
// after another never reaches: its first attempt gives up after 10 s and fails the
// test), and each result carries its own duration.
func TestFuncProbesAtOnce(t *testing.T) {
	var targets []sqlops.ProbeTarget
	for i := range 5 {
		targets = append(targets, sqlops.ProbeTarget{Label: "t" + strconv.Itoa(i), Host: "10.0.0.1", Port: 11000 + i, Timeout: time.Second})
	}
	var started sync.WaitGroup
	started.Add(len(targets))
	all := make(chan struct{})
	go func() { started.Wait(); close(all) }()
	f := Func(func(ctx context.Context, host string, port int, _ time.Duration) (string, error) {
		started.Done()
		select {
		case <-all:
			return host, nil
		case <-time.After(10 * time.Second):
			return host, errors.New("the other probes did not start")
		}
	})
	rs, _ := f.Probe(context.Background(), targets, nil)
	for i, r := range rs {
		if r.Verdict != sqlops.VerdictConnected || r.Port != targets[i].Port || r.Duration <= 0 {
			t.Errorf("%d: %+v", i, r)
		}
	}
}

// TestLocalResolvesAndDialsThroughInjectedFunctions uses a loopback DNS server and a
// recording dialer: names resolve through the Resolver, connections go through Dial,
// and a name that does not resolve is never dialed.
func TestLocalResolvesAndDialsThroughInjectedFunctions(t *testing.T) {
	open, closed := loopbackPorts(t)

	dns := startFakeDNS(t, map[string]string{"sqlmi.milink.test.": "127.0.0.1"})
	var mu sync.Mutex
	var dialed []string
	l := Local{
		Resolver: &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", dns)
		}},
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			dialed = append(dialed, network+" "+addr)
			mu.Unlock()
			if _, ok := ctx.Deadline(); !ok {
				t.Errorf("dial of %s without the probe's deadline", addr)
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
	to := 2 * time.Second
	rs, err := l.Probe(context.Background(), []sqlops.ProbeTarget{
		{Label: "name", Host: "sqlmi.milink.test", Port: open, Timeout: to},
		{Label: "closed", Host: "127.0.0.1", Port: closed, Timeout: to},
		{Label: "nohost", Host: "nohost.milink.test", Port: open, Timeout: to},
	}, nil)
	if err != nil || len(rs) != 3 {
		t.Fatalf("Probe: %v, %+v", err, rs)
	}
	if r := rs[0]; r.Verdict != sqlops.VerdictConnected || r.RemoteAddress != "127.0.0.1" || r.Where != "this host" {
		t.Errorf("name: %+v", r)
	}
	if r := rs[1]; r.Verdict != sqlops.VerdictRefused || r.Detail != "connection refused" || r.RemoteAddress != "127.0.0.1" {
		t.Errorf("closed: %+v", r)
	}
	if r := rs[2]; r.Verdict != sqlops.VerdictDNS || r.RemoteAddress != "" || !strings.Contains(r.Detail, "nohost.milink.test") {
		t.Errorf("nohost: %+v", r)
	}
	wantDialed := []string{"tcp 127.0.0.1:" + strconv.Itoa(open), "tcp 127.0.0.1:" + strconv.Itoa(closed)}
	slices.Sort(dialed)
	slices.Sort(wantDialed)
	if fmt.Sprint(dialed) != fmt.Sprint(wantDialed) {
		t.Errorf("dialed %q, want %q", dialed, wantDialed)
	}

	// A dialer whose time runs out gives a timeout verdict naming the probe's timeout.
	l.Dial = func(ctx context.Context, _, _ string) (net.Conn, error) { return nil, context.DeadlineExceeded }
	rs, _ = l.Probe(context.Background(), []sqlops.ProbeTarget{{Label: "x", Host: "127.0.0.1", Port: open, Timeout: to}}, nil)
	if rs[0].Verdict != sqlops.VerdictTimeout || rs[0].Detail != "timed out after 2s" {
		t.Errorf("filtered: %+v", rs[0])
	}
}

func TestIsThisHost(t *testing.T) {
	for host, want := range map[string]bool{"localhost": true, "LOCALHOST.": true, "127.0.0.1": true, "::1": true, "192.0.2.1": false, "sqlmi.milink.test": false} {
		if got := IsThisHost(host); got != want {
			t.Errorf("IsThisHost(%q) = %v, want %v", host, got, want)
		}
	}
}
