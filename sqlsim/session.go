package sqlsim

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/milink/milink/sqlsim/tds"
	"github.com/milink/milink/sqlsim/tsql"
)

// writer receives what a batch or procedure produces; *tds.ResponseWriter is one,
// and start-up scripts use a recorder.
type writer interface {
	Result(cols []tds.Column, rows [][]any)
	Info(num int32, state, class uint8, msg string)
	Error(e *tds.Error)
	ChangeDatabase(name string)
}

// session is one logged-in connection.
type session struct {
	in         *Instance
	loginName  string
	db         string
	loginDB    string // the database the session logged in to
	spid       int
	remote     any
	tranCount  int
	nocount    bool
	rowcount   int64
	lastError  int32
	traceFlags map[int]bool   // session trace flags (DBCC TRACEON without -1)
	out        map[string]any // OUTPUT values of the running built-in procedure
	ctx        context.Context
	loginTime  time.Time
	hostName   string
	appName    string
	batchText  string // the batch being run (CREATE PROCEDURE keeps it as the definition)
}

// params holds the named arguments of a procedure call, keyed by lower-case name without '@'.
type params map[string]any

func (p params) str(name string) (string, bool) {
	v, ok := p[name]
	if !ok || v == nil {
		return "", false
	}
	return toStr(v), true
}

func (p params) int(name string, def int64) int64 {
	v, ok := p[name]
	if !ok || v == nil {
		return def
	}
	n, err := toInt(v)
	if err != nil {
		if f, ok := v.(float64); ok {
			return int64(f)
		}
		return def
	}
	return n
}

func (p params) guid(name string) ([16]byte, bool) {
	v, ok := p[name]
	if !ok || v == nil {
		return [16]byte{}, false
	}
	g, err := toGUID(v)
	return g, err == nil
}

// ResetSession implements tds.SessionResetter (a pooled connection's reset,
// sp_reset_connection): the database context returns to the one of the login, SET
// NOCOUNT and session trace flags are cleared and an open transaction ends with its
// transaction-owned application locks. Session-owned application locks stay.
func (s *session) ResetSession(ctx context.Context) {
	s.db = s.loginDB
	s.nocount = false
	s.tranCount = 0
	s.traceFlags = map[int]bool{}
	s.releaseLocks(true)
}

// Close implements tds.Session: the session's application locks are released.
func (s *session) Close() {
	s.releaseLocks(false)
	s.in.mu.Lock()
	delete(s.in.sessions, s)
	s.in.mu.Unlock()
}

// Batch implements tds.Session: the batch is parsed and executed by the evaluator.
func (s *session) Batch(ctx context.Context, sql string, w *tds.ResponseWriter) {
	w.SetNoCount(s.nocount)
	s.runBatch(ctx, sql, w, nil)
}

// RPC implements tds.Session: sp_executesql, the built-in system procedures and user
// procedures, with OUTPUT parameters sent back as RETURNVALUE tokens.
func (s *session) RPC(ctx context.Context, req *tds.RPCRequest, w *tds.ResponseWriter) {
	w.SetNoCount(s.nocount)
	name := req.ProcName
	if req.ProcID == 10 || strings.EqualFold(strings.Trim(name, "[]"), "sp_executesql") || strings.HasSuffix(strings.ToLower(name), ".sp_executesql") {
		s.executeSQL(ctx, req, w)
		return
	}
	stmts, err := tsql.Parse("EXEC " + name)
	if err != nil || len(stmts) != 1 {
		w.Error(&tds.Error{Number: 2812, State: 62, Class: 16, Message: fmt.Sprintf("Could not find stored procedure '%s'.", name), Line: 1})
		return
	}
	pn := stmts[0].(*tsql.Exec).Proc
	var status int32
	var outputs map[string]any
	if bname, bp, ok := resolveBuiltin(pn, s.db); ok {
		bp = withCatalogParams(s.in.pers, bname, bp)
		p := params{}
		for i, prm := range req.Params {
			key := strings.ToLower(strings.TrimPrefix(prm.Name, "@"))
			if key == "" {
				if i >= len(bp.params) {
					w.Error(&tds.Error{Number: 8144, State: 2, Class: 16, Message: fmt.Sprintf("Procedure or function %s has too many arguments specified.", bname), Proc: bname, Line: 1})
					w.ReturnStatus(1)
					return
				}
				key = bp.params[i]
			}
			if !prm.Default {
				p[key] = prm.Value
			}
		}
		st, out, e := s.callBuiltin(ctx, bname, bp, p, w)
		if e != nil {
			w.Error(withProc(e, bname))
		}
		status, outputs = st, out
	} else {
		x := newExecCtx(ctx, s, w)
		up, db, err := x.findUserProc(pn)
		if err != nil {
			x.report(err, 1)
			return
		}
		named := map[string]any{}
		var pos []any
		for _, prm := range req.Params {
			if prm.Name == "" {
				pos = append(pos, prm.Value)
			} else if !prm.Default {
				named[strings.ToLower(strings.TrimPrefix(prm.Name, "@"))] = prm.Value
			}
		}
		st, out, err := x.callUserProc(up, db, pos, named, nil)
		if err != nil {
			if _, ok := err.(errBatchAborted); !ok {
				x.report(err, 1)
			}
			status = 1
		}
		status, outputs = int32(st), out
	}
	w.ReturnStatus(status)
	for _, prm := range req.Params {
		if !prm.Output {
			continue
		}
		v, ok := outputs[strings.ToLower(strings.TrimPrefix(prm.Name, "@"))]
		if !ok {
			v = prm.Value
		}
		w.ReturnValue(tds.Param{Name: prm.Name, Value: outputValue(v, prm.TypeName), TypeName: prm.TypeName})
	}
}

