package sqlsim

import (
	"fmt"
	"sort"
	"strings"

	"github.com/milink/milink/sqlsim/tds"
	"github.com/milink/milink/sqlsim/tsql"
)

// relCol is a column of an intermediate relation: the table (alias) it belongs to.
type relCol struct {
	table string
	name  string
	typ   tds.ColType
	size  int
}

// relation is a set of rows with named columns.
type relation struct {
	cols []relCol
	rows [][]any
}

// env is the row a scalar expression is evaluated against, with the group of rows
// for aggregates and the outer query's row for correlated subqueries.
type env struct {
	rel     *relation
	row     []any
	group   [][]any
	grouped bool // group holds the rows of a GROUP BY group (possibly none)
	parent  *env
	probe   bool // evaluating against a NULL row only to validate names
}

// resolve finds a column by its parts (col, alias.col, schema.table.col …).
func (e *env) resolve(parts []string) (any, *relCol, error) {
	col := parts[len(parts)-1]
	qual := ""
	if len(parts) > 1 {
		qual = parts[len(parts)-2]
	}
	for cur := e; cur != nil; cur = cur.parent {
		if cur.rel == nil {
			continue
		}
		found := -1
		for i, c := range cur.rel.cols {
			if !strings.EqualFold(c.name, col) || (qual != "" && !strings.EqualFold(c.table, qual)) {
				continue
			}
			if found >= 0 {
				return nil, nil, abortErr(209, 16, fmt.Sprintf("Ambiguous column name '%s'.", col))
			}
			found = i
		}
		if found >= 0 {
			var v any
			if cur.row != nil {
				v = cur.row[found]
			}
			return v, &cur.rel.cols[found], nil
		}
	}
	if qual != "" {
		known := false
		for cur := e; cur != nil; cur = cur.parent {
			if cur.rel != nil {
				for _, c := range cur.rel.cols {
					known = known || strings.EqualFold(c.table, qual)
				}
			}
		}
		if !known {
			return nil, nil, abortErr(4104, 16, fmt.Sprintf("The multi-part identifier \"%s\" could not be bound.", strings.Join(parts, ".")))
		}
	}
	return nil, nil, abortErr(207, 16, fmt.Sprintf("Invalid column name '%s'.", col))
}

