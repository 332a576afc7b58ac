package steps

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/milink/milink/sqlops"
)

// Prober runs one TCP probe from the machine milink runs on.
type Prober interface {
	Probe(ctx context.Context, t sqlops.ProbeTarget) ProbeResult
}

// NetProber probes with a real TCP connect from this machine, as the Agent job's timed
// TcpClient probe does on SQL Server. Resolver may be nil (the system resolver).
type NetProber struct {
	Resolver *net.Resolver
}

// Probe resolves t.Host and connects to it within t.Timeout, and classifies the outcome.
func (n NetProber) Probe(ctx context.Context, t sqlops.ProbeTarget) (pr ProbeResult) {
	start := time.Now()
	pr = ProbeResult{Step: t.Label, Host: t.Host, Port: t.Port}
	defer func() { pr.Duration = time.Since(start) }()
	ctx, cancel := context.WithTimeout(ctx, t.Timeout)
	defer cancel()
	res := n.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	var addrs []string
	if ip := net.ParseIP(t.Host); ip != nil {
		addrs = []string{ip.String()}
	} else {
		var err error
		addrs, err = res.LookupHost(ctx, t.Host)
		if err != nil || len(addrs) == 0 {
			pr.Verdict, pr.Detail = classifyDialError(err)
			if !errors.Is(err, context.DeadlineExceeded) {
				pr.Verdict = sqlops.VerdictDNS
			}
			return pr
		}
	}
	pr.RemoteAddress = addrs[0]
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(addrs[0], strconv.Itoa(t.Port)))
	if err != nil {
		pr.Verdict, pr.Detail = classifyDialError(err)
		if pr.Verdict == sqlops.VerdictTimeout {
			pr.Detail = "timed out after " + t.Timeout.String()
		}
		return pr
	}
	c.Close()
	pr.Succeeded, pr.Verdict, pr.Detail = true, sqlops.VerdictConnected, "connected"
	return pr
}

func classifyDialError(err error) (sqlops.ProbeVerdict, string) {
	if err == nil {
		return sqlops.VerdictFailed, "no address"
	}
	var dnsErr *net.DNSError
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return sqlops.VerdictRefused, "connection refused"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return sqlops.VerdictTimeout, "timed out"
	case errors.As(err, &dnsErr):
		return sqlops.VerdictDNS, dnsErr.Error()
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return sqlops.VerdictFailed, "no route to host"
	}
	return sqlops.VerdictFailed, err.Error()
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

// ParsePastedProbeResults reads the lines printed by ManualProbeCommand
// ("host:port TcpTestSucceeded : True") and returns one result per target found.
func ParsePastedProbeResults(text string, targets []sqlops.ProbeTarget) ([]ProbeResult, error) {
	var out []ProbeResult
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
			pr := ProbeResult{Step: t.Label, Host: t.Host, Port: t.Port, Succeeded: po.Succeeded, Verdict: po.Verdict, Detail: "pasted result"}
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
