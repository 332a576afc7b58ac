package sqlsim

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/milink/milink/sqlsim/tds"
	"github.com/milink/milink/sqlsim/tsql"
)

// Values in the evaluator are nil (NULL), int64, float64, string, time.Time,
// [16]byte (uniqueidentifier, RFC 4122 order), []byte, and bool for predicates (a
// NULL predicate is UNKNOWN). T-SQL's conversion rules follow
// https://learn.microsoft.com/sql/t-sql/data-types/data-type-conversion-database-engine
// and data type precedence
// https://learn.microsoft.com/sql/t-sql/data-types/data-type-precedence-transact-sql.

// sqlTypeName names a value's type in conversion error messages.
func sqlTypeName(v any) string {
	switch v.(type) {
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "nvarchar"
	case time.Time:
		return "datetime"
	case [16]byte:
		return "uniqueidentifier"
	case []byte:
		return "varbinary"
	}
	return "sql_variant"
}

// colTypeOf is the result column type for a value.
func colTypeOf(v any) tds.ColType {
	switch x := v.(type) {
	case int64:
		if x >= math.MinInt32 && x <= math.MaxInt32 {
			return tds.Int
		}
		return tds.BigInt
	case float64:
		return tds.Float
	case time.Time:
		return tds.DateTime
	case [16]byte:
		return tds.UniqueIdentifier
	case []byte:
		return tds.VarBinary
	case bool:
		return tds.Bit
	}
	return tds.NVarChar
}

// colTypeForSQL maps a T-SQL type name (catalog column types, CAST targets) to the
// wire type used for a result column.
func colTypeForSQL(t tsql.Type) (tds.ColType, int) {
	switch t.Name {
	case "int", "smallint", "tinyint":
		return tds.Int, 0
	case "bigint":
		return tds.BigInt, 0
	case "bit":
		return tds.Bit, 0
	case "float", "real":
		return tds.Float, 0
	case "decimal", "numeric", "money", "smallmoney":
		return tds.Float, 0
	case "datetime", "smalldatetime":
		return tds.DateTime, 0
	case "datetime2", "datetimeoffset":
		return tds.DateTime2, 0
	case "date":
		return tds.Date, 0
	case "uniqueidentifier":
		return tds.UniqueIdentifier, 0
	case "varbinary", "binary", "image", "timestamp", "rowversion":
		if t.Len < 0 {
			return tds.VarBinary, tds.MaxSize
		}
		return tds.VarBinary, t.Len
	}
	if t.Len < 0 || t.Name == "ntext" || t.Name == "text" || t.Name == "xml" {
		return tds.NVarChar, tds.MaxSize
	}
	return tds.NVarChar, 0
}

// parseTypeName parses a catalog type string such as "nvarchar(60)" or "sysname".
func parseTypeName(s string) tsql.Type {
	s = strings.ToLower(strings.TrimSpace(s))
	t := tsql.Type{Name: s}
	if i := strings.IndexByte(s, '('); i > 0 {
		t.Name = s[:i]
		arg := strings.TrimSuffix(s[i+1:], ")")
		if arg == "max" {
			t.Len = -1
		} else {
			t.Len, _ = strconv.Atoi(strings.SplitN(arg, ",", 2)[0])
		}
	}
	if t.Name == "sysname" {
		t.Name, t.Len = "nvarchar", 128
	}
	return t
}

// convErr is Msg 245 (or 241 for dates, 8169 for uniqueidentifier): a conversion that failed.
func convErr(v any, to string) error {
	switch to {
	case "datetime", "date", "datetime2", "smalldatetime", "datetimeoffset":
		return sqlErr(241, 16, "Conversion failed when converting date and/or time from character string.")
	case "uniqueidentifier":
		return sqlErr(8169, 16, "Conversion failed when converting from a character string to uniqueidentifier.")
	}
	return sqlErr(245, 16, fmt.Sprintf("Conversion failed when converting the %s value '%s' to data type %s.", sqlTypeName(v), toStr(v), to))
}

// toStr renders a value as CAST(v AS nvarchar) does (datetime style 0: "Nov 30 2026  5:16AM").
func toStr(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		if x {
			return "1"
		}
		return "0"
	case time.Time:
		h := x.Hour() % 12
		if h == 0 {
			h = 12
		}
		ampm := "AM"
		if x.Hour() >= 12 {
			ampm = "PM"
		}
		return fmt.Sprintf("%s %2d %d %2d:%02d%s", x.Format("Jan"), x.Day(), x.Year(), h, x.Minute(), ampm)
	case [16]byte:
		return strings.ToUpper(uuid.UUID(x).String())
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}

