// Package catalog is sqlsim's catalog as data: the catalog views, dynamic management
// views, functions, msdb tables and procedures that milink and the scripts of
// Microsoft's "Prepare your environment for a link" page touch, with their columns
// and types, the versions and platforms they exist on, the permission they need, and
// the Microsoft page each entry was taken from.
//
// The simulator's T-SQL evaluator resolves every object name through a Personality:
// a name the personality lacks fails as SQL Server fails (Msg 208 "Invalid object
// name"), a column the object lacks with Msg 207, and a missing permission with
// Msg 300 (VIEW SERVER STATE and friends) or Msg 229 (EXECUTE/SELECT).
//
// The package holds no instance state: which rows an object returns is the
// simulator's business (package sqlsim); this package says only what exists.
package catalog

// Platform is the host operating system of a SQL Server instance.
type Platform string

// Platforms.
const (
	Windows Platform = "Windows"
	Linux   Platform = "Linux"
)

// Kind is what sort of object an Object is.
type Kind string

// Object kinds.
const (
	View      Kind = "view"      // catalog view, e.g. sys.databases
	DMV       Kind = "dmv"       // dynamic management view, e.g. sys.dm_os_host_info
	Table     Kind = "table"     // a system table, e.g. msdb.dbo.sysjobs
	Procedure Kind = "procedure" // a stored procedure, e.g. msdb.dbo.sp_add_job
	Function  Kind = "function"  // a built-in or table-valued function
)

// Column is one column of a view or table. Type is the T-SQL type as Microsoft's page
// writes it ("int", "nvarchar(60)", "sysname", "datetime", "uniqueidentifier",
// "varbinary(85)", "bit", "sql_variant" ...).
type Column struct {
	Name     string
	Type     string
	Nullable bool
}

// Availability says where an object exists. Versions are major versions: 13 = SQL
// Server 2016, 14 = 2017, 15 = 2019, 16 = 2022, 17 = 2025. MaxMajor 0 means "every
// later version".
type Availability struct {
	MinMajor  int
	MaxMajor  int
	Windows   bool // exists on SQL Server on Windows
	Linux     bool // exists on SQL Server on Linux
	MI        bool // exists on Azure SQL Managed Instance
	BoxOnly   bool // documented as not available on MI (informational; MI false says the same)
	Condition string
}

// Object is one catalog object.
type Object struct {
	Database string // "master", "msdb", or "" for objects visible from every database (sys views)
	Schema   string // "sys" or "dbo"
	Name     string // lower-case as documented, e.g. "dm_os_host_info"
	Kind     Kind
	Columns  []Column // views and tables; empty for procedures
	// Params are a procedure's parameters in order, with "@" ("@job_name"), and the
	// ones documented as OUTPUT.
	Params []Param
	Avail  Availability
	// Permission is the server or database permission Microsoft's page says the
	// object needs ("VIEW SERVER STATE", "VIEW SERVER SECURITY STATE" (2022+),
	// "sysadmin", "SQLAgentUserRole" ...); "" for objects every login can use
	// (catalog views show only what the caller may see).
	Permission string
	// PermissionFrom is the major version from which Permission applies; before it,
	// PermissionBefore applies (e.g. dm_server_services: VIEW SERVER STATE before 16,
	// VIEW SERVER SECURITY STATE from 16).
	PermissionFrom   int
	PermissionBefore string
	// Source is the Microsoft Learn page (URL) or msdb/driver source this entry was
	// taken from. Every entry has one.
	Source string
}

// Param is one parameter of a procedure.
type Param struct {
	Name   string // with "@"
	Type   string
	Output bool
}

// Personality is one kind of instance the simulator can be: a SQL Server version on
// a platform, or a managed instance.
type Personality struct {
	Name           string   // e.g. "2016 SP3 + Azure Connect pack"
	ProductVersion string   // SERVERPROPERTY('ProductVersion'), e.g. "13.0.7000.253"
	Major          int      // 13 ... 17
	Platform       Platform // Windows or Linux (MI: Windows)
	MI             bool     // Azure SQL Managed Instance (EngineEdition 8)
	Edition        string   // SERVERPROPERTY('Edition')
	EngineEdition  int      // SERVERPROPERTY('EngineEdition'): 3 Enterprise, 2 Standard, 8 MI
	ProductLevel   string   // SERVERPROPERTY('ProductLevel'), e.g. "SP3", "RTM"
	UpdateLevel    string   // SERVERPROPERTY('ProductUpdateLevel'), e.g. "CU31", "" when none
	Distribution   string   // sys.dm_os_host_info.host_distribution
	// VersionText is @@VERSION as that build prints it, with %s for the server-side
	// host line where the real text has one.
	VersionText string
	Source      string // the page the version facts come from
}

// objects and personalities are filled by this package's data files (one file per
// area, each entry citing its page).
var (
	objects       []Object
	personalities []Personality
)

// Objects returns every object the catalog knows, in every version.
func Objects() []Object { return append([]Object(nil), objects...) }

// Personalities returns the built-in personalities, oldest version first, the
// managed instance last.
func Personalities() []Personality { return append([]Personality(nil), personalities...) }

// Has reports whether the object exists on personality p.
func (a Availability) Has(p Personality) bool {
	if p.MI {
		return a.MI
	}
	if p.Major < a.MinMajor || (a.MaxMajor != 0 && p.Major > a.MaxMajor) {
		return false
	}
	if p.Platform == Linux {
		return a.Linux
	}
	return a.Windows
}

// Lookup finds an object by database ("" or "master"/"msdb"/a user database name),
// schema ("" means dbo for tables and procedures, sys for sys objects) and name,
// case-insensitively, as personality p has it; ok is false when p has no such object
// (the caller raises Msg 208 or, for procedures, Msg 2812).
func (p Personality) Lookup(database, schema, name string) (Object, bool) {
	return lookup(p, database, schema, name)
}

// RequiredPermission is the permission o needs on personality p, or "".
func (o Object) RequiredPermission(p Personality) string {
	if o.PermissionFrom != 0 && p.Major < o.PermissionFrom && !p.MI {
		return o.PermissionBefore
	}
	return o.Permission
}

// lookup is Lookup's implementation (see lookup.go).
var lookup = func(p Personality, database, schema, name string) (Object, bool) { return Object{}, false }
