package steps_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/steps"
)

// otherRun is another milink run on conn's instance, alive (it holds its run lock until
// the test ends), that created job name marked with this machine's key.
func otherRun(t *testing.T, cc sqlops.ConnConfig, name string) string {
	t.Helper()
	ctx := context.Background()
	c := openConn(t, cc)
	k, err := c.OwnerKey()
	if err != nil {
		t.Fatal(err)
	}
	run := sqlops.NewRunID()
	lock, err := c.HoldRun(ctx, run, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lock.Release)
	if _, err := c.CreateJob(ctx, sqlops.JobSpec{Name: name, Description: sqlops.JobDescription("The other run's job.", k.Mark(sqlops.KindJob, name, run))}); err != nil {
		t.Fatal(err)
	}
	return run
}

// openConn connects to cc; the connection is closed when the test ends.
func openConn(t *testing.T, cc sqlops.ConnConfig) *sqlops.Conn {
	t.Helper()
	c, err := sqlops.Open(context.Background(), cc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func jobExists(t *testing.T, cc sqlops.ConnConfig, name string) bool {
	t.Helper()
	j, err := openConn(t, cc).JobByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return j != nil
}

// Two runs started together both plan TestMILinkConnection and NetHelper; the one that
// creates its jobs second finds them taken by the other, live, milink run and moves to
// its own suffixed names instead of failing with "exists and was not created by
// milink" (exit 3). It leaves the other run's jobs alone.
func TestJobNameTakenByAnotherRunAfterThePlan(t *testing.T) {
	_, cfg := startCustom(t, nil, nil)
	s, _, plan, err := planned(t, cfg)
	ctx := context.Background()
	if err != nil || plan.SQLJobName != steps.SQLJobName || plan.MIJobName != steps.MIJobName {
		t.Fatalf("plan: %v %+v", err, plan)
	}
	// The other run creates its jobs between this run's plan and its creation.
	otherRun(t, cfg.SQLServer, steps.SQLJobName)
	otherRun(t, cfg.MI, steps.MIJobName)

	rep := s.Run(ctx, nil)
	if rep.ExitCode != steps.ExitOK {
		t.Fatalf("exit %d (%s): %+v", rep.ExitCode, rep.Error, rep.Directions)
	}
	suffix := "_milink_" + plan.RunID[:8]
	want := map[steps.Direction]string{steps.SQLToMI: steps.SQLJobName + suffix, steps.MIToSQL: steps.MIJobName + suffix}
	for _, d := range rep.Directions {
		if d.Status != steps.StatusPassed || d.Job != want[d.Direction] {
			t.Errorf("%s: %s with job %q, want passed with %q (%s)", d.Direction, d.Status, d.Job, want[d.Direction], d.Reason)
		}
	}
	if len(rep.Remaining) > 0 {
		t.Errorf("left behind: %+v", rep.Remaining)
	}
	for _, c := range rep.Cleanup {
		if c.Name == steps.SQLJobName || c.Name == steps.MIJobName {
			t.Errorf("the other run's job is in this run's cleanup: %+v", c)
		}
	}
	for cc, name := range map[*sqlops.ConnConfig]string{&cfg.SQLServer: steps.SQLJobName, &cfg.MI: steps.MIJobName} {
		if !jobExists(t, *cc, name) {
			t.Errorf("the other run's job %s was removed", name)
		}
		if jobExists(t, *cc, name+suffix) {
			t.Errorf("this run's job %s was not removed", name+suffix)
		}
	}
}

// Two milink check runs started together against one pair, on a SQL Server with its
// mirroring endpoint (both reuse it: only one can exist), both pass and leave nothing,
// whichever of them finds its job names taken.
func TestTwoConcurrentChecks(t *testing.T) {
	_, cfg := startCustom(t, func(o *sqlsim.Options) {
		o.Endpoints = append(o.Endpoints, sqlsim.EndpointSpec{Name: "Hadr_endpoint", Port: 5022, CertName: "ProdMirrorCert"})
	}, nil)
	reps := make(chan *steps.Report, 2)
	for range 2 {
		go func() { reps <- steps.Check(context.Background(), cfg, nil) }()
	}
	for range 2 {
		rep := <-reps
		if rep.ExitCode != steps.ExitOK || len(rep.Remaining) > 0 {
			t.Errorf("exit %d (%s), left %+v: %+v", rep.ExitCode, rep.Error, rep.Remaining, rep.Directions)
		}
	}
	for cc, name := range map[*sqlops.ConnConfig]string{&cfg.SQLServer: steps.SQLJobName, &cfg.MI: steps.MIJobName} {
		if jobExists(t, *cc, name) {
			t.Errorf("job %s was left", name)
		}
	}
}

// Without a mirroring endpoint on SQL Server both runs plan TEST_CERT and
// TEST_ENDPOINT, and SQL Server has room for one endpoint only: the run that comes
// second moves its certificate to a suffixed name and, finding the endpoint the other
// live run's, says that the MI → SQL Server direction was not run and why, instead of
// blaming a certificate "not created by milink". Both leave nothing.
func TestTwoConcurrentChecksOneEndpoint(t *testing.T) {
	_, cfg := startCustom(t, nil, nil)
	reps := make(chan *steps.Report, 2)
	for range 2 {
		go func() { reps <- steps.Check(context.Background(), cfg, nil) }()
	}
	for range 2 {
		rep := <-reps
		if len(rep.Remaining) > 0 {
			t.Errorf("left %+v", rep.Remaining)
		}
		for _, d := range rep.Directions {
			switch {
			case d.Status == steps.StatusPassed:
			case d.Direction == steps.MIToSQL && d.Status == steps.StatusNotRun && strings.Contains(d.Reason, "still running"):
			default:
				t.Errorf("%s: %s (%s)", d.Direction, d.Status, d.Reason)
			}
		}
	}
}

// The other run created TEST_CERT between this run's plan and its creation: this run
// creates its certificate under its own suffixed name and passes; the other run's
// certificate stays.
func TestCertNameTakenByAnotherRunAfterThePlan(t *testing.T) {
	_, cfg := startCustom(t, nil, nil)
	s, _, plan, err := planned(t, cfg)
	if err != nil || !plan.CreateEndpoint || plan.CertName != steps.CertName {
		t.Fatalf("plan: %v %+v", err, plan)
	}
	c := openConn(t, cfg.SQLServer)
	ctx := context.Background()
	other := sqlops.NewRunID()
	lock, err := c.HoldRun(ctx, other, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lock.Release)
	if err := c.CreateTestCertificate(ctx, sqlops.TestEndpointSpec{RunID: other}); err != nil {
		t.Fatal(err)
	}
	rep := s.Run(ctx, nil)
	if rep.ExitCode != steps.ExitOK || len(rep.Remaining) > 0 {
		t.Fatalf("exit %d (%s), left %+v: %+v", rep.ExitCode, rep.Error, rep.Remaining, rep.Directions)
	}
	mine := steps.CertName + "_milink_" + plan.RunID[:8]
	if !slices.ContainsFunc(rep.Cleanup, func(ci steps.CleanupItem) bool { return ci.Name == mine && ci.Removed }) ||
		slices.ContainsFunc(rep.Cleanup, func(ci steps.CleanupItem) bool { return ci.Name == steps.CertName }) {
		t.Errorf("cleanup %+v, want %s removed and TEST_CERT not touched", rep.Cleanup, mine)
	}
	if ce, err := c.CertificateByName(ctx, steps.CertName); err != nil || ce == nil {
		t.Errorf("the other run's TEST_CERT: %+v %v", ce, err)
	}
}
