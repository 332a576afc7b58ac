package sqlsim

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
)

// TestDBASetsStatesWithTSQL sets the instance states milink checks the way a DBA
// would, with T-SQL over TDS, and reads them back through milink's own queries.
func TestDBASetsStatesWithTSQL(t *testing.T) {
	in, c := openSim(t, nil)
	ctx := context.Background()
	exec := func(q string) {
		t.Helper()
		if _, err := c.DB.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("USE master; DROP MASTER KEY;")
	if ok, err := c.HasMasterKey(ctx); err != nil || ok {
		t.Errorf("master key after DROP MASTER KEY: %v %v", ok, err)
	}
	exec("CREATE DATABASE Shop; ALTER DATABASE Shop SET RECOVERY SIMPLE;")
	exec("CREATE DATABASE Ledger; BACKUP DATABASE Ledger TO DISK = N'Ledger.bak' WITH COPY_ONLY;")
	dbs, err := c.Databases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]sqlops.Database{}
	for _, d := range dbs {
		byName[d.Name] = d
	}
	if byName["Shop"].RecoveryModel != "SIMPLE" || byName["Shop"].LastFullBackup != nil {
		t.Errorf("Shop: %+v", byName["Shop"])
	}
	// A copy-only backup starts no log chain: milink does not count it (issue 11, item 7).
	if byName["Ledger"].RecoveryModel != "FULL" || byName["Ledger"].LastFullBackup != nil {
		t.Errorf("Ledger: %+v", byName["Ledger"])
	}
	var copyOnly int
	if err := c.DB.QueryRowContext(ctx, "SELECT CAST(is_copy_only AS int) FROM msdb.dbo.backupset WHERE database_name = N'Ledger' AND type = 'D'").Scan(&copyOnly); err != nil || copyOnly != 1 {
		t.Errorf("backupset is_copy_only: %d %v", copyOnly, err)
	}
	// A log backup needs a full backup that starts a log chain (copy-only does not).
	_, err = c.DB.ExecContext(ctx, "BACKUP LOG Ledger TO DISK = N'Ledger.trn'")
	wantErr(t, err, 4214)
	_, err = c.DB.ExecContext(ctx, "BACKUP LOG Shop TO DISK = N'Shop.trn'")
	wantErr(t, err, 4208)

	exec("DBCC TRACEOFF(9567, -1)")
	flags, err := c.TraceFlags(ctx)
	if err != nil || len(flags) != 1 || flags[0].Flag != 1800 {
		t.Errorf("trace flags after TRACEOFF: %+v %v", flags, err)
	}
	exec("EXEC sp_configure 'show advanced options', 1; RECONFIGURE;")
	exec("EXEC sp_configure 'Agent XPs', 0; RECONFIGURE;")
	if a, err := c.Agent(ctx); err != nil || a.AgentXPs {
		t.Errorf("Agent XPs after sp_configure 0: %+v %v", a, err)
	}
	_, err = c.DB.ExecContext(ctx, "CREATE CERTIFICATE UserCert WITH SUBJECT = N'x'")
	wantErr(t, err, 15581) // no master key, no password
	exec("CREATE MASTER KEY ENCRYPTION BY PASSWORD = N'Str0ng-Passw0rd!'")
	exec("CREATE CERTIFICATE UserCert WITH SUBJECT = N'the DBA''s certificate', START_DATE = '20240101', EXPIRY_DATE = '20300101'")
	exec("CREATE ENDPOINT Hadr_endpoint STATE = STARTED AS TCP (LISTENER_PORT = 5022) FOR DATABASE_MIRRORING (ROLE = ALL, AUTHENTICATION = CERTIFICATE UserCert, ENCRYPTION = REQUIRED ALGORITHM AES)")
	eps, err := c.MirroringEndpoints(ctx)
	if err != nil || len(eps) != 1 || eps[0].Name != "Hadr_endpoint" || eps[0].Port != 5022 || eps[0].CertificateName != "UserCert" {
		t.Errorf("user's endpoint: %+v %v", eps, err)
	}
	if r := in.Network().Probe(ctx, in.Options().IP, 5022, time.Second); r.Err != nil {
		t.Errorf("the endpoint does not listen: %v", r.Err)
	}

	// A login without VIEW SERVER STATE: Msg 300 (then 297) on sys.dm_server_services.
	exec("CREATE LOGIN probe WITH PASSWORD = N'Pr0be-Passw0rd!'")
	pc, err := sqlops.Open(ctx, sqlops.ConnConfig{Role: "probe", Host: in.Host(), Port: in.Port(), User: "probe", Password: "Pr0be-Passw0rd!", TrustServerCertificate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	// milink reads 'Agent XPs' still and says why the service state is unknown (issue 11).
	ag, err := pc.Agent(ctx)
	if err != nil || ag.Known() || !strings.Contains(ag.Unreadable, "permission") || !ag.XPsKnown {
		t.Errorf("Agent() without VIEW SERVER STATE: %+v %v", ag, err)
	}
	perms, err := pc.Permissions(ctx)
	if err != nil || perms.Sysadmin || perms.AgentOperator || perms.Login != "probe" {
		t.Errorf("probe permissions: %+v %v", perms, err)
	}
	_, err = pc.DB.ExecContext(ctx, "msdb.dbo.sp_add_job", mssqlNamed("job_name", "J"))
	wantErr(t, err, 229)
	exec("GRANT VIEW SERVER STATE TO probe")
	if _, err := pc.Agent(ctx); err != nil {
		t.Errorf("Agent() after GRANT VIEW SERVER STATE: %v", err)
	}
	exec("USE msdb; CREATE USER probe FOR LOGIN probe; ALTER ROLE SQLAgentOperatorRole ADD MEMBER probe; USE master;")
	if perms, err := pc.Permissions(ctx); err != nil || !perms.AgentOperator {
		t.Errorf("probe after ALTER ROLE: %+v %v", perms, err)
	}
	if _, err := pc.DB.ExecContext(ctx, "msdb.dbo.sp_add_job", mssqlNamed("job_name", "J")); err != nil {
		t.Errorf("sp_add_job as SQLAgentOperatorRole member: %v", err)
	}
	// msdb's Agent tables grant nothing to public; the roles read sysjobs_view.
	var n int
	if err := pc.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM msdb.dbo.sysjobs_view WHERE name = N'J'").Scan(&n); err != nil || n != 1 {
		t.Errorf("sysjobs_view as an Agent role member: %d %v", n, err)
	}
	_, err = pc.DB.ExecContext(ctx, "SELECT name FROM msdb.dbo.sysjobs")
	if sqlops.SQLError(err) != 229 || !strings.Contains(err.Error(), "The SELECT permission was denied on the object 'sysjobs', database 'msdb', schema 'dbo'.") {
		t.Errorf("sysjobs without SELECT: %v", err)
	}
	exec("USE msdb; GRANT SELECT ON dbo.sysjobs TO probe; USE master;")
	if _, err := pc.DB.ExecContext(ctx, "SELECT name FROM msdb.dbo.sysjobs"); err != nil {
		t.Errorf("sysjobs after GRANT SELECT: %v", err)
	}
	exec("ALTER SERVER ROLE sysadmin ADD MEMBER probe")
	if perms, err := pc.Permissions(ctx); err != nil || !perms.Sysadmin {
		t.Errorf("probe after ALTER SERVER ROLE: %+v %v", perms, err)
	}
}

func mssqlNamed(name string, v any) any { return sql.Named(name, v) }

// TestMIAgentRoleNeedsXPGrants: on a managed instance a login that is only in msdb's
// SQLAgentOperatorRole cannot use the Agent procedures until it is granted EXECUTE on
// the xp_sqlagent_* procedures in master (Msg 229 before).
func TestMIAgentRoleNeedsXPGrants(t *testing.T) {
	mi, err := FindPersonality("", "", true)
	if err != nil {
		t.Fatal(err)
	}
	in, c := openPersonality(t, mi, nil)
	ctx := context.Background()
	for _, q := range []string{
		"CREATE LOGIN op WITH PASSWORD = N'0p-Passw0rd!'",
		"USE msdb; CREATE USER op FOR LOGIN op; ALTER ROLE SQLAgentOperatorRole ADD MEMBER op; USE master;",
	} {
		if _, err := c.DB.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	oc, err := sqlops.Open(ctx, sqlops.ConnConfig{Role: "op", Host: in.Host(), Port: in.Port(), User: "op", Password: "0p-Passw0rd!", TrustServerCertificate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer oc.Close()
	_, err = oc.DB.ExecContext(ctx, "msdb.dbo.sp_add_job", sql.Named("job_name", "J"))
	if sqlops.SQLError(err) != 229 || !strings.Contains(err.Error(), "xp_sqlagent_") {
		t.Errorf("Agent role member without the xp grants: %v", err)
	}
	if _, err := c.DB.ExecContext(ctx, `USE master; CREATE USER op FOR LOGIN op;
GRANT EXECUTE ON xp_sqlagent_enum_jobs TO op; GRANT EXECUTE ON xp_sqlagent_is_starting TO op; GRANT EXECUTE ON xp_sqlagent_notify TO op;`); err != nil {
		t.Fatal(err)
	}
	if _, err := oc.DB.ExecContext(ctx, "msdb.dbo.sp_add_job", sql.Named("job_name", "J")); err != nil {
		t.Errorf("Agent role member with the xp grants: %v", err)
	}
}

// TestStatementPermissions: DDL needs the permission its page names (package catalog's
// Statements), not sysadmin alone.
func TestStatementPermissions(t *testing.T) {
	in, c := openSim(t, nil)
	ctx := context.Background()
	if _, err := c.DB.ExecContext(ctx, "CREATE LOGIN ops WITH PASSWORD = N'0ps-Passw0rd!'; USE SalesDB; CREATE USER ops FOR LOGIN ops; USE master;"); err != nil {
		t.Fatal(err)
	}
	oc, err := sqlops.Open(ctx, sqlops.ConnConfig{Role: "ops", Host: in.Host(), Port: in.Port(), User: "ops", Password: "0ps-Passw0rd!", TrustServerCertificate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer oc.Close()
	const ep = "CREATE ENDPOINT E1 STATE = STOPPED AS TCP (LISTENER_PORT = 5023) FOR DATABASE_MIRRORING (ROLE = ALL)"
	_, err = oc.DB.ExecContext(ctx, ep)
	wantErr(t, err, 15247)
	_, err = oc.DB.ExecContext(ctx, "BACKUP DATABASE SalesDB TO DISK = N'x.bak'")
	wantErr(t, err, 262)
	if _, err := c.DB.ExecContext(ctx, "GRANT CREATE ENDPOINT TO ops; USE SalesDB; ALTER ROLE db_backupoperator ADD MEMBER ops; USE master;"); err != nil {
		t.Fatal(err)
	}
	if _, err := oc.DB.ExecContext(ctx, ep); err != nil {
		t.Errorf("CREATE ENDPOINT with the permission: %v", err)
	}
	if _, err := oc.DB.ExecContext(ctx, "BACKUP DATABASE SalesDB TO DISK = N'x.bak'"); err != nil {
		t.Errorf("BACKUP as db_backupoperator: %v", err)
	}
}

// TestMIRefusesWhatItDoesNotSupport: a managed instance has no mirroring endpoints of
// its own making, no recovery model choice and only COPY_ONLY backups to URL.
func TestMIRefusesWhatItDoesNotSupport(t *testing.T) {
	mi, err := FindPersonality("", "", true)
	if err != nil {
		t.Fatal(err)
	}
	_, c := openPersonality(t, mi, nil)
	ctx := context.Background()
	if _, err := c.DB.ExecContext(ctx, "CREATE DATABASE Shop"); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"CREATE ENDPOINT E STATE = STARTED AS TCP (LISTENER_PORT = 5023) FOR DATABASE_MIRRORING (ROLE = ALL)",
		"ALTER DATABASE Shop SET RECOVERY SIMPLE",
		"BACKUP DATABASE Shop TO DISK = N'x.bak' WITH COPY_ONLY",
		"BACKUP DATABASE Shop TO URL = N'https://acct.blob.core.windows.net/c/x.bak'",
		"BACKUP LOG Shop TO URL = N'https://acct.blob.core.windows.net/c/x.trn' WITH COPY_ONLY",
	} {
		_, err := c.DB.ExecContext(ctx, q)
		wantErr(t, err, 40517)
	}
	if _, err := c.DB.ExecContext(ctx, "BACKUP DATABASE Shop TO URL = N'https://acct.blob.core.windows.net/c/x.bak' WITH COPY_ONLY"); err != nil {
		t.Errorf("COPY_ONLY backup to URL: %v", err)
	}
}

// TestSecurityAndSessionViews reads the views a DBA uses to see who may do what and
// who holds what: they follow the T-SQL that changed the state.
func TestSecurityAndSessionViews(t *testing.T) {
	_, c := openSim(t, nil)
	ctx := context.Background()
	conn, err := c.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{
		"CREATE LOGIN dba2 WITH PASSWORD = N'Dba2-Passw0rd!'; ALTER SERVER ROLE sysadmin ADD MEMBER dba2; GRANT VIEW SERVER STATE TO dba2;",
		"CREATE PROCEDURE dbo.Noop AS RETURN 0",
		"BEGIN TRAN; EXEC sp_getapplock @Resource = N'milink', @LockMode = 'Exclusive';",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	cases := map[string]string{
		"SELECT m.name FROM sys.server_role_members rm JOIN sys.server_principals r ON r.principal_id = rm.role_principal_id JOIN sys.server_principals m ON m.principal_id = rm.member_principal_id WHERE r.name = N'sysadmin' AND m.name = N'dba2'": "dba2",
		"SELECT p.permission_name FROM sys.server_permissions p JOIN sys.server_principals l ON l.principal_id = p.grantee_principal_id WHERE l.name = N'dba2' AND p.permission_name <> N'CONNECT SQL'":                                               "VIEW SERVER STATE",
		"SELECT CASE WHEN m.definition LIKE N'CREATE PROCEDURE dbo.Noop%' THEN N'ok' ELSE m.definition END FROM sys.sql_modules m WHERE m.object_id = OBJECT_ID(N'dbo.Noop')":                                                                         "ok",
		"SELECT request_mode + N' ' + request_owner_type FROM sys.dm_tran_locks WHERE resource_type = N'APPLICATION' AND request_session_id = @@SPID":                                                                                                 "X TRANSACTION",
		"SELECT login_name FROM sys.dm_exec_sessions WHERE session_id = @@SPID": "sa",
		"SELECT name FROM msdb.dbo.syscategories WHERE category_id = 0":         "[Uncategorized (Local)]",
	}
	for q, want := range cases {
		if got := queryString(t, conn, q); got != want {
			t.Errorf("%s = %q, want %q", q, got, want)
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if got := queryString(t, conn, "SELECT CAST(COUNT(*) AS nvarchar(5)) FROM sys.dm_tran_locks WHERE resource_type = N'APPLICATION'"); got != "0" {
		t.Errorf("transaction lock after COMMIT: %s rows", got)
	}
	_, err = conn.ExecContext(ctx, "EXEC msdb.dbo.sp_add_job @job_name = N'C', @category_name = N'No such category'")
	wantErr(t, err, 14262)
}

// TestJobCategories: a DBA's (or milink's) own job category is added with
// msdb.dbo.sp_add_category, shows in syscategories, and a job added to it carries its
// category_id in sysjobs; a duplicate name gives 14261 and a non-sysadmin 229.
func TestJobCategories(t *testing.T) {
	in, c := openSim(t, nil)
	ctx := context.Background()
	if _, err := c.DB.ExecContext(ctx, `EXEC msdb.dbo.sp_add_category @class = N'JOB', @type = N'LOCAL', @name = N'Link checks';
EXEC msdb.dbo.sp_add_job @job_name = N'Checked', @category_name = N'Link checks';`); err != nil {
		t.Fatal(err)
	}
	got := queryString(t, c.DB, `SELECT c.name + N' ' + CAST(c.category_id AS nvarchar(10)) FROM msdb.dbo.sysjobs j
JOIN msdb.dbo.syscategories c ON c.category_id = j.category_id WHERE j.name = N'Checked'`)
	if got != "Link checks 100" {
		t.Errorf("job's category = %q, want the new category numbered from 100", got)
	}
	if got := queryString(t, c.DB, "SELECT CAST(category_id AS nvarchar(10)) FROM msdb.dbo.sysjobs WHERE name = N'Checked'"); got == "0" {
		t.Error("the job stayed uncategorized")
	}
	_, err := c.DB.ExecContext(ctx, "EXEC msdb.dbo.sp_add_category @name = N'link checks'")
	wantErr(t, err, 14261)
	if _, err := c.DB.ExecContext(ctx, "CREATE LOGIN op WITH PASSWORD = N'Op-Passw0rd!'"); err != nil {
		t.Fatal(err)
	}
	op, err := sqlops.Open(ctx, sqlops.ConnConfig{Role: "op", Host: in.Host(), Port: in.Port(), User: "op", Password: "Op-Passw0rd!", TrustServerCertificate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	_, err = op.DB.ExecContext(ctx, "EXEC msdb.dbo.sp_add_category @name = N'Mine'")
	wantErr(t, err, 229)
}