// outputValue converts an OUTPUT value to the type the client declared for it.
func outputValue(v any, typeName string) any {
	t := strings.ToLower(typeName)
	switch {
	case v == nil:
		return nil
	case strings.HasPrefix(t, "varbinary") || strings.HasPrefix(t, "binary"):
		if g, ok := v.([16]byte); ok {
			return guidToBinary(g)
		}
	case strings.HasPrefix(t, "uniqueidentifier"):
		if g, err := toGUID(v); err == nil {
			return g
		}
	case strings.Contains(t, "char"):
		if g, ok := v.([16]byte); ok {
			return strings.ToUpper(uuid.UUID(g).String())
		}
		return toStr(v)
	}
	return v
}

// executeSQL is sp_executesql
// (https://learn.microsoft.com/sql/relational-databases/system-stored-procedures/sp-executesql-transact-sql):
// @stmt, then the parameter declarations, then their values.
func (s *session) executeSQL(ctx context.Context, req *tds.RPCRequest, w *tds.ResponseWriter) {
	if len(req.Params) == 0 {
		w.Error(&tds.Error{Number: 201, State: 4, Class: 16, Message: "Procedure or function 'sp_executesql' expects parameter '@statement', which was not supplied.", Proc: "sp_executesql", Line: 1})
		w.ReturnStatus(1)
		return
	}
	stmt := toStr(req.Params[0].Value)
	vars := map[string]*variable{}
	var outs []string
	if len(req.Params) > 1 {
		decl := toStr(req.Params[1].Value)
		declared, output, err := parseParamDecl(decl)
		if err != nil {
			w.Error(&tds.Error{Number: 102, State: 1, Class: 15, Message: err.Error(), Line: 1})
			w.ReturnStatus(1)
			return
		}
		outs = output
		for _, d := range declared {
			vars[strings.ToLower(d.Name)] = &variable{typ: d.Type}
		}
		x := newExecCtx(ctx, s, w)
		x.vars = vars
		for i, prm := range req.Params[2:] {
			key := strings.ToLower(strings.TrimPrefix(prm.Name, "@"))
			if key == "" && i < len(declared) {
				key = strings.ToLower(declared[i].Name)
			}
			if _, ok := vars[key]; !ok {
				w.Error(&tds.Error{Number: 8145, State: 1, Class: 16, Message: fmt.Sprintf("@%s is not a parameter for procedure sp_executesql.", key), Line: 1})
				w.ReturnStatus(1)
				return
			}
			if err := x.assign(key, prm.Value); err != nil {
				x.report(err, 1)
				w.ReturnStatus(1)
				return
			}
		}
	}
	s.runBatch(ctx, stmt, w, vars)
	w.ReturnStatus(0)
	for _, prm := range req.Params[min(2, len(req.Params)):] {
		if !prm.Output {
			continue
		}
		key := strings.ToLower(strings.TrimPrefix(prm.Name, "@"))
		var v any
		if vv, ok := vars[key]; ok {
			v = vv.val
		}
		_ = outs
		w.ReturnValue(tds.Param{Name: prm.Name, Value: outputValue(v, prm.TypeName), TypeName: prm.TypeName})
	}
}

// parseParamDecl reads sp_executesql's "@a int, @b nvarchar(10) OUTPUT".
func parseParamDecl(decl string) ([]tsql.VarDecl, []string, error) {
	if strings.TrimSpace(decl) == "" {
		return nil, nil, nil
	}
	var outs []string
	var parts []string
	depth, start := 0, 0
	for i, r := range decl {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, decl[start:i])
				start = i + 1
			}
		}
	}
	parts = append(parts, decl[start:])
	var clean []string
	for _, p := range parts {
		f := strings.Fields(p)
		if n := len(f); n > 0 && (strings.EqualFold(f[n-1], "OUTPUT") || strings.EqualFold(f[n-1], "OUT")) {
			f = f[:n-1]
			if len(f) > 0 {
				outs = append(outs, strings.ToLower(strings.TrimPrefix(f[0], "@")))
			}
		}
		clean = append(clean, strings.Join(f, " "))
	}
	stmts, err := tsql.Parse("DECLARE " + strings.Join(clean, ", "))
	if err != nil {
		return nil, nil, err
	}
	if len(stmts) != 1 {
		return nil, nil, fmt.Errorf("Incorrect syntax near '%s'.", decl)
	}
	d, ok := stmts[0].(*tsql.Declare)
	if !ok {
		return nil, nil, fmt.Errorf("Incorrect syntax near '%s'.", decl)
	}
	return d.Vars, outs, nil
}

// recorder is a writer that keeps what a start-up script or a T-SQL job step
// produced.
type recorder struct {
	errs  []*tds.Error
	infos []string
}

func (r *recorder) Result([]tds.Column, [][]any) {}
func (r *recorder) Info(num int32, state, class uint8, msg string) {
	r.infos = append(r.infos, msg)
}
func (r *recorder) Error(e *tds.Error)    { r.errs = append(r.errs, e) }
func (r *recorder) ChangeDatabase(string) {}

// errSim makes a class-16 user error.
func errSim(num int32, format string, a ...any) *tds.Error {
	return &tds.Error{Number: num, State: 1, Class: 16, Message: fmt.Sprintf(format, a...)}
}
