package tds

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Day numbers of reference dates counted from 0001-01-01.
const (
	days0001To1900 = 693595
	days0001To1970 = 719162
)

// appendTypeInfo appends the TYPE_INFO of t.
func appendTypeInfo(b []byte, t wireType) []byte {
	b = append(b, t.id)
	switch t.id {
	case typeIntN, typeBitN, typeFltN, typeDateTimeN, typeGUID, typeMoneyN:
		b = append(b, byte(t.size))
	case typeDecimalN, typeNumericN:
		b = append(b, byte(t.size), t.prec, t.scale)
	case typeDateN:
	case typeTimeN, typeDateTime2N, typeDateTimeOffsetN:
		b = append(b, t.scale)
	case typeNVarChar, typeBigVarBin:
		if t.plp {
			b = appendU16(b, 0xFFFF)
		} else {
			b = appendU16(b, uint16(t.size))
		}
		if t.id == typeNVarChar {
			b = append(b, collationLatin1[:]...)
		}
	}
	return b
}

// appendNull appends the NULL representation for t.
func appendNull(b []byte, t wireType) []byte {
	switch {
	case t.plp:
		return appendU64(b, plpNull)
	case t.id == typeNVarChar || t.id == typeBigVarBin:
		return appendU16(b, 0xFFFF)
	default:
		return append(b, 0)
	}
}

// appendValue appends v encoded as t (TYPE_VARBYTE, including its length prefix).
func appendValue(b []byte, t wireType, v any) ([]byte, error) {
	if v == nil {
		return appendNull(b, t), nil
	}
	switch t.id {
	case typeNVarChar:
		s, err := toString(v)
		if err != nil {
			return b, err
		}
		if !t.plp {
			s = truncateUCS2(s, t.size/2)
			b = appendU16(b, uint16(2*ucs2Len(s)))
			return encodeUCS2(b, s), nil
		}
		return appendPLP(b, encodeUCS2(nil, s)), nil
	case typeBigVarBin:
		p, err := toBytes(v)
		if err != nil {
			return b, err
		}
		if !t.plp {
			p = p[:min(len(p), t.size)]
			b = appendU16(b, uint16(len(p)))
			return append(b, p...), nil
		}
		return appendPLP(b, p), nil
	case typeIntN:
		n, err := toInt64(v)
		if err != nil {
			return b, err
		}
		if !intFits(n, t.size) {
			return b, fmt.Errorf("arithmetic overflow converting %d to %s", n, t.name)
		}
		b = append(b, byte(t.size))
		switch t.size {
		case 1:
			return append(b, byte(n)), nil
		case 2:
			return appendU16(b, uint16(n)), nil
		case 4:
			return appendU32(b, uint32(n)), nil
		default:
			return appendU64(b, uint64(n)), nil
		}
	case typeBitN:
		x, err := toBool(v)
		if err != nil {
			return b, err
		}
		if x {
			return append(b, 1, 1), nil
		}
		return append(b, 1, 0), nil
	case typeFltN:
		f, err := toFloat(v)
		if err != nil {
			return b, err
		}
		if t.size == 4 {
			return appendU32(append(b, 4), math.Float32bits(float32(f))), nil
		}
		return appendU64(append(b, 8), math.Float64bits(f)), nil
	case typeDecimalN, typeNumericN:
		s, err := toDecimalString(v)
		if err != nil {
			return b, err
		}
		return appendDecimal(b, t, s)
	case typeDateTimeN:
		tm, err := toTime(v)
		if err != nil {
			return b, err
		}
		return appendDateTime(b, tm)
	case typeDateTime2N, typeDateN, typeDateTimeOffsetN:
		tm, err := toTime(v)
		if err != nil {
			return b, err
		}
		return appendDateTime2(b, t.id, tm), nil
	case typeGUID:
		g, err := toGUID(v)
		if err != nil {
			return b, err
		}
		b = append(b, 16)
		return append(b, guidToWire(g)...), nil
	}
	return b, fmt.Errorf("tds: cannot encode type %#x", t.id)
}

