package steps_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/steps"
)

// TestSessionStepOrder: a step started before the step it needs fails with a
// StepOrderError naming both, and changes nothing.
func TestSessionStepOrder(t *testing.T) {
	s := steps.NewSession(steps.Config{}, steps.SessionOptions{})
	defer s.Close()
	ctx := context.Background()
	var soe *steps.StepOrderError
	if _, err := s.CheckPrerequisites(ctx); !errors.As(err, &soe) {
		t.Fatalf("CheckPrerequisites before connecting: %v, want a StepOrderError", err)
	}
	if _, err := s.NetworkDefaults(); !errors.As(err, &soe) || soe.Needs != steps.StepPrerequisites {
		t.Fatalf("NetworkDefaults first: %v, want 'needs Prerequisites'", err)
	}
	if _, err := s.BuildPlan(ctx, steps.NetworkOptions{}); !errors.As(err, &soe) || soe.Step != steps.StepSummary {
		t.Fatalf("BuildPlan first: %v, want a StepOrderError for Summary", err)
	}
	rep := s.Run(ctx, nil)
	if rep.ExitCode != steps.ExitError || !contains(rep.Error, "Results needs Summary first") {
		t.Fatalf("Run first: exit %d %q, want an error report", rep.ExitCode, rep.Error)
	}
	if s.Step() != steps.StepIntroduction {
		t.Fatalf("step %s after refused calls, want Introduction", s.Step())
	}
}