// guidToBinary is CAST(uniqueidentifier AS binary(16)): SQL Server's byte order, with
// the first three groups little-endian (MS-DTYP 2.3.4.2).
func guidToBinary(g [16]byte) []byte {
	b := append([]byte(nil), g[:]...)
	b[0], b[1], b[2], b[3] = g[3], g[2], g[1], g[0]
	b[4], b[5] = g[5], g[4]
	b[6], b[7] = g[7], g[6]
	return b
}

func binaryToGUID(b []byte) [16]byte {
	var g [16]byte
	if len(b) < 16 {
		b = append(append([]byte(nil), b...), make([]byte, 16-len(b))...)
	}
	copy(g[:], b[:16])
	g[0], g[1], g[2], g[3] = b[3], b[2], b[1], b[0]
	g[4], g[5] = b[5], b[4]
	g[6], g[7] = b[7], b[6]
	return g
}

func toInt(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case float64:
		return int64(x), nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case string:
		s := strings.TrimSpace(x)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, nil
		}
		return 0, convErr(v, "int")
	case []byte:
		var n int64
		for _, c := range x {
			n = n<<8 | int64(c)
		}
		return n, nil
	}
	return 0, convErr(v, "int")
}

func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case int64:
		return float64(x), nil
	case float64:
		return x, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, convErr(v, "float")
		}
		return f, nil
	}
	return 0, convErr(v, "float")
}

var dateLayouts = []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02 15:04", "2006-01-02",
	"20060102 15:04:05", "20060102", "1/2/2006 15:04:05", "1/2/2006", "01/02/2006", "Jan 2 2006 3:04PM", "Jan _2 2006  3:04PM", time.RFC3339Nano}

func toTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x, nil
	case string:
		s := strings.TrimSpace(x)
		for _, l := range dateLayouts {
			if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
				return t, nil
			}
		}
		return time.Time{}, convErr(v, "datetime")
	case int64:
		return time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(x)), nil
	}
	return time.Time{}, convErr(v, "datetime")
}

func toGUID(v any) ([16]byte, error) {
	switch x := v.(type) {
	case [16]byte:
		return x, nil
	case string:
		u, err := uuid.Parse(strings.Trim(strings.TrimSpace(x), "{}"))
		if err != nil {
			return [16]byte{}, convErr(v, "uniqueidentifier")
		}
		return u, nil
	case []byte:
		return binaryToGUID(x), nil
	}
	return [16]byte{}, convErr(v, "uniqueidentifier")
}

// convert is CAST(v AS t).
func convert(v any, t tsql.Type) (any, error) {
	if v == nil {
		return nil, nil
	}
	if b, ok := v.(bool); ok {
		v = map[bool]int64{true: 1, false: 0}[b]
	}
	switch t.Name {
	case "int", "smallint", "tinyint", "bigint":
		if f, ok := v.(float64); ok {
			return int64(f), nil
		}
		if _, ok := v.(time.Time); ok {
			return nil, sqlErr(529, 16, "Explicit conversion from data type datetime to int is not allowed.")
		}
		return toInt(v)
	case "bit":
		if s, ok := v.(string); ok {
			switch strings.ToUpper(strings.TrimSpace(s)) {
			case "TRUE":
				return int64(1), nil
			case "FALSE":
				return int64(0), nil
			}
		}
		n, err := toInt(v)
		if err != nil {
			return nil, err
		}
		if n != 0 {
			n = 1
		}
		return n, nil
	case "float", "real", "decimal", "numeric", "money", "smallmoney":
		return toFloat(v)
	case "datetime", "datetime2", "smalldatetime", "date", "datetimeoffset":
		tm, err := toTime(v)
		if err != nil {
			return nil, err
		}
		if t.Name == "date" {
			tm = time.Date(tm.Year(), tm.Month(), tm.Day(), 0, 0, 0, 0, time.UTC)
		}
		return tm, nil
	case "uniqueidentifier":
		return toGUID(v)
	case "binary", "varbinary", "image":
		var b []byte
		switch x := v.(type) {
		case [16]byte:
			b = guidToBinary(x)
		case []byte:
			b = x
		case string:
			b = []byte(x)
		case int64:
			b = []byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)}
		default:
			return nil, convErr(v, t.Name)
		}
		if t.Name == "binary" && t.Len > 0 {
			out := make([]byte, t.Len)
			copy(out, b)
			return out, nil
		}
		if t.Len > 0 && len(b) > t.Len {
			b = b[:t.Len]
		}
		return b, nil
	case "sql_variant":
		return v, nil
	}
	// Character types.
	var s string
	switch x := v.(type) {
	case []byte:
		s = string(x)
	case float64:
		s = strconv.FormatFloat(x, 'g', -1, 64)
	default:
		s = toStr(v)
	}
	n := t.Len
	if n == 0 && (t.Name == "nvarchar" || t.Name == "varchar" || t.Name == "nchar" || t.Name == "char") {
		n = 30 // CAST(x AS nvarchar) without a length is nvarchar(30)
	}
	if n > 0 {
		if r := []rune(s); len(r) > n {
			s = string(r[:n])
		}
	}
	return s, nil
}

