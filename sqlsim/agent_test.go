package sqlsim

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mssql "github.com/microsoft/go-mssqldb"

	"github.com/milink/milink/sqlops"
)

func openSim(t *testing.T, mut func(*Options)) (*Instance, *sqlops.Conn) {
	t.Helper()
	o := SQLServerDefaults()
	o.JobStartLatency, o.StepLatency = 10*time.Millisecond, 10*time.Millisecond
	if mut != nil {
		mut(&o)
	}
	return startConn(t, o)
}

// startConn starts an instance with o and connects to it as its first login.
func startConn(t *testing.T, o Options) (*Instance, *sqlops.Conn) {
	t.Helper()
	in, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := sqlops.Open(ctx, sqlops.ConnConfig{Role: "sim", Host: in.Host(), Port: in.Port(), User: o.Logins[0].Name, Password: o.Logins[0].Password, TrustServerCertificate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return in, c
}

func wantErr(t *testing.T, err error, num int32) {
	t.Helper()
	if got := sqlops.SQLError(err); got != num {
		t.Errorf("error %v: number %d, want %d", err, got, num)
	}
}

// TestMsdbErrorNumbers checks that the simulated msdb procedures and DDL fail with the
// numbers SQL Server uses, as seen through go-mssqldb.
func TestMsdbErrorNumbers(t *testing.T) {
	_, c := openSim(t, nil)
	ctx := context.Background()
	db := c.DB
	if _, err := db.ExecContext(ctx, "msdb.dbo.sp_add_job", sql.Named("job_name", "J1")); err != nil {
		t.Fatal(err)
	}
	_, err := db.ExecContext(ctx, "msdb.dbo.sp_add_job", sql.Named("job_name", "J1"))
	wantErr(t, err, 14261)
	_, err = db.ExecContext(ctx, "msdb.dbo.sp_add_job", sql.Named("job_name", "J2"), sql.Named("job_id", mssql.UniqueIdentifier{1}))
	wantErr(t, err, 14284)
	_, err = db.ExecContext(ctx, "msdb.dbo.sp_delete_job", sql.Named("job_name", "missing"))
	wantErr(t, err, 14262)
	_, err = db.ExecContext(ctx, "msdb.dbo.sp_start_job", sql.Named("job_name", "J1"))
	wantErr(t, err, 14256) // no job server yet
	if _, err := db.ExecContext(ctx, "msdb.dbo.sp_add_jobstep", sql.Named("job_name", "J1"), sql.Named("step_name", "s"),
		sql.Named("subsystem", "PowerShell"), sql.Named("command", "tnc 10.9.9.9 -port 5022")); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "msdb.dbo.sp_add_jobserver", sql.Named("job_name", "J1")); err != nil {
		t.Fatal(err)
	}
	_, err = db.ExecContext(ctx, "msdb.dbo.sp_stop_job", sql.Named("job_name", "J1"))
	wantErr(t, err, 22022) // not running
	_, err = db.ExecContext(ctx, "msdb.dbo.sp_no_such_proc")
	wantErr(t, err, 2812)

	// DDL.
	_, err = db.ExecContext(ctx, "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'x'")
	wantErr(t, err, 15578)
	_, err = db.ExecContext(ctx, "DROP CERTIFICATE [nope]")
	wantErr(t, err, 15151)
	if _, err := db.ExecContext(ctx, "CREATE CERTIFICATE [C1] WITH SUBJECT = N's'"); err != nil {
		t.Fatal(err)
	}
	_, err = db.ExecContext(ctx, "CREATE CERTIFICATE [C1] WITH SUBJECT = N's'")
	wantErr(t, err, 15232)
	ep := "CREATE ENDPOINT [E1] STATE = STARTED AS TCP (LISTENER_PORT = 5022, LISTENER_IP = ALL) FOR DATABASE_MIRRORING (ROLE = ALL, AUTHENTICATION = CERTIFICATE [C1], ENCRYPTION = REQUIRED ALGORITHM AES)"
	if _, err := db.ExecContext(ctx, ep); err != nil {
		t.Fatal(err)
	}
	_, err = db.ExecContext(ctx, strings.Replace(ep, "[E1]", "[E2]", 1))
	wantErr(t, err, 7862)
	_, err = db.ExecContext(ctx, "DROP CERTIFICATE [C1]")
	wantErr(t, err, 15352) // bound to an endpoint
	_, err = db.ExecContext(ctx, "SELECT name FROM sys.no_such_view")
	wantErr(t, err, 208)
}

func TestEndpointPortInUse(t *testing.T) {
	in, c := openSim(t, nil)
	l, err := in.Network().Listen(in.Options().IP, 5022) // another program holds 5022
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	spec := sqlops.TestEndpointSpec{RunID: "0123456789abcdef"}
	if err := c.CreateTestCertificate(ctx, spec); err != nil {
		t.Fatal(err)
	}
	err = c.CreateTestEndpoint(ctx, spec)
	wantErr(t, err, 7890)
}

func TestCertificateNeedsMasterKeyOrPassword(t *testing.T) {
	_, c := openSim(t, func(o *Options) { o.MasterKey = false })
	ctx := context.Background()
	_, err := c.DB.ExecContext(ctx, "CREATE CERTIFICATE [C1] WITH SUBJECT = N's'")
	wantErr(t, err, 15581)
	if err := c.CreateTestCertificate(ctx, sqlops.TestEndpointSpec{RunID: "0123456789abcdef", NoMasterKey: true}); err != nil {
		t.Errorf("certificate with password: %v", err)
	}
}

func TestAgentRunsDocumentedScript(t *testing.T) {
	in, c := openSim(t, nil)
	mi := MIDefaults()
	in.Network().AddHost(mi.FQDN, mi.IP)
	l, err := in.Network().Listen(mi.IP, 5022)
	if err != nil {
		t.Fatal(err)
	}
	go acceptAndClose(l)
	defer l.Close()
	ctx := context.Background()
	job, err := c.CreateJob(ctx, sqlops.JobSpec{Name: "TestMILinkConnection", Description: sqlops.JobDescription("t", "0123456789abcdef"),
		Steps: []sqlops.JobStep{
			{Name: "Test Port 5022", Subsystem: "PowerShell", Command: "tnc " + mi.FQDN + " -port 5022 | select ComputerName, RemoteAddress, TcpTestSucceeded | Format-List", GoToNext: true},
			{Name: "Test HADR Port", Subsystem: "PowerShell", Command: "tnc " + mi.FQDN + " -port 11002 -InformationLevel Quiet"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.StartJob(ctx, job); err != nil {
		t.Fatal(err)
	}
	err = c.StartJob(ctx, job)
	wantErr(t, err, 22022) // already running
	run, err := c.WaitJob(ctx, job, time.Now().Add(10*time.Second), sqlops.PollPolicy{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !run.Finished || run.RunStatus != 1 || len(run.Steps) != 2 {
		t.Fatalf("run: %+v", run)
	}
	s1, s2 := run.Steps[0], run.Steps[1]
	if !strings.HasPrefix(s1.Message, `Executed as user: NT Service\SQLSERVERAGENT. `) || !strings.HasSuffix(s1.Message, "  Process Exit Code 0.  The step succeeded.") {
		t.Errorf("step 1 message format: %q", s1.Message)
	}
	if o := sqlops.ParseProbeOutput(s1.Output()); !o.Succeeded || o.RemoteAddress != mi.IP {
		t.Errorf("step 1: %+v from %q", o, s1.Output())
	}
	if o := sqlops.ParseProbeOutput(s2.Output()); o.Succeeded || o.Verdict != sqlops.VerdictFailed {
		t.Errorf("step 2 (closed port, Quiet): %+v from %q", o, s2.Output())
	}
	if !strings.Contains(run.Message, "The last step to run was step 2 (Test HADR Port)") {
		t.Errorf("outcome message: %q", run.Message)
	}
}

func TestLinuxAgentCannotRunPowerShell(t *testing.T) {
	_, c := openSim(t, func(o *Options) { o.Platform = "Linux" })
	ctx := context.Background()
	job, err := c.CreateJob(ctx, sqlops.JobSpec{Name: "J", Description: sqlops.JobDescription("t", "0123456789abcdef"),
		Steps: []sqlops.JobStep{{Name: "s", Subsystem: "PowerShell", Command: "tnc x -port 1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.StartJob(ctx, job); err != nil {
		t.Fatal(err)
	}
	run, err := c.WaitJob(ctx, job, time.Now().Add(10*time.Second), sqlops.PollPolicy{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if run.RunStatus != 0 || !strings.Contains(run.Steps[0].Message, "not supported on SQL Server on Linux") {
		t.Errorf("Linux PowerShell step: %+v", run)
	}
}

func TestStopJob(t *testing.T) {
	_, c := openSim(t, func(o *Options) { o.JobStartLatency = time.Hour })
	ctx := context.Background()
	job, err := c.CreateJob(ctx, sqlops.JobSpec{Name: "J", Description: sqlops.JobDescription("t", "0123456789abcdef"),
		Steps: []sqlops.JobStep{{Name: "s", Subsystem: "TSQL", Command: "SELECT 1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.StartJob(ctx, job); err != nil {
		t.Fatal(err)
	}
	if err := c.StopJob(ctx, job); err != nil {
		t.Fatal(err)
	}
	run, err := c.WaitJob(ctx, job, time.Now().Add(10*time.Second), sqlops.PollPolicy{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if run.RunStatus != 3 {
		t.Errorf("stopped job outcome %d, want 3 (canceled)", run.RunStatus)
	}
}

func TestTLSFailuresAreExplained(t *testing.T) {
	in, _ := openSim(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Default: TLS on and verified; the simulator's self-signed certificate is not trusted.
	_, err := sqlops.Open(ctx, sqlops.ConnConfig{Role: "SQL Server", Host: in.Host(), Port: in.Port(), User: "sa", Password: "Sim-Passw0rd!"})
	if err == nil || !strings.Contains(err.Error(), "--sql-ca-cert") {
		t.Errorf("untrusted certificate: %v", err)
	}
	// Trusting the CA but expecting a name the certificate does not carry.
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, in.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = sqlops.Open(ctx, sqlops.ConnConfig{Role: "SQL Server", Host: in.Host(), Port: in.Port(), User: "sa", Password: "Sim-Passw0rd!", CACertFile: ca, HostNameInCertificate: "sql.example"})
	if err == nil || !strings.Contains(err.Error(), "does not name this host") {
		t.Errorf("wrong host name: %v", err)
	}
}
