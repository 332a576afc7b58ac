package catalog

import "strings"

// Built-in functions milink and the link scripts call. They have no schema (Schema
// "") and are found by Lookup with schema "". Params are positional; their names are
// the pages' argument names.

// builtin is a built-in scalar function available everywhere.
func builtin(name, page, ps string) Object {
	return Object{Name: name, Kind: Function, Avail: everywhere, Params: params(ps),
		Source: "https://learn.microsoft.com/sql/t-sql/functions/" + page}
}

var functions = []Object{
	builtin("SERVERPROPERTY", "serverproperty-transact-sql", `@property varchar(128)`),
	// CONNECTIONPROPERTY('local_net_address'|'client_net_address'|'net_transport'|
	// 'protocol_type'|'auth_scheme'|'local_tcp_port'|'client_tcp_port'|
	// 'physical_net_transport'): the caller's own connection, no permission needed.
	builtin("CONNECTIONPROPERTY", "connectionproperty-transact-sql", `@property varchar(128)`),
	// APPLOCK_MODE(principal, resource, owner) -> nvarchar(32) lock mode or NoLock.
	builtin("APPLOCK_MODE", "applock-mode-transact-sql", `
@database_principal sysname
@resource_name nvarchar(255)
@lock_owner varchar(32)
`),
	// APPLOCK_TEST(principal, resource, mode, owner) -> 1 grantable, 0 not.
	builtin("APPLOCK_TEST", "applock-test-transact-sql", `
@database_principal sysname
@resource_name nvarchar(255)
@lock_mode varchar(32)
@lock_owner varchar(32)
`),
	builtin("IS_SRVROLEMEMBER", "is-srvrolemember-transact-sql", `
@role sysname
@login sysname
`),
	builtin("IS_ROLEMEMBER", "is-rolemember-transact-sql", `
@role sysname
@database_principal sysname
`),
	builtin("HAS_PERMS_BY_NAME", "has-perms-by-name-transact-sql", `
@securable sysname
@securable_class nvarchar(60)
@permission sysname
@sub_securable sysname
@sub_securable_class nvarchar(60)
`),
	// SUSER_SID() is NULL for a Microsoft Entra user who is admin only through a group
	// on a managed instance (T-SQL differences, SQL Server Agent).
	builtin("SUSER_SID", "suser-sid-transact-sql", `
@login sysname
@param2 int
`),
	builtin("SUSER_SNAME", "suser-sname-transact-sql", `@server_user_sid varbinary(85)`),
	builtin("CERT_ID", "cert-id-transact-sql", `@cert_name sysname`),
	builtin("DB_NAME", "db-name-transact-sql", `@database_id int`),
	builtin("DB_ID", "db-id-transact-sql", `@database_name sysname`),
	builtin("OBJECT_ID", "object-id-transact-sql", `
@object_name nvarchar(776)
@object_type char(2)
`),
}

// ServerProperty is one property SERVERPROPERTY knows. SERVERPROPERTY returns NULL
// (not an error) for a name the version does not know, so the evaluator uses
// ServerPropertyOn to decide NULL versus a value.
type ServerProperty struct {
	Name     string // as documented, e.g. "ProductUpdateLevel"
	Type     string // base type of the sql_variant it returns, e.g. "nvarchar(128)", "int"
	MinMajor int    // first major version with the property; 0 = every simulated one
	BoxOnly  bool   // NULL on a managed instance
	MIOnly   bool   // NULL on SQL Server (Azure SQL Database and managed instance only)
	Source   string
}

// serverPropertyPage is SERVERPROPERTY's page, where each property's "Applies to"
// line gives its first version.
const serverPropertyPage = "https://learn.microsoft.com/sql/t-sql/functions/serverproperty-transact-sql"