// truth turns a predicate value into true / false / unknown (ok false).
func truth(v any) (val, known bool) {
	switch x := v.(type) {
	case nil:
		return false, false
	case bool:
		return x, true
	case int64:
		return x != 0, true
	}
	return false, true
}

// compare orders a and b (both non-NULL) by T-SQL's rules: the lower-precedence side
// is converted to the other's type; strings compare case-insensitively ignoring
// trailing spaces (SQL_Latin1_General_CP1_CI_AS).
func compare(a, b any) (int, error) {
	if ab, ok := a.(bool); ok {
		a = map[bool]int64{true: 1, false: 0}[ab]
	}
	if bb, ok := b.(bool); ok {
		b = map[bool]int64{true: 1, false: 0}[bb]
	}
	switch x := a.(type) {
	case string:
		switch y := b.(type) {
		case string:
			return strings.Compare(strings.ToLower(strings.TrimRight(x, " ")), strings.ToLower(strings.TrimRight(y, " "))), nil
		default:
			c, err := compare(b, a)
			return -c, err
		}
	case int64:
		switch y := b.(type) {
		case int64:
			return cmp3(x < y, x > y), nil
		case float64:
			return cmp3(float64(x) < y, float64(x) > y), nil
		case string:
			if n, err := strconv.ParseInt(strings.TrimSpace(y), 10, 64); err == nil {
				return cmp3(x < n, x > n), nil
			}
			return 0, convErr(y, "int")
		case []byte:
			n, _ := toInt(y)
			return cmp3(x < n, x > n), nil
		case time.Time:
			t, _ := toTime(x)
			return compare(t, y)
		}
	case float64:
		f, err := toFloat(b)
		if err != nil {
			return 0, err
		}
		return cmp3(x < f, x > f), nil
	case time.Time:
		t, err := toTime(b)
		if err != nil {
			return 0, err
		}
		return cmp3(x.Before(t), x.After(t)), nil
	case [16]byte:
		g, err := toGUID(b)
		if err != nil {
			return 0, err
		}
		return bytes.Compare(x[:], g[:]), nil
	case []byte:
		switch y := b.(type) {
		case []byte:
			return bytes.Compare(x, y), nil
		case [16]byte:
			g := binaryToGUID(x)
			return bytes.Compare(g[:], y[:]), nil
		case int64:
			n, _ := toInt(x)
			return cmp3(n < y, n > y), nil
		case string:
			return bytes.Compare(x, []byte(y)), nil
		}
	}
	return 0, sqlErr(402, 16, fmt.Sprintf("The data types %s and %s are incompatible in the equal to operator.", sqlTypeName(a), sqlTypeName(b)))
}

func cmp3(lt, gt bool) int {
	switch {
	case lt:
		return -1
	case gt:
		return 1
	}
	return 0
}

// valueKey is a grouping/DISTINCT key for a value (case-insensitive for strings).
func valueKey(v any) string {
	switch x := v.(type) {
	case nil:
		return "\x00N"
	case string:
		return "s" + strings.ToLower(strings.TrimRight(x, " "))
	case int64:
		return "n" + strconv.FormatInt(x, 10)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return "n" + strconv.FormatInt(int64(x), 10)
		}
		return "f" + strconv.FormatFloat(x, 'g', -1, 64)
	case time.Time:
		return "t" + x.UTC().Format(time.RFC3339Nano)
	case [16]byte:
		return "g" + hex.EncodeToString(x[:])
	case []byte:
		return "b" + hex.EncodeToString(x)
	case bool:
		return map[bool]string{true: "n1", false: "n0"}[x]
	}
	return fmt.Sprint(v)
}
