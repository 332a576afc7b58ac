package tds

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"
	"unicode/utf8"
)

// typeInfo is a TYPE_INFO received from a client (RPC parameters).
type typeInfo struct {
	id    byte
	size  int // declared length (bytes) for var types, value size for N types
	plp   bool
	prec  uint8
	scale uint8
}

// readTypeInfo decodes a TYPE_INFO.
func readTypeInfo(r *reader) (typeInfo, error) {
	id, err := r.u8()
	if err != nil {
		return typeInfo{}, err
	}
	ti := typeInfo{id: id}
	switch id {
	case typeNull:
	case typeInt1, typeBit:
		ti.size = 1
	case typeInt2:
		ti.size = 2
	case typeInt4, typeDateTim4, typeFlt4, typeMoney4:
		ti.size = 4
	case typeMoney, typeDateTime, typeFlt8, typeInt8:
		ti.size = 8
	case typeGUID, typeIntN, typeBitN, typeFltN, typeMoneyN, typeDateTimeN,
		typeChar, typeVarChar, typeBinary, typeVarBinary:
		n, err := r.u8()
		if err != nil {
			return ti, err
		}
		ti.size = int(n)
	case typeDecimal, typeNumeric, typeDecimalN, typeNumericN:
		b, err := r.next(3)
		if err != nil {
			return ti, err
		}
		ti.size, ti.prec, ti.scale = int(b[0]), b[1], b[2]
		if ti.prec == 0 || ti.prec > 38 || ti.scale > ti.prec {
			return ti, fmt.Errorf("tds: invalid decimal precision %d / scale %d", ti.prec, ti.scale)
		}
	case typeDateN:
		ti.size = 3
	case typeTimeN, typeDateTime2N, typeDateTimeOffsetN:
		if ti.scale, err = r.u8(); err != nil {
			return ti, err
		}
		if ti.scale > 7 {
			return ti, fmt.Errorf("tds: invalid time scale %d", ti.scale)
		}
	case typeBigVarBin, typeBigBinary, typeBigVarChar, typeBigChar, typeNVarChar, typeNChar:
		n, err := r.u16()
		if err != nil {
			return ti, err
		}
		ti.size, ti.plp = int(n), n == 0xFFFF
		if id == typeBigVarChar || id == typeBigChar || id == typeNVarChar || id == typeNChar {
			if _, err := r.next(5); err != nil { // collation
				return ti, err
			}
		}
	case typeXML:
		present, err := r.u8()
		if err != nil {
			return ti, err
		}
		if present != 0 {
			if _, err := r.bVarChar(); err != nil { // database
				return ti, err
			}
			if _, err := r.bVarChar(); err != nil { // owning schema
				return ti, err
			}
			if _, err := r.usVarChar(); err != nil { // schema collection
				return ti, err
			}
		}
		ti.plp = true
	case typeText, typeNText, typeImage:
		n, err := r.u32()
		if err != nil {
			return ti, err
		}
		ti.size = int(n & math.MaxInt32)
		if id != typeImage {
			if _, err := r.next(5); err != nil { // collation
				return ti, err
			}
		}
	default:
		return ti, fmt.Errorf("tds: unsupported parameter type %#x", id)
	}
	return ti, nil
}

// name returns the SQL type name for a received TYPE_INFO.
func (ti typeInfo) name() string {
	switch ti.id {
	case typeNull:
		return ""
	case typeInt1:
		return "tinyint"
	case typeBit, typeBitN:
		return "bit"
	case typeInt2:
		return "smallint"
	case typeInt4:
		return "int"
	case typeInt8:
		return "bigint"
	case typeIntN:
		switch ti.size {
		case 1:
			return "tinyint"
		case 2:
			return "smallint"
		case 4:
			return "int"
		}
		return "bigint"
	case typeFlt4:
		return "real"
	case typeFlt8:
		return "float"
	case typeFltN:
		if ti.size == 4 {
			return "real"
		}
		return "float"
	case typeMoney:
		return "money"
	case typeMoney4:
		return "smallmoney"
	case typeMoneyN:
		if ti.size == 4 {
			return "smallmoney"
		}
		return "money"
	case typeDateTim4:
		return "smalldatetime"
	case typeDateTime:
		return "datetime"
	case typeDateTimeN:
		if ti.size == 4 {
			return "smalldatetime"
		}
		return "datetime"
	case typeDateN:
		return "date"
	case typeTimeN:
		return "time"
	case typeDateTime2N:
		return "datetime2"
	case typeDateTimeOffsetN:
		return "datetimeoffset"
	case typeGUID:
		return "uniqueidentifier"
	case typeDecimal, typeDecimalN:
		return "decimal"
	case typeNumeric, typeNumericN:
		return "numeric"
	case typeChar, typeBigChar:
		return "char"
	case typeVarChar, typeBigVarChar:
		return "varchar"
	case typeNChar:
		return "nchar"
	case typeNVarChar:
		return "nvarchar"
	case typeBinary, typeBigBinary:
		return "binary"
	case typeVarBinary, typeBigVarBin:
		return "varbinary"
	case typeXML:
		return "xml"
	case typeText:
		return "text"
	case typeNText:
		return "ntext"
	case typeImage:
		return "image"
	}
	return fmt.Sprintf("type%#x", ti.id)
}

