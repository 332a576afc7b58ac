package steps_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps"
)

// crashedRun leaves what a SIGKILL'd run that had moved to suffixed names leaves: its
// jobs on both sides and its TEST_ENDPOINT_…/TEST_CERT_… on SQL Server, marked with
// this machine's key, its run lock gone. It returns the names.
func crashedRun(t *testing.T, cfg steps.Config) []string {
	t.Helper()
	ctx := context.Background()
	run := sqlops.NewRunID()
	sfx := "_milink_" + run[:8]
	names := []string{steps.SQLJobName + sfx, steps.MIJobName + sfx, steps.EndpointName + sfx, steps.CertName + sfx}
	for i, cc := range []sqlops.ConnConfig{cfg.SQLServer, cfg.MI} {
		c := openConn(t, cc)
		k, err := c.OwnerKey()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateJob(ctx, sqlops.JobSpec{Name: names[i], Description: sqlops.JobDescription("crashed", k.Mark(sqlops.KindJob, names[i], run))}); err != nil {
			t.Fatal(err)
		}
	}
	spec := sqlops.TestEndpointSpec{EndpointName: names[2], CertName: names[3], RunID: run}
	c := openConn(t, cfg.SQLServer)
	if err := c.CreateTestCertificate(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateTestEndpoint(ctx, spec); err != nil {
		t.Fatal(err)
	}
	return names
}

// Item 4 of the follow-up: after a SIGKILL'd run whose objects had suffixed names,
// check finds them as milink cleanup does (one discovery), says so in its plan and
// removes them; nothing of them is left.
func TestCheckFindsSuffixedLeftovers(t *testing.T) {
	_, cfg := startCustom(t, nil, nil)
	names := crashedRun(t, cfg)
	rep := steps.Check(context.Background(), cfg, nil)
	if rep.ExitCode != steps.ExitOK {
		t.Fatalf("exit %d (%s): %+v", rep.ExitCode, rep.Error, rep.Directions)
	}
	for _, name := range names {
		if !slices.ContainsFunc(rep.Actions, func(a steps.Action) bool {
			return strings.Contains(a.Description, " "+name+" left by an earlier milink run")
		}) {
			t.Errorf("the plan does not mention leftover %s: %+v", name, rep.Actions)
		}
		if !slices.ContainsFunc(rep.Cleanup, func(c steps.CleanupItem) bool { return c.Name == name+" (earlier run)" && c.Removed }) {
			t.Errorf("leftover %s not removed: %+v", name, rep.Cleanup)
		}
	}
	for _, cc := range []sqlops.ConnConfig{cfg.SQLServer, cfg.MI} {
		if l, err := openConn(t, cc).FindLeftovers(context.Background()); err != nil || l.Count() != 0 {
			t.Errorf("after check, milink cleanup would still find %+v (%v)", l, err)
		}
	}
}
