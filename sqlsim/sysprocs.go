package sqlsim

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/milink/milink/sqlsim/catalog"
	"github.com/milink/milink/sqlsim/tds"
)

// spConfigure is sp_configure
// (https://learn.microsoft.com/sql/relational-databases/system-stored-procedures/sp-configure-transact-sql):
// no argument lists the options, one shows an option, two change its configured value
// (RECONFIGURE makes it the running value).
func spConfigure(s *session, p params, w writer) (int32, *tds.Error) {
	in := s.in
	in.mu.Lock()
	defer in.mu.Unlock()
	showAdv := false
	if c := in.configLocked("show advanced options"); c != nil {
		showAdv = c.inUse == 1
	}
	visible := func(c *configOption) bool { return !c.advanced || showAdv }
	cols := []tds.Column{{Name: "name", Type: tds.NVarChar, Size: 35, Nullable: true}, {Name: "minimum", Type: tds.Int, Nullable: true},
		{Name: "maximum", Type: tds.Int, Nullable: true}, {Name: "config_value", Type: tds.Int, Nullable: true}, {Name: "run_value", Type: tds.Int, Nullable: true}}
	name, hasName := p.str("configname")
	if !hasName {
		var rows [][]any
		for _, c := range in.configs {
			if visible(c) {
				rows = append(rows, []any{c.name, c.min, c.max, c.value, c.inUse})
			}
		}
		w.Result(cols, rows)
		return 0, nil
	}
	var match *configOption
	for _, c := range in.configs {
		if !visible(c) {
			continue
		}
		if strings.EqualFold(c.name, name) {
			match = c
			break
		}
		if strings.Contains(strings.ToLower(c.name), strings.ToLower(name)) {
			if match != nil {
				return 1, errSim(15125, "The configuration option '%s' is not unique.", name)
			}
			match = c
		}
	}
	if match == nil {
		return 1, errSim(15123, "The configuration option '%s' does not exist, or it may be an advanced option.", name)
	}
	if _, set := p["configvalue"]; !set || p["configvalue"] == nil {
		w.Result(cols, [][]any{{match.name, match.min, match.max, match.value, match.inUse}})
		return 0, nil
	}
	if !in.isSysadminLocked(s.loginName) && !in.hasServerPermLocked(s.loginName, "ALTER SETTINGS") {
		return 1, &tds.Error{Number: 15247, State: 1, Class: 16, Message: "User does not have permission to perform this action."}
	}
	v := p.int("configvalue", -1)
	if v < match.min || v > match.max {
		return 1, errSim(15129, "'%d' is not a valid value for configuration option '%s'.", v, match.name)
	}
	old := match.value
	match.value = v
	w.Info(15457, 1, 0, fmt.Sprintf("Configuration option '%s' changed from %d to %d. Run the RECONFIGURE statement to install.", match.name, old, v))
	return 0, nil
}

// xpFileExist is master.dbo.xp_fileexist (undocumented, widely used): the simulated
// host's directories (Options.Directories) and the files BACKUP wrote (files.go). A
// directory is "File Exists" 0, "File is a Directory" 1.
func xpFileExist(s *session, p params, w writer) (int32, *tds.Error) {
	name, _ := p.str("filename")
	in := s.in
	in.mu.Lock()
	if !in.isSysadminLocked(s.loginName) {
		in.mu.Unlock()
		return 1, &tds.Error{Number: 229, State: 5, Class: 14, Message: "The EXECUTE permission was denied on the object 'xp_fileexist', database 'mssqlsystemresource', schema 'sys'."}
	}
	file, dir, parent := in.fileStateLocked(name)
	in.mu.Unlock()
	if _, out := p["file_exists"]; out {
		s.setOutput("file_exists", bit(file))
		return 0, nil
	}
	w.Result([]tds.Column{{Name: "File Exists", Type: tds.Int, Nullable: true}, {Name: "File is a Directory", Type: tds.Int, Nullable: true},
		{Name: "Parent Directory Exists", Type: tds.Int, Nullable: true}}, [][]any{{bit(file), bit(dir), bit(parent)}})
	return 0, nil
}

// ---- application locks (https://learn.microsoft.com/sql/relational-databases/system-stored-procedures/sp-getapplock-transact-sql) ----

type lockHold struct {
	mode  string
	count int
	txn   bool
	dbID  int // database the lock was taken in (sys.dm_tran_locks.resource_database_id)
}

var lockModes = map[string]string{"shared": "Shared", "update": "Update", "intentshared": "IntentShared", "intentexclusive": "IntentExclusive", "exclusive": "Exclusive"}

// lockCompatible is SQL Server's lock compatibility matrix for the applock modes
// (https://learn.microsoft.com/sql/relational-databases/sql-server-transaction-locking-and-row-versioning-guide#lock_compatibility).
func lockCompatible(a, b string) bool {
	ok := map[string]string{
		"IntentShared":    "IntentShared IntentExclusive Shared Update",
		"IntentExclusive": "IntentShared IntentExclusive",
		"Shared":          "IntentShared Shared Update",
		"Update":          "IntentShared Shared",
		"Exclusive":       "",
	}
	for _, m := range strings.Fields(ok[a]) {
		if m == b {
			return true
		}
	}
	return false
}