// appendPLP appends p as a PLP stream with a known length and a single chunk.
func appendPLP(b, p []byte) []byte {
	b = appendU64(b, uint64(len(p)))
	if len(p) > 0 {
		b = appendU32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return appendU32(b, 0)
}

func intFits(n int64, size int) bool {
	switch size {
	case 1:
		return n >= 0 && n <= math.MaxUint8
	case 2:
		return n >= math.MinInt16 && n <= math.MaxInt16
	case 4:
		return n >= math.MinInt32 && n <= math.MaxInt32
	}
	return true
}

// appendDateTime appends a DATETIMEN(8) value: days since 1900-01-01 and
// 1/300 second ticks since midnight, from t's wall clock.
func appendDateTime(b []byte, t time.Time) ([]byte, error) {
	if t.Year() < 1753 || t.Year() > 9999 {
		return b, fmt.Errorf("the datetime value %s is out of range", t.Format(time.RFC3339))
	}
	days := civilDays(t) - days0001To1900
	secs := t.Hour()*3600 + t.Minute()*60 + t.Second()
	ticks := int64(secs)*300 + int64(math.Round(float64(t.Nanosecond())*3/1e7))
	if ticks >= 300*86400 {
		days++
		ticks -= 300 * 86400
	}
	b = append(b, 8)
	b = appendU32(b, uint32(int32(days)))
	return appendU32(b, uint32(ticks)), nil
}

// appendDateTime2 appends a DATEN, DATETIME2N(7) or DATETIMEOFFSETN(7) value.
func appendDateTime2(b []byte, id byte, t time.Time) []byte {
	_, offset := t.Zone()
	if id == typeDateTimeOffsetN {
		t = t.UTC()
	}
	days := civilDays(t)
	ticks := (int64(t.Hour()*3600+t.Minute()*60+t.Second())*1e9 + int64(t.Nanosecond())) / 100
	switch id {
	case typeDateN:
		b = append(b, 3)
	case typeDateTime2N:
		b = append(b, 8)
	default:
		b = append(b, 10)
	}
	if id != typeDateN {
		b = append(b, byte(ticks), byte(ticks>>8), byte(ticks>>16), byte(ticks>>24), byte(ticks>>32))
	}
	b = append(b, byte(days), byte(days>>8), byte(days>>16))
	if id == typeDateTimeOffsetN {
		b = appendU16(b, uint16(int16(offset/60)))
	}
	return b
}

// civilDays returns the number of days from 0001-01-01 to t's calendar date
// (wall clock), clamped to the range of SQL Server date types.
func civilDays(t time.Time) int64 {
	y, m, d := t.Date()
	days := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()/86400 + days0001To1970
	return max(0, min(days, 3652058)) // 9999-12-31
}

// appendDecimal appends a DECIMALN value for the decimal string s, rounded to t.scale.
func appendDecimal(b []byte, t wireType, s string) ([]byte, error) {
	mant, neg, err := parseDecimal(s, t.scale)
	if err != nil {
		return b, err
	}
	if len(mant.String()) > int(t.prec) && mant.Sign() != 0 {
		return b, fmt.Errorf("arithmetic overflow converting %s to %s", s, t.name)
	}
	mag := mant.Bytes() // big-endian
	if len(mag) > t.size-1 {
		return b, fmt.Errorf("arithmetic overflow converting %s to %s", s, t.name)
	}
	b = append(b, byte(t.size))
	if neg {
		b = append(b, 0)
	} else {
		b = append(b, 1)
	}
	for i := len(mag) - 1; i >= 0; i-- {
		b = append(b, mag[i])
	}
	for i := len(mag); i < t.size-1; i++ {
		b = append(b, 0)
	}
	return b, nil
}

// parseDecimal parses "[-+]digits[.digits]" into an unsigned mantissa scaled
// to scale digits (rounding half away from zero) and a sign.
func parseDecimal(s string, scale uint8) (*big.Int, bool, error) {
	str := strings.TrimSpace(s)
	neg := false
	if str != "" && (str[0] == '-' || str[0] == '+') {
		neg = str[0] == '-'
		str = str[1:]
	}
	intPart, frac, _ := strings.Cut(str, ".")
	if intPart == "" && frac == "" || !allDigits(intPart) || !allDigits(frac) {
		return nil, false, fmt.Errorf("error converting %q to numeric", s)
	}
	roundUp := false
	if len(frac) > int(scale) {
		roundUp = frac[scale] >= '5'
		frac = frac[:scale]
	}
	frac += strings.Repeat("0", int(scale)-len(frac))
	mant, ok := new(big.Int).SetString("0"+intPart+frac, 10)
	if !ok {
		return nil, false, fmt.Errorf("error converting %q to numeric", s)
	}
	if roundUp {
		mant.Add(mant, big.NewInt(1))
	}
	if mant.Sign() == 0 {
		neg = false
	}
	return mant, neg, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// guidToWire converts a canonical (RFC 4122 order) GUID to SQL Server's
// mixed-endian wire order; the conversion is its own inverse.
func guidToWire(g [16]byte) []byte {
	return []byte{g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6],
		g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]}
}

