package sqlsim

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/milink/milink/sqlsim/tds"
	"github.com/milink/milink/sqlsim/tsql"
)

// eval evaluates a scalar expression against e.
func (x *execCtx) eval(ex tsql.Expr, e *env) (any, error) {
	if e == nil {
		e = &env{}
	}
	switch n := ex.(type) {
	case *tsql.Literal:
		return n.Value, nil
	case *tsql.ColumnRef:
		v, _, err := e.resolve(n.Parts)
		if err != nil && len(n.Parts) == 1 {
			if nv, ok := x.niladic(strings.ToUpper(n.Parts[0])); ok {
				return nv, nil
			}
		}
		return v, err
	case *tsql.VarRef:
		v, ok := x.lookupVar(n.Name)
		if !ok {
			return nil, abortErr(137, 15, fmt.Sprintf("Must declare the scalar variable \"@%s\".", n.Name))
		}
		return v.val, nil
	case *tsql.SysVarRef:
		return x.sysVar(n.Name)
	case *tsql.Unary:
		v, err := x.eval(n.X, e)
		if err != nil || v == nil {
			return nil, err
		}
		switch n.Op {
		case "NOT":
			b, known := truth(v)
			if !known {
				return nil, nil
			}
			return !b, nil
		case "-":
			switch t := v.(type) {
			case int64:
				return -t, nil
			case float64:
				return -t, nil
			}
			f, err := toFloat(v)
			return -f, err
		case "~":
			i, err := toInt(v)
			return ^i, err
		}
		return v, nil
	case *tsql.Binary:
		return x.binary(n, e)
	case *tsql.Call:
		return x.call(n, e)
	case *tsql.Case:
		var op any
		if n.Operand != nil {
			v, err := x.eval(n.Operand, e)
			if err != nil {
				return nil, err
			}
			op = v
		}
		for _, w := range n.Whens {
			c, err := x.eval(w.Cond, e)
			if err != nil {
				return nil, err
			}
			hit := false
			if n.Operand != nil {
				if op != nil && c != nil {
					cmp, err := compare(op, c)
					if err != nil {
						return nil, err
					}
					hit = cmp == 0
				}
			} else {
				b, known := truth(c)
				hit = b && known
			}
			if hit {
				return x.eval(w.Result, e)
			}
		}
		if n.Else != nil {
			return x.eval(n.Else, e)
		}
		return nil, nil
	case *tsql.Cast:
		v, err := x.eval(n.X, e)
		if err != nil {
			return nil, err
		}
		if n.Style != nil {
			st, err := x.eval(n.Style, e)
			if err != nil {
				return nil, err
			}
			if s, ok := styled(v, n.To, st); ok {
				return s, nil
			}
		}
		r, err := convert(v, n.To)
		if err != nil && n.Try {
			return nil, nil
		}
		if err != nil {
			ee := asExecError(err)
			ee.abort = true
			return nil, ee
		}
		return r, nil
	case *tsql.Subquery:
		r, err := x.evalQuery(n.Q, e)
		if err != nil {
			return nil, err
		}
		if len(r.cols) != 1 {
			return nil, abortErr(116, 16, "Only one expression can be specified in the select list when the subquery is not introduced with EXISTS.")
		}
		switch len(r.rows) {
		case 0:
			return nil, nil
		case 1:
			return r.rows[0][0], nil
		}
		if e.probe {
			return nil, nil
		}
		return nil, sqlErr(512, 16, "Subquery returned more than 1 value. This is not permitted when the subquery follows =, !=, <, <= , >, >= or when the subquery is used as an expression.")
	case *tsql.Exists:
		r, err := x.evalQuery(n.Q, e)
		if err != nil {
			return nil, err
		}
		return (len(r.rows) > 0) != n.Not, nil
	case *tsql.In:
		v, err := x.eval(n.X, e)
		if err != nil {
			return nil, err
		}
		var cands []any
		if n.Q != nil {
			r, err := x.evalQuery(n.Q, e)
			if err != nil {
				return nil, err
			}
			for _, row := range r.rows {
				cands = append(cands, row[0])
			}
		} else {
			for _, c := range n.List {
				cv, err := x.eval(c, e)
				if err != nil {
					return nil, err
				}
				cands = append(cands, cv)
			}
		}
		if v == nil {
			return nil, nil
		}
		sawNull := false
		for _, c := range cands {
			if c == nil {
				sawNull = true
				continue
			}
			cmp, err := compare(v, c)
			if err != nil {
				return nil, err
			}
			if cmp == 0 {
				return !n.Not, nil
			}
		}
		if sawNull {
			return nil, nil
		}
		return n.Not, nil
	case *tsql.Between:
		v, err := x.eval(n.X, e)
		if err != nil {
			return nil, err
		}
		lo, err := x.eval(n.Lo, e)
		if err != nil {
			return nil, err
		}
		hi, err := x.eval(n.Hi, e)
		if err != nil {
			return nil, err
		}
		if v == nil || lo == nil || hi == nil {
			return nil, nil
		}
		a, err := compare(v, lo)
		if err != nil {
			return nil, err
		}
		b, err := compare(v, hi)
		if err != nil {
			return nil, err
		}
		return (a >= 0 && b <= 0) != n.Not, nil
	case *tsql.Like:
		v, err := x.eval(n.X, e)
		if err != nil {
			return nil, err
		}
		p, err := x.eval(n.Pattern, e)
		if err != nil {
			return nil, err
		}
		if v == nil || p == nil {
			return nil, nil
		}
		return like(toStr(v), toStr(p)) != n.Not, nil
	case *tsql.IsNull:
		v, err := x.eval(n.X, e)
		if err != nil {
			return nil, err
		}
		return (v == nil) != n.Not, nil
	}
	return nil, abortErr(102, 15, "Incorrect syntax.")
}

