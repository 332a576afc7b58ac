package sqlsim

import (
	"context"
	"testing"

	"github.com/milink/milink/sqlops"
)

// TestLogChain follows sys.database_recovery_status.last_log_backup_lsn: NULL "because
// either the database is in SIMPLE recovery or there is no current database backup"
// (sys-database-recovery-status-transact-sql); after switching from SIMPLE to FULL, "take
// a full or differential database backup to start the log chain"
// (view-or-change-the-recovery-model-of-a-database-sql-server). BACKUP LOG needs the
// chain (Msg 4214), WITH DIFFERENTIAL a base full backup (Msg 3035).
func TestLogChain(t *testing.T) {
	_, c := openSim(t, nil)
	ctx := context.Background()
	lsn := func() string {
		t.Helper()
		return queryString(t, c.DB, "SELECT CAST(last_log_backup_lsn AS nvarchar(40)) FROM sys.database_recovery_status WHERE database_id = DB_ID(N'Fresh')")
	}
	exec := func(q string) error {
		_, err := c.DB.ExecContext(ctx, q)
		return err
	}
	must := func(q string) {
		t.Helper()
		if err := exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	must("CREATE DATABASE Fresh")
	if got := lsn(); got != "NULL" {
		t.Errorf("a new database without a backup: last_log_backup_lsn %s", got)
	}
	wantErr(t, exec("BACKUP LOG Fresh TO DISK = N'Fresh.trn'"), 4214)
	wantErr(t, exec("BACKUP DATABASE Fresh TO DISK = N'Fresh_d.bak' WITH DIFFERENTIAL"), 3035)
	must("BACKUP DATABASE Fresh TO DISK = N'Fresh.bak'")
	first := lsn()
	if first == "NULL" {
		t.Fatal("a full backup in FULL recovery started no log chain")
	}
	must("BACKUP LOG Fresh TO DISK = N'Fresh.trn'")
	if got := lsn(); got == first || got == "NULL" {
		t.Errorf("a log backup did not advance last_log_backup_lsn: %s then %s", first, got)
	}
	must("ALTER DATABASE Fresh SET RECOVERY SIMPLE")
	if got := lsn(); got != "NULL" {
		t.Errorf("in SIMPLE recovery: last_log_backup_lsn %s", got)
	}
	must("ALTER DATABASE Fresh SET RECOVERY FULL")
	if got := lsn(); got != "NULL" {
		t.Errorf("back in FULL before a backup: last_log_backup_lsn %s", got)
	}
	wantErr(t, exec("BACKUP LOG Fresh TO DISK = N'Fresh2.trn'"), 4214)
	must("BACKUP DATABASE Fresh TO DISK = N'Fresh_c.bak' WITH COPY_ONLY")
	if got := lsn(); got != "NULL" {
		t.Errorf("a COPY_ONLY backup started the chain: %s", got)
	}
	must("BACKUP DATABASE Fresh TO DISK = N'Fresh_d.bak' WITH DIFFERENTIAL")
	if got := lsn(); got == "NULL" {
		t.Error("a differential backup after the switch did not start the chain")
	}
	must("BACKUP LOG Fresh TO DISK = N'Fresh3.trn'")
	if got := queryString(t, c.DB, "SELECT CAST(COUNT(*) AS nvarchar(10)) FROM msdb.dbo.backupset WHERE database_name = N'Fresh' AND type = 'I'"); got != "1" {
		t.Errorf("differential backups in backupset: %s", got)
	}
}

// TestRecoveryStatusVisibility: the row of a database other than master or tempdb
// needs VIEW ANY DATABASE (public has it), ALTER ANY DATABASE, CREATE DATABASE in
// master or ownership.
func TestRecoveryStatusVisibility(t *testing.T) {
	in, c := openSim(t, nil)
	ctx := context.Background()
	for _, q := range []string{"CREATE LOGIN viewer WITH PASSWORD = N'Str0ng-Passw0rd!'", "CREATE LOGIN blind WITH PASSWORD = N'Str0ng-Passw0rd!'",
		"DENY VIEW ANY DATABASE TO blind"} {
		if _, err := c.DB.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	count := func(login string) string {
		t.Helper()
		lc, err := sqlops.Open(ctx, sqlops.ConnConfig{Role: login, Host: in.Host(), Port: in.Port(), User: login, Password: "Str0ng-Passw0rd!", TrustServerCertificate: true})
		if err != nil {
			t.Fatal(err)
		}
		defer lc.Close()
		return queryString(t, lc.DB, "SELECT CAST(COUNT(*) AS nvarchar(10)) FROM sys.database_recovery_status WHERE database_id = DB_ID(N'SalesDB')")
	}
	if got := count("viewer"); got != "1" {
		t.Errorf("a login with public's VIEW ANY DATABASE sees %s rows for SalesDB", got)
	}
	if got := count("blind"); got != "0" {
		t.Errorf("a login denied VIEW ANY DATABASE sees %s rows for SalesDB", got)
	}
}
