package sqlsim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rule says what happens to a connection attempt to a host and port.
type Rule int

// Rules a test can set on a Network.
const (
	RuleOpen       Rule = iota // connections go through to whatever listens
	RuleFiltered               // packets are dropped: the attempt times out
	RuleRefused                // the host answers with a reset: connection refused
	RuleNoSuchHost             // the name does not resolve
)

// Errors returned by Network.Dial, with the texts Windows gives.
var (
	ErrTimedOut   = errors.New("A connection attempt failed because the connected party did not properly respond after a period of time, or established connection failed because connected host has failed to respond")
	ErrRefused    = errors.New("No connection could be made because the target machine actively refused it")
	ErrNoSuchHost = errors.New("No such host is known")
)

// Network is the simulated network between instances: it maps virtual hosts (names and
// IP addresses such as 10.0.0.4) and ports to real listeners on loopback, and applies
// rules. Dials are real TCP connections to loopback; a virtual address that is not
// mapped never produces traffic to that address.
type Network struct {
	mu        sync.Mutex
	names     map[string]string // lower-case DNS name -> virtual IP
	listeners map[string]string // "ip:port" -> real loopback address
	rules     map[string]Rule   // "ip:port" or "ip:*" -> rule
	latency   time.Duration     // one round trip, paid by every answered connection attempt
}

// SetLatency sets the round-trip time of the simulated network: a connection attempt
// that is answered (connected, or refused with a reset) takes d more than on loopback,
// as TCP's handshake (SYN, then SYN-ACK or RST) crosses the network once each way; one
// that is filtered takes its timeout whatever d is.
func (n *Network) SetLatency(d time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.latency = d
}

// NewNetwork returns an empty network.
func NewNetwork() *Network {
	return &Network{names: map[string]string{}, listeners: map[string]string{}, rules: map[string]Rule{}}
}

// AddHost makes name resolve to the virtual IP ip.
func (n *Network) AddHost(name, ip string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.names[strings.ToLower(strings.TrimSuffix(name, "."))] = ip
}

// Resolve returns the virtual IP of host (host itself when it is an IP address).
func (n *Network) Resolve(host string) (string, bool) {
	if _, err := netip.ParseAddr(host); err == nil {
		return host, true
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	ip, ok := n.names[strings.ToLower(strings.TrimSuffix(host, "."))]
	return ip, ok
}

func key(ip string, port int) string { return ip + ":" + strconv.Itoa(port) }

// SetRule sets the rule for host and port; port 0 applies it to every port of the host.
// A host name is resolved first when it is known; RuleNoSuchHost applies to names.
func (n *Network) SetRule(host string, port int, r Rule) {
	ip, ok := n.Resolve(host)
	if !ok {
		ip = strings.ToLower(host)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	k := ip + ":*"
	if port != 0 {
		k = key(ip, port)
	}
	if r == RuleNoSuchHost {
		delete(n.names, strings.ToLower(host))
	}
	n.rules[k] = r
}

// ClearRules removes every rule.
func (n *Network) ClearRules() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.rules = map[string]Rule{}
}

// ErrPortInUse is returned by Listen when the virtual port is taken.
var ErrPortInUse = errors.New("address already in use")

// Listen starts a real loopback listener and maps host:port (host a virtual IP or a
// known name) to it. Closing the listener removes the mapping.
func (n *Network) Listen(host string, port int) (net.Listener, error) {
	ip, ok := n.Resolve(host)
	if !ok {
		return nil, fmt.Errorf("listen on %s:%d: %w", host, port, ErrNoSuchHost)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	k := key(ip, port)
	if _, taken := n.listeners[k]; taken {
		return nil, fmt.Errorf("listen on %s: %w", k, ErrPortInUse)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", k, err)
	}
	n.listeners[k] = l.Addr().String()
	return &mappedListener{Listener: l, n: n, key: k}, nil
}

type mappedListener struct {
	net.Listener
	n    *Network
	key  string
	once sync.Once
}

func (m *mappedListener) Close() error {
	m.once.Do(func() {
		m.n.mu.Lock()
		delete(m.n.listeners, m.key)
		m.n.mu.Unlock()
	})
	return m.Listener.Close()
}

// DialResult describes a connection attempt.
type DialResult struct {
	RemoteAddress string // the virtual IP the name resolved to ("" when it did not)
	Err           error  // nil, ErrTimedOut, ErrRefused, ErrNoSuchHost or another error
}

// Probe makes one TCP connection attempt to host:port within timeout, as a PowerShell
// TcpClient would, closes the connection and reports the outcome.
func (n *Network) Probe(ctx context.Context, host string, port int, timeout time.Duration) DialResult {
	ip, ok := n.Resolve(host)
	if !ok {
		return DialResult{Err: ErrNoSuchHost}
	}
	n.mu.Lock()
	rule, ruled := n.rules[key(ip, port)]
	if !ruled {
		rule, ruled = n.rules[ip+":*"]
	}
	real, mapped := n.listeners[key(ip, port)]
	_, hostKnown := n.hostKnownLocked(ip)
	rtt := n.latency
	n.mu.Unlock()
	res := DialResult{RemoteAddress: ip}
	answered := !(ruled && (rule == RuleFiltered || rule == RuleNoSuchHost)) && (ruled || mapped || hostKnown || isLoopback(ip))
	if answered && rtt > 0 {
		if rtt >= timeout {
			res.Err = waitTimeout(ctx, timeout)
			return res
		}
		if err := waitTimeout(ctx, rtt); err != ErrTimedOut {
			res.Err = err
			return res
		}
	}
	if ruled {
		switch rule {
		case RuleFiltered:
			res.Err = waitTimeout(ctx, timeout)
			return res
		case RuleRefused:
			res.Err = realRefused(ctx, timeout)
			return res
		case RuleNoSuchHost:
			return DialResult{Err: ErrNoSuchHost}
		}
	}
	if !mapped {
		if isLoopback(ip) {
			real = net.JoinHostPort(ip, strconv.Itoa(port))
		} else if hostKnown {
			res.Err = realRefused(ctx, timeout)
			return res
		} else {
			// An address nothing simulates: like an unroutable host, the attempt times out.
			res.Err = waitTimeout(ctx, timeout)
			return res
		}
	}
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "tcp", real)
	if err != nil {
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			res.Err = ErrTimedOut
		case strings.Contains(err.Error(), "refused"):
			res.Err = ErrRefused
		default:
			res.Err = err
		}
		return res
	}
	c.Close()
	return res
}

func isLoopback(ip string) bool {
	addr, err := netip.ParseAddr(ip)
	return err == nil && addr.IsLoopback()
}

// hostKnownLocked reports whether ip belongs to a simulated host (it has a name or a listener).
func (n *Network) hostKnownLocked(ip string) (string, bool) {
	for name, v := range n.names {
		if v == ip {
			return name, true
		}
	}
	for k := range n.listeners {
		if strings.HasPrefix(k, ip+":") {
			return "", true
		}
	}
	return "", false
}

func waitTimeout(ctx context.Context, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-t.C:
		return ErrTimedOut
	case <-ctx.Done():
		return ctx.Err()
	}
}

// realRefused produces a genuine "connection refused" by dialing a loopback port that
// was just closed.
func realRefused(ctx context.Context, timeout time.Duration) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return ErrRefused
	}
	addr := l.Addr().String()
	l.Close()
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		c.Close()
	}
	return ErrRefused
}

// acceptAndClose accepts connections on l and closes them at once, as a TCP port that
// is open but speaks nothing the prober cares about; it returns when l is closed.
func acceptAndClose(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}
