package tds

import (
	"fmt"
	"strconv"
	"strings"
)

// TDS data type identifiers (MS-TDS 2.2.5.4).
const (
	typeNull            byte = 0x1F
	typeInt1            byte = 0x30
	typeBit             byte = 0x32
	typeInt2            byte = 0x34
	typeInt4            byte = 0x38
	typeDateTim4        byte = 0x3A
	typeFlt4            byte = 0x3B
	typeMoney           byte = 0x3C
	typeDateTime        byte = 0x3D
	typeFlt8            byte = 0x3E
	typeMoney4          byte = 0x7A
	typeInt8            byte = 0x7F
	typeGUID            byte = 0x24
	typeIntN            byte = 0x26
	typeDecimal         byte = 0x37
	typeNumeric         byte = 0x3F
	typeBitN            byte = 0x68
	typeDecimalN        byte = 0x6A
	typeNumericN        byte = 0x6C
	typeFltN            byte = 0x6D
	typeMoneyN          byte = 0x6E
	typeDateTimeN       byte = 0x6F
	typeDateN           byte = 0x28
	typeTimeN           byte = 0x29
	typeDateTime2N      byte = 0x2A
	typeDateTimeOffsetN byte = 0x2B
	typeChar            byte = 0x2F
	typeVarChar         byte = 0x27
	typeBinary          byte = 0x2D
	typeVarBinary       byte = 0x25
	typeBigVarBin       byte = 0xA5
	typeBigVarChar      byte = 0xA7
	typeBigBinary       byte = 0xAD
	typeBigChar         byte = 0xAF
	typeNVarChar        byte = 0xE7
	typeNChar           byte = 0xEF
	typeXML             byte = 0xF1
	typeUDT             byte = 0xF0
	typeTVP             byte = 0xF3
	typeText            byte = 0x23
	typeImage           byte = 0x22
	typeNText           byte = 0x63
	typeVariant         byte = 0x62
)

// PLP (partially length-prefixed) markers.
const (
	plpNull    uint64 = 0xFFFFFFFFFFFFFFFF
	plpUnknown uint64 = 0xFFFFFFFFFFFFFFFE
)

// collationLatin1 is SQL_Latin1_General_CP1_CI_AS: LCID 0x0409, flags 0xD0, sort id 52.
var collationLatin1 = [5]byte{0x09, 0x04, 0xD0, 0x00, 0x34}

// ColType is the SQL type of a result column.
type ColType int

// Result column types. Every type is sent as its nullable TDS variant
// (INTN, BITN, FLTN, DATETIMEN, ...), as SQL Server does for nullable columns.
const (
	NVarChar         ColType = iota + 1 // nvarchar(Size); Size 0 means 4000, MaxSize means nvarchar(max)
	VarBinary                           // varbinary(Size); Size 0 means 8000, MaxSize means varbinary(max)
	TinyInt                             // tinyint (0..255)
	SmallInt                            // smallint
	Int                                 // int
	BigInt                              // bigint
	Bit                                 // bit
	Float                               // float (8 bytes)
	Real                                // real (4 bytes)
	Decimal                             // decimal(Precision, Scale); Precision 0 means 18
	DateTime                            // datetime (DATETIMEN, 8 bytes, 1/300 s precision)
	DateTime2                           // datetime2(7)
	DateTimeOffset                      // datetimeoffset(7)
	Date                                // date
	UniqueIdentifier                    // uniqueidentifier; values are [16]byte in RFC 4122 order
)

// MaxSize as Column.Size selects nvarchar(max) or varbinary(max).
const MaxSize = -1

// Column describes one result-set column.
type Column struct {
	Name string
	Type ColType
	// Size is the declared length: characters for NVarChar (1..4000, 0 for
	// 4000), bytes for VarBinary (1..8000, 0 for 8000), or MaxSize. Longer
	// values are truncated to the declared length, as SQL Server does when
	// converting to nvarchar(n)/varbinary(n); use MaxSize to avoid it.
	Size     int
	Nullable bool
	// Precision and Scale apply to Decimal.
	Precision, Scale uint8
}

