package main

import (
	"context"
	"strings"
	"testing"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
)

func TestCleanupCommand(t *testing.T) {
	p := startPair(t, nil, func(o *sqlsim.Options) {
		o.Jobs = []sqlsim.JobSpec{{Name: "NightlyBackup", Description: "user job"}}
	})
	ctx := context.Background()
	// Leave milink objects behind as a crashed run would.
	sc, err := sqlops.Open(ctx, sqlops.ConnConfig{Role: "SQL Server", Host: p.sql.Host(), Port: p.sql.Port(), User: "sa", Password: simPassword, CACertFile: p.sqlCA})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	mc, err := sqlops.Open(ctx, sqlops.ConnConfig{Role: "MI", Host: p.mi.Host(), Port: p.mi.Port(), User: "miadmin", Password: simPassword, CACertFile: p.miCA})
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	run := "feedfacecafebeef"
	spec := sqlops.TestEndpointSpec{RunID: run}
	if err := sc.CreateTestCertificate(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if err := sc.CreateTestEndpoint(ctx, spec); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*sqlops.Conn{sc, mc} {
		if _, err := c.CreateJob(ctx, sqlops.JobSpec{Name: "TestMILinkConnection", Description: sqlops.JobDescription("x", run),
			Steps: []sqlops.JobStep{{Name: "s", Subsystem: "TSQL", Command: "SELECT 1"}}}); err != nil {
			t.Fatal(err)
		}
	}
	dry := runApp(t, pwEnv, "", append(p.connArgs("cleanup"), "--dry-run")...)
	if dry.code != 0 || !strings.Contains(dry.stdout, "3 milink object(s) found") {
		t.Fatalf("dry run: exit %d\n%s%s", dry.code, dry.stdout, dry.stderr)
	}
	if n := len(p.sqlInventory(t).Jobs); n != 1 {
		t.Fatalf("dry run removed something: %d jobs", n)
	}
	r := runApp(t, pwEnv, "", p.connArgs("cleanup")...)
	if r.code != 0 {
		t.Fatalf("cleanup: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("cleanup output:\n%s", r.stdout)
	assertNoMilinkObjects(t, p)
	mi := p.miInventory(t)
	if len(mi.Jobs) != 1 || mi.Jobs[0].Name != "NightlyBackup" {
		t.Errorf("user job touched: %+v", mi.Jobs)
	}
}
