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
	// MinMajor is the first major version that has the column when it came later than
	// its object (e.g. sys.dm_database_encryption_keys.encryption_state_desc: 15); 0
	// means every version the object exists in. A managed instance has every column.
	MinMajor int
}

// Availability says where an object exists. Versions are major versions: 13 = SQL
// Server 2016, 14 = 2017, 15 = 2019, 16 = 2022, 17 = 2025. MaxMajor 0 means "every
// later version".
type Availability struct {
	MinMajor int
	MaxMajor int
	Windows  bool // exists on SQL Server on Windows
	Linux    bool // exists on SQL Server on Linux
	MI       bool // exists on Azure SQL Managed Instance
	BoxOnly  bool // documented as not available on MI (informational; MI false says the same)
	// MinBuild lists, per major version, the first build that has the object when it
	// came with a servicing update (e.g. sp_certificate_add_issuer: "13.0.7000.253",
	// the 2016 Azure Connect pack); a personality of that major with an older
	// ProductVersion lacks it. Majors not listed have it from their first build.
	MinBuild []string
	// Condition says in words when the object exists beyond versions and platforms
	// ("installed with the Azure Connect pack"); informational.
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
	EditionID      int64    // SERVERPROPERTY('EditionID'), e.g. 1872460670 (Enterprise: Core-based)
	EngineEdition  int      // SERVERPROPERTY('EngineEdition'): 3 Enterprise, 2 Standard, 8 MI
	ProductLevel   string   // SERVERPROPERTY('ProductLevel'), e.g. "SP3", "RTM"
	// UpdateLevel is SERVERPROPERTY('ProductUpdateLevel'), e.g. "CU31"; "" when none
	// (SERVERPROPERTY returns NULL).
	UpdateLevel string
	// UpdateReference is SERVERPROPERTY('ProductUpdateReference'), the KB article of
	// the build, e.g. "KB5038325"; "" when unknown (NULL).
	UpdateReference string
	Distribution    string // sys.dm_os_host_info.host_distribution, e.g. "Windows Server 2022 Datacenter", "Ubuntu"
	HostRelease     string // sys.dm_os_host_info.host_release, e.g. "10.0", "22.04"
	// VersionText is the whole @@VERSION text as that build prints it (lines separated
	// by "\n\t" as SQL Server does); it holds no format verbs.
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
	for _, b := range a.MinBuild {
		if bm, _, err := parseVersion(b); err == nil && bm == p.Major && compareBuilds(p.ProductVersion, b) < 0 {
			return false
		}
	}
	if p.Platform == Linux {
		return a.Linux
	}
	return a.Windows
}

// Lookup finds an object by database, schema and name, case-insensitively, as
// personality p has it; ok is false when p has no such object (the caller raises
// Msg 208 or, for procedures, Msg 2812).
//
// database is the name's database part, or the session's current database when the
// name has none ("" matches every database). Objects of the sys schema (catalog
// views, DMVs, system procedures) exist in every database; msdb's tables and
// procedures only in msdb. schema "" stands for the default schema dbo; as in SQL
// Server, a system procedure whose name starts with sp_ or xp_ is also found under
// dbo or with no schema ("EXEC sp_configure", "EXEC master.dbo.sp_configure"), but a
// sys view is not ("SELECT * FROM databases" fails with Msg 208).
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
