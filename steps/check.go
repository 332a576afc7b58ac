package steps

import (
	"context"
	"errors"

	"github.com/milink/milink/sqlops"
)

// Exit codes of milink check (documented in the README).
const (
	ExitOK           = 0   // every prerequisite met and both directions passed
	ExitError        = 1   // milink could not complete the run
	ExitUsage        = 2   // bad flags or input; nothing was created
	ExitConnectivity = 3   // a network probe failed, or a direction could not be tested
	ExitAuth         = 4   // a login was rejected
	ExitPrereq       = 5   // the network is fine but a link prerequisite is not met
	ExitInterrupted  = 130 // interrupted (a signal) and cleanup verified that nothing the run created is left
)

// Check runs the whole wizard without a user: Prerequisites, Login, Network Options,
// Summary and Results, and returns the report. It never returns a nil report.
func Check(ctx context.Context, cfg Config, sink Sink) *Report {
	return CheckWith(ctx, cfg, sink, nil)
}

// CheckWith is Check with the prober used for probes from this machine (nil: probe.Local).
// It drives a Session through every step (Session.RunAll).
func CheckWith(ctx context.Context, cfg Config, sink Sink, prober Prober) *Report {
	s := NewSession(cfg, SessionOptions{Prober: prober})
	defer s.Close()
	return s.RunAll(ctx, sink)
}

func connectExit(err error) int {
	if errors.Is(err, sqlops.ErrAuth) {
		return ExitAuth
	}
	if errors.Is(err, sqlops.ErrInvalidInput) {
		return ExitUsage
	}
	return ExitError
}
