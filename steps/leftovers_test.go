package steps_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
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

// TestForgedMarksSurviveACheck is the forged ownership: the server's only
// mirroring endpoint Hadr_endpoint on 5022 uses ProdMirrorCert, whose subject carries
// "[milink:feedface]", and the user's own TestMILinkConnection and NetHelper jobs carry
// such text. A plain check reuses the endpoint, renames its jobs, and changes none of
// them.
func TestForgedMarksSurviveACheck(t *testing.T) {
	p := startFaultPair(t, func(o *sqlsim.Options) {
		o.Certificates = append(o.Certificates, sqlsim.CertSpec{Name: "ProdMirrorCert", Subject: "CN=sqlprod01 [milink:feedface]"})
		o.Endpoints = append(o.Endpoints, sqlsim.EndpointSpec{Name: "Hadr_endpoint", Port: 5022, CertName: "ProdMirrorCert"})
		o.Jobs = append(o.Jobs, sqlsim.JobSpec{Name: "TestMILinkConnection", Description: "DBA's [milink:feedfacecafebeef]"})
	}, func(o *sqlsim.Options) {
		o.Jobs = append(o.Jobs, sqlsim.JobSpec{Name: "NetHelper_old", Description: "x"})
		o.Jobs[0].Description = "the DBA's own NetHelper [milink:0123456789abcdef]"
	})
	cfg := pairConfig(t, p)
	before := [2]sqlops.Leftovers{inventoryOver(t, cfg.SQLServer), inventoryOver(t, cfg.MI)}
	rep := steps.Check(context.Background(), cfg, nil)
	if rep.ExitCode != steps.ExitOK {
		t.Fatalf("check: exit %d %s", rep.ExitCode, rep.Outcome)
	}
	for _, c := range rep.Cleanup {
		if strings.Contains(c.Name, "earlier run") || c.Name == "Hadr_endpoint" || c.Name == "ProdMirrorCert" {
			t.Errorf("cleanup dealt with a user's object: %+v", c)
		}
	}
	after := [2]sqlops.Leftovers{inventoryOver(t, cfg.SQLServer), inventoryOver(t, cfg.MI)}
	for i := range before {
		if !slices.Equal(before[i].Jobs, after[i].Jobs) || !slices.Equal(before[i].Certificates, after[i].Certificates) || !slices.Equal(before[i].Endpoints, after[i].Endpoints) {
			t.Errorf("instance %d changed:\nbefore %+v\nafter  %+v", i, before[i], after[i])
		}
	}
}

