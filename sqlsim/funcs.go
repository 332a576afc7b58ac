package sqlsim

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/milink/milink/sqlsim/tsql"
)

// call evaluates a function call: aggregates over the current group, then the
// built-in scalar functions
// (https://learn.microsoft.com/sql/t-sql/functions/functions).
func (x *execCtx) call(c *tsql.Call, e *env) (any, error) {
	if c.Schema == "" && aggregates[c.Name] {
		return x.aggregate(c, e)
	}
	if c.Schema != "" && c.Schema != "sys" {
		return nil, abortErr(4121, 16, fmt.Sprintf("Cannot find either column \"%s\" or the user-defined function or aggregate \"%s.%s\", or the name is ambiguous.", c.Schema, c.Schema, strings.ToLower(c.Name)))
	}
	// Functions whose arguments are not ordinary expressions.
	switch c.Name {
	case "DATEDIFF", "DATEADD", "DATEPART", "DATENAME":
		if len(c.Args) < 2 {
			return nil, argCountErr(c.Name, 3)
		}
		part := datePartName(c.Args[0])
		args, err := x.evalArgs(c.Args[1:], e)
		if err != nil {
			return nil, err
		}
		return dateFunc(c.Name, part, args)
	case "ISNULL":
		if len(c.Args) != 2 {
			return nil, argCountErr(c.Name, 2)
		}
		v, err := x.eval(c.Args[0], e)
		if err != nil || v != nil {
			return v, err
		}
		return x.eval(c.Args[1], e)
	case "COALESCE":
		for _, a := range c.Args {
			v, err := x.eval(a, e)
			if err != nil || v != nil {
				return v, err
			}
		}
		return nil, nil
	case "IIF":
		if len(c.Args) != 3 {
			return nil, argCountErr(c.Name, 3)
		}
		v, err := x.eval(c.Args[0], e)
		if err != nil {
			return nil, err
		}
		if b, k := truth(v); b && k {
			return x.eval(c.Args[1], e)
		}
		return x.eval(c.Args[2], e)
	}
	a, err := x.evalArgs(c.Args, e)
	if err != nil {
		return nil, err
	}
	arg := func(i int) any {
		if i < len(a) {
			return a[i]
		}
		return nil
	}
	str := func(i int) string { return toStr(arg(i)) }
	need := func(n int) error {
		if len(a) != n {
			return argCountErr(c.Name, n)
		}
		return nil
	}
	anyNull := func() bool {
		for _, v := range a {
			if v == nil {
				return true
			}
		}
		return false
	}
	s := x.s
	in := s.in
	switch c.Name {
	case "SERVERPROPERTY":
		if err := need(1); err != nil {
			return nil, err
		}
		return in.serverProperty(str(0)), nil
	case "CONNECTIONPROPERTY":
		if err := need(1); err != nil {
			return nil, err
		}
		return s.connectionProperty(str(0)), nil
	case "IS_SRVROLEMEMBER":
		login := s.loginName
		if len(a) > 1 {
			if a[1] == nil {
				return nil, nil
			}
			login = str(1)
		}
		in.mu.Lock()
		defer in.mu.Unlock()
		role := strings.ToLower(str(0))
		if !fixedServerRoles[role] {
			return nil, nil
		}
		if in.loginByNameLocked(login) == nil {
			return nil, nil
		}
		if in.serverRoleMemberLocked(role, login) || (role == "public") {
			return int64(1), nil
		}
		return int64(0), nil
	case "IS_MEMBER", "IS_ROLEMEMBER":
		in.mu.Lock()
		defer in.mu.Unlock()
		d := in.dbByNameLocked(s.db)
		if d == nil || d.userByNameLocked(str(0)) == nil {
			return nil, nil
		}
		if strings.EqualFold(str(0), "public") || (in.isSysadminLocked(s.loginName) && strings.EqualFold(str(0), "db_owner")) {
			return int64(1), nil
		}
		if d.isRoleMemberLocked(str(0), s.loginName) {
			return int64(1), nil
		}
		return int64(0), nil
	case "HAS_PERMS_BY_NAME":
		if len(a) < 3 {
			return nil, argCountErr(c.Name, 3)
		}
		in.mu.Lock()
		defer in.mu.Unlock()
		if strings.EqualFold(str(1), "SERVER") {
			if in.hasServerPermLocked(s.loginName, str(2)) {
				return int64(1), nil
			}
			return int64(0), nil
		}
		if in.isSysadminLocked(s.loginName) {
			return int64(1), nil
		}
		return int64(0), nil
	case "SUSER_SID":
		name := s.loginName
		if len(a) > 0 {
			if a[0] == nil {
				return nil, nil
			}
			name = str(0)
		}
		in.mu.Lock()
		defer in.mu.Unlock()
		if l := in.loginByNameLocked(name); l != nil {
			return append([]byte(nil), l.sid...), nil
		}
		return nil, nil
	case "SUSER_SNAME", "SUSER_NAME", "ORIGINAL_LOGIN":
		if len(a) > 0 && a[0] != nil {
			in.mu.Lock()
			defer in.mu.Unlock()
			for _, l := range in.logins {
				if sid, ok := a[0].([]byte); ok && string(sid) == string(l.sid) {
					return l.name, nil
				}
			}
			return nil, nil
		}
		return s.loginName, nil
	case "USER_NAME":
		return x.userName(), nil
	case "DB_NAME":
		if len(a) == 0 {
			return s.db, nil
		}
		id, err := toInt(arg(0))
		if err != nil {
			return nil, err
		}
		in.mu.Lock()
		defer in.mu.Unlock()
		if d := in.dbByIDLocked(int(id)); d != nil {
			return d.name, nil
		}
		return nil, nil
	case "DB_ID":
		name := s.db
		if len(a) > 0 {
			name = str(0)
		}
		in.mu.Lock()
		defer in.mu.Unlock()
		if d := in.dbByNameLocked(name); d != nil {
			return int64(d.id), nil
		}
		return nil, nil
	case "OBJECT_ID":
		if len(a) == 0 || a[0] == nil {
			return nil, nil
		}
		return x.objectID(str(0)), nil
	case "OBJECT_NAME":
		if a[0] == nil {
			return nil, nil
		}
		id, _ := toInt(arg(0))
		return x.objectName(int(id)), nil
	case "SCHEMA_NAME":
		return "dbo", nil
	case "LEN":
		if err := need(1); err != nil || anyNull() {
			return nil, err
		}
		return int64(len([]rune(strings.TrimRight(str(0), " ")))), nil
	case "DATALENGTH":
		if err := need(1); err != nil || anyNull() {
			return nil, err
		}
		switch v := arg(0).(type) {
		case string:
			return int64(2 * len([]rune(v))), nil
		case []byte:
			return int64(len(v)), nil
		case [16]byte:
			return int64(16), nil
		case int64:
			return int64(4), nil
		}
		return int64(8), nil
	case "UPPER", "LOWER", "LTRIM", "RTRIM", "TRIM", "REVERSE":
		if len(a) < 1 {
			return nil, argCountErr(c.Name, 1)
		}
		if a[0] == nil {
			return nil, nil
		}
		v := str(0)
		switch c.Name {
		case "UPPER":
			return strings.ToUpper(v), nil
		case "LOWER":
			return strings.ToLower(v), nil
		case "LTRIM":
			return strings.TrimLeft(v, " "), nil
		case "RTRIM":
			return strings.TrimRight(v, " "), nil
		case "TRIM":
			return strings.Trim(v, " "), nil
		}
		r := []rune(v)
		for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
			r[i], r[j] = r[j], r[i]
		}
		return string(r), nil
	case "SUBSTRING":
		if err := need(3); err != nil || anyNull() {
			return nil, err
		}
		start, err := toInt(arg(1))
		if err != nil {
			return nil, err
		}
		n, err := toInt(arg(2))
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, sqlErr(537, 16, "Invalid length parameter passed to the LEFT or SUBSTRING function.")
		}
		// SUBSTRING counts from 1; characters before position 1 are consumed by the length
		// (https://learn.microsoft.com/sql/t-sql/functions/substring-transact-sql).
		r := []rune(str(0))
		from, to := start-1, start-1+n
		from = max(from, 0)
		to = min(to, int64(len(r)))
		if from >= to {
			return "", nil
		}
		return string(r[from:to]), nil
	case "LEFT", "RIGHT":
		if err := need(2); err != nil || anyNull() {
			return nil, err
		}
		n, err := toInt(arg(1))
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, sqlErr(536, 16, fmt.Sprintf("Invalid length parameter passed to the %s function.", c.Name))
		}
		r := []rune(str(0))
		n = min(n, int64(len(r)))
		if c.Name == "LEFT" {
			return string(r[:n]), nil
		}
		return string(r[int64(len(r))-n:]), nil
	case "CHARINDEX":
		if len(a) < 2 {
			return nil, argCountErr(c.Name, 2)
		}
		if anyNull() {
			return nil, nil
		}
		hay := []rune(strings.ToLower(str(1)))
		needle := strings.ToLower(str(0))
		start := int64(1)
		if len(a) > 2 {
			start, _ = toInt(arg(2))
			start = max(start, 1)
		}
		if start > int64(len(hay)) {
			return int64(0), nil
		}
		i := strings.Index(string(hay[start-1:]), needle)
		if i < 0 || needle == "" {
			return int64(0), nil
		}
		return int64(len([]rune(string(hay[start-1:])[:i]))) + start, nil
	case "REPLACE":
		if err := need(3); err != nil || anyNull() {
			return nil, err
		}
		return replaceCI(str(0), str(1), str(2)), nil
	case "REPLICATE":
		if err := need(2); err != nil || anyNull() {
			return nil, err
		}
		n, _ := toInt(arg(1))
		if n < 0 {
			return nil, nil
		}
		return strings.Repeat(str(0), int(min(n, 8000))), nil
	case "SPACE":
		n, _ := toInt(arg(0))
		return strings.Repeat(" ", int(max(min(n, 8000), 0))), nil
	case "CONCAT":
		var b strings.Builder
		for i := range a {
			b.WriteString(str(i))
		}
		return b.String(), nil
	case "QUOTENAME":
		if a[0] == nil {
			return nil, nil
		}
		q := "]"
		if len(a) > 1 {
			q = str(1)
		}
		switch q {
		case "'":
			return "'" + strings.ReplaceAll(str(0), "'", "''") + "'", nil
		case "\"":
			return "\"" + strings.ReplaceAll(str(0), "\"", "\"\"") + "\"", nil
		}
		return "[" + strings.ReplaceAll(str(0), "]", "]]") + "]", nil
	case "NULLIF":
		if err := need(2); err != nil {
			return nil, err
		}
		if a[0] != nil && a[1] != nil {
			if c, err := compare(a[0], a[1]); err == nil && c == 0 {
				return nil, nil
			}
		}
		return a[0], nil
	case "ABS":
		switch v := arg(0).(type) {
		case int64:
			if v < 0 {
				return -v, nil
			}
			return v, nil
		case float64:
			return math.Abs(v), nil
		}
		return nil, nil
	case "ISNUMERIC":
		if _, err := toFloat(arg(0)); err == nil && arg(0) != nil {
			return int64(1), nil
		}
		return int64(0), nil
	case "GETDATE", "SYSDATETIME", "CURRENT_TIMESTAMP":
		return time.Now(), nil
	case "GETUTCDATE", "SYSUTCDATETIME":
		return time.Now().UTC(), nil
	case "SYSDATETIMEOFFSET":
		return time.Now(), nil
	case "YEAR", "MONTH", "DAY":
		if err := need(1); err != nil || anyNull() {
			return nil, err
		}
		return dateFunc("DATEPART", strings.ToLower(c.Name), a)
	case "NEWID":
		return newGUID(), nil
	case "ERROR_NUMBER", "ERROR_MESSAGE", "ERROR_SEVERITY", "ERROR_STATE", "ERROR_LINE", "ERROR_PROCEDURE":
		ce := x.catchErr
		if ce == nil {
			return nil, nil
		}
		switch c.Name {
		case "ERROR_NUMBER":
			return int64(ce.Number), nil
		case "ERROR_MESSAGE":
			return ce.Message, nil
		case "ERROR_SEVERITY":
			return int64(ce.Class), nil
		case "ERROR_STATE":
			return int64(ce.State), nil
		case "ERROR_LINE":
			return int64(ce.Line), nil
		}
		if ce.Proc == "" {
			return nil, nil
		}
		return ce.Proc, nil
	case "APPLOCK_MODE":
		if len(a) < 2 {
			return nil, argCountErr(c.Name, 3)
		}
		return s.applockMode(str(1)), nil
	case "APPLOCK_TEST":
		if len(a) < 3 {
			return nil, argCountErr(c.Name, 4)
		}
		if s.applockTest(str(1), str(2)) {
			return int64(1), nil
		}
		return int64(0), nil
	case "@@TRANCOUNT":
	}
	return nil, abortErr(195, 15, fmt.Sprintf("'%s' is not a recognized built-in function name.", strings.ToLower(c.Name)))
}

