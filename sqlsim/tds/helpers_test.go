package tds

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/microsoft/go-mssqldb"
)

const (
	testUser     = "sa"
	testPassword = "S3cret!pw"
	testToken    = "eyJ0eXAiOiJKV1QifQ.fake-entra-token"
)

// fakeHandler is a small Handler recording what the server hands it.
type fakeHandler struct {
	mu       sync.Mutex
	logins   []LoginRequest
	batches  []string
	rpcs     []*RPCRequest
	tx       []TxOp
	resets   int
	closed   int
	blocked  chan struct{} // receives when a "block" request sees its ctx cancelled
	started  chan struct{} // receives when a "block" request starts
	rejectDB string
}

func newFakeHandler() *fakeHandler {
	return &fakeHandler{blocked: make(chan struct{}, 16), started: make(chan struct{}, 16)}
}

func (h *fakeHandler) Login(_ context.Context, req *LoginRequest) (Session, error) {
	h.mu.Lock()
	h.logins = append(h.logins, *req)
	h.mu.Unlock()
	switch {
	case req.SSPI != nil:
		if err := sspiRoundTrip(req); err != nil {
			return nil, &Error{Number: 18452, State: 1, Class: 14, Message: "Login failed. " + err.Error()}
		}
	case req.FedAuthToken != "":
		if !strings.HasPrefix(req.FedAuthToken, testToken) {
			return nil, errors.New("bad token")
		}
	case req.UserName != testUser || req.Password != testPassword:
		return nil, &Error{Number: 18456, State: 8, Class: 14, Message: fmt.Sprintf("Login failed for user '%s'.", req.UserName)}
	}
	if h.rejectDB != "" && strings.EqualFold(req.Database, h.rejectDB) {
		return nil, &Error{Number: 4060, State: 1, Class: 11, Message: fmt.Sprintf("Cannot open database \"%s\" requested by the login. The login failed.", req.Database)}
	}
	return &fakeSession{h: h}, nil
}

func (h *fakeHandler) loginCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.logins)
}

func (h *fakeHandler) lastLogin() LoginRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.logins[len(h.logins)-1]
}

func (h *fakeHandler) lastRPC() *RPCRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.rpcs) == 0 {
		return nil
	}
	return h.rpcs[len(h.rpcs)-1]
}

type fakeSession struct{ h *fakeHandler }

var intCol = []Column{{Name: "n", Type: Int}}

func (s *fakeSession) Batch(ctx context.Context, sqlText string, w *ResponseWriter) {
	s.h.mu.Lock()
	s.h.batches = append(s.h.batches, sqlText)
	s.h.mu.Unlock()
	q := strings.TrimSuffix(strings.TrimSpace(strings.ToLower(sqlText)), ";")
	switch {
	case q == "select 1":
		w.Result(intCol, [][]any{{1}})
	case q == "two results":
		w.Info(0, 1, 0, "hello from PRINT")
		w.Result([]Column{{Name: "a", Type: NVarChar}}, [][]any{{"x"}, {"y"}})
		w.Result([]Column{{Name: "b", Type: BigInt}, {Name: "c", Type: Bit, Nullable: true}},
			[][]any{{int64(7), true}, {int64(8), nil}})
	case q == "run types":
		w.Result(typesColumns, [][]any{typesRow, make([]any, len(typesColumns))})
	case strings.HasPrefix(q, "big "):
		var n int
		fmt.Sscanf(q, "big %d", &n)
		rows := make([][]any, n)
		for i := range rows {
			rows[i] = []any{i, fmt.Sprintf("row %d %s", i, strings.Repeat("x", i%50)), []byte{byte(i), byte(i >> 8)}}
		}
		w.Result([]Column{{Name: "id", Type: Int}, {Name: "s", Type: NVarChar, Size: 100}, {Name: "b", Type: VarBinary}}, rows)
	case q == "run error":
		w.Error(&Error{Number: 2627, State: 1, Class: 14, Message: "Violation of PRIMARY KEY constraint.", Proc: "p", Line: 3})
	case q == "run insert":
		w.RowsAffected(3)
	case q == "run block":
		s.h.started <- struct{}{}
		<-ctx.Done()
		w.Result(intCol, [][]any{{42}})
		s.h.blocked <- struct{}{}
	case q == "run panic":
		w.Result(intCol, [][]any{{1}})
		panic("boom")
	case strings.HasPrefix(q, "use "):
		w.ChangeDatabase(strings.TrimSpace(sqlText[4:]))
	case q == "run long":
		w.Result([]Column{{Name: "s", Type: NVarChar}, {Name: "m", Type: NVarChar, Size: MaxSize}},
			[][]any{{strings.Repeat("é", 5000), strings.Repeat("é", 5000)}})
	case q == "run badvalue":
		w.Result(intCol, [][]any{{"not a number"}})
	default:
		w.RowsAffected(-1)
	}
}

