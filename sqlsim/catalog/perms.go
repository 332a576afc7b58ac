package catalog

// Permission values an Object's Permission (and PermissionBefore) may hold. The
// evaluator grants them as SQL Server does: sysadmin has every one; a server
// permission is granted with GRANT ... TO login (or CONTROL SERVER); the msdb roles
// nest (SQLAgentOperatorRole includes SQLAgentReaderRole includes SQLAgentUserRole,
// https://learn.microsoft.com/sql/ssms/agent/sql-server-agent-fixed-database-roles).
const (
	// PermViewServerState is the server permission VIEW SERVER STATE (Msg 300 without it).
	PermViewServerState = "VIEW SERVER STATE"
	// PermViewServerSecurityState is VIEW SERVER SECURITY STATE (SQL Server 2022 and
	// later), implied by VIEW SERVER STATE
	// (https://learn.microsoft.com/sql/relational-databases/security/permissions-hierarchy-database-engine).
	PermViewServerSecurityState = "VIEW SERVER SECURITY STATE"
	// PermViewServerPerformanceState is VIEW SERVER PERFORMANCE STATE (2022 and later),
	// implied by VIEW SERVER STATE.
	PermViewServerPerformanceState = "VIEW SERVER PERFORMANCE STATE"
	// PermSysadmin is membership of the sysadmin fixed server role.
	PermSysadmin = "sysadmin"
	// PermAgentUser is membership of msdb's SQLAgentUserRole (or a role that includes it:
	// SQLAgentReaderRole, SQLAgentOperatorRole), or sysadmin.
	PermAgentUser = "SQLAgentUserRole"
	// PermAgentOperator is membership of msdb's SQLAgentOperatorRole, or sysadmin.
	PermAgentOperator = "SQLAgentOperatorRole"
	// PermSelect is an explicit SELECT permission on the object (GRANT SELECT, or
	// db_datareader / db_owner of its database, or sysadmin): msdb's Agent and backup
	// tables grant nothing to public; without it SQL Server answers Msg 229 ("The SELECT
	// permission was denied on the object ...").
	PermSelect = "SELECT"
	// PermExecute is an explicit EXECUTE permission on the procedure (or sysadmin);
	// without it Msg 229.
	PermExecute = "EXECUTE"
	// PermAlterSettings is ALTER SETTINGS (held by sysadmin and serveradmin), needed by
	// sp_configure with a new value and by RECONFIGURE.
	PermAlterSettings = "ALTER SETTINGS"
	// PermControlServer is CONTROL SERVER.
	PermControlServer = "CONTROL SERVER"
)
