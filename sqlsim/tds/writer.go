package tds

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Error numbers the server itself reports.
const (
	errNumConversion int32 = 245   // conversion failed (bad value for a result column)
	errNumInternal   int32 = 50000 // handler panic or server-side fault
	errNumProtocol   int32 = 8009  // malformed RPC or request stream
)

// connState is per-connection state that handlers can change through the ResponseWriter.
type connState struct {
	database string
	language string
}

// ResponseWriter buffers the tokens of one response. The server sends them
// when the Session method returns, split into packets of the negotiated size,
// and completes the DONE chain: every DONE/DONEINPROC written by the
// ResponseWriter carries DONE_MORE, and the final DONE (batch) or DONEPROC
// (RPC) has no MORE bit and has DONE_ERROR if an ERROR token was written.
//
// A ResponseWriter is not safe for concurrent use and must not be used after
// the Session method returns. If the client cancels the request (ATTENTION),
// everything written is discarded.
type ResponseWriter struct {
	buf        []byte
	rpc        bool
	serverName string
	state      *connState
	params     []Param // parameters of the current RPC, for RETURNVALUE ordinals
	closed     bool

	lastDone     int  // offset of the trailing DONE token (batch), or -1
	errPending   bool // ERROR written since the last DONE/DONEINPROC
	anyError     bool // ERROR written in the current request
	returnStatus bool // RETURNSTATUS written in the current RPC
	noCount      bool // SET NOCOUNT ON: DONE tokens carry no row count
}

// SetNoCount follows the session's SET NOCOUNT: when on, the DONE tokens of result
// sets and statements do not set the DONE_COUNT bit, so clients print no "(n rows
// affected)" ([MS-TDS] 2.2.7.6 DONE; https://learn.microsoft.com/sql/t-sql/statements/set-nocount-transact-sql).
func (w *ResponseWriter) SetNoCount(on bool) { w.noCount = on }

// countBit is DONE_COUNT unless SET NOCOUNT is on.
func (w *ResponseWriter) countBit() uint16 {
	if w.noCount {
		return 0
	}
	return doneCount
}

// newResponseWriter returns an empty writer for a batch (rpc false) or RPC response.
func newResponseWriter(rpc bool, serverName string, state *connState) *ResponseWriter {
	return &ResponseWriter{rpc: rpc, serverName: serverName, state: state, lastDone: -1}
}

// Result sends a result set: COLMETADATA, one ROW per element of rows and a
// DONE (batch) or DONEINPROC (RPC) with the row count. Row values may be nil,
// string, int/int8..int64/uint8..uint64, bool, float64, []byte, time.Time or
// [16]byte; they are converted to the column type where SQL Server would
// convert implicitly. If a value cannot be converted, an ERROR (245) is sent
// instead of the result set.
func (w *ResponseWriter) Result(cols []Column, rows [][]any) {
	if w.closed {
		return
	}
	tokens, err := encodeResult(cols, rows)
	if err != nil {
		w.Error(&Error{Number: errNumConversion, State: 1, Class: 16, Message: err.Error(), Line: 1})
		return
	}
	w.lastDone = -1
	w.buf = append(w.buf, tokens...)
	w.done(doneMore|w.countBit(), cmdSelect, uint64(len(rows)))
}

// RowsAffected ends a statement without a result set (DML or DDL) with a
// DONE (batch) or DONEINPROC (RPC). A negative n sends no row count, as
// SQL Server does for DDL.
func (w *ResponseWriter) RowsAffected(n int64) {
	if w.closed {
		return
	}
	if n < 0 {
		w.done(doneMore, cmdNone, 0)
		return
	}
	w.done(doneMore|w.countBit(), cmdNone, uint64(n))
}

// Info sends an INFO token (PRINT output, informational messages). Classes
// above 10 are sent as 10 because higher classes denote errors.
func (w *ResponseWriter) Info(num int32, state, class uint8, msg string) {
	if w.closed {
		return
	}
	w.lastDone = -1
	w.buf = appendMessage(w.buf, tokInfo, num, state, min(class, 10), msg, w.serverName, "", 1)
}

// Error sends an ERROR token. A zero Class is sent as 16 and a zero State as 1.
// The next DONE token and the final DONE/DONEPROC carry DONE_ERROR.
func (w *ResponseWriter) Error(e *Error) {
	if w.closed || e == nil {
		return
	}
	class, state := e.Class, e.State
	if class == 0 {
		class = 16
	}
	if state == 0 {
		state = 1
	}
	w.lastDone = -1
	w.buf = appendMessage(w.buf, tokError, e.Number, state, class, e.Message, w.serverName, e.Proc, e.Line)
	w.errPending = true
	w.anyError = true
}

// ReturnStatus sends a RETURNSTATUS token (the value of a procedure's RETURN).
// It is meant for RPC responses; when an RPC handler does not call it, a
// status of 0 is sent, as SQL Server does.
func (w *ResponseWriter) ReturnStatus(v int32) {
	if w.closed {
		return
	}
	w.lastDone = -1
	w.buf = append(w.buf, tokReturnStatus)
	w.buf = appendU32(w.buf, uint32(v))
	w.returnStatus = true
}

