package steps

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/milink/milink/sqlops"
)

// Preparation: the fixes of "Prepare your environment for a link"
// (https://learn.microsoft.com/azure/azure-sql/managed-instance/managed-instance-link-preparation)
// that milink applies with consent. PlanPreparation turns the Prerequisites' findings
// into Changes, each shown as the exact statement before it runs; ApplyPreparation
// (prepare_apply.go) runs them and records each in a ChangeRecord.

// How a change is carried out.
const (
	ChangeTSQL   = "T-SQL"          // run by milink on the SQL Server connection
	ChangeSSH    = "shell over SSH" // run by milink on the Linux host over SSH
	ChangeManual = "for you to run" // shown: milink cannot run it (Windows PowerShell, Linux without --ssh)
	ChangeInfo   = "information"    // nothing to run here (TDE certificates)
	restartID    = "restart"        // the change that restarts SQL Server
	defaultConf  = "sudo -n /opt/mssql/bin/mssql-conf"
	defaultRst   = "sudo -n systemctl restart mssql-server"
	manualPS     = "Windows PowerShell, as an administrator on the SQL Server host"
)

// Change is one preparation step: what it fixes, how it runs and the exact statements.
type Change struct {
	ID         string   `json:"id"`                 // e.g. "master-key", "recovery:Sales", "backup:Sales", "trace-flag-1800"
	Finding    string   `json:"finding"`            // the finding it fixes
	What       string   `json:"what"`               // one line, e.g. "Create the database master key in master"
	Kind       string   `json:"kind"`               // ChangeTSQL, ChangeSSH, ChangeManual or ChangeInfo
	Statements []string `json:"statements"`         // exactly what runs (the password as sqlops.MasterKeyPlaceholder)
	Note       string   `json:"note,omitempty"`     // what to know first: sizes, the password, the WSFC
	Needs      string   `json:"needs,omitempty"`    // the flag (and wizard field) missing to apply it; "" when ready
	Restart    bool     `json:"restart,omitempty"`  // takes effect only after SQL Server restarts
	Sessions   int      `json:"sessions,omitempty"` // restart: the open user sessions it would cut
	db         string
	flag       int
	advanced   bool
}

// Applicable reports whether milink runs the change itself (T-SQL or SSH) and has
// what it needs.
func (c Change) Applicable() bool {
	return (c.Kind == ChangeTSQL || c.Kind == ChangeSSH) && c.Needs == ""
}

// Preparation is the planned changes for one SQL Server.
type Preparation struct {
	Instance string   `json:"instance"` // @@SERVERNAME
	Platform string   `json:"platform"` // Windows or Linux
	Login    string   `json:"login"`    // who applies the T-SQL
	Changes  []Change `json:"changes"`
}

// PrepareOptions are the user's choices for the preparation.
type PrepareOptions struct {
	// Databases limits the database changes (recovery model, backup) to these names;
	// empty: every database the Prerequisites checked.
	Databases []string
	// BackupDir is the directory on the SQL Server host for the full backups
	// (--backup-dir; wizard field "Backup directory").
	BackupDir string
	// SSH says a Linux host is reachable over SSH (the prober's connection): the
	// mssql-conf changes are then run, else shown.
	SSH bool
	// Cloud is the managed instance's Azure cloud (AzureCloud, AzureUSGovernment,
	// AzureChinaCloud: Connect-AzAccount -Environment) for the TDE certificate upload
	// command; "" leaves the command for the public cloud with a note.
	Cloud string
	// MssqlConf and RestartCommand are the host commands (default
	// "sudo -n /opt/mssql/bin/mssql-conf" and "sudo -n systemctl restart mssql-server",
	// https://learn.microsoft.com/sql/linux/sql-server-linux-configure-mssql-conf).
	MssqlConf, RestartCommand string
}

func (o PrepareOptions) conf() string {
	if o.MssqlConf != "" {
		return o.MssqlConf
	}
	return defaultConf
}

func (o PrepareOptions) restart() string {
	if o.RestartCommand != "" {
		return o.RestartCommand
	}
	return defaultRst
}

// prepFacts are what the plan reads besides the findings.
type prepFacts struct {
	sizesKB       map[string]int64
	sessions      int
	advancedShown bool
}

