package tds

import (
	"fmt"
)

// Well-known stored procedure ids (MS-TDS 2.2.6.6).
var procNames = [...]string{
	1:  "sp_cursor",
	2:  "sp_cursoropen",
	3:  "sp_cursorprepare",
	4:  "sp_cursorexecute",
	5:  "sp_cursorprepexec",
	6:  "sp_cursorunprepare",
	7:  "sp_cursorfetch",
	8:  "sp_cursoroption",
	9:  "sp_cursorclose",
	10: "sp_executesql",
	11: "sp_prepare",
	12: "sp_execute",
	13: "sp_prepexec",
	14: "sp_prepexecrpc",
	15: "sp_unprepare",
}

// ProcName returns the name of a well-known procedure id (1..15), or "" if
// the id is unknown.
func ProcName(id uint16) string {
	if int(id) < len(procNames) {
		return procNames[id]
	}
	return ""
}

// RPC parameter status flags.
const (
	paramByRef     byte = 0x01
	paramDefault   byte = 0x02
	paramEncrypted byte = 0x08
)

// RPC batch separators.
const (
	rpcBatchFlag71 byte = 0x80 // TDS 7.1 and earlier
	rpcBatchFlag   byte = 0xFF // TDS 7.2 and later
	rpcNoExecFlag  byte = 0xFE // TDS 7.2 and later
)

// verTDS72 is the first TDS version with ALL_HEADERS and the 0xFF/0xFE separators.
const verTDS72 uint32 = 0x72090002

// parseRPC decodes an RPC request message, which may contain several calls
// separated by batch flags. tdsVersion selects which separators are valid:
// 0x80 before TDS 7.2 and 0xFF/0xFE from 7.2 on (a parameter name length
// byte of 0x80 is legal in 7.2+).
func parseRPC(data []byte, tdsVersion uint32) ([]*RPCRequest, error) {
	r := &reader{b: data}
	if tdsVersion >= verTDS72 {
		if err := r.skipAllHeaders(); err != nil {
			return nil, err
		}
	}
	var reqs []*RPCRequest
	for {
		req, err := parseOneRPC(r, tdsVersion)
		if err != nil {
			return nil, fmt.Errorf("tds: RPC %d: %w", len(reqs)+1, err)
		}
		reqs = append(reqs, req)
		sep, ok := r.peek()
		if !ok {
			return reqs, nil
		}
		if !isRPCSeparator(sep, tdsVersion) {
			return nil, fmt.Errorf("tds: RPC %d: unexpected byte %#x after parameters", len(reqs), sep)
		}
		r.off++
		if r.remaining() == 0 {
			return reqs, nil // tolerate a trailing separator
		}
	}
}

func isRPCSeparator(b byte, tdsVersion uint32) bool {
	if tdsVersion >= verTDS72 {
		return b == rpcBatchFlag || b == rpcNoExecFlag
	}
	return b == rpcBatchFlag71
}

// parseOneRPC decodes one RPCReqBatch: name or id, option flags, parameters.
func parseOneRPC(r *reader, tdsVersion uint32) (*RPCRequest, error) {
	n, err := r.u16()
	if err != nil {
		return nil, err
	}
	req := &RPCRequest{}
	if n == 0xFFFF {
		if req.ProcID, err = r.u16(); err != nil {
			return nil, err
		}
		if req.ProcName = ProcName(req.ProcID); req.ProcName == "" {
			return nil, fmt.Errorf("unknown procedure id %d", req.ProcID)
		}
	} else if req.ProcName, err = r.ucs2(int(n)); err != nil {
		return nil, err
	}
	if req.Options, err = r.u16(); err != nil {
		return nil, err
	}
	for {
		b, ok := r.peek()
		if !ok || isRPCSeparator(b, tdsVersion) {
			return req, nil
		}
		p, err := parseParam(r)
		if err != nil {
			return nil, fmt.Errorf("%s parameter %d: %w", req.ProcName, len(req.Params)+1, err)
		}
		req.Params = append(req.Params, p)
	}
}

// parseParam decodes one ParameterData: name, status flags, TYPE_INFO, value.
func parseParam(r *reader) (Param, error) {
	var p Param
	var err error
	if p.Name, err = r.bVarChar(); err != nil {
		return p, err
	}
	status, err := r.u8()
	if err != nil {
		return p, err
	}
	if status&paramEncrypted != 0 {
		return p, fmt.Errorf("encrypted (Always Encrypted) parameters are not supported")
	}
	p.Output = status&paramByRef != 0
	p.Default = status&paramDefault != 0
	ti, err := readTypeInfo(r)
	if err != nil {
		return p, err
	}
	p.TypeName = ti.name()
	if p.Value, err = readValue(r, ti); err != nil {
		return p, err
	}
	return p, nil
}
