package sqlsim

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/milink/milink/sqlsim/tds"
	"github.com/milink/milink/sqlsim/tsql"
)

// variable is a T-SQL local variable: its declared type and value.
type variable struct {
	typ tsql.Type
	val any
}

// execCtx runs the statements of one batch (or one procedure call) for a session.
type execCtx struct {
	ctx      context.Context
	s        *session
	w        writer
	vars     map[string]*variable // lower-case name without @
	depth    int                  // procedure nesting level (@@NESTLEVEL)
	tryDepth int
	catchErr *tds.Error
	proc     string // procedure being run, for error messages
	probing  bool
}

func newExecCtx(ctx context.Context, s *session, w writer) *execCtx {
	return &execCtx{ctx: ctx, s: s, w: w, vars: map[string]*variable{}}
}

func (x *execCtx) lookupVar(name string) (*variable, bool) {
	v, ok := x.vars[strings.ToLower(name)]
	return v, ok
}

// errBatchAborted ends a batch after its error was reported.
type errBatchAborted struct{}

func (errBatchAborted) Error() string { return "batch aborted" }

// runBatch parses and runs one batch, writing results and messages to w.
func (s *session) runBatch(ctx context.Context, sql string, w writer, vars map[string]*variable) {
	stmts, err := tsql.Parse(sql)
	if err != nil {
		if pe, ok := err.(*tsql.Error); ok {
			w.Error(&tds.Error{Number: pe.Number, State: 1, Class: 15, Message: pe.Msg, Line: int32(pe.Line)})
			s.lastError = pe.Number
			return
		}
		w.Error(&tds.Error{Number: 102, State: 1, Class: 15, Message: err.Error(), Line: 1})
		return
	}
	x := newExecCtx(ctx, s, w)
	if vars != nil {
		x.vars = vars
	}
	s.batchText = sql
	for i, st := range stmts {
		if cp, ok := st.(*tsql.CreateProc); ok && i > 0 {
			x.report(abortErr(111, 15, "'CREATE/ALTER PROCEDURE' must be the first statement in a query batch."), cp.Line)
			return
		}
	}
	_ = x.runStmts(stmts)
}

// report writes an error's messages (with line and procedure) and records @@ERROR.
func (x *execCtx) report(err error, line int) {
	ee := asExecError(err)
	for _, m := range ee.msgs {
		mm := *m
		if mm.Line == 0 {
			mm.Line = int32(line)
		}
		if mm.Proc == "" {
			mm.Proc = x.proc
		}
		x.w.Error(&mm)
		x.s.lastError = mm.Number
	}
}

// runStmts runs statements in order. Errors are reported and the batch goes on
// unless they abort it; inside TRY they unwind to the CATCH block instead.
func (x *execCtx) runStmts(stmts []tsql.Stmt) error {
	for _, st := range stmts {
		if err := x.ctx.Err(); err != nil {
			return errBatchAborted{}
		}
		err := x.runStmt(st)
		if err == nil {
			x.s.lastError = 0
			continue
		}
		switch err.(type) {
		case *flow, errBatchAborted:
			return err
		}
		ee := asExecError(err)
		if x.tryDepth > 0 && ee.last().Class > 10 {
			if ee.last().Line == 0 {
				ee.last().Line = int32(st.StmtLine())
			}
			return ee
		}
		x.report(ee, st.StmtLine())
		if ee.abort {
			return errBatchAborted{}
		}
	}
	return nil
}

