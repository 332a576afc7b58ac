package sqlops

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"time"

	mssql "github.com/microsoft/go-mssqldb"
)

// Leftovers is what FindLeftovers found on one instance. Jobs, Endpoints and
// Certificates are milink's by every test (Key.Owns) and belong to runs that are over
// (their run lock is free): they may be removed. Live and Foreign are never removed.
type Leftovers struct {
	Jobs         []Job
	Endpoints    []Endpoint
	Certificates []Certificate
	// Live are milink's objects of a run that still holds its lock (a check running
	// now, from this or another machine sharing the key): left alone.
	Live []Suspect
	// Foreign carry something that looks like a milink mark but fail a test of
	// ownership (another name, a mark without or with a wrong authentication code, an
	// endpoint whose certificate is not milink's): reported, never removed.
	Foreign []Suspect
}

// Suspect is an object that looks like milink's but that milink leaves alone.
type Suspect struct {
	Kind   string // KindJob, KindEndpoint or KindCertificate
	Name   string
	RunID  string // the run id its mark names ("" when none)
	Reason string // why it is left alone
	// RemoveSQL is the T-SQL to remove it by hand, given only for objects named as
	// milink names them with an authenticated-looking mark of a run this machine has
	// no key for (a run from another machine); "" for objects that are not milink's.
	RemoveSQL string
}

// Empty reports whether nothing removable was found.
func (l Leftovers) Empty() bool {
	return len(l.Jobs) == 0 && len(l.Endpoints) == 0 && len(l.Certificates) == 0
}

// Count returns the number of removable objects found.
func (l Leftovers) Count() int { return len(l.Jobs) + len(l.Endpoints) + len(l.Certificates) }

// RunLockResource is the application-lock resource a run holds on each instance while
// it runs: "milink:<run id>".
func RunLockResource(runID string) string { return "milink:" + runID }

// ErrLive is wrapped when an object is milink's but its run is running (holds its
// lock): it is not a leftover and is left alone.
var ErrLive = errors.New("belongs to a milink run that is still running")

// notLive checks, right before a leftover of run is dropped by someone other than
// that run (ownRun empty), that the run is not live: the lock is tested again because
// time passed since the object was found. A run dropping its own objects (ownRun set)
// holds the lock itself and skips the test.
func (c *Conn) notLive(ctx context.Context, ownRun, run string) error {
	if ownRun != "" {
		return nil
	}
	live, err := c.RunLive(ctx, run)
	if err != nil {
		return err
	}
	if live {
		return fmt.Errorf("%w (run %s)", ErrLive, run)
	}
	return nil
}

// RunLive reports whether run id's lock is held by another session on the instance:
// APPLOCK_TEST('public', N'milink:<run>', 'Exclusive', 'Session') = 0, tested in the
// connection's database (master; the lock is taken there too). Errors are the query's.
// Source: https://learn.microsoft.com/sql/t-sql/functions/applock-test-transact-sql
// (1: the lock could be granted now, 0: it could not).
func (c *Conn) RunLive(ctx context.Context, runID string) (bool, error) {
	var free int
	err := c.DB.QueryRowContext(ctx, queryRunLockFree, sql.Named("resource", RunLockResource(runID))).Scan(&free)
	if err != nil {
		return false, fmt.Errorf("test the lock of run %s: %w", runID, err)
	}
	return free != 1, nil
}

// markedCandidates reads the jobs, endpoints and certificates whose description or
// certificate subject looks marked.
func (c *Conn) markedCandidates(ctx context.Context) (jobs []Job, eps []Endpoint, certs []Certificate, err error) {
	pat := sql.Named("pattern", MarkerLikePattern)
	err = c.scanAll(ctx, "find milink jobs", Query(TagJobsMarked), []any{pat}, func(r *sql.Rows) error {
		var j Job
		err := r.Scan(&j.ID, &j.Name, &j.Description, &j.Category)
		jobs = append(jobs, j)
		return err
	})
	if err == nil {
		err = c.scanAll(ctx, "find milink endpoints", Query(TagEndpointsMarked), []any{pat}, func(r *sql.Rows) error {
			var e Endpoint
			err := r.Scan(&e.ID, &e.Name, &e.Type, &e.State, &e.Port, &e.CertificateName, &e.CertificateSubject)
			eps = append(eps, e)
			return err
		})
	}
	if err == nil {
		err = c.scanAll(ctx, "find milink certificates", Query(TagCertsMarked), []any{pat}, func(r *sql.Rows) error {
			var ce Certificate
			err := r.Scan(&ce.ID, &ce.Name, &ce.Subject)
			certs = append(certs, ce)
			return err
		})
	}
	return jobs, eps, certs, err
}