// ServerProperties lists the SERVERPROPERTY names (the page's Arguments table,
// revision of 11/22/2022) with the version they appeared in where it is after SQL
// Server 2016. "Use of a propertyname that is invalid or not supported on that version
// of the Database Engine will return NULL"; all users can query them.
var ServerProperties = []ServerProperty{
	{Name: "BuildClrVersion", Type: "nvarchar(128)"},
	{Name: "Collation", Type: "nvarchar(128)"},
	{Name: "CollationID", Type: "int"},
	{Name: "ComparisonStyle", Type: "int"},
	{Name: "ComputerNamePhysicalNetBIOS", Type: "nvarchar(128)"},
	{Name: "Edition", Type: "nvarchar(128)"},
	{Name: "EditionID", Type: "bigint"},
	{Name: "EngineEdition", Type: "int"},
	{Name: "FilestreamConfiguredLevel", Type: "int"},
	{Name: "FilestreamEffectiveLevel", Type: "int"},
	{Name: "FilestreamShareName", Type: "nvarchar(128)"},
	{Name: "HadrManagerStatus", Type: "int"},
	{Name: "InstanceDefaultBackupPath", Type: "nvarchar(128)", MinMajor: 15},
	{Name: "InstanceDefaultDataPath", Type: "nvarchar(128)"},
	{Name: "InstanceDefaultLogPath", Type: "nvarchar(128)"},
	{Name: "InstanceName", Type: "nvarchar(128)"},
	{Name: "IsAdvancedAnalyticsInstalled", Type: "int"},
	{Name: "IsBigDataCluster", Type: "int", MinMajor: 15},
	{Name: "IsClustered", Type: "int"},
	{Name: "IsExternalAuthenticationOnly", Type: "int", MIOnly: true}, // "Applies to: Azure SQL Database and Azure SQL Managed Instance"
	{Name: "IsExternalGovernanceEnabled", Type: "int", MinMajor: 16},
	{Name: "IsFullTextInstalled", Type: "int"},
	// IsHadrEnabled: 1 when the Always On availability groups feature is enabled.
	{Name: "IsHadrEnabled", Type: "int"},
	{Name: "IsIntegratedSecurityOnly", Type: "int"},
	{Name: "IsLocalDB", Type: "int"},
	{Name: "IsPolyBaseInstalled", Type: "int"},
	// The page gives no version for the snapshot-backup properties; T-SQL snapshot
	// backup (ALTER SERVER CONFIGURATION SET SUSPEND_FOR_SNAPSHOT_BACKUP) came with 2022.
	{Name: "IsServerSuspendedForSnapshotBackup", Type: "int", MinMajor: 16},
	{Name: "IsSingleUser", Type: "int"},
	{Name: "IsTempDbMetadataMemoryOptimized", Type: "int", MinMajor: 15},
	{Name: "IsXTPSupported", Type: "int"},
	{Name: "LCID", Type: "int"},
	{Name: "LicenseType", Type: "nvarchar(128)"},
	{Name: "MachineName", Type: "nvarchar(128)"},
	{Name: "NumLicenses", Type: "int"},
	{Name: "PathSeparator", Type: "nvarchar(1)", MinMajor: 14},
	{Name: "ProcessID", Type: "int"},
	{Name: "ProductBuild", Type: "nvarchar(128)"},
	{Name: "ProductBuildType", Type: "nvarchar(128)"},
	{Name: "ProductLevel", Type: "nvarchar(128)"},
	{Name: "ProductMajorVersion", Type: "nvarchar(128)"},
	{Name: "ProductMinorVersion", Type: "nvarchar(128)"},
	{Name: "ProductUpdateLevel", Type: "nvarchar(128)"},
	// ProductUpdateType: CU (the SQL Server 2022 or 2025 update policy) or Continuous
	// (Always-up-to-date) on a managed instance; "Check update policy" in
	// https://learn.microsoft.com/azure/azure-sql/managed-instance/update-policy.
	{Name: "ProductUpdateType", Type: "nvarchar(128)", MIOnly: true},
	{Name: "ProductUpdateReference", Type: "nvarchar(128)"},
	{Name: "ProductVersion", Type: "nvarchar(128)"},
	{Name: "ResourceLastUpdateDateTime", Type: "datetime"},
	{Name: "ResourceVersion", Type: "nvarchar(128)"},
	{Name: "ServerName", Type: "nvarchar(128)"},
	{Name: "SqlCharSet", Type: "tinyint"},
	{Name: "SqlCharSetName", Type: "nvarchar(128)"},
	{Name: "SqlSortOrder", Type: "tinyint"},
	{Name: "SqlSortOrderName", Type: "nvarchar(128)"},
	{Name: "SuspendedDatabaseCount", Type: "int", MinMajor: 16},
}

func init() {
	for i := range ServerProperties {
		ServerProperties[i].Source = serverPropertyPage
	}
}

// ServerPropertyOn returns the SERVERPROPERTY property called name
// (case-insensitively) as personality p has it; ok false means SERVERPROPERTY returns
// NULL there.
func ServerPropertyOn(p Personality, name string) (ServerProperty, bool) {
	for _, sp := range ServerProperties {
		if !strings.EqualFold(sp.Name, name) {
			continue
		}
		if p.MI {
			return sp, !sp.BoxOnly
		}
		return sp, !sp.MIOnly && p.Major >= sp.MinMajor
	}
	return ServerProperty{}, false
}