var fixedServerRoles = map[string]bool{"sysadmin": true, "serveradmin": true, "securityadmin": true, "processadmin": true,
	"setupadmin": true, "bulkadmin": true, "diskadmin": true, "dbcreator": true, "public": true}

func argCountErr(name string, n int) error {
	return abortErr(174, 15, fmt.Sprintf("The %s function requires %d argument(s).", strings.ToLower(name), n))
}

func (x *execCtx) evalArgs(args []tsql.Expr, e *env) ([]any, error) {
	out := make([]any, len(args))
	for i, a := range args {
		v, err := x.eval(a, e)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// replaceCI is REPLACE under a case-insensitive collation.
func replaceCI(s, old, repl string) string {
	if old == "" {
		return s
	}
	lo, lold := strings.ToLower(s), strings.ToLower(old)
	var b strings.Builder
	for {
		i := strings.Index(lo, lold)
		if i < 0 || len(lo) != len(s) {
			if i >= 0 {
				return strings.ReplaceAll(s, old, repl)
			}
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(repl)
		s, lo = s[i+len(old):], lo[i+len(old):]
	}
}

// datePartName reads the datepart argument of DATEDIFF/DATEADD (a bare word).
func datePartName(x tsql.Expr) string {
	switch n := x.(type) {
	case *tsql.ColumnRef:
		return strings.ToLower(n.Parts[len(n.Parts)-1])
	case *tsql.Literal:
		return strings.ToLower(toStr(n.Value))
	}
	return ""
}

var dateParts = map[string]string{"year": "year", "yy": "year", "yyyy": "year", "quarter": "quarter", "qq": "quarter", "q": "quarter",
	"month": "month", "mm": "month", "m": "month", "dayofyear": "dayofyear", "dy": "dayofyear", "y": "dayofyear", "day": "day", "dd": "day", "d": "day",
	"week": "week", "wk": "week", "ww": "week", "weekday": "weekday", "dw": "weekday", "hour": "hour", "hh": "hour", "minute": "minute", "mi": "minute", "n": "minute",
	"second": "second", "ss": "second", "s": "second", "millisecond": "millisecond", "ms": "millisecond", "microsecond": "microsecond", "mcs": "microsecond",
	"nanosecond": "nanosecond", "ns": "nanosecond"}

// dateFunc implements DATEDIFF (boundaries crossed), DATEADD and DATEPART
// (https://learn.microsoft.com/sql/t-sql/functions/datediff-transact-sql).
func dateFunc(fn, part string, a []any) (any, error) {
	p, ok := dateParts[part]
	if !ok {
		return nil, abortErr(155, 15, fmt.Sprintf("'%s' is not a recognized %s option.", part, strings.ToLower(fn)))
	}
	for _, v := range a {
		if v == nil {
			return nil, nil
		}
	}
	switch fn {
	case "DATEADD":
		if len(a) != 2 {
			return nil, argCountErr(fn, 3)
		}
		n, err := toInt(a[0])
		if err != nil {
			return nil, err
		}
		t, err := toTime(a[1])
		if err != nil {
			return nil, err
		}
		switch p {
		case "year":
			return t.AddDate(int(n), 0, 0), nil
		case "quarter":
			return t.AddDate(0, 3*int(n), 0), nil
		case "month":
			return t.AddDate(0, int(n), 0), nil
		case "day", "dayofyear", "weekday":
			return t.AddDate(0, 0, int(n)), nil
		case "week":
			return t.AddDate(0, 0, 7*int(n)), nil
		}
		return t.Add(time.Duration(n) * unitOf(p)), nil
	case "DATEDIFF":
		if len(a) != 2 {
			return nil, argCountErr(fn, 3)
		}
		t1, err := toTime(a[0])
		if err != nil {
			return nil, err
		}
		t2, err := toTime(a[1])
		if err != nil {
			return nil, err
		}
		t1, t2 = t1.UTC(), t2.UTC()
		switch p {
		case "year":
			return int64(t2.Year() - t1.Year()), nil
		case "quarter":
			return int64((t2.Year()-t1.Year())*4 + (int(t2.Month())-1)/3 - (int(t1.Month())-1)/3), nil
		case "month":
			return int64((t2.Year()-t1.Year())*12 + int(t2.Month()) - int(t1.Month())), nil
		case "day", "dayofyear", "weekday":
			d1 := time.Date(t1.Year(), t1.Month(), t1.Day(), 0, 0, 0, 0, time.UTC)
			d2 := time.Date(t2.Year(), t2.Month(), t2.Day(), 0, 0, 0, 0, time.UTC)
			return int64(d2.Sub(d1) / (24 * time.Hour)), nil
		case "week":
			d1 := time.Date(t1.Year(), t1.Month(), t1.Day()-int(t1.Weekday()), 0, 0, 0, 0, time.UTC)
			d2 := time.Date(t2.Year(), t2.Month(), t2.Day()-int(t2.Weekday()), 0, 0, 0, 0, time.UTC)
			return int64(d2.Sub(d1) / (7 * 24 * time.Hour)), nil
		}
		u := unitOf(p)
		return int64(t2.Truncate(u).Sub(t1.Truncate(u)) / u), nil
	}
	t, err := toTime(a[0])
	if err != nil {
		return nil, err
	}
	switch p {
	case "year":
		return int64(t.Year()), nil
	case "quarter":
		return int64((int(t.Month())-1)/3 + 1), nil
	case "month":
		return int64(t.Month()), nil
	case "day":
		return int64(t.Day()), nil
	case "dayofyear":
		return int64(t.YearDay()), nil
	case "weekday":
		return int64(t.Weekday()) + 1, nil
	case "hour":
		return int64(t.Hour()), nil
	case "minute":
		return int64(t.Minute()), nil
	case "second":
		return int64(t.Second()), nil
	case "millisecond":
		return int64(t.Nanosecond() / 1e6), nil
	}
	return int64(0), nil
}

func unitOf(p string) time.Duration {
	switch p {
	case "hour":
		return time.Hour
	case "minute":
		return time.Minute
	case "second":
		return time.Second
	case "millisecond":
		return time.Millisecond
	case "microsecond":
		return time.Microsecond
	}
	return time.Nanosecond
}

// aggregate computes COUNT/MAX/MIN/SUM/AVG over e's group.
func (x *execCtx) aggregate(c *tsql.Call, e *env) (any, error) {
	if e.rel == nil {
		e = &env{rel: &relation{}, row: []any{}, parent: e.parent, probe: e.probe}
	}
	rows := e.group
	if !e.grouped && !e.probe {
		rows = [][]any{e.row}
	}
	if c.Star {
		if c.Name != "COUNT" && c.Name != "COUNT_BIG" {
			return nil, abortErr(102, 15, "Incorrect syntax near '*'.")
		}
		return int64(len(rows)), nil
	}
	if len(c.Args) != 1 {
		return nil, argCountErr(c.Name, 1)
	}
	var vals []any
	seen := map[string]bool{}
	if e.probe || len(rows) == 0 {
		if _, err := x.eval(c.Args[0], &env{rel: e.rel, row: make([]any, len(e.rel.cols)), parent: e.parent, probe: true}); err != nil {
			return nil, err
		}
	}
	for _, r := range rows {
		v, err := x.eval(c.Args[0], &env{rel: e.rel, row: r, parent: e.parent})
		if err != nil {
			return nil, err
		}
		if v == nil {
			continue
		}
		if c.Distinct {
			k := valueKey(v)
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		vals = append(vals, v)
	}
	switch c.Name {
	case "COUNT", "COUNT_BIG":
		return int64(len(vals)), nil
	case "MAX", "MIN":
		var best any
		for _, v := range vals {
			if best == nil {
				best = v
				continue
			}
			cmp, err := compare(v, best)
			if err != nil {
				return nil, err
			}
			if (c.Name == "MAX" && cmp > 0) || (c.Name == "MIN" && cmp < 0) {
				best = v
			}
		}
		return best, nil
	}
	if len(vals) == 0 {
		return nil, nil
	}
	var sum any = int64(0)
	for _, v := range vals {
		s, err := arith("+", sum, v)
		if err != nil {
			return nil, err
		}
		sum = s
	}
	if c.Name == "AVG" {
		return arith("/", sum, int64(len(vals)))
	}
	return sum, nil
}
