package main

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
)

// TestCleanupCommand: cleanup lists what it will remove, asks (or needs --yes), removes
// only milink's objects of finished runs (verified by reading back), lists a live run's
// objects and forged or foreign marks as left alone, with the T-SQL only for another
// machine's milink objects, and never touches the user's.
func TestCleanupCommand(t *testing.T) {
	other := sqlops.RandomKey()
	p := startPair(t, func(o *sqlsim.Options) {
		o.Certificates = append(o.Certificates, sqlsim.CertSpec{Name: "ProdMirrorCert", Subject: "CN=sqlprod01 [milink:feedface]"})
		o.Endpoints = append(o.Endpoints, sqlsim.EndpointSpec{Name: "Hadr_endpoint", Port: 5023, CertName: "ProdMirrorCert"})
	}, func(o *sqlsim.Options) {
		o.Jobs = []sqlsim.JobSpec{{Name: "NightlyBackup", Description: "user job"},
			{Name: "NetHelper", Description: "DBA's own [milink:feedfacecafebeef]"},
			{Name: "NetHelper_milink_0badc0de", Description: sqlops.JobDescription("x", other.Mark(sqlops.KindJob, "NetHelper_milink_0badc0de", "0badc0de0badc0de"))}}
	})
	ctx := context.Background()
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
	key, err := sc.OwnerKey()
	if err != nil {
		t.Fatal(err)
	}
	// A crashed run left its objects (a certificate and a job: the user's Hadr_endpoint
	// is the only mirroring endpoint there can be); a live run holds its lock and has a job too.
	run, liveRun := "feedfacecafebeef", "abad1deaabad1dea"
	spec := sqlops.TestEndpointSpec{RunID: run, NoMasterKey: true}
	if err := sc.CreateTestCertificate(ctx, spec); err != nil {
		t.Fatal(err)
	}
	lock, err := mc.HoldRun(ctx, liveRun, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	for _, j := range []struct {
		c         *sqlops.Conn
		name, run string
	}{{sc, "TestMILinkConnection", run}, {mc, "TestMILinkConnection", liveRun}} {
		if _, err := j.c.CreateJob(ctx, sqlops.JobSpec{Name: j.name, Description: sqlops.JobDescription("x", key.Mark(sqlops.KindJob, j.name, j.run)),
			Steps: []sqlops.JobStep{{Name: "s", Subsystem: "TSQL", Command: "SELECT 1"}}}); err != nil {
			t.Fatal(err)
		}
	}
	userSQL, userMI := p.sqlInventory(t), p.miInventory(t)

	dry := runApp(t, pwEnv, "", append(p.connArgs("cleanup"), "--dry-run")...)
	// Something removable is left: --dry-run exits 1, as the README and help say.
	if dry.code != 1 || !strings.Contains(dry.stdout, "SQL Server "+p.sql.Host()+": 2 milink object(s) left behind") ||
		!strings.Contains(dry.stdout, ": 0 milink object(s) left behind") {
		t.Fatalf("dry run: exit %d\n%s%s", dry.code, dry.stdout, dry.stderr)
	}
	for _, want := range []string{"left alone: endpoint Hadr_endpoint", "left alone: certificate ProdMirrorCert", "left alone: job NetHelper:",
		"left alone: job TestMILinkConnection: its milink run " + liveRun + " is still running",
		"to remove it by hand: EXEC msdb.dbo.sp_delete_job @job_name = N'NetHelper_milink_0badc0de';"} {
		if !strings.Contains(dry.stdout, want) {
			t.Errorf("dry run does not say %q:\n%s", want, dry.stdout)
		}
	}
	if strings.Contains(dry.stdout, "DROP ENDPOINT [Hadr_endpoint]") {
		t.Error("a removal command was offered for the user's endpoint")
	}
	if n := len(p.sqlInventory(t).Jobs); n != 1 {
		t.Fatalf("dry run removed something: %d jobs", n)
	}

	notty := runApp(t, pwEnv, "y\n", p.connArgs("cleanup")...)
	if notty.code != 2 || !strings.Contains(notty.stderr, "give --yes to remove without asking") || strings.Contains(notty.stdout, "Remove these") {
		t.Fatalf("cleanup without --yes off a terminal: exit %d\n%s%s", notty.code, notty.stdout, notty.stderr)
	}
	no := runOnTerminal(t, pwEnv, "n\n", p.connArgs("cleanup")...)
	if no.code != 1 || !strings.Contains(no.stdout, "Remove these 2 object(s)") || !strings.Contains(no.stdout, "nothing removed") {
		t.Fatalf("declined: exit %d\n%s%s", no.code, no.stdout, no.stderr)
	}
	if n := len(p.sqlInventory(t).Jobs); n != 1 {
		t.Fatalf("declined cleanup removed something: %d jobs", n)
	}

	r := runApp(t, pwEnv, "", append(p.connArgs("cleanup"), "--yes")...)
	if r.code != 0 || strings.Count(r.stdout, "  removed ") != 2 {
		t.Fatalf("cleanup: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if dry := runApp(t, pwEnv, "", append(p.connArgs("cleanup"), "--dry-run")...); dry.code != 0 {
		t.Errorf("dry run with nothing removable left: exit %d, want 0\n%s%s", dry.code, dry.stdout, dry.stderr)
	}
	sqlInv, miInv := p.sqlInventory(t), p.miInventory(t)
	if len(sqlInv.Jobs) != 0 || slices.ContainsFunc(sqlInv.Certificates, func(c sqlops.Certificate) bool { return c.Name == "TEST_CERT" }) ||
		slices.ContainsFunc(sqlInv.Endpoints, func(e sqlops.Endpoint) bool { return e.Name == "TEST_ENDPOINT" }) {
		t.Errorf("SQL Server leftovers remain: %+v", sqlInv)
	}
	for _, c := range userSQL.Certificates {
		if c.Name != "TEST_CERT" && !slices.Contains(sqlInv.Certificates, c) {
			t.Errorf("user certificate %s changed", c.Name)
		}
	}
	for _, e := range userSQL.Endpoints {
		if e.Name != "TEST_ENDPOINT" && !slices.Contains(sqlInv.Endpoints, e) {
			t.Errorf("user endpoint %s changed", e.Name)
		}
	}
	if !slices.Equal(userMI.Jobs, miInv.Jobs) {
		t.Errorf("MI jobs changed (user's or the live run's):\nbefore %+v\nafter  %+v", userMI.Jobs, miInv.Jobs)
	}
}

// runOnTerminal runs milink with stdin a pipe holding stdin that milink takes for a
// terminal (isTTY is true), as when a person answers its questions.
func runOnTerminal(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := w.WriteString(stdin); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return runWith(env, r, true, args...)
}
