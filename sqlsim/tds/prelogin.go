package tds

import (
	"encoding/binary"
	"fmt"
	"sort"
)

// PRELOGIN option tokens (MS-TDS 2.2.6.5).
const (
	preVersion         byte = 0x00
	preEncryption      byte = 0x01
	preInstOpt         byte = 0x02
	preThreadID        byte = 0x03
	preMARS            byte = 0x04
	preTraceID         byte = 0x05
	preFedAuthRequired byte = 0x06
	preNonce           byte = 0x07
	preTerminator      byte = 0xFF
)

// Encryption negotiation values.
const (
	encryptOff    byte = 0x00
	encryptOn     byte = 0x01
	encryptNotSup byte = 0x02
	encryptReq    byte = 0x03
	encryptStrict byte = 0x04 // TDS 8 (not supported)
)

// prelogin holds the client's PRELOGIN options the server cares about.
type prelogin struct {
	encryption     byte
	hasEncryption  bool
	mars           bool
	fedAuthPresent bool
	options        map[byte][]byte
}

// parsePrelogin decodes a PRELOGIN message payload.
func parsePrelogin(b []byte) (*prelogin, error) {
	p := &prelogin{options: map[byte][]byte{}}
	for off := 0; ; off += 5 {
		if off >= len(b) {
			return nil, fmt.Errorf("tds: PRELOGIN option list is not terminated")
		}
		tok := b[off]
		if tok == preTerminator {
			break
		}
		if off+5 > len(b) {
			return nil, fmt.Errorf("tds: truncated PRELOGIN option header")
		}
		start := int(binary.BigEndian.Uint16(b[off+1:]))
		n := int(binary.BigEndian.Uint16(b[off+3:]))
		if start+n > len(b) {
			return nil, fmt.Errorf("tds: PRELOGIN option %#x points outside the message", tok)
		}
		p.options[tok] = b[start : start+n]
	}
	if v, ok := p.options[preEncryption]; ok && len(v) >= 1 {
		p.encryption, p.hasEncryption = v[0], true
	}
	if v, ok := p.options[preMARS]; ok && len(v) >= 1 {
		p.mars = v[0] != 0
	}
	_, p.fedAuthPresent = p.options[preFedAuthRequired]
	return p, nil
}

// buildPrelogin encodes PRELOGIN options in ascending token order.
func buildPrelogin(opts map[byte][]byte) []byte {
	keys := make([]int, 0, len(opts))
	for k := range opts {
		keys = append(keys, int(k))
	}
	sort.Ints(keys)
	off := 5*len(keys) + 1
	b := make([]byte, 0, off+32)
	for _, k := range keys {
		v := opts[byte(k)]
		b = append(b, byte(k))
		b = binary.BigEndian.AppendUint16(b, uint16(off))
		b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
		off += len(v)
	}
	b = append(b, preTerminator)
	for _, k := range keys {
		b = append(b, opts[byte(k)]...)
	}
	return b
}

// negotiateEncryption returns the server's ENCRYPTION answer for the client's
// request. tlsAvailable reports whether a TLS configuration is set.
func negotiateEncryption(client byte, tlsAvailable bool) byte {
	if !tlsAvailable {
		return encryptNotSup
	}
	switch client & 0x0F { // the high bit flags client-certificate authentication
	case encryptOff:
		return encryptOff
	case encryptOn, encryptReq:
		return encryptOn
	default:
		return encryptNotSup
	}
}
