package tds

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// rawClient speaks TDS directly, to exercise protocol paths go-mssqldb never takes.
type rawClient struct {
	t  *testing.T
	nc net.Conn
	pr packetReader
	pw packetWriter
}

func dialRaw(t *testing.T, ts *testServer) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", ts.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	if err := nc.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	return &rawClient{t: t, nc: nc,
		pr: packetReader{r: nc, maxSize: 1 << 24},
		pw: packetWriter{w: nc, packetSize: defaultPacketSize}}
}

// login performs PRELOGIN (no encryption) and LOGIN7 and returns the login response tokens.
func (c *rawClient) login(login []byte) []token {
	c.t.Helper()
	c.send(pktPrelogin, buildPrelogin(map[byte][]byte{preVersion: {1, 0, 0, 0, 0, 0}, preEncryption: {encryptNotSup}}))
	pre := c.recv()
	pl, err := parsePrelogin(pre.data)
	if err != nil || pl.encryption != encryptNotSup {
		c.t.Fatalf("PRELOGIN response %+v: %v", pl, err)
	}
	c.send(pktLogin7, login)
	return c.tokens()
}

func (c *rawClient) send(typ byte, payload []byte) {
	c.t.Helper()
	if err := c.pw.writeMessage(typ, payload); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawClient) recv() message {
	c.t.Helper()
	m, err := c.pr.readMessage()
	if err != nil {
		c.t.Fatal(err)
	}
	if m.typ != pktReply {
		c.t.Fatalf("reply packet type %#x", m.typ)
	}
	return m
}

func (c *rawClient) tokens() []token {
	c.t.Helper()
	toks, err := scanTokens(c.recv().data)
	if err != nil {
		c.t.Fatal(err)
	}
	return toks
}

// token is a coarse view of a response token.
type token struct {
	id     byte
	status uint16 // DONE*
	number int32  // ERROR/INFO
	msg    string // ERROR/INFO
}

// scanTokens splits a response made only of tokens with a self-describing
// length (it does not handle COLMETADATA/ROW).
func scanTokens(b []byte) ([]token, error) {
	r := &reader{b: b}
	var out []token
	for r.remaining() > 0 {
		id, _ := r.u8()
		tok := token{id: id}
		switch id {
		case tokDone, tokDoneProc, tokDoneInProc:
			st, err := r.u16()
			if err != nil {
				return nil, err
			}
			tok.status = st
			if _, err := r.next(10); err != nil {
				return nil, err
			}
		case tokReturnStatus:
			if _, err := r.next(4); err != nil {
				return nil, err
			}
		case tokError, tokInfo, tokEnvChange, tokLoginAck:
			n, err := r.u16()
			if err != nil {
				return nil, err
			}
			body, err := r.next(int(n))
			if err != nil {
				return nil, err
			}
			if id == tokError || id == tokInfo {
				br := &reader{b: body}
				num, _ := br.u32()
				br.next(2)
				tok.number = int32(num)
				tok.msg, _ = br.usVarChar()
			}
		case tokFeatureExtAck:
			for {
				f, err := r.u8()
				if err != nil {
					return nil, err
				}
				if f == featTerminator {
					break
				}
				n, err := r.u32()
				if err != nil {
					return nil, err
				}
				if _, err := r.next(int(n)); err != nil {
					return nil, err
				}
			}
		default:
			return nil, fmt.Errorf("unexpected token %#x", id)
		}
		out = append(out, tok)
	}
	return out, nil
}

func ids(toks []token) string {
	var s []string
	for _, t := range toks {
		s = append(s, fmt.Sprintf("%#x", t.id))
	}
	return strings.Join(s, " ")
}

// allHeaders is a minimal ALL_HEADERS with a transaction descriptor.
func allHeaders() []byte {
	b := binary.LittleEndian.AppendUint32(nil, 22)
	b = binary.LittleEndian.AppendUint32(b, 18)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint64(b, 0)
	return binary.LittleEndian.AppendUint32(b, 1)
}

func batch(sql string) []byte { return encodeUCS2(allHeaders(), sql) }

