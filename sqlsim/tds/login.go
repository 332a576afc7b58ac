package tds

import (
	"encoding/binary"
	"fmt"
)

// LOGIN7 option flag bits used by the server.
const (
	optFlags2IntSecurity byte = 0x80
	optFlags3Extension   byte = 0x10
)

// Federated authentication libraries.
const (
	fedAuthLibSecurityToken byte = 0x01
	fedAuthLibADAL          byte = 0x02
)

// login7FixedLen is the size of the fixed part of LOGIN7 (TDS 7.2+).
const login7FixedLen = 94

// login7 is a decoded LOGIN7 message.
type login7 struct {
	tdsVersion   uint32
	packetSize   uint32
	optionFlags2 byte
	optionFlags3 byte

	hostName, userName, password, appName, serverName, ctlIntName, language, database string

	sspi     []byte
	features []feature // FeatureExt entries in the order sent
	fedAuth  *fedAuthFeature
}

// feature is one FeatureExt entry.
type feature struct {
	id   byte
	data []byte
}

// fedAuthFeature is the FEDAUTH feature extension.
type fedAuthFeature struct {
	library  byte
	echo     bool
	token    string // security-token library
	nonce    []byte
	workflow byte // ADAL library
}

// parseLogin7 decodes a LOGIN7 payload. Strings are located through the
// offset/length table of the fixed part, all bounds-checked.
func parseLogin7(b []byte) (*login7, error) {
	if len(b) < login7FixedLen {
		return nil, fmt.Errorf("tds: LOGIN7 too short (%d bytes)", len(b))
	}
	le := binary.LittleEndian
	l := &login7{
		tdsVersion:   le.Uint32(b[4:]),
		packetSize:   le.Uint32(b[8:]),
		optionFlags2: b[25],
		optionFlags3: b[27],
	}
	str := func(pos int, mangled bool) (string, error) {
		off, n := int(le.Uint16(b[pos:])), int(le.Uint16(b[pos+2:]))
		if n == 0 {
			return "", nil
		}
		if off+2*n > len(b) {
			return "", fmt.Errorf("tds: LOGIN7 field at %d points outside the message", pos)
		}
		raw := b[off : off+2*n]
		if mangled {
			raw = unmanglePassword(raw)
		}
		return decodeUCS2(raw)
	}
	fields := []struct {
		pos     int
		dst     *string
		mangled bool
	}{
		{36, &l.hostName, false},
		{40, &l.userName, false},
		{44, &l.password, true},
		{48, &l.appName, false},
		{52, &l.serverName, false},
		{60, &l.ctlIntName, false},
		{64, &l.language, false},
		{68, &l.database, false},
	}
	for _, f := range fields {
		s, err := str(f.pos, f.mangled)
		if err != nil {
			return nil, err
		}
		*f.dst = s
	}
	if off, n := int(le.Uint16(b[78:])), int(le.Uint16(b[80:])); n > 0 {
		if n == 0xFFFF {
			n = int(le.Uint32(b[90:])) // SSPILong
		}
		if off+n > len(b) {
			return nil, fmt.Errorf("tds: LOGIN7 SSPI data points outside the message")
		}
		l.sspi = b[off : off+n]
	}
	if l.optionFlags3&optFlags3Extension != 0 {
		if err := l.parseFeatureExt(b); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// unmanglePassword reverses the LOGIN7 password obfuscation: XOR with 0xA5,
// then swap the two nibbles of every byte.
func unmanglePassword(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		c ^= 0xA5
		out[i] = c<<4 | c>>4
	}
	return out
}

// parseFeatureExt follows ibExtension to the FeatureExt block and decodes it.
func (l *login7) parseFeatureExt(b []byte) error {
	le := binary.LittleEndian
	off, n := int(le.Uint16(b[56:])), int(le.Uint16(b[58:]))
	if n < 4 || off+4 > len(b) {
		return fmt.Errorf("tds: LOGIN7 extension pointer is invalid")
	}
	start := int(le.Uint32(b[off:]))
	if start < login7FixedLen || start > len(b) {
		return fmt.Errorf("tds: LOGIN7 FeatureExt offset %d is invalid", start)
	}
	r := &reader{b: b[start:]}
	for {
		id, err := r.u8()
		if err != nil {
			return fmt.Errorf("tds: FeatureExt is not terminated: %w", err)
		}
		if id == featTerminator {
			return nil
		}
		size, err := r.u32()
		if err != nil {
			return fmt.Errorf("tds: reading feature %#x: %w", id, err)
		}
		if int64(size) > int64(r.remaining()) {
			return fmt.Errorf("tds: feature %#x length %d exceeds the message", id, size)
		}
		data, _ := r.next(int(size))
		l.features = append(l.features, feature{id: id, data: data})
		if id == featFedAuth {
			fa, err := parseFedAuthFeature(data)
			if err != nil {
				return err
			}
			l.fedAuth = fa
		}
	}
}

// parseFedAuthFeature decodes FEDAUTH feature data.
func parseFedAuthFeature(d []byte) (*fedAuthFeature, error) {
	if len(d) < 1 {
		return nil, fmt.Errorf("tds: empty FEDAUTH feature")
	}
	fa := &fedAuthFeature{library: d[0] >> 1, echo: d[0]&1 != 0}
	r := &reader{b: d[1:]}
	switch fa.library {
	case fedAuthLibSecurityToken:
		n, err := r.u32()
		if err != nil {
			return nil, fmt.Errorf("tds: FEDAUTH token length: %w", err)
		}
		raw, err := r.next(int(n & 0x7FFFFFFF))
		if err != nil || n > 0x7FFFFFFF {
			return nil, fmt.Errorf("tds: FEDAUTH token exceeds the feature data")
		}
		if fa.token, err = decodeUCS2(raw); err != nil {
			return nil, err
		}
		if r.remaining() >= 32 {
			fa.nonce, _ = r.next(32)
		}
	case fedAuthLibADAL:
		w, err := r.u8()
		if err != nil {
			return nil, fmt.Errorf("tds: FEDAUTH workflow: %w", err)
		}
		fa.workflow = w
	default:
		return nil, fmt.Errorf("tds: unsupported federated authentication library %d", fa.library)
	}
	return fa, nil
}

// parseFedAuthToken decodes a FEDAUTH_TOKEN message (packet type 0x08):
// DataLen, TokenLen, the UTF-16 token and an optional nonce.
func parseFedAuthToken(b []byte) (token string, err error) {
	r := &reader{b: b}
	dataLen, err := r.u32()
	if err != nil {
		return "", err
	}
	if int64(dataLen) > int64(r.remaining()) {
		return "", fmt.Errorf("tds: FEDAUTH_TOKEN length %d exceeds the message", dataLen)
	}
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	if int64(n) > int64(dataLen)-4 {
		return "", fmt.Errorf("tds: FEDAUTH_TOKEN token length %d is invalid", n)
	}
	raw, err := r.next(int(n))
	if err != nil {
		return "", err
	}
	return decodeUCS2(raw)
}

// negotiatePacketSize clamps the client's request to the supported range;
// zero asks for the server default.
func negotiatePacketSize(req uint32) int {
	switch {
	case req == 0:
		return defaultPacketSize
	case req < minPacketSize:
		return minPacketSize
	case req > maxPacketSize:
		return maxPacketSize
	}
	return int(req)
}

// ackVersion is the TDS version announced in LOGINACK: the client's version,
// capped at 7.4. ok is false for versions older than 7.2.
func ackVersion(client uint32) (v uint32, ok bool) {
	const verTDS74 = 0x74000004
	switch {
	case client >= verTDS74:
		return verTDS74, true
	case client >= verTDS72:
		return client, true
	}
	return 0, false
}