// String returns the SQL name of the type.
func (t ColType) String() string {
	switch t {
	case NVarChar:
		return "nvarchar"
	case VarBinary:
		return "varbinary"
	case TinyInt:
		return "tinyint"
	case SmallInt:
		return "smallint"
	case Int:
		return "int"
	case BigInt:
		return "bigint"
	case Bit:
		return "bit"
	case Float:
		return "float"
	case Real:
		return "real"
	case Decimal:
		return "decimal"
	case DateTime:
		return "datetime"
	case DateTime2:
		return "datetime2"
	case DateTimeOffset:
		return "datetimeoffset"
	case Date:
		return "date"
	case UniqueIdentifier:
		return "uniqueidentifier"
	}
	return fmt.Sprintf("ColType(%d)", int(t))
}

// wireType is a fully resolved TDS TYPE_INFO for values the server sends.
type wireType struct {
	id    byte
	size  int  // byte length for fixed-size N types, maximum length for var types
	plp   bool // (max) type, sent as a partially length-prefixed stream
	prec  uint8
	scale uint8
	name  string // SQL type name, for error messages
}

// decimalSize returns the storage size (sign byte included) for a precision.
func decimalSize(prec uint8) int {
	switch {
	case prec <= 9:
		return 5
	case prec <= 19:
		return 9
	case prec <= 28:
		return 13
	default:
		return 17
	}
}

// columnWire maps a Column to its TDS type.
func columnWire(c Column) (wireType, error) {
	switch c.Type {
	case NVarChar:
		switch {
		case c.Size == MaxSize:
			return wireType{id: typeNVarChar, plp: true, name: "nvarchar(max)"}, nil
		case c.Size == 0:
			return wireType{id: typeNVarChar, size: 8000, name: "nvarchar(4000)"}, nil
		case c.Size > 0 && c.Size <= 4000:
			return wireType{id: typeNVarChar, size: 2 * c.Size, name: fmt.Sprintf("nvarchar(%d)", c.Size)}, nil
		}
	case VarBinary:
		switch {
		case c.Size == MaxSize:
			return wireType{id: typeBigVarBin, plp: true, name: "varbinary(max)"}, nil
		case c.Size == 0:
			return wireType{id: typeBigVarBin, size: 8000, name: "varbinary(8000)"}, nil
		case c.Size > 0 && c.Size <= 8000:
			return wireType{id: typeBigVarBin, size: c.Size, name: fmt.Sprintf("varbinary(%d)", c.Size)}, nil
		}
	case TinyInt:
		return wireType{id: typeIntN, size: 1, name: "tinyint"}, nil
	case SmallInt:
		return wireType{id: typeIntN, size: 2, name: "smallint"}, nil
	case Int:
		return wireType{id: typeIntN, size: 4, name: "int"}, nil
	case BigInt:
		return wireType{id: typeIntN, size: 8, name: "bigint"}, nil
	case Bit:
		return wireType{id: typeBitN, size: 1, name: "bit"}, nil
	case Float:
		return wireType{id: typeFltN, size: 8, name: "float"}, nil
	case Real:
		return wireType{id: typeFltN, size: 4, name: "real"}, nil
	case Decimal:
		prec, scale := c.Precision, c.Scale
		if prec == 0 {
			prec = 18
		}
		if prec > 38 || scale > prec {
			return wireType{}, fmt.Errorf("tds: column %q: invalid decimal(%d, %d)", c.Name, prec, scale)
		}
		return wireType{id: typeDecimalN, size: decimalSize(prec), prec: prec, scale: scale,
			name: fmt.Sprintf("decimal(%d, %d)", prec, scale)}, nil
	case DateTime:
		return wireType{id: typeDateTimeN, size: 8, name: "datetime"}, nil
	case DateTime2:
		return wireType{id: typeDateTime2N, size: 8, scale: 7, name: "datetime2"}, nil
	case DateTimeOffset:
		return wireType{id: typeDateTimeOffsetN, size: 10, scale: 7, name: "datetimeoffset"}, nil
	case Date:
		return wireType{id: typeDateN, size: 3, name: "date"}, nil
	case UniqueIdentifier:
		return wireType{id: typeGUID, size: 16, name: "uniqueidentifier"}, nil
	default:
		return wireType{}, fmt.Errorf("tds: column %q: unknown column type %d", c.Name, int(c.Type))
	}
	return wireType{}, fmt.Errorf("tds: column %q: invalid size %d for %s", c.Name, c.Size, c.Type)
}