// rpcCall encodes one RPC call with a single nvarchar parameter.
func rpcCall(name string, param string) []byte {
	b := binary.LittleEndian.AppendUint16(nil, uint16(len(name)))
	b = encodeUCS2(b, name)
	b = binary.LittleEndian.AppendUint16(b, 0) // options
	b = appendBVarChar(b, "@p")
	b = append(b, 0) // status
	b = appendTypeInfo(b, wireType{id: typeNVarChar, size: 8000})
	b, _ = appendValue(b, wireType{id: typeNVarChar, size: 8000}, param)
	return b
}

func mustLogin(t *testing.T, c *rawClient) {
	t.Helper()
	toks := c.login(buildLogin7(testUser, testPassword, "", 4096, nil))
	last := toks[len(toks)-1]
	if last.id != tokDone || last.status != doneFinal {
		t.Fatalf("login response %s, final status %#x", ids(toks), last.status)
	}
}

func TestRawLoginResponse(t *testing.T) {
	ts := startServer(t)
	c := dialRaw(t, ts)
	toks := c.login(buildLogin7(testUser, testPassword, "msdb", 8192, fedAuthFeatureExt("")))
	// ENVCHANGE db, INFO 5701, ENVCHANGE collation, ENVCHANGE language, INFO 5703,
	// LOGINACK, FEATUREEXTACK, ENVCHANGE packet size, DONE.
	want := "0xe3 0xab 0xe3 0xe3 0xab 0xad 0xae 0xe3 0xfd"
	if got := ids(toks); got != want {
		t.Fatalf("login tokens %s, want %s", got, want)
	}
	if toks[1].number != 5701 || toks[1].msg != "Changed database context to 'msdb'." || toks[4].number != 5703 {
		t.Errorf("info tokens %+v %+v", toks[1], toks[4])
	}
	if l := ts.h.lastLogin(); l.PacketSize != 8192 || l.Database != "msdb" {
		t.Errorf("login request %+v", l)
	}
}

func TestRawAttentionWhileIdle(t *testing.T) {
	ts := startServer(t)
	c := dialRaw(t, ts)
	mustLogin(t, c)
	c.send(pktAttention, nil)
	toks := c.tokens()
	if len(toks) != 1 || toks[0].id != tokDone || toks[0].status != doneAttn {
		t.Fatalf("attention ack %s %+v", ids(toks), toks)
	}
	c.send(pktSQLBatch, batch("run insert"))
	if toks := c.tokens(); len(toks) != 1 || toks[0].status != doneCount {
		t.Fatalf("after attention: %+v", toks)
	}
}

func TestRawSplitRequest(t *testing.T) {
	ts := startServer(t)
	c := dialRaw(t, ts)
	mustLogin(t, c)
	// A long batch split over many 512-byte packets is reassembled.
	c.pw.packetSize = 512
	sql := "marker " + strings.Repeat("x", 5000)
	c.send(pktSQLBatch, batch(sql))
	toks := c.tokens()
	if len(toks) != 1 || toks[0].id != tokDone || toks[0].status != doneFinal {
		t.Fatalf("response %+v", toks)
	}
	ts.h.mu.Lock()
	defer ts.h.mu.Unlock()
	if len(ts.h.batches) != 1 || ts.h.batches[0] != sql {
		t.Fatalf("handler saw %d batches", len(ts.h.batches))
	}
}

func TestRawMultipleRPCs(t *testing.T) {
	ts := startServer(t)
	c := dialRaw(t, ts)
	mustLogin(t, c)
	msg := allHeaders()
	msg = append(msg, rpcCall("dbo.first", "a")...)
	msg = append(msg, rpcBatchFlag)
	msg = append(msg, rpcCall("dbo.second", "b")...)
	msg = append(msg, rpcNoExecFlag)
	msg = append(msg, rpcCall("dbo.third", "c")...)
	c.send(pktRPC, msg)
	toks := c.tokens()
	var procs []token
	for _, tk := range toks {
		if tk.id == tokDoneProc {
			procs = append(procs, tk)
		}
	}
	if len(procs) != 3 || procs[0].status != doneMore|doneError || procs[1].status != doneMore|doneError || procs[2].status != doneError {
		t.Fatalf("DONEPROC tokens %+v (all %s)", procs, ids(toks))
	}
	ts.h.mu.Lock()
	defer ts.h.mu.Unlock()
	if len(ts.h.rpcs) != 3 || ts.h.rpcs[1].ProcName != "dbo.second" || ts.h.rpcs[2].Params[0].Value != "c" {
		t.Fatalf("handler saw %+v", ts.h.rpcs)
	}
}