func inventoryOver(t *testing.T, cc sqlops.ConnConfig) sqlops.Leftovers {
	t.Helper()
	c, err := sqlops.Open(context.Background(), cc)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	inv, err := c.Inventory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// TestLiveRunIsNotALeftover: while check A waits for its slow NetHelper job, check B
// and a cleanup run against the same instances. They leave all of A's objects alone
// (A holds its run lock), and A passes.
func TestLiveRunIsNotALeftover(t *testing.T) {
	p := startFaultPair(t, nil, func(o *sqlsim.Options) { o.JobStartLatency = 1500 * time.Millisecond })
	cfg := pairConfig(t, p)
	var repB *steps.Report
	var found [2]sqlops.Leftovers
	var removed [2][]sqlops.Removed
	// Both of A's jobs exist once both directions wait for them.
	sink, fired := triggerAll([]string{"waiting for job TestMILinkConnection", "waiting for job NetHelper"}, func() {
		// A is alive and blocked here: everything below runs during A's run.
		repB = steps.Check(context.Background(), cfg, nil)
		for i, cc := range []sqlops.ConnConfig{cfg.SQLServer, cfg.MI} {
			c, err := sqlops.Open(context.Background(), cc)
			if err != nil {
				t.Error(err)
				return
			}
			found[i], err = c.FindLeftovers(context.Background())
			if err != nil {
				t.Error(err)
			}
			removed[i] = c.RemoveLeftovers(context.Background(), found[i])
			c.Close()
		}
	})
	repA := steps.Check(context.Background(), cfg, sink)
	if !fired() {
		t.Fatalf("A never waited for NetHelper: %s", repA.Outcome)
	}
	if repA.ExitCode != steps.ExitOK {
		t.Errorf("A: exit %d %s %+v", repA.ExitCode, repA.Outcome, repA.Directions)
	}
	for _, c := range repA.Cleanup {
		if !c.Removed {
			t.Errorf("A's %s %s was gone before A's cleanup: %+v", c.Kind, c.Name, c)
		}
	}
	for _, c := range repB.Cleanup {
		if strings.Contains(c.Name, "earlier run") {
			t.Errorf("B removed A's object: %+v", c)
		}
	}
	for i := range found {
		if found[i].Count() != 0 || len(removed[i]) != 0 {
			t.Errorf("cleanup during A found %+v and removed %+v", found[i], removed[i])
		}
	}
	if len(found[0].Live)+len(found[1].Live) < 4 {
		t.Errorf("A's objects not reported live: %+v %+v", found[0].Live, found[1].Live)
	}
	t.Logf("B: exit %d %s", repB.ExitCode, repB.Outcome)
}

// TestStopDuringLeftoverRemoval: a stop while the leftovers of a crashed run are being
// removed claims "removed" only for what is gone; the rest is reported as remaining
// and the exit code is 1, not 130.
func TestStopDuringLeftoverRemoval(t *testing.T) {
	p := startFaultPair(t, nil, nil)
	cfg := pairConfig(t, p)
	crashed := sqlops.NewRunID()
	ctx := context.Background()
	for _, side := range []struct {
		cc   sqlops.ConnConfig
		name string
	}{{cfg.SQLServer, steps.SQLJobName}} { // the MI's NetHelper is the user's
		c, err := sqlops.Open(ctx, side.cc)
		if err != nil {
			t.Fatal(err)
		}
		k, err := c.OwnerKey()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateJob(ctx, sqlops.JobSpec{Name: side.name, Description: sqlops.JobDescription("crashed", k.Mark(sqlops.KindJob, side.name, crashed)),
			Steps: []sqlops.JobStep{{Name: "s", Subsystem: "TSQL", Command: "SELECT 1"}}}); err != nil {
			t.Fatal(err)
		}
		if side.name == steps.SQLJobName {
			spec := sqlops.TestEndpointSpec{RunID: crashed, NoMasterKey: true}
			if err := c.CreateTestCertificate(ctx, spec); err != nil {
				t.Fatal(err)
			}
			if err := c.CreateTestEndpoint(ctx, spec); err != nil {
				t.Fatal(err)
			}
		}
		c.Close()
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sink, fired := trigger("removed job", cancel) // the first leftover removed
	rep := steps.Check(rctx, cfg, sink)
	if !fired() {
		t.Fatalf("no leftover was removed: %s", rep.Outcome)
	}
	inv := [2]sqlops.Leftovers{inventoryOver(t, cfg.SQLServer), inventoryOver(t, cfg.MI)}
	exists := func(c steps.CleanupItem) bool {
		i := 0
		if c.Server == "Managed instance" {
			i = 1
		}
		name := strings.TrimSuffix(c.Name, " (earlier run)")
		return slices.ContainsFunc(inv[i].Jobs, func(j sqlops.Job) bool { return j.Name == name }) ||
			slices.ContainsFunc(inv[i].Endpoints, func(e sqlops.Endpoint) bool { return e.Name == name }) ||
			slices.ContainsFunc(inv[i].Certificates, func(ce sqlops.Certificate) bool { return ce.Name == name })
	}
	claimed, remain := 0, 0
	for _, c := range rep.Cleanup {
		if !strings.HasSuffix(c.Name, "(earlier run)") {
			continue
		}
		switch {
		case c.Removed && exists(c):
			t.Errorf("reported removed but still there: %+v", c)
		case !c.Removed && !exists(c):
			t.Errorf("reported not removed but gone: %+v", c)
		case c.Removed:
			claimed++
		default:
			remain++
			if !c.Remains || !slices.ContainsFunc(rep.Remaining, func(r steps.CleanupItem) bool { return r.Name == c.Name }) {
				t.Errorf("left but not listed as remaining: %+v", c)
			}
		}
	}
	if remain == 0 || rep.ExitCode != steps.ExitError {
		t.Errorf("claimed %d, remain %d, exit %d (%s)", claimed, remain, rep.ExitCode, rep.Outcome)
	}
}
