package catalog

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// mustFind is FindPersonality that fails the test on error.
func mustFind(t *testing.T, version string, pl Platform, mi bool) Personality {
	t.Helper()
	p, err := FindPersonality(version, pl, mi)
	if err != nil {
		t.Fatalf("FindPersonality(%q, %q, %v): %v", version, pl, mi, err)
	}
	return p
}

// learnURL is the shape of a Learn page URL (no locale, no query).
var learnURL = regexp.MustCompile(`^https://learn\.microsoft\.com/(sql|azure|troubleshoot)/[a-z0-9/._-]+[a-z0-9]$`)

func TestEveryObjectHasSourceKindAndShape(t *testing.T) {
	seen := map[string]bool{}
	for _, o := range Objects() {
		key := strings.ToLower(o.Database + "." + o.Schema + "." + o.Name)
		if seen[key] {
			t.Errorf("%s: listed twice", key)
		}
		seen[key] = true
		if strings.HasPrefix(o.Source, Undocumented) {
			if len(o.Source) <= len(Undocumented)+10 {
				t.Errorf("%s: an undocumented entry must say what it is modelled on", key)
			}
		} else if !learnURL.MatchString(o.Source) {
			t.Errorf("%s: Source %q is not a Learn page URL", key, o.Source)
		}
		switch o.Kind {
		case View, DMV, Table:
			if len(o.Columns) == 0 {
				t.Errorf("%s: a %s without columns", key, o.Kind)
			}
			cols := map[string]bool{}
			for _, c := range o.Columns {
				if c.Name == "" || c.Type == "" {
					t.Errorf("%s: column %+v lacks a name or type", key, c)
				}
				if cols[strings.ToLower(c.Name)] {
					t.Errorf("%s: column %s twice", key, c.Name)
				}
				cols[strings.ToLower(c.Name)] = true
			}
		case Procedure, Function:
			if len(o.Columns) != 0 {
				t.Errorf("%s: a %s with columns", key, o.Kind)
			}
			for _, p := range o.Params {
				if !strings.HasPrefix(p.Name, "@") || p.Type == "" {
					t.Errorf("%s: bad parameter %+v", key, p)
				}
			}
		default:
			t.Errorf("%s: unknown kind %q", key, o.Kind)
		}
		if o.Name != strings.ToLower(o.Name) && o.Kind != Function {
			t.Errorf("%s: names are lower-case as documented", key)
		}
	}
}

// TestMilinkObjectsExist checks every object milink's own queries and the link
// preparation page's scripts name (sqlops/queries.go, ../shared/seeds/001_*) on the
// personalities where they must exist.
func TestMilinkObjectsExist(t *testing.T) {
	box := []string{
		"sys.databases", "sys.master_files", "sys.filegroups", "master.sys.symmetric_keys",
		"master.sys.certificates", "sys.endpoints", "sys.tcp_endpoints",
		"sys.database_mirroring_endpoints", "sys.configurations", "sys.server_principals",
		"sys.server_role_members", "msdb.sys.database_principals", "msdb.sys.database_role_members",
		"sys.database_permissions", "sys.server_permissions", "master.sys.all_objects", "sys.objects",
		"sys.procedures", "sys.dm_server_services", "sys.dm_database_encryption_keys",
		"sys.dm_exec_connections", "sys.dm_exec_sessions", "sys.dm_tran_locks",
		"msdb.dbo.sysjobs", "msdb.dbo.sysjobs_view", "msdb.dbo.sysjobsteps", "msdb.dbo.sysjobhistory",
		"msdb.dbo.sysjobactivity", "msdb.dbo.syssessions", "msdb.dbo.sysjobstepslogs",
		"msdb.dbo.sysjobservers", "msdb.dbo.syscategories", "msdb.dbo.backupset",
		"msdb.dbo.backupmediafamily", "msdb.dbo.sp_add_job", "msdb.dbo.sp_add_jobstep",
		"msdb.dbo.sp_add_jobserver", "msdb.dbo.sp_start_job", "msdb.dbo.sp_stop_job",
		"msdb.dbo.sp_delete_job", "msdb.dbo.sp_update_job", "msdb.dbo.sp_help_job",
		"msdb.dbo.sp_add_category", "master.sys.sp_configure", "sys.sp_executesql",
		"sys.sp_getapplock", "sys.sp_releaseapplock", "master.sys.sp_certificate_add_issuer",
	}
	for _, p := range Personalities() {
		if p.MI {
			continue
		}
		for _, name := range box {
			db, schema, obj := split3(name)
			if _, ok := p.Lookup(db, schema, obj); !ok {
				t.Errorf("%s: %s is missing", p.Name, name)
			}
		}
	}
	mi := mustFind(t, "", Windows, true)
	for _, name := range []string{
		"sys.dm_hadr_fabric_config_parameters", "sys.dm_hadr_fabric_partitions",
		"sys.dm_hadr_fabric_replicas", "sys.dm_hadr_fabric_nodes", "sys.dm_os_host_info",
		"msdb.dbo.sysjobs", "msdb.dbo.sp_add_job", "sys.objects", "sys.dm_database_encryption_keys",
	} {
		db, schema, obj := split3(name)
		if _, ok := mi.Lookup(db, schema, obj); !ok {
			t.Errorf("MI: %s is missing", name)
		}
	}
}

