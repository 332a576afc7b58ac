package steps

import (
	"context"
	"errors"
	"fmt"
	"time"

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
	ExitInterrupted  = 130 // interrupted (Ctrl-C / SIGTERM); cleanup ran
)

// Check runs the whole wizard without a user: Prerequisites, Login, Network Options,
// Summary and Results, and returns the report. It never returns a nil report.
func Check(ctx context.Context, cfg Config, sink Sink) *Report {
	return CheckWith(ctx, cfg, sink, nil)
}

// CheckWith is Check with the prober used for probes from this machine (nil: probe.Local).
func CheckWith(ctx context.Context, cfg Config, sink Sink, prober Prober) *Report {
	start := time.Now()
	cfg.Defaults()
	rep := NewReport(cfg)
	emit := func(k EventKind, format string, a ...any) {
		if sink != nil {
			sink(Event{Time: time.Now(), Kind: k, Message: fmt.Sprintf(format, a...)})
		}
	}
	defer func() { rep.Duration = time.Since(start) }()
	if err := cfg.Validate(); err != nil {
		rep.Fatal(ExitUsage, err)
		return rep
	}

	emit(EventStep, "connecting to SQL Server %s", cfg.SQLServer.Address())
	sqlc, err := sqlops.Open(ctx, cfg.SQLServer)
	if err != nil {
		rep.Fatal(connectExit(err), err)
		return rep
	}
	defer sqlc.Close()
	emit(EventStep, "checking prerequisites on SQL Server")
	pre, err := CheckPrerequisites(ctx, sqlc, cfg.Databases)
	if err != nil {
		rep.Fatal(ExitError, err)
		return rep
	}
	rep.SetPrerequisites(pre)

	emit(EventStep, "connecting to the managed instance %s", cfg.MI.Address())
	mic, err := sqlops.Open(ctx, cfg.MI)
	if err != nil {
		rep.Fatal(connectExit(err), err)
		return rep
	}
	defer mic.Close()
	emit(EventStep, "discovering the managed instance's HADR parameters")
	mi, err := DiscoverMI(ctx, mic)
	if err != nil {
		rep.Fatal(ExitError, err)
		return rep
	}
	rep.SetManagedInstance(mi)

	opts := NetworkOptions{MI: mi.Params, SQLServerIP: cfg.SQLServerIP, EndpointPort: cfg.EndpointPort, ProbeTimeout: cfg.ProbeTimeout, ProbeFrom: cfg.ProbeFrom, SSHHost: cfg.SSH.Host}
	if opts.SQLServerIP == "" {
		opts.SQLServerIP = pre.LocalIP
	}
	if cfg.Azure != nil {
		emit(EventStep, "checking the managed instance in Azure")
		rep.SetAzure(cfg.Azure(ctx, mi.Params.FQDN, opts.SQLServerIP))
	}
	plan, err := BuildPlan(ctx, sqlc, mic, pre, mi, opts, cfg.RunID)
	if err != nil {
		code := ExitError
		if errors.Is(err, sqlops.ErrInvalidInput) {
			code = ExitUsage
		}
		rep.Fatal(code, err)
		return rep
	}
	rep.SetPlan(plan)
	for _, a := range plan.Actions {
		emit(EventStep, "plan: %s: %s", a.Server, a.Description)
	}
	if plan.SQLToMIMode == ProbeSSH && prober == nil {
		sp := cfg.SSH.Prober(cfg.SQLServer.Host)
		defer sp.Close()
		prober = sp
	}
	r := &Runner{SQL: sqlc, MI: mic, Plan: plan, Sink: sink, JobTimeout: cfg.JobTimeout, Poll: cfg.Poll, Prober: prober}
	res := r.Execute(ctx)
	rep.SetResults(res)
	return rep
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
