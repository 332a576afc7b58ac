package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/milink/milink/sqlops"
)

// HostRunner runs a shell command on the SQL Server host: the SSH prober
// (probe.SSH.Run). output is what it printed (stdout then stderr, trimmed and capped);
// exit is its exit status (-1 when none came back).
type HostRunner interface {
	Run(ctx context.Context, cmd string, limit time.Duration) (output string, exit int, err error)
}

// ApplyOptions are what applying needs besides the plan. MasterKeyPassword is used
// once, for CREATE MASTER KEY, and never stored, logged or reported.
type ApplyOptions struct {
	MasterKeyPassword string
	// Host runs the ChangeSSH changes (nil: they are skipped).
	Host HostRunner
	// ConfirmRestart asks, separately from the rest, whether to restart instance now,
	// cutting sessions open user sessions; nil or false: no restart.
	ConfirmRestart func(instance string, sessions int) bool
	Sink           Sink
}

// PrepareOutcome is what applying did: a record per change, the Prerequisites checked
// again afterwards and the findings whose outcome changed (before → after).
type PrepareOutcome struct {
	Records []ChangeRecord    `json:"changes"`
	Changed []FindingChange   `json:"prerequisite_changes,omitempty"`
	After   *Prerequisites    `json:"-"`
	Before  *Prerequisites    `json:"-"`
	Plan    *Preparation      `json:"-"`
	Errors  map[string]string `json:"-"`
}

// Failed reports whether any change failed.
func (o *PrepareOutcome) Failed() bool {
	for _, r := range o.Records {
		if r.Status == ChangeFailed {
			return true
		}
	}
	return false
}

// hostLimit bounds each command on the host (mssql-conf, a restart).
const hostLimit = 3 * time.Minute

// PlanPreparation plans the changes that fix the current Prerequisites' findings
// (CheckPrerequisites first). o.BackupDir is checked for the host's platform: a bad
// one is a FieldError for --backup-dir.
func (s *Session) PlanPreparation(ctx context.Context, o PrepareOptions) (*Preparation, error) {
	s.mu.Lock()
	c, pre := s.sqlConn, s.pre
	s.mu.Unlock()
	if c == nil || pre == nil {
		return nil, &StepOrderError{Step: StepPrerequisites, Needs: StepPrerequisites}
	}
	if o.BackupDir != "" {
		if err := sqlops.ValidateBackupDir(o.BackupDir, pre.Platform()); err != nil {
			return nil, &FieldError{Flag: "backup-dir", Err: fmt.Errorf("%w (wizard: Backup directory)", err)}
		}
	}
	if err := unknownDatabases(pre, o.Databases); err != nil {
		return nil, err
	}
	var f prepFacts
	var err error
	if f.sizesKB, err = c.DataSizesKB(ctx); err != nil && !sqlops.Unreadable(err) {
		return nil, err
	}
	if f.sessions, err = c.UserSessions(ctx); err != nil && !sqlops.Unreadable(err) {
		return nil, err
	}
	if f.advancedShown, err = c.AdvancedOptionsShown(ctx); err != nil && !sqlops.Unreadable(err) {
		return nil, err
	}
	p := planPreparation(pre, o, f)
	if err := checkBackupDir(ctx, c, pre, o, p); err != nil {
		return nil, err
	}
	if p.Login == "" { // the login's name could not be read: the one milink signed in with
		p.Login = c.Cfg.User
	}
	return p, nil
}

// checkBackupDir asks the SQL Server service, before anything is applied, whether the
// directory of the planned backups exists (xp_fileexist): a missing --backup-dir is a
// FieldError; a missing default backup directory leaves the backups needing
// --backup-dir. When xp_fileexist cannot be run the backup says it.
func checkBackupDir(ctx context.Context, c *sqlops.Conn, pre *Prerequisites, o PrepareOptions, p *Preparation) error {
	dir, fromDefault := pre.backupDir(o.BackupDir)
	planned := slices.ContainsFunc(p.Changes, func(ch Change) bool { return strings.HasPrefix(ch.ID, "backup:") && ch.Needs == "" })
	if dir == "" || !planned {
		return nil
	}
	st, err := c.FileExists(ctx, dir)
	switch {
	case err != nil && sqlops.Unreadable(err):
		return nil
	case err != nil:
		return err
	case st.IsDirectory:
		return nil
	case fromDefault:
		// Not the user's choice: the backups wait for one, as without a default.
		for i, ch := range p.Changes {
			if strings.HasPrefix(ch.ID, "backup:") {
				ch.Needs = "--backup-dir (wizard: Backup directory)"
				ch.Statements = []string{sqlops.StatementBackup(ch.db, backupFile("", ch.db, p.Platform))}
				ch.Note = fmt.Sprintf("The SQL Server service does not see its default backup directory %s (xp_fileexist): give a directory it can write to.", dir)
				p.Changes[i] = ch
			}
		}
		return nil
	}
	return &FieldError{Flag: "backup-dir", Err: fmt.Errorf("the SQL Server service does not see directory %s (xp_fileexist): create it, or give another directory (wizard: Backup directory)", dir)}
}

