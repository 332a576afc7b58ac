package sqlsim

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/milink/milink/sqlsim/catalog"
	"github.com/milink/milink/sqlsim/tds"
	"github.com/milink/milink/sqlsim/tsql"
)

// builtinProc is a system procedure the simulator implements: where it lives
// ("msdb" for SQL Server Agent's procedures, "" for master/resource procedures callable
// from every database) and its parameters in order, for positional calls.
type builtinProc struct {
	db      string
	params  []string // without @
	handler procHandler
}

// builtinProcs lists the system procedures; parameter orders follow their reference
// pages (https://learn.microsoft.com/sql/relational-databases/system-stored-procedures/).
var builtinProcs map[string]builtinProc

func init() {
	builtinProcs = map[string]builtinProc{
		"sp_add_job": {db: "msdb", handler: spAddJob, params: []string{"job_name", "enabled", "description", "start_step_id", "category_name", "category_id",
			"owner_login_name", "notify_level_eventlog", "notify_level_email", "notify_level_netsend", "notify_level_page", "notify_email_operator_name",
			"notify_netsend_operator_name", "notify_page_operator_name", "delete_level", "job_id"}},
		"sp_add_jobstep": {db: "msdb", handler: jobProc("sp_add_jobstep", spAddJobStep), params: []string{"job_id", "job_name", "step_id", "step_name", "subsystem",
			"command", "additional_parameters", "cmdexec_success_code", "on_success_action", "on_success_step_id", "on_fail_action", "on_fail_step_id",
			"server", "database_name", "database_user_name", "retry_attempts", "retry_interval", "os_run_priority", "output_file_name", "flags", "proxy_id", "proxy_name", "step_uid"}},
		"sp_add_jobserver": {db: "msdb", handler: jobProc("sp_add_jobserver", spAddJobServer), params: []string{"job_id", "job_name", "server_name"}},
		"sp_update_job": {db: "msdb", handler: jobProc("sp_update_job", spUpdateJob), params: []string{"job_id", "job_name", "new_name", "enabled", "description",
			"start_step_id", "category_name", "owner_login_name"}},
		"sp_start_job":      {db: "msdb", handler: jobProc("sp_start_job", spStartJob), params: []string{"job_name", "job_id", "error_flag", "server_name", "step_name", "output_flag"}},
		"sp_stop_job":       {db: "msdb", handler: jobProc("sp_stop_job", spStopJob), params: []string{"job_name", "job_id", "originating_server", "server_name"}},
		"sp_delete_job":     {db: "msdb", handler: jobProc("sp_delete_job", spDeleteJob), params: []string{"job_id", "job_name", "originating_server", "delete_history", "delete_unused_schedule"}},
		"sp_add_category":   {db: "msdb", handler: spAddCategory, params: []string{"class", "type", "name"}},
		"sp_configure":      {handler: spConfigure, params: []string{"configname", "configvalue"}},
		"sp_getapplock":     {handler: spGetAppLock, params: []string{"resource", "lockmode", "lockowner", "locktimeout", "dbprincipal"}},
		"sp_releaseapplock": {handler: spReleaseAppLock, params: []string{"resource", "lockowner", "dbprincipal"}},
		"xp_fileexist":      {handler: xpFileExist, params: []string{"filename", "file_exists"}},
	}
}

// procHandler implements a built-in procedure; it reads its arguments from p (lower-case
// names without @), sets OUTPUT values with s.setOutput, and returns the RETURN status.
type procHandler func(s *session, p params, w writer) (int32, *tds.Error)

// setOutput records an OUTPUT parameter's value for the running procedure call.
func (s *session) setOutput(name string, v any) {
	if s.out != nil {
		s.out[name] = v
	}
}

// withCatalogParams replaces bp's parameter list by the one package catalog documents
// for the procedure on personality p, when it has one.
func withCatalogParams(p catalog.Personality, name string, bp builtinProc) builtinProc {
	db, schema := "msdb", "dbo"
	if bp.db == "" {
		db, schema = "master", "sys"
	}
	obj, ok := p.Lookup(db, schema, name)
	if !ok || len(obj.Params) == 0 {
		return bp
	}
	names := make([]string, len(obj.Params))
	for i, prm := range obj.Params {
		names[i] = strings.ToLower(strings.TrimPrefix(prm.Name, "@"))
	}
	bp.params = names
	return bp
}