// planPreparation builds the changes for pre's findings, in the page's order: master
// key, recovery model then backup per database (the backup after FULL starts the log
// chain), trace flags now, the startup settings, Agent XPs, restart, TDE.
func planPreparation(pre *Prerequisites, o PrepareOptions, f prepFacts) *Preparation {
	plat := pre.Platform()
	p := &Preparation{Instance: pre.Server.ServerName, Platform: plat, Login: pre.Permissions.Login}
	has := func(id string) bool {
		return slices.ContainsFunc(pre.Findings, func(x Finding) bool { return x.ID == id && x.Severity != Pass && x.Severity != Info })
	}
	add := func(c Change) { p.Changes = append(p.Changes, c) }
	if has("master-key") && pre.Checked("the database master key") && !pre.MasterKey { // not when it could not be read
		add(Change{ID: "master-key", Finding: "master-key", What: "Create the database master key in master", Kind: ChangeTSQL,
			Statements: []string{sqlops.StatementCreateMasterKey},
			Note:       "Keep the password in a safe place: milink neither stores nor shows it. Back the key up with: USE master; BACKUP MASTER KEY TO FILE = '<path>' ENCRYPTION BY PASSWORD = '<backup_password>';"})
	}
	want := map[string]bool{}
	for _, d := range o.Databases {
		want[strings.ToLower(d)] = true
	}
	for _, d := range pre.Databases {
		if len(want) > 0 && !want[strings.ToLower(d.Name)] {
			continue
		}
		if id := "database:" + d.Name + ":recovery"; has(id) {
			add(Change{ID: "recovery:" + d.Name, Finding: id, What: fmt.Sprintf("Switch database %s to the FULL recovery model", d.Name), Kind: ChangeTSQL,
				Statements: []string{sqlops.StatementRecoveryFull(d.Name)}, db: d.Name})
		}
		if id := "database:" + d.Name + ":backup"; has(id) || (has("database:"+d.Name+":recovery") && d.LastFullBackup != nil) {
			// After a switch from SIMPLE the log chain starts only with a new full backup.
			c := Change{ID: "backup:" + d.Name, Finding: id, What: fmt.Sprintf("Take a full backup of %s (starts the log chain)", d.Name), Kind: ChangeTSQL, db: d.Name}
			dir, fromDefault := pre.backupDir(o.BackupDir)
			if dir == "" {
				c.Needs = "--backup-dir (wizard: Backup directory)"
			}
			c.Statements = []string{sqlops.StatementBackup(d.Name, backupFile(dir, d.Name, plat))}
			var notes []string
			if fromDefault {
				notes = append(notes, fmt.Sprintf("Backup directory: %s, SQL Server's default backup directory (SERVERPROPERTY('InstanceDefaultBackupPath')); give --backup-dir (wizard: Backup directory) for another.", dir))
			}
			if kb, ok := f.sizesKB[d.Name]; ok {
				notes = append(notes, fmt.Sprintf("Size: at most %s (the data files' allocated size); the directory must exist and be writable by the SQL Server service.", humanKB(kb)))
			}
			c.Note = strings.Join(notes, " ")
			add(c)
		}
	}
	for _, flag := range []int{1800, 9567} {
		if id := fmt.Sprintf("trace-flag-%d", flag); has(id) {
			add(Change{ID: id, Finding: id, What: fmt.Sprintf("Turn trace flag %d on now (until the next restart)", flag), Kind: ChangeTSQL,
				Statements: []string{sqlops.StatementTraceOn(flag)}, flag: flag})
		}
	}
	p.Changes = append(p.Changes, hostChanges(pre, o, has)...)
	if has("agent-xps") {
		add(Change{ID: "agent-xps", Finding: "agent-xps", What: "Turn 'Agent XPs' on", Kind: ChangeTSQL,
			Statements: sqlops.AgentXPsStatements(f.advancedShown), advanced: f.advancedShown})
	}
	if slices.ContainsFunc(p.Changes, func(c Change) bool { return c.Restart }) {
		c := Change{ID: restartID, What: "Restart SQL Server " + p.Instance + " so the startup settings take effect", Restart: true, Sessions: f.sessions,
			Note: fmt.Sprintf("Restarting cuts %d open user session(s) and takes SQL Server offline until it is back; milink asks separately before it restarts.", f.sessions)}
		if pre.Linux() && o.SSH {
			c.Kind, c.Statements = ChangeSSH, []string{o.restart()}
		} else {
			c.Kind, c.Statements = ChangeManual, []string{restartCommand(pre)}
		}
		add(c)
	}
	for _, fd := range pre.Findings {
		if strings.HasSuffix(fd.ID, ":tde") && fd.Severity != Pass {
			cmds := fixCommands(fd.Fixes)
			if _, err := LookupCloud(o.Cloud); err == nil && o.Cloud != "" {
				for i, c := range cmds {
					if strings.HasPrefix(c, "Azure: Connect-AzAccount;") {
						cmds[i] = strings.Replace(c, "Connect-AzAccount;", "Connect-AzAccount -Environment "+o.Cloud+";", 1)
					}
				}
			}
			add(Change{ID: "tde:" + strings.TrimSuffix(strings.TrimPrefix(fd.ID, "database:"), ":tde"), Finding: fd.ID, Kind: ChangeInfo,
				What: fd.Title, Note: fd.Detail, Statements: cmds})
		}
	}
	return p
}