// unknownDatabases is a FieldError for --database for each database the user named
// that the Prerequisites did not find among SQL Server's user databases (a system
// database or a name that does not exist): preparing nothing for it must not look
// like "nothing to do".
func unknownDatabases(pre *Prerequisites, names []string) error {
	if !pre.Checked("the databases") {
		return nil // not read: the findings say so
	}
	have := map[string]bool{}
	for _, d := range pre.Databases {
		have[strings.ToLower(d.Name)] = true
	}
	var errs []error
	for _, n := range names {
		switch {
		case isSystemDatabase(n):
			errs = append(errs, &FieldError{Flag: "database", Err: fmt.Errorf("%s is a system database: the link replicates user databases only", n)})
		case !have[strings.ToLower(n)]:
			errs = append(errs, &FieldError{Flag: "database", Err: fmt.Errorf("database %s does not exist on SQL Server %s", n, pre.Server.ServerName)})
		}
	}
	return errors.Join(errs...)
}

// ApplyPreparation applies p's changes in order, recording each; then it checks the
// Prerequisites again. A failed change leaves what it touched as SQL Server left it and
// the next changes still run (each is independent), except that a backup is not taken
// of a database whose switch to FULL failed. The records also go into the report.
func (s *Session) ApplyPreparation(ctx context.Context, p *Preparation, a ApplyOptions) (*PrepareOutcome, error) {
	s.mu.Lock()
	c, before := s.sqlConn, s.pre
	s.mu.Unlock()
	if c == nil || before == nil {
		return nil, &StepOrderError{Step: StepPrerequisites, Needs: StepPrerequisites}
	}
	out := &PrepareOutcome{Before: before, Plan: p}
	emit := func(format string, args ...any) {
		if a.Sink != nil {
			a.Sink(Event{Time: time.Now(), Kind: EventStep, Message: fmt.Sprintf(format, args...)})
		}
	}
	failedDB := map[string]bool{}
	hostDone := false
	for _, ch := range p.Changes {
		r := ChangeRecord{Change: ch, At: time.Now().UTC(), By: p.Login}
		switch {
		case ch.Kind == ChangeInfo || ch.Kind == ChangeManual:
			r.Status = ChangeShown
		case ch.Needs != "":
			r.Status, r.LeftAsIs = ChangeSkipped, "not applied: it needs "+ch.Needs
		case ch.ID == restartID:
			r = s.restart(ctx, c, p, r, a, hostDone)
		case ch.Kind == ChangeSSH:
			r = runOnHost(ctx, a.Host, r)
			hostDone = hostDone || r.Status == ChangeApplied
		case ch.ID == "master-key" && a.MasterKeyPassword == "":
			r.Status, r.LeftAsIs = ChangeSkipped, "no master key was created: it needs a password (MILINK_MASTER_KEY_PASSWORD or --master-key-password-stdin; wizard: Master key password)"
		case strings.HasPrefix(ch.ID, "backup:") && failedDB[ch.db]:
			r.Status, r.LeftAsIs = ChangeSkipped, "no backup was taken: the switch to FULL failed"
		default:
			err := applySQL(ctx, c, ch, a.MasterKeyPassword)
			r.At = time.Now().UTC()
			if err != nil {
				r.Status, r.Error, r.LeftAsIs = ChangeFailed, err.Error(), leftAsIs(ch)
				if ch.db != "" {
					failedDB[ch.db] = true
				}
			} else {
				r.Status = ChangeApplied
			}
		}
		emit("%s: %s [%s] by %s at %s: %s%s", r.Status, r.What, r.Kind, r.By, r.At.Format(time.RFC3339), strings.Join(r.Statements, " "), recordTail(r))
		out.Records = append(out.Records, r)
	}
	s.mu.Lock()
	s.changes = append(s.changes, out.Records...)
	s.mu.Unlock()
	after, err := s.CheckPrerequisites(ctx)
	if err != nil {
		return out, fmt.Errorf("check the prerequisites again: %w", err)
	}
	out.After, out.Changed = after, findingChanges(before, after)
	s.mu.Lock()
	s.prereqChanges = append(s.prereqChanges, out.Changed...)
	s.mu.Unlock()
	return out, nil
}

func recordTail(r ChangeRecord) string {
	switch {
	case r.Error != "":
		return " — " + r.Error + "; " + r.LeftAsIs
	case r.LeftAsIs != "":
		return " — " + r.LeftAsIs
	case r.Output != "":
		return " — output: " + r.Output
	}
	return ""
}

