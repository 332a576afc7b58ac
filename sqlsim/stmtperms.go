package sqlsim

import (
	"fmt"
	"strings"

	"github.com/milink/milink/sqlsim/catalog"
	"github.com/milink/milink/sqlsim/tsql"
)

// serverPermissions are the permissions GRANT … TO login gives at server scope
// (https://learn.microsoft.com/sql/t-sql/statements/grant-server-permissions-transact-sql);
// any other permission granted without ON is a database permission of the current
// database, granted to a user.
var serverPermissions = map[string]bool{
	"VIEW SERVER STATE": true, "VIEW SERVER PERFORMANCE STATE": true, "VIEW SERVER SECURITY STATE": true, "ALTER SERVER STATE": true,
	"ALTER ANY LOGIN": true, "ALTER ANY ENDPOINT": true, "CREATE ENDPOINT": true, "CONTROL SERVER": true, "ALTER SETTINGS": true,
	"CREATE ANY DATABASE": true, "ALTER ANY DATABASE": true, "VIEW ANY DATABASE": true, "ALTER ANY SERVER ROLE": true,
	"ALTER TRACE": true, "VIEW ANY DEFINITION": true, "CONNECT SQL": true, "AUTHENTICATE SERVER": true, "ALTER ANY CONNECTION": true,
	"SHUTDOWN": true, "ALTER ANY CREDENTIAL": true, "ALTER RESOURCES": true, "VIEW ANY ERROR LOG": true, "CREATE DATABASE": true,
}

// statementName names a statement as package catalog's Statements do.
func statementName(st tsql.Stmt) string {
	switch n := st.(type) {
	case *tsql.CreateDatabase:
		return "CREATE DATABASE"
	case *tsql.AlterDatabase:
		return "ALTER DATABASE"
	case *tsql.Backup:
		if n.Log {
			return "BACKUP LOG"
		}
		return "BACKUP DATABASE"
	case *tsql.Endpoint:
		if n.Alter {
			return "ALTER ENDPOINT"
		}
		return "CREATE ENDPOINT"
	case *tsql.CreateCertificate:
		return "CREATE CERTIFICATE"
	case *tsql.CreateMasterKey:
		return "CREATE MASTER KEY"
	case *tsql.CreateDatabaseKey:
		return "CREATE DATABASE ENCRYPTION KEY"
	case *tsql.CreateLogin:
		return "CREATE LOGIN"
	case *tsql.CreateUser:
		return "CREATE USER"
	case *tsql.AlterRole:
		if n.Server {
			return "ALTER SERVER ROLE ADD MEMBER"
		}
		return "ALTER ROLE ADD MEMBER"
	case *tsql.Grant:
		return "GRANT"
	case *tsql.Drop:
		return "DROP " + n.Kind
	}
	return ""
}

// allowedLocked reports whether the session's login may run the statement called
// name in database d, by the permission package catalog gives it (sysadmin always
// may; a statement the catalog does not list needs sysadmin). Roles and server
// permissions are checked as held; database permissions as granted in d to the
// login's user; "owner" (owning the object) is not modelled.
func (x *execCtx) allowedLocked(name string, d *dbState) bool {
	in := x.s.in
	login := x.s.loginName
	if in.isSysadminLocked(login) {
		return true
	}
	st, ok := catalog.StatementNamed(name)
	if !ok {
		return false
	}
	alts := st.Alternatives()
	if len(alts) == 0 {
		return true
	}
	for _, a := range alts {
		la := strings.ToLower(a)
		switch {
		case fixedServerRoles[la]:
			if in.serverRoleMemberLocked(la, login) {
				return true
			}
		case strings.HasPrefix(la, "db_"):
			if d != nil && d.isRoleMemberLocked(a, login) {
				return true
			}
		case la == "owner":
		case st.Scope == "server" || serverPermissions[strings.ToUpper(a)]:
			if in.hasServerPermLocked(login, a) {
				return true
			}
		case d != nil:
			user := "guest"
			if u := d.userForLoginLocked(login); u != nil {
				user = u.name
			}
			if d.grants[strings.ToUpper(a)+"||"+strings.ToLower(user)] || in.hasServerPermLocked(login, "CONTROL SERVER") {
				return true
			}
		}
	}
	return false
}

// denied is the error SQL Server gives a login that may not run a statement.
func denied(name, db string) error {
	switch name {
	case "BACKUP DATABASE", "BACKUP LOG", "CREATE DATABASE", "CREATE PROCEDURE":
		return sqlErr(262, 14, fmt.Sprintf("%s permission denied in database '%s'.", name, db))
	}
	return errNoPerm()
}