func (in *Instance) lockGrantableLocked(s *session, resource, mode string) bool {
	l := in.locks[resource]
	if l == nil {
		return true
	}
	for holder, h := range l.holders {
		if holder != s && !lockCompatible(mode, h.mode) {
			return false
		}
	}
	return true
}

func spGetAppLock(s *session, p params, w writer) (int32, *tds.Error) {
	res, ok := p.str("resource")
	modeArg, ok2 := p.str("lockmode")
	mode := lockModes[strings.ToLower(modeArg)]
	if !ok || !ok2 || mode == "" || len(res) > 255 {
		return -999, errSim(1203, "sp_getapplock: @Resource and a valid @LockMode (Shared, Update, IntentShared, IntentExclusive, Exclusive) are required.")
	}
	owner, _ := p.str("lockowner")
	txn := !strings.EqualFold(owner, "Session")
	if txn && s.tranCount == 0 {
		return -999, errSim(1223, "You attempted to acquire a transactional application lock without an active transaction.")
	}
	timeout := time.Duration(p.int("locktimeout", -1)) * time.Millisecond
	ctx := s.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	var deadline <-chan time.Time
	if timeout >= 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		deadline = t.C
	}
	in := s.in
	waited := false
	for {
		in.mu.Lock()
		if in.lockGrantableLocked(s, res, mode) {
			l := in.locks[res]
			if l == nil {
				l = &lockState{resource: res, holders: map[*session]*lockHold{}, changed: make(chan struct{})}
				in.locks[res] = l
			}
			h := l.holders[s]
			if h == nil {
				h = &lockHold{mode: mode, txn: txn}
				if d := in.dbByNameLocked(s.db); d != nil {
					h.dbID = d.id
				}
				l.holders[s] = h
			}
			h.count++
			if mode == "Exclusive" || h.mode == "" {
				h.mode = mode
			}
			in.mu.Unlock()
			if waited {
				return 1, nil
			}
			return 0, nil
		}
		if timeout == 0 {
			in.mu.Unlock()
			return -1, nil
		}
		ch := in.locks[res].changed
		in.mu.Unlock()
		waited = true
		select {
		case <-ch:
		case <-deadline:
			return -1, nil
		case <-ctx.Done():
			return -2, nil
		}
	}
}

func spReleaseAppLock(s *session, p params, w writer) (int32, *tds.Error) {
	res, _ := p.str("resource")
	in := s.in
	in.mu.Lock()
	defer in.mu.Unlock()
	l := in.locks[res]
	if l == nil || l.holders[s] == nil {
		return -999, errSim(1223, "Cannot release the application lock (Database Principal: 'public', Resource: '%s') because it is not currently held.", res)
	}
	h := l.holders[s]
	h.count--
	if h.count <= 0 {
		in.dropHolderLocked(l, s)
	}
	return 0, nil
}

func (in *Instance) dropHolderLocked(l *lockState, s *session) {
	delete(l.holders, s)
	close(l.changed)
	l.changed = make(chan struct{})
	if len(l.holders) == 0 {
		delete(in.locks, l.resource)
	}
}

// releaseLocks frees the session's application locks: transaction-owned ones only
// (end of transaction), or all (end of session).
func (s *session) releaseLocks(txnOnly bool) {
	in := s.in
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, l := range in.locks {
		if h := l.holders[s]; h != nil && (!txnOnly || h.txn) {
			in.dropHolderLocked(l, s)
		}
	}
}

func (s *session) applockMode(res string) string {
	in := s.in
	in.mu.Lock()
	defer in.mu.Unlock()
	if l := in.locks[res]; l != nil {
		if h := l.holders[s]; h != nil {
			return h.mode
		}
	}
	return "NoLock"
}

func (s *session) applockTest(res, mode string) bool {
	m := lockModes[strings.ToLower(mode)]
	in := s.in
	in.mu.Lock()
	defer in.mu.Unlock()
	return m != "" && in.lockGrantableLocked(s, res, m)
}

// ---- properties ----

// serverProperty is SERVERPROPERTY (https://learn.microsoft.com/sql/t-sql/functions/serverproperty-transact-sql):
// NULL for a name the personality does not know (catalog.ServerPropertyOn), otherwise
// the value converted to the property's documented base type.
func (in *Instance) serverProperty(name string) any {
	sp, ok := catalog.ServerPropertyOn(in.pers, name)
	if !ok {
		return nil
	}
	v := in.serverPropertyValue(sp.Name)
	if v == nil {
		return nil
	}
	if cv, err := convert(v, parseTypeName(sp.Type)); err == nil {
		return cv
	}
	return v
}

