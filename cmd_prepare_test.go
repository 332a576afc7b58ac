package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/steps"
)

// masterKeySecret is the master key password the tests give; it must appear nowhere.
const masterKeySecret = "Mk-Secret-9f3c1e!"

// unprepared is the acceptance state of issue 13: no master key, a SIMPLE database
// without a backup, trace flags off, 'Agent XPs' off; a writable and a read-only
// backup directory.
func unprepared(o *sqlsim.Options) {
	o.MasterKey, o.TraceFlags, o.AgentXPs = false, nil, false
	o.Databases = append(o.Databases, sqlsim.Database{Name: "Inventory", RecoveryModel: "SIMPLE", LogFiles: 1})
	o.Directories = map[string]bool{`D:\Backup`: true, `D:\ReadOnly`: false}
}

func (p *pair) prepareArgs(t *testing.T, extra ...string) ([]string, string) {
	log := filepath.Join(t.TempDir(), "milink.log")
	return append([]string{"prepare", "--sql-server", p.sql.Host(), "--sql-port", strconv.Itoa(p.sql.Port()), "--sql-user", "sa",
		"--sql-ca-cert", p.sqlCA, "--log-file", log}, extra...), log
}

// sqlState is what the catalog says about the fixable prerequisites.
type sqlState struct {
	masterKey, agentXPs bool
	flags               map[int]bool
	recovery            map[string]string
	backedUp            map[string]bool
}

