package sqlsim

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestPreparationStatements runs the statements of "Prepare your environment for a
// link" through sqlops and reads their effect back from the catalog: the master key
// (Msg 15578 when one exists), the recovery model, a full backup to a writable
// directory only (Msg 3201 otherwise), xp_fileexist on directories, trace flags and
// 'Agent XPs' behind 'show advanced options' (Msg 15123).
func TestPreparationStatements(t *testing.T) {
	_, c := openSim(t, func(o *Options) {
		o.MasterKey, o.TraceFlags, o.AgentXPs = false, nil, false
		o.Databases = append(o.Databases, Database{Name: "Shop", RecoveryModel: "SIMPLE", LogFiles: 1})
		o.Directories = map[string]bool{`D:\Backup`: true, `D:\Locked`: false}
	})
	ctx := context.Background()
	if err := c.CreateMasterKey(ctx, "It's-a-Passw0rd"); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.HasMasterKey(ctx); err != nil || !ok {
		t.Errorf("master key after CreateMasterKey: %v %v", ok, err)
	}
	wantErr(t, c.CreateMasterKey(ctx, "Another-Passw0rd"), 15578)

	if err := c.SetRecoveryFull(ctx, "Shop"); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string][3]bool{
		`D:\Backup`:          {false, true, false},
		`D:\Nowhere`:         {false, false, false},
		`D:\Backup\Shop.bak`: {false, false, true},
	} {
		st, err := c.FileExists(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if got := [3]bool{st.Exists, st.IsDirectory, st.ParentExists}; got != want {
			t.Errorf("xp_fileexist %s: %v, want %v", path, got, want)
		}
	}
	err := c.BackupDatabase(ctx, "Shop", `D:\Locked\Shop.bak`)
	wantErr(t, err, 3013)
	if err == nil || !strings.Contains(err.Error(), "Operating system error 5(Access is denied.)") {
		t.Errorf("a backup to a read-only directory: %v", err)
	}
	err = c.BackupDatabase(ctx, "Shop", `E:\Missing\Shop.bak`)
	if !strings.Contains(fmt.Sprint(err), "Operating system error 3(The system cannot find the path specified.)") {
		t.Errorf("a backup to a missing directory: %v", err)
	}
	dbs, _ := c.Databases(ctx)
	for _, d := range dbs {
		if d.Name == "Shop" && (d.RecoveryModel != "FULL" || d.LastFullBackup != nil) {
			t.Errorf("Shop before its backup: %+v", d)
		}
	}
	if err := c.BackupDatabase(ctx, "Shop", `D:\Backup\Shop.bak`); err != nil {
		t.Fatal(err)
	}
	if st, _ := c.FileExists(ctx, `D:\Backup\Shop.bak`); !st.Exists {
		t.Error("xp_fileexist does not see the backup file")
	}
	dbs, _ = c.Databases(ctx)
	for _, d := range dbs {
		if d.Name == "Shop" && d.LastFullBackup == nil {
			t.Error("the full backup is not in msdb.dbo.backupset for this incarnation")
		}
	}

	for _, f := range []int{1800, 9567} {
		if err := c.TraceOn(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	flags, _ := c.TraceFlags(ctx)
	if len(flags) != 2 {
		t.Errorf("DBCC TRACESTATUS after TRACEON: %+v", flags)
	}

	_, err = c.DB.ExecContext(ctx, "EXEC sp_configure 'Agent XPs', 1")
	wantErr(t, err, 15123) // an advanced option, hidden
	// 'allow updates' = 1 makes RECONFIGURE fail (Msg 5808) until it is 0 again.
	if _, err := c.DB.ExecContext(ctx, "EXEC sp_configure 'allow updates', 1; RECONFIGURE WITH OVERRIDE;"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, c.EnableAgentXPs(ctx, false), 5808)
	if adv, _ := c.AdvancedOptionsShown(ctx); adv {
		t.Error("a RECONFIGURE that failed with 5808 installed 'show advanced options'")
	}
	// The configured 'show advanced options' 1 is installed by the next RECONFIGURE.
	if _, err := c.DB.ExecContext(ctx, "EXEC sp_configure 'allow updates', 0; EXEC sp_configure 'show advanced options', 0; RECONFIGURE;"); err != nil {
		t.Fatal(err)
	}
	adv, err := c.AdvancedOptionsShown(ctx)
	if err != nil || adv {
		t.Fatalf("show advanced options: %v %v", adv, err)
	}
	if err := c.EnableAgentXPs(ctx, adv); err != nil {
		t.Fatal(err)
	}
	ag, _ := c.Agent(ctx)
	if adv, _ := c.AdvancedOptionsShown(ctx); !ag.AgentXPs || adv {
		t.Errorf("after EnableAgentXPs: Agent XPs %v, show advanced options %v", ag.AgentXPs, adv)
	}
}
