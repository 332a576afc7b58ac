package steps_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/steps"
)

// containerDB is what a DBA runs to create database name with a filegroup that
// CONTAINS contains (FILESTREAM or MEMORY_OPTIMIZED_DATA) and one container in it,
// after a full backup when backedUp.
func containerDB(name, contains string, backedUp bool) []string {
	out := []string{"CREATE DATABASE " + name}
	if backedUp {
		out = append(out, fmt.Sprintf("BACKUP DATABASE %[1]s TO DISK = N'%[1]s.bak'", name))
	}
	return append(out,
		fmt.Sprintf("ALTER DATABASE %[1]s ADD FILEGROUP %[1]s_fg CONTAINS %[2]s", name, contains),
		fmt.Sprintf("ALTER DATABASE %[1]s ADD FILE (NAME = %[1]s_c1, FILENAME = N'/var/opt/mssql/data/%[1]s_c1') TO FILEGROUP %[1]s_fg", name))
}

// Item 7: sys.master_files type 2 is FILESTREAM and In-Memory OLTP containers alike;
// the filegroup type tells them apart. A FILESTREAM database blocks the link; an
// In-Memory OLTP one links to a Business Critical managed instance
// (managed-instance-link-feature-overview, Limitations).
func TestInMemoryOLTPIsNotFilestream(t *testing.T) {
	_, cfg := startCustom(t, nil, nil)
	dba(t, cfg, containerDB("Hekaton", "MEMORY_OPTIMIZED_DATA", true)...)
	dba(t, cfg, containerDB("Docs", "FILESTREAM", true)...)
	pre := prerequisites(t, cfg, cfg.SQLServer)
	if f := preFinding(pre, "database:Hekaton:filestream"); f != nil {
		t.Errorf("In-Memory OLTP reported as FILESTREAM: %+v", f)
	}
	f := preFinding(pre, "database:Hekaton:inmemory")
	if f == nil || f.Severity != steps.Warn || !strings.Contains(f.Title, "Business Critical") {
		t.Errorf("In-Memory OLTP finding: %+v", f)
	}
	if f := preFinding(pre, "database:Hekaton"); f == nil || f.Severity != steps.Pass {
		t.Errorf("Hekaton is linkable (to Business Critical): %+v", f)
	}
	if f := preFinding(pre, "database:Docs:filestream"); f == nil || f.Severity != steps.Fail {
		t.Errorf("FILESTREAM finding: %+v", f)
	}
	if f := preFinding(pre, "database:Docs:inmemory"); f != nil {
		t.Errorf("FILESTREAM reported as In-Memory OLTP: %+v", f)
	}
}

// Item 7: a TDE-protected database names its certificate (encryptor_thumbprint →
// master.sys.certificates.thumbprint). An uploaded TDE certificate is not visible in
// the managed instance's sys.certificates (tde-certificate-migrate), so milink says it
// could not verify, and gives BACKUP CERTIFICATE … WITH PRIVATE KEY and the upload.
func TestTDECertificateToMigrate(t *testing.T) {
	// The DBA's TDE setup (transparent-data-encryption, "Enable TDE"), on a backed-up database.
	tde := append(containerDB("Vault", "", true)[:2],
		"USE master; CREATE CERTIFICATE TDE_Cert WITH SUBJECT = N'TDE certificate', START_DATE = '20240101';",
		"USE Vault; CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE TDE_Cert;",
		"ALTER DATABASE Vault SET ENCRYPTION ON")
	_, cfg := startCustom(t, func(o *sqlsim.Options) {
		// Encryption still in progress (encryption_state 2) needs the certificate too.
		o.Databases = append(o.Databases, sqlsim.Database{Name: "Scanning", EncryptionState: 2})
	}, nil)
	dba(t, cfg, tde...)
	ctx := context.Background()
	c, err := sqlops.Open(ctx, cfg.SQLServer)
	if err != nil {
		t.Fatal(err)
	}
	var thumb []byte
	err = c.DB.QueryRowContext(ctx, "SELECT thumbprint FROM master.sys.certificates WHERE name = N'TDE_Cert'").Scan(&thumb)
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	pre := prerequisites(t, cfg, cfg.SQLServer)
	f := preFinding(pre, "database:Vault:tde")
	if f == nil || f.Severity != steps.Warn {
		t.Fatalf("TDE finding: %+v", f)
	}
	if want := fmt.Sprintf("0x%X", thumb); !strings.Contains(f.Title, "TDE_Cert") || !strings.Contains(f.Title, want) {
		t.Errorf("TDE finding does not name the certificate and its thumbprint %s: %s", want, f.Title)
	}
	if !strings.Contains(f.Title+f.Detail, "could not verify") || !strings.Contains(f.Detail, "sys.certificates") {
		t.Errorf("TDE finding must say the managed instance side could not be verified: %s / %s", f.Title, f.Detail)
	}
	fixes := fixText(f.Fixes)
	for _, want := range []string{"BACKUP CERTIFICATE [TDE_Cert] TO FILE", "WITH PRIVATE KEY", "pvk2pfx", "Add-AzSqlManagedInstanceTransparentDataEncryptionCertificate"} {
		if !strings.Contains(fixes, want) {
			t.Errorf("TDE fixes lack %q:\n%s", want, fixes)
		}
	}
	if f := preFinding(pre, "database:Scanning:tde"); f == nil || !strings.Contains(f.Title, "TDE_Scanning") {
		t.Errorf("encryption in progress: %+v", f)
	}
	// A database without TDE has no TDE finding.
	if f := preFinding(pre, "database:SalesDB:tde"); f != nil {
		t.Errorf("SalesDB has no TDE: %+v", f)
	}
}

// Item 7: a login that cannot open the database (Msg 916) cannot read its
// sys.filegroups: milink says the type-2 files could be either, and how to tell.
func TestContainersOfAnUnreadableDatabase(t *testing.T) {
	_, cfg := startCustom(t, nil, nil)
	dba(t, cfg, containerDB("Hekaton", "MEMORY_OPTIMIZED_DATA", false)...)
	pre := prerequisitesAsChecker(t, cfg, "GRANT VIEW SERVER STATE TO checker;")
	f := preFinding(pre, "database:Hekaton:filestream")
	if f == nil || f.Severity != steps.Warn || !strings.Contains(f.Title, "In-Memory OLTP") || !strings.Contains(fixText(f.Fixes), "sys.filegroups") {
		t.Errorf("unreadable filegroups: %+v", f)
	}
}

// prerequisitesAsChecker creates login checker, not sysadmin, with SELECT on
// msdb.dbo.backupset and what grants gives it (T-SQL run in master, "" for nothing),
// and checks the prerequisites as that login.
func prerequisitesAsChecker(t *testing.T, cfg steps.Config, grants string) *steps.Prerequisites {
	t.Helper()
	dba(t, cfg, "CREATE LOGIN checker WITH PASSWORD = N'Ch3cker-Passw0rd!'; "+grants,
		"USE msdb; CREATE USER checker FOR LOGIN checker; GRANT SELECT ON dbo.backupset TO checker;")
	cc := cfg.SQLServer
	cc.User, cc.Password = "checker", "Ch3cker-Passw0rd!"
	return prerequisites(t, cfg, cc)
}
