package sqlsim

import (
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/milink/milink/sqlsim/catalog"
)

// Role is the personality of a simulated instance.
type Role string

// Roles.
const (
	RoleSQLServer Role = "sqlserver"
	RoleMI        Role = "mi"
)

// Login is a SQL login of the simulated instance.
type Login struct {
	Name          string
	Password      string
	Sysadmin      bool
	AgentOperator bool // member of msdb's SQLAgentOperatorRole
	// Windows makes Name (DOMAIN\user) a Windows login (CREATE LOGIN [DOM\user] FROM
	// WINDOWS): it logs in with Kerberos or NTLM, never with a SQL password. Password
	// is then the domain account's password, which the simulated domain controller
	// checks NTLMv2 responses against ("" for Kerberos only).
	Windows bool
}

// KerberosConfig lets the instance accept Kerberos logins (SPNEGO in LOGIN7's SSPI
// data) like a SQL Server whose service account has the SPN registered.
type KerberosConfig struct {
	Keytab []byte // the service account's keytab (MIT keytab file contents)
	// SPN is the service principal the keytab holds, e.g.
	// MSSQLSvc/sql.example.test:1433@EXAMPLE.TEST ("@REALM" optional).
	SPN string
	// Domain is the NetBIOS domain name Kerberos principals of the realm map to
	// (user@REALM → DOMAIN\user); default: the realm's first label.
	Domain string
}

// Database is a user database of the simulated instance.
type Database struct {
	Name            string
	RecoveryModel   string // FULL, SIMPLE, BULK_LOGGED
	LastFullBackup  *time.Time
	LogFiles        int
	FilestreamFiles int
	EncryptionState int // 3 = encrypted (TDE)
}

// EndpointSpec is an endpoint that exists before milink runs (a user's object).
type EndpointSpec struct {
	Name       string
	Type       string // DATABASE_MIRRORING (default) or TSQL
	State      string // STARTED (default), STOPPED, DISABLED
	Port       int
	CertName   string
	Auth       string // CERTIFICATE (default), WINDOWS NEGOTIATE, ...
	Encryption string // AES (default), RC4, NONE
	Role       string // ALL (default)
}

// CertSpec is a certificate that exists before milink runs.
type CertSpec struct {
	Name    string
	Subject string
}

// JobSpec is an Agent job that exists before milink runs.
type JobSpec struct {
	Name        string
	Description string
	Category    string // an msdb job category (created with sp_add_category when missing); "" = uncategorized
}

// Options describe a simulated instance.
//
// Personality, when set (see FindPersonality), overrides ProductVersion, Edition,
// Platform, Distribution and Role; otherwise the personality is derived from them.
// NoEncryption makes the instance answer ENCRYPT_NOT_SUP in PRELOGIN, for clients that
// cannot verify the simulator's certificate (milink sim --encrypt off).
type Options struct {
	Personality  catalog.Personality
	NoEncryption bool
	// EntraOnly refuses SQL logins as a managed instance (or Azure SQL logical server)
	// with Microsoft Entra-only authentication does: error 18456, "Login failed for user
	// '<name>'. Reason: Azure Active Directory only authentication is enabled. Please
	// contact your system administrator." (learn.microsoft.com/azure/azure-sql/database/
	// authentication-azure-ad-only-authentication); Entra token logins still work.
	EntraOnly      bool
	Role           Role
	ServerName     string // @@SERVERNAME
	ProductVersion string // e.g. 16.0.4135.4
	Edition        string // e.g. "Enterprise Edition (64-bit)"
	Platform       string // Windows or Linux
	Distribution   string // host_distribution
	HadrEnabled    bool
	TraceFlags     []int
	MasterKey      bool
	AgentRunning   bool
	AgentXPs       bool
	AddIssuerProc  bool // sp_certificate_add_issuer exists
	// Directories are the SQL Server host's directories as the service account sees
	// them: path → whether the service may write there (BACKUP TO DISK, xp_fileexist).
	// nil: the platform's default data and backup directories, both writable.
	Directories  map[string]bool
	Logins       []Login
	Databases    []Database
	Endpoints    []EndpointSpec
	Certificates []CertSpec
	Jobs         []JobSpec
	// JobStartLatency is the Agent's job pickup: the time from sp_start_job to the job's
	// first step (the Agent polls for work).
	JobStartLatency time.Duration
	// StepLatency is the start of the PowerShell process of each PowerShell step
	// (SQLPS.exe or powershell.exe), before its script runs.
	StepLatency time.Duration
	// SQLPSLoad is the load of the SQLPS module that a PowerShell step pays on top of
	// StepLatency before SQL Server 2019, and from 2019 on unless its first line is
	// #NOSQLPS (see loadsSQLPS).
	SQLPSLoad time.Duration
	// TncTimeout is how long Test-NetConnection takes on a port that does not answer
	// (it has no timeout: ~21 s per address in practice).
	TncTimeout  time.Duration
	Network     *Network
	IP          string // the instance's own virtual IP address (local_net_address)
	HostNames   []string
	FQDN        string // MI: DnsRecordName
	NodeName    string // MI: current primary node, e.g. DB123
	ClusterName string // MI: e.g. tr123456.west-us.worker.database.windows.net
	HadrPort    int    // MI: e.g. 11002
	Listen      string // TDS listen address, default 127.0.0.1:0
	TLS         *tls.Config
	Logger      *slog.Logger
	// Kerberos, when set, accepts Kerberos logins for Windows logins; NTLM logins
	// are accepted whenever a Windows login has a password.
	Kerberos *KerberosConfig
	// NTLMDomain is the NetBIOS domain name the instance announces in NTLM
	// challenges (default "CONTOSO").
	NTLMDomain string
	// ServiceTier is a managed instance's service tier as
	// master.sys.server_resource_stats reports it in sku: TierGeneralPurpose (the
	// default when empty) or TierBusinessCritical (resourcestats.go); milink sim sets
	// it with --mi-tier.
	ServiceTier string
	// UpdatePolicy is a managed instance's update policy (Resource Manager's
	// databaseFormat): UpdatePolicySQLServer2022 (the default when empty),
	// UpdatePolicySQLServer2025 or UpdatePolicyAlwaysUpToDate. T-SQL sees it only as
	// SERVERPROPERTY('ProductUpdateType'): CU or Continuous.
	UpdatePolicy string
}

