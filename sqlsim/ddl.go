package sqlsim

import (
	"crypto/sha1"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/milink/milink/sqlsim/tds"
	"github.com/milink/milink/sqlsim/tsql"
)

// errNoPerm is Msg 15247, what DDL a login may not run reports.
func errNoPerm() error {
	return sqlErr(15247, 16, "User does not have permission to perform this action.")
}

// runDDL runs the DDL and server commands a DBA uses to set up the state milink
// checks. Each follows its T-SQL reference page under
// https://learn.microsoft.com/sql/t-sql/statements/ and the error numbers SQL Server
// raises for it.
func (x *execCtx) runDDL(st tsql.Stmt) error {
	s := x.s
	in := s.in
	var disk any
	if b, ok := st.(*tsql.Backup); ok {
		v, err := x.eval(b.Disk, nil)
		if err != nil {
			return err
		}
		disk = v
		if b.DBVar != nil { // BACKUP DATABASE @database_name_var
			name, err := x.eval(b.DBVar, nil)
			if err != nil {
				return err
			}
			named := *b
			named.DB, named.DBVar = toStr(name), nil
			st = &named
		}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	target := s.db
	switch n := st.(type) {
	case *tsql.Backup:
		target = n.DB
	case *tsql.AlterDatabase:
		target = n.Name
	case *tsql.CreateDatabase:
		target = "master"
	}
	if name := statementName(st); !x.allowedLocked(name, in.dbByNameLocked(target)) {
		return denied(name, target)
	}
	if in.pers.MI {
		if err := miUnsupported(st); err != nil {
			return err
		}
	}
	if err := notInTransaction(st, s.tranCount); err != nil {
		return err
	}
	switch n := st.(type) {
	case *tsql.CreateDatabase:
		if in.dbByNameLocked(n.Name) != nil {
			return sqlErr(1801, 16, fmt.Sprintf("Database '%s' already exists. Choose a different database name.", n.Name))
		}
		id := 5
		for _, d := range in.dbs {
			id = max(id, d.id+1)
		}
		in.newDatabaseLocked(n.Name, id)
		return nil
	case *tsql.AlterDatabase:
		d := in.dbByNameLocked(n.Name)
		if d == nil {
			return sqlErr(5011, 14, fmt.Sprintf("User does not have permission to alter database '%s', the database does not exist, or the database is not in a state that allows access checks.", n.Name))
		}
		switch n.Option {
		case "RECOVERY":
			switch n.Value {
			case "FULL", "SIMPLE", "BULK_LOGGED":
				if strings.EqualFold(d.name, "tempdb") {
					return sqlErr(5058, 16, "Option 'RECOVERY' cannot be set in database 'tempdb'.")
				}
				d.recovery = n.Value
				if n.Value == "SIMPLE" {
					d.nextLogLSN = 0 // the log chain is broken
				}
				return nil
			}
			return abortErr(102, 15, fmt.Sprintf("Incorrect syntax near '%s'.", n.Value))
		case "ADD FILEGROUP":
			return in.addFilegroupLocked(d, n)
		case "ADD FILE":
			return in.addFilesLocked(d, n)
		case "ENCRYPTION":
			return setEncryptionLocked(d, n.Value)
		}
		// Other options (OFFLINE, READ_ONLY, SET HADR …) are not modelled: say so rather
		// than pretend they took effect.
		return sqlErr(50000, 16, fmt.Sprintf("sqlsim: ALTER DATABASE … SET %s is not supported by the simulator.", strings.TrimSpace(n.Option+" "+n.Value)))
	case *tsql.Backup:
		return x.backupLocked(n, disk)
	case *tsql.Endpoint:
		if n.Alter {
			return in.alterEndpointLocked(n)
		}
		return in.createEndpointLocked(n)
	case *tsql.CreateCertificate:
		if !strings.EqualFold(s.db, "master") {
			return sqlErr(50000, 16, "sqlsim: certificates are modelled in master only; run USE master first.")
		}
		if in.certByNameLocked(n.Name) != nil {
			return sqlErr(15232, 16, fmt.Sprintf("A certificate with name '%s' already exists or this certificate already has been added to the database.", n.Name))
		}
		if n.Password == "" && !in.masterKey {
			return sqlErr(15581, 16, "Please create a master key in the database or open the master key in the session before performing this operation.")
		}
		start := time.Now().UTC()
		expiry := start.AddDate(1, 0, 0)
		var err error
		if n.StartDate != "" {
			if start, err = toTime(n.StartDate); err != nil {
				return abortOf(err)
			}
		}
		if n.ExpiryDate != "" {
			if expiry, err = toTime(n.ExpiryDate); err != nil {
				return abortOf(err)
			}
		}
		c := &certificate{id: in.newID(), name: n.Name, subject: n.Subject, start: start, expiry: expiry, byPassword: n.Password != "",
			serial: newGUID()}
		c.thumbprint = certThumbprint(c)
		in.certs = append(in.certs, c)
		return nil
	case *tsql.CreateDatabaseKey:
		return in.createDatabaseKeyLocked(in.dbByNameLocked(s.db), n)
	case *tsql.CreateMasterKey:
		if !strings.EqualFold(s.db, "master") {
			return sqlErr(50000, 16, "sqlsim: the database master key is modelled in master only; run USE master first.")
		}
		if in.masterKey {
			return sqlErr(15578, 16, "There is already a master key in the database. Please drop it before performing this statement.")
		}
		if n.Password == "" && !in.pers.MI {
			return abortErr(102, 15, "Incorrect syntax near 'KEY'.")
		}
		in.masterKey = true
		in.masterKeyCreated = time.Now().UTC()
		return nil
	case *tsql.CreateLogin:
		if in.loginByNameLocked(n.Name) != nil {
			return sqlErr(15025, 16, fmt.Sprintf("The server principal '%s' already exists.", n.Name))
		}
		if n.Windows {
			if dom, user, ok := strings.Cut(n.Name, `\`); !ok || dom == "" || user == "" {
				return sqlErr(15407, 16, fmt.Sprintf("'%s' is not a valid Windows NT name. Give the complete name: <domain\\username>.", n.Name))
			}
			// Kerberos logins only: the simulated domain knows the passwords of the
			// Windows logins given in Options.Logins, which NTLM checks against.
			in.addLoginLocked(n.Name, "").windows = true
			return nil
		}
		in.addLoginLocked(n.Name, n.Password)
		return nil
	case *tsql.CreateUser:
		d := in.dbByNameLocked(s.db)
		if d.userByNameLocked(n.Name) != nil {
			return sqlErr(15023, 16, fmt.Sprintf("User, group, or role '%s' already exists in the current database.", n.Name))
		}
		u := &dbUser{id: in.nextPrincipalIDLocked(d), name: n.Name, typ: "S"}
		if n.Login != "" {
			l := in.loginByNameLocked(n.Login)
			if l == nil {
				return sqlErr(15007, 16, fmt.Sprintf("'%s' is not a valid login or you do not have permission.", n.Login))
			}
			u.login, u.sid = l.name, l.sid
		}
		d.users = append(d.users, u)
		return nil
	case *tsql.AlterRole:
		if n.Server {
			role := strings.ToLower(n.Role)
			if !fixedServerRoles[role] || role == "public" {
				return sqlErr(15151, 16, fmt.Sprintf("Cannot alter the server role '%s', because it does not exist or you do not have permission.", n.Role))
			}
			l := in.loginByNameLocked(n.Member)
			if l == nil {
				return sqlErr(15151, 16, fmt.Sprintf("Cannot add the principal '%s', because it does not exist or you do not have permission.", n.Member))
			}
			members := slices.DeleteFunc(in.serverRoles[role], func(m string) bool { return strings.EqualFold(m, l.name) })
			if n.Add {
				members = append(members, l.name)
			}
			in.serverRoles[role] = members
			return nil
		}
		d := in.dbByNameLocked(s.db)
		r := d.userByNameLocked(n.Role)
		if r == nil || r.typ != "R" {
			return sqlErr(15151, 16, fmt.Sprintf("Cannot alter the role '%s', because it does not exist or you do not have permission.", n.Role))
		}
		u := d.userByNameLocked(n.Member)
		if u == nil {
			return sqlErr(15151, 16, fmt.Sprintf("Cannot add the principal '%s', because it does not exist or you do not have permission.", n.Member))
		}
		d.roleMembers = slices.DeleteFunc(d.roleMembers, func(m [2]int) bool { return m[0] == r.id && m[1] == u.id })
		if n.Add {
			d.roleMembers = append(d.roleMembers, [2]int{r.id, u.id})
		}
		return nil
	case *tsql.Grant:
		return x.grantLocked(n)
	case *tsql.Drop:
		return x.dropLocked(n)
	}
	return sqlErr(50000, 16, fmt.Sprintf("sqlsim: statement %T is not supported by the simulator.", st))
}

func (x *execCtx) grantLocked(n *tsql.Grant) error {
	in := x.s.in
	if n.On.Object == "" && !serverPermissions[n.Permission] {
		d := in.dbByNameLocked(x.s.db)
		for _, to := range n.To {
			if d.userByNameLocked(to) == nil {
				return sqlErr(15151, 16, fmt.Sprintf("Cannot find the user '%s', because it does not exist or you do not have permission.", to))
			}
			d.grants[n.Permission+"||"+strings.ToLower(to)] = n.Verb == "GRANT"
		}
		return nil
	}
	if n.On.Object == "" || strings.EqualFold(n.OnClass, "SERVER") {
		for _, to := range n.To {
			if in.loginByNameLocked(to) == nil {
				return sqlErr(15151, 16, fmt.Sprintf("Cannot find the login '%s', because it does not exist or you do not have permission.", to))
			}
			key := n.Permission + "|" + strings.ToLower(to)
			delete(in.serverGrant, key)
			delete(in.serverDeny, key)
			switch n.Verb {
			case "GRANT":
				in.serverGrant[key] = true
			case "DENY":
				in.serverDeny[key] = true
			}
		}
		return nil
	}
	dbName := n.On.Database
	if dbName == "" {
		dbName = x.s.db
	}
	d := in.dbByNameLocked(dbName)
	if d == nil {
		return sqlErr(15151, 16, fmt.Sprintf("Cannot find the object '%s', because it does not exist or you do not have permission.", n.On.Object))
	}
	if d.procs[strings.ToLower(n.On.Object)] == nil {
		_, _, builtin := resolveBuiltin(tsql.Name{Database: dbName, Schema: n.On.Schema, Object: n.On.Object}, dbName)
		_, inCatalog := in.pers.Lookup(strings.ToLower(d.name), strings.ToLower(n.On.Schema), strings.ToLower(n.On.Object))
		if !builtin && !inCatalog {
			return sqlErr(15151, 16, fmt.Sprintf("Cannot find the object '%s', because it does not exist or you do not have permission.", n.On.Object))
		}
	}
	for _, to := range n.To {
		if d.userByNameLocked(to) == nil {
			return sqlErr(15151, 16, fmt.Sprintf("Cannot find the user '%s', because it does not exist or you do not have permission.", to))
		}
		key := n.Permission + "|" + strings.ToLower(n.On.Object) + "|" + strings.ToLower(to)
		d.grants[key] = n.Verb == "GRANT"
	}
	return nil
}

func (x *execCtx) dropLocked(n *tsql.Drop) error {
	in := x.s.in
	name := n.Name.Object
	missing := func(what string) error {
		if n.IfExists {
			return nil
		}
		return sqlErr(3701, 11, fmt.Sprintf("Cannot drop the %s '%s', because it does not exist or you do not have permission.", what, name))
	}
	switch n.Kind {
	case "PROCEDURE":
		d := in.dbByNameLocked(x.s.db)
		if n.Name.Database != "" {
			d = in.dbByNameLocked(n.Name.Database)
		}
		if d == nil || d.procs[strings.ToLower(name)] == nil {
			return missing("procedure")
		}
		delete(d.procs, strings.ToLower(name))
	case "DATABASE":
		d := in.dbByNameLocked(name)
		if d == nil {
			return missing("database")
		}
		if d.id <= 4 {
			return sqlErr(3708, 16, fmt.Sprintf("Cannot drop the database '%s' because it is a system database.", d.name))
		}
		in.dbs = slices.DeleteFunc(in.dbs, func(x *dbState) bool { return x == d })
	case "ENDPOINT":
		e := in.endpointByNameLocked(name)
		if e == nil {
			if n.IfExists {
				return nil
			}
			return sqlErr(15151, 16, fmt.Sprintf("Cannot drop the endpoint '%s', because it does not exist or you do not have permission.", name))
		}
		if e.listener != nil {
			e.listener.Close()
		}
		in.endpoints = slices.DeleteFunc(in.endpoints, func(x *endpoint) bool { return x == e })
	case "CERTIFICATE":
		c := in.certByNameLocked(name)
		if c == nil {
			if n.IfExists {
				return nil
			}
			return sqlErr(15151, 16, fmt.Sprintf("Cannot drop the certificate '%s', because it does not exist or you do not have permission.", name))
		}
		for _, e := range in.endpoints {
			if e.certID == c.id {
				return sqlErr(15352, 16, "The certificate cannot be dropped because one or more entities are either signed or encrypted using it. To continue, correct the problem and retry.")
			}
		}
		in.certs = slices.DeleteFunc(in.certs, func(x *certificate) bool { return x == c })
	case "MASTER KEY":
		if !in.masterKey {
			return sqlErr(15151, 16, "Cannot drop the master key because it does not exist or you do not have permission.")
		}
		for _, c := range in.certs {
			if !c.byPassword {
				return sqlErr(15580, 16, fmt.Sprintf("Cannot drop master key because certificate '%s' is encrypted by it.", c.name))
			}
		}
		in.masterKey = false
	case "LOGIN":
		l := in.loginByNameLocked(name)
		if l == nil {
			if n.IfExists {
				return nil
			}
			return sqlErr(15151, 16, fmt.Sprintf("Cannot drop the login '%s', because it does not exist or you do not have permission.", name))
		}
		in.logins = slices.DeleteFunc(in.logins, func(x *loginState) bool { return x == l })
		for r := range in.serverRoles {
			in.serverRoles[r] = slices.DeleteFunc(in.serverRoles[r], func(m string) bool { return strings.EqualFold(m, l.name) })
		}
	case "USER":
		d := in.dbByNameLocked(x.s.db)
		u := d.userByNameLocked(name)
		if u == nil || u.typ != "S" || u.id < 5 {
			if n.IfExists && u == nil {
				return nil
			}
			return sqlErr(15151, 16, fmt.Sprintf("Cannot drop the user '%s', because it does not exist or you do not have permission.", name))
		}
		d.users = slices.DeleteFunc(d.users, func(x *dbUser) bool { return x == u })
		d.roleMembers = slices.DeleteFunc(d.roleMembers, func(m [2]int) bool { return m[1] == u.id })
	default:
		return missing(strings.ToLower(n.Kind))
	}
	return nil
}

// advanceLogChainLocked moves d's log chain after a backup: a log backup advances
// last_log_backup_lsn; a full or differential database backup that is not COPY_ONLY
// starts the chain when there is none and the database is not in SIMPLE recovery
// (sys-database-recovery-status-transact-sql; view-or-change-the-recovery-model-of-a-database-sql-server).
func (in *Instance) advanceLogChainLocked(d *dbState, log, copyOnly bool) {
	in.nextLSN += 1000000
	switch {
	case log && !copyOnly:
		d.nextLogLSN = in.nextLSN
	case !log && !copyOnly && d.recovery != "SIMPLE" && d.nextLogLSN == 0:
		d.nextLogLSN = in.nextLSN
	}
}

// backupLocked runs BACKUP DATABASE/LOG and records the backup in msdb.dbo.backupset
// (https://learn.microsoft.com/sql/t-sql/statements/backup-transact-sql,
// https://learn.microsoft.com/sql/relational-databases/system-tables/backupset-transact-sql).
func (x *execCtx) backupLocked(n *tsql.Backup, dv any) error {
	in := x.s.in
	d := in.dbByNameLocked(n.DB)
	if d == nil {
		return sqlErr(911, 16, fmt.Sprintf("Database '%s' does not exist. Make sure that the name is entered correctly.", n.DB))
	}
	typ := "D"
	if n.Log {
		typ = "L"
		if d.recovery == "SIMPLE" {
			return sqlErr(4208, 16, "The statement BACKUP LOG is not allowed while the recovery model is SIMPLE. Use BACKUP DATABASE or change the recovery model using ALTER DATABASE.")
		}
		if d.nextLogLSN == 0 {
			return sqlErr(4214, 16, "BACKUP LOG cannot be performed because there is no current database backup.")
		}
	}
	diff := !n.Log && slices.Contains(n.With, "DIFFERENTIAL")
	if diff {
		typ = "I" // backupset.type: I = differential database
		base := false
		for _, b := range in.backups {
			base = base || (strings.EqualFold(b.database, d.name) && b.dbGUID == d.guid && b.typ == "D" && !b.copyOnly)
		}
		if !base {
			return sqlErr(3035, 16, fmt.Sprintf("Cannot perform a differential backup for database \"%s\", because a current database backup does not exist. Perform a full database backup by reissuing BACKUP DATABASE, omitting the WITH DIFFERENTIAL option.", d.name))
		}
	}
	if strings.EqualFold(d.name, "tempdb") {
		return sqlErr(3147, 16, "Backup and restore operations are not allowed on database tempdb.")
	}
	if !n.URL {
		if err := in.backupDeviceLocked(toStr(dv), n.Log); err != nil {
			return err
		}
	}
	in.advanceLogChainLocked(d, n.Log, n.CopyOnly)
	now := time.Now()
	in.nextBackup++
	in.backups = append(in.backups, &backupRow{id: in.nextBackup, database: d.name, dbGUID: d.guid, dbCreated: d.created, typ: typ, copyOnly: n.CopyOnly,
		start: now, finish: now, device: toStr(dv)})
	pages := 400
	if n.Log {
		pages = 2
		x.w.Info(4035, 1, 0, fmt.Sprintf("Processed %d pages for database '%s', file '%s_log' on file 1.", pages, d.name, d.name))
		x.w.Info(3014, 1, 0, fmt.Sprintf("BACKUP LOG successfully processed %d pages in 0.010 seconds (1.562 MB/sec).", pages))
		return nil
	}
	x.w.Info(4035, 1, 0, fmt.Sprintf("Processed %d pages for database '%s', file '%s' on file 1.", pages, d.name, d.name))
	x.w.Info(4035, 1, 0, fmt.Sprintf("Processed 2 pages for database '%s', file '%s_log' on file 1.", d.name, d.name))
	x.w.Info(3014, 1, 0, fmt.Sprintf("BACKUP DATABASE successfully processed %d pages in 0.020 seconds (156.250 MB/sec).", pages+2))
	return nil
}

func (in *Instance) createEndpointLocked(n *tsql.Endpoint) error {
	if !n.HasAsClause || n.Protocol == "" {
		return abortErr(102, 15, "Incorrect syntax near the end of the batch.")
	}
	if in.endpointByNameLocked(n.Name) != nil {
		return sqlErr(7856, 16, fmt.Sprintf("Endpoint '%s' already exists.", n.Name))
	}
	if n.Protocol == "DATABASE_MIRRORING" {
		for _, e := range in.endpoints {
			if e.typ == "DATABASE_MIRRORING" {
				return sqlErr(7862, 16, "An endpoint of the requested type already exists.  Only one endpoint of this type is supported.  Use ALTER ENDPOINT or DROP the existing endpoint and execute the CREATE ENDPOINT statement.")
			}
		}
	}
	state := n.State
	if state == "" {
		state = "STOPPED"
	}
	e := &endpoint{id: in.newID(), name: n.Name, typ: n.Protocol, state: state, port: n.Port, role: n.Role}
	if err := in.applyEndpointLocked(e, n); err != nil {
		return err
	}
	if e.state == "STARTED" {
		if err := in.listenEndpointLocked(e); err != nil {
			return err
		}
	}
	in.endpoints = append(in.endpoints, e)
	return nil
}

// applyEndpointLocked copies the FOR DATABASE_MIRRORING options onto e.
func (in *Instance) applyEndpointLocked(e *endpoint, n *tsql.Endpoint) error {
	if n.Role != "" {
		e.role = n.Role
	}
	if e.role == "" {
		e.role = "ALL"
	}
	if n.Auth != "" {
		// sys.database_mirroring_endpoints.connection_auth_desc names the Windows
		// protocol alone: AUTHENTICATION = WINDOWS [NEGOTIATE] shows as NEGOTIATE
		// (https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-database-mirroring-endpoints-transact-sql).
		e.auth = strings.TrimPrefix(n.Auth, "WINDOWS ")
		if e.auth == "WINDOWS" {
			e.auth = "NEGOTIATE"
		}
		if n.Auth == "CERTIFICATE" {
			c := in.certByNameLocked(n.CertName)
			if c == nil {
				return sqlErr(15151, 16, fmt.Sprintf("Cannot find the certificate '%s', because it does not exist or you do not have permission.", n.CertName))
			}
			e.certID = c.id
		} else {
			e.certID = 0
		}
	}
	if e.auth == "" && e.typ == "DATABASE_MIRRORING" {
		e.auth = "NEGOTIATE"
	}
	if n.Encryption != "" {
		e.encryption = n.Algorithm
		if e.encryption == "" {
			e.encryption = "RC4"
		}
		if n.Encryption == "DISABLED" {
			e.encryption = "NONE"
		}
	}
	if e.encryption == "" && e.typ == "DATABASE_MIRRORING" {
		e.encryption = "RC4"
	}
	return nil
}

func (in *Instance) listenEndpointLocked(e *endpoint) error {
	l, err := in.net.Listen(in.opts.IP, e.port)
	if err != nil {
		return sqlErr(7890, 16, fmt.Sprintf("An error occurred while attempting to register the endpoint '%s'. One or more of the ports specified in the CREATE ENDPOINT statement may be bound to another process. Attempt the statement again with a different port or use netstat to find the application currently using the port and resolve the conflict.", e.name))
	}
	e.listener = l
	go acceptAndClose(l)
	return nil
}

func (in *Instance) alterEndpointLocked(n *tsql.Endpoint) error {
	e := in.endpointByNameLocked(n.Name)
	if e == nil {
		return sqlErr(15151, 16, fmt.Sprintf("Cannot alter the endpoint '%s', because it does not exist or you do not have permission.", n.Name))
	}
	if n.Port != 0 && n.Port != e.port {
		if e.listener != nil {
			e.listener.Close()
			e.listener = nil
		}
		e.port = n.Port
	}
	if err := in.applyEndpointLocked(e, n); err != nil {
		return err
	}
	if n.State != "" {
		e.state = n.State
	}
	if e.state == "STARTED" && e.listener == nil && e.port != 0 {
		return in.listenEndpointLocked(e)
	}
	if e.state != "STARTED" && e.listener != nil {
		e.listener.Close()
		e.listener = nil
	}
	return nil
}

// dbcc runs DBCC TRACEON/TRACEOFF/TRACESTATUS
// (https://learn.microsoft.com/sql/t-sql/database-console-commands/dbcc-tracestatus-transact-sql).
func (x *execCtx) dbcc(n *tsql.Dbcc) error {
	in := x.s.in
	args, err := x.evalArgs(n.Args, nil)
	if err != nil {
		return err
	}
	quiet := slices.Contains(n.With, "NO_INFOMSGS")
	done := func() {
		if !quiet {
			x.w.Info(2528, 1, 10, "DBCC execution completed. If DBCC printed error messages, contact your system administrator.")
		}
	}
	switch n.Command {
	case "TRACEON", "TRACEOFF":
		in.mu.Lock()
		defer in.mu.Unlock()
		if !in.isSysadminLocked(x.s.loginName) {
			return sqlErr(2571, 14, fmt.Sprintf("User '%s' does not have permission to run DBCC %s.", x.userNameLockedDB(), strings.ToLower(n.Command)))
		}
		global := false
		var flags []int
		for _, a := range args {
			v, err := toInt(a)
			if err != nil {
				return err
			}
			if v == -1 {
				global = true
				continue
			}
			flags = append(flags, int(v))
		}
		for _, f := range flags {
			if global {
				in.traceFlags[f] = n.Command == "TRACEON"
				if n.Command == "TRACEOFF" {
					delete(in.traceFlags, f)
				}
			} else if n.Command == "TRACEON" {
				x.s.traceFlags[f] = true
			} else {
				delete(x.s.traceFlags, f)
			}
		}
		done()
		return nil
	case "TRACESTATUS":
		in.mu.Lock()
		type tf struct{ flag, global, session int64 }
		var rows [][]any
		seen := map[int]bool{}
		var all []int
		for f := range in.traceFlags {
			all = append(all, f)
		}
		for f := range x.s.traceFlags {
			all = append(all, f)
		}
		slices.Sort(all)
		onlyGlobal := false
		var want []int
		for _, a := range args {
			v, _ := toInt(a)
			if v == -1 {
				onlyGlobal = true
			} else {
				want = append(want, int(v))
			}
		}
		for _, f := range all {
			if seen[f] || (len(want) > 0 && !slices.Contains(want, f)) {
				continue
			}
			seen[f] = true
			g := in.traceFlags[f]
			se := x.s.traceFlags[f]
			if onlyGlobal && !g {
				continue
			}
			st := int64(0)
			if g || se {
				st = 1
			}
			rows = append(rows, []any{int64(f), st, b2i(g), b2i(se)})
		}
		for _, f := range want {
			if !seen[f] {
				rows = append(rows, []any{int64(f), int64(0), int64(0), int64(0)})
			}
		}
		in.mu.Unlock()
		x.writeResult(&relation{cols: []relCol{{name: "TraceFlag", typ: 5}, {name: "Status", typ: 5}, {name: "Global", typ: 5}, {name: "Session", typ: 5}}, rows: rows})
		done()
		return nil
	}
	return sqlErr(2526, 16, fmt.Sprintf("Incorrect DBCC statement. Check the documentation for the correct DBCC syntax and options."))
}

func (x *execCtx) userNameLockedDB() string {
	if d := x.s.in.dbByNameLocked(x.s.db); d != nil {
		return x.userNameLocked(d)
	}
	return "guest"
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// reconfigure is RECONFIGURE: configured values become the running values
// (https://learn.microsoft.com/sql/t-sql/language-elements/reconfigure-transact-sql).
// While 'allow updates' is configured to 1 — an option without effect since SQL Server
// 2005, "direct updates to the system tables are not supported"
// (https://learn.microsoft.com/sql/database-engine/configure-windows/allow-updates-server-configuration-option) —
// RECONFIGURE without WITH OVERRIDE fails with Msg 5808 and installs nothing; setting
// it back to 0 lets RECONFIGURE run (Microsoft support article KB 2713047, "Ad hoc
// update to system catalogs is not supported").
func (x *execCtx) reconfigure(override bool) error {
	in := x.s.in
	in.mu.Lock()
	defer in.mu.Unlock()
	if !x.allowedLocked("RECONFIGURE", nil) {
		return sqlErr(5812, 14, "You do not have permission to run the RECONFIGURE statement.")
	}
	if c := in.configLocked("allow updates"); c != nil && c.value == 1 && !override {
		return sqlErr(5808, 16, "Ad hoc update to system catalogs is not supported.")
	}
	for _, c := range in.configs {
		c.inUse = c.value
	}
	return nil
}

// miUnsupported refuses what a managed instance does not allow
// (https://learn.microsoft.com/azure/azure-sql/managed-instance/transact-sql-tsql-differences-sql-server):
// CREATE ENDPOINT … FOR DATABASE_MIRRORING, changing the recovery model (databases are
// always in FULL), and backups other than COPY_ONLY full backups TO URL. The number is
// the one Azure SQL uses for unsupported statement options (Msg 40517); its exact text
// for each statement is not documented.
func miUnsupported(st tsql.Stmt) error {
	unsupported := func(what string) error {
		return sqlErr(40517, 16, fmt.Sprintf("Keyword or statement option '%s' is not supported in this version of SQL Server.", what))
	}
	switch n := st.(type) {
	case *tsql.Endpoint:
		if n.Protocol == "DATABASE_MIRRORING" {
			return unsupported("DATABASE_MIRRORING")
		}
	case *tsql.AlterDatabase:
		if n.Option == "RECOVERY" {
			return unsupported("RECOVERY")
		}
	case *tsql.Backup:
		switch {
		case n.Log:
			return unsupported("LOG")
		case !n.URL:
			return unsupported("DISK")
		case !n.CopyOnly:
			return unsupported("BACKUP DATABASE without COPY_ONLY")
		}
	}
	return nil
}

// notInTransaction refuses the statements SQL Server allows only in autocommit mode
// when a transaction is open (@@TRANCOUNT > 0; pymssql's default autocommit=False opens
// one): BACKUP ("isn't allowed in an explicit or implicit transaction", Msg 3021 then
// 3013: https://learn.microsoft.com/sql/t-sql/statements/backup-transact-sql) and
// CREATE/ALTER/DROP DATABASE ("must run in autocommit mode", Msg 226:
// https://learn.microsoft.com/sql/t-sql/statements/alter-database-transact-sql-set-options,
// create-database-transact-sql, drop-database-transact-sql).
func notInTransaction(st tsql.Stmt, tranCount int) error {
	if tranCount == 0 {
		return nil
	}
	switch n := st.(type) {
	case *tsql.Backup:
		what := "DATABASE"
		if n.Log {
			what = "LOG"
		}
		return &execError{msgs: []*tds.Error{
			{Number: 3021, State: 1, Class: 16, Message: "Cannot perform a backup or restore operation within a transaction."},
			{Number: 3013, State: 1, Class: 16, Message: "BACKUP " + what + " is terminating abnormally."},
		}}
	case *tsql.CreateDatabase:
		return sqlErr(226, 16, "CREATE DATABASE statement not allowed within multi-statement transaction.")
	case *tsql.AlterDatabase:
		return sqlErr(226, 16, "ALTER DATABASE statement not allowed within multi-statement transaction.")
	case *tsql.Drop:
		if strings.EqualFold(n.Kind, "DATABASE") {
			return sqlErr(226, 16, "DROP DATABASE statement not allowed within multi-statement transaction.")
		}
	}
	return nil
}

// certThumbprint is a certificate's thumbprint: sys.certificates.thumbprint is the
// "SHA-1 hash of the certificate", varbinary(32) holding 20 bytes
// (https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-certificates-transact-sql).
// The simulator has no DER encoding, so it hashes what identifies the certificate.
func certThumbprint(c *certificate) [20]byte {
	return sha1.Sum([]byte(fmt.Sprintf("%s|%s|%x|%s", c.name, c.subject, c.serial, c.start.Format(time.RFC3339Nano))))
}

// Filegroups and files follow ALTER DATABASE File and Filegroup options
// (https://learn.microsoft.com/sql/t-sql/statements/alter-database-transact-sql-file-and-filegroup-options):
// ADD FILEGROUP name [CONTAINS FILESTREAM | CONTAINS MEMORY_OPTIMIZED_DATA] makes a
// filegroup of type FD or FX (sys.filegroups), and ADD FILE … TO FILEGROUP puts a file
// in it: a FILESTREAM container (sys.master_files type 2) in an FD or FX filegroup, a
// data file (type 0) in a rows filegroup. "Only one MEMORY_OPTIMIZED_DATA filegroup
// can be created per database" (the page's CONTAINS MEMORY_OPTIMIZED_DATA).
func (in *Instance) addFilegroupLocked(d *dbState, n *tsql.AlterDatabase) error {
	if strings.EqualFold(n.Filegroup, "PRIMARY") || d.filegroup(n.Filegroup) != nil {
		return sqlErr(50000, 16, fmt.Sprintf("sqlsim: filegroup '%s' already exists in database '%s'.", n.Filegroup, d.name))
	}
	typ := "FG"
	switch n.Contains {
	case "":
	case "FILESTREAM":
		typ = "FD"
	case "MEMORY_OPTIMIZED_DATA":
		typ = "FX"
		for _, g := range d.filegroups {
			if g.typ == "FX" {
				return sqlErr(50000, 16, fmt.Sprintf("sqlsim: database '%s' already has a MEMORY_OPTIMIZED_DATA filegroup (%s): only one is allowed per database.", d.name, g.name))
			}
		}
	default:
		return abortErr(102, 15, fmt.Sprintf("Incorrect syntax near '%s'.", n.Contains))
	}
	id := 2
	for _, g := range d.filegroups {
		id = max(id, g.id+1)
	}
	d.filegroups = append(d.filegroups, &filegroup{id: id, name: n.Filegroup, typ: typ})
	return nil
}

func (in *Instance) addFilesLocked(d *dbState, n *tsql.AlterDatabase) error {
	space, typ := 1, 0 // PRIMARY
	if n.Filegroup != "" && !strings.EqualFold(n.Filegroup, "PRIMARY") {
		g := d.filegroup(n.Filegroup)
		if g == nil {
			return sqlErr(50000, 16, fmt.Sprintf("sqlsim: filegroup '%s' does not exist in database '%s'.", n.Filegroup, d.name))
		}
		space = g.id
		if g.typ != "FG" {
			typ = 2
		}
	}
	for _, f := range n.Files {
		taken := strings.EqualFold(f.Name, d.name) || strings.EqualFold(f.Name, d.name+"_log")
		for _, o := range d.files {
			taken = taken || strings.EqualFold(o.name, f.Name)
		}
		if f.Name == "" || taken {
			return sqlErr(1828, 16, fmt.Sprintf("The logical file name \"%s\" is already in use. Choose a different name.", f.Name))
		}
		d.files = append(d.files, &dbFile{name: f.Name, physical: f.FileName, typ: typ, dataSpace: space})
	}
	return nil
}

// filegroup returns the database's filegroup called name (not PRIMARY), or nil.
func (d *dbState) filegroup(name string) *filegroup {
	if i := slices.IndexFunc(d.filegroups, func(g *filegroup) bool { return strings.EqualFold(g.name, name) }); i >= 0 {
		return d.filegroups[i]
	}
	return nil
}

// TDE follows CREATE DATABASE ENCRYPTION KEY
// (https://learn.microsoft.com/sql/t-sql/statements/create-database-encryption-key-transact-sql):
// run in the database, the key is protected by a certificate in master and
// sys.dm_database_encryption_keys shows it with encryption_state 1 (unencrypted) and
// the certificate's thumbprint as encryptor_thumbprint; ALTER DATABASE … SET
// ENCRYPTION ON then encrypts the database (state 3; the simulated scan is
// instantaneous). Errors are the 33000 range's
// (https://learn.microsoft.com/sql/relational-databases/errors-events/database-engine-events-and-errors-33000-to-49999):
// 33102 system database, 33103 key exists, 33106 no key, 33107/33108 already
// enabled/disabled; a missing certificate is Msg 15151.
func (in *Instance) createDatabaseKeyLocked(d *dbState, n *tsql.CreateDatabaseKey) error {
	if d.id <= 4 {
		return sqlErr(33102, 16, "Cannot encrypt a system database. Database encryption operations cannot be performed for 'master', 'model', 'tempdb', 'msdb', or 'resource' databases.")
	}
	if d.dek != nil {
		return sqlErr(33103, 16, "A database encryption key already exists for this database.")
	}
	switch n.Algorithm {
	case "AES_128", "AES_192", "AES_256", "TRIPLE_DES_3KEY":
	default:
		return abortErr(102, 15, fmt.Sprintf("Incorrect syntax near '%s'.", n.Algorithm))
	}
	c := in.certByNameLocked(n.Certificate)
	if c == nil {
		return sqlErr(15151, 16, fmt.Sprintf("Cannot find the certificate '%s', because it does not exist or you do not have permission.", n.Certificate))
	}
	d.dek = &dbEncryptionKey{algorithm: n.Algorithm, thumbprint: append([]byte(nil), c.thumbprint[:]...), created: time.Now().UTC()}
	d.encryptionState = 1
	return nil
}

func setEncryptionLocked(d *dbState, value string) error {
	if d.id <= 4 {
		return sqlErr(33102, 16, "Cannot encrypt a system database. Database encryption operations cannot be performed for 'master', 'model', 'tempdb', 'msdb', or 'resource' databases.")
	}
	if d.dek == nil {
		return sqlErr(33106, 16, "Cannot change database encryption state because no database encryption key is set.")
	}
	switch value {
	case "ON":
		if d.encryptionState == 3 {
			return sqlErr(33107, 16, "Cannot enable database encryption because it is already enabled.")
		}
		d.encryptionState, d.dek.set = 3, time.Now().UTC()
	case "OFF":
		if d.encryptionState == 1 {
			return sqlErr(33108, 16, "Cannot disable database encryption because it is already disabled.")
		}
		d.encryptionState, d.dek.set = 1, time.Now().UTC()
	default:
		return abortErr(102, 15, fmt.Sprintf("Incorrect syntax near '%s'.", value))
	}
	return nil
}