func (x *execCtx) binary(n *tsql.Binary, e *env) (any, error) {
	switch n.Op {
	case "AND", "OR":
		l, err := x.eval(n.L, e)
		if err != nil {
			return nil, err
		}
		lb, lk := truth(l)
		if n.Op == "AND" && lk && !lb {
			return false, nil
		}
		if n.Op == "OR" && lk && lb {
			return true, nil
		}
		r, err := x.eval(n.R, e)
		if err != nil {
			return nil, err
		}
		rb, rk := truth(r)
		if n.Op == "AND" {
			if rk && !rb {
				return false, nil
			}
			if lk && rk {
				return true, nil
			}
			return nil, nil
		}
		if rk && rb {
			return true, nil
		}
		if lk && rk {
			return false, nil
		}
		return nil, nil
	}
	l, err := x.eval(n.L, e)
	if err != nil {
		return nil, err
	}
	r, err := x.eval(n.R, e)
	if err != nil {
		return nil, err
	}
	switch n.Op {
	case "=", "<>", "<", ">", "<=", ">=":
		if l == nil || r == nil {
			return nil, nil
		}
		c, err := compare(l, r)
		if err != nil {
			return nil, err
		}
		switch n.Op {
		case "=":
			return c == 0, nil
		case "<>":
			return c != 0, nil
		case "<":
			return c < 0, nil
		case ">":
			return c > 0, nil
		case "<=":
			return c <= 0, nil
		}
		return c >= 0, nil
	}
	if l == nil || r == nil {
		return nil, nil
	}
	return arith(n.Op, l, r)
}

// arith applies + - * / % & | ^ with T-SQL's type precedence: strings concatenate
// with strings, and convert to the number when the other side is a number.
func arith(op string, l, r any) (any, error) {
	if lb, ok := l.(bool); ok {
		l = map[bool]int64{true: 1, false: 0}[lb]
	}
	if rb, ok := r.(bool); ok {
		r = map[bool]int64{true: 1, false: 0}[rb]
	}
	ls, lstr := l.(string)
	rs, rstr := r.(string)
	if lstr && rstr {
		if op == "+" {
			return ls + rs, nil
		}
		return nil, abortErr(402, 16, fmt.Sprintf("The data types nvarchar and nvarchar are incompatible in the %s operator.", opName(op)))
	}
	if lt, ok := l.(time.Time); ok && (op == "+" || op == "-") {
		d, err := toFloat(r)
		if err != nil {
			return nil, err
		}
		if op == "-" {
			d = -d
		}
		return lt.Add(time.Duration(d * float64(24*time.Hour))), nil
	}
	_, lf := l.(float64)
	_, rf := r.(float64)
	if lf || rf {
		a, b, err := operands(l, r, toFloat)
		if err != nil {
			return nil, err
		}
		if op == "%" && b != 0 {
			return math.Mod(a, b), nil
		}
		return numOp(op, a, b)
	}
	a, b, err := operands(l, r, toInt)
	if err != nil {
		return nil, err
	}
	switch op {
	case "%":
		if b != 0 {
			return a % b, nil
		}
	case "&":
		return a & b, nil
	case "|":
		return a | b, nil
	case "^":
		return a ^ b, nil
	}
	return numOp(op, a, b)
}