// runStmt runs one statement.
func (x *execCtx) runStmt(st tsql.Stmt) error {
	s := x.s
	if err := x.bindTables(st); err != nil {
		return err
	}
	switch n := st.(type) {
	case *tsql.SelectStmt:
		return x.runSelect(n)
	case *tsql.Declare:
		for _, d := range n.Vars {
			key := strings.ToLower(d.Name)
			if _, dup := x.vars[key]; dup {
				return abortErr(134, 15, fmt.Sprintf("The variable name '@%s' has already been declared. Variable names must be unique within a query batch or stored procedure.", d.Name))
			}
			v := &variable{typ: d.Type}
			x.vars[key] = v
			if d.Init != nil {
				val, err := x.eval(d.Init, nil)
				if err != nil {
					return err
				}
				if err := x.assign(d.Name, val); err != nil {
					return err
				}
			}
		}
		return nil
	case *tsql.SetVar:
		val, err := x.eval(n.X, nil)
		if err != nil {
			return err
		}
		if n.Op != "=" {
			cur, ok := x.lookupVar(n.Name)
			if !ok {
				return abortErr(137, 15, fmt.Sprintf("Must declare the scalar variable \"@%s\".", n.Name))
			}
			if cur.val == nil || val == nil {
				val = nil
			} else if val, err = arith(n.Op[:1], cur.val, val); err != nil {
				return err
			}
		}
		return x.assign(n.Name, val)
	case *tsql.SetOption:
		if len(n.Words) >= 2 && n.Words[0] == "NOCOUNT" {
			s.nocount = n.Words[1] == "ON"
			if nc, ok := x.w.(interface{ SetNoCount(bool) }); ok {
				nc.SetNoCount(s.nocount)
			}
		}
		return nil
	case *tsql.If:
		v, err := x.eval(n.Cond, nil)
		if err != nil {
			return err
		}
		if b, known := truth(v); b && known {
			return x.runStmts([]tsql.Stmt{n.Then})
		}
		if n.Else != nil {
			return x.runStmts([]tsql.Stmt{n.Else})
		}
		return nil
	case *tsql.While:
		for {
			if x.ctx.Err() != nil {
				return errBatchAborted{}
			}
			v, err := x.eval(n.Cond, nil)
			if err != nil {
				return err
			}
			if b, known := truth(v); !b || !known {
				return nil
			}
			err = x.runStmts([]tsql.Stmt{n.Body})
			if f, ok := err.(*flow); ok {
				if f.kind == "BREAK" {
					return nil
				}
				if f.kind == "CONTINUE" {
					continue
				}
			}
			if err != nil {
				return err
			}
		}
	case *tsql.Block:
		return x.runStmts(n.Body)
	case *tsql.Break:
		return &flow{kind: "BREAK"}
	case *tsql.Continue:
		return &flow{kind: "CONTINUE"}
	case *tsql.Return:
		f := &flow{kind: "RETURN"}
		if n.X != nil {
			v, err := x.eval(n.X, nil)
			if err != nil {
				return err
			}
			f.status, _ = toInt(v)
		}
		return f
	case *tsql.WaitFor:
		v, err := x.eval(n.Delay, nil)
		if err != nil {
			return err
		}
		d, err := parseDelay(toStr(v))
		if err != nil {
			return err
		}
		if n.Time {
			d = timeUntil(d)
		}
		if !sleepCtx(x.ctx, d) {
			return errBatchAborted{}
		}
		return nil
	case *tsql.Print:
		v, err := x.eval(n.X, nil)
		if err != nil {
			return err
		}
		x.w.Info(0, 1, 0, toStr(v))
		return nil
	case *tsql.Throw:
		return x.throw(n)
	case *tsql.Raiserror:
		return x.raiserror(n)
	case *tsql.TryCatch:
		x.tryDepth++
		err := x.runStmts(n.Try)
		x.tryDepth--
		if err == nil {
			return nil
		}
		switch err.(type) {
		case *flow, errBatchAborted:
			return err
		}
		saved := x.catchErr
		x.catchErr = asExecError(err).last()
		defer func() { x.catchErr = saved }()
		return x.runStmts(n.Catch)
	case *tsql.Use:
		in := s.in
		in.mu.Lock()
		d := in.dbByNameLocked(n.DB)
		in.mu.Unlock()
		if d == nil {
			return abortErr(911, 16, fmt.Sprintf("Database '%s' does not exist. Make sure that the name is entered correctly.", n.DB))
		}
		s.db = d.name
		x.w.ChangeDatabase(d.name)
		return nil
	case *tsql.Tran:
		return s.tran(n.Op)
	case *tsql.Exec:
		return x.runExec(n)
	case *tsql.CreateProc:
		return x.createProc(n)
	case *tsql.Dbcc:
		return x.dbcc(n)
	case *tsql.Reconfigure:
		return x.reconfigure(n.Override)
	case *tsql.Unsupported:
		return sqlErr(50000, 16, fmt.Sprintf("sqlsim: %s statements are not supported by the simulator (it models the catalog, not user data).", n.Text))
	}
	return x.runDDL(st)
}