// Managed instance update policies (Options.UpdatePolicy), spelled as Resource
// Manager's databaseFormat (https://learn.microsoft.com/azure/azure-sql/managed-instance/update-policy).
const (
	UpdatePolicySQLServer2022  = "SQLServer2022"
	UpdatePolicySQLServer2025  = "SQLServer2025"
	UpdatePolicyAlwaysUpToDate = "AlwaysUpToDate"
)

// SQLServerDefaults returns a healthy SQL Server 2022 CU14 on Windows with every link
// prerequisite met, a sysadmin login "sa" with password "Sim-Passw0rd!", and one database.
func SQLServerDefaults() Options {
	backup := time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)
	return Options{
		Role:            RoleSQLServer,
		ServerName:      "SQLPROD01",
		ProductVersion:  "16.0.4135.4",
		Edition:         "Enterprise Edition (64-bit)",
		Platform:        "Windows",
		Distribution:    "Windows Server 2022 Datacenter",
		HadrEnabled:     true,
		TraceFlags:      []int{1800, 9567},
		MasterKey:       true,
		AgentRunning:    true,
		AgentXPs:        true,
		AddIssuerProc:   true,
		Logins:          []Login{{Name: "sa", Password: "Sim-Passw0rd!", Sysadmin: true}},
		Databases:       []Database{{Name: "SalesDB", RecoveryModel: "FULL", LastFullBackup: &backup, LogFiles: 1}},
		JobStartLatency: 200 * time.Millisecond,
		StepLatency:     200 * time.Millisecond,
		TncTimeout:      21 * time.Second,
		IP:              "10.1.0.4",
		HostNames:       []string{"sqlprod01.contoso.local"},
	}
}

// MIDefaults returns a managed instance whose admin login is "miadmin" with password
// "Sim-Passw0rd!", and whose HADR parameters look like a real one's.
func MIDefaults() Options {
	return Options{
		Role:            RoleMI,
		ServerName:      "sqlmi-demo",
		ProductVersion:  "12.0.2000.8", // what SERVERPROPERTY('ProductVersion') reports on a managed instance
		Edition:         "SQL Azure",
		Platform:        "Windows",
		Distribution:    "Windows Server 2022 Datacenter",
		HadrEnabled:     true,
		MasterKey:       true,
		AgentRunning:    true,
		AgentXPs:        true,
		AddIssuerProc:   true,
		Logins:          []Login{{Name: "miadmin", Password: "Sim-Passw0rd!", Sysadmin: true}},
		JobStartLatency: 200 * time.Millisecond,
		StepLatency:     200 * time.Millisecond,
		TncTimeout:      21 * time.Second,
		IP:              "10.0.0.10",
		FQDN:            "sqlmi-demo.6d710bcf372b.database.windows.net",
		NodeName:        "DB123",
		ClusterName:     "tr123456.west-us.worker.database.windows.net",
		HadrPort:        11002,
	}
}