func TestRawMalformedRequestsKeepConnection(t *testing.T) {
	ts := startServer(t)
	c := dialRaw(t, ts)
	mustLogin(t, c)
	bad := [][]byte{
		allHeaders()[:3],                                         // truncated ALL_HEADERS
		append(allHeaders(), 0xFF, 0xFF, 99, 0),                  // unknown proc id
		append(allHeaders(), rpcCall("p", "x")[:12]...),          // truncated parameter
		append(append(allHeaders(), rpcCall("p", "x")...), 0x42), // junk after parameters
	}
	for i, b := range bad {
		c.send(pktRPC, b)
		toks := c.tokens()
		if len(toks) != 2 || toks[0].id != tokError || toks[0].number != errNumProtocol || toks[1].status != doneError {
			t.Fatalf("case %d: %+v", i, toks)
		}
	}
	c.send(pktBulkLoad, []byte{1, 2, 3})
	if toks := c.tokens(); toks[0].id != tokError {
		t.Fatalf("bulk load: %+v", toks)
	}
	c.send(pktSQLBatch, batch("run insert"))
	if toks := c.tokens(); len(toks) != 1 || toks[0].status != doneCount {
		t.Fatalf("after malformed requests: %+v", toks)
	}
}

func TestRawOldTDSVersionRejected(t *testing.T) {
	ts := startServer(t)
	c := dialRaw(t, ts)
	login := buildLogin7(testUser, testPassword, "", 4096, nil)
	binary.LittleEndian.PutUint32(login[4:], 0x71000001)
	toks := c.login(login)
	if len(toks) != 2 || toks[0].number != 18452 || toks[1].status != doneError {
		t.Fatalf("tokens %+v", toks)
	}
	if _, err := c.pr.readMessage(); !errors.Is(err, io.EOF) {
		t.Fatalf("connection not closed: %v", err)
	}
}

func TestRawGarbageAndDisconnects(t *testing.T) {
	ts := startServer(t)
	inputs := [][]byte{
		{},                       // connect and leave
		{0x12, 0x01, 0x00},       // partial header
		{0x12, 0x01, 0x00, 0x04}, // header announcing fewer than 8 bytes
		{0x12, 0x00, 0x00, 0x10, 0, 0, 1, 0, 1, 2},                                       // partial packet, no EOM
		{0x16, 0x03, 0x01, 0x00, 0x10},                                                   // TLS first (TDS 8 strict)
		{0x10, 0x01, 0x00, 0x0A, 0, 0, 1, 0, 0, 0},                                       // LOGIN7 before PRELOGIN
		append([]byte{0x12, 0x01, 0x00, 0x0D, 0, 0, 1, 0}, 0x01, 0x00, 0xFF, 0x00, 0x05), // bad option offsets
	}
	for i, in := range inputs {
		nc, err := net.Dial("tcp", ts.addr.String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := nc.Write(in); err != nil {
			t.Fatalf("input %d: %v", i, err)
		}
		nc.Close()
	}
	// A logged-in client that disconnects in the middle of a request.
	c := dialRaw(t, ts)
	mustLogin(t, c)
	if _, err := c.nc.Write([]byte{pktSQLBatch, 0, 0x10, 0x00, 0, 0, 1, 0, 1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	c.nc.Close()
	waitFor(t, "all connections to end", func() bool { return ts.liveConns() == 0 })
	ts.h.mu.Lock()
	defer ts.h.mu.Unlock()
	if ts.h.closed != 1 {
		t.Fatalf("Session.Close called %d times", ts.h.closed)
	}
}

func TestRawFedAuthInLogin(t *testing.T) {
	ts := startServer(t)
	c := dialRaw(t, ts)
	toks := c.login(buildLogin7("", "", "", 4096, fedAuthFeatureExt(testToken)))
	if toks[len(toks)-1].status != doneFinal {
		t.Fatalf("login failed: %+v", toks)
	}
	if l := ts.h.lastLogin(); l.FedAuthToken != testToken {
		t.Fatalf("FedAuthToken %q", l.FedAuthToken)
	}
}