// applySQL runs one T-SQL change.
func applySQL(ctx context.Context, c *sqlops.Conn, ch Change, password string) error {
	switch {
	case ch.ID == "master-key":
		return c.CreateMasterKey(ctx, password)
	case strings.HasPrefix(ch.ID, "recovery:"):
		return c.SetRecoveryFull(ctx, ch.db)
	case strings.HasPrefix(ch.ID, "backup:"):
		return backup(ctx, c, ch)
	case ch.flag != 0:
		return c.TraceOn(ctx, ch.flag)
	case ch.ID == "agent-xps":
		return c.EnableAgentXPs(ctx, ch.advanced)
	}
	return fmt.Errorf("milink does not know how to apply %q", ch.ID)
}

// backup checks with the SQL Server service that the backup directory exists, then
// takes the backup (a directory it may not write fails there, Msg 3201).
func backup(ctx context.Context, c *sqlops.Conn, ch Change) error {
	file := backupPath(ch.Statements[0])
	dir := file[:strings.LastIndexAny(file, `/\`)]
	st, err := c.FileExists(ctx, dir)
	if err != nil && !sqlops.Unreadable(err) {
		return err
	}
	if err == nil && !st.IsDirectory {
		return fmt.Errorf("the SQL Server service sees no directory %s (xp_fileexist): create it, or give another --backup-dir (wizard: Backup directory)", dir)
	}
	return c.BackupDatabase(ctx, ch.db, file)
}

// backupPath takes the file back out of a StatementBackup.
func backupPath(stmt string) string {
	_, after, _ := strings.Cut(stmt, "TO DISK = N'")
	return strings.ReplaceAll(strings.TrimSuffix(after, "';"), "''", "'")
}

// leftAsIs says what a failed T-SQL change left unchanged.
func leftAsIs(ch Change) string {
	switch {
	case ch.ID == "master-key":
		return "master has no new master key"
	case strings.HasPrefix(ch.ID, "recovery:"):
		return "the recovery model of " + ch.db + " is unchanged"
	case strings.HasPrefix(ch.ID, "backup:"):
		return "no backup of " + ch.db + " was recorded; its log chain is as it was"
	case ch.flag != 0:
		return fmt.Sprintf("trace flag %d is as it was", ch.flag)
	case ch.ID == "agent-xps":
		return "'Agent XPs' is as it was (an earlier statement of the list may have run: see the error)"
	}
	return "unchanged"
}

// runOnHost runs a ChangeSSH change's commands on the host.
func runOnHost(ctx context.Context, h HostRunner, r ChangeRecord) ChangeRecord {
	if h == nil {
		r.Status, r.LeftAsIs = ChangeSkipped, "not run: no SSH connection to the SQL Server host (--ssh)"
		return r
	}
	var outs []string
	for _, cmd := range r.Statements {
		o, exit, err := h.Run(ctx, cmd, hostLimit)
		r.At = time.Now().UTC()
		if o != "" {
			outs = append(outs, o)
		}
		if err == nil && exit != 0 {
			err = fmt.Errorf("%s exited with status %d", cmd, exit)
		}
		if err != nil {
			r.Output = strings.Join(outs, "\n")
			r.Status, r.Error, r.LeftAsIs = ChangeFailed, err.Error(), "the host's setting is as mssql-conf left it (see its output)"
			return r
		}
	}
	r.Output, r.Status = strings.Join(outs, "\n"), ChangeApplied
	return r
}

// restart restarts SQL Server over SSH after its own confirmation, and only when a
// startup setting was changed there. It counts the open user sessions again just
// before it asks.
func (s *Session) restart(ctx context.Context, c *sqlops.Conn, p *Preparation, r ChangeRecord, a ApplyOptions, hostDone bool) ChangeRecord {
	if r.Kind != ChangeSSH {
		r.Status = ChangeShown
		return r
	}
	if !hostDone {
		r.Status, r.LeftAsIs = ChangeSkipped, "not restarted: no startup setting was changed"
		return r
	}
	if n, err := c.UserSessions(ctx); err == nil {
		r.Sessions = n
	}
	if a.ConfirmRestart == nil || !a.ConfirmRestart(p.Instance, r.Sessions) {
		r.Status, r.LeftAsIs = ChangeSkipped, "not restarted (not confirmed): the startup settings take effect at the next restart of SQL Server"
		return r
	}
	r = runOnHost(ctx, a.Host, r)
	if r.Status == ChangeApplied {
		// The restart ended every connection of the pool; wait for SQL Server to take
		// logins again before the Prerequisites are checked.
		if err := sqlops.RetryWithin(ctx, 2*time.Minute, func() error { return c.DB.PingContext(ctx) }); err != nil {
			r.Error = "SQL Server did not answer after the restart: " + err.Error()
		}
	}
	return r
}
