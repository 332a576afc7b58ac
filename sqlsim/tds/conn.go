package tds

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// conn is one client connection.
type conn struct {
	srv  *Server
	nc   net.Conn
	raw  *bufio.Reader // buffered reads from nc; TLS reads go through it too
	log  *slog.Logger
	spid uint16

	pr packetReader // used by the login code, then only by readLoop
	pw packetWriter // used by the login code, then only by the request loop

	tdsVersion uint32
	state      connState
	sess       Session
	txDesc     uint64 // current transaction descriptor, 0 outside a transaction
	txCounter  uint64

	// Attention handling, shared between readLoop and the request loop.
	mu          sync.Mutex
	attnPending bool
	cancelReq   context.CancelFunc
	attnWake    chan struct{}
	reqs        chan message
}

func newConn(s *Server, nc net.Conn, spid uint16) *conn {
	c := &conn{
		srv:      s,
		nc:       nc,
		raw:      bufio.NewReaderSize(nc, 16<<10),
		spid:     spid,
		log:      s.log.With("remote", nc.RemoteAddr().String(), "spid", spid),
		attnWake: make(chan struct{}, 1),
		reqs:     make(chan message, 4),
	}
	c.pr = packetReader{r: c.raw, maxSize: s.cfg.MaxRequestSize}
	c.pw = packetWriter{w: nc, packetSize: defaultPacketSize, spid: spid}
	return c
}

// serve runs the connection until the client leaves or the server closes it.
func (c *conn) serve() {
	defer c.srv.untrack(c)
	defer c.nc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	if err := c.login(ctx); err != nil {
		if isDisconnect(err) {
			c.log.Debug("tds: client left during login", "err", err)
		} else {
			c.log.Info("tds: login failed", "err", err)
		}
		return
	}
	defer c.sess.Close()
	c.run(ctx, cancel)
}

// isDisconnect reports errors caused by the peer or the server closing the connection.
func isDisconnect(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}