// split3 splits "db.schema.name" or "schema.name".
func split3(n string) (db, schema, name string) {
	f := strings.Split(n, ".")
	if len(f) == 3 {
		return f[0], f[1], f[2]
	}
	return "", f[0], f[1]
}

func TestLookupVersionsPlatformsAndMI(t *testing.T) {
	cases := []struct {
		version  string
		platform Platform
		mi       bool
		db, sch  string
		name     string
		want     bool
	}{
		{"13.0.7000.253", Windows, false, "", "sys", "dm_os_host_info", false}, // 2017+ only
		{"14.0.3490.10", Windows, false, "", "sys", "dm_os_host_info", true},
		{"14.0.3490.10", Linux, false, "", "sys", "dm_os_host_info", true},
		{"", Windows, true, "", "sys", "dm_os_host_info", true},
		{"16.0.4135.4", Windows, false, "", "sys", "dm_hadr_fabric_config_parameters", false},
		{"17.0.1000.7", Linux, false, "", "sys", "dm_hadr_fabric_nodes", false},
		{"", Windows, true, "", "sys", "dm_hadr_fabric_config_parameters", true},
		{"", Windows, true, "", "sys", "dm_server_services", false}, // Applies to: SQL Server
		{"15.0.4312.2", Linux, false, "", "sys", "dm_server_services", true},
		// Case-insensitive, any database for sys objects.
		{"16.0.4135.4", Windows, false, "MASTER", "SYS", "DataBases", true},
		{"16.0.4135.4", Windows, false, "SalesDB", "sys", "symmetric_keys", true},
		// msdb objects only in msdb; "" database means "any".
		{"16.0.4135.4", Windows, false, "master", "dbo", "sysjobs", false},
		{"16.0.4135.4", Windows, false, "msdb", "", "sysjobs", true},
		{"16.0.4135.4", Windows, false, "", "dbo", "sysjobhistory", true},
		// A sys view is not found under dbo or without a schema.
		{"16.0.4135.4", Windows, false, "", "", "databases", false},
		{"16.0.4135.4", Windows, false, "", "dbo", "databases", false},
		// sp_ system procedures are.
		{"16.0.4135.4", Windows, false, "master", "dbo", "sp_configure", true},
		{"16.0.4135.4", Windows, false, "SalesDB", "", "SP_EXECUTESQL", true},
		// The service update: 2019 below CU20 lacks sp_certificate_add_issuer.
		{"15.0.4298.1", Windows, false, "master", "sys", "sp_certificate_add_issuer", false},
		{"15.0.4312.2", Windows, false, "master", "sys", "sp_certificate_add_issuer", true},
		{"13.0.6300.2", Windows, false, "", "", "sp_certificate_add_issuer", false},
		{"16.0.1000.6", Windows, false, "", "", "sp_certificate_add_issuer", true},
		// Built-in functions: no schema.
		{"13.0.7000.253", Windows, false, "", "", "serverproperty", true},
		{"13.0.7000.253", Windows, false, "", "dbo", "SERVERPROPERTY", false},
		{"16.0.4135.4", Windows, false, "", "sys", "no_such_view", false},
	}
	for _, c := range cases {
		p := mustFind(t, c.version, c.platform, c.mi)
		_, ok := p.Lookup(c.db, c.sch, c.name)
		if ok != c.want {
			t.Errorf("%s: Lookup(%q, %q, %q) = %v, want %v", p.Name, c.db, c.sch, c.name, ok, c.want)
		}
	}
}

