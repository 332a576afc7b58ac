package sqlsim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// addLoginLocked creates a SQL login with a fresh SID.
func (in *Instance) addLoginLocked(name, password string) *loginState {
	id := 256
	for _, l := range in.logins {
		id = max(id, l.id+1)
	}
	sid := make([]byte, 16)
	_, _ = rand.Read(sid)
	if strings.EqualFold(name, "sa") {
		sid, id = []byte{1}, 1
	}
	l := &loginState{id: id, name: name, password: password, sid: sid, created: time.Now().UTC()}
	in.logins = append(in.logins, l)
	return l
}

// quoteName is QUOTENAME for identifiers and quoteString a N'…' literal, for the
// start-up script only (it runs values the test or demo author chose).
func quoteName(s string) string   { return "[" + strings.ReplaceAll(s, "]", "]]") + "]" }
func quoteString(s string) string { return "N'" + strings.ReplaceAll(s, "'", "''") + "'" }

func randomPassword() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "Aa1!" + hex.EncodeToString(b)
}

// bootstrap creates the system databases and the sa login, then applies Options the
// way a DBA would: with T-SQL run through the evaluator (logins and role members,
// databases and their recovery model, trace flags, the master key, 'Agent XPs',
// certificates, FILESTREAM filegroups and files, TDE). Facts T-SQL cannot set — a
// database's extra log files, a TDE scan in progress, the date of an earlier full
// backup — are then written into the state.
func (in *Instance) bootstrap() error {
	o := in.opts
	in.mu.Lock()
	for i, n := range []string{"master", "tempdb", "model", "msdb"} {
		in.newDatabaseLocked(n, i+1)
	}
	sa := in.addLoginLocked("sa", "")
	in.serverRoles["sysadmin"] = []string{sa.name}
	in.mu.Unlock()

	var b strings.Builder
	line := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	for _, l := range o.Logins {
		if l.Windows {
			in.mu.Lock()
			wl := in.addLoginLocked(l.Name, l.Password)
			wl.windows = true
			in.mu.Unlock()
		} else if strings.EqualFold(l.Name, "sa") {
			in.mu.Lock()
			sa.password = l.Password
			in.mu.Unlock()
		} else {
			line("CREATE LOGIN %s WITH PASSWORD = %s;", quoteName(l.Name), quoteString(l.Password))
		}
		if l.Sysadmin && !strings.EqualFold(l.Name, "sa") {
			line("ALTER SERVER ROLE sysadmin ADD MEMBER %s;", quoteName(l.Name))
		}
		if l.AgentOperator {
			line("USE msdb; CREATE USER %s FOR LOGIN %s; ALTER ROLE SQLAgentOperatorRole ADD MEMBER %s; USE master;", quoteName(l.Name), quoteName(l.Name), quoteName(l.Name))
		}
	}
	for _, d := range o.Databases {
		rm := d.RecoveryModel
		if rm == "" {
			rm = "FULL"
		}
		line("CREATE DATABASE %s;", quoteName(d.Name))
		if !in.pers.MI { // a managed instance's databases are always FULL
			line("ALTER DATABASE %s SET RECOVERY %s;", quoteName(d.Name), strings.ToUpper(rm))
		}
		if d.FilestreamFiles > 0 {
			line("ALTER DATABASE %s ADD FILEGROUP [FILESTREAM] CONTAINS FILESTREAM;", quoteName(d.Name))
			for i := 1; i <= d.FilestreamFiles; i++ {
				fs := fmt.Sprintf("%s_fs%d", d.Name, i)
				line("ALTER DATABASE %s ADD FILE (NAME = %s, FILENAME = %s) TO FILEGROUP [FILESTREAM];", quoteName(d.Name), quoteName(fs), quoteString(in.dataPath(fs)))
			}
		}
	}
	for _, f := range o.TraceFlags {
		line("DBCC TRACEON(%d, -1) WITH NO_INFOMSGS;", f)
	}
	if o.MasterKey {
		line("CREATE MASTER KEY ENCRYPTION BY PASSWORD = %s;", quoteString(randomPassword()))
	}
	if o.AgentXPs {
		line("EXEC sp_configure 'show advanced options', 1; RECONFIGURE; EXEC sp_configure 'Agent XPs', 1; RECONFIGURE; EXEC sp_configure 'show advanced options', 0; RECONFIGURE;")
	}
	for _, c := range o.Certificates {
		enc := ""
		if !o.MasterKey {
			enc = " ENCRYPTION BY PASSWORD = " + quoteString(randomPassword())
		}
		line("CREATE CERTIFICATE %s%s WITH SUBJECT = %s;", quoteName(c.Name), enc, quoteString(c.Subject))
	}
	for _, e := range o.Endpoints {
		endpointSQL(&b, e, o.MasterKey)
	}
	for _, d := range o.Databases {
		if d.EncryptionState < 1 || in.pers.MI {
			continue
		}
		// TDE as the DBA sets it up (transparent-data-encryption, "Enable TDE"): a
		// server certificate in master, the database encryption key, ENCRYPTION ON.
		enc := ""
		if !o.MasterKey {
			enc = " ENCRYPTION BY PASSWORD = " + quoteString(randomPassword())
		}
		line("CREATE CERTIFICATE %s%s WITH SUBJECT = %s;", quoteName("TDE_"+d.Name), enc, quoteString("TDE certificate for "+d.Name))
		line("USE %s; CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE %s; USE master;", quoteName(d.Name), quoteName("TDE_"+d.Name))
		if d.EncryptionState >= 2 {
			line("ALTER DATABASE %s SET ENCRYPTION ON;", quoteName(d.Name))
		}
	}
	for _, j := range o.Jobs {
		// A user's job: one T-SQL step, targeted at the local server, owned by sa.
		if j.Category != "" {
			line("IF NOT EXISTS (SELECT 1 FROM msdb.dbo.syscategories WHERE category_class = 1 AND name = %s) EXEC msdb.dbo.sp_add_category @class = N'JOB', @type = N'LOCAL', @name = %s;", quoteString(j.Category), quoteString(j.Category))
			line("EXEC msdb.dbo.sp_add_job @job_name = %s, @description = %s, @owner_login_name = N'sa', @category_name = %s;", quoteString(j.Name), quoteString(j.Description), quoteString(j.Category))
		} else {
			line("EXEC msdb.dbo.sp_add_job @job_name = %s, @description = %s, @owner_login_name = N'sa';", quoteString(j.Name), quoteString(j.Description))
		}
		line("EXEC msdb.dbo.sp_add_jobstep @job_name = %s, @step_name = N'Step 1', @subsystem = N'TSQL', @command = N'SELECT 1', @database_name = N'master';", quoteString(j.Name))
		line("EXEC msdb.dbo.sp_add_jobserver @job_name = %s;", quoteString(j.Name))
	}
	if err := in.runScript(b.String()); err != nil {
		return err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, spec := range o.Databases {
		d := in.dbByNameLocked(spec.Name)
		d.logFiles = max(spec.LogFiles, 1)
		if in.pers.MI || spec.EncryptionState != 1 && spec.EncryptionState != 3 {
			d.encryptionState = spec.EncryptionState // states T-SQL cannot hold still (2, 4, 5, 6): the scan is instantaneous here
		}
		if spec.LastFullBackup != nil {
			in.nextBackup++
			in.backups = append(in.backups, &backupRow{id: in.nextBackup, database: d.name, dbGUID: d.guid, dbCreated: d.created, typ: "D",
				start: spec.LastFullBackup.Add(-time.Minute), finish: *spec.LastFullBackup, device: in.dataPath(d.name + ".bak")})
			in.advanceLogChainLocked(d, false, false)
		}
	}
	return nil
}

// runScript runs T-SQL as sa and fails on the first error.
func (in *Instance) runScript(sql string) error {
	if strings.TrimSpace(sql) == "" {
		return nil
	}
	rec := &recorder{}
	s := &session{in: in, loginName: "sa", db: "master", spid: 1, traceFlags: map[int]bool{}}
	s.runBatch(context.Background(), sql, rec, nil)
	if len(rec.errs) > 0 {
		e := rec.errs[0]
		return fmt.Errorf("sqlsim: start-up script: Msg %d: %s", e.Number, e.Message)
	}
	return nil
}

// endpointSQL writes the CREATE CERTIFICATE (when the endpoint's certificate does not
// exist yet) and CREATE ENDPOINT a DBA would have run for e.
func endpointSQL(b *strings.Builder, e EndpointSpec, masterKey bool) {
	typ, state := strings.ToUpper(e.Type), strings.ToUpper(e.State)
	if typ == "" {
		typ = "DATABASE_MIRRORING"
	}
	if state == "" {
		state = "STARTED"
	}
	if typ != "DATABASE_MIRRORING" {
		fmt.Fprintf(b, "CREATE ENDPOINT %s STATE = %s AS TCP (LISTENER_PORT = %d) FOR %s ();\n", quoteName(e.Name), state, e.Port, typ)
		return
	}
	auth := strings.ToUpper(e.Auth)
	if auth == "" {
		auth = "CERTIFICATE"
	}
	if e.CertName != "" {
		enc := ""
		if !masterKey {
			enc = " ENCRYPTION BY PASSWORD = " + quoteString(randomPassword())
		}
		fmt.Fprintf(b, "IF NOT EXISTS (SELECT 1 FROM master.sys.certificates WHERE name = %s) CREATE CERTIFICATE %s%s WITH SUBJECT = %s;\n",
			quoteString(e.CertName), quoteName(e.CertName), enc, quoteString("Certificate for "+e.Name))
	}
	if auth == "CERTIFICATE" {
		auth = "CERTIFICATE " + quoteName(e.CertName)
	}
	encryption := "REQUIRED ALGORITHM AES"
	switch strings.ToUpper(e.Encryption) {
	case "NONE":
		encryption = "DISABLED"
	case "RC4":
		encryption = "REQUIRED ALGORITHM RC4"
	}
	role := strings.ToUpper(e.Role)
	if role == "" {
		role = "ALL"
	}
	fmt.Fprintf(b, "CREATE ENDPOINT %s STATE = %s AS TCP (LISTENER_PORT = %d, LISTENER_IP = ALL) FOR DATABASE_MIRRORING (ROLE = %s, AUTHENTICATION = %s, ENCRYPTION = %s);\n",
		quoteName(e.Name), state, e.Port, role, auth, encryption)
}