func (s *fakeSession) RPC(ctx context.Context, req *RPCRequest, w *ResponseWriter) {
	s.h.mu.Lock()
	s.h.rpcs = append(s.h.rpcs, req)
	s.h.mu.Unlock()
	switch strings.ToLower(req.ProcName) {
	case "msdb.dbo.sp_add_job":
		for _, p := range req.Params {
			if p.Output {
				w.ReturnValue(Param{Name: p.Name, TypeName: "uniqueidentifier", Value: testGUID})
			}
		}
		w.ReturnStatus(0)
	case "sp_executesql":
		stmt, _ := req.Params[0].Value.(string)
		switch {
		case strings.Contains(stmt, "error"):
			w.Error(&Error{Number: 50010, Class: 16, Message: "rpc failed"})
		case strings.Contains(stmt, "block"):
			s.h.started <- struct{}{}
			<-ctx.Done()
			s.h.blocked <- struct{}{}
		case strings.Contains(stmt, "output"):
			for _, p := range req.Params[2:] {
				if !p.Output {
					continue
				}
				switch p.TypeName {
				case "nvarchar":
					w.ReturnValue(Param{Name: p.Name, TypeName: p.TypeName, Value: "out:" + fmt.Sprint(p.Value)})
				case "bigint":
					w.ReturnValue(Param{Name: p.Name, TypeName: p.TypeName, Value: p.Value.(int64) * 2})
				case "bit":
					w.ReturnValue(Param{Name: p.Name, TypeName: p.TypeName, Value: !p.Value.(bool)})
				case "varbinary":
					w.ReturnValue(Param{Name: p.Name, TypeName: p.TypeName, Value: append(p.Value.([]byte), 0xFF)})
				case "uniqueidentifier":
					w.ReturnValue(Param{Name: p.Name, TypeName: p.TypeName, Value: testGUID})
				default:
					w.ReturnValue(Param{Name: p.Name, TypeName: p.TypeName, Value: nil})
				}
			}
		default:
			// Echo the parameters back as one row of nvarchar values.
			var cols []Column
			var row []any
			for _, p := range req.Params[2:] {
				cols = append(cols, Column{Name: strings.TrimPrefix(p.Name, "@"), Type: NVarChar, Size: MaxSize, Nullable: true})
				if p.Value == nil {
					row = append(row, nil)
				} else {
					row = append(row, fmt.Sprintf("%s:%v", p.TypeName, p.Value))
				}
			}
			if len(cols) == 0 {
				cols, row = intCol, []any{0}
			}
			w.Result(cols, [][]any{row})
		}
	default:
		w.Error(&Error{Number: 2812, Class: 16, Message: fmt.Sprintf("Could not find stored procedure '%s'.", req.ProcName)})
	}
}

func (s *fakeSession) Transaction(_ context.Context, op TxOp) error {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	s.h.tx = append(s.h.tx, op)
	return nil
}

func (s *fakeSession) ResetSession(context.Context) {
	s.h.mu.Lock()
	s.h.resets++
	s.h.mu.Unlock()
}