// hostChanges are the startup settings: on Linux mssql-conf (over SSH, else shown), on
// Windows the PowerShell to run.
func hostChanges(pre *Prerequisites, o PrepareOptions, has func(string) bool) []Change {
	var out []Change
	linux := pre.Linux()
	kind := ChangeManual
	if linux && o.SSH {
		kind = ChangeSSH
	}
	var flags []string
	for _, f := range []string{"1800", "9567"} {
		if has("trace-flag-" + f) {
			flags = append(flags, f)
		}
	}
	if len(flags) > 0 {
		c := Change{ID: "startup-trace-flags", Finding: "trace-flag-" + flags[0], What: "Add trace flag(s) " + strings.Join(flags, ", ") + " to SQL Server's startup", Kind: kind, Restart: true}
		if linux {
			c.Statements = []string{o.conf() + " traceflag " + strings.Join(flags, " ") + " on"}
		} else {
			c.Statements = []string{windowsTraceFlags(instanceName(pre.Server.ServerName), flags)}
			c.Note = manualPS + "; the flags apply from the next restart (the page's Configuration Manager > Startup Parameters)."
		}
		out = append(out, c)
	}
	if has("hadr") {
		c := Change{ID: "hadr", Finding: "hadr", What: "Enable Always On availability groups", Kind: kind, Restart: true}
		if linux {
			c.Statements = []string{o.conf() + " set hadr.hadrenabled 1"}
		} else {
			c.Statements = []string{fmt.Sprintf("Import-Module SqlServer; Enable-SqlAlwaysOn -ServerInstance %s -NoServiceRestart", psQuote(pre.Server.ServerName))}
			c.Note = manualPS + "; it takes effect at the next restart."
			if v, err := ParseVersion(pre.Server.ProductVersion); err == nil && v[0] == 13 {
				c.Note += " SQL Server 2016: the server must first be a node of a Windows Server Failover Cluster (Install-WindowsFeature Failover-Clustering; New-Cluster), see 'Prepare SQL Server 2016 prerequisites'."
			}
		}
		out = append(out, c)
	}
	if linux && pre.Agent.XPsKnown && !pre.Agent.AgentXPs {
		out = append(out, Change{ID: "sqlagent-enabled", Finding: "agent", What: "Enable SQL Server Agent (sqlagent.enabled)", Kind: kind, Restart: true,
			Statements: []string{o.conf() + " set sqlagent.enabled true"}})
	}
	return out
}

