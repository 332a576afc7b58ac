package probe

import (
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/milink/milink/sqlops"
)

// Local probes with a real TCP connect from the machine milink runs on, as the Agent
// job's timed TcpClient probe does on SQL Server: resolve the name (the first address
// is used), then connect within the target's timeout. Use it when SQL Server runs on
// Linux on this host. The zero value uses the system resolver and a net.Dialer.
type Local struct {
	// Resolver resolves target names; nil: net.DefaultResolver.
	Resolver *net.Resolver
	// Dial makes the connection ("tcp", "ip:port"); nil: a net.Dialer's DialContext.
	// Its context carries the probe's deadline.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Where returns "this host".
func (l Local) Where() string { return "this host" }

// Probe connects to every target at once; it never returns an error.
func (l Local) Probe(ctx context.Context, targets []sqlops.ProbeTarget, notify Notify) ([]Result, error) {
	return Func(l.attempt).Probe(ctx, targets, notify)
}

// attempt is Local's Func: a resolve failure is a *lookupError, so it is classified as
// VerdictDNS unless the probe's time ran out.
func (l Local) attempt(ctx context.Context, host string, port int, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := host
	if ip := net.ParseIP(host); ip != nil {
		addr = ip.String()
	} else {
		res := l.Resolver
		if res == nil {
			res = net.DefaultResolver
		}
		addrs, err := res.LookupHost(ctx, host)
		if err != nil || len(addrs) == 0 {
			return "", &lookupError{err: err}
		}
		addr = addrs[0]
	}
	dial := l.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	c, err := dial(ctx, "tcp", net.JoinHostPort(addr, strconv.Itoa(port)))
	if err != nil {
		return addr, err
	}
	c.Close()
	return addr, nil
}

// IsThisHost reports whether host names the machine milink runs on: a loopback address,
// "localhost", this machine's host name, or an address of one of its interfaces.
func IsThisHost(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" {
		return true
	}
	if name, err := os.Hostname(); err == nil && (strings.EqualFold(name, h) || strings.EqualFold(strings.SplitN(name, ".", 2)[0], h)) {
		return true
	}
	ip := net.ParseIP(h)
	if ip == nil {
		return false
	}
	if ip.IsLoopback() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}