// resolveBuiltin finds a built-in procedure by name as the caller wrote it, in the
// current database db; ok is false when the name does not resolve (Msg 2812).
func resolveBuiltin(n tsql.Name, db string) (string, builtinProc, bool) {
	name := strings.ToLower(n.Object)
	bp, ok := builtinProcs[name]
	if !ok {
		return "", bp, false
	}
	if n.Schema != "" && !strings.EqualFold(n.Schema, "dbo") && !strings.EqualFold(n.Schema, "sys") {
		return "", bp, false
	}
	if bp.db == "msdb" {
		target := n.Database
		if target == "" {
			target = db
		}
		if !strings.EqualFold(target, "msdb") {
			return "", bp, false
		}
	}
	return name, bp, true
}

// runExec runs EXEC inside a batch.
func (x *execCtx) runExec(n *tsql.Exec) error {
	if n.Dynamic != nil {
		v, err := x.eval(n.Dynamic, nil)
		if err != nil {
			return err
		}
		inner := newExecCtx(x.ctx, x.s, x.w)
		inner.depth = x.depth
		stmts, err := tsql.Parse(toStr(v))
		if err != nil {
			pe := err.(*tsql.Error)
			return sqlErr(pe.Number, 15, pe.Msg)
		}
		if err := inner.runStmts(stmts); err != nil {
			if _, ok := err.(errBatchAborted); ok {
				return nil
			}
			if _, ok := err.(*flow); !ok {
				return err
			}
		}
		return nil
	}
	name := n.Proc
	if n.ProcVar != "" {
		v, ok := x.lookupVar(n.ProcVar)
		if !ok {
			return abortErr(137, 15, fmt.Sprintf("Must declare the scalar variable \"@%s\".", n.ProcVar))
		}
		stmts, err := tsql.Parse("EXEC " + toStr(v.val))
		if err != nil || len(stmts) != 1 {
			return sqlErr(2812, 16, fmt.Sprintf("Could not find stored procedure '%s'.", toStr(v.val)))
		}
		name = stmts[0].(*tsql.Exec).Proc
	}
	// Evaluate arguments.
	type arg struct {
		name   string
		val    any
		output bool
		dflt   bool
		varRef string
	}
	var args []arg
	seenNamed := false
	for _, a := range n.Args {
		ar := arg{name: strings.ToLower(a.Name), output: a.Output, dflt: a.Default}
		if a.Name != "" {
			seenNamed = true
		} else if seenNamed {
			return sqlErr(119, 15, "Must pass parameter number 2 and subsequent parameters as '@name = value'. After the form '@name = value' has been used, all subsequent parameters must be passed in the form '@name = value'.")
		}
		if a.X != nil {
			v, err := x.eval(a.X, nil)
			if err != nil {
				return err
			}
			ar.val = v
			if vr, ok := a.X.(*tsql.VarRef); ok {
				ar.varRef = vr.Name
			}
		}
		if a.Output && ar.varRef == "" {
			return sqlErr(179, 15, "Cannot use the OUTPUT option when passing a constant to a stored procedure.")
		}
		args = append(args, ar)
	}
	var status int64
	var outputs map[string]any
	var order []string // parameter names in order, for positional OUTPUT arguments
	if isExecuteSQL(name) {
		vals := make([]any, len(args))
		names := make([]string, len(args))
		for i, a := range args {
			vals[i], names[i] = a.val, a.name
		}
		var err error
		if order, outputs, err = x.executeSQL(names, vals, n.Line); err != nil {
			return err
		}
	} else if pname, bp, ok := resolveBuiltin(name, x.s.db); ok {
		bp = withCatalogParams(x.s.in.pers, pname, bp)
		order = bp.params
		p := params{}
		for i, a := range args {
			key := a.name
			if key == "" {
				if i >= len(bp.params) {
					return sqlErr(8144, 16, fmt.Sprintf("Procedure or function %s has too many arguments specified.", pname))
				}
				key = bp.params[i]
			}
			if !a.dflt {
				p[key] = a.val
			}
		}
		st, out, err := x.s.callBuiltin(x.ctx, pname, bp, p, x.w)
		if err != nil {
			x.report(&execError{msgs: []*tds.Error{withProc(err, pname)}}, n.Line)
		}
		status, outputs = int64(st), out
	} else {
		up, db, err := x.findUserProc(name)
		if err != nil {
			return err
		}
		for _, p := range up.def.Params {
			order = append(order, strings.ToLower(p.Name))
		}
		pa := map[string]any{}
		pos := []any{}
		dflt := map[string]bool{}
		for _, a := range args {
			if a.name == "" {
				pos = append(pos, a.val)
			} else if a.dflt {
				dflt[a.name] = true
			} else {
				pa[a.name] = a.val
			}
		}
		st, out, err := x.callUserProc(up, db, pos, pa, dflt)
		if err != nil {
			return err
		}
		status, outputs = st, out
	}
	for i, a := range args {
		if !a.output {
			continue
		}
		key := a.name
		if key == "" && i < len(order) {
			key = order[i]
		}
		if v, ok := outputs[key]; ok {
			if err := x.assign(a.varRef, v); err != nil {
				return err
			}
		}
	}
	if n.Ret != "" {
		if err := x.assign(n.Ret, status); err != nil {
			return err
		}
	}
	return nil
}