// scanAll runs query with args and calls scan for every row.
func (c *Conn) scanAll(ctx context.Context, what, query string, args []any, scan func(*sql.Rows) error) error {
	rows, err := c.DB.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// FindLeftovers lists the objects that look marked by milink and sorts them: milink's
// of finished runs (removable), milink's of live runs (RunLive) and foreign ones.
// Nothing is changed. Errors: the key cannot be loaded, or a query failed.
func (c *Conn) FindLeftovers(ctx context.Context) (Leftovers, error) {
	var l Leftovers
	k, err := c.key()
	if err != nil {
		return l, err
	}
	jobs, eps, certs, err := c.markedCandidates(ctx)
	if err != nil {
		return l, err
	}
	live := map[string]bool{}
	isLive := func(run string) (bool, error) {
		v, seen := live[run]
		if !seen {
			var err error
			if v, err = c.RunLive(ctx, run); err != nil {
				return false, err
			}
			live[run] = v
		}
		return v, nil
	}
	// sort puts one object in its list; it reports whether it is removable.
	sort := func(kind, name, text string) (bool, error) {
		run, ours := k.Owns(kind, name, text)
		if !ours {
			l.Foreign = append(l.Foreign, foreignSuspect(k, kind, name, text))
			return false, nil
		}
		on, err := isLive(run)
		if err != nil {
			return false, err
		}
		if on {
			l.Live = append(l.Live, Suspect{Kind: kind, Name: name, RunID: run, Reason: "its milink run " + run + " is still running (it holds its lock)"})
			return false, nil
		}
		return true, nil
	}
	for _, j := range jobs {
		if _, ours := k.Owns(KindJob, j.Name, j.Description); ours && j.Category != JobCategory {
			l.Foreign = append(l.Foreign, Suspect{Kind: KindJob, Name: j.Name,
				Reason: fmt.Sprintf("not milink's: its category is %q, not milink's %q", j.Category, JobCategory)})
			continue
		}
		if ok, err := sort(KindJob, j.Name, j.Description); err != nil {
			return l, err
		} else if ok {
			l.Jobs = append(l.Jobs, j)
		}
	}
	for _, e := range eps {
		run, certOurs := k.Owns(KindCertificate, e.CertificateName, e.CertificateSubject)
		if !certOurs || !NamedLikeOurs(KindEndpoint, e.Name) {
			// Judged by its certificate: another machine's milink endpoint gets the
			// T-SQL to drop it by hand (before its certificate); anything else none.
			s := foreignSuspect(k, KindCertificate, e.CertificateName, e.CertificateSubject)
			s.Kind, s.Name = KindEndpoint, e.Name
			if certOurs || !NamedLikeOurs(KindEndpoint, e.Name) || s.RemoveSQL == "" {
				s.Reason = fmt.Sprintf("not milink's: milink's endpoints are named TEST_ENDPOINT* and use a certificate milink created; this one uses %s", e.CertificateName)
				s.RemoveSQL = ""
			} else {
				s.RemoveSQL = "DROP ENDPOINT " + QuoteIdentifier(e.Name) + ";"
			}
			l.Foreign = append(l.Foreign, s)
			continue
		}
		on, err := isLive(run)
		if err != nil {
			return l, err
		}
		if on {
			l.Live = append(l.Live, Suspect{Kind: KindEndpoint, Name: e.Name, RunID: run, Reason: "its milink run " + run + " is still running (it holds its lock)"})
			continue
		}
		l.Endpoints = append(l.Endpoints, e)
	}
	for _, ce := range certs {
		if ok, err := sort(KindCertificate, ce.Name, ce.Subject); err != nil {
			return l, err
		} else if ok {
			l.Certificates = append(l.Certificates, ce)
		}
	}
	// A certificate still used by an endpoint that is not removable stays: the
	// endpoint would keep DROP CERTIFICATE from succeeding, and it is not ours to drop.
	keep := map[string]bool{}
	for _, e := range eps {
		if !containsEndpoint(l.Endpoints, e.Name) {
			keep[e.CertificateName] = true
		}
	}
	certsOut := l.Certificates[:0]
	for _, ce := range l.Certificates {
		if keep[ce.Name] {
			l.Foreign = append(l.Foreign, Suspect{Kind: KindCertificate, Name: ce.Name, Reason: "used by an endpoint milink leaves alone"})
			continue
		}
		certsOut = append(certsOut, ce)
	}
	l.Certificates = certsOut
	return l, nil
}

func containsEndpoint(list []Endpoint, name string) bool {
	for _, e := range list {
		if e.Name == name {
			return true
		}
	}
	return false
}

// foreignSuspect describes an object that looks marked but is not milink's by this
// machine's key, with the T-SQL to remove it only when it is named as milink names
// them and carries an authenticated-looking mark (another machine's run).
func foreignSuspect(k *Key, kind, name, text string) Suspect {
	m := markPattern.FindStringSubmatch(text)
	s := Suspect{Kind: kind, Name: name}
	if m != nil {
		s.RunID = m[1]
	}
	switch {
	case !NamedLikeOurs(kind, name):
		s.Reason = "not milink's: milink never gives a " + kind + " this name (the mark in it proves nothing)"
	case m == nil || m[2] == "":
		s.Reason = "not milink's: its mark has no authentication code (an older milink, or typed by hand)"
	case k.marksOther(kind, name, m[1], m[2]):
		s.Reason = "not milink's: it carries a copy of the mark of another milink object"
	default:
		s.Reason = "marked by a milink run this machine has no key for (another machine's run?): remove it by hand if you know it is left over"
		switch kind {
		case KindJob:
			s.RemoveSQL = "EXEC msdb.dbo.sp_delete_job @job_name = N'" + escapeLiteral(name) + "';"
		default:
			s.RemoveSQL = "DROP " + map[string]string{KindCertificate: "CERTIFICATE", KindEndpoint: "ENDPOINT"}[kind] + " " + QuoteIdentifier(name) + ";"
		}
	}
	return s
}

func escapeLiteral(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r == '\'' {
			out = append(out, r)
		}
		out = append(out, r)
	}
	return string(out)
}