// readValue decodes one parameter value of type ti (see Param for the Go types).
func readValue(r *reader, ti typeInfo) (any, error) {
	var raw []byte
	switch {
	case ti.id == typeNull:
		return nil, nil
	case isFixedType(ti.id):
		b, err := r.next(ti.size)
		if err != nil {
			return nil, err
		}
		raw = b
	case ti.plp:
		b, isNull, err := readPLP(r)
		if err != nil || isNull {
			return nil, err
		}
		raw = b
	case ti.id == typeBigVarBin || ti.id == typeBigBinary || ti.id == typeBigVarChar ||
		ti.id == typeBigChar || ti.id == typeNVarChar || ti.id == typeNChar:
		n, err := r.u16()
		if err != nil {
			return nil, err
		}
		if n == 0xFFFF {
			return nil, nil
		}
		if raw, err = r.next(int(n)); err != nil {
			return nil, err
		}
	case ti.id == typeText || ti.id == typeNText || ti.id == typeImage:
		n, err := r.u32()
		if err != nil {
			return nil, err
		}
		if n == 0xFFFFFFFF {
			return nil, nil
		}
		if raw, err = r.next(int(n & math.MaxInt32)); err != nil {
			return nil, err
		}
	default: // BYTELEN types: a zero length is NULL
		n, err := r.u8()
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, nil
		}
		if raw, err = r.next(int(n)); err != nil {
			return nil, err
		}
	}
	return convertValue(ti, raw)
}

func isFixedType(id byte) bool {
	switch id {
	case typeInt1, typeBit, typeInt2, typeInt4, typeDateTim4, typeFlt4, typeMoney,
		typeDateTime, typeFlt8, typeMoney4, typeInt8:
		return true
	}
	return false
}

// readPLP reads a PLP stream; isNull reports PLP_NULL.
func readPLP(r *reader) (data []byte, isNull bool, err error) {
	total, err := r.u64()
	if err != nil {
		return nil, false, err
	}
	if total == plpNull {
		return nil, true, nil
	}
	if total != plpUnknown && total > uint64(r.remaining()) {
		return nil, false, fmt.Errorf("tds: PLP length %d exceeds the message", total)
	}
	data = []byte{}
	for {
		n, err := r.u32()
		if err != nil {
			return nil, false, err
		}
		if n == 0 {
			return data, false, nil
		}
		chunk, err := r.next(int(n & math.MaxInt32))
		if err != nil || n > math.MaxInt32 {
			return nil, false, errShort
		}
		data = append(data, chunk...)
	}
}