func (s *fakeSession) Close() {
	s.h.mu.Lock()
	s.h.closed++
	s.h.mu.Unlock()
}

// testGUID in canonical (RFC 4122) order: 6F9619FF-8B86-D011-B42D-00C04FC964FF.
var testGUID = [16]byte{0x6F, 0x96, 0x19, 0xFF, 0x8B, 0x86, 0xD0, 0x11, 0xB4, 0x2D, 0x00, 0xC0, 0x4F, 0xC9, 0x64, 0xFF}

var typesColumns = []Column{
	{Name: "nv", Type: NVarChar, Size: 10, Nullable: true},
	{Name: "vb", Type: VarBinary, Nullable: true},
	{Name: "ti", Type: TinyInt, Nullable: true},
	{Name: "si", Type: SmallInt, Nullable: true},
	{Name: "i", Type: Int, Nullable: true},
	{Name: "bi", Type: BigInt, Nullable: true},
	{Name: "bit", Type: Bit, Nullable: true},
	{Name: "f", Type: Float, Nullable: true},
	{Name: "r", Type: Real, Nullable: true},
	{Name: "d", Type: Decimal, Precision: 10, Scale: 3, Nullable: true},
	{Name: "dt", Type: DateTime, Nullable: true},
	{Name: "dt2", Type: DateTime2, Nullable: true},
	{Name: "dto", Type: DateTimeOffset, Nullable: true},
	{Name: "date", Type: Date, Nullable: true},
	{Name: "g", Type: UniqueIdentifier, Nullable: true},
}

var typesTime = time.Date(2024, 2, 29, 13, 14, 15, 123456700, time.UTC)

var typesRow = []any{
	"héllo wörld!", // truncated to 10 characters
	[]byte{1, 2, 3},
	uint8(255),
	int16(-32768),
	int32(2147483647),
	int64(-9223372036854775808),
	true,
	3.25,
	float32(1.5),
	"-1234.5678", // rounded to scale 3
	typesTime,
	typesTime,
	typesTime.In(time.FixedZone("", 2*3600+30*60)),
	typesTime,
	testGUID,
}

// testServer is a running server on 127.0.0.1.
type testServer struct {
	srv     *Server
	h       *fakeHandler
	addr    *net.TCPAddr
	served  chan error
	capture *captureListener
}

type serverOption func(*Config)