// login performs PRELOGIN, the optional TLS handshake and LOGIN7.
func (c *conn) login(ctx context.Context) error {
	if d := c.srv.cfg.LoginTimeout; d > 0 {
		deadline := time.Now().Add(d)
		if err := c.nc.SetDeadline(deadline); err != nil {
			return fmt.Errorf("tds: setting login deadline: %w", err)
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	if err := c.prelogin(); err != nil {
		return err
	}
	if err := c.login7(ctx); err != nil {
		return err
	}
	if err := c.nc.SetDeadline(time.Time{}); err != nil {
		return fmt.Errorf("tds: clearing login deadline: %w", err)
	}
	return nil
}

// prelogin answers the client's PRELOGIN and starts TLS when negotiated.
func (c *conn) prelogin() error {
	if b, err := c.raw.Peek(1); err == nil && b[0] == 0x16 {
		return errors.New("tds: client started with a TLS handshake (TDS 8.0 strict encryption is not supported)")
	}
	msg, err := c.pr.readMessage()
	if err != nil {
		return fmt.Errorf("tds: reading PRELOGIN: %w", err)
	}
	if msg.typ != pktPrelogin {
		return fmt.Errorf("tds: expected PRELOGIN, got packet type %#x", msg.typ)
	}
	pl, err := parsePrelogin(msg.data)
	if err != nil {
		return err
	}
	clientEnc := encryptNotSup
	if pl.hasEncryption {
		clientEnc = pl.encryption
	}
	enc := negotiateEncryption(clientEnc, c.srv.tlsConfig != nil)
	pv := c.srv.cfg.ProgVersion
	resp := map[byte][]byte{
		preVersion:    {pv[0], pv[1], pv[2], pv[3], 0, 0},
		preEncryption: {enc},
		preInstOpt:    {0},
		preThreadID:   binary.BigEndian.AppendUint32(nil, uint32(c.spid)),
		preMARS:       {0},
	}
	if pl.fedAuthPresent {
		var required byte
		if c.srv.cfg.RequireFedAuth {
			required = 1
		}
		resp[preFedAuthRequired] = []byte{required}
	}
	if err := c.pw.writeMessage(pktReply, buildPrelogin(resp)); err != nil {
		return fmt.Errorf("tds: sending PRELOGIN response: %w", err)
	}
	c.log.Debug("tds: prelogin", "client_encryption", clientEnc, "encryption", enc, "mars", pl.mars)
	if enc == encryptOn || enc == encryptOff {
		return c.startTLS(enc == encryptOff)
	}
	return nil
}

// startTLS runs the TLS handshake inside PRELOGIN packets and switches the
// TDS transport to TLS. With loginOnly (client asked for ENCRYPT_OFF) only the
// first LOGIN7 packet is encrypted; everything after it is plain, exactly as
// the client switches after sending that packet.
func (c *conn) startTLS(loginOnly bool) error {
	hs := &handshakeConn{Conn: c.nc, r: c.raw,
		pw: packetWriter{w: c.nc, packetSize: defaultPacketSize, spid: c.spid}}
	sw := &switchConn{Conn: c.nc, rw: hs}
	tc := tls.Server(sw, c.srv.tlsConfig)
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("tds: TLS handshake: %w", err)
	}
	if err := hs.flush(); err != nil {
		return fmt.Errorf("tds: finishing TLS handshake: %w", err)
	}
	if len(hs.in) > 0 {
		return errors.New("tds: unexpected data after the TLS handshake")
	}
	c.pr.r, c.pw.w = tc, tc
	if loginOnly {
		sw.rw = rawRW{r: &recordReader{r: c.raw}, w: c.nc}
		c.pr.afterFirst = func() { c.pr.r, c.pw.w = c.raw, c.nc }
	} else {
		sw.rw = rawRW{r: c.raw, w: c.nc}
	}
	return nil
}

// login7 reads LOGIN7 (and the FEDAUTH_TOKEN exchange), asks the Handler to
// authenticate and sends the login response.
func (c *conn) login7(ctx context.Context) error {
	msg, err := c.pr.readMessage()
	c.pr.afterFirst = nil
	if err != nil {
		return fmt.Errorf("tds: reading LOGIN7: %w", err)
	}
	if msg.typ != pktLogin7 {
		return fmt.Errorf("tds: expected LOGIN7, got packet type %#x", msg.typ)
	}
	l, err := parseLogin7(msg.data)
	if err != nil {
		return err
	}
	c.pw.packetSize = negotiatePacketSize(l.packetSize)
	ver, ok := ackVersion(l.tdsVersion)
	if !ok {
		return c.refuseLogin(&Error{Number: 18452, State: 1, Class: 14, Message: fmt.Sprintf(
			"Login failed. TDS version %#08x is not supported; 7.2 or later is required.", l.tdsVersion)})
	}
	c.tdsVersion = ver
	integrated := l.optionFlags2&optFlags2IntSecurity != 0 || len(l.sspi) > 0
	if integrated && (!c.srv.cfg.IntegratedAuth || len(l.sspi) == 0) {
		return c.refuseLogin(&Error{Number: 18452, State: 1, Class: 14, Message: "Login failed. " +
			"The login is from an untrusted domain and cannot be used with Integrated authentication."})
	}
	token, err := c.fedAuthToken(l)
	if err != nil {
		return err
	}
	if c.srv.cfg.RequireFedAuth && token == "" {
		return c.refuseLogin(loginFailed(l.userName))
	}
	req := &LoginRequest{
		UserName: l.userName, Password: l.password, Database: l.database, AppName: l.appName,
		HostName: l.hostName, ServerName: l.serverName, Language: l.language,
		TDSVersion: l.tdsVersion, PacketSize: uint32(c.pw.packetSize),
		FedAuthToken: token, RemoteAddr: c.nc.RemoteAddr(),
	}
	if integrated {
		req.SSPI = l.sspi
		req.SSPIExchange = c.sspiExchange
	}
	sess, err := c.callLogin(ctx, req)
	if err != nil {
		var te *Error
		if !errors.As(err, &te) {
			c.log.Info("tds: handler rejected login", "user", l.userName, "err", err)
			te = loginFailed(l.userName)
		}
		return c.refuseLogin(te)
	}
	c.sess = sess
	c.state = connState{database: l.database, language: l.language}
	if c.state.database == "" {
		c.state.database = "master"
	}
	if c.state.language == "" {
		c.state.language = "us_english"
	}
	if err := c.pw.writeMessage(pktReply, c.loginResponse(l)); err != nil {
		sess.Close()
		return fmt.Errorf("tds: sending login response: %w", err)
	}
	c.log.Debug("tds: login", "user", l.userName, "database", c.state.database,
		"tds_version", fmt.Sprintf("%#x", ver), "packet_size", c.pw.packetSize)
	return nil
}

// callLogin runs Handler.Login, turning a panic into an error.
func (c *conn) callLogin(ctx context.Context, req *LoginRequest) (sess Session, err error) {
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("tds: Handler.Login panicked", "panic", p)
			sess, err = nil, fmt.Errorf("tds: Handler.Login panicked: %v", p)
		}
	}()
	sess, err = c.srv.cfg.Handler.Login(ctx, req)
	if err == nil && sess == nil {
		err = errors.New("tds: Handler.Login returned neither a session nor an error")
	}
	return sess, err
}