func TestRequiredPermission(t *testing.T) {
	cases := []struct {
		version string
		mi      bool
		name    string
		want    string
	}{
		{"15.0.4312.2", false, "dm_server_services", PermViewServerState},
		{"16.0.4135.4", false, "dm_server_services", PermViewServerSecurityState},
		{"17.0.1000.7", false, "dm_server_services", PermViewServerSecurityState},
		{"13.0.7000.253", false, "dm_database_encryption_keys", PermViewServerState},
		{"16.0.4135.4", false, "dm_database_encryption_keys", PermViewServerSecurityState},
		{"", true, "dm_database_encryption_keys", PermViewServerSecurityState},
		{"16.0.4135.4", false, "sysjobhistory", PermSelect},
		{"16.0.4135.4", false, "sp_add_job", PermAgentUser},
		{"16.0.4135.4", false, "databases", ""},
		{"", true, "xp_sqlagent_notify", PermExecute},
		{"14.0.3490.10", false, "dm_os_host_info", ""},
		{"15.0.4312.2", false, "dm_os_host_info", ""},
		{"16.0.4135.4", false, "dm_os_host_info", PermViewServerPerformanceState},
		{"15.0.4312.2", false, "dm_tran_locks", PermViewServerState},
		{"17.0.1000.7", false, "dm_tran_locks", PermViewServerPerformanceState},
	}
	for _, c := range cases {
		p := mustFind(t, c.version, Windows, c.mi)
		o, ok := p.Lookup("", "", c.name)
		if !ok {
			o, ok = p.Lookup("", "sys", c.name)
		}
		if !ok {
			t.Fatalf("%s: %s not found", p.Name, c.name)
		}
		if got := o.RequiredPermission(p); got != c.want {
			t.Errorf("%s: %s needs %q, want %q", p.Name, c.name, got, c.want)
		}
	}
}

func TestColumnsByVersion(t *testing.T) {
	p2016 := mustFind(t, "2016", Windows, false)
	p2019 := mustFind(t, "2019", Windows, false)
	o, ok := p2016.Lookup("", "sys", "dm_database_encryption_keys")
	if !ok {
		t.Fatal("dm_database_encryption_keys missing on 2016")
	}
	if _, ok := o.ColumnOn(p2016, "encryption_state_desc"); ok {
		t.Error("2016 has encryption_state_desc (2019+)")
	}
	if _, ok := o.ColumnOn(p2019, "ENCRYPTION_STATE_DESC"); !ok {
		t.Error("2019 lacks encryption_state_desc")
	}
	if c, ok := o.Column("encryption_state"); !ok || c.Type != "int" {
		t.Errorf("encryption_state = %+v, %v", c, ok)
	}
	if len(o.ColumnsOn(p2016)) >= len(o.ColumnsOn(p2019)) {
		t.Error("ColumnsOn does not drop later columns")
	}
	if _, ok := o.Column("no_such_column"); ok {
		t.Error("Column found a column that is not there")
	}
	j, _ := p2016.Lookup("msdb", "dbo", "sp_add_job")
	if prm, ok := j.Param("job_id"); !ok || !prm.Output || prm.Type != "uniqueidentifier" {
		t.Errorf("sp_add_job @job_id = %+v, %v; want an OUTPUT uniqueidentifier", prm, ok)
	}
	if prm, ok := j.Param("@JOB_NAME"); !ok || prm.Output {
		t.Errorf("sp_add_job @job_name = %+v, %v", prm, ok)
	}
	if j.FullName() != "msdb.dbo.sp_add_job" {
		t.Errorf("FullName = %q", j.FullName())
	}
}

