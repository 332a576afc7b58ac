package tds

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync"
	"time"
)

// Transaction-manager request types (MS-TDS 2.2.6.9).
const (
	tmBeginXact    = 5
	tmCommitXact   = 7
	tmRollbackXact = 8
	fBeginXact     = 0x01
)

// run serves requests after login. A reader goroutine reads client messages
// so that an ATTENTION is noticed while a handler runs; requests are executed
// here one at a time.
func (c *conn) run(ctx context.Context, cancel context.CancelFunc) {
	if d := c.srv.cfg.RequestReadTimeout; d > 0 {
		c.pr.timeout, c.pr.setDeadline = d, c.nc.SetReadDeadline
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.readLoop(cancel, done)
	}()
	defer func() {
		close(done)
		_ = c.nc.Close() // unblocks the reader
		wg.Wait()
	}()

	for {
		var msg message
		var ok bool
		select {
		case msg, ok = <-c.reqs:
		case <-c.attnWake:
			// The reader queues a request before it reports an attention
			// read after it, so a queued request is the one being cancelled.
			select {
			case msg, ok = <-c.reqs:
			default:
				if c.takeAttention() {
					if err := c.sendAttentionAck(); err != nil {
						c.log.Debug("tds: sending attention acknowledgement", "err", err)
						return
					}
				}
				continue
			}
		}
		if !ok {
			return
		}
		if err := c.handle(ctx, msg); err != nil {
			if isDisconnect(err) {
				c.log.Debug("tds: connection closed while responding", "err", err)
			} else {
				c.log.Info("tds: closing connection", "err", err)
			}
			return
		}
	}
}

// readLoop reads client messages until the connection fails, queueing
// requests and turning ATTENTION packets into cancellations.
func (c *conn) readLoop(cancel context.CancelFunc, done <-chan struct{}) {
	defer close(c.reqs)
	defer cancel() // the client is gone: cancel any running handler
	for {
		msg, err := c.pr.readMessage()
		if errors.Is(err, errRequestTooLarge) {
			// Refuse it in order, after the requests queued before it; the
			// connection closes once the refusal is sent.
			c.log.Info("tds: refusing request", "err", err, "max_bytes", c.pr.maxSize)
			msg = message{tooLarge: true}
			err = nil
		}
		if err != nil {
			if !isDisconnect(err) {
				c.log.Info("tds: reading request", "err", err)
			}
			return
		}
		if msg.typ == pktAttention && !msg.ignore {
			c.signalAttention()
			continue
		}
		select {
		case c.reqs <- msg:
		case <-done:
			return
		}
		if msg.tooLarge {
			return
		}
	}
}

// signalAttention records an attention, cancels the running request and
// wakes the request loop.
func (c *conn) signalAttention() {
	c.mu.Lock()
	c.attnPending = true
	if c.cancelReq != nil {
		c.cancelReq()
	}
	c.mu.Unlock()
	select {
	case c.attnWake <- struct{}{}:
	default:
	}
}

// takeAttention consumes a pending attention.
func (c *conn) takeAttention() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.attnPending
	c.attnPending = false
	return p
}

// sendAttentionAck sends the DONE with the ATTN bit that confirms a cancel.
func (c *conn) sendAttentionAck() error {
	return c.pw.writeMessage(pktReply, appendDone(nil, tokDone, doneAttn, cmdNone, 0))
}

// handle executes one request and sends its response, or only the attention
// acknowledgement when the client cancelled the request meanwhile.
func (c *conn) handle(ctx context.Context, msg message) error {
	if msg.tooLarge {
		return c.refuseTooLarge()
	}
	reqCtx, cancel := context.WithCancel(ctx)
	c.mu.Lock()
	c.cancelReq = cancel
	if c.attnPending {
		cancel()
	}
	c.mu.Unlock()

	out := c.execute(reqCtx, msg)

	c.mu.Lock()
	c.cancelReq = nil
	attn := c.attnPending
	c.attnPending = false
	c.mu.Unlock()
	cancel()

	if attn {
		select { // the wake-up for this attention is no longer needed
		case <-c.attnWake:
		default:
		}
		return c.sendAttentionAck()
	}
	return c.pw.writeMessage(pktReply, out)
}

