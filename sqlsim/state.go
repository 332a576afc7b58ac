package sqlsim

import (
	"strings"
	"time"

	"github.com/milink/milink/sqlsim/tsql"
)

// loginState is a server principal (sys.server_principals): a SQL login.
type loginState struct {
	id       int
	name     string
	password string
	sid      []byte
	created  time.Time
	external bool // an Entra principal (token login)
	windows  bool // a Windows login (Kerberos/NTLM); password is the domain password
}

// dbUser is a database principal (sys.database_principals): a user or a role.
type dbUser struct {
	id    int
	name  string
	typ   string // "S" SQL user, "R" database role
	login string // the login a user maps to ("" for roles)
	sid   []byte
}

// dbState is a database (sys.databases) with the objects the simulator keeps per
// database: its principals, role members, permissions and user procedures.
type dbState struct {
	id       int
	name     string
	recovery string // FULL, SIMPLE, BULK_LOGGED
	state    string // ONLINE
	guid     [16]byte
	created  time.Time
	logFiles int
	// nextLogLSN is sys.database_recovery_status.last_log_backup_lsn, "the starting
	// log sequence number of the next log backup", 0 for NULL: no log chain, because
	// the database is in SIMPLE recovery or has no current database backup. Switching
	// to SIMPLE breaks the chain; after switching back to FULL or BULK_LOGGED a full
	// or differential database backup starts it again ("After switching from the
	// simple recovery model", https://learn.microsoft.com/sql/relational-databases/backup-restore/view-or-change-the-recovery-model-of-a-database-sql-server).
	nextLogLSN int64
	// filegroups are the database's filegroups besides PRIMARY (sys.filegroups), files
	// its files besides the primary data file and the log (sys.master_files).
	filegroups []*filegroup
	files      []*dbFile
	// dek is the database encryption key (CREATE DATABASE ENCRYPTION KEY), nil when
	// there is none; sys.dm_database_encryption_keys shows it.
	dek             *dbEncryptionKey
	encryptionState int
	users           []*dbUser
	roleMembers     [][2]int          // role id, member id
	grants          map[string]bool   // "EXECUTE|object|principal" → granted
	procs           map[string]*uproc // lower-case name → procedure
}

// filegroup is a row of sys.filegroups: type FG (rows), FD (FILESTREAM_DATA_FILEGROUP)
// or FX (MEMORY_OPTIMIZED_DATA_FILEGROUP)
// (https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-filegroups-transact-sql).
type filegroup struct {
	id   int // data_space_id
	name string
	typ  string
}

// typeDesc is the filegroup's type_desc.
func (g *filegroup) typeDesc() string {
	switch g.typ {
	case "FD":
		return "FILESTREAM_DATA_FILEGROUP"
	case "FX":
		return "MEMORY_OPTIMIZED_DATA_FILEGROUP"
	}
	return "ROWS_FILEGROUP"
}

// dbFile is a file added with ALTER DATABASE … ADD FILE, a row of sys.master_files:
// type 0 ROWS in a rows filegroup, type 2 FILESTREAM in a FILESTREAM or
// memory-optimized filegroup (sys.master_files: "2 = FILESTREAM"; the containers of
// a MEMORY_OPTIMIZED_DATA filegroup are FILESTREAM containers too).
type dbFile struct {
	name      string
	physical  string
	typ       int
	dataSpace int
}

// dbEncryptionKey is a database encryption key, protected by a server certificate in
// master (create-database-encryption-key-transact-sql).
type dbEncryptionKey struct {
	algorithm  string // AES_256, …
	thumbprint []byte // the protecting certificate's thumbprint (encryptor_thumbprint)
	created    time.Time
	set        time.Time // when ENCRYPTION ON was set (set_date)
}

// uproc is a user-defined stored procedure (CREATE PROCEDURE).
type uproc struct {
	id       int
	name     string
	schema   string
	def      *tsql.CreateProc
	source   string // the batch that created it (sys.sql_modules.definition)
	created  time.Time
	modified time.Time
}