// fedAuthToken returns the federated authentication token of the login, if
// any, running the FEDAUTHINFO / FEDAUTH_TOKEN exchange for the ADAL workflow.
func (c *conn) fedAuthToken(l *login7) (string, error) {
	fa := l.fedAuth
	if fa == nil {
		return "", nil
	}
	if fa.library == fedAuthLibSecurityToken {
		return fa.token, nil
	}
	info := appendFedAuthInfo(nil, c.srv.cfg.FedAuthSTSURL, c.srv.cfg.FedAuthSPN)
	if err := c.pw.writeMessage(pktReply, info); err != nil {
		return "", fmt.Errorf("tds: sending FEDAUTHINFO: %w", err)
	}
	msg, err := c.pr.readMessage()
	if err != nil {
		return "", fmt.Errorf("tds: reading FEDAUTH_TOKEN: %w", err)
	}
	if msg.typ != pktFedAuthToken {
		return "", fmt.Errorf("tds: expected FEDAUTH_TOKEN, got packet type %#x", msg.typ)
	}
	return parseFedAuthToken(msg.data)
}

// sspiExchange sends tok in an SSPI token (MS-TDS 2.2.7.22: 0xED, USHORT
// length, data) and reads the client's SSPI message (packet type 0x11).
func (c *conn) sspiExchange(tok []byte) ([]byte, error) {
	if len(tok) > 0xFFFF {
		return nil, fmt.Errorf("tds: SSPI token of %d bytes is too long", len(tok))
	}
	b := []byte{tokSSPI, byte(len(tok)), byte(len(tok) >> 8)}
	b = append(b, tok...)
	if err := c.pw.writeMessage(pktReply, b); err != nil {
		return nil, fmt.Errorf("tds: sending SSPI token: %w", err)
	}
	msg, err := c.pr.readMessage()
	if err != nil {
		return nil, fmt.Errorf("tds: reading SSPI message: %w", err)
	}
	if msg.typ != pktSSPI {
		return nil, fmt.Errorf("tds: expected an SSPI message, got packet type %#x", msg.typ)
	}
	return msg.data, nil
}

// loginFailed is SQL Server's generic authentication failure.
func loginFailed(user string) *Error {
	return &Error{Number: 18456, State: 1, Class: 14, Message: fmt.Sprintf("Login failed for user '%s'.", user)}
}

// refuseLogin sends an ERROR and a DONE with the error bit; the caller then
// closes the connection.
func (c *conn) refuseLogin(e *Error) error {
	class := e.Class
	if class == 0 {
		class = 14
	}
	b := appendMessage(nil, tokError, e.Number, max(e.State, 1), class, e.Message, c.srv.cfg.ServerName, e.Proc, max(e.Line, 1))
	b = appendDone(b, tokDone, doneError, cmdNone, 0)
	if err := c.pw.writeMessage(pktReply, b); err != nil {
		return fmt.Errorf("tds: sending login error: %w", err)
	}
	return fmt.Errorf("tds: login refused: %w", e)
}

// loginResponse builds the successful login reply in SQL Server's order.
func (c *conn) loginResponse(l *login7) []byte {
	name := c.srv.cfg.ServerName
	db, lang := c.state.database, c.state.language
	b := appendEnvChangeString(nil, envDatabase, db, "master")
	b = appendMessage(b, tokInfo, 5701, 2, 0, fmt.Sprintf("Changed database context to '%s'.", db), name, "", 1)
	b = appendEnvChangeBytes(b, envSQLCollation, collationLatin1[:], nil)
	b = appendEnvChangeString(b, envLanguage, lang, "")
	b = appendMessage(b, tokInfo, 5703, 1, 0, fmt.Sprintf("Changed language setting to %s.", lang), name, "", 1)
	b = appendLoginAck(b, c.tdsVersion, c.srv.cfg.ProgVersion)
	if l.optionFlags3&optFlags3Extension != 0 {
		var acks []featureAck
		if l.fedAuth != nil {
			acks = append(acks, featureAck{id: featFedAuth})
		}
		b = appendFeatureExtAck(b, acks)
	}
	b = appendPacketSizeChange(b, c.pw.packetSize)
	return appendDone(b, tokDone, doneFinal, cmdNone, 0)
}
