package catalog

import "strings"

// Statement is a T-SQL statement (or DBCC command) a DBA uses to set the state milink
// checks, with the permission its page's Permissions section names. The evaluator
// refuses a caller that lacks it (Msg 262 "... permission denied in database", Msg
// 15247 "User does not have permission to perform this action.", or the statement's
// own message), sysadmin always passing.
type Statement struct {
	// Name is the statement as written, upper case, e.g. "CREATE ENDPOINT",
	// "DBCC TRACEON", "ALTER SERVER ROLE ADD MEMBER".
	Name string
	// Permission is what the caller needs: a server or database permission ("CREATE
	// ENDPOINT", "ALTER ANY LOGIN", "CONTROL"), a role ("sysadmin", "db_owner"),
	// "owner" (owning the object), or several alternatives separated by " | "
	// ("sysadmin | db_owner | db_backupoperator"); "" when every login may run it.
	Permission string
	// Scope is "server" when Permission is a server permission or role, "database" when
	// it is held in the current database, "object" when it is held on the object the
	// statement names.
	Scope string
	// MI notes how the managed instance differs ("" when it does not).
	MI string
	// Source is the statement's Learn page.
	Source string
}

// tsqlStatement is a statement page under t-sql/statements.
func tsqlStatement(page string) string {
	return "https://learn.microsoft.com/sql/t-sql/statements/" + page
}

// dbccPage is a DBCC command's page.
func dbccPage(page string) string {
	return "https://learn.microsoft.com/sql/t-sql/database-console-commands/" + page
}

// miNote ends a Statement's MI note with its source, the managed instance's T-SQL
// differences page.
const miNote = " (https://learn.microsoft.com/azure/azure-sql/managed-instance/transact-sql-tsql-differences-sql-server)"