// windowsTraceFlags is the PowerShell that adds -T<flag> startup parameters (registry
// values SQLArgN under the instance's MSSQLServer\Parameters key, what Configuration
// Manager's Startup Parameters tab writes) when they are missing.
func windowsTraceFlags(instance string, flags []string) string {
	ts := make([]string, len(flags))
	for i, f := range flags {
		ts[i] = "'-T" + f + "'"
	}
	return fmt.Sprintf(`$id = (Get-ItemProperty 'HKLM:\SOFTWARE\Microsoft\Microsoft SQL Server\Instance Names\SQL').%s; `+
		`$p = "HKLM:\SOFTWARE\Microsoft\Microsoft SQL Server\$id\MSSQLServer\Parameters"; `+
		`$names = @((Get-Item $p).GetValueNames() | Where-Object { $_ -like 'SQLArg*' }); `+
		`$have = @($names | ForEach-Object { (Get-ItemProperty $p).$_ }); $n = $names.Count; `+
		`foreach ($t in %s) { if ($have -notcontains $t) { New-ItemProperty -Path $p -Name "SQLArg$n" -Value $t -PropertyType String | Out-Null; $n++ } }`,
		psQuote(instance), strings.Join(ts, ", "))
}

// restartCommand is the command that restarts the instance, shown for the user.
func restartCommand(pre *Prerequisites) string {
	if pre.Linux() {
		return defaultRst
	}
	svc := "MSSQLSERVER"
	if inst := instanceName(pre.Server.ServerName); inst != "MSSQLSERVER" {
		svc = "MSSQL$" + inst
	}
	return "Restart-Service -Name " + psQuote(svc) + " -Force   # also restarts SQL Server Agent's dependent service: start it again with Start-Service"
}

// instanceName is the instance part of @@SERVERNAME (HOST\INSTANCE), or MSSQLSERVER.
// A name that is not a valid instance name falls back to MSSQLSERVER, so nothing
// unchecked reaches PowerShell.
func instanceName(server string) string {
	_, inst, ok := strings.Cut(server, `\`)
	if !ok || sqlops.ValidateInstanceName(inst) != nil {
		return "MSSQLSERVER"
	}
	return strings.ToUpper(inst)
}

// psQuote is s as a PowerShell single-quoted string.
func psQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func fixCommands(fs []Fix) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.Platform+": "+f.Command)
	}
	return out
}

// humanKB is kb in KB, MB or GB.
func humanKB(kb int64) string {
	switch {
	case kb >= 1<<20:
		return fmt.Sprintf("%.1f GB", float64(kb)/(1<<20))
	case kb >= 1<<10:
		return fmt.Sprintf("%.1f MB", float64(kb)/(1<<10))
	}
	return fmt.Sprintf("%d KB", kb)
}

// ChangeRecord is what became of one change: when, by whom, what ran, the output,
// and for a failure SQL Server's message and what was left as it was.
type ChangeRecord struct {
	Change
	At       time.Time `json:"at"`
	By       string    `json:"by"`     // the SQL Server login, or user@host over SSH
	Status   string    `json:"status"` // applied, failed, shown, skipped
	Output   string    `json:"output,omitempty"`
	Error    string    `json:"error,omitempty"`
	LeftAsIs string    `json:"left_as_is,omitempty"`
}

// Statuses of a ChangeRecord.
const (
	ChangeApplied = "applied"
	ChangeFailed  = "failed"
	ChangeShown   = "shown"
	ChangeSkipped = "skipped"
)

// FindingChange is a prerequisite whose outcome changed: before → after.
type FindingChange struct {
	ID     string   `json:"id"`
	Before Severity `json:"before"`
	After  Severity `json:"after"`
	Title  string   `json:"title"` // the finding's title after
}

// findingChanges compares two Prerequisites outcomes by finding ID.
func findingChanges(before, after *Prerequisites) []FindingChange {
	now := map[string]bool{}
	for _, f := range after.Findings {
		now[f.ID] = true
	}
	was := map[string]Severity{}
	var out []FindingChange
	for _, f := range before.Findings {
		was[f.ID] = f.Severity
		if !now[f.ID] && f.Severity != Pass && f.Severity != Info {
			// A database's recovery or backup finding is not repeated once it is met.
			out = append(out, FindingChange{ID: f.ID, Before: f.Severity, After: Pass, Title: "no longer reported: " + f.Title})
		}
	}
	for _, f := range after.Findings {
		if b, ok := was[f.ID]; ok && b != f.Severity {
			out = append(out, FindingChange{ID: f.ID, Before: b, After: f.Severity, Title: f.Title})
		}
	}
	return out
}