func startServer(t *testing.T, opts ...serverOption) *testServer {
	t.Helper()
	h := newFakeHandler()
	cfg := Config{Handler: h, ServerName: "TESTSRV", Logger: testLogger(t)}
	for _, o := range opts {
		o(&cfg)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &captureListener{Listener: l}
	ts := &testServer{srv: NewServer(cfg), h: h, addr: l.Addr().(*net.TCPAddr), served: make(chan error, 1), capture: cl}
	go func() { ts.served <- ts.srv.Serve(cl) }()
	t.Cleanup(func() {
		if err := ts.srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-ts.served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return ts
}

// testLogger sends server logs to the test log (only shown on failure or -v).
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// dsn returns an ADO-style connection string for the test server.
func (ts *testServer) dsn(extra string) string {
	s := fmt.Sprintf("server=127.0.0.1;port=%d;user id=%s;password=%s;database=master;dial timeout=5;connection timeout=20",
		ts.addr.Port, testUser, testPassword)
	if extra != "" {
		s += ";" + extra
	}
	return s
}

func (ts *testServer) open(t *testing.T, extra string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlserver", ts.dsn(extra))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// liveConns returns the number of connections the server is serving.
func (ts *testServer) liveConns() int {
	ts.srv.mu.Lock()
	defer ts.srv.mu.Unlock()
	return len(ts.srv.conns)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// captureListener records the bytes received from clients, to check what
// travels in clear text.
type captureListener struct {
	net.Listener
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *captureListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &captureConn{Conn: c, l: l}, nil
}

func (l *captureListener) contains(b []byte) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Contains(l.buf.Bytes(), b)
}

type captureConn struct {
	net.Conn
	l *captureListener
}

// CloseWrite half-closes the TCP connection, as the server does after refusing
// an oversized request.
func (c *captureConn) CloseWrite() error {
	if hc, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return hc.CloseWrite()
	}
	return c.Conn.Close()
}

func (c *captureConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.l.mu.Lock()
	c.l.buf.Write(p[:n])
	c.l.mu.Unlock()
	return n, err
}

// Certificates.

type testCerts struct {
	caPEM     []byte
	caFile    string
	serverTLS *tls.Config // leaf signed by the CA, SANs 127.0.0.1 and localhost
	selfTLS   *tls.Config // self-signed leaf
}

var (
	certsOnce sync.Once
	certs     testCerts
	certsErr  error
)

func getCerts(t *testing.T) testCerts {
	t.Helper()
	certsOnce.Do(func() { certs, certsErr = makeCerts() })
	if certsErr != nil {
		t.Fatal(certsErr)
	}
	c := certs
	c.caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(c.caFile, c.caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

func makeCerts() (testCerts, error) {
	var tc testCerts
	newKey := func() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }
	caKey, err := newKey()
	if err != nil {
		return tc, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sqlsim test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return tc, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return tc, err
	}
	tc.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})

	leaf := func(serial int64, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*tls.Config, error) {
		key, err := newKey()
		if err != nil {
			return nil, err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "localhost"},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			DNSNames:    []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		}
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
		if err != nil {
			return nil, err
		}
		return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, nil
	}
	if tc.serverTLS, err = leaf(2, caCert, caKey); err != nil {
		return tc, err
	}
	if tc.selfTLS, err = leaf(3, nil, nil); err != nil {
		return tc, err
	}
	return tc, nil
}

// buildLogin7 builds a LOGIN7 payload the way go-mssqldb does, for raw
// protocol tests and fuzz seeds.
func buildLogin7(user, password, database string, packetSize uint32, featureExt []byte) []byte {
	hdr := make([]byte, login7FixedLen)
	binary.LittleEndian.PutUint32(hdr[4:], 0x74000004)
	binary.LittleEndian.PutUint32(hdr[8:], packetSize)
	hdr[24] = 0xE0 // fUseDB | fSetLang | ...
	hdr[25] = 0x02 // fODBC
	var data []byte
	off := login7FixedLen
	put := func(pos int, s string, mangle bool) {
		b := encodeUCS2(nil, s)
		if mangle {
			for i, c := range b {
				b[i] = ((c<<4)&0xFF | c>>4) ^ 0xA5
			}
		}
		binary.LittleEndian.PutUint16(hdr[pos:], uint16(off+len(data)))
		binary.LittleEndian.PutUint16(hdr[pos+2:], uint16(len(b)/2))
		data = append(data, b...)
	}
	put(36, "host", false)
	put(40, user, false)
	put(44, password, true)
	put(48, "app", false)
	put(52, "127.0.0.1", false)
	put(60, "raw-test", false)
	put(64, "", false)
	put(68, database, false)
	if len(featureExt) > 0 {
		hdr[27] |= optFlags3Extension
		binary.LittleEndian.PutUint16(hdr[56:], uint16(off+len(data)))
		binary.LittleEndian.PutUint16(hdr[58:], 4)
		extStart := off + len(data) + 4
		data = binary.LittleEndian.AppendUint32(data, uint32(extStart))
		data = append(data, featureExt...)
	}
	msg := append(hdr, data...)
	binary.LittleEndian.PutUint32(msg, uint32(len(msg)))
	return msg
}

// fedAuthFeatureExt builds a FeatureExt block with a security-token FEDAUTH.
func fedAuthFeatureExt(token string) []byte {
	tok := encodeUCS2(nil, token)
	d := []byte{fedAuthLibSecurityToken << 1}
	d = binary.LittleEndian.AppendUint32(d, uint32(len(tok)))
	d = append(d, tok...)
	b := []byte{featFedAuth}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(d)))
	b = append(b, d...)
	return append(b, featTerminator)
}