// convertValue turns raw value bytes into the Go value documented on Param.
func convertValue(ti typeInfo, b []byte) (any, error) {
	bad := func() (any, error) {
		return nil, fmt.Errorf("tds: invalid %d-byte value for %s", len(b), ti.name())
	}
	switch ti.id {
	case typeInt1, typeInt2, typeInt4, typeInt8, typeIntN:
		switch len(b) {
		case 1:
			return int64(b[0]), nil
		case 2:
			return int64(int16(binary.LittleEndian.Uint16(b))), nil
		case 4:
			return int64(int32(binary.LittleEndian.Uint32(b))), nil
		case 8:
			return int64(binary.LittleEndian.Uint64(b)), nil
		}
	case typeBit, typeBitN:
		if len(b) == 1 {
			return b[0] != 0, nil
		}
	case typeFlt4, typeFlt8, typeFltN:
		switch len(b) {
		case 4:
			return float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), nil
		case 8:
			return math.Float64frombits(binary.LittleEndian.Uint64(b)), nil
		}
	case typeMoney, typeMoney4, typeMoneyN:
		switch len(b) {
		case 4:
			return scaledString(big.NewInt(int64(int32(binary.LittleEndian.Uint32(b)))), 4), nil
		case 8:
			v := int64(binary.LittleEndian.Uint32(b))<<32 | int64(binary.LittleEndian.Uint32(b[4:]))
			return scaledString(big.NewInt(v), 4), nil
		}
	case typeDateTim4, typeDateTime, typeDateTimeN:
		switch len(b) {
		case 4:
			days, mins := binary.LittleEndian.Uint16(b), binary.LittleEndian.Uint16(b[2:])
			return time.Date(1900, 1, 1+int(days), 0, int(mins), 0, 0, time.UTC), nil
		case 8:
			days := int32(binary.LittleEndian.Uint32(b))
			ticks := int64(binary.LittleEndian.Uint32(b[4:]))
			ns := (ticks*1e9 + 150) / 300
			return time.Date(1900, 1, 1+int(days), 0, 0, 0, 0, time.UTC).Add(time.Duration(ns)), nil
		}
	case typeDateN:
		if len(b) == 3 {
			return dateFromDays(b), nil
		}
	case typeTimeN, typeDateTime2N, typeDateTimeOffsetN:
		return decodeTimeFamily(ti, b)
	case typeGUID:
		if len(b) == 16 {
			var g [16]byte
			copy(g[:], guidToWire([16]byte(b)))
			return g, nil
		}
	case typeDecimal, typeNumeric, typeDecimalN, typeNumericN:
		if len(b) >= 2 {
			mag := make([]byte, len(b)-1)
			for i := range mag {
				mag[i] = b[len(b)-1-i]
			}
			v := new(big.Int).SetBytes(mag)
			if b[0] == 0 {
				v.Neg(v)
			}
			return scaledString(v, int(ti.scale)), nil
		}
	case typeNVarChar, typeNChar, typeNText, typeXML:
		return decodeUCS2(b)
	case typeBigVarChar, typeBigChar, typeVarChar, typeChar, typeText:
		return decodeSingleByte(b), nil
	case typeBigVarBin, typeBigBinary, typeVarBinary, typeBinary, typeImage:
		return append([]byte{}, b...), nil
	}
	return bad()
}

// timeTicks returns the number of 100ns units in a TIME value of the given scale.
func timeTicks(b []byte, scale uint8) int64 {
	var v int64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | int64(b[i])
	}
	for s := scale; s < 7; s++ {
		v *= 10
	}
	return v
}

func timeLen(scale uint8) int {
	switch {
	case scale <= 2:
		return 3
	case scale <= 4:
		return 4
	}
	return 5
}

func dateFromDays(b []byte) time.Time {
	days := int(b[0]) | int(b[1])<<8 | int(b[2])<<16
	return time.Date(1, 1, 1+days, 0, 0, 0, 0, time.UTC)
}

// decodeTimeFamily decodes TIMEN, DATETIME2N and DATETIMEOFFSETN values.
func decodeTimeFamily(ti typeInfo, b []byte) (any, error) {
	tl := timeLen(ti.scale)
	want := tl
	switch ti.id {
	case typeDateTime2N:
		want += 3
	case typeDateTimeOffsetN:
		want += 5
	}
	if len(b) != want {
		return nil, fmt.Errorf("tds: invalid %d-byte value for %s(%d)", len(b), ti.name(), ti.scale)
	}
	ticks := timeTicks(b[:tl], ti.scale)
	if ticks >= 864_000_000_000 {
		return nil, fmt.Errorf("tds: time of day out of range in %s value", ti.name())
	}
	day := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	if ti.id != typeTimeN {
		day = dateFromDays(b[tl : tl+3])
	}
	t := day.Add(time.Duration(ticks) * 100)
	if ti.id == typeDateTimeOffsetN {
		off := int(int16(binary.LittleEndian.Uint16(b[tl+3:])))
		if off < -14*60 || off > 14*60 {
			return nil, fmt.Errorf("tds: invalid time zone offset %d minutes", off)
		}
		t = t.In(time.FixedZone("", off*60))
	}
	return t, nil
}

// scaledString formats v / 10^scale as a decimal string.
func scaledString(v *big.Int, scale int) string {
	s := new(big.Int).Abs(v).String()
	neg := v.Sign() < 0
	if scale > 0 {
		if len(s) <= scale {
			s = strings.Repeat("0", scale-len(s)+1) + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// cp1252High maps bytes 0x80..0x9F of Windows-1252 to Unicode.
var cp1252High = [32]rune{
	'€', '\uFFFD', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\uFFFD', 'Ž', '\uFFFD',
	'\uFFFD', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\uFFFD', 'ž', 'Ÿ',
}

// decodeSingleByte decodes varchar data: valid UTF-8 is kept as is (UTF-8
// collations), anything else is read as Windows-1252, the code page of the
// server's default collation.
func decodeSingleByte(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/2)
	for _, c := range b {
		switch {
		case c >= 0x80 && c < 0xA0:
			sb.WriteRune(cp1252High[c-0x80])
		default:
			sb.WriteRune(rune(c))
		}
	}
	return sb.String()
}