// Statements lists the statements, by Name. Permission texts are each page's
// Permissions section.
var Statements = []Statement{
	{Name: "CREATE ENDPOINT", Permission: "CREATE ENDPOINT | sysadmin", Scope: "server",
		Source: tsqlStatement("create-endpoint-transact-sql")},
	// ALTER/DROP ENDPOINT: "a member of the sysadmin fixed server role, the owner of
	// the endpoint, or ... ALTER ANY ENDPOINT" (DROP: CONTROL on the endpoint).
	{Name: "ALTER ENDPOINT", Permission: "ALTER ANY ENDPOINT | owner | sysadmin", Scope: "server",
		Source: tsqlStatement("alter-endpoint-transact-sql")},
	{Name: "DROP ENDPOINT", Permission: "CONTROL | owner | sysadmin", Scope: "object",
		Source: tsqlStatement("drop-endpoint-transact-sql")},
	{Name: "CREATE CERTIFICATE", Permission: "CREATE CERTIFICATE", Scope: "database",
		Source: tsqlStatement("create-certificate-transact-sql")},
	{Name: "DROP CERTIFICATE", Permission: "CONTROL", Scope: "object",
		Source: tsqlStatement("drop-certificate-transact-sql")},
	{Name: "CREATE MASTER KEY", Permission: "CONTROL", Scope: "database",
		Source: tsqlStatement("create-master-key-transact-sql")},
	{Name: "DROP MASTER KEY", Permission: "CONTROL", Scope: "database",
		Source: tsqlStatement("drop-master-key-transact-sql")},
	// "Requires CONTROL permission on the database and VIEW DEFINITION permission on
	// the certificate" (the certificate part is not modelled: sysadmin runs it).
	{Name: "CREATE DATABASE ENCRYPTION KEY", Permission: "CONTROL", Scope: "database",
		Source: tsqlStatement("create-database-encryption-key-transact-sql")},
	{Name: "CREATE DATABASE", Permission: "CREATE DATABASE | CREATE ANY DATABASE | ALTER ANY DATABASE", Scope: "server",
		Source: tsqlStatement("create-database-transact-sql")},
	{Name: "DROP DATABASE", Permission: "CONTROL | ALTER ANY DATABASE | db_owner", Scope: "object",
		Source: tsqlStatement("drop-database-transact-sql")},
	{Name: "ALTER DATABASE", Permission: "ALTER", Scope: "object",
		MI:     "SET RECOVERY is not allowed: a managed instance's databases are always in the full recovery model" + miNote,
		Source: tsqlStatement("alter-database-transact-sql-set-options")},
	{Name: "BACKUP DATABASE", Permission: "sysadmin | db_owner | db_backupoperator", Scope: "database",
		MI:     "only COPY_ONLY backups, and only to URL (Azure Blob storage)" + miNote,
		Source: tsqlStatement("backup-transact-sql")},
	{Name: "BACKUP LOG", Permission: "sysadmin | db_owner | db_backupoperator", Scope: "database",
		MI:     "only COPY_ONLY backups, and only to URL (Azure Blob storage)" + miNote,
		Source: tsqlStatement("backup-transact-sql")},
	{Name: "CREATE LOGIN", Permission: "ALTER ANY LOGIN", Scope: "server",
		Source: tsqlStatement("create-login-transact-sql")},
	{Name: "CREATE USER", Permission: "ALTER ANY USER", Scope: "database",
		Source: tsqlStatement("create-user-transact-sql")},
	// Adding to a fixed server role takes membership of that role (or sysadmin);
	// a user-defined one ALTER on it or ALTER ANY SERVER ROLE.
	{Name: "ALTER SERVER ROLE ADD MEMBER", Permission: "sysadmin | ALTER ANY SERVER ROLE | ALTER", Scope: "server",
		Source: tsqlStatement("alter-server-role-transact-sql")},
	{Name: "ALTER ROLE ADD MEMBER", Permission: "ALTER ANY ROLE | ALTER | db_securityadmin | db_owner", Scope: "database",
		Source: tsqlStatement("alter-role-transact-sql")},
	// GRANT of a server permission: the grantor holds it WITH GRANT OPTION, or a
	// permission that implies it (CONTROL SERVER); sysadmin can grant any.
	{Name: "GRANT", Permission: "CONTROL SERVER | sysadmin", Scope: "server",
		Source: tsqlStatement("grant-server-permissions-transact-sql")},
	{Name: "RECONFIGURE", Permission: PermAlterSettings + " | sysadmin | serveradmin", Scope: "server",
		Source: tsqlStatement("reconfigure-transact-sql")},
	{Name: "CREATE PROCEDURE", Permission: "CREATE PROCEDURE", Scope: "database",
		Source: tsqlStatement("create-procedure-transact-sql")},
	{Name: "DROP PROCEDURE", Permission: "CONTROL | ALTER", Scope: "object",
		Source: tsqlStatement("drop-procedure-transact-sql")},
	{Name: "DBCC TRACEON", Permission: PermSysadmin, Scope: "server",
		MI:     "only a documented set of global trace flags can be set" + miNote,
		Source: dbccPage("dbcc-traceon-transact-sql")},
	{Name: "DBCC TRACEOFF", Permission: PermSysadmin, Scope: "server",
		Source: dbccPage("dbcc-traceoff-transact-sql")},
	// DBCC TRACESTATUS: "Requires membership in the public role"; result columns
	// TraceFlag, Status, Global, Session.
	{Name: "DBCC TRACESTATUS", Permission: "", Scope: "server",
		Source: dbccPage("dbcc-tracestatus-transact-sql")},
}

// StatementNamed returns the Statement called name (case-insensitive, inner spaces
// collapsed), e.g. "dbcc  traceon".
func StatementNamed(name string) (Statement, bool) {
	n := strings.ToUpper(strings.Join(strings.Fields(name), " "))
	for _, s := range Statements {
		if s.Name == n {
			return s, true
		}
	}
	return Statement{}, false
}

// Alternatives splits Permission into the alternatives any one of which suffices;
// nil when the statement needs nothing.
func (s Statement) Alternatives() []string {
	if s.Permission == "" {
		return nil
	}
	parts := strings.Split(s.Permission, "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}
