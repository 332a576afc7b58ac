package steps

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/milink/milink/sqlops"
)

// Prerequisites is the outcome of the Prerequisites step on SQL Server.
type Prerequisites struct {
	Server      sqlops.ServerInfo          `json:"server"`
	Support     Support                    `json:"support"`
	Agent       sqlops.AgentState          `json:"agent"`
	Permissions sqlops.Permissions         `json:"permissions"`
	Endpoints   []sqlops.MirroringEndpoint `json:"endpoints,omitempty"`
	Databases   []sqlops.Database          `json:"databases,omitempty"`
	MasterKey   bool                       `json:"master_key"`
	LocalIP     string                     `json:"local_ip,omitempty"`
	Findings    []Finding                  `json:"findings"`
}

// Linux reports whether SQL Server runs on Linux.
func (p *Prerequisites) Linux() bool { return strings.EqualFold(p.Server.HostPlatform, "Linux") }

// Platform returns "Windows" or "Linux", the platform whose fixes apply.
func (p *Prerequisites) Platform() string {
	if p.Linux() {
		return "Linux"
	}
	return "Windows"
}

// AgentUsable reports whether an Agent job with PowerShell steps can run on SQL Server.
func (p *Prerequisites) AgentUsable() bool { return p.Agent.Running() && !p.Linux() }

// MirroringEndpoint returns the existing DATABASE_MIRRORING endpoint, if any.
func (p *Prerequisites) MirroringEndpoint() *sqlops.MirroringEndpoint {
	if len(p.Endpoints) == 0 {
		return nil
	}
	return &p.Endpoints[0]
}

const serverSQL = "SQL Server"