func withProc(e *tds.Error, proc string) *tds.Error {
	c := *e
	if c.Proc == "" {
		c.Proc = proc
	}
	return &c
}

// callBuiltin runs a built-in procedure with its arguments by name and returns its
// status and OUTPUT values.
func (s *session) callBuiltin(ctx context.Context, name string, bp builtinProc, p params, w writer) (int32, map[string]any, *tds.Error) {
	s.out = map[string]any{}
	s.ctx = ctx
	defer func() { s.out, s.ctx = nil, nil }()
	for k := range p {
		known := false
		for _, n := range bp.params {
			known = known || n == k
		}
		if !known {
			return 1, nil, &tds.Error{Number: 8145, State: 1, Class: 16, Message: fmt.Sprintf("@%s is not a parameter for procedure %s.", k, name)}
		}
	}
	st, err := bp.handler(s, p, w)
	if err != nil && st == 0 {
		st = 1
	}
	out := s.out
	return st, out, err
}

// findUserProc resolves a user procedure by name: Msg 2812 when it does not exist.
func (x *execCtx) findUserProc(n tsql.Name) (*uproc, *dbState, error) {
	in := x.s.in
	in.mu.Lock()
	defer in.mu.Unlock()
	dbName := n.Database
	if dbName == "" {
		dbName = x.s.db
	}
	d := in.dbByNameLocked(dbName)
	if d != nil {
		if up := d.procs[strings.ToLower(n.Object)]; up != nil && (n.Schema == "" || strings.EqualFold(n.Schema, up.schema)) {
			return up, d, nil
		}
	}
	return nil, nil, sqlErr(2812, 16, fmt.Sprintf("Could not find stored procedure '%s'.", n.String()))
}

// callUserProc runs a user procedure in a new variable scope.
func (x *execCtx) callUserProc(up *uproc, d *dbState, pos []any, named map[string]any, dflt map[string]bool) (int64, map[string]any, error) {
	in := x.s.in
	in.mu.Lock()
	allowed := in.isSysadminLocked(x.s.loginName) || d.grants["EXECUTE|"+strings.ToLower(up.name)+"|"+strings.ToLower(x.userNameLocked(d))]
	in.mu.Unlock()
	if !allowed {
		return 0, nil, sqlErr(229, 14, fmt.Sprintf("The EXECUTE permission was denied on the object '%s', database '%s', schema '%s'.", up.name, d.name, up.schema))
	}
	if x.depth >= 32 {
		return 0, nil, abortErr(217, 16, "Maximum stored procedure, function, trigger, or view nesting level exceeded (limit 32).")
	}
	inner := newExecCtx(x.ctx, x.s, x.w)
	inner.depth = x.depth + 1
	inner.proc = up.name
	if len(pos) > len(up.def.Params) {
		return 0, nil, sqlErr(8144, 16, fmt.Sprintf("Procedure or function %s has too many arguments specified.", up.name))
	}
	for k := range named {
		found := false
		for _, p := range up.def.Params {
			found = found || strings.EqualFold(p.Name, k)
		}
		if !found {
			return 0, nil, sqlErr(8145, 16, fmt.Sprintf("@%s is not a parameter for procedure %s.", k, up.name))
		}
	}
	for i, p := range up.def.Params {
		key := strings.ToLower(p.Name)
		inner.vars[key] = &variable{typ: p.Type}
		var v any
		have := false
		if i < len(pos) {
			v, have = pos[i], true
		} else if nv, ok := named[key]; ok {
			v, have = nv, true
		}
		if !have || dflt[key] {
			if p.Default == nil {
				return 0, nil, sqlErr(201, 16, fmt.Sprintf("Procedure or function '%s' expects parameter '@%s', which was not supplied.", up.name, p.Name))
			}
			dv, err := inner.eval(p.Default, nil)
			if err != nil {
				return 0, nil, err
			}
			v = dv
		}
		if err := inner.assign(p.Name, v); err != nil {
			return 0, nil, err
		}
	}
	savedDB := x.s.db
	x.s.db = d.name
	err := inner.runStmts(up.def.Body)
	x.s.db = savedDB
	var status int64
	if f, ok := err.(*flow); ok {
		status, err = f.status, nil
	}
	if _, ok := err.(errBatchAborted); ok {
		return 0, nil, err
	}
	if err != nil {
		return 0, nil, err
	}
	out := map[string]any{}
	for _, p := range up.def.Params {
		if p.Output {
			out[strings.ToLower(p.Name)] = inner.vars[strings.ToLower(p.Name)].val
		}
	}
	return status, out, nil
}

