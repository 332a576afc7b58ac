package sqlops_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
)

// startSim starts one simulated SQL Server with the user objects of mut and returns a
// connection to it using key.
func startSim(t *testing.T, key *sqlops.Key, mut func(*sqlsim.Options)) (*sqlsim.Instance, func(*sqlops.Key) *sqlops.Conn) {
	t.Helper()
	o := sqlsim.SQLServerDefaults()
	if mut != nil {
		mut(&o)
	}
	in, err := sqlsim.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, in.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	open := func(k *sqlops.Key) *sqlops.Conn {
		c, err := sqlops.Open(context.Background(), sqlops.ConnConfig{Role: "SQL Server", Host: in.Host(), Port: in.Port(), User: "sa", Password: "Sim-Passw0rd!", CACertFile: ca})
		if err != nil {
			t.Fatal(err)
		}
		c.Key = k
		t.Cleanup(func() { c.Close() })
		return c
	}
	return in, open
}

// userObjects seeds the forged objects: the server's only mirroring endpoint
// Hadr_endpoint on 5022 with certificate ProdMirrorCert whose subject carries an
// unauthenticated mark, and user jobs with milink's names whose descriptions carry one.
func userObjects(o *sqlsim.Options) {
	o.Certificates = append(o.Certificates, sqlsim.CertSpec{Name: "ProdMirrorCert", Subject: "CN=sqlprod01 [milink:feedface]"})
	o.Endpoints = append(o.Endpoints, sqlsim.EndpointSpec{Name: "Hadr_endpoint", Port: 5022, CertName: "ProdMirrorCert"})
	o.Jobs = append(o.Jobs,
		sqlsim.JobSpec{Name: "TestMILinkConnection", Description: "DBA's own test [milink:feedfacecafebeef]"},
		sqlsim.JobSpec{Name: "NetHelper", Description: "keep [milink:0123456789abcdef]"})
}

// createMarkedJob creates job name of run on c, marked with key.
func createMarkedJob(t *testing.T, c *sqlops.Conn, key *sqlops.Key, name, run string) {
	t.Helper()
	if _, err := c.CreateJob(context.Background(), sqlops.JobSpec{Name: name, Description: sqlops.JobDescription("t", key.Mark(sqlops.KindJob, name, run)),
		Steps: []sqlops.JobStep{{Name: "s", Subsystem: "TSQL", Command: "SELECT 1"}}}); err != nil {
		t.Fatal(err)
	}
}

func inventoryOf(t *testing.T, c *sqlops.Conn) sqlops.Leftovers {
	t.Helper()
	inv, err := c.Inventory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	inv.Live, inv.Foreign = nil, nil
	return inv
}

// TestForgedMarksAreNotOurs: text that merely looks like milink's mark never makes an
// object milink's: nothing is found to remove, every drop is refused, all stay.
func TestForgedMarksAreNotOurs(t *testing.T) {
	_, open := startSim(t, nil, userObjects)
	c := open(sqlops.RandomKey())
	ctx := context.Background()
	before := inventoryOf(t, c)
	l, err := c.FindLeftovers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l.Count() != 0 {
		t.Fatalf("forged objects found removable: %+v", l)
	}
	for _, want := range []string{"ProdMirrorCert", "Hadr_endpoint", "TestMILinkConnection", "NetHelper"} {
		if !slices.ContainsFunc(l.Foreign, func(s sqlops.Suspect) bool { return s.Name == want && s.Reason != "" && s.RemoveSQL == "" }) {
			t.Errorf("%s not reported as foreign (without a removal command): %+v", want, l.Foreign)
		}
	}
	if rm := c.RemoveLeftovers(ctx, l); len(rm) != 0 {
		t.Errorf("removed %+v", rm)
	}
	if _, err := c.DropTestEndpoint(ctx, "Hadr_endpoint", ""); !errors.Is(err, sqlops.ErrNotOurs) {
		t.Errorf("drop Hadr_endpoint: %v", err)
	}
	if _, err := c.DropTestCertificate(ctx, "ProdMirrorCert", ""); !errors.Is(err, sqlops.ErrNotOurs) {
		t.Errorf("drop ProdMirrorCert: %v", err)
	}
	for _, n := range []string{"TestMILinkConnection", "NetHelper"} {
		if _, err := c.DeleteJob(ctx, &sqlops.Job{Name: n}, ""); !errors.Is(err, sqlops.ErrNotOurs) {
			t.Errorf("delete %s: %v", n, err)
		}
	}
	if after := inventoryOf(t, c); !sameInventory(before, after) {
		t.Errorf("user objects changed:\nbefore %+v\nafter  %+v", before, after)
	}
}

func sameInventory(a, b sqlops.Leftovers) bool {
	return slices.Equal(a.Jobs, b.Jobs) && slices.Equal(a.Certificates, b.Certificates) && slices.Equal(a.Endpoints, b.Endpoints)
}