// checkPrerequisites runs every prerequisite query on SQL Server and grades the answers.
// databases limits the database checks to those names (all user databases when empty).
func checkPrerequisites(ctx context.Context, c *sqlops.Conn, databases []string) (*Prerequisites, error) {
	p := &Prerequisites{}
	var err error
	if p.Server, err = c.ServerInfo(ctx); err != nil {
		return nil, err
	}
	if p.MasterKey, err = c.HasMasterKey(ctx); err != nil {
		return nil, err
	}
	flags, err := c.TraceFlags(ctx)
	if err != nil {
		return nil, err
	}
	if p.Agent, err = c.Agent(ctx); err != nil {
		return nil, err
	}
	if p.Permissions, err = c.Permissions(ctx); err != nil {
		return nil, err
	}
	if p.Endpoints, err = c.MirroringEndpoints(ctx); err != nil {
		return nil, err
	}
	dbs, err := c.Databases(ctx)
	if err != nil {
		return nil, err
	}
	hasIssuer, err := c.HasAddIssuer(ctx)
	if err != nil {
		return nil, err
	}
	if p.LocalIP, err = c.LocalAddress(ctx); err != nil {
		return nil, err
	}
	plat := p.Platform()
	add := func(f Finding) {
		f.Server = serverSQL
		p.Findings = append(p.Findings, f)
	}

	// Version and edition.
	v, verr := ParseVersion(p.Server.ProductVersion)
	if verr != nil {
		add(Finding{ID: "version", Severity: Fail, Title: "SQL Server version could not be read", Detail: verr.Error()})
	} else {
		p.Support = LinkSupport(v, plat)
		switch {
		case p.Server.IsManagedInstance():
			add(Finding{ID: "version", Severity: Fail, Title: "The SQL Server connection points at a managed instance",
				Detail: "Give the SQL Server instance you want to link from (EngineEdition is 8 here)."})
		case !p.Support.SQLToMI:
			f := Finding{ID: "version", Severity: Fail, Title: fmt.Sprintf("%s %s is not supported by the link", p.Support.Product, v),
				Detail: p.Support.Reason + "."}
			if p.Support.NeedsUpdate != "" {
				f.Fixes = []Fix{{Platform: plat, Command: fmt.Sprintf("Install the cumulative update / Azure Connect pack that brings SQL Server to %s or later, then restart SQL Server.", p.Support.NeedsUpdate)}}
			}
			add(f)
		case !p.Support.MIToSQL:
			add(Finding{ID: "version", Severity: Pass, Title: fmt.Sprintf("%s %s is supported", p.Support.Product, v),
				Detail: "Supported with SQL Server as the initial primary; " + p.Support.Reason + "."})
		default:
			add(Finding{ID: "version", Severity: Pass, Title: fmt.Sprintf("%s %s is supported in both directions", p.Support.Product, v)})
		}
	}
	ed := strings.ToLower(p.Server.Edition)
	if !p.Server.IsManagedInstance() && !(strings.Contains(ed, "enterprise") || strings.Contains(ed, "standard") || strings.Contains(ed, "developer")) {
		add(Finding{ID: "edition", Severity: Fail, Title: "Edition " + p.Server.Edition + " is not supported",
			Detail: "The link needs Enterprise, Standard or Developer edition."})
	} else {
		add(Finding{ID: "edition", Severity: Pass, Title: "Edition: " + p.Server.Edition})
	}
	dist := strings.ToLower(p.Server.HostDistribution)
	if strings.Contains(dist, "windows 10") || strings.Contains(dist, "windows 11") {
		add(Finding{ID: "os", Severity: Fail, Title: "SQL Server on a Windows client OS is not supported",
			Detail: p.Server.HostDistribution + ": the link needs Windows Server or Linux."})
	}
	if !hasIssuer && !p.Server.IsManagedInstance() && p.Support.SQLToMI && v[0] < 16 {
		add(Finding{ID: "service-update", Severity: Fail, Title: "The link's service update is missing",
			Detail: "sys.sp_certificate_add_issuer does not exist (Msg 2812 when the link is created): install the Azure Connect pack / required CU."})
	}

	// Master key.
	if p.MasterKey {
		add(Finding{ID: "master-key", Severity: Pass, Title: "Database master key exists in master"})
	} else {
		add(Finding{ID: "master-key", Severity: Fail, Title: "No database master key in master",
			Detail: "The link's certificates are protected by the master key. Choose a strong password and keep it safe; milink's own test certificate does not need it.",
			Fixes:  []Fix{{Platform: "T-SQL", Command: "USE master; CREATE MASTER KEY ENCRYPTION BY PASSWORD = '<strong_password>';"}}})
	}

	// Availability groups.
	if p.Server.HadrEnabled {
		add(Finding{ID: "hadr", Severity: Pass, Title: "Always On availability groups are enabled"})
	} else {
		add(Finding{ID: "hadr", Severity: Fail, Title: "Always On availability groups are disabled",
			Detail: "The link is built on availability groups. Enabling the feature needs a SQL Server restart.",
			Fixes: []Fix{
				{Platform: "Windows", Command: fmt.Sprintf("Enable-SqlAlwaysOn -ServerInstance '%s' -Force   # SqlServer module; restarts the service (or: Configuration Manager > SQL Server > Properties > Always On)", p.Server.ServerName)},
				{Platform: "Linux", Command: "sudo /opt/mssql/bin/mssql-conf set hadr.hadrenabled 1 && sudo systemctl restart mssql-server"},
			}})
	}

	// Trace flags (recommended).
	for _, tf := range []struct {
		flag int
		why  string
	}{{1800, "optimizes log I/O when the replicas' disks have different sector sizes"}, {9567, "compresses the seeding data stream"}} {
		on := slices.ContainsFunc(flags, func(f TraceFlagRow) bool { return f.Flag == tf.flag && f.Status && f.Global })
		if on {
			add(Finding{ID: fmt.Sprintf("trace-flag-%d", tf.flag), Severity: Pass, Title: fmt.Sprintf("Trace flag %d is on", tf.flag)})
			continue
		}
		add(Finding{ID: fmt.Sprintf("trace-flag-%d", tf.flag), Severity: Warn, Title: fmt.Sprintf("Trace flag %d is off (recommended)", tf.flag),
			Detail: fmt.Sprintf("-T%d %s. Add it as a startup parameter so it survives restarts.", tf.flag, tf.why),
			Fixes: []Fix{
				{Platform: "Windows", Command: fmt.Sprintf("SQL Server Configuration Manager > SQL Server Services > Properties > Startup Parameters: add -T%d, then restart SQL Server (DBCC TRACEON(%d, -1) turns it on until the next restart)", tf.flag, tf.flag)},
				{Platform: "Linux", Command: fmt.Sprintf("sudo /opt/mssql/bin/mssql-conf traceflag %d on && sudo systemctl restart mssql-server", tf.flag)},
			}})
	}

	// Agent.
	switch {
	case p.Agent.Running():
		add(Finding{ID: "agent", Severity: Pass, Title: "SQL Server Agent is running"})
	default:
		st := p.Agent.Status
		if st == "" {
			st = "not visible"
		}
		add(Finding{ID: "agent", Severity: Fail, Title: "SQL Server Agent is not running (" + st + ")",
			Detail: "The SQL Server → managed instance test runs as an Agent job; without Agent it cannot run.",
			Fixes: []Fix{
				{Platform: "Windows", Command: "Set-Service -Name SQLSERVERAGENT -StartupType Automatic; Start-Service -Name SQLSERVERAGENT   # named instance: SQLAgent$<INSTANCE>"},
				{Platform: "Linux", Command: "sudo /opt/mssql/bin/mssql-conf set sqlagent.enabled true && sudo systemctl restart mssql-server"},
			}})
	}
	if p.Linux() {
		add(Finding{ID: "linux-agent", Severity: Warn, Title: "SQL Server on Linux: Agent cannot run the PowerShell probe",
			Detail: "SQL Agent on Linux runs only T-SQL steps, so the SQL Server → managed instance probe cannot run as a job there. Run the probe on the SQL Server host instead (see the Results for the exact command). The managed instance → SQL Server test is not affected."})
	}

	// Permissions.
	if p.Permissions.Sysadmin {
		add(Finding{ID: "sysadmin", Severity: Pass, Title: fmt.Sprintf("Login %s is sysadmin", p.Permissions.Login)})
	} else {
		f := Finding{ID: "sysadmin", Severity: Fail, Title: fmt.Sprintf("Login %s is not sysadmin", p.Permissions.Login),
			Detail: "Creating the link and the test endpoint needs sysadmin.",
			Fixes:  []Fix{{Platform: "T-SQL", Command: fmt.Sprintf("ALTER SERVER ROLE sysadmin ADD MEMBER %s;", sqlops.QuoteIdentifier(p.Permissions.Login))}}}
		if p.Permissions.AgentOperator {
			f.Detail += " The login may create the test jobs (SQLAgentOperatorRole)."
		}
		add(f)
	}

	// Existing endpoint.
	if ep := p.MirroringEndpoint(); ep != nil {
		if _, ours := c.OwnedEndpoint(ep.Name, ep.CertificateName, ep.CertificateSubject); ours {
			add(Finding{ID: "endpoint", Severity: Info, Title: fmt.Sprintf("Endpoint %s was created by milink", ep.Name),
				Detail: "milink removes it before testing when its run is over, and leaves it alone while that run is still running."})
		} else {
			f := Finding{ID: "endpoint", Severity: Pass, Title: fmt.Sprintf("Database mirroring endpoint %s exists (port %d, %s)", ep.Name, ep.Port, ep.State),
				Detail: "milink reuses it for the managed instance → SQL Server test and never changes it."}
			var issues []string
			if ep.State != "STARTED" {
				issues = append(issues, "it is "+ep.State+" (the managed instance cannot connect)")
			}
			if !strings.EqualFold(ep.Auth, "CERTIFICATE") && !strings.Contains(strings.ToUpper(ep.Auth), "CERTIFICATE") {
				issues = append(issues, "it does not use CERTIFICATE authentication")
			}
			if !strings.Contains(strings.ToUpper(ep.Encryption), "AES") {
				issues = append(issues, "its encryption is not AES")
			}
			if len(issues) > 0 {
				f.Severity = Warn
				f.Detail = "The link needs a started endpoint with certificate authentication and AES encryption: " + strings.Join(issues, "; ") + ". milink reuses it as it is."
				f.Fixes = []Fix{{Platform: "T-SQL", Command: fmt.Sprintf("ALTER ENDPOINT %s STATE = STARTED;   -- and review AUTHENTICATION / ENCRYPTION", sqlops.QuoteIdentifier(ep.Name))}}
			}
			add(f)
		}
	}

	// Databases.
	p.Databases = dbs
	want := map[string]bool{}
	for _, d := range databases {
		want[strings.ToLower(d)] = true
	}
	found := map[string]bool{}
	for _, d := range dbs {
		if len(want) > 0 && !want[strings.ToLower(d.Name)] {
			continue
		}
		found[strings.ToLower(d.Name)] = true
		p.Findings = append(p.Findings, databaseFindings(d, plat)...)
	}
	for _, d := range databases {
		if !found[strings.ToLower(d)] {
			add(Finding{ID: "database:" + d, Severity: Fail, Title: fmt.Sprintf("Database %s does not exist on SQL Server", d)})
		}
	}
	return p, nil
}