// Removed is one object a removal dealt with. Removed is true only when the catalog,
// read back afterwards, no longer has it.
type Removed struct {
	Kind    string // KindJob, KindEndpoint or KindCertificate
	Name    string
	Removed bool
	Err     error
}

// RemoveLeftovers removes what FindLeftovers found: jobs first, then endpoints, then
// certificates (an endpoint holds its certificate). Each object's ownership is checked
// again right before it is dropped, and each removal reconnects within
// ConnConfig.ReconnectWindow when the connection is lost; a ctx that ends stops the
// removal and the objects not yet removed are reported with ctx's error.
func (c *Conn) RemoveLeftovers(ctx context.Context, l Leftovers) []Removed {
	return c.RemoveLeftoversEach(ctx, l, nil)
}

// RemoveLeftoversEach is RemoveLeftovers calling each (when not nil) with every
// object's outcome as soon as it is known, so a caller reports progress truthfully
// and a stop (ctx) between two objects leaves the later ones untouched.
func (c *Conn) RemoveLeftoversEach(ctx context.Context, l Leftovers, each func(Removed)) []Removed {
	var out []Removed
	end := time.Now().Add(c.Cfg.reconnectWindow()) // one window for the whole removal
	do := func(kind, name string, f func() (bool, error)) {
		var removed bool
		err := ctx.Err()
		if err == nil {
			err = RetryWithin(ctx, time.Until(end), func() (err error) {
				removed, err = f()
				return err
			})
		}
		r := Removed{Kind: kind, Name: name, Removed: removed && err == nil, Err: err}
		out = append(out, r)
		if each != nil {
			each(r)
		}
	}
	for _, j := range l.Jobs {
		do(KindJob, j.Name, func() (bool, error) { return c.DeleteJob(ctx, &j, "") })
	}
	for _, e := range l.Endpoints {
		do(KindEndpoint, e.Name, func() (bool, error) { return c.DropTestEndpoint(ctx, e.Name, "") })
	}
	for _, ce := range l.Certificates {
		do(KindCertificate, ce.Name, func() (bool, error) { return c.DropTestCertificate(ctx, ce.Name, "") })
	}
	return out
}

// RunLock is a run's session-scoped application lock on one instance, held on a
// dedicated connection for the whole run: while it is held, FindLeftovers (of this and
// every other milink) treats the run's objects as live. When the connection is lost the
// server releases the lock with the session; Keep re-acquires it on a new connection.
type RunLock struct {
	c      *Conn
	runID  string
	conn   *sql.Conn
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// HoldRun takes run id's lock (sp_getapplock @Resource = N'milink:<run>', @LockMode =
// 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0) on a dedicated connection and
// keeps it until Release, checking the connection every interval (default 1 s) and
// re-acquiring the lock on a new connection after a loss. Errors: the connection or
// sp_getapplock failed, or the lock is held by someone else (status < 0). Source:
// https://learn.microsoft.com/sql/relational-databases/system-stored-procedures/sp-getapplock-transact-sql
// (return 0/1 granted, -1 timeout, -2 canceled, -3 deadlock victim, -999 error; a
// Session-owned lock lasts until released or the session ends).
func (c *Conn) HoldRun(ctx context.Context, runID string, interval time.Duration) (*RunLock, error) {
	if err := ValidateRunID(runID); err != nil {
		return nil, err
	}
	if interval <= 0 {
		interval = time.Second
	}
	l := &RunLock{c: c, runID: runID, done: make(chan struct{})}
	if err := l.acquire(ctx); err != nil {
		l.drop() // the caller's ctx ended mid-call: the lock may have been granted
		return nil, err
	}
	kctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.cancel = cancel
	go l.keep(kctx, interval)
	return l, nil
}

func (l *RunLock) acquire(ctx context.Context) error {
	conn, err := l.c.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("run lock: %w", err)
	}
	var status mssql.ReturnStatus
	_, err = conn.ExecContext(ctx, "sp_getapplock", sql.Named("Resource", RunLockResource(l.runID)),
		sql.Named("LockMode", "Exclusive"), sql.Named("LockOwner", "Session"), sql.Named("LockTimeout", 0), &status)
	if err == nil && status < 0 {
		err = fmt.Errorf("sp_getapplock returned %d (the lock is held by another session)", status)
	}
	if err != nil {
		if errors.Is(err, context.Canceled) && status >= 0 {
			l.conn = conn // stopped mid-call: the lock may be granted; Release releases it
		} else {
			discard(conn)
		}
		return fmt.Errorf("run lock %s: %w", RunLockResource(l.runID), err)
	}
	l.conn = conn
	return nil
}

