package sqlsim

import (
	"bytes"
	"context"
	"testing"

	"github.com/milink/milink/sqlops"
)

// openExec starts an instance and returns its connection and a function that runs a
// batch on it as a DBA would, failing the test on an error.
func openExec(t *testing.T) (*sqlops.Conn, func(string)) {
	t.Helper()
	_, c := openSim(t, nil)
	return c, func(q string) {
		t.Helper()
		if _, err := c.DB.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestFilegroupsAndContainers: a DBA adds a FILESTREAM and a memory-optimized
// filegroup with ALTER DATABASE … ADD FILEGROUP … CONTAINS and a container to each with
// ADD FILE … TO FILEGROUP; sys.filegroups (per database) shows FD and FX, and
// sys.master_files shows both containers as type 2 with their filegroup's
// data_space_id (alter-database-transact-sql-file-and-filegroup-options,
// sys-filegroups-transact-sql, sys-master-files-transact-sql).
func TestFilegroupsAndContainers(t *testing.T) {
	c, exec := openExec(t)
	ctx := context.Background()
	exec("CREATE DATABASE Docs")
	exec("ALTER DATABASE Docs ADD FILEGROUP DocsFS CONTAINS FILESTREAM")
	exec("ALTER DATABASE Docs ADD FILE (NAME = Docs_fs, FILENAME = N'/var/opt/mssql/data/Docs_fs') TO FILEGROUP DocsFS")
	exec("ALTER DATABASE Docs ADD FILEGROUP Docs_mod CONTAINS MEMORY_OPTIMIZED_DATA")
	exec("ALTER DATABASE Docs ADD FILE (NAME = 'Docs_mod1', FILENAME = N'/var/opt/mssql/data/Docs_mod1', MAXSIZE = UNLIMITED), (NAME = Docs_mod2, FILENAME = N'/var/opt/mssql/data/Docs_mod2') TO FILEGROUP [Docs_mod]")
	exec("ALTER DATABASE Docs ADD FILE (NAME = Docs_data2, FILENAME = N'/var/opt/mssql/data/Docs_data2.ndf', SIZE = 8MB)")

	rows, err := c.DB.QueryContext(ctx, `SELECT fg.name, fg.type, fg.type_desc, COUNT(f.file_id) AS files
FROM Docs.sys.filegroups fg
LEFT JOIN sys.master_files f ON f.data_space_id = fg.data_space_id AND f.database_id = DB_ID(N'Docs') AND f.type = 2
GROUP BY fg.name, fg.type, fg.type_desc ORDER BY fg.name`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for rows.Next() {
		var name, typ, desc string
		var n int
		if err := rows.Scan(&name, &typ, &desc, &n); err != nil {
			t.Fatal(err)
		}
		got[name] = typ + " " + desc + " " + string(rune('0'+n))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"PRIMARY": "FG ROWS_FILEGROUP 0", "DocsFS": "FD FILESTREAM_DATA_FILEGROUP 1", "Docs_mod": "FX MEMORY_OPTIMIZED_DATA_FILEGROUP 2"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("filegroup %s: %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	var rowsFiles, type2 int
	if err := c.DB.QueryRowContext(ctx, "SELECT SUM(CASE WHEN type = 0 THEN 1 ELSE 0 END), SUM(CASE WHEN type = 2 THEN 1 ELSE 0 END) FROM sys.master_files WHERE database_id = DB_ID(N'Docs')").Scan(&rowsFiles, &type2); err != nil {
		t.Fatal(err)
	}
	if rowsFiles != 2 || type2 != 3 {
		t.Errorf("Docs files: %d rows, %d FILESTREAM-type; want 2 and 3", rowsFiles, type2)
	}
	// master has only PRIMARY: sys.filegroups is per database.
	var n int
	if err := c.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM master.sys.filegroups").Scan(&n); err != nil || n != 1 {
		t.Errorf("master.sys.filegroups: %d %v", n, err)
	}

	// A logical file name is taken (Msg 1828); one memory-optimized filegroup per
	// database (refused by the simulator).
	for q, num := range map[string]int32{
		"ALTER DATABASE Docs ADD FILE (NAME = Docs_fs, FILENAME = N'/var/opt/mssql/data/Docs_fs2') TO FILEGROUP DocsFS": 1828,
		"ALTER DATABASE Docs ADD FILEGROUP Other_mod CONTAINS MEMORY_OPTIMIZED_DATA":                                    50000,
	} {
		_, err := c.DB.ExecContext(ctx, q)
		wantErr(t, err, num)
	}
}

// TestTDEWithTSQL: CREATE DATABASE ENCRYPTION KEY … ENCRYPTION BY SERVER CERTIFICATE in
// the database, then ALTER DATABASE … SET ENCRYPTION ON: sys.dm_database_encryption_keys
// shows encryption_state 3 and the certificate's SHA-1 thumbprint as
// encryptor_thumbprint, which joins to master.sys.certificates.thumbprint as in
// Microsoft's TDE certificate migration page (create-database-encryption-key-transact-sql,
// sys-dm-database-encryption-keys-transact-sql, tde-certificate-migrate).
func TestTDEWithTSQL(t *testing.T) {
	c, exec := openExec(t)
	ctx := context.Background()
	exec("CREATE DATABASE Vault")
	_, err := c.DB.ExecContext(ctx, "ALTER DATABASE Vault SET ENCRYPTION ON")
	wantErr(t, err, 33106)
	_, err = c.DB.ExecContext(ctx, "USE Vault; CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE NoSuchCert;")
	wantErr(t, err, 15151)
	exec("USE master; CREATE CERTIFICATE TDE_Cert WITH SUBJECT = N'TDE certificate';")
	exec("USE Vault; CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE TDE_Cert;")
	_, err = c.DB.ExecContext(ctx, "USE Vault; CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE TDE_Cert;")
	wantErr(t, err, 33103)
	var state int
	if err := c.DB.QueryRowContext(ctx, "SELECT encryption_state FROM sys.dm_database_encryption_keys WHERE database_id = DB_ID(N'Vault')").Scan(&state); err != nil || state != 1 {
		t.Errorf("state after CREATE DATABASE ENCRYPTION KEY: %d %v, want 1", state, err)
	}
	exec("ALTER DATABASE Vault SET ENCRYPTION ON")
	_, err = c.DB.ExecContext(ctx, "ALTER DATABASE Vault SET ENCRYPTION ON")
	wantErr(t, err, 33107)

	var db, cert string
	var keyThumb, certThumb []byte
	err = c.DB.QueryRowContext(ctx, `USE master;
SELECT db.name, cer.name, dek.encryptor_thumbprint, cer.thumbprint
FROM sys.dm_database_encryption_keys dek
LEFT JOIN sys.certificates cer ON dek.encryptor_thumbprint = cer.thumbprint
INNER JOIN sys.databases db ON dek.database_id = db.database_id
WHERE dek.encryption_state = 3`).Scan(&db, &cert, &keyThumb, &certThumb)
	if err != nil {
		t.Fatal(err)
	}
	if db != "Vault" || cert != "TDE_Cert" || len(certThumb) != 20 || !bytes.Equal(keyThumb, certThumb) {
		t.Errorf("TDE: %s %s key %x cert %x", db, cert, keyThumb, certThumb)
	}
	var encrypted bool
	if err := c.DB.QueryRowContext(ctx, "SELECT is_encrypted FROM sys.databases WHERE name = N'Vault'").Scan(&encrypted); err != nil || !encrypted {
		t.Errorf("sys.databases.is_encrypted: %v %v", encrypted, err)
	}
	_, err = c.DB.ExecContext(ctx, "USE master; CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE TDE_Cert;")
	wantErr(t, err, 33102)
}

// TestOptionsSetFilestreamAndTDEWithTSQL: Options' FilestreamFiles and EncryptionState
// are applied with the same T-SQL (a FILESTREAM filegroup and its containers; a
// certificate, the database encryption key, ENCRYPTION ON), so milink's queries find
// an FD filegroup and the certificate by thumbprint.
func TestOptionsSetFilestreamAndTDEWithTSQL(t *testing.T) {
	_, c := openSim(t, func(o *Options) {
		o.Databases = append(o.Databases, Database{Name: "Archive", FilestreamFiles: 2, EncryptionState: 3}, Database{Name: "Scanning", EncryptionState: 2})
	})
	dbs, err := c.Databases(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, d := range dbs {
		switch d.Name {
		case "Archive":
			found++
			if d.FilestreamFiles != 2 || d.MemoryOptimizedFiles != 0 || d.EncryptionState != 3 || d.TDECertificate != "TDE_Archive" || len(d.TDEThumbprint) != 20 {
				t.Errorf("Archive: %+v", d)
			}
		case "Scanning": // encryption in progress, with its key and certificate
			found++
			if d.EncryptionState != 2 || d.TDECertificate != "TDE_Scanning" {
				t.Errorf("Scanning: %+v", d)
			}
		}
	}
	if found != 2 {
		t.Errorf("Archive and Scanning not both in %+v", dbs)
	}
}