func readSQLState(t *testing.T, p *pair) sqlState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := sqlops.Open(ctx, sqlops.ConnConfig{Role: "state", Host: p.sql.Host(), Port: p.sql.Port(), User: "sa", Password: simPassword, CACertFile: p.sqlCA})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st := sqlState{flags: map[int]bool{}, recovery: map[string]string{}, backedUp: map[string]bool{}}
	if st.masterKey, err = c.HasMasterKey(ctx); err != nil {
		t.Fatal(err)
	}
	flags, err := c.TraceFlags(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range flags {
		st.flags[f.Flag] = f.Global && f.Status
	}
	ag, err := c.Agent(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.agentXPs = ag.AgentXPs
	dbs, err := c.Databases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dbs {
		st.recovery[d.Name], st.backedUp[d.Name] = d.RecoveryModel, d.LastFullBackup != nil
	}
	return st
}

func assertUnprepared(t *testing.T, p *pair) {
	t.Helper()
	st := readSQLState(t, p)
	if st.masterKey || st.agentXPs || st.flags[1800] || st.flags[9567] || st.recovery["Inventory"] != "SIMPLE" || st.backedUp["Inventory"] {
		t.Errorf("the state changed: %+v", st)
	}
}

func assertNoSecret(t *testing.T, where, s string) {
	t.Helper()
	if strings.Contains(s, masterKeySecret) {
		t.Errorf("the master key password appears in %s", where)
	}
}

func TestPrepareScriptChangesNothing(t *testing.T) {
	p := startPair(t, unprepared, nil)
	args, log := p.prepareArgs(t, "--script", "--backup-dir", `D:\Backup`)
	env := map[string]string{"MILINK_SQL_PASSWORD": simPassword, masterKeyEnv: masterKeySecret}
	r := runApp(t, env, "", args...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{sqlops.StatementCreateMasterKey, "ALTER DATABASE [Inventory] SET RECOVERY FULL;",
		`BACKUP DATABASE [Inventory] TO DISK = N'D:\Backup\Inventory_full.bak';`, "DBCC TRACEON(1800, -1);", "DBCC TRACEON(9567, -1);",
		"EXEC sp_configure 'Agent XPs', 1;", "-T1800", "GO"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("script lacks %q:\n%s", want, r.stdout)
		}
	}
	b, _ := os.ReadFile(log)
	assertNoSecret(t, "the script", r.stdout+r.stderr)
	assertNoSecret(t, "the log", string(b))
	assertUnprepared(t, p)
}

func TestPrepareYesFixesEverythingThenCheckPasses(t *testing.T) {
	p := startPair(t, unprepared, nil)
	if r := runApp(t, pwEnv, "", p.checkArgs()...); r.code == steps.ExitOK {
		t.Fatal("check before prepare passed: the state is not unprepared")
	}
	args, log := p.prepareArgs(t, "--yes", "--backup-dir", `D:\Backup`, "--output", "json")
	env := map[string]string{"MILINK_SQL_PASSWORD": simPassword, masterKeyEnv: masterKeySecret}
	r := runApp(t, env, "", args...)
	if r.code != 0 {
		t.Fatalf("prepare: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	st := readSQLState(t, p)
	if !st.masterKey || !st.agentXPs || !st.flags[1800] || !st.flags[9567] || st.recovery["Inventory"] != "FULL" || !st.backedUp["Inventory"] {
		t.Errorf("after prepare: %+v", st)
	}
	for _, want := range []string{"applied  Create the database master key", "master-key: fail → pass", "Prerequisites, before → after:",
		"database:Inventory:recovery: fail → pass", "agent-xps: fail → pass"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stderr)
		}
	}
	var rep steps.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("report: %v", err)
	}
	if len(rep.PrerequisiteChanges) < 5 {
		t.Errorf("report prerequisite_changes: %+v", rep.PrerequisiteChanges)
	}
	if len(rep.Changes) == 0 || rep.Changes[0].By != "sa" || rep.Changes[0].Status != steps.ChangeApplied || rep.Changes[0].At.IsZero() {
		t.Errorf("report changes: %+v", rep.Changes)
	}
	b, _ := os.ReadFile(log)
	if !strings.Contains(string(b), "applied: Create the database master key") {
		t.Errorf("the log has no record of the change:\n%s", b)
	}
	assertNoSecret(t, "the output", r.stdout+r.stderr)
	assertNoSecret(t, "the log", string(b))
	if r := runApp(t, pwEnv, "", p.checkArgs()...); r.code != steps.ExitOK {
		t.Fatalf("check after prepare: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

func TestPrepareRefusesWithoutConsentOrInput(t *testing.T) {
	p := startPair(t, unprepared, nil)
	env := map[string]string{"MILINK_SQL_PASSWORD": simPassword, masterKeyEnv: masterKeySecret}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no --yes without a terminal", []string{"--backup-dir", `D:\Backup`}, "--yes"},
		{"no --backup-dir", []string{"--yes"}, "--backup-dir"},
		{"a relative --backup-dir", []string{"--yes", "--backup-dir", `Backup`}, "--backup-dir"},
		{"--yes-restart alone", []string{"--yes", "--yes-restart"}, "--restart"},
		{"--restart without --ssh", []string{"--yes", "--restart", "--backup-dir", `D:\Backup`}, "--ssh"},
		{"an empty password on stdin", []string{"--yes", "--backup-dir", `D:\Backup`, "--master-key-password-stdin"}, "--master-key-password-stdin"},
		{"a --database that does not exist", []string{"--yes", "--backup-dir", `D:\Backup`, "--database", "NoSuchDB"}, "--database: database NoSuchDB does not exist on SQL Server"},
		{"a --backup-dir the service does not see", []string{"--yes", "--backup-dir", `Q:\NoSuch`}, `--backup-dir: the SQL Server service does not see directory Q:\NoSuch (xp_fileexist)`},
		{"a system --database", []string{"--yes", "--backup-dir", `D:\Backup`, "--database", "msdb"}, "--database: msdb is a system database"},
	} {
		args, _ := p.prepareArgs(t, c.args...)
		r := runApp(t, env, "", args...)
		if r.code != steps.ExitUsage || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want %d naming %s", c.name, r.code, r.stderr, steps.ExitUsage, c.want)
		}
	}
	assertUnprepared(t, p)
}

func TestPrepareReportsAFailedBackup(t *testing.T) {
	p := startPair(t, unprepared, nil)
	args, _ := p.prepareArgs(t, "--yes", "--backup-dir", `D:\ReadOnly`)
	env := map[string]string{"MILINK_SQL_PASSWORD": simPassword, masterKeyEnv: masterKeySecret}
	r := runApp(t, env, "", args...)
	if r.code != steps.ExitError {
		t.Fatalf("exit %d, want %d\n%s", r.code, steps.ExitError, r.stdout)
	}
	for _, want := range []string{"failed   Take a full backup of Inventory", "Cannot open backup device", "Access is denied", "no backup of Inventory was recorded"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	st := readSQLState(t, p)
	if st.backedUp["Inventory"] || !st.masterKey || st.recovery["Inventory"] != "FULL" {
		t.Errorf("after a failed backup: %+v", st)
	}
}

// On a terminal milink prepare lists the changes and asks; "n" changes nothing, "y"
// applies them.
func TestPrepareAsksOnATerminal(t *testing.T) {
	p := startPair(t, unprepared, nil)
	env := map[string]string{"MILINK_SQL_PASSWORD": simPassword, masterKeyEnv: masterKeySecret}
	args, _ := p.prepareArgs(t, "--backup-dir", `D:\Backup`)
	r := runOnTerminal(t, env, "n\n", args...)
	if r.code != steps.ExitError || !strings.Contains(r.stdout, "Apply these changes to SQL Server SQLPROD01? [y/N]") || !strings.Contains(r.stdout, "Nothing changed.") {
		t.Errorf("declined: exit %d\n%s", r.code, r.stdout)
	}
	assertUnprepared(t, p)
	r = runOnTerminal(t, env, "y\n", args...)
	if r.code != 0 {
		t.Fatalf("accepted: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if st := readSQLState(t, p); !st.masterKey || !st.backedUp["Inventory"] {
		t.Errorf("after yes: %+v", st)
	}
	assertNoSecret(t, "the output", r.stdout+r.stderr)
}

// The master key password variable is read once and removed from the environment, so
// no child process (ssh-agent helpers, az) inherits it; it is no flag, so it never
// reaches the process arguments.
func TestMasterKeyPasswordIsTakenFromTheEnvironment(t *testing.T) {
	env := map[string]string{masterKeyEnv: masterKeySecret, "HOME": "/home/x"}
	getenv := takeSecrets(func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		func(k string) error { delete(env, k); return nil }, func(k string) string { return env[k] })
	if _, left := env[masterKeyEnv]; left {
		t.Error("MILINK_MASTER_KEY_PASSWORD is still in the environment")
	}
	if getenv(masterKeyEnv) != masterKeySecret || getenv("HOME") != "/home/x" {
		t.Error("the password read from the environment was lost")
	}
	r := runApp(t, nil, "", "prepare", "--master-key-password", masterKeySecret)
	if r.code != steps.ExitUsage || strings.Contains(r.stderr, masterKeySecret) {
		t.Errorf("a password flag: exit %d, stderr %q", r.code, r.stderr)
	}
}

// A TDE-protected database: the script carries the BACKUP CERTIFICATE statement and the
// upload command for the chosen cloud; nothing about it is applied.
func TestPrepareScriptTDE(t *testing.T) {
	p := startPair(t, func(o *sqlsim.Options) {
		o.Databases = append(o.Databases, sqlsim.Database{Name: "Vault", RecoveryModel: "FULL", LogFiles: 1, EncryptionState: 3})
	}, nil)
	args, _ := p.prepareArgs(t, "--script", "--cloud", "AzureUSGovernment")
	r := runApp(t, map[string]string{"MILINK_SQL_PASSWORD": simPassword}, "", args...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"Database Vault is protected by TDE", "BACKUP CERTIFICATE", "Connect-AzAccount -Environment AzureUSGovernment;", "Add-AzSqlManagedInstanceTransparentDataEncryptionCertificate"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("script lacks %q:\n%s", want, r.stdout)
		}
	}
	args, _ = p.prepareArgs(t, "--script", "--cloud", "Mars")
	if r := runApp(t, map[string]string{"MILINK_SQL_PASSWORD": simPassword}, "", args...); r.code != steps.ExitUsage || !strings.Contains(r.stderr, "--cloud") {
		t.Errorf("--cloud Mars: exit %d, %s", r.code, r.stderr)
	}
}

// Without --backup-dir, prepare backs up to SQL Server's default backup directory
// (SERVERPROPERTY('InstanceDefaultBackupPath'), 2019 and later) and says so in the plan;
// check's fix names the same file.
func TestPrepareDefaultsToTheInstanceBackupDirectory(t *testing.T) {
	p := startPair(t, func(o *sqlsim.Options) {
		unprepared(o)
		o.Directories = nil // the instance's own directories, its default backup directory among them
	}, nil)
	var dir string
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := sqlops.Open(ctx, sqlops.ConnConfig{Role: "state", Host: p.sql.Host(), Port: p.sql.Port(), User: "sa", Password: simPassword, CACertFile: p.sqlCA})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DB.QueryRowContext(ctx, "SELECT CAST(SERVERPROPERTY('InstanceDefaultBackupPath') AS nvarchar(260))").Scan(&dir); err != nil {
		t.Fatal(err)
	}
	c.Close()
	file := strings.TrimRight(dir, `\`) + `\Inventory_full.bak`
	args, _ := p.prepareArgs(t)
	r := runApp(t, pwEnv, "", append(args, "--script")...)
	if r.code != 0 || !strings.Contains(r.stdout, "BACKUP DATABASE [Inventory] TO DISK = N'"+file+"';") || !strings.Contains(r.stdout, "SERVERPROPERTY('InstanceDefaultBackupPath')") {
		t.Errorf("prepare --script without --backup-dir: exit %d, want the backup to %s\n%s\n%s", r.code, file, r.stdout, r.stderr)
	}
	chk := runApp(t, pwEnv, "", p.checkArgs()...)
	if !strings.Contains(chk.stdout, "BACKUP DATABASE [Inventory] TO DISK = N'"+file+"';") {
		t.Errorf("check's fix names another file than prepare's %s:\n%s", file, chk.stdout)
	}
	assertUnprepared(t, p)
}

// --script: the header asks to replace the master key placeholder only when a
// statement has it, and the restart's note does not promise a question milink will
// not ask; an empty line for --master-key-password-stdin says so (no "<nil>").
func TestPrepareScriptAndStdinWording(t *testing.T) {
	p := startPair(t, func(o *sqlsim.Options) {
		unprepared(o)
		o.MasterKey = true
	}, nil)
	args, _ := p.prepareArgs(t, "--script", "--backup-dir", `D:\Backup`)
	r := runApp(t, pwEnv, "", args...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout, sqlops.MasterKeyPlaceholder) || !strings.Contains(r.stdout, "-- Nothing was changed.") {
		t.Errorf("script without a master key step:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "Restart SQL Server") || strings.Contains(r.stdout, "milink asks separately") {
		t.Errorf("script's restart note:\n%s", r.stdout)
	}
	p2 := startPair(t, unprepared, nil)
	args, _ = p2.prepareArgs(t, "--yes", "--backup-dir", `D:\Backup`, "--master-key-password-stdin")
	r = runApp(t, map[string]string{"MILINK_SQL_PASSWORD": simPassword}, "\n", args...)
	if r.code != steps.ExitUsage || !strings.Contains(r.stderr, "--master-key-password-stdin: the line on standard input is empty") || strings.Contains(r.stderr, "<nil>") {
		t.Errorf("an empty line: exit %d, %s", r.code, r.stderr)
	}
}