func (x *execCtx) userNameLocked(d *dbState) string {
	if u := d.userForLoginLocked(x.s.loginName); u != nil {
		return u.name
	}
	return "guest"
}

// createProc is CREATE/ALTER PROCEDURE: the procedure is stored in the current database.
func (x *execCtx) createProc(n *tsql.CreateProc) error {
	if n.Name.Database != "" && !strings.EqualFold(n.Name.Database, x.s.db) {
		return abortErr(166, 15, "'CREATE/ALTER PROCEDURE' does not allow specifying the database name as a prefix to the object name.")
	}
	in := x.s.in
	in.mu.Lock()
	defer in.mu.Unlock()
	d := in.dbByNameLocked(x.s.db)
	if !x.allowedLocked("CREATE PROCEDURE", d) {
		return denied("CREATE PROCEDURE", x.s.db)
	}
	key := strings.ToLower(n.Name.Object)
	old := d.procs[key]
	switch {
	case old != nil && !n.Alter && !n.OrAlter:
		return sqlErr(2714, 16, fmt.Sprintf("There is already an object named '%s' in the database.", n.Name.Object))
	case old == nil && n.Alter:
		return sqlErr(208, 16, fmt.Sprintf("Invalid object name '%s'.", n.Name.Object))
	}
	schema := n.Name.Schema
	if schema == "" {
		schema = "dbo"
	}
	now := time.Now()
	up := &uproc{id: in.newID(), name: n.Name.Object, schema: schema, def: n, source: x.s.batchText, created: now, modified: now}
	if old != nil {
		up.id, up.created = old.id, old.created
	}
	d.procs[key] = up
	return nil
}

// isExecuteSQL reports whether n names sp_executesql ([master.][sys.]sp_executesql).
func isExecuteSQL(n tsql.Name) bool {
	return strings.EqualFold(n.Object, "sp_executesql") && (n.Schema == "" || strings.EqualFold(n.Schema, "sys") || strings.EqualFold(n.Schema, "dbo"))
}

// executeSQL is EXEC sp_executesql inside a batch
// (https://learn.microsoft.com/sql/relational-databases/system-stored-procedures/sp-executesql-transact-sql):
// the statement (@stmt, positional first), the parameter declarations (@params,
// positional second), then the declared parameters' values by name or in order. It
// returns the parameter names in order and the final values of the declared
// parameters, for OUTPUT arguments.
func (x *execCtx) executeSQL(names []string, vals []any, line int) ([]string, map[string]any, error) {
	if len(vals) == 0 || (names[0] != "" && names[0] != "stmt") {
		return nil, nil, sqlErr(201, 16, "Procedure or function 'sp_executesql' expects parameter '@statement', which was not supplied.")
	}
	stmt := toStr(vals[0])
	vars := map[string]*variable{}
	order := []string{"stmt", "params"}
	if len(vals) > 1 {
		declared, _, err := parseParamDecl(toStr(vals[1]))
		if err != nil {
			return nil, nil, sqlErr(102, 15, err.Error())
		}
		for _, d := range declared {
			key := strings.ToLower(d.Name)
			vars[key] = &variable{typ: d.Type}
			order = append(order, key)
		}
	}
	inner := newExecCtx(x.ctx, x.s, x.w)
	inner.depth = x.depth + 1
	inner.vars = vars
	for i := 2; i < len(vals); i++ {
		key := names[i]
		if key == "" && i < len(order) {
			key = order[i]
		}
		if _, ok := vars[key]; !ok {
			return nil, nil, sqlErr(8145, 16, fmt.Sprintf("@%s is not a parameter for procedure sp_executesql.", key))
		}
		if err := inner.assign(key, vals[i]); err != nil {
			return nil, nil, err
		}
	}
	stmts, err := tsql.Parse(stmt)
	if err != nil {
		pe := err.(*tsql.Error)
		return nil, nil, sqlErr(pe.Number, 15, pe.Msg)
	}
	if err := inner.runStmts(stmts); err != nil {
		if _, ok := err.(errBatchAborted); !ok {
			if _, ok := err.(*flow); !ok {
				return nil, nil, err
			}
		}
	}
	out := map[string]any{}
	for k, v := range vars {
		out[k] = v.val
	}
	return order, out, nil
}