// ReturnValue sends a RETURNVALUE token for an OUTPUT parameter. p.Name
// identifies the parameter (with or without the leading '@'); p.TypeName
// selects the type (nvarchar, bigint, int, smallint, tinyint, bit, float,
// real, uniqueidentifier, varbinary, datetime, datetime2, datetimeoffset,
// date, decimal) and, when empty, it is inferred from p.Value. A nil Value
// sends NULL.
func (w *ResponseWriter) ReturnValue(p Param) {
	if w.closed {
		return
	}
	name := p.Name
	if name != "" && !strings.HasPrefix(name, "@") {
		name = "@" + name
	}
	wt, err := paramWire(p)
	var val []byte
	if err == nil {
		val, err = appendValue(nil, wt, p.Value)
	}
	if err != nil {
		w.Error(&Error{Number: errNumConversion, State: 1, Class: 16, Line: 1,
			Message: fmt.Sprintf("output parameter %s: %v", name, err)})
		return
	}
	ordinal := 0
	for i, q := range w.params {
		if strings.EqualFold(q.Name, name) {
			ordinal = i
			break
		}
	}
	w.lastDone = -1
	b := append(w.buf, tokReturnValue)
	b = appendU16(b, uint16(ordinal))
	b = appendBVarChar(b, name)
	b = append(b, 0x01)   // status: output parameter
	b = appendU32(b, 0)   // UserType
	b = appendU16(b, 0x1) // Flags: nullable
	b = appendTypeInfo(b, wt)
	w.buf = append(b, val...)
}

// ChangeDatabase reports a change of database context (as after a USE
// statement): ENVCHANGE database and INFO 5701.
func (w *ResponseWriter) ChangeDatabase(name string) {
	if w.closed || w.state == nil {
		return
	}
	w.lastDone = -1
	w.buf = appendEnvChangeString(w.buf, envDatabase, name, w.state.database)
	w.buf = appendMessage(w.buf, tokInfo, 5701, 1, 0,
		fmt.Sprintf("Changed database context to '%s'.", name), w.serverName, "", 1)
	w.state.database = name
}

// done appends an intermediate DONE (batch) or DONEINPROC (RPC).
func (w *ResponseWriter) done(status, curCmd uint16, rows uint64) {
	if w.errPending {
		status |= doneError
		w.errPending = false
	}
	if w.rpc {
		w.lastDone = -1
		w.buf = appendDone(w.buf, tokDoneInProc, status, curCmd, rows)
		return
	}
	w.lastDone = len(w.buf)
	w.buf = appendDone(w.buf, tokDone, status, curCmd, rows)
}

// finishBatch completes a batch response: the trailing DONE loses its MORE
// bit, or a final DONE is appended when the last token is not a DONE.
func (w *ResponseWriter) finishBatch() {
	w.closed = true
	if w.lastDone >= 0 {
		p := w.buf[w.lastDone+1:]
		st := binary.LittleEndian.Uint16(p) &^ doneMore
		if w.anyError {
			st |= doneError
		}
		binary.LittleEndian.PutUint16(p, st)
		return
	}
	st := doneFinal
	if w.anyError {
		st |= doneError
	}
	w.buf = appendDone(w.buf, tokDone, st, cmdNone, 0)
}

// beginRPC resets the per-call state before the next RPC of a message.
func (w *ResponseWriter) beginRPC(params []Param) {
	w.params = params
	w.anyError, w.errPending, w.returnStatus, w.closed = false, false, false, false
}

// finishRPC appends RETURNSTATUS (if the handler sent none) and the DONEPROC
// ending one RPC; more is set for all but the last RPC of a message.
func (w *ResponseWriter) finishRPC(more bool) {
	if !w.returnStatus {
		w.ReturnStatus(0)
	}
	st := doneFinal
	if more {
		st |= doneMore
	}
	if w.anyError {
		st |= doneError
	}
	w.buf = appendDone(w.buf, tokDoneProc, st, cmdNone, 0)
	w.closed = true
}

// encodeResult encodes COLMETADATA and ROW tokens.
func encodeResult(cols []Column, rows [][]any) ([]byte, error) {
	if len(cols) == 0 || len(cols) > 4096 {
		return nil, fmt.Errorf("a result set must have 1 to 4096 columns, got %d", len(cols))
	}
	types := make([]wireType, len(cols))
	b := []byte{tokColMetadata}
	b = appendU16(b, uint16(len(cols)))
	for i, c := range cols {
		wt, err := columnWire(c)
		if err != nil {
			return nil, err
		}
		types[i] = wt
		var flags uint16
		if c.Nullable {
			flags |= 0x01
		}
		b = appendU32(b, 0) // UserType
		b = appendU16(b, flags)
		b = appendTypeInfo(b, wt)
		b = appendBVarChar(b, c.Name)
	}
	for r, row := range rows {
		if len(row) != len(cols) {
			return nil, fmt.Errorf("row %d has %d values for %d columns", r+1, len(row), len(cols))
		}
		b = append(b, tokRow)
		for i, v := range row {
			var err error
			if b, err = appendValue(b, types[i], v); err != nil {
				return nil, fmt.Errorf("row %d, column %q (%s): %w", r+1, cols[i].Name, types[i].name, err)
			}
		}
	}
	return b, nil
}