// TraceFlagRow is one row of DBCC TRACESTATUS.
type TraceFlagRow = sqlops.TraceFlag

func databaseFindings(d sqlops.Database, plat string) []Finding {
	var out []Finding
	q := sqlops.QuoteIdentifier(d.Name)
	add := func(f Finding) { f.Server = serverSQL; out = append(out, f) }
	ok := true
	if !strings.EqualFold(d.RecoveryModel, "FULL") {
		ok = false
		add(Finding{ID: "database:" + d.Name + ":recovery", Severity: Fail, Title: fmt.Sprintf("Database %s uses the %s recovery model", d.Name, d.RecoveryModel),
			Detail: "Databases replicated by the link must use the FULL recovery model.",
			Fixes:  []Fix{{Platform: "T-SQL", Command: fmt.Sprintf("ALTER DATABASE %s SET RECOVERY FULL;", q)}}})
	}
	if d.LastFullBackup == nil {
		ok = false
		path := `D:\Backup\` + d.Name + ".bak"
		if plat == "Linux" {
			path = "/var/opt/mssql/data/" + d.Name + ".bak"
		}
		add(Finding{ID: "database:" + d.Name + ":backup", Severity: Fail, Title: fmt.Sprintf("Database %s has no full backup", d.Name),
			Detail: "The link needs at least one full backup of the database.",
			Fixes:  []Fix{{Platform: "T-SQL", Command: fmt.Sprintf("BACKUP DATABASE %s TO DISK = N'%s';", q, strings.ReplaceAll(path, "'", "''"))}}})
	}
	if d.LogFiles > 1 {
		ok = false
		add(Finding{ID: "database:" + d.Name + ":logfiles", Severity: Fail, Title: fmt.Sprintf("Database %s has %d log files", d.Name, d.LogFiles),
			Detail: "Databases with several log files can't be replicated to a managed instance."})
	}
	if d.FilestreamFiles > 0 {
		ok = false
		add(Finding{ID: "database:" + d.Name + ":filestream", Severity: Fail, Title: fmt.Sprintf("Database %s uses FILESTREAM/FileTable", d.Name),
			Detail: "FILESTREAM and FileTable are not supported by the link."})
	}
	if d.EncryptionState == 3 {
		add(Finding{ID: "database:" + d.Name + ":tde", Severity: Warn, Title: fmt.Sprintf("Database %s is protected by TDE", d.Name),
			Detail: "Migrate its TDE certificate to the managed instance before creating the link."})
	}
	if ok {
		add(Finding{ID: "database:" + d.Name, Severity: Pass, Title: fmt.Sprintf("Database %s: FULL recovery, backed up", d.Name)})
	}
	return out
}