// backupRow is a row of msdb.dbo.backupset.
type backupRow struct {
	id       int
	database string
	dbGUID   [16]byte
	// dbCreated is the backed-up database's creation date (backupset.database_creation_date,
	// "Date and time the database was originally created",
	// https://learn.microsoft.com/sql/relational-databases/system-tables/backupset-transact-sql).
	dbCreated time.Time
	typ       string // D full, L log, I differential
	copyOnly  bool
	start     time.Time
	finish    time.Time
	device    string
}

// configOption is a row of sys.configurations
// (https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-configurations-transact-sql).
type configOption struct {
	id       int
	name     string
	value    int64
	inUse    int64
	min, max int64
	advanced bool
	dynamic  bool
	desc     string
}

// defaultConfigurations are the options sp_configure knows here, with their
// documented ids and ranges (https://learn.microsoft.com/sql/database-engine/configure-windows/server-configuration-options-sql-server).
func defaultConfigurations() []*configOption {
	return []*configOption{
		{id: 518, name: "show advanced options", min: 0, max: 1, dynamic: true, desc: "show advanced options"},
		{id: 102, name: "allow updates", min: 0, max: 1, dynamic: true, desc: "Allow updates to system tables"},
		{id: 16384, name: "Agent XPs", min: 0, max: 1, advanced: true, dynamic: true, desc: "Enable or disable Agent XPs"},
		{id: 16388, name: "Ole Automation Procedures", min: 0, max: 1, advanced: true, dynamic: true, desc: "Enable or disable Ole Automation Procedures"},
		{id: 16390, name: "xp_cmdshell", min: 0, max: 1, advanced: true, dynamic: true, desc: "Enable or disable command shell"},
		{id: 1562, name: "clr enabled", min: 0, max: 1, dynamic: true, desc: "CLR user code execution enabled in the server"},
		{id: 1568, name: "default trace enabled", value: 1, inUse: 1, min: 0, max: 1, advanced: true, dynamic: true, desc: "Enable or disable the default trace"},
		{id: 1579, name: "backup compression default", min: 0, max: 1, dynamic: true, desc: "Enable compression of backups by default"},
		{id: 1576, name: "remote admin connections", min: 0, max: 1, dynamic: true, desc: "Dedicated Admin Connections are allowed from remote clients"},
	}
}

// lockState is an application lock (sp_getapplock) held by sessions.
type lockState struct {
	resource string
	holders  map[*session]*lockHold // who holds it, in which mode
	changed  chan struct{}          // closed and replaced when a holder lets go
}

func (in *Instance) dbByNameLocked(name string) *dbState {
	for _, d := range in.dbs {
		if strings.EqualFold(d.name, name) {
			return d
		}
	}
	return nil
}

func (in *Instance) dbByIDLocked(id int) *dbState {
	for _, d := range in.dbs {
		if d.id == id {
			return d
		}
	}
	return nil
}

func (in *Instance) loginByNameLocked(name string) *loginState {
	for _, l := range in.logins {
		if strings.EqualFold(l.name, name) {
			return l
		}
	}
	return nil
}

func (in *Instance) configLocked(name string) *configOption {
	for _, c := range in.configs {
		if strings.EqualFold(c.name, name) {
			return c
		}
	}
	return nil
}

// isSysadminLocked reports whether the login is a member of the sysadmin fixed server role.
func (in *Instance) isSysadminLocked(login string) bool {
	return in.serverRoleMemberLocked("sysadmin", login)
}

func (in *Instance) serverRoleMemberLocked(role, login string) bool {
	for _, m := range in.serverRoles[strings.ToLower(role)] {
		if strings.EqualFold(m, login) {
			return true
		}
	}
	return false
}