// TestCopiedMarkAndOtherKey: a genuine mark copied onto another object does not make it
// milink's (the mark binds kind and name), and objects marked under another machine's
// key are reported with the T-SQL to remove them by hand, not removed.
func TestCopiedMarkAndOtherKey(t *testing.T) {
	mine, other := sqlops.RandomKey(), sqlops.RandomKey()
	run := sqlops.NewRunID()
	genuine := mine.Mark(sqlops.KindJob, "TestMILinkConnection", run)
	_, open := startSim(t, nil, func(o *sqlsim.Options) {
		o.Jobs = append(o.Jobs,
			sqlsim.JobSpec{Name: "NetHelper", Description: sqlops.JobDescription("copied", genuine)},
			sqlsim.JobSpec{Name: "NightlyBackup", Description: sqlops.JobDescription("copied", genuine)},
			sqlsim.JobSpec{Name: "TestMILinkConnection", Description: sqlops.JobDescription("other machine", other.Mark(sqlops.KindJob, "TestMILinkConnection", run))})
	})
	c := open(mine)
	l, err := c.FindLeftovers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if l.Count() != 0 || len(l.Foreign) != 3 {
		t.Fatalf("leftovers %+v", l)
	}
	for _, s := range l.Foreign {
		wantSQL := s.Name == "TestMILinkConnection"
		if (s.RemoveSQL != "") != wantSQL {
			t.Errorf("%s: removal command %q", s.Name, s.RemoveSQL)
		}
	}
	if _, err := c.DeleteJob(context.Background(), &sqlops.Job{Name: "NetHelper"}, ""); !errors.Is(err, sqlops.ErrNotOurs) {
		t.Errorf("copied mark accepted: %v", err)
	}
}

// TestLiveRunIsLeftAlone: while a run holds its lock (on its own session), another
// connection finds its objects live and removes nothing; once the lock is released
// they are leftovers, and removal reports "removed" only as read back gone.
func TestLiveRunIsLeftAlone(t *testing.T) {
	key := sqlops.RandomKey()
	_, open := startSim(t, nil, nil)
	runner, other := open(key), open(key)
	ctx := context.Background()
	run := sqlops.NewRunID()
	lock, err := runner.HoldRun(ctx, run, 0)
	if err != nil {
		t.Fatal(err)
	}
	spec := sqlops.TestEndpointSpec{RunID: run, NoMasterKey: true}
	if err := runner.CreateTestCertificate(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if err := runner.CreateTestEndpoint(ctx, spec); err != nil {
		t.Fatal(err)
	}
	createMarkedJob(t, runner, key, "NetHelper", run)
	l, err := other.FindLeftovers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l.Count() != 0 || len(l.Live) != 3 {
		t.Fatalf("live run's objects: %+v", l)
	}
	lock.Release()
	l, err = other.FindLeftovers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l.Count() != 3 {
		t.Fatalf("after release: %+v", l)
	}
	for _, r := range other.RemoveLeftovers(ctx, l) {
		if !r.Removed || r.Err != nil {
			t.Errorf("%+v", r)
		}
	}
	if inv := inventoryOf(t, other); len(inv.Jobs) != 0 || slices.ContainsFunc(inv.Endpoints, func(e sqlops.Endpoint) bool { return e.Name == "TEST_ENDPOINT" }) || len(inv.Certificates) != 0 {
		t.Errorf("left: %+v", inv)
	}
}

// TestKeyFile: the key is created once with mode 0600 and reused; a key file others
// can read is refused.
func TestKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	k1, err := sqlops.LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	if _, ok := k1.Owns(sqlops.KindJob, "NetHelper", k1.Mark(sqlops.KindJob, "nethelper", "0123456789abcdef")); !ok {
		t.Error("name binding is not case-insensitive")
	}
	bad := filepath.Join(t.TempDir(), "bad")
	os.MkdirAll(bad, 0o700)
	os.WriteFile(filepath.Join(bad, "key"), make([]byte, sqlops.KeySize), 0o644)
	if _, err := sqlops.LoadKey(bad); !errors.Is(err, sqlops.ErrKey) || sqlops.Transient(err) {
		t.Errorf("a world-readable key: %v", err)
	}
}

