package sqlsim

import (
	"context"
	"errors"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps"
)

// Prober is a steps.Prober whose probes "from this machine" go through the simulated
// network, so demos and tests of SQL Server on Linux never send traffic elsewhere.
type Prober struct{ Network *Network }

// Probe probes t through the simulated network.
func (s Prober) Probe(ctx context.Context, t sqlops.ProbeTarget) steps.ProbeResult {
	start := time.Now()
	r := s.Network.Probe(ctx, t.Host, t.Port, t.Timeout)
	pr := steps.ProbeResult{Step: t.Label, Host: t.Host, Port: t.Port, RemoteAddress: r.RemoteAddress, Duration: time.Since(start), Verdict: sqlops.VerdictFailed}
	switch {
	case r.Err == nil:
		pr.Succeeded, pr.Verdict, pr.Detail = true, sqlops.VerdictConnected, "connected"
	case errors.Is(r.Err, ErrTimedOut):
		pr.Verdict, pr.Detail = sqlops.VerdictTimeout, "timed out after "+t.Timeout.String()
	case errors.Is(r.Err, ErrRefused):
		pr.Verdict, pr.Detail = sqlops.VerdictRefused, r.Err.Error()
	case errors.Is(r.Err, ErrNoSuchHost):
		pr.Verdict, pr.Detail = sqlops.VerdictDNS, r.Err.Error()
	default:
		pr.Detail = r.Err.Error()
	}
	return pr
}