// keep checks the lock's connection every interval and re-acquires the lock after a
// loss, until ctx is canceled (Release). A check or sp_getapplock cut short by Release
// keeps its connection for Release, which releases the lock on it explicitly:
// discarding it would leave the lock to a session the server ends only when it
// notices, after Release has returned.
func (l *RunLock) keep(ctx context.Context, interval time.Duration) {
	defer close(l.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if l.conn != nil {
			pctx, cancel := context.WithTimeout(ctx, interval+l.c.Cfg.loginTimeout())
			err := l.conn.PingContext(pctx)
			cancel()
			if ctx.Err() != nil {
				return // stopped mid-check: the connection stays for Release
			}
			if err == nil {
				continue
			}
			discard(l.conn)
			l.conn = nil
		}
		actx, cancel := context.WithTimeout(ctx, l.c.Cfg.loginTimeout())
		_ = l.acquire(actx)
		cancel()
	}
}

// Release stops watching the lock (cutting short the check under way) and gives the
// lock up with sp_releaseapplock, so a run released on a live connection is no longer
// live when Release returns; then it closes the connection, ending the session. Calls
// after the first do nothing.
func (l *RunLock) Release() {
	if l == nil {
		return
	}
	l.once.Do(l.release)
}

func (l *RunLock) release() {
	l.cancel()
	<-l.done
	l.drop()
}

// drop gives up the lock on its connection, if any, and closes the connection. The
// lock is released explicitly first, so it is free when drop returns; ending the
// session (discard) would free it too, but only once the server notices (as it does
// when the connection was lost and the release fails).
func (l *RunLock) drop() {
	if l.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.c.Cfg.loginTimeout())
	_, _ = l.conn.ExecContext(ctx, "sp_releaseapplock", sql.Named("Resource", RunLockResource(l.runID)), sql.Named("LockOwner", "Session"))
	cancel()
	discard(l.conn)
	l.conn = nil
}

// discard closes conn's session for good: *sql.Conn.Close would return it to the pool
// with its session, and its session-owned locks, alive.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}

// Inventory lists every job, endpoint and certificate on the instance, milink's or not;
// tests use it to prove that a user's objects were left untouched.
func (c *Conn) Inventory(ctx context.Context) (Leftovers, error) {
	var l Leftovers
	rows, err := c.DB.QueryContext(ctx, Query(TagListJobs))
	if err != nil {
		return l, fmt.Errorf("list jobs: %w", err)
	}
	for rows.Next() {
		var j Job
		if err := rows.Scan(&j.ID, &j.Name, &j.Description, &j.Category); err != nil {
			rows.Close()
			return l, fmt.Errorf("list jobs: %w", err)
		}
		l.Jobs = append(l.Jobs, j)
	}
	rows.Close()
	rows, err = c.DB.QueryContext(ctx, Query(TagListEndpoints))
	if err != nil {
		return l, fmt.Errorf("list endpoints: %w", err)
	}
	for rows.Next() {
		var e Endpoint
		if err := rows.Scan(&e.ID, &e.Name, &e.Type, &e.State, &e.Port); err != nil {
			rows.Close()
			return l, fmt.Errorf("list endpoints: %w", err)
		}
		l.Endpoints = append(l.Endpoints, e)
	}
	rows.Close()
	rows, err = c.DB.QueryContext(ctx, Query(TagListCerts))
	if err != nil {
		return l, fmt.Errorf("list certificates: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ce Certificate
		var subj sql.NullString
		if err := rows.Scan(&ce.ID, &ce.Name, &subj); err != nil {
			return l, fmt.Errorf("list certificates: %w", err)
		}
		ce.Subject = subj.String
		l.Certificates = append(l.Certificates, ce)
	}
	return l, rows.Err()
}