// hasServerPermLocked reports whether login holds a server permission (sysadmin holds
// every permission; CONTROL SERVER implies the others; DENY wins over GRANT).
func (in *Instance) hasServerPermLocked(login, perm string) bool {
	if in.isSysadminLocked(login) {
		return true
	}
	key := strings.ToUpper(perm) + "|" + strings.ToLower(login)
	if in.serverDeny[key] {
		return false
	}
	if in.serverGrant[key] || in.serverGrant["CONTROL SERVER|"+strings.ToLower(login)] {
		return true
	}
	// VIEW SERVER STATE covers VIEW SERVER PERFORMANCE/SECURITY STATE (SQL Server 2022
	// permission hierarchy, https://learn.microsoft.com/sql/relational-databases/security/permissions-hierarchy-database-engine).
	if strings.HasPrefix(strings.ToUpper(perm), "VIEW SERVER ") && strings.HasSuffix(strings.ToUpper(perm), " STATE") {
		return in.serverGrant["VIEW SERVER STATE|"+strings.ToLower(login)] && !in.serverDeny["VIEW SERVER STATE|"+strings.ToLower(login)]
	}
	return false
}

func (d *dbState) userByNameLocked(name string) *dbUser {
	for _, u := range d.users {
		if strings.EqualFold(u.name, name) {
			return u
		}
	}
	return nil
}

func (d *dbState) userForLoginLocked(login string) *dbUser {
	for _, u := range d.users {
		if u.typ == "S" && strings.EqualFold(u.login, login) {
			return u
		}
	}
	return nil
}

// isRoleMemberLocked reports whether the database user mapped to login is a member of role.
func (d *dbState) isRoleMemberLocked(role, login string) bool {
	r := d.userByNameLocked(role)
	u := d.userForLoginLocked(login)
	if r == nil || u == nil {
		return false
	}
	for _, m := range d.roleMembers {
		if m[0] == r.id && m[1] == u.id {
			return true
		}
	}
	return false
}

func (in *Instance) nextPrincipalIDLocked(d *dbState) int {
	n := 5
	for _, u := range d.users {
		if u.id < 16384 {
			n = max(n, u.id+1)
		}
	}
	return n
}

// newDatabaseLocked creates a database with the fixed principals every database has
// (dbo, guest, public; msdb also the SQL Server Agent roles,
// https://learn.microsoft.com/sql/ssms/agent/sql-server-agent-fixed-database-roles).
func (in *Instance) newDatabaseLocked(name string, id int) *dbState {
	d := &dbState{id: id, name: name, recovery: "FULL", state: "ONLINE", guid: newGUID(), created: time.Now().UTC(),
		logFiles: 1, grants: map[string]bool{}, procs: map[string]*uproc{}}
	d.users = []*dbUser{{id: 0, name: "public", typ: "R"}, {id: 1, name: "dbo", typ: "S", login: "sa", sid: []byte{1}}, {id: 2, name: "guest", typ: "S"}}
	// The fixed database roles and their principal ids
	// (https://learn.microsoft.com/sql/relational-databases/security/authentication-access/database-level-roles).
	for i, r := range []string{"db_owner", "db_accessadmin", "db_securityadmin", "db_ddladmin", "", "db_backupoperator", "", "",
		"db_datareader", "db_datawriter", "db_denydatareader", "db_denydatawriter"} {
		if r != "" {
			d.users = append(d.users, &dbUser{id: 16384 + i, name: r, typ: "R"})
		}
	}
	if strings.EqualFold(name, "msdb") {
		for i, r := range []string{"SQLAgentUserRole", "SQLAgentReaderRole", "SQLAgentOperatorRole", "DatabaseMailUserRole"} {
			d.users = append(d.users, &dbUser{id: 10 + i, name: r, typ: "R"})
		}
	}
	// System databases' default recovery models: master, msdb and tempdb SIMPLE, model
	// FULL (https://learn.microsoft.com/sql/relational-databases/databases/system-databases).
	switch strings.ToLower(name) {
	case "master", "msdb", "tempdb":
		d.recovery = "SIMPLE"
	}
	in.dbs = append(in.dbs, d)
	return d
}
