package tds

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"
)

// errShort is returned when a message ends before a structure it announces.
var errShort = errors.New("tds: message is truncated")

// reader decodes little-endian TDS structures from a byte slice. Every method
// checks bounds and reports errShort instead of panicking.
type reader struct {
	b   []byte
	off int
}

// remaining returns the number of unread bytes.
func (r *reader) remaining() int { return len(r.b) - r.off }

// next consumes n bytes and returns them without copying.
func (r *reader) next(n int) ([]byte, error) {
	if n < 0 || n > r.remaining() {
		return nil, errShort
	}
	b := r.b[r.off : r.off+n]
	r.off += n
	return b, nil
}

func (r *reader) u8() (byte, error) {
	b, err := r.next(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (r *reader) peek() (byte, bool) {
	if r.remaining() < 1 {
		return 0, false
	}
	return r.b[r.off], true
}

func (r *reader) u16() (uint16, error) {
	b, err := r.next(2)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(b), nil
}

func (r *reader) u32() (uint32, error) {
	b, err := r.next(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (r *reader) u64() (uint64, error) {
	b, err := r.next(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// ucs2 reads n UTF-16 code units and converts them to a Go string.
func (r *reader) ucs2(n int) (string, error) {
	b, err := r.next(2 * n)
	if err != nil {
		return "", err
	}
	return decodeUCS2(b)
}

// bVarChar reads a B_VARCHAR (byte length in characters, then UTF-16LE).
func (r *reader) bVarChar() (string, error) {
	n, err := r.u8()
	if err != nil {
		return "", err
	}
	return r.ucs2(int(n))
}

// usVarChar reads a US_VARCHAR (ushort length in characters, then UTF-16LE).
func (r *reader) usVarChar() (string, error) {
	n, err := r.u16()
	if err != nil {
		return "", err
	}
	return r.ucs2(int(n))
}

// skipAllHeaders skips the ALL_HEADERS block that starts SQLBatch, RPC and
// transaction-manager requests in TDS 7.2 and later.
func (r *reader) skipAllHeaders() error {
	total, err := r.u32()
	if err != nil {
		return fmt.Errorf("tds: reading ALL_HEADERS length: %w", err)
	}
	if total < 4 || int64(total)-4 > int64(r.remaining()) {
		return fmt.Errorf("tds: invalid ALL_HEADERS length %d", total)
	}
	_, err = r.next(int(total) - 4)
	return err
}

// decodeUCS2 converts UTF-16LE bytes to a string; unpaired surrogates become U+FFFD.
func decodeUCS2(b []byte) (string, error) {
	if len(b)%2 != 0 {
		return "", fmt.Errorf("tds: odd UTF-16 byte length %d", len(b))
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u)), nil
}

// encodeUCS2 appends s as UTF-16LE to b.
func encodeUCS2(b []byte, s string) []byte {
	var tmp [2]uint16
	for _, r := range s {
		for _, c := range utf16.AppendRune(tmp[:0], r) {
			b = append(b, byte(c), byte(c>>8))
		}
	}
	return b
}

// runeUnits is the number of UTF-16 code units for a rune obtained by ranging
// over a string (such runes are always valid scalar values).
func runeUnits(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

// ucs2Len returns the number of UTF-16 code units needed for s.
func ucs2Len(s string) int {
	n := 0
	for _, r := range s {
		n += runeUnits(r)
	}
	return n
}

// truncateUCS2 shortens s to at most max UTF-16 code units without splitting
// a surrogate pair.
func truncateUCS2(s string, max int) string {
	n := 0
	for i, r := range s {
		l := runeUnits(r)
		if n+l > max {
			return s[:i]
		}
		n += l
	}
	return s
}

// Little-endian append helpers used to build tokens.

func appendU16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }
func appendU32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }
func appendU64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }

// appendBVarChar appends a B_VARCHAR, truncating s to 255 UTF-16 code units.
func appendBVarChar(b []byte, s string) []byte {
	s = truncateUCS2(s, 0xFF)
	b = append(b, byte(ucs2Len(s)))
	return encodeUCS2(b, s)
}

// appendUSVarChar appends a US_VARCHAR, truncating s to maxChars UTF-16 code units.
func appendUSVarChar(b []byte, s string, maxChars int) []byte {
	s = truncateUCS2(s, maxChars)
	b = appendU16(b, uint16(ucs2Len(s)))
	return encodeUCS2(b, s)
}

// appendBVarByte appends a B_VARBYTE (byte length, then the bytes).
func appendBVarByte(b []byte, v []byte) []byte {
	if len(v) > 0xFF {
		v = v[:0xFF]
	}
	b = append(b, byte(len(v)))
	return append(b, v...)
}