// formatGUID formats a canonical GUID the way SQL Server prints it.
func formatGUID(g [16]byte) string {
	h := strings.ToUpper(hex.EncodeToString(g[:]))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Value conversions used when a handler's value does not match the column type.

func isTime(v any) bool {
	_, ok := v.(time.Time)
	return ok
}

func toString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	case bool:
		if x {
			return "1", nil
		}
		return "0", nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32), nil
	case time.Time:
		return x.Format("2006-01-02 15:04:05.9999999"), nil
	case [16]byte:
		return formatGUID(x), nil
	case fmt.Stringer:
		return x.String(), nil
	}
	if n, err := toInt64(v); err == nil {
		return strconv.FormatInt(n, 10), nil
	}
	if u, ok := v.(uint64); ok {
		return strconv.FormatUint(u, 10), nil
	}
	return "", fmt.Errorf("cannot convert %T to nvarchar", v)
}

func toInt64(v any) (int64, error) {
	switch x := v.(type) {
	case int:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case uint:
		return uintToInt64(uint64(x))
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint64:
		return uintToInt64(x)
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case float64:
		if math.IsNaN(x) || x < math.MinInt64 || x >= math.MaxInt64 {
			return 0, fmt.Errorf("arithmetic overflow converting %v to an integer", x)
		}
		return int64(x), nil
	case float32:
		return toInt64(float64(x))
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("conversion failed when converting the value %q to an integer", x)
		}
		return n, nil
	}
	return 0, fmt.Errorf("cannot convert %T to an integer", v)
}

func uintToInt64(u uint64) (int64, error) {
	if u > math.MaxInt64 {
		return 0, fmt.Errorf("arithmetic overflow converting %d to an integer", u)
	}
	return int64(u), nil
}

func toBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "1", "true":
			return true, nil
		case "0", "false":
			return false, nil
		}
		return false, fmt.Errorf("conversion failed when converting the value %q to bit", x)
	}
	n, err := toInt64(v)
	if err != nil {
		return false, fmt.Errorf("cannot convert %T to bit", v)
	}
	return n != 0, nil
}

func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, fmt.Errorf("error converting %q to float", x)
		}
		return f, nil
	case bool:
		return 0, fmt.Errorf("cannot convert bool to float")
	}
	n, err := toInt64(v)
	if err != nil {
		return 0, fmt.Errorf("cannot convert %T to float", v)
	}
	return float64(n), nil
}

func toBytes(v any) ([]byte, error) {
	switch x := v.(type) {
	case []byte:
		return x, nil
	case string:
		return []byte(x), nil
	case [16]byte:
		return guidToWire(x), nil
	}
	return nil, fmt.Errorf("cannot convert %T to varbinary", v)
}

func toTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x, nil
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.9999999", "2006-01-02T15:04:05.9999999", "2006-01-02"} {
			if t, err := time.Parse(layout, strings.TrimSpace(x)); err == nil {
				return t, nil
			}
		}
		return time.Time{}, fmt.Errorf("conversion failed when converting date and/or time from %q", x)
	}
	return time.Time{}, fmt.Errorf("cannot convert %T to a date/time type", v)
}

func toGUID(v any) ([16]byte, error) {
	var g [16]byte
	switch x := v.(type) {
	case [16]byte:
		return x, nil
	case []byte:
		if len(x) == 16 {
			copy(g[:], x)
			return g, nil
		}
	case string:
		h := strings.NewReplacer("-", "", "{", "", "}", "").Replace(strings.TrimSpace(x))
		if len(h) == 32 {
			if _, err := hex.Decode(g[:], []byte(h)); err == nil {
				return g, nil
			}
		}
		return g, fmt.Errorf("conversion failed when converting %q to uniqueidentifier", x)
	}
	return g, fmt.Errorf("cannot convert %T to uniqueidentifier", v)
}

func toDecimalString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), nil
	case fmt.Stringer:
		return x.String(), nil
	}
	n, err := toInt64(v)
	if err != nil {
		return "", fmt.Errorf("cannot convert %T to decimal", v)
	}
	return strconv.FormatInt(n, 10), nil
}
