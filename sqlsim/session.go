package sqlsim

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim/tds"
)

// session is one logged-in connection.
type session struct {
	in    *Instance
	login Login
}

// params holds the named parameters of a request, keyed by lower-case name without '@'.
type params map[string]any

func (p params) str(name string) (string, bool) {
	v, ok := p[name]
	if !ok || v == nil {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, true
	default:
		return fmt.Sprint(x), true
	}
}

func (p params) int(name string, def int64) int64 {
	v, ok := p[name]
	if !ok || v == nil {
		return def
	}
	switch x := v.(type) {
	case int64:
		return x
	case bool:
		if x {
			return 1
		}
		return 0
	case string:
		var n int64
		if _, err := fmt.Sscan(x, &n); err == nil {
			return n
		}
	case float64:
		return int64(x)
	}
	return def
}

func (p params) guid(name string) ([16]byte, bool) {
	v, ok := p[name]
	if !ok || v == nil {
		return [16]byte{}, false
	}
	g, ok := v.([16]byte)
	return g, ok
}

// result is one result set.
type result struct {
	cols []tds.Column
	rows [][]any
}

func (s *session) Close() {}

var (
	reSelectConst = regexp.MustCompile(`(?is)^\s*select\s+(\d+)\s*;?\s*$`)
	reSelectVer   = regexp.MustCompile(`(?is)^\s*select\s+@@version\s*;?\s*$`)
	reSet         = regexp.MustCompile(`(?is)^\s*(set\s+[a-z_]+\s+[^;]*;?\s*)+$`)
)

// Batch implements tds.Session.
func (s *session) Batch(ctx context.Context, sql string, w *tds.ResponseWriter) {
	s.exec(ctx, sql, params{}, w)
}

func (s *session) exec(ctx context.Context, sql string, p params, w *tds.ResponseWriter) {
	if tag := sqlops.TagOf(sql); tag != "" {
		h, ok := queryHandlers[tag]
		if !ok {
			w.Error(errSim(50000, "sqlsim: no handler for query tag %q", tag))
			return
		}
		res, err := h(s, p)
		if err != nil {
			w.Error(err)
			return
		}
		for _, r := range res {
			w.Result(r.cols, r.rows)
		}
		return
	}
	if d, ok, err := parseDDL(sql); ok {
		if err != nil {
			w.Error(errSim(102, "%s", err.Error()))
			return
		}
		if e := s.execDDL(d); e != nil {
			w.Error(e)
			return
		}
		w.RowsAffected(0)
		return
	}
	switch {
	case reSelectConst.MatchString(sql):
		m := reSelectConst.FindStringSubmatch(sql)
		var n int64
		fmt.Sscan(m[1], &n)
		w.Result([]tds.Column{{Name: "", Type: tds.Int}}, [][]any{{n}})
	case reSelectVer.MatchString(sql):
		w.Result([]tds.Column{{Name: "", Type: tds.NVarChar}}, [][]any{{s.in.versionText()}})
	case reSet.MatchString(sql), strings.TrimSpace(sql) == "":
		w.RowsAffected(0)
	default:
		w.Error(errSim(50000, "sqlsim: statement not supported by the simulator: %.80q", strings.TrimSpace(sql)))
	}
}

// RPC implements tds.Session.
func (s *session) RPC(ctx context.Context, req *tds.RPCRequest, w *tds.ResponseWriter) {
	name := normalizeProc(req.ProcName)
	p := params{}
	for _, prm := range req.Params {
		p[strings.ToLower(strings.TrimPrefix(prm.Name, "@"))] = prm.Value
	}
	if name == "sp_executesql" {
		if len(req.Params) == 0 {
			w.Error(errSim(201, "Procedure or function 'sp_executesql' expects parameter '@statement', which was not supplied."))
			return
		}
		stmt, _ := req.Params[0].Value.(string)
		inner := params{}
		for _, prm := range req.Params[min(2, len(req.Params)):] {
			inner[strings.ToLower(strings.TrimPrefix(prm.Name, "@"))] = prm.Value
		}
		s.exec(ctx, stmt, inner, w)
		w.ReturnStatus(0)
		return
	}
	h, ok := procHandlers[name]
	if !ok {
		w.Error(errSim(2812, "Could not find stored procedure '%s'.", req.ProcName))
		return
	}
	status, err := h(s, p, w)
	if err != nil {
		w.Error(err)
		if status == 0 {
			status = 1
		}
	}
	w.ReturnStatus(status)
}

// normalizeProc turns "[msdb].[dbo].[sp_add_job]" and "msdb..sp_add_job" into
// "sp_add_job" for msdb procedures and keeps other names lower-cased.
func normalizeProc(n string) string {
	n = strings.ToLower(strings.NewReplacer("[", "", "]", "").Replace(n))
	for _, pre := range []string{"msdb.dbo.", "msdb..", "dbo.", "master.sys.", "sys."} {
		if strings.HasPrefix(n, pre) {
			return strings.TrimPrefix(n, pre)
		}
	}
	return n
}

func (in *Instance) versionText() string {
	o := in.opts
	if o.Role == RoleMI {
		return fmt.Sprintf("Microsoft SQL Azure (RTM) - %s (X64) \n\tCopyright (C) 2025 Microsoft Corporation\n", o.ProductVersion)
	}
	return fmt.Sprintf("Microsoft SQL Server (RTM) - %s (X64) \n\tCopyright (C) 2022 Microsoft Corporation\n\t%s on %s <X64> (simulated)\n", o.ProductVersion, o.Edition, o.Distribution)
}