// TestSessionRerunWithoutSignIn drives the steps one by one as the wizard does, then
// re-runs the network test from Results on the same connections: a new run id, both
// directions pass again, nothing is left behind; re-checking the prerequisites drops
// the plan and results that depended on them, and Back steps back one page.
func TestSessionRerunWithoutSignIn(t *testing.T) {
	p := startPair(t, "pass", 50*time.Millisecond, 50*time.Millisecond)
	cfg := pairConfig(t, p)
	s := steps.NewSession(cfg, steps.SessionOptions{})
	defer s.Close()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.ConnectSQLServer(ctx, cfg.SQLServer))
	if _, err := s.CheckPrerequisites(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Step() != steps.StepPrerequisites {
		t.Fatalf("step %s, want Prerequisites", s.Step())
	}
	must(s.ConnectMI(ctx, cfg.MI))
	if _, err := s.DiscoverMI(ctx); err != nil {
		t.Fatal(err)
	}
	opts, err := s.NetworkDefaults()
	must(err)
	if _, err := s.BuildPlan(ctx, opts); err != nil {
		t.Fatal(err)
	}
	first := s.Run(ctx, nil)
	if first.ExitCode != steps.ExitOK {
		t.Fatalf("first run: %d %s", first.ExitCode, first.Outcome)
	}
	assertClean(t, p, cfg)

	next := s.NextRunID()
	if next == first.RunID || s.NextRunID() != next {
		t.Errorf("NextRunID after run %s: %s, then %s; want one new id", first.RunID, next, s.NextRunID())
	}
	before := time.Now()
	second := s.RerunNetwork(ctx, nil)
	after := time.Now()
	if second.ExitCode != steps.ExitOK {
		t.Fatalf("re-run: %d %s", second.ExitCode, second.Outcome)
	}
	if second.RunID != next {
		t.Errorf("re-run has run id %s; NextRunID said %s", second.RunID, next)
	}
	// started_at is when the test started, not when the report was built.
	if second.StartedAt.Before(before) || second.StartedAt.Add(second.Duration).After(after) {
		t.Errorf("re-run started at %s and took %s; it ran from %s to %s", second.StartedAt, second.Duration, before, after)
	}
	assertClean(t, p, cfg)

	// A plan built again after a run (r on Results, then Finish) gets its own id too.
	if _, err := s.BuildPlan(ctx, opts); err != nil {
		t.Fatal(err)
	}
	third := s.Run(ctx, nil)
	if third.RunID == second.RunID || third.RunID == first.RunID {
		t.Errorf("a plan built after runs %s and %s reused an id: %s", first.RunID, second.RunID, third.RunID)
	}
	assertClean(t, p, cfg)

	if _, err := s.CheckPrerequisites(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Plan() != nil {
		t.Error("re-checking the prerequisites kept the old plan")
	}
	if rep := s.Report(); len(rep.Directions) != 0 {
		t.Errorf("re-checking the prerequisites kept the old results: %+v", rep.Directions)
	}
	if s.Step() != steps.StepLogin {
		t.Errorf("step %s after re-checking with the MI still signed in, want Login", s.Step())
	}
	if st, err := s.Back(); err != nil || st != steps.StepPrerequisites {
		t.Errorf("Back: %s, %v; want Prerequisites", st, err)
	}
}

// TestSessionSupersede: of two concurrent connection attempts at the same step, the
// one started last wins; the first reports ErrSuperseded when it finishes later.
func TestSessionSupersede(t *testing.T) {
	p := startPair(t, "pass", 50*time.Millisecond, 50*time.Millisecond)
	cfg := pairConfig(t, p)
	s := steps.NewSession(cfg, steps.SessionOptions{})
	defer s.Close()
	release := make(chan struct{})
	entered := make(chan struct{})
	var calls atomic.Int32
	p.SQL.SetLoginHook(func(ctx context.Context, user string) error {
		if calls.Add(1) == 1 {
			close(entered)
			<-release
		}
		return nil
	})
	slow, fast := cfg.SQLServer, cfg.SQLServer
	slow.AppName, fast.AppName = "first", "second"
	done := make(chan error, 1)
	go func() { done <- s.ConnectSQLServer(context.Background(), slow) }()
	<-entered
	if err := s.ConnectSQLServer(context.Background(), fast); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; !errors.Is(err, steps.ErrSuperseded) {
		t.Fatalf("first attempt: %v, want ErrSuperseded", err)
	}
	if got := s.Config().SQLServer.AppName; got != "second" {
		t.Fatalf("session kept the connection of attempt %q, want the later one", got)
	}
}

// TestSystemDatabaseIsNotLinkable: asking to check master says that system databases
// can't be linked, not that master "does not exist".
func TestSystemDatabaseIsNotLinkable(t *testing.T) {
	p := startPair(t, "pass", 20*time.Millisecond, 20*time.Millisecond)
	cfg := pairConfig(t, p)
	cfg.Databases = []string{"master"}
	_, pre := sessionAtPrerequisites(t, cfg)
	for _, f := range pre.Findings {
		if f.ID == "database:master" {
			if f.Severity != steps.Fail || !contains(f.Title, "system database") {
				t.Errorf("master: %s %q", f.Severity, f.Title)
			}
			return
		}
	}
	t.Errorf("no finding for master: %+v", pre.Findings)
}

// TestNotSysadminIsNotARunError: with a SQL Server login that is not sysadmin (set up
// with T-SQL as a DBA would) milink does not abort on msdb's Msg 229: both directions
// are "not run" with the reason, the sysadmin prerequisite fails, nothing is created.
func TestNotSysadminIsNotARunError(t *testing.T) {
	p := startPair(t, "pass", 20*time.Millisecond, 20*time.Millisecond)
	cfg := pairConfig(t, p)
	ctx := context.Background()
	admin, err := sqlops.Open(ctx, cfg.SQLServer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.DB.ExecContext(ctx, "CREATE LOGIN low WITH PASSWORD = N'L0w-Passw0rd!'"); err != nil {
		t.Fatal(err)
	}
	admin.Close()
	cfg.SQLServer.User, cfg.SQLServer.Password = "low", "L0w-Passw0rd!"
	rep := steps.Check(ctx, cfg, nil)
	if rep.Error != "" || rep.ExitCode != steps.ExitConnectivity {
		t.Fatalf("exit %d, error %q; want 3 with no run error", rep.ExitCode, rep.Error)
	}
	for _, d := range rep.Directions {
		if d.Status != steps.StatusNotRun || !contains(d.Reason, "not sysadmin") {
			t.Errorf("%s: %s (%s)", d.Direction, d.Status, d.Reason)
		}
	}
	for _, a := range rep.Actions {
		if contains(a.Description, "Create") && a.Server == "SQL Server" {
			t.Errorf("the plan still creates on SQL Server: %s", a.Description)
		}
	}
	cfg.SQLServer.User, cfg.SQLServer.Password = "sa", simPassword
	assertClean(t, p, cfg)
}

// TestEndpointFindings: a user's endpoint without AES is a link prerequisite not met
// (with the ALTER ENDPOINT that fixes it), and a TEST_ENDPOINT whose certificate carries a
// mark this machine's key did not make is called out as another machine's milink test
// endpoint, never passed as the link's.
func TestEndpointFindings(t *testing.T) {
	for _, tc := range []struct {
		name      string
		mut       func(*sqlsim.Options)
		sev       steps.Severity
		wantTitle string
		wantFix   string
	}{
		{"RC4", func(o *sqlsim.Options) {
			o.Certificates = append(o.Certificates, sqlsim.CertSpec{Name: "MirrorCert", Subject: "CN=mirror"})
			o.Endpoints = append(o.Endpoints, sqlsim.EndpointSpec{Name: "Hadr_endpoint", Port: 5022, CertName: "MirrorCert", Encryption: "RC4"})
		}, steps.Fail, "not ready for the link", "ALGORITHM AES"},
		{"other machine", func(o *sqlsim.Options) {
			o.Certificates = append(o.Certificates, sqlsim.CertSpec{Name: "TEST_CERT", Subject: "milink network test certificate [milink:0123456789abcdef:00112233445566778899aabbccddeeff]"})
			o.Endpoints = append(o.Endpoints, sqlsim.EndpointSpec{Name: "TEST_ENDPOINT", Port: 5022, CertName: "TEST_CERT"})
		}, steps.Warn, "another machine's milink test endpoint", "DROP ENDPOINT [TEST_ENDPOINT]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startFaultPair(t, tc.mut, nil)
			cfg := pairConfig(t, p)
			_, pre := sessionAtPrerequisites(t, cfg)
			for _, f := range pre.Findings {
				if f.ID != "endpoint" {
					continue
				}
				fixes := ""
				for _, x := range f.Fixes {
					fixes += x.Command
				}
				if f.Severity != tc.sev || !contains(f.Title, tc.wantTitle) || !contains(fixes, tc.wantFix) {
					t.Errorf("endpoint finding: %s %q fixes %q", f.Severity, f.Title, fixes)
				}
				return
			}
			t.Errorf("no endpoint finding: %+v", pre.Findings)
		})
	}
}
