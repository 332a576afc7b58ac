package tds

import (
	"encoding/binary"
	"strconv"
)

// Token identifiers (MS-TDS 2.2.7).
const (
	tokReturnStatus  byte = 0x79
	tokColMetadata   byte = 0x81
	tokError         byte = 0xAA
	tokInfo          byte = 0xAB
	tokReturnValue   byte = 0xAC
	tokLoginAck      byte = 0xAD
	tokFeatureExtAck byte = 0xAE
	tokRow           byte = 0xD1
	tokEnvChange     byte = 0xE3
	tokFedAuthInfo   byte = 0xEE
	tokSSPI          byte = 0xED
	tokDone          byte = 0xFD
	tokDoneProc      byte = 0xFE
	tokDoneInProc    byte = 0xFF
)

// DONE status bits.
const (
	doneFinal uint16 = 0x00
	doneMore  uint16 = 0x01
	doneError uint16 = 0x02
	doneCount uint16 = 0x10
	doneAttn  uint16 = 0x20
)

// DONE CurCmd values used by SQL Server.
const (
	cmdNone   uint16 = 0x00
	cmdSelect uint16 = 0xC1
)

// ENVCHANGE types.
const (
	envDatabase     byte = 1
	envLanguage     byte = 2
	envPacketSize   byte = 4
	envSQLCollation byte = 7
	envBeginTran    byte = 8
	envCommitTran   byte = 9
	envRollbackTran byte = 10
	envResetAck     byte = 18
)

// Feature extension identifiers.
const (
	featFedAuth    byte = 0x02
	featTerminator byte = 0xFF
)

// FEDAUTHINFO option identifiers.
const (
	fedAuthInfoSTSURL byte = 0x01
	fedAuthInfoSPN    byte = 0x02
)

// maxMessageChars bounds ERROR/INFO message text so the token length fits in a USHORT.
const maxMessageChars = 16000

// withLen16 appends a token whose body is produced by body, prefixed by the
// token id and the body length as a USHORT.
func withLen16(b []byte, tok byte, body func([]byte) []byte) []byte {
	b = append(b, tok, 0, 0)
	start := len(b)
	b = body(b)
	binary.LittleEndian.PutUint16(b[start-2:], uint16(len(b)-start))
	return b
}

// appendDone appends a DONE, DONEPROC or DONEINPROC token.
func appendDone(b []byte, tok byte, status, curCmd uint16, rows uint64) []byte {
	b = append(b, tok)
	b = appendU16(b, status)
	b = appendU16(b, curCmd)
	return appendU64(b, rows)
}

// appendMessage appends an ERROR or INFO token.
func appendMessage(b []byte, tok byte, num int32, state, class uint8, msg, server, proc string, line int32) []byte {
	return withLen16(b, tok, func(b []byte) []byte {
		b = appendU32(b, uint32(num))
		b = append(b, state, class)
		b = appendUSVarChar(b, msg, maxMessageChars)
		b = appendBVarChar(b, server)
		b = appendBVarChar(b, proc)
		return appendU32(b, uint32(line))
	})
}

// appendEnvChangeString appends an ENVCHANGE whose values are B_VARCHARs.
func appendEnvChangeString(b []byte, typ byte, newValue, oldValue string) []byte {
	return withLen16(b, tokEnvChange, func(b []byte) []byte {
		b = append(b, typ)
		b = appendBVarChar(b, newValue)
		return appendBVarChar(b, oldValue)
	})
}

// appendEnvChangeBytes appends an ENVCHANGE whose values are B_VARBYTEs.
func appendEnvChangeBytes(b []byte, typ byte, newValue, oldValue []byte) []byte {
	return withLen16(b, tokEnvChange, func(b []byte) []byte {
		b = append(b, typ)
		b = appendBVarByte(b, newValue)
		return appendBVarByte(b, oldValue)
	})
}

// appendPacketSizeChange appends ENVCHANGE packet size.
func appendPacketSizeChange(b []byte, size int) []byte {
	s := strconv.Itoa(size)
	return appendEnvChangeString(b, envPacketSize, s, s)
}

// appendLoginAck appends LOGINACK.
func appendLoginAck(b []byte, tdsVersion uint32, progVersion [4]byte) []byte {
	return withLen16(b, tokLoginAck, func(b []byte) []byte {
		b = append(b, 1) // SQL_TSQL interface
		b = binary.BigEndian.AppendUint32(b, tdsVersion)
		b = appendBVarChar(b, "Microsoft SQL Server")
		return append(b, progVersion[:]...)
	})
}

// featureAck is one entry of FEATUREEXTACK.
type featureAck struct {
	id   byte
	data []byte
}

// appendFeatureExtAck appends FEATUREEXTACK with the given entries.
func appendFeatureExtAck(b []byte, acks []featureAck) []byte {
	b = append(b, tokFeatureExtAck)
	for _, a := range acks {
		b = append(b, a.id)
		b = appendU32(b, uint32(len(a.data)))
		b = append(b, a.data...)
	}
	return append(b, featTerminator)
}

// appendFedAuthInfo appends FEDAUTHINFO with the STS URL and server SPN.
func appendFedAuthInfo(b []byte, stsURL, spn string) []byte {
	url := encodeUCS2(nil, stsURL)
	sp := encodeUCS2(nil, spn)
	const count = 2
	dataStart := 4 + count*9 // offsets are relative to CountOfInfoIDs
	b = append(b, tokFedAuthInfo)
	b = appendU32(b, uint32(dataStart+len(url)+len(sp)))
	b = appendU32(b, count)
	b = append(b, fedAuthInfoSPN)
	b = appendU32(b, uint32(len(sp)))
	b = appendU32(b, uint32(dataStart))
	b = append(b, fedAuthInfoSTSURL)
	b = appendU32(b, uint32(len(url)))
	b = appendU32(b, uint32(dataStart+len(sp)))
	b = append(b, sp...)
	return append(b, url...)
}
