package steps_test

import (
	"strings"
	"testing"

	"github.com/milink/milink/steps"
)

// A full backup taken before a switch to SIMPLE and back to FULL does not start a log
// chain: sys.database_recovery_status.last_log_backup_lsn stays NULL until the next
// full backup (sys-database-recovery-status-transact-sql), so the database is not
// backed up for the link, whatever msdb.dbo.backupset says.
func TestRecoverySwitchBreaksLogChain(t *testing.T) {
	_, cfg := startCustom(t, nil, nil)
	if f := preFinding(prerequisites(t, cfg, cfg.SQLServer), "database:SalesDB"); f == nil || f.Severity != steps.Pass {
		t.Fatalf("SalesDB before the switch: %+v", f)
	}
	dba(t, cfg, "ALTER DATABASE SalesDB SET RECOVERY SIMPLE", "ALTER DATABASE SalesDB SET RECOVERY FULL")
	pre := prerequisites(t, cfg, cfg.SQLServer)
	if f := preFinding(pre, "database:SalesDB"); f != nil {
		t.Errorf("SalesDB passes with a broken log chain: %+v", f)
	}
	f := preFinding(pre, "database:SalesDB:backup")
	if f == nil || f.Severity != steps.Fail || !strings.Contains(f.Title, "log chain") ||
		!strings.Contains(f.Detail, "last_log_backup_lsn is NULL") || len(f.Fixes) == 0 || !strings.HasPrefix(f.Fixes[0].Command, "BACKUP DATABASE [SalesDB]") {
		t.Fatalf("broken log chain finding: %+v", f)
	}
	// A COPY_ONLY backup starts no chain.
	dba(t, cfg, "BACKUP DATABASE SalesDB TO DISK = N'SalesDB_copy.bak' WITH COPY_ONLY")
	if f := preFinding(prerequisites(t, cfg, cfg.SQLServer), "database:SalesDB:backup"); f == nil || f.Severity != steps.Fail {
		t.Errorf("after a COPY_ONLY backup: %+v", f)
	}
	dba(t, cfg, "BACKUP DATABASE SalesDB TO DISK = N'SalesDB.bak'")
	pre = prerequisites(t, cfg, cfg.SQLServer)
	if f := preFinding(pre, "database:SalesDB:backup"); f != nil {
		t.Errorf("after a new full backup: %+v", f)
	}
	if f := preFinding(pre, "database:SalesDB"); f == nil || f.Severity != steps.Pass {
		t.Errorf("SalesDB after a new full backup: %+v", f)
	}
}