func TestPersonalities(t *testing.T) {
	ps := Personalities()
	if len(ps) != 10 {
		t.Fatalf("%d personalities, want 10 (2016 Windows; 2017-2025 Windows and Linux; MI)", len(ps))
	}
	if !ps[len(ps)-1].MI || ps[len(ps)-1].EngineEdition != 8 {
		t.Errorf("the last personality is not the managed instance: %+v", ps[len(ps)-1])
	}
	for i, p := range ps {
		if p.Name == "" || p.Edition == "" || p.ProductLevel == "" || p.Distribution == "" || p.HostRelease == "" || !learnURL.MatchString(p.Source) {
			t.Errorf("%d: incomplete personality %+v", i, p)
		}
		if !strings.Contains(p.VersionText, p.ProductVersion) || strings.Contains(p.VersionText, "%") {
			t.Errorf("%s: @@VERSION %q does not carry %s", p.Name, p.VersionText, p.ProductVersion)
		}
		if i > 0 && !p.MI && ps[i-1].Major > p.Major {
			t.Errorf("personalities out of order at %s", p.Name)
		}
		if p.MI {
			continue
		}
		if p.EngineEdition != 3 || p.EditionID != 1872460670 || !strings.HasPrefix(p.ProductVersion, itoa(p.Major)+".0.") {
			t.Errorf("%s: EngineEdition %d, version %s", p.Name, p.EngineEdition, p.ProductVersion)
		}
		if p.UpdateReference != "" && !strings.Contains(p.VersionText, "("+p.UpdateReference+")") {
			t.Errorf("%s: @@VERSION %q does not name %s", p.Name, p.VersionText, p.UpdateReference)
		}
		if p.Platform == Linux && !strings.Contains(p.VersionText, "on Linux (") {
			t.Errorf("%s: @@VERSION %q does not say Linux", p.Name, p.VersionText)
		}
		// Every simulated build meets the link's minimum (FACTS.md), so it has the
		// procedure that the service update brings.
		if _, ok := p.Lookup("master", "sys", "sp_certificate_add_issuer"); !ok {
			t.Errorf("%s lacks sp_certificate_add_issuer", p.Name)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestFindPersonality(t *testing.T) {
	cases := []struct {
		version  string
		platform Platform
		mi       bool
		wantVer  string
		wantUpd  string
		wantErr  bool
	}{
		{"13.0.7000.253", Windows, false, "13.0.7000.253", "", false},
		{"13.0.7000.253", Linux, false, "", "", true}, // no 2016 on Linux
		{"2017", Linux, false, "14.0.3490.10", "CU31", false},
		{"15", "", false, "15.0.4312.2", "CU20", false},
		{"", Windows, false, DefaultVersion, "CU14", false},
		{"16.0.4135.4", Linux, false, "16.0.4135.4", "CU14", false},
		{"17.0.1000.7", Windows, false, "17.0.1000.7", "", false},
		{"16.0.1000.6", Windows, false, "16.0.1000.6", "", false}, // another build of a known major
		{"12.0.6024.0", Windows, false, "", "", true},             // 2014: not simulated
		{"16.0.x", Windows, false, "", "", true},
		{"16.0", Windows, false, "", "", true},
		{"16.0.4135.4", "Solaris", false, "", "", true},
		{"", Windows, true, "12.0.2000.8", "", false},
		{"12.0.2000.8", Windows, true, "12.0.2000.8", "", false},
		{"16.0.4135.4", Windows, true, "", "", true},
	}
	for _, c := range cases {
		p, err := FindPersonality(c.version, c.platform, c.mi)
		if (err != nil) != c.wantErr {
			t.Errorf("FindPersonality(%q, %q, %v): err %v, want error %v", c.version, c.platform, c.mi, err, c.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if p.ProductVersion != c.wantVer || p.UpdateLevel != c.wantUpd || p.MI != c.mi {
			t.Errorf("FindPersonality(%q, %q, %v) = %s %q %q MI=%v", c.version, c.platform, c.mi, p.Name, p.ProductVersion, p.UpdateLevel, p.MI)
		}
		if c.platform == Linux && p.Platform != Linux {
			t.Errorf("FindPersonality(%q, Linux) gave %s", c.version, p.Platform)
		}
	}
	p := mustFind(t, "16.0.1000.6", Windows, false)
	if !strings.HasPrefix(p.VersionText, "Microsoft SQL Server 2022 (RTM) - 16.0.1000.6 (X64)") {
		t.Errorf("rewritten @@VERSION %q", p.VersionText)
	}
	for _, s := range []string{"linux", "LINUX", " Windows "} {
		if _, err := ParsePlatform(s); err != nil {
			t.Errorf("ParsePlatform(%q): %v", s, err)
		}
	}
	if _, err := ParsePlatform("macos"); err == nil {
		t.Error("ParsePlatform accepted macos")
	}
}

func TestServerPropertyOn(t *testing.T) {
	p2016 := mustFind(t, "2016", Windows, false)
	p2019 := mustFind(t, "2019", Windows, false)
	mi := mustFind(t, "", Windows, true)
	checkPresence(t, "ServerPropertyOn", []presence{
		{p2016, "isHadrEnabled", true},
		{p2016, "ProductUpdateLevel", true},
		{p2016, "PathSeparator", false},
		{p2016, "InstanceDefaultBackupPath", false},
		{p2019, "InstanceDefaultBackupPath", true},
		{mi, "EngineEdition", true},
		{p2019, "NoSuchProperty", false},
		{p2019, "IsExternalAuthenticationOnly", false},
		{mi, "IsExternalAuthenticationOnly", true},
		{mustFind(t, "2022", Linux, false), "IsExternalGovernanceEnabled", true},
	}, func(p Personality, name string) bool { _, ok := ServerPropertyOn(p, name); return ok })
}

func TestCompareBuilds(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"13.0.6300.2", "13.0.7000.253", -1},
		{"15.0.4312.2", "15.0.4312.2", 0},
		{"16.0.4135.4", "16.0.999.9", 1},
		{"16.0", "16.0.0.0", 0},
	} {
		if got := compareBuilds(c.a, c.b); got != c.want {
			t.Errorf("compareBuilds(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestSpecParsersRejectGarbage(t *testing.T) {
	for _, f := range []func(){
		func() { cols("onlyname") },
		func() { cols("a int @x") },
		func() { cols("a int extra") },
		func() { params("job_id uniqueidentifier") },
		func() { params("@a int INPUT") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("a bad spec did not panic")
				}
			}()
			f()
		}()
	}
}

func TestPersonalityObjectsAndTypes(t *testing.T) {
	p2016 := mustFind(t, "2016", Windows, false)
	p2017 := mustFind(t, "2017", Windows, false)
	mi := mustFind(t, "", Windows, true)
	has := func(p Personality, name string) bool {
		for _, o := range p.Objects() {
			if o.Name == name {
				return true
			}
		}
		return false
	}
	if has(p2016, "dm_os_host_info") || !has(p2017, "dm_os_host_info") || has(p2017, "dm_hadr_fabric_nodes") || !has(mi, "dm_hadr_fabric_nodes") {
		t.Error("Personality.Objects does not follow availability")
	}
	ids := map[int32]string{}
	for _, o := range Objects() {
		id := o.ObjectID()
		if other, dup := ids[id]; dup {
			t.Errorf("%s and %s share object_id %d", o.FullName(), other, id)
		}
		ids[id] = o.FullName()
		if (o.Schema == "sys" || o.Schema == "") != (id < 0) {
			t.Errorf("%s: object_id %d has the wrong sign", o.FullName(), id)
		}
	}
	for _, c := range []struct{ db, schema, name, code, desc string }{
		{"", "sys", "databases", "V", "VIEW"},
		{"", "sys", "dm_server_services", "V", "VIEW"},
		{"msdb", "dbo", "sysjobs", "U", "USER_TABLE"},
		{"msdb", "dbo", "sp_add_job", "P", "SQL_STORED_PROCEDURE"},
		{"", "sys", "xp_fileexist", "X", "EXTENDED_STORED_PROCEDURE"},
	} {
		o, ok := p2017.Lookup(c.db, c.schema, c.name)
		if !ok || o.TypeCode() != c.code || o.TypeDesc() != c.desc {
			t.Errorf("%s: type %q %q (found %v), want %q %q", c.name, o.TypeCode(), o.TypeDesc(), ok, c.code, c.desc)
		}
	}
}

func TestStatements(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Statements {
		if seen[s.Name] || s.Name != strings.ToUpper(s.Name) {
			t.Errorf("%s: duplicate or not upper case", s.Name)
		}
		seen[s.Name] = true
		if !learnURL.MatchString(s.Source) {
			t.Errorf("%s: Source %q", s.Name, s.Source)
		}
		if s.Scope != "server" && s.Scope != "database" && s.Scope != "object" {
			t.Errorf("%s: scope %q", s.Name, s.Scope)
		}
		if s.MI != "" && !strings.Contains(s.MI, "https://learn.microsoft.com/azure/azure-sql/managed-instance/") {
			t.Errorf("%s: MI note without its source", s.Name)
		}
	}
	s, ok := StatementNamed("  dbcc   traceon ")
	if !ok || s.Permission != PermSysadmin {
		t.Fatalf("StatementNamed(dbcc traceon) = %+v, %v", s, ok)
	}
	if got := s.Alternatives(); len(got) != 1 || got[0] != PermSysadmin {
		t.Errorf("Alternatives %q", got)
	}
	b, _ := StatementNamed("BACKUP DATABASE")
	if got := b.Alternatives(); strings.Join(got, ",") != "sysadmin,db_owner,db_backupoperator" {
		t.Errorf("BACKUP DATABASE alternatives %q", got)
	}
	if st, _ := StatementNamed("DBCC TRACESTATUS"); st.Alternatives() != nil {
		t.Errorf("DBCC TRACESTATUS needs %q, want nothing", st.Permission)
	}
	if _, ok := StatementNamed("SELECT"); ok {
		t.Error("SELECT is not a listed statement")
	}
}

func TestSubsystems(t *testing.T) {
	win := mustFind(t, "2022", Windows, false)
	lin := mustFind(t, "2022", Linux, false)
	mi := mustFind(t, "", Windows, true)
	checkPresence(t, "SubsystemOn", []presence{
		{win, "powershell", true}, {lin, "PowerShell", false}, {mi, "PowerShell", true},
		{win, "TSQL", true}, {lin, "tsql", true}, {mi, "TSQL", true},
		{win, "CmdExec", true}, {lin, "CmdExec", false}, {mi, "CmdExec", true},
		{win, "NoSuch", false},
	}, func(p Personality, name string) bool { _, ok := SubsystemOn(p, name); return ok })
	for _, s := range Subsystems {
		if !learnURL.MatchString(s.Source) {
			t.Errorf("%s: Source %q", s.Name, s.Source)
		}
	}
}

// presence is one expectation that personality p has (or lacks) something called name.
type presence struct {
	p    Personality
	name string
	want bool
}

// checkPresence checks has against every case.
func checkPresence(t *testing.T, what string, cases []presence, has func(Personality, string) bool) {
	t.Helper()
	for _, c := range cases {
		if got := has(c.p, c.name); got != c.want {
			t.Errorf("%s: %s(%q) = %v, want %v", c.p.Name, what, c.name, got, c.want)
		}
	}
}