// assign stores a value in a declared variable, converted to its type.
func (x *execCtx) assign(name string, val any) error {
	v, ok := x.lookupVar(name)
	if !ok {
		return abortErr(137, 15, fmt.Sprintf("Must declare the scalar variable \"@%s\".", name))
	}
	if b, isBool := val.(bool); isBool {
		val = map[bool]int64{true: 1, false: 0}[b]
	}
	if v.typ.Name == "" || v.typ.Name == "sql_variant" {
		v.val = val
		return nil
	}
	cv, err := convert(val, v.typ)
	if err != nil {
		return abortOf(err)
	}
	v.val = cv
	return nil
}

func (x *execCtx) runSelect(n *tsql.SelectStmt) error {
	sel, isSelect := n.Q.(*tsql.Select)
	assigning := false
	if isSelect {
		for _, it := range sel.Items {
			if it.Var != "" {
				assigning = true
			} else if assigning {
				return abortErr(141, 15, "A SELECT statement that assigns a value to a variable must not be combined with data-retrieval operations.")
			}
		}
	}
	if assigning {
		for _, it := range sel.Items {
			if it.Var == "" {
				return abortErr(141, 15, "A SELECT statement that assigns a value to a variable must not be combined with data-retrieval operations.")
			}
			if _, ok := x.lookupVar(it.Var); !ok {
				return abortErr(137, 15, fmt.Sprintf("Must declare the scalar variable \"@%s\".", it.Var))
			}
		}
		r, err := x.evalSelect(sel, nil, func(row []any) error {
			for i, it := range sel.Items {
				if err := x.assign(it.Var, row[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		x.s.rowcount = int64(len(r.rows))
		return nil
	}
	r, err := x.evalQuery(n.Q, nil)
	if err != nil {
		return err
	}
	x.s.rowcount = int64(len(r.rows))
	x.writeResult(r)
	return nil
}

// writeResult sends a relation as a result set.
func (x *execCtx) writeResult(r *relation) {
	cols := make([]tds.Column, len(r.cols))
	for i, c := range r.cols {
		t := c.typ
		if t == 0 {
			t = tds.NVarChar
		}
		cols[i] = tds.Column{Name: c.name, Type: t, Size: c.size, Nullable: true}
		if t == tds.NVarChar && c.size == 0 {
			// An expression's type: nvarchar(4000), or nvarchar(max) when a value is longer.
			cols[i].Size = 4000
			for _, row := range r.rows {
				if s, ok := row[i].(string); ok && len([]rune(s)) > 4000 {
					cols[i].Size = tds.MaxSize
				}
			}
		}
	}
	rows := make([][]any, len(r.rows))
	for i, row := range r.rows {
		out := make([]any, len(row))
		for j, v := range row {
			switch t := v.(type) {
			case bool:
				out[j] = map[bool]int64{true: 1, false: 0}[t]
			case time.Time:
				out[j] = t
			default:
				out[j] = v
			}
			if cols[j].Type == tds.NVarChar && out[j] != nil {
				if _, ok := out[j].(string); !ok {
					out[j] = toStr(out[j])
				}
			}
		}
		rows[i] = out
	}
	x.w.Result(cols, rows)
}

var reDelay = regexp.MustCompile(`^\s*(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,3}))?)?\s*$`)

// parseDelay reads WAITFOR DELAY's 'hh:mm[:ss[.mmm]]'
// (https://learn.microsoft.com/sql/t-sql/language-elements/waitfor-transact-sql).
func parseDelay(s string) (time.Duration, error) {
	m := reDelay.FindStringSubmatch(s)
	if m == nil {
		return 0, abortErr(148, 15, "Incorrect time syntax in time string '"+s+"' used with WAITFOR.")
	}
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	sec, _ := strconv.Atoi(m[3])
	ms := 0
	if m[4] != "" {
		ms, _ = strconv.Atoi((m[4] + "00")[:3])
	}
	if h > 23 || mi > 59 || sec > 59 {
		return 0, abortErr(148, 15, "Incorrect time syntax in time string '"+s+"' used with WAITFOR.")
	}
	return time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(sec)*time.Second + time.Duration(ms)*time.Millisecond, nil
}

func timeUntil(clock time.Duration) time.Duration {
	now := time.Now()
	mid := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	t := mid.Add(clock)
	if t.Before(now) {
		t = t.Add(24 * time.Hour)
	}
	return time.Until(t)
}

// throw is THROW (https://learn.microsoft.com/sql/t-sql/language-elements/throw-transact-sql):
// severity 16, ends the batch unless caught.
func (x *execCtx) throw(n *tsql.Throw) error {
	if n.Num == nil {
		if x.catchErr == nil {
			return abortErr(10704, 15, "To rethrow an error, a THROW statement must be used inside a CATCH block. Insert the THROW statement inside a CATCH block, or add error parameters to the THROW statement.")
		}
		e := *x.catchErr
		return &execError{msgs: []*tds.Error{&e}, abort: true}
	}
	num, err := x.eval(n.Num, nil)
	if err != nil {
		return err
	}
	msg, err := x.eval(n.Msg, nil)
	if err != nil {
		return err
	}
	st, err := x.eval(n.State, nil)
	if err != nil {
		return err
	}
	nn, err := toInt(num)
	if err != nil {
		return err
	}
	if nn < 50000 {
		return abortErr(35100, 16, fmt.Sprintf("Error number %d in the THROW statement is outside the valid range. Specify an error number in the valid range of 50000 to 2147483647.", nn))
	}
	sv, _ := toInt(st)
	return &execError{msgs: []*tds.Error{{Number: int32(nn), State: uint8(sv), Class: 16, Message: toStr(msg)}}, abort: true}
}

var reFmt = regexp.MustCompile(`%[-+ 0#]*\d*(?:\.\d+)?(?:[hl])?[disuxXoc%]`)

// raiserror is RAISERROR (https://learn.microsoft.com/sql/t-sql/language-elements/raiserror-transact-sql):
// severity 10 or lower is an informational message, higher an error that does not end the batch.
func (x *execCtx) raiserror(n *tsql.Raiserror) error {
	mv, err := x.eval(n.Msg, nil)
	if err != nil {
		return err
	}
	sevV, err := x.eval(n.Severity, nil)
	if err != nil {
		return err
	}
	stV, err := x.eval(n.State, nil)
	if err != nil {
		return err
	}
	args, err := x.evalArgs(n.Args, nil)
	if err != nil {
		return err
	}
	sev, _ := toInt(sevV)
	st, _ := toInt(stV)
	num := int32(50000)
	msg := toStr(mv)
	if id, ok := mv.(int64); ok {
		num = int32(id)
		msg = fmt.Sprintf("Error %d, severity %d, state %d was raised, but no message with that error number was found in sys.messages. If error is larger than 50000, make sure the user-defined message is added using sp_addmessage.", id, sev, st)
	}
	ai := 0
	msg = reFmt.ReplaceAllStringFunc(msg, func(f string) string {
		if f == "%%" {
			return "%"
		}
		if ai >= len(args) {
			return "(null)"
		}
		v := args[ai]
		ai++
		if v == nil {
			return "(null)"
		}
		switch f[len(f)-1] {
		case 'd', 'i', 'u':
			n, _ := toInt(v)
			return strconv.FormatInt(n, 10)
		case 'x', 'X':
			n, _ := toInt(v)
			return strconv.FormatInt(n, 16)
		}
		return toStr(v)
	})
	if st < 0 {
		st = 1
	}
	if sev <= 10 {
		x.w.Info(num, uint8(st), uint8(max(sev, 0)), msg)
		return nil
	}
	return &execError{msgs: []*tds.Error{{Number: num, State: uint8(st), Class: uint8(min(sev, 25)), Message: msg}}}
}

// sysVar is @@name (https://learn.microsoft.com/sql/t-sql/functions/configuration-functions-transact-sql).
func (x *execCtx) sysVar(name string) (any, error) {
	s := x.s
	switch name {
	case "VERSION":
		return s.in.versionText(), nil
	case "SERVERNAME":
		return s.in.opts.ServerName, nil
	case "SERVICENAME":
		return "MSSQLSERVER", nil
	case "SPID":
		return int64(s.spid), nil
	case "ROWCOUNT":
		return s.rowcount, nil
	case "ERROR":
		return int64(s.lastError), nil
	case "TRANCOUNT":
		return int64(s.tranCount), nil
	case "NESTLEVEL":
		return int64(x.depth), nil
	case "LANGUAGE":
		return "us_english", nil
	case "LANGID":
		return int64(0), nil
	case "MAX_CONNECTIONS":
		return int64(32767), nil
	case "LOCK_TIMEOUT":
		return int64(-1), nil
	case "DATEFIRST":
		return int64(7), nil
	case "TEXTSIZE":
		return int64(4096), nil
	case "OPTIONS":
		return int64(5496), nil
	case "IDENTITY", "PROCID":
		return nil, nil
	case "FETCH_STATUS":
		return int64(-1), nil
	case "MICROSOFTVERSION":
		p := s.in.pers
		return int64(p.Major) << 24, nil
	}
	return nil, abortErr(137, 15, fmt.Sprintf("Must declare the scalar variable \"@@%s\".", name))
}

// niladic are the functions called without parentheses.
func (x *execCtx) niladic(name string) (any, bool) {
	switch name {
	case "SYSTEM_USER":
		return x.s.loginName, true
	case "CURRENT_USER", "SESSION_USER", "USER":
		return x.userName(), true
	}
	return nil, false
}

// userName is USER_NAME(): the database user the login maps to in the current
// database (dbo for sysadmin, guest otherwise when no user exists).
func (x *execCtx) userName() string {
	in := x.s.in
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.isSysadminLocked(x.s.loginName) {
		return "dbo"
	}
	if d := in.dbByNameLocked(x.s.db); d != nil {
		if u := d.userForLoginLocked(x.s.loginName); u != nil {
			return u.name
		}
	}
	return "guest"
}

// tran runs BEGIN/COMMIT/ROLLBACK TRAN. The simulator keeps @@TRANCOUNT only: its
// state changes are not undone by ROLLBACK.
func (s *session) tran(op string) error {
	switch op {
	case "BEGIN":
		s.tranCount++
	case "COMMIT":
		if s.tranCount == 0 {
			return sqlErr(3902, 16, "The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION.")
		}
		s.tranCount--
	case "ROLLBACK":
		if s.tranCount == 0 {
			return sqlErr(3903, 16, "The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION.")
		}
		s.tranCount = 0
		s.releaseLocks(true)
	}
	if s.tranCount == 0 {
		s.releaseLocks(true)
	}
	return nil
}

// Transaction implements tds.TxSession: the transaction-manager requests that
// go-mssqldb's BeginTx and pymssql send.
func (s *session) Transaction(ctx context.Context, op tds.TxOp) error {
	switch op {
	case tds.TxBegin:
		s.tranCount++
	case tds.TxCommit, tds.TxRollback:
		s.tranCount = 0
		s.releaseLocks(true)
	}
	return nil
}