// paramWire chooses the TDS type of a RETURNVALUE from the parameter's
// TypeName, or from its Go value when TypeName is empty or unknown.
func paramWire(p Param) (wireType, error) {
	base, arg := splitTypeName(p.TypeName)
	col := Column{Name: p.Name}
	switch base {
	case "nvarchar", "nchar", "varchar", "char", "ntext", "text", "xml", "sysname":
		col.Type = NVarChar
	case "varbinary", "binary", "image", "timestamp", "rowversion":
		col.Type = VarBinary
	case "tinyint":
		col.Type = TinyInt
	case "smallint":
		col.Type = SmallInt
	case "int":
		col.Type = Int
	case "bigint":
		col.Type = BigInt
	case "bit":
		col.Type = Bit
	case "float":
		col.Type = Float
	case "real":
		col.Type = Real
	case "decimal", "numeric", "money", "smallmoney":
		return decimalParamWire(p.Value, arg)
	case "datetime", "smalldatetime":
		col.Type = DateTime
	case "datetime2", "time":
		col.Type = DateTime2
	case "datetimeoffset":
		col.Type = DateTimeOffset
	case "date":
		col.Type = Date
	case "uniqueidentifier":
		col.Type = UniqueIdentifier
	default:
		col.Type = inferColType(p.Value)
	}
	if col.Type == NVarChar || col.Type == VarBinary {
		// Output parameters are sent as (max) when they do not fit the
		// short form, so that nothing is truncated.
		limit := 4000
		if col.Type == VarBinary {
			limit = 8000
		}
		if valueLen(p.Value) > limit || arg == "max" {
			col.Size = MaxSize
		}
	}
	return columnWire(col)
}

// decimalParamWire picks decimal(38, s) where s is the scale of the value (or
// of the declared type when the value is NULL).
func decimalParamWire(v any, arg string) (wireType, error) {
	var scale uint8
	if v != nil {
		s, err := toDecimalString(v)
		if err != nil {
			return wireType{}, err
		}
		if i := strings.IndexByte(s, '.'); i >= 0 {
			scale = uint8(min(len(s)-i-1, 38))
		}
	} else if _, after, ok := strings.Cut(arg, ","); ok {
		if n, err := strconv.Atoi(strings.TrimSpace(after)); err == nil && n >= 0 && n <= 38 {
			scale = uint8(n)
		}
	}
	return columnWire(Column{Type: Decimal, Precision: 38, Scale: scale})
}

// splitTypeName splits "nvarchar(max)" into ("nvarchar", "max").
func splitTypeName(s string) (base, arg string) {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.IndexByte(s, '('); i >= 0 {
		arg = strings.TrimSpace(strings.TrimSuffix(s[i+1:], ")"))
		s = s[:i]
	}
	return strings.TrimSpace(s), arg
}

// inferColType picks a column type for a Go value.
func inferColType(v any) ColType {
	switch v.(type) {
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return BigInt
	case bool:
		return Bit
	case float32, float64:
		return Float
	case []byte:
		return VarBinary
	case [16]byte:
		return UniqueIdentifier
	default:
		if isTime(v) {
			return DateTime2
		}
		return NVarChar
	}
}

// valueLen returns the length of a string (UTF-16 units) or []byte value.
func valueLen(v any) int {
	switch x := v.(type) {
	case string:
		return ucs2Len(x)
	case []byte:
		return len(x)
	}
	return 0
}
