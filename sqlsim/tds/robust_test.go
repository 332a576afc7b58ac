package tds

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// rawPacket frames one packet by hand, with any status and any announced length.
func rawPacket(typ, status byte, announced int, payload []byte) []byte {
	b := []byte{typ, status, 0, 0, 0, 0, 1, 0}
	binary.BigEndian.PutUint16(b[2:], uint16(announced))
	return append(b, payload...)
}

// write sends raw bytes.
func (c *rawClient) write(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

// expectClosed reads until the server closes the connection.
func (c *rawClient) expectClosed() {
	c.t.Helper()
	if _, err := io.Copy(io.Discard, c.nc); err != nil {
		c.t.Fatalf("connection not closed cleanly: %v", err)
	}
}

// TestRawIgnoreBitIsAnswered: MS-TDS 2.2.1.7 — a request whose last packet
// carries the ignore and EOM bits is not executed, and the server answers it
// with a single DONE with DONE_ERROR (tedious waits for that reply after
// cancelling a request it has not finished sending).
func TestRawIgnoreBitIsAnswered(t *testing.T) {
	ts := startServer(t)
	c := dialRaw(t, ts)
	mustLogin(t, c)

	single := batch("run error")
	cases := []struct {
		name string
		wire []byte
	}{
		{"batch in one packet", rawPacket(pktSQLBatch, statusEOM|statusIgnore, headerLen+len(single), single)},
		{"batch cut after its first packet", append(
			rawPacket(pktSQLBatch, 0, headerLen+len(single), single),
			rawPacket(pktSQLBatch, statusEOM|statusIgnore, headerLen, nil)...)},
		{"RPC", func() []byte {
			p := append(allHeaders(), rpcCall("dbo.first", "a")...)
			return rawPacket(pktRPC, statusEOM|statusIgnore, headerLen+len(p), p)
		}()},
		{"ignored request with RESETCONNECTION", rawPacket(pktSQLBatch, statusEOM|statusIgnore|statusResetConn, headerLen+len(single), single)},
	}
	for _, tc := range cases {
		c.write(tc.wire)
		toks := c.tokens()
		if len(toks) != 1 || toks[0].id != tokDone || toks[0].status != doneError {
			t.Fatalf("%s: reply %s %+v, want one DONE with DONE_ERROR", tc.name, ids(toks), toks)
		}
	}
	// The connection goes on, and none of the ignored requests ran.
	c.send(pktSQLBatch, batch("run insert"))
	if toks := c.tokens(); len(toks) != 1 || toks[0].status != doneCount {
		t.Fatalf("after ignored requests: %+v", toks)
	}
	ts.h.mu.Lock()
	defer ts.h.mu.Unlock()
	if len(ts.h.batches) != 1 || ts.h.batches[0] != "run insert" || len(ts.h.rpcs) != 0 || ts.h.resets != 0 {
		t.Fatalf("handler saw batches %q, %d RPCs, %d resets", ts.h.batches, len(ts.h.rpcs), ts.h.resets)
	}
}

// TestRawHalfSentPacketTimesOut: after login, a packet whose header promises
// more bytes than arrive is given up after RequestReadTimeout and its
// connection closed, while an idle connection and a busy one are unaffected.
func TestRawHalfSentPacketTimesOut(t *testing.T) {
	const timeout = 150 * time.Millisecond
	ts := startServer(t, func(c *Config) { c.RequestReadTimeout = timeout })
	idle := dialRaw(t, ts)
	mustLogin(t, idle)
	busy := dialRaw(t, ts)
	mustLogin(t, busy)

	half := dialRaw(t, ts)
	mustLogin(t, half)
	start := time.Now()
	half.write(rawPacket(pktSQLBatch, statusEOM, headerLen+100, make([]byte, 10)))
	// The busy client keeps working while the half-sent request waits.
	busy.send(pktSQLBatch, batch("run insert"))
	if toks := busy.tokens(); len(toks) != 1 || toks[0].status != doneCount {
		t.Fatalf("busy connection: %+v", toks)
	}
	half.expectClosed()
	if took := time.Since(start); took < timeout {
		t.Fatalf("closed after %v, before the %v timeout", took, timeout)
	}
	// idle has now been idle for longer than the timeout: waiting for a
	// request is not limited.
	idle.send(pktSQLBatch, batch("run insert"))
	if toks := idle.tokens(); len(toks) != 1 || toks[0].status != doneCount {
		t.Fatalf("idle connection: %+v", toks)
	}
	// A header cut short is given up the same way.
	cut := dialRaw(t, ts)
	mustLogin(t, cut)
	cut.write([]byte{pktSQLBatch, statusEOM, 0})
	cut.expectClosed()
	waitFor(t, "the two timed-out connections to end", func() bool { return ts.liveConns() == 2 })
}

// TestRawOversizedRequestRefused: a request larger than MaxRequestSize is
// refused with an ERROR as soon as a packet header announces the excess,
// without waiting for (or storing) the rest, and the connection is closed;
// other connections go on.
func TestRawOversizedRequestRefused(t *testing.T) {
	const limit = 2000
	ts := startServer(t, func(c *Config) { c.MaxRequestSize = limit })
	other := dialRaw(t, ts)
	mustLogin(t, other)

	c := dialRaw(t, ts)
	mustLogin(t, c)
	// 1500 bytes, then a header announcing 1000 more whose payload never
	// comes: the server must refuse at that header, not wait for the bytes.
	c.write(rawPacket(pktSQLBatch, 0, headerLen+1500, make([]byte, 1500)))
	c.write(rawPacket(pktSQLBatch, statusEOM, headerLen+1000, nil))
	toks := c.tokens()
	if len(toks) != 2 || toks[0].id != tokError || toks[0].number != errNumProtocol ||
		!strings.Contains(toks[0].msg, "2000 bytes") || toks[1].status != doneError {
		t.Fatalf("refusal %s %+v", ids(toks), toks)
	}
	c.nc.Close() // the server drains until the client leaves

	// A client that sends the whole oversized batch at once reads the refusal
	// rather than a connection reset.
	big := dialRaw(t, ts)
	mustLogin(t, big)
	big.pw.packetSize = 512
	sent := make(chan error, 1)
	go func() { sent <- big.pw.writeMessage(pktSQLBatch, batch(strings.Repeat("x", 3*limit))) }()
	toks = big.tokens()
	if len(toks) != 2 || toks[0].id != tokError || toks[1].status != doneError {
		t.Fatalf("refusal of a whole batch %+v", toks)
	}
	if err := <-sent; err != nil {
		t.Fatalf("sending the oversized batch: %v", err)
	}
	if _, err := big.pr.readMessage(); !errors.Is(err, io.EOF) {
		t.Fatalf("connection not closed after the refusal: %v", err)
	}

	other.send(pktSQLBatch, batch("run insert"))
	if toks := other.tokens(); len(toks) != 1 || toks[0].status != doneCount {
		t.Fatalf("other connection: %+v", toks)
	}
	ts.h.mu.Lock()
	defer ts.h.mu.Unlock()
	if len(ts.h.batches) != 1 {
		t.Fatalf("handler ran %d batches, want only the other connection's", len(ts.h.batches))
	}
}

func TestDefaults(t *testing.T) {
	s := NewServer(Config{})
	if s.cfg.MaxRequestSize != 4<<20 || s.cfg.RequestReadTimeout != 30*time.Second {
		t.Fatalf("defaults: max request %d, read timeout %v", s.cfg.MaxRequestSize, s.cfg.RequestReadTimeout)
	}
	s = NewServer(Config{RequestReadTimeout: -1})
	if s.cfg.RequestReadTimeout >= 0 {
		t.Fatalf("a negative RequestReadTimeout became %v", s.cfg.RequestReadTimeout)
	}
}

// FuzzReadMessage feeds arbitrary bytes to the message reader: it never
// panics, never returns more than its limit, and a message it returns ends
// with an EOM packet of one type.
func FuzzReadMessage(f *testing.F) {
	f.Add(rawPacket(pktSQLBatch, statusEOM, headerLen+3, []byte{1, 2, 3}))
	f.Add(append(rawPacket(pktRPC, 0, headerLen+2, []byte{1, 2}), rawPacket(pktRPC, statusEOM|statusIgnore, headerLen, nil)...))
	f.Add(rawPacket(pktSQLBatch, 0, headerLen+60, make([]byte, 60)))
	f.Add([]byte{pktSQLBatch, statusEOM, 0, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		const limit = 64
		p := packetReader{r: bytes.NewReader(b), maxSize: limit}
		for {
			m, err := p.readMessage()
			if err != nil {
				return
			}
			if len(m.data) > limit {
				t.Fatalf("message of %d bytes over the %d limit", len(m.data), limit)
			}
		}
	})
}