// operands converts both sides of an arithmetic operator; a failed conversion ends the batch.
func operands[T int64 | float64](l, r any, conv func(any) (T, error)) (T, T, error) {
	a, err := conv(l)
	if err != nil {
		return 0, 0, abortOf(err)
	}
	b, err := conv(r)
	if err != nil {
		return 0, 0, abortOf(err)
	}
	return a, b, nil
}

// numOp applies + - * / (and reports division by zero, Msg 8134, for / and %).
func numOp[T int64 | float64](op string, a, b T) (any, error) {
	switch op {
	case "+":
		return a + b, nil
	case "-":
		return a - b, nil
	case "*":
		return a * b, nil
	case "/", "%":
		if b == 0 {
			return nil, sqlErr(8134, 16, "Divide by zero error encountered.")
		}
		return a / b, nil
	}
	return nil, abortErr(102, 15, fmt.Sprintf("Incorrect syntax near '%s'.", op))
}

func abortOf(err error) error {
	ee := asExecError(err)
	ee.abort = true
	return ee
}

func opName(op string) string {
	switch op {
	case "-":
		return "subtract"
	case "*":
		return "multiply"
	case "/":
		return "divide"
	case "%":
		return "modulo"
	}
	return "add"
}

// styled handles CONVERT(char type, datetime, style) for the common styles
// (https://learn.microsoft.com/sql/t-sql/functions/cast-and-convert-transact-sql#date-and-time-styles).
func styled(v any, to tsql.Type, style any) (any, bool) {
	t, ok := v.(time.Time)
	if !ok || !strings.Contains(to.Name, "char") {
		return nil, false
	}
	st, _ := toInt(style)
	layout := ""
	switch st {
	case 101:
		layout = "01/02/2006"
	case 102:
		layout = "2006.01.02"
	case 103:
		layout = "02/01/2006"
	case 108:
		layout = "15:04:05"
	case 112:
		layout = "20060102"
	case 120:
		layout = "2006-01-02 15:04:05"
	case 121:
		layout = "2006-01-02 15:04:05.000"
	case 126, 127:
		layout = "2006-01-02T15:04:05.000"
	default:
		return nil, false
	}
	r, _ := convert(t.Format(layout), to)
	return r, true
}

// staticType is the declared type of a result column where it is known from the
// expression alone (a column, a CAST, a literal, a typed function); 0 otherwise.
func (x *execCtx) staticType(ex tsql.Expr, e *env) (tds.ColType, int) {
	switch n := ex.(type) {
	case *tsql.ColumnRef:
		if _, c, err := e.resolve(n.Parts); err == nil && c != nil {
			return c.typ, c.size
		}
	case *tsql.Cast:
		return colTypeForSQL(n.To)
	case *tsql.Literal:
		if n.Value != nil {
			return colTypeOf(n.Value), 0
		}
	case *tsql.VarRef:
		if v, ok := x.lookupVar(n.Name); ok && v.typ.Name != "" && v.typ.Name != "sql_variant" {
			return colTypeForSQL(v.typ)
		}
	case *tsql.Call:
		switch n.Name {
		case "COUNT", "LEN", "CHARINDEX", "DATEDIFF", "DATALENGTH", "DB_ID", "OBJECT_ID", "IS_SRVROLEMEMBER", "IS_MEMBER", "IS_ROLEMEMBER", "HAS_PERMS_BY_NAME", "DATEPART", "YEAR", "MONTH", "DAY", "ERROR_NUMBER", "ERROR_SEVERITY", "ERROR_STATE", "ERROR_LINE":
			return tds.Int, 0
		case "COUNT_BIG":
			return tds.BigInt, 0
		case "GETDATE", "GETUTCDATE", "DATEADD":
			return tds.DateTime, 0
		case "SYSDATETIME", "SYSUTCDATETIME":
			return tds.DateTime2, 0
		case "NEWID":
			return tds.UniqueIdentifier, 0
		case "SUSER_SID":
			return tds.VarBinary, 85
		case "MAX", "MIN", "ISNULL", "COALESCE", "SUM":
			if len(n.Args) > 0 {
				if t, s := x.staticType(n.Args[0], e); t != 0 {
					return t, s
				}
				if len(n.Args) > 1 {
					return x.staticType(n.Args[1], e)
				}
			}
		case "SUBSTRING", "LEFT", "RIGHT", "REVERSE", "UPPER", "LOWER", "LTRIM", "RTRIM", "TRIM", "REPLACE", "SUSER_SNAME", "SUSER_NAME", "DB_NAME", "OBJECT_NAME", "CONCAT", "QUOTENAME", "REPLICATE", "SPACE", "ERROR_MESSAGE", "USER_NAME", "APPLOCK_MODE", "FORMAT":
			return tds.NVarChar, 0
		}
	}
	return 0, 0
}