// evalQuery runs a query (SELECT or UNION) with outer row parent (nil at top level).
func (x *execCtx) evalQuery(q tsql.Query, parent *env) (*relation, error) {
	switch q := q.(type) {
	case *tsql.Select:
		return x.evalSelect(q, parent, nil)
	case *tsql.Union:
		l, err := x.evalQuery(q.Left, parent)
		if err != nil {
			return nil, err
		}
		r, err := x.evalQuery(q.Right, parent)
		if err != nil {
			return nil, err
		}
		if len(l.cols) != len(r.cols) {
			return nil, abortErr(205, 16, "All queries combined using a UNION, INTERSECT or EXCEPT operator must have an equal number of expressions in their target lists.")
		}
		out := &relation{cols: append([]relCol(nil), l.cols...), rows: append(append([][]any(nil), l.rows...), r.rows...)}
		for i := range out.cols {
			if out.cols[i].typ == 0 || (l.cols[i].typ == tds.NVarChar && r.cols[i].typ != tds.NVarChar && len(l.rows) == 0) {
				out.cols[i].typ = r.cols[i].typ
			}
		}
		if !q.All {
			out.rows = distinctRows(out.rows)
		}
		if len(q.OrderBy) > 0 {
			if err := x.orderOutput(out, q.OrderBy, nil, nil); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, abortErr(102, 15, "Incorrect syntax.")
}

func distinctRows(rows [][]any) [][]any {
	seen := map[string]bool{}
	var out [][]any
	for _, r := range rows {
		k := rowKey(r)
		if !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return out
}

func rowKey(r []any) string {
	var b strings.Builder
	for _, v := range r {
		b.WriteString(valueKey(v))
		b.WriteByte(0)
	}
	return b.String()
}

// evalFrom builds the cross product of a FROM list.
func (x *execCtx) evalFrom(from []tsql.TableRef, parent *env) (*relation, error) {
	if len(from) == 0 {
		return &relation{rows: [][]any{{}}}, nil
	}
	var cur *relation
	for _, t := range from {
		r, err := x.evalTableRef(t, parent)
		if err != nil {
			return nil, err
		}
		if cur == nil {
			cur = r
			continue
		}
		cur, err = x.join(cur, r, "CROSS", nil, parent)
		if err != nil {
			return nil, err
		}
	}
	return cur, nil
}

func (x *execCtx) evalTableRef(t tsql.TableRef, parent *env) (*relation, error) {
	switch t := t.(type) {
	case *tsql.TableName:
		return x.scanObject(t)
	case *tsql.Derived:
		r, err := x.evalQuery(t.Q, nil)
		if err != nil {
			return nil, err
		}
		out := &relation{rows: r.rows}
		for i, c := range r.cols {
			if c.name == "" {
				return nil, abortErr(8155, 16, fmt.Sprintf("No column name was specified for column %d of '%s'.", i+1, t.Alias))
			}
			c.table = t.Alias
			out.cols = append(out.cols, c)
		}
		return out, nil
	case *tsql.Join:
		l, err := x.evalTableRef(t.Left, parent)
		if err != nil {
			return nil, err
		}
		r, err := x.evalTableRef(t.Right, parent)
		if err != nil {
			return nil, err
		}
		return x.join(l, r, t.Kind, t.On, parent)
	}
	return nil, abortErr(102, 15, "Incorrect syntax.")
}

// join is a nested-loop join of l and r.
func (x *execCtx) join(l, r *relation, kind string, on tsql.Expr, parent *env) (*relation, error) {
	out := &relation{cols: append(append([]relCol(nil), l.cols...), r.cols...)}
	nullL, nullR := make([]any, len(l.cols)), make([]any, len(r.cols))
	matchedR := make([]bool, len(r.rows))
	test := func(row []any) (bool, error) {
		if on == nil {
			return true, nil
		}
		v, err := x.eval(on, &env{rel: out, row: row, parent: parent})
		if err != nil {
			return false, err
		}
		ok, known := truth(v)
		return ok && known, nil
	}
	if on != nil && len(l.rows) == 0 && len(r.rows) == 0 {
		if _, err := x.eval(on, &env{rel: out, row: append(append([]any(nil), nullL...), nullR...), parent: parent, probe: true}); err != nil {
			return nil, err
		}
	}
	for _, lr := range l.rows {
		matched := false
		for j, rr := range r.rows {
			row := append(append([]any(nil), lr...), rr...)
			ok, err := test(row)
			if err != nil {
				return nil, err
			}
			if ok {
				matched, matchedR[j] = true, true
				out.rows = append(out.rows, row)
			}
		}
		if !matched && (kind == "LEFT" || kind == "FULL") {
			out.rows = append(out.rows, append(append([]any(nil), lr...), nullR...))
		}
	}
	if kind == "RIGHT" || kind == "FULL" {
		for j, rr := range r.rows {
			if !matchedR[j] {
				out.rows = append(out.rows, append(append([]any(nil), nullL...), rr...))
			}
		}
	}
	return out, nil
}

var aggregates = map[string]bool{"COUNT": true, "COUNT_BIG": true, "MAX": true, "MIN": true, "SUM": true, "AVG": true}

// hasAggregate reports whether x contains an aggregate outside subqueries.
func hasAggregate(x tsql.Expr) bool {
	found := false
	walkExpr(x, func(e tsql.Expr) bool {
		if c, ok := e.(*tsql.Call); ok && c.Schema == "" && aggregates[c.Name] {
			found = true
		}
		_, sub := e.(*tsql.Subquery)
		_, ex := e.(*tsql.Exists)
		return !found && !sub && !ex
	})
	return found
}

// walkExpr visits x and its children (not into subqueries) while f returns true.
func walkExpr(x tsql.Expr, f func(tsql.Expr) bool) {
	if x == nil || !f(x) {
		return
	}
	switch e := x.(type) {
	case *tsql.Unary:
		walkExpr(e.X, f)
	case *tsql.Binary:
		walkExpr(e.L, f)
		walkExpr(e.R, f)
	case *tsql.Call:
		for _, a := range e.Args {
			walkExpr(a, f)
		}
	case *tsql.Case:
		walkExpr(e.Operand, f)
		for _, w := range e.Whens {
			walkExpr(w.Cond, f)
			walkExpr(w.Result, f)
		}
		walkExpr(e.Else, f)
	case *tsql.Cast:
		walkExpr(e.X, f)
		walkExpr(e.Style, f)
	case *tsql.In:
		walkExpr(e.X, f)
		for _, a := range e.List {
			walkExpr(a, f)
		}
	case *tsql.Between:
		walkExpr(e.X, f)
		walkExpr(e.Lo, f)
		walkExpr(e.Hi, f)
	case *tsql.Like:
		walkExpr(e.X, f)
		walkExpr(e.Pattern, f)
		walkExpr(e.Escape, f)
	case *tsql.IsNull:
		walkExpr(e.X, f)
	}
}

// evalSelect runs one SELECT. assign, when non-nil, receives each output row for
// SELECT @v = … (no result set is produced then).
func (x *execCtx) evalSelect(s *tsql.Select, parent *env, assign func(row []any) error) (*relation, error) {
	src, err := x.evalFrom(s.From, parent)
	if err != nil {
		return nil, err
	}
	// WHERE
	if s.Where != nil {
		if len(src.rows) == 0 {
			if _, err := x.eval(s.Where, &env{rel: src, row: make([]any, len(src.cols)), parent: parent, probe: true}); err != nil {
				return nil, err
			}
		}
		var kept [][]any
		for _, r := range src.rows {
			v, err := x.eval(s.Where, &env{rel: src, row: r, parent: parent})
			if err != nil {
				return nil, err
			}
			if ok, known := truth(v); ok && known {
				kept = append(kept, r)
			}
		}
		src = &relation{cols: src.cols, rows: kept}
	}
	// Expand the select list.
	type item struct {
		x     tsql.Expr
		name  string
		col   *relCol
		index int // star column index, or -1
		v     string
	}
	var items []item
	for _, it := range s.Items {
		if it.Star {
			n := 0
			for i := range src.cols {
				c := src.cols[i]
				if it.Qualifier != "" && !strings.EqualFold(c.table, it.Qualifier) {
					continue
				}
				items = append(items, item{name: c.name, col: &src.cols[i], index: i})
				n++
			}
			if n == 0 && len(s.From) == 0 {
				return nil, abortErr(263, 16, "Must specify table to select from.")
			}
			if n == 0 && it.Qualifier != "" {
				return nil, abortErr(4104, 16, fmt.Sprintf("The multi-part identifier \"%s\" could not be bound.", it.Qualifier))
			}
			continue
		}
		name := it.Alias
		if name == "" {
			if c, ok := it.X.(*tsql.ColumnRef); ok {
				name = c.Parts[len(c.Parts)-1]
			}
		}
		items = append(items, item{x: it.X, name: name, index: -1, v: it.Var})
	}
	grouped := len(s.GroupBy) > 0 || s.Having != nil
	for _, it := range items {
		grouped = grouped || (it.x != nil && hasAggregate(it.x))
	}
	// Build groups (or one env per row).
	var envs []*env
	if grouped {
		if len(src.rows) == 0 {
			probe := &env{rel: src, row: make([]any, len(src.cols)), parent: parent, probe: true}
			for _, g := range s.GroupBy {
				if _, err := x.eval(g, probe); err != nil {
					return nil, err
				}
			}
		}
		order := []string{}
		groups := map[string][][]any{}
		for _, r := range src.rows {
			var kb strings.Builder
			for _, g := range s.GroupBy {
				v, err := x.eval(g, &env{rel: src, row: r, parent: parent})
				if err != nil {
					return nil, err
				}
				kb.WriteString(valueKey(v))
				kb.WriteByte(0)
			}
			k := kb.String()
			if _, ok := groups[k]; !ok {
				order = append(order, k)
			}
			groups[k] = append(groups[k], r)
		}
		if len(s.GroupBy) == 0 && len(order) == 0 {
			order = append(order, "")
			groups[""] = nil
		}
		for _, k := range order {
			g := groups[k]
			var first []any
			if len(g) > 0 {
				first = g[0]
			} else {
				first = make([]any, len(src.cols))
			}
			e := &env{rel: src, row: first, group: g, grouped: true, parent: parent}
			if s.Having != nil {
				v, err := x.eval(s.Having, e)
				if err != nil {
					return nil, err
				}
				if ok, known := truth(v); !ok || !known {
					continue
				}
			}
			envs = append(envs, e)
		}
	} else {
		for _, r := range src.rows {
			envs = append(envs, &env{rel: src, row: r, parent: parent})
		}
		if len(envs) == 0 {
			// Validate the select list against the (empty) source.
			probe := &env{rel: src, row: make([]any, len(src.cols)), parent: parent, probe: true}
			for _, it := range items {
				if it.x != nil {
					if _, err := x.eval(it.x, probe); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	out := &relation{}
	for _, it := range items {
		c := relCol{name: it.name}
		if it.col != nil {
			c.typ, c.size = it.col.typ, it.col.size
		} else {
			c.typ, c.size = x.staticType(it.x, &env{rel: src, parent: parent})
		}
		out.cols = append(out.cols, c)
	}
	var keys [][]any
	for _, e := range envs {
		row := make([]any, len(items))
		for i, it := range items {
			if it.index >= 0 {
				row[i] = e.row[it.index]
				continue
			}
			v, err := x.eval(it.x, e)
			if err != nil {
				return nil, err
			}
			row[i] = v
		}
		out.rows = append(out.rows, row)
		if len(s.OrderBy) > 0 {
			k := make([]any, len(s.OrderBy))
			for i, ob := range s.OrderBy {
				v, err := x.orderKey(ob.X, out, row, e)
				if err != nil {
					return nil, err
				}
				k[i] = v
			}
			keys = append(keys, k)
		}
	}
	for i := range out.cols {
		if out.cols[i].typ == 0 {
			out.cols[i].typ = tds.NVarChar
			for _, r := range out.rows {
				if r[i] != nil {
					out.cols[i].typ = colTypeOf(r[i])
					break
				}
			}
		}
	}
	if len(s.OrderBy) > 0 {
		if err := sortRows(out.rows, keys, s.OrderBy); err != nil {
			return nil, err
		}
	}
	if s.Distinct {
		out.rows = distinctRows(out.rows)
	}
	if s.Top != nil {
		v, err := x.eval(s.Top, &env{parent: parent})
		if err != nil {
			return nil, err
		}
		n, err := toInt(v)
		if err != nil {
			return nil, err
		}
		if n >= 0 && int(n) < len(out.rows) {
			out.rows = out.rows[:n]
		}
	}
	if assign != nil {
		for _, r := range out.rows {
			if err := assign(r); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// orderKey evaluates an ORDER BY key: an ordinal, an output alias, or an expression
// over the source row.
func (x *execCtx) orderKey(k tsql.Expr, out *relation, row []any, e *env) (any, error) {
	if l, ok := k.(*tsql.Literal); ok {
		if n, ok := l.Value.(int64); ok {
			if n < 1 || int(n) > len(row) {
				return nil, abortErr(108, 16, fmt.Sprintf("The ORDER BY position number %d is out of range of the number of items in the select list.", n))
			}
			return row[n-1], nil
		}
	}
	if c, ok := k.(*tsql.ColumnRef); ok && len(c.Parts) == 1 {
		for i, oc := range out.cols {
			if strings.EqualFold(oc.name, c.Parts[0]) {
				return row[i], nil
			}
		}
	}
	if e == nil {
		return nil, abortErr(207, 16, fmt.Sprintf("Invalid column name '%s'.", exprText(k)))
	}
	return x.eval(k, e)
}

func exprText(k tsql.Expr) string {
	if c, ok := k.(*tsql.ColumnRef); ok {
		return c.Parts[len(c.Parts)-1]
	}
	return "?"
}

// orderOutput sorts a UNION's output by names or ordinals.
func (x *execCtx) orderOutput(out *relation, ob []tsql.OrderItem, _ *env, _ any) error {
	keys := make([][]any, len(out.rows))
	for i, r := range out.rows {
		keys[i] = make([]any, len(ob))
		for j, o := range ob {
			v, err := x.orderKey(o.X, out, r, nil)
			if err != nil {
				return err
			}
			keys[i][j] = v
		}
	}
	return sortRows(out.rows, keys, ob)
}

// sortRows sorts rows by keys; NULLs sort first, as in SQL Server.
func sortRows(rows [][]any, keys [][]any, ob []tsql.OrderItem) error {
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	var cmpErr error
	sort.SliceStable(idx, func(a, b int) bool {
		ka, kb := keys[idx[a]], keys[idx[b]]
		for i := range ob {
			va, vb := ka[i], kb[i]
			c := 0
			switch {
			case va == nil && vb == nil:
			case va == nil:
				c = -1
			case vb == nil:
				c = 1
			default:
				var err error
				c, err = compare(va, vb)
				if err != nil && cmpErr == nil {
					cmpErr = err
				}
			}
			if ob[i].Desc {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		return false
	})
	sorted := make([][]any, len(rows))
	for i, j := range idx {
		sorted[i] = rows[j]
	}
	copy(rows, sorted)
	return cmpErr
}

// bindTables resolves every table a statement names, in subqueries and derived
// tables too, before the statement runs: as SQL Server compiles a statement whole, a
// missing object (Msg 208) or permission (Msg 300/229) fails it even in a branch that
// would not run.
func (x *execCtx) bindTables(st tsql.Stmt) error {
	var exprs []tsql.Expr
	var queries []tsql.Query
	switch n := st.(type) {
	case *tsql.SelectStmt:
		queries = append(queries, n.Q)
	case *tsql.If:
		exprs = append(exprs, n.Cond)
	case *tsql.While:
		exprs = append(exprs, n.Cond)
	case *tsql.SetVar:
		exprs = append(exprs, n.X)
	case *tsql.Declare:
		for _, v := range n.Vars {
			exprs = append(exprs, v.Init)
		}
	case *tsql.Print:
		exprs = append(exprs, n.X)
	}
	var err error
	var visitQuery func(q tsql.Query)
	var visitTable func(t tsql.TableRef)
	visitExpr := func(e tsql.Expr) {
		walkExpr(e, func(e tsql.Expr) bool {
			switch n := e.(type) {
			case *tsql.Subquery:
				visitQuery(n.Q)
			case *tsql.Exists:
				visitQuery(n.Q)
			case *tsql.In:
				if n.Q != nil {
					visitQuery(n.Q)
				}
			}
			return err == nil
		})
	}
	visitTable = func(t tsql.TableRef) {
		switch n := t.(type) {
		case *tsql.TableName:
			if err == nil {
				_, err = x.openObject(n, false)
			}
		case *tsql.Derived:
			visitQuery(n.Q)
		case *tsql.Join:
			visitTable(n.Left)
			visitTable(n.Right)
			visitExpr(n.On)
		}
	}
	visitQuery = func(q tsql.Query) {
		switch n := q.(type) {
		case *tsql.Union:
			visitQuery(n.Left)
			visitQuery(n.Right)
		case *tsql.Select:
			for _, t := range n.From {
				visitTable(t)
			}
			for _, it := range n.Items {
				visitExpr(it.X)
			}
			visitExpr(n.Where)
			visitExpr(n.Having)
			for _, g := range n.GroupBy {
				visitExpr(g)
			}
			for _, o := range n.OrderBy {
				visitExpr(o.X)
			}
		}
	}
	for _, q := range queries {
		visitQuery(q)
	}
	for _, e := range exprs {
		visitExpr(e)
	}
	return err
}