func (in *Instance) serverPropertyValue(name string) any {
	p := in.pers
	o := in.opts
	parts := strings.Split(p.ProductVersion, ".")
	part := func(i int) any {
		if i < len(parts) {
			return parts[i]
		}
		return nil
	}
	machine := strings.SplitN(o.ServerName, `\`, 2)[0]
	sep := `\`
	if p.Platform == catalog.Linux {
		sep = "/"
	}
	switch name {
	case "ProductVersion", "ResourceVersion":
		return p.ProductVersion
	case "ProductMajorVersion":
		return part(0)
	case "ProductMinorVersion":
		return part(1)
	case "ProductBuild":
		return part(2)
	case "ProductLevel":
		return p.ProductLevel
	case "ProductUpdateLevel":
		if p.UpdateLevel == "" {
			return nil
		}
		return p.UpdateLevel
	case "ProductUpdateType":
		// update-policy page, "Check update policy": CU for the SQL Server 2022/2025
		// policies, Continuous for Always-up-to-date.
		if strings.EqualFold(o.UpdatePolicy, UpdatePolicyAlwaysUpToDate) {
			return "Continuous"
		}
		return "CU"
	case "ProductUpdateReference":
		if p.UpdateReference == "" {
			return nil
		}
		return p.UpdateReference
	case "Edition":
		return p.Edition
	case "EditionID":
		if p.EditionID == 0 {
			return nil
		}
		return p.EditionID
	case "EngineEdition":
		return int64(p.EngineEdition)
	case "IsHadrEnabled":
		return bit(o.HadrEnabled)
	case "HadrManagerStatus":
		if o.HadrEnabled {
			return int64(1)
		}
		return int64(2)
	case "ServerName":
		return o.ServerName
	case "MachineName", "ComputerNamePhysicalNetBIOS":
		return machine
	case "InstanceName":
		if i := strings.Index(o.ServerName, `\`); i >= 0 {
			return o.ServerName[i+1:]
		}
		return nil
	case "Collation":
		return "SQL_Latin1_General_CP1_CI_AS"
	case "CollationID":
		return int64(872468488)
	case "ComparisonStyle":
		return int64(196609)
	case "LCID":
		return int64(1033)
	case "SqlCharSet":
		return int64(1)
	case "SqlCharSetName":
		return "iso_1"
	case "SqlSortOrder":
		return int64(52)
	case "SqlSortOrderName":
		return "nocase_iso"
	case "IsXTPSupported":
		return int64(1)
	case "ProcessID":
		return int64(4242)
	case "BuildClrVersion":
		return "v4.0.30319"
	case "PathSeparator":
		return sep
	case "InstanceDefaultDataPath", "InstanceDefaultLogPath":
		return strings.TrimSuffix(in.dataPath("x"), "x")
	case "InstanceDefaultBackupPath":
		return strings.TrimSuffix(strings.Replace(in.dataPath("x"), "DATA", "Backup", 1), "x")
	case "LicenseType":
		return "DISABLED"
	case "FilestreamShareName":
		return "MSSQLSERVER"
	case "ResourceLastUpdateDateTime":
		return in.started
	case "NumLicenses", "ProductBuildType":
		return nil
	}
	// The remaining properties are 0/1 flags that are off here (IsClustered,
	// IsIntegratedSecurityOnly, IsSingleUser, IsFullTextInstalled, IsLocalDB, …).
	return int64(0)
}

// connectionProperty is CONNECTIONPROPERTY
// (https://learn.microsoft.com/sql/t-sql/functions/connectionproperty-transact-sql).
func (s *session) connectionProperty(name string) any {
	switch strings.ToLower(name) {
	case "local_net_address":
		return s.in.opts.IP
	case "local_tcp_port":
		return int64(1433)
	case "client_net_address":
		return s.remote
	case "net_transport":
		return "TCP"
	case "protocol_type":
		return "TSQL"
	case "auth_scheme":
		return "SQL"
	case "physical_net_transport":
		return "TCP"
	}
	return nil
}

var majorYear = map[int]string{13: "2016", 14: "2017", 15: "2019", 16: "2022", 17: "2025"}

// versionText is @@VERSION as the personality's build prints it
// (https://learn.microsoft.com/sql/t-sql/functions/version-transact-sql-configuration-functions).
func (in *Instance) versionText() string {
	p := in.pers
	o := in.opts
	if p.MI && p.VersionText == "" {
		return fmt.Sprintf("Microsoft SQL Azure (RTM) - %s (X64) \n\tCopyright (C) 2025 Microsoft Corporation\n", p.ProductVersion)
	}
	host := fmt.Sprintf("%s on %s <X64> (simulated)", p.Edition, o.Distribution)
	if p.Platform == catalog.Linux {
		host = fmt.Sprintf("%s on Linux (%s) <X64> (simulated)", p.Edition, o.Distribution)
	}
	if p.VersionText != "" {
		if strings.Contains(p.VersionText, "%s") {
			return fmt.Sprintf(p.VersionText, host)
		}
		return p.VersionText
	}
	level := p.ProductLevel
	if level == "" {
		level = "RTM"
	}
	if p.UpdateLevel != "" {
		level += "-" + p.UpdateLevel
	}
	year := majorYear[p.Major]
	return fmt.Sprintf("Microsoft SQL Server %s (%s) - %s (X64) \n\tCopyright (C) %s Microsoft Corporation\n\t%s\n", year, level, p.ProductVersion, year, host)
}