// TestOtherMachinesEndpoint: a TEST_ENDPOINT with a TEST_CERT marked under another
// machine's key is listed with DROP ENDPOINT and DROP CERTIFICATE to run by hand, and
// nothing is removed.
func TestOtherMachinesEndpoint(t *testing.T) {
	other := sqlops.RandomKey()
	_, open := startSim(t, nil, nil)
	theirs, mine := open(other), open(sqlops.RandomKey())
	ctx := context.Background()
	spec := sqlops.TestEndpointSpec{RunID: sqlops.NewRunID(), NoMasterKey: true}
	if err := theirs.CreateTestCertificate(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if err := theirs.CreateTestEndpoint(ctx, spec); err != nil {
		t.Fatal(err)
	}
	l, err := mine.FindLeftovers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	for _, s := range l.Foreign {
		cmds = append(cmds, s.RemoveSQL)
	}
	if l.Count() != 0 || !slices.Equal(cmds, []string{"DROP ENDPOINT [TEST_ENDPOINT];", "DROP CERTIFICATE [TEST_CERT];"}) {
		t.Errorf("leftovers %+v", l)
	}
}

// TestRunTurnsLiveBeforeRemoval: objects found as leftovers are not dropped when their
// run's lock is held by the time of the removal (the lock is tested again per object).
func TestRunTurnsLiveBeforeRemoval(t *testing.T) {
	key, run := sqlops.RandomKey(), sqlops.NewRunID()
	_, open := startSim(t, nil, nil)
	owner, cleaner := open(key), open(key)
	createMarkedJob(t, owner, key, "NetHelper", run)
	ctx := context.Background()
	l, err := cleaner.FindLeftovers(ctx)
	if err != nil || l.Count() != 1 {
		t.Fatalf("%+v %v", l, err)
	}
	lock, err := owner.HoldRun(ctx, run, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	for _, r := range cleaner.RemoveLeftovers(ctx, l) {
		if r.Removed || !errors.Is(r.Err, sqlops.ErrLive) {
			t.Errorf("%+v", r)
		}
	}
	if inv := inventoryOf(t, cleaner); len(inv.Jobs) != 1 {
		t.Errorf("jobs: %+v", inv.Jobs)
	}
}

// FuzzOwns: whatever the text and name, Owns accepts only a milink name and a text that
// holds this key's exact mark for that kind, name and run.
func FuzzOwns(f *testing.F) {
	key := sqlops.RandomKey()
	f.Add("NetHelper", "x "+key.Mark(sqlops.KindJob, "NetHelper", "0123456789abcdef"))
	f.Add("NetHelper", "[milink:feedfacecafebeef]")
	f.Add("Hadr_endpoint", "CN=sqlprod01 [milink:feedface]")
	f.Add("TEST_CERT", "[milink:0123456789abcdef:00000000000000000000000000000000]")
	f.Fuzz(func(t *testing.T, name, text string) {
		for _, kind := range []string{sqlops.KindJob, sqlops.KindCertificate, sqlops.KindEndpoint} {
			run, ok := key.Owns(kind, name, text)
			if ok && (!sqlops.NamedLikeOurs(kind, name) || !strings.Contains(text, key.Mark(kind, name, run))) {
				t.Fatalf("Owns(%s, %q, %q) accepted run %q", kind, name, text, run)
			}
		}
	})
}

// TestJobOutsideMilinkCategoryIsNotOurs: a job with milink's name and a mark this key
// really made (copied from a milink job's description) is still not milink's when it
// is not in milink's job category: it is reported, never dropped.
func TestJobOutsideMilinkCategoryIsNotOurs(t *testing.T) {
	key := sqlops.RandomKey()
	_, open := startSim(t, key, nil)
	c := open(key)
	ctx := context.Background()
	const run = "0123456789abcdef"
	desc := sqlops.JobDescription("copied", key.Mark(sqlops.KindJob, "NetHelper", run))
	if _, err := c.DB.ExecContext(ctx, "EXEC msdb.dbo.sp_add_job @job_name = N'NetHelper', @description = @d", sql.Named("d", desc)); err != nil {
		t.Fatal(err)
	}
	l, err := c.FindLeftovers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Jobs) != 0 {
		t.Fatalf("a job outside milink's category counts as a leftover: %+v", l.Jobs)
	}
	if !slices.ContainsFunc(l.Foreign, func(s sqlops.Suspect) bool {
		return s.Name == "NetHelper" && strings.Contains(s.Reason, sqlops.JobCategory)
	}) {
		t.Errorf("the job is not reported with the category as the reason: %+v", l.Foreign)
	}
	if _, err := c.DeleteJob(ctx, &sqlops.Job{Name: "NetHelper"}, ""); !errors.Is(err, sqlops.ErrNotOurs) {
		t.Errorf("DeleteJob: %v, want ErrNotOurs", err)
	}
	if j, err := c.JobByName(ctx, "NetHelper"); err != nil || j == nil {
		t.Fatalf("the user's job is gone: %v", err)
	}
	// milink's own jobs are created in the category.
	createMarkedJob(t, c, key, "NetHelper_milink_01234567", run)
	if j, err := c.JobByName(ctx, "NetHelper_milink_01234567"); err != nil || j == nil || j.Category != sqlops.JobCategory {
		t.Fatalf("milink's job: %+v, %v; want it in %q", j, err, sqlops.JobCategory)
	}
}