// execute dispatches a request and returns the response tokens.
func (c *conn) execute(ctx context.Context, msg message) []byte {
	if msg.ignore {
		// MS-TDS 2.2.1.7 (Attention): a client cancels a request it has not
		// finished sending by setting the ignore and EOM bits on its next
		// packet; "the server MUST ignore the current request ... and returns
		// a table response with a single DONE token that has a status of
		// DONE_ERROR to indicate that the incoming request was ignored"
		// (https://learn.microsoft.com/openspecs/windows_protocols/ms-tds/dc28579f-49b1-4a78-9c5f-63fbda002d2e).
		// tedious does this when a request is cancelled before it is sent
		// and waits for that DONE.
		return appendDone(nil, tokDone, doneError, cmdNone, 0)
	}
	w := newResponseWriter(msg.typ == pktRPC, c.srv.cfg.ServerName, &c.state)
	if msg.status&(statusResetConn|statusResetConnKeepX) != 0 {
		c.resetSession(ctx, w, msg.status&statusResetConnKeepX != 0)
	}
	switch msg.typ {
	case pktSQLBatch:
		c.execBatch(ctx, msg.data, w)
	case pktRPC:
		c.execRPC(ctx, msg.data, w)
	case pktTransMgr:
		c.execTransaction(ctx, msg.data, w)
	default:
		w.rpc = false
		w.Error(&Error{Number: errNumProtocol, Class: 16, Message: fmt.Sprintf(
			"The request type %#x is not supported by this server.", msg.typ)})
		w.finishBatch()
	}
	return w.buf
}

// refuseTooLarge tells the client its request exceeded the maximum request
// size and returns an error, so that the connection is closed. The rest of
// the request is discarded, not stored: the server half-closes and drains
// the connection for a bounded time so that the client, still sending, reads
// the refusal instead of a connection reset.
func (c *conn) refuseTooLarge() error {
	b := appendMessage(nil, tokError, errNumProtocol, 1, 20, fmt.Sprintf(
		"The request exceeds the maximum request size of %d bytes this server accepts; the connection is closed.",
		c.pr.maxSize), c.srv.cfg.ServerName, "", 1)
	b = appendDone(b, tokDone, doneError, cmdNone, 0)
	if err := c.pw.writeMessage(pktReply, b); err != nil {
		return err
	}
	if hc, ok := c.nc.(interface{ CloseWrite() error }); ok {
		_ = hc.CloseWrite()
	}
	drain := c.srv.cfg.RequestReadTimeout
	if drain <= 0 {
		drain = defaultRequestReadTimeout
	}
	if err := c.nc.SetReadDeadline(time.Now().Add(drain)); err == nil {
		_, _ = io.Copy(io.Discard, c.nc)
	}
	return errRequestTooLarge
}

// resetSession handles the RESETCONNECTION status bit.
func (c *conn) resetSession(ctx context.Context, w *ResponseWriter, keepTransaction bool) {
	if !keepTransaction {
		c.txDesc = 0
	}
	if r, ok := c.sess.(SessionResetter); ok {
		c.callHandler(w, "reset", func() { r.ResetSession(ctx) })
	}
	w.buf = appendEnvChangeBytes(w.buf, envResetAck, nil, nil)
}

// protocolError reports a malformed request in a batch-style response.
func protocolError(w *ResponseWriter, err error) {
	w.rpc = false
	w.Error(&Error{Number: errNumProtocol, Class: 16, Line: 1, Message: fmt.Sprintf(
		"The incoming tabular data stream (TDS) protocol stream is incorrect: %v", err)})
	w.finishBatch()
}

// execBatch runs a SQLBatch request.
func (c *conn) execBatch(ctx context.Context, data []byte, w *ResponseWriter) {
	r := &reader{b: data}
	if c.tdsVersion >= verTDS72 {
		if err := r.skipAllHeaders(); err != nil {
			protocolError(w, err)
			return
		}
	}
	sql, err := decodeUCS2(data[r.off:])
	if err != nil {
		protocolError(w, err)
		return
	}
	c.callHandler(w, "batch", func() { c.sess.Batch(ctx, sql, w) })
	w.finishBatch()
}

