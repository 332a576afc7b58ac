package steps

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
)

func planFor(t *testing.T, platform, version, server string, o PrepareOptions, ids ...string) *Preparation {
	t.Helper()
	pre := &Prerequisites{Server: sqlops.ServerInfo{HostPlatform: platform, ProductVersion: version, ServerName: server}, MasterKey: true}
	for _, id := range ids {
		if id == "master-key" {
			pre.MasterKey = false
		}
		pre.Findings = append(pre.Findings, Finding{ID: id, Severity: Fail})
	}
	pre.Databases = []sqlops.Database{{Name: "Sales'; DROP--", RecoveryModel: "SIMPLE"}}
	return planPreparation(pre, o, prepFacts{sizesKB: map[string]int64{"Sales'; DROP--": 3 << 20}, sessions: 7})
}

func changeByID(p *Preparation, id string) *Change {
	for i := range p.Changes {
		if p.Changes[i].ID == id {
			return &p.Changes[i]
		}
	}
	return nil
}

// The plan quotes what it places in T-SQL and PowerShell, shows the size first, and
// says what is missing; on Linux without SSH the mssql-conf commands are shown only.
func TestPlanPreparation(t *testing.T) {
	p := planFor(t, "Windows", "13.0.6300.2", `HOST\BAD'NAME`, PrepareOptions{}, "hadr", "trace-flag-1800",
		"database:Sales'; DROP--:recovery", "database:Sales'; DROP--:backup")
	if c := changeByID(p, "recovery:Sales'; DROP--"); c == nil || c.Statements[0] != "ALTER DATABASE [Sales'; DROP--] SET RECOVERY FULL;" {
		t.Errorf("recovery: %+v", c)
	}
	b := changeByID(p, "backup:Sales'; DROP--")
	if b == nil || b.Needs == "" || !strings.Contains(b.Needs, "--backup-dir") || !strings.Contains(b.Note, "3.0 GB") ||
		b.Statements[0] != `BACKUP DATABASE [Sales'; DROP--] TO DISK = N'<backup_dir>\Sales___DROP--_full.bak';` {
		t.Errorf("backup: %+v", b)
	}
	h := changeByID(p, "hadr")
	if h == nil || h.Kind != ChangeManual || !strings.Contains(h.Statements[0], `Enable-SqlAlwaysOn -ServerInstance 'HOST\BAD''NAME'`) || !strings.Contains(h.Note, "Failover Cluster") {
		t.Errorf("hadr on 2016: %+v", h)
	}
	if s := changeByID(p, "startup-trace-flags"); s == nil || !strings.Contains(s.Statements[0], ".'MSSQLSERVER'") || !strings.Contains(s.Statements[0], "'-T1800'") {
		t.Errorf("startup flags with an invalid instance name: %+v", s)
	}
	if r := changeByID(p, "restart"); r == nil || r.Kind != ChangeManual || r.Sessions != 7 {
		t.Errorf("restart: %+v", r)
	}
	if changeByID(p, "master-key") != nil {
		t.Error("a master key planned although none is missing")
	}
	k := planFor(t, "Windows", "16.0.4135.4", "db1", PrepareOptions{}, "master-key")
	if c := changeByID(k, "master-key"); c == nil || c.Statements[0] != sqlops.StatementCreateMasterKey {
		t.Errorf("master key: %+v", c)
	}
	unread := &Prerequisites{Unchecked: []string{"the database master key"}, Findings: []Finding{{ID: "master-key", Severity: Warn, Title: "Could not check the database master key"}}}
	if c := changeByID(planPreparation(unread, PrepareOptions{}, prepFacts{}), "master-key"); c != nil {
		t.Errorf("a master key planned where none could be read: %+v", c)
	}
	l := planFor(t, "Linux", "16.0.4135.4", "db1", PrepareOptions{BackupDir: "/var/backups"}, "hadr")
	if h := changeByID(l, "hadr"); h == nil || h.Kind != ChangeManual || h.Statements[0] != "sudo -n /opt/mssql/bin/mssql-conf set hadr.hadrenabled 1" {
		t.Errorf("Linux without SSH: %+v", h)
	}
	if r := changeByID(l, "restart"); r == nil || r.Statements[0] != "sudo -n systemctl restart mssql-server" {
		t.Errorf("Linux restart: %+v", r)
	}
}

func TestValidateBackupDir(t *testing.T) {
	for _, c := range []struct {
		dir, plat string
		ok        bool
	}{{`D:\Backup`, "Windows", true}, {`\\nas\share`, "Windows", true}, {`Backup`, "Windows", false}, {"/srv/b", "Windows", false},
		{"/srv/b", "Linux", true}, {"srv/b", "Linux", false}, {"/srv/\nb", "Linux", false}, {"", "Linux", false}} {
		if err := sqlops.ValidateBackupDir(c.dir, c.plat); (err == nil) != c.ok {
			t.Errorf("ValidateBackupDir(%q, %s) = %v", c.dir, c.plat, err)
		}
	}
}

// The Changes section is in the text and Markdown reports, escaped.
func TestReportChangesSection(t *testing.T) {
	r := &Report{Changes: []ChangeRecord{{Change: Change{What: "Take a full backup of <b>x|y</b>", Statements: []string{"BACKUP DATABASE [x|y] TO DISK = N'D:\\b';"}},
		At: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC), By: "sa", Status: ChangeFailed, Error: "Cannot open backup device", LeftAsIs: "no backup"}},
		PrerequisiteChanges: []FindingChange{{ID: "master-key", Before: Fail, After: Pass}}}
	var tb, mb bytes.Buffer
	if err := r.WriteText(&tb); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteMarkdown(&mb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tb.String(), "[failed] Take a full backup") || !strings.Contains(tb.String(), "master-key: fail → pass") {
		t.Errorf("text report:\n%s", tb.String())
	}
	md := mb.String()
	if !strings.Contains(md, "## Changes") || strings.Contains(md, "<b>") || strings.Contains(md, "x|y</b>") {
		t.Errorf("markdown report:\n%s", md)
	}
}
