package steps

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

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
	// BackupPath is SQL Server's default backup directory
	// (SERVERPROPERTY('InstanceDefaultBackupPath'), 2019 and later; "" before).
	BackupPath string `json:"-"`
	// Unchecked lists what this login could not read (each has a finding saying why).
	Unchecked []string  `json:"unchecked,omitempty"`
	Findings  []Finding `json:"findings"`
}

// Checked reports whether the prerequisite what (as named in Unchecked) was read.
func (p *Prerequisites) Checked(what string) bool { return !slices.Contains(p.Unchecked, what) }

// NotSysadmin reports whether the SQL Server login is known not to be sysadmin: it can
// then neither run PowerShell job steps without a proxy (job steps other than T-SQL
// owned by a non-sysadmin need one,
// https://learn.microsoft.com/sql/ssms/agent/create-a-sql-server-agent-proxy) nor create
// the test certificate and endpoint (CREATE ENDPOINT,
// https://learn.microsoft.com/sql/t-sql/statements/create-endpoint-transact-sql#permissions).
func (p *Prerequisites) NotSysadmin() bool {
	return p.Checked("the login's permissions") && !p.Permissions.Sysadmin
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
	add := func(f Finding) {
		f.Server = serverSQL
		p.Findings = append(p.Findings, f)
	}
	// A query this login may not run (Msg 300 without VIEW SERVER STATE, 229, 916) or
	// an object this version lacks (208) leaves that check undone, with a finding that
	// says why; any other error (a broken connection) stops the step.
	var unchecked []string
	tolerate := func(id, what string, err error) error {
		if err == nil || !sqlops.Unreadable(err) {
			return err
		}
		unchecked = append(unchecked, what)
		add(Finding{ID: id, Severity: Warn, Title: "Could not check " + what,
			Detail: fmt.Sprintf("The login may not read it (%v). Connect as sysadmin, or grant what the error names: VIEW SERVER STATE for Msg 300 (on SQL Server 2022 and later also VIEW SERVER SECURITY STATE and VIEW SERVER PERFORMANCE STATE), SELECT on the object for Msg 229.", err),
			Fixes:  []Fix{{Platform: "T-SQL", Command: "GRANT VIEW SERVER STATE TO <login>;   -- 2022+: also GRANT VIEW SERVER SECURITY STATE, VIEW SERVER PERFORMANCE STATE TO <login>; Msg 229 on msdb: USE msdb; GRANT SELECT ON dbo.<table> TO <user>;"}}})
		return nil
	}
	var err error
	if p.Server, err = c.ServerInfo(ctx); err != nil {
		return nil, err
	}
	if err = tolerate("master-key", "the database master key", func() (e error) { p.MasterKey, e = c.HasMasterKey(ctx); return }()); err != nil {
		return nil, err
	}
	flags, err := c.TraceFlags(ctx)
	if err = tolerate("trace-flags", "the trace flags", err); err != nil {
		return nil, err
	}
	flagsKnown := !slices.Contains(unchecked, "the trace flags")
	if p.Agent, err = c.Agent(ctx); err != nil {
		return nil, err
	}
	if err = tolerate("sysadmin", "the login's permissions", func() (e error) { p.Permissions, e = c.Permissions(ctx); return }()); err != nil {
		return nil, err
	}
	permsKnown := !slices.Contains(unchecked, "the login's permissions")
	if err = tolerate("endpoint", "the database mirroring endpoints", func() (e error) { p.Endpoints, e = c.MirroringEndpoints(ctx); return }()); err != nil {
		return nil, err
	}
	dbs, err := c.Databases(ctx)
	if err = tolerate("databases", "the databases", err); err != nil {
		return nil, err
	}
	if p.BackupPath, err = c.DefaultBackupPath(ctx); err != nil && !sqlops.Unreadable(err) {
		return nil, err
	}
	hasIssuer, err := c.HasAddIssuer(ctx)
	if err = tolerate("service-update", "the link's service update", err); err != nil {
		return nil, err
	}
	issuerKnown := !slices.Contains(unchecked, "the link's service update")
	if p.LocalIP, err = c.LocalAddress(ctx); err != nil {
		return nil, err
	}
	plat := p.Platform()
	if p.Server.HostInfoNote != "" {
		add(Finding{ID: "platform", Severity: Info, Title: "Platform: " + plat + " (from @@VERSION)", Detail: p.Server.HostInfoNote + "."})
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
			// MI → SQL Server (MI as initial primary) and failback need the managed
			// instance's update policy to match SQL Server's major version (ARM property
			// databaseFormat: SQLServer2022 / SQLServer2025; AlwaysUpToDate does not):
			// https://learn.microsoft.com/azure/azure-sql/managed-instance/update-policy.
			// Over T-SQL it is unknown; the report judges it again with Resource
			// Manager's databaseFormat when Azure was read (miFit, mifit.go).
			add(Finding{ID: "version", Severity: Pass, Title: fmt.Sprintf("%s %s is supported; both directions only with a matching update policy", p.Support.Product, v),
				Detail: "SQL Server as the initial primary works with any managed instance. The managed instance as the initial primary (MI → SQL Server) and failing back to SQL Server need the managed instance's update policy to match SQL Server's major version (" + p.Support.Product + " update policy, not 'Always-up-to-date'); milink cannot see the update policy over T-SQL: check it in the Azure portal (managed instance > Maintenance and updates > Update policy) or with az sql mi show --query databaseFormat."})
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
	if issuerKnown && !hasIssuer && !p.Server.IsManagedInstance() && p.Support.SQLToMI && v[0] < 16 {
		add(Finding{ID: "service-update", Severity: Fail, Title: "The link's service update is missing",
			Detail: "sys.sp_certificate_add_issuer does not exist (Msg 2812 when the link is created): install the Azure Connect pack / required CU."})
	}

	// Master key.
	p.Unchecked = unchecked
	if !p.Checked("the database master key") {
		// reported by tolerate
	} else if p.MasterKey {
		add(Finding{ID: "master-key", Severity: Pass, Title: "Database master key exists in master"})
	} else {
		add(Finding{ID: "master-key", Severity: Fail, Title: "No database master key in master",
			Detail: "The link's certificates are protected by the master key, and endpoint certificate authentication expects the certificate's private key to be protected by it (Msg 28055), so the managed instance → SQL Server test does not run without one. Choose a strong password and keep it safe.",
			Fixes:  []Fix{{Platform: "T-SQL", Command: "USE master; CREATE MASTER KEY ENCRYPTION BY PASSWORD = '<strong_password>';"}}})
	}

	// Availability groups.
	if p.Server.HadrEnabled {
		add(Finding{ID: "hadr", Severity: Pass, Title: "Always On availability groups are enabled"})
	} else {
		f := Finding{ID: "hadr", Severity: Fail, Title: "Always On availability groups are disabled",
			Detail: "The link is built on availability groups. Enabling the feature needs a SQL Server restart.",
			Fixes: []Fix{
				{Platform: "Windows", Command: fmt.Sprintf("Enable-SqlAlwaysOn -ServerInstance '%s' -Force   # SqlServer module; restarts the service (or: Configuration Manager > SQL Server > Properties > Always On)", p.Server.ServerName)},
				{Platform: "Linux", Command: "sudo /opt/mssql/bin/mssql-conf set hadr.hadrenabled 1 && sudo systemctl restart mssql-server"},
			}}
		if verr == nil && v[0] == 13 {
			// SQL Server 2016 can enable availability groups only on a node of a Windows
			// Server Failover Cluster (2017 added cluster-less groups); the link's
			// preparation page asks for the WSFC on 2016.
			f.Detail += " On SQL Server 2016 the Always On feature can be enabled only when the server is a node of a Windows Server Failover Cluster (WSFC): create a single-node cluster first (Install-WindowsFeature Failover-Clustering; New-Cluster)."
			f.Fixes = append([]Fix{{Platform: "Windows", Command: "Install-WindowsFeature -Name Failover-Clustering -IncludeManagementTools; New-Cluster -Name <cluster-name> -Node $env:COMPUTERNAME -NoStorage   # SQL Server 2016 needs a Windows Server Failover Cluster node"}}, f.Fixes...)
		}
		add(f)
	}

	// Trace flags (recommended).
	for _, tf := range []struct {
		flag int
		why  string
	}{{1800, "optimizes log I/O when the replicas' disks have different sector sizes"}, {9567, "compresses the seeding data stream"}} {
		if !flagsKnown {
			break
		}
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
	p.Findings = append(p.Findings, agentFindings(p)...)

	// Permissions.
	if !permsKnown {
		// reported by tolerate
	} else if p.Permissions.Sysadmin {
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
		} else if _, marked := sqlops.MarkedRunID(ep.CertificateSubject); marked && sqlops.NamedLikeOurs(sqlops.KindEndpoint, ep.Name) {
			// Named as milink names its test endpoint, with a certificate marked by a run
			// this machine's key did not make: most likely another machine's milink test
			// endpoint, not the link's. It is neither passed nor changed.
			add(Finding{ID: "endpoint", Severity: Warn, Title: fmt.Sprintf("Endpoint %s looks like another machine's milink test endpoint, not a link endpoint", ep.Name),
				Detail: "Its name and its certificate's mark are milink's, but not this machine's milink key's: run 'milink cleanup' from the machine that created it, or drop it by hand if no milink run is using it. milink reuses it for the test as it is and never changes it.",
				Fixes:  []Fix{{Platform: "T-SQL", Command: fmt.Sprintf("DROP ENDPOINT %s;   -- then DROP CERTIFICATE %s;", sqlops.QuoteIdentifier(ep.Name), sqlops.QuoteIdentifier(ep.CertificateName))}}})
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
			notAES := !strings.Contains(strings.ToUpper(ep.Encryption), "AES")
			if notAES {
				issues = append(issues, "its encryption is not AES")
			}
			if len(issues) > 0 {
				// The link needs CERTIFICATE authentication with AES encryption (FACTS: the
				// link's endpoint requirements): a running endpoint without them is a
				// prerequisite not met; the network test still runs against it.
				f.Severity = Fail
				f.Title = fmt.Sprintf("Database mirroring endpoint %s is not ready for the link (port %d, %s)", ep.Name, ep.Port, ep.State)
				f.Detail = "The link needs a started endpoint with certificate authentication and AES encryption: " + strings.Join(issues, "; ") + ". milink reuses it as it is for the network test and never changes it."
				q := sqlops.QuoteIdentifier(ep.Name)
				if ep.State != "STARTED" {
					f.Fixes = append(f.Fixes, Fix{Platform: "T-SQL", Command: fmt.Sprintf("ALTER ENDPOINT %s STATE = STARTED;", q)})
				}
				if notAES {
					f.Fixes = append(f.Fixes, Fix{Platform: "T-SQL", Command: fmt.Sprintf("ALTER ENDPOINT %s FOR DATABASE_MIRRORING (ENCRYPTION = REQUIRED ALGORITHM AES);", q)})
				}
				if len(f.Fixes) == 0 {
					f.Fixes = []Fix{{Platform: "T-SQL", Command: fmt.Sprintf("ALTER ENDPOINT %s FOR DATABASE_MIRRORING (AUTHENTICATION = CERTIFICATE <certificate>);", q)}}
				}
			}
			add(f)
			if cf := endpointCertFinding(ep, time.Now()); cf != nil {
				add(*cf)
			}
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
		p.Findings = append(p.Findings, databaseFindings(d, plat, p.BackupPath)...)
	}
	for _, d := range databases {
		switch {
		case isSystemDatabase(d):
			add(Finding{ID: "database:" + d, Severity: Fail, Title: fmt.Sprintf("Database %s is a system database: the link replicates user databases only", d),
				Detail: "master, model, msdb and tempdb cannot be replicated to the managed instance; choose user databases."})
		case !found[strings.ToLower(d)]:
			add(Finding{ID: "database:" + d, Severity: Fail, Title: fmt.Sprintf("Database %s does not exist on SQL Server", d)})
		}
	}
	return p, nil
}

// TraceFlagRow is one row of DBCC TRACESTATUS.
type TraceFlagRow = sqlops.TraceFlag

func databaseFindings(d sqlops.Database, plat, backupDir string) []Finding {
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
	// A full backup counts only while the log chain it started holds: switching to
	// SIMPLE and back to FULL breaks it until the next full (or differential) backup,
	// and sys.database_recovery_status.last_log_backup_lsn is NULL meanwhile ("either
	// the database is in SIMPLE recovery or there is no current database backup",
	// https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-database-recovery-status-transact-sql).
	// In SIMPLE recovery the recovery finding says it; prepare backs up after the switch.
	brokenChain := d.LastFullBackup != nil && d.LogChain != nil && !*d.LogChain && !strings.EqualFold(d.RecoveryModel, "SIMPLE")
	if d.LastFullBackup == nil || brokenChain {
		ok = false
		path := backupFile(backupDir, d.Name, plat)
		f := Finding{ID: "database:" + d.Name + ":backup", Severity: Fail, Title: fmt.Sprintf("Database %s has no full backup", d.Name),
			Detail: "The link needs at least one full backup of the database.",
			Fixes:  []Fix{{Platform: "T-SQL", Command: fmt.Sprintf("BACKUP DATABASE %s TO DISK = N'%s';", q, strings.ReplaceAll(path, "'", "''"))}}}
		if brokenChain {
			f.Title = fmt.Sprintf("Database %s has no full backup since its log chain was broken", d.Name)
			f.Detail = fmt.Sprintf("Its last full backup (%s) does not start a log chain any more: sys.database_recovery_status.last_log_backup_lsn is NULL, which happens when the database was switched to the SIMPLE recovery model after that backup. After switching back to FULL, a new full backup starts the log chain the link needs; take one now.",
				d.LastFullBackup.UTC().Format("2006-01-02 15:04 UTC"))
		}
		add(f)
	}
	if d.LogFiles > 1 {
		ok = false
		add(Finding{ID: "database:" + d.Name + ":logfiles", Severity: Fail, Title: fmt.Sprintf("Database %s has %d log files", d.Name, d.LogFiles),
			Detail: "Databases with several log files can't be replicated to a managed instance."})
	}
	// sys.master_files type 2 covers FILESTREAM and In-Memory OLTP containers; the
	// filegroup type tells them apart (FD / FX). The link's limitations: "Databases
	// with file tables and file streams can't be replicated", and "Databases that use
	// In-Memory OLTP (Hekaton) can be replicated only to the Business Critical service
	// tier" (https://learn.microsoft.com/azure/azure-sql/managed-instance/managed-instance-link-feature-overview#limitations).
	if d.FilestreamFiles > 0 {
		ok = false
		f := Finding{ID: "database:" + d.Name + ":filestream", Severity: Fail, Title: fmt.Sprintf("Database %s uses FILESTREAM/FileTable", d.Name),
			Detail: fmt.Sprintf("%d FILESTREAM container(s) in a FILESTREAM filegroup: FILESTREAM and FileTable are not supported by the link (SQL Managed Instance has neither).", d.FilestreamFiles)}
		if d.FilegroupsUnreadable != "" {
			f.Severity, f.Title = Warn, fmt.Sprintf("Database %s has FILESTREAM-type files: FILESTREAM or In-Memory OLTP", d.Name)
			f.Detail = fmt.Sprintf("sys.master_files shows %d file(s) of type 2, which is both FILESTREAM (not supported by the link) and In-Memory OLTP containers (supported towards a Business Critical managed instance); the database's filegroups, which tell them apart, could not be read (%s). Check as a user of the database: SELECT name, type_desc FROM sys.filegroups WHERE type IN ('FD', 'FX');", d.FilestreamFiles, d.FilegroupsUnreadable)
			f.Fixes = []Fix{{Platform: "T-SQL", Command: fmt.Sprintf("USE %s; SELECT name, type, type_desc FROM sys.filegroups WHERE type IN ('FD', 'FX');   -- FD: FILESTREAM (blocks the link), FX: In-Memory OLTP (Business Critical only)", q)}}
		}
		add(f)
	}
	if d.MemoryOptimizedFiles > 0 {
		add(Finding{ID: "database:" + d.Name + ":inmemory", Severity: Warn, Title: fmt.Sprintf("Database %s uses In-Memory OLTP: the managed instance must be Business Critical", d.Name),
			Detail: "It has a MEMORY_OPTIMIZED_DATA filegroup. The link replicates databases that use In-Memory OLTP only to the Business Critical service tier of SQL Managed Instance; General Purpose does not support In-Memory OLTP.",
			Fixes:  []Fix{{Platform: "Azure", Command: "az sql mi show -g <resource-group> -n <managed-instance> --query sku.tier   # must be BusinessCritical"}}})
	}
	if d.EncryptionState == -1 {
		add(Finding{ID: "database:" + d.Name + ":tde", Severity: Info, Title: fmt.Sprintf("Database %s: TDE state not readable", d.Name),
			Detail: "sys.dm_database_encryption_keys needs VIEW SERVER STATE: if the database is protected by TDE, its certificate must be migrated to the managed instance first."})
	}
	// encryption_state 2 (encryption in progress) to 6 (protection change in progress)
	// need the certificate as much as 3, encrypted (sys-dm-database-encryption-keys).
	if d.EncryptionState >= 2 {
		add(tdeFinding(d, plat))
	}
	if ok {
		add(Finding{ID: "database:" + d.Name, Severity: Pass, Title: fmt.Sprintf("Database %s: FULL recovery, backed up", d.Name)})
	}
	return out
}

// tdeFinding is the finding for a TDE-protected database: its certificate (found by
// the key's encryptor_thumbprint in master.sys.certificates) must be on the managed
// instance before the link seeds it. milink cannot verify that over T-SQL: "Uploaded
// certificate is not visible in the sys.certificates catalog view" of the managed
// instance; RESTORE FILELISTONLY confirms it. The fixes are that page's steps: BACKUP
// CERTIFICATE … WITH PRIVATE KEY, pvk2pfx, then
// Add-AzSqlManagedInstanceTransparentDataEncryptionCertificate
// (https://learn.microsoft.com/azure/azure-sql/managed-instance/tde-certificate-migrate).
func tdeFinding(d sqlops.Database, plat string) Finding {
	cert, thumb := d.TDECertificate, "unknown"
	if len(d.TDEThumbprint) > 0 {
		thumb = fmt.Sprintf("0x%X", d.TDEThumbprint)
	}
	f := Finding{ID: "database:" + d.Name + ":tde", Server: serverSQL, Severity: Warn,
		Title: fmt.Sprintf("Database %s is protected by TDE (certificate %s, thumbprint %s): could not verify it is on the managed instance", d.Name, cert, thumb),
		Detail: "The certificate that protects the database encryption key must be uploaded to the managed instance before the link is created. milink could not verify whether it is there: " +
			"an uploaded TDE certificate is not visible in the managed instance's sys.certificates (Microsoft's \"Migrate a TDE certificate to Azure SQL Managed Instance\"); " +
			"that page confirms an upload with RESTORE FILELISTONLY of the database's backup on the managed instance. If it was not uploaded yet: back it up with its private key, convert it to .pfx and upload it (the fixes)."}
	if cert == "" {
		f.Title = fmt.Sprintf("Database %s is protected by TDE (thumbprint %s): its certificate is not in master", d.Name, thumb)
		f.Detail = "No certificate in master.sys.certificates has the thumbprint of the key's encryptor (sys.dm_database_encryption_keys.encryptor_thumbprint): it may be an asymmetric key (EKM) or the login may not see it. The certificate must be uploaded to the managed instance before the link is created."
		cert = "<certificate>"
	}
	name := strings.Trim(cert, "<>")
	win := `C:\full_path\` + name
	file := win
	if plat == "Linux" {
		file = "/var/opt/mssql/data/" + name
	}
	pvk2pfx := fmt.Sprintf(`pvk2pfx -pvk "%[1]s.pvk" -pi "<strong_password>" -spc "%[1]s.cer" -pfx "%[1]s.pfx"   # Windows Driver Kit`, win)
	f.Fixes = []Fix{
		{Platform: "T-SQL", Command: fmt.Sprintf("USE master; BACKUP CERTIFICATE %s TO FILE = N'%s.cer' WITH PRIVATE KEY (FILE = N'%s.pvk', ENCRYPTION BY PASSWORD = '<strong_password>');",
			sqlops.QuoteIdentifier(cert), strings.ReplaceAll(file, "'", "''"), strings.ReplaceAll(file, "'", "''"))},
		{Platform: "Windows", Command: pvk2pfx},
		{Platform: "Linux", Command: "Copy " + file + ".cer and .pvk to a Windows machine, then: " + pvk2pfx},
		{Platform: "Azure", Command: fmt.Sprintf(`Connect-AzAccount; $blob = ConvertTo-SecureString ([Convert]::ToBase64String([IO.File]::ReadAllBytes('%s.pfx'))) -AsPlainText -Force; Add-AzSqlManagedInstanceTransparentDataEncryptionCertificate -ResourceGroupName <resource-group> -ManagedInstanceName <managed-instance> -PrivateBlob $blob -Password (Read-Host -AsSecureString 'pfx password')   # Az.Sql; Connect-AzAccount -Environment AzureUSGovernment / AzureChinaCloud in those clouds`, win)},
	}
	return f
}

// agentFindings grades SQL Server Agent. On Windows the SQL Server → managed instance
// probe runs as an Agent job, which needs the service running and 'Agent XPs' = 1 (the
// option enables Agent's extended procedures; sp_add_job fails without it:
// https://learn.microsoft.com/sql/database-engine/configure-windows/agent-xps-server-configuration-option).
// On Linux SQL Agent runs only T-SQL steps
// (https://learn.microsoft.com/sql/linux/sql-server-linux-run-sql-server-agent-job), milink
// never uses it there and the link does not need it, so its state is only information.
func agentFindings(p *Prerequisites) []Finding {
	a := p.Agent
	var out []Finding
	add := func(f Finding) { f.Server = serverSQL; out = append(out, f) }
	startFixes := []Fix{
		{Platform: "Windows", Command: "Set-Service -Name SQLSERVERAGENT -StartupType Automatic; Start-Service -Name SQLSERVERAGENT   # named instance: SQLAgent$<INSTANCE>"},
		{Platform: "Linux", Command: "sudo /opt/mssql/bin/mssql-conf set sqlagent.enabled true && sudo systemctl restart mssql-server"},
	}
	if p.Linux() {
		st := a.Status
		if !a.Known() {
			st = "not visible to this login"
		}
		add(Finding{ID: "agent", Severity: Info, Title: "SQL Server Agent: " + st + " (not used on Linux)",
			Detail: "SQL Agent on Linux runs only T-SQL job steps, so milink does not use it there, and the link does not need it."})
		add(Finding{ID: "linux-agent", Severity: Warn, Title: "SQL Server on Linux: Agent cannot run the PowerShell probe",
			Detail: "SQL Agent on Linux runs only T-SQL steps, so the SQL Server → managed instance probe cannot run as a job there. Run the probe on the SQL Server host instead (see the Results for the exact command). The managed instance → SQL Server test is not affected."})
		return out
	}
	xpsOff := a.XPsKnown && !a.AgentXPs
	switch {
	case !a.Known():
		add(Finding{ID: "agent", Severity: Warn, Title: "Could not check whether SQL Server Agent runs",
			Detail: "sys.dm_server_services needs VIEW SERVER STATE (VIEW SERVER SECURITY STATE on SQL Server 2022 and later): " + a.Unreadable + ". milink still tries the Agent job; if it cannot start, the SQL Server → managed instance direction is not tested.",
			Fixes:  []Fix{{Platform: "T-SQL", Command: "GRANT VIEW SERVER STATE TO <login>;   -- 2022+: GRANT VIEW SERVER SECURITY STATE TO <login>;"}}})
	case a.ServiceRunning():
		add(Finding{ID: "agent", Severity: Pass, Title: "SQL Server Agent is running"})
	default:
		st := a.Status
		if st == "" {
			st = "not installed or not visible"
		}
		add(Finding{ID: "agent", Severity: Fail, Title: "SQL Server Agent is not running (" + st + ")",
			Detail: "The SQL Server → managed instance test runs as an Agent job; without Agent it cannot run.", Fixes: startFixes})
	}
	if xpsOff {
		add(Finding{ID: "agent-xps", Severity: Fail, Title: "'Agent XPs' is off",
			Detail: "The 'Agent XPs' server option is 0: Agent's extended stored procedures are disabled, so no job can be created or started (SQL Server turns it on when the Agent service starts; someone turned it off).",
			Fixes:  []Fix{{Platform: "T-SQL", Command: "EXEC sp_configure 'show advanced options', 1; RECONFIGURE; EXEC sp_configure 'Agent XPs', 1; RECONFIGURE;"}}})
	}
	return out
}

// endpointCertFinding reports the expiry of the existing endpoint's certificate: the
// link's endpoints authenticate with it (certificate authentication, CREATE ENDPOINT:
// https://learn.microsoft.com/sql/t-sql/statements/create-endpoint-transact-sql), and
// expiry_date is sys.certificates' (sys-certificates-transact-sql). A warning within 30
// days of expiry, or after. nil when the expiry is unknown.
func endpointCertFinding(ep *sqlops.MirroringEndpoint, now time.Time) *Finding {
	if ep.CertificateExpiry == nil {
		return nil
	}
	exp := ep.CertificateExpiry.UTC()
	days := int(exp.Sub(now.UTC()).Hours() / 24)
	f := &Finding{ID: "endpoint-certificate", Severity: Pass,
		Title: fmt.Sprintf("Endpoint certificate %s expires on %s", ep.CertificateName, exp.Format("2006-01-02"))}
	fix := []Fix{{Platform: "T-SQL", Command: fmt.Sprintf("CREATE CERTIFICATE <new_cert> WITH SUBJECT = N'<subject>', EXPIRY_DATE = '<yyyymmdd>'; ALTER ENDPOINT %s FOR DATABASE_MIRRORING (AUTHENTICATION = CERTIFICATE <new_cert>);   -- then give the managed instance the new public key", sqlops.QuoteIdentifier(ep.Name))}}
	switch {
	case !exp.After(now):
		f.Severity, f.Title = Warn, fmt.Sprintf("Endpoint certificate %s expired on %s", ep.CertificateName, exp.Format("2006-01-02"))
		f.Detail, f.Fixes = "The link authenticates with this certificate: replace it before creating the link.", fix
	case days <= 30:
		f.Severity, f.Title = Warn, fmt.Sprintf("Endpoint certificate %s expires in %d days (%s)", ep.CertificateName, days, exp.Format("2006-01-02"))
		f.Detail, f.Fixes = "The link authenticates with this certificate: rotate it before it expires.", fix
	}
	return f
}

// isSystemDatabase reports whether name is one of SQL Server's system databases
// (https://learn.microsoft.com/sql/relational-databases/databases/system-databases).
func isSystemDatabase(name string) bool {
	switch strings.ToLower(name) {
	case "master", "model", "msdb", "tempdb":
		return true
	}
	return false
}

// backupFile is the file the full backup of db goes to, the same in the check's fix
// and in milink prepare: sqlops.BackupFile in dir, or in "<backup_dir>" when no
// directory is known.
func backupFile(dir, db, plat string) string {
	if dir == "" {
		dir = "<backup_dir>"
	}
	return sqlops.BackupFile(dir, db, plat)
}

// backupDir is the directory prepare backs up to: given (--backup-dir) when set, else
// SQL Server's default backup directory (fromDefault), else "".
func (p *Prerequisites) backupDir(given string) (dir string, fromDefault bool) {
	if given != "" {
		return given, false
	}
	return p.BackupPath, p.BackupPath != ""
}