// execRPC runs every RPC of an RPC request message and ends each with a DONEPROC.
func (c *conn) execRPC(ctx context.Context, data []byte, w *ResponseWriter) {
	reqs, err := parseRPC(data, c.tdsVersion)
	if err != nil {
		c.log.Info("tds: malformed RPC request", "err", err)
		protocolError(w, err)
		return
	}
	for i, req := range reqs {
		w.beginRPC(req.Params)
		c.callHandler(w, req.ProcName, func() { c.sess.RPC(ctx, req, w) })
		w.finishRPC(i < len(reqs)-1)
		if ctx.Err() != nil {
			return // cancelled: the output is discarded anyway
		}
	}
}

// callHandler runs fn, turning a panic into an ERROR token.
func (c *conn) callHandler(w *ResponseWriter, what string, fn func()) {
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("tds: handler panicked", "request", what, "panic", p, "stack", string(debug.Stack()))
			w.closed = false
			w.Error(&Error{Number: errNumInternal, Class: 16, Line: 1,
				Message: "An internal error occurred while executing the request."})
		}
	}()
	fn()
}

// execTransaction answers a transaction-manager request (begin, commit,
// rollback) with the matching ENVCHANGE, after consulting a TxSession.
func (c *conn) execTransaction(ctx context.Context, data []byte, w *ResponseWriter) {
	defer w.finishBatch()
	r := &reader{b: data}
	typ, err := uint16(0), r.skipAllHeaders()
	if err == nil {
		typ, err = r.u16()
	}
	if err != nil {
		w.Error(&Error{Number: errNumProtocol, Class: 16, Line: 1, Message: fmt.Sprintf(
			"The incoming tabular data stream (TDS) protocol stream is incorrect: %v", err)})
		return
	}
	var op TxOp
	var beginNew bool
	switch typ {
	case tmBeginXact:
		op = TxBegin
	case tmCommitXact, tmRollbackXact:
		op = TxCommit
		if typ == tmRollbackXact {
			op = TxRollback
		}
		if _, err := r.bVarChar(); err == nil { // transaction name
			if flags, err := r.u8(); err == nil {
				beginNew = flags&fBeginXact != 0
			}
		}
		if c.txDesc == 0 {
			w.Error(&Error{Number: 3902, Class: 16, Line: 1, Message: fmt.Sprintf(
				"The %s TRANSACTION request has no corresponding BEGIN TRANSACTION.", map[TxOp]string{TxCommit: "COMMIT", TxRollback: "ROLLBACK"}[op])})
			return
		}
	default:
		w.Error(&Error{Number: errNumProtocol, Class: 16, Line: 1, Message: fmt.Sprintf(
			"Transaction manager request type %d is not supported by this server.", typ)})
		return
	}
	if ts, ok := c.sess.(TxSession); ok {
		var terr error
		c.callHandler(w, "transaction "+op.String(), func() { terr = ts.Transaction(ctx, op) })
		if terr != nil {
			var te *Error
			if !errors.As(terr, &te) {
				te = &Error{Number: errNumInternal, Class: 16, Line: 1, Message: terr.Error()}
			}
			w.Error(te)
			return
		}
		if w.anyError {
			return
		}
	}
	switch op {
	case TxCommit, TxRollback:
		typ := envCommitTran
		if op == TxRollback {
			typ = envRollbackTran
		}
		w.buf = appendEnvChangeBytes(w.buf, typ, nil, binary.LittleEndian.AppendUint64(nil, c.txDesc))
		c.txDesc = 0
		if !beginNew {
			return
		}
	}
	c.txCounter++
	c.txDesc = c.txCounter
	w.buf = appendEnvChangeBytes(w.buf, envBeginTran, binary.LittleEndian.AppendUint64(nil, c.txDesc), nil)
}
