package sqlops

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	mssql "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/msdsn"
)

// Encryption modes accepted by ConnConfig.Encrypt.
const (
	EncryptTrue    = "true"    // TLS for the whole session (the default)
	EncryptStrict  = "strict"  // TDS 8 strict encryption
	EncryptFalse   = "false"   // TLS for the login packet only
	EncryptDisable = "disable" // no TLS at all
)

// Errors that callers act upon.
var (
	// ErrAuth is wrapped when the server rejected the credentials (error 18456 and kin).
	ErrAuth = errors.New("authentication failed")
	// ErrConnect is wrapped when the server could not be reached or the TLS handshake failed.
	ErrConnect = errors.New("cannot connect")
)

// TokenProvider returns an Entra access token for the given resource scope; it is the
// seam for Entra authentication (package azureops provides implementations).
type TokenProvider func(ctx context.Context) (string, error)

// ConnConfig describes how to connect to one instance.
type ConnConfig struct {
	Role     string // "SQL Server" or "managed instance", for messages
	Host     string // host, host\INSTANCE, host,port, tcp:host,port (ParseServer)
	Port     int    // 0: the port in Host, else SQL Browser's for an instance, else 1433
	User     string
	Password string `json:"-"` // never serialized, never logged
	// PasswordSource says where Password came from, for the hints of a refused login
	// ("the environment variable X (inventory key sql_password_env)"); "" names
	// MILINK_SQL_PASSWORD / MILINK_MI_PASSWORD, --*-password-stdin and the wizard's field.
	PasswordSource         string `json:"-"`
	Database               string // default "master"
	Encrypt                string // EncryptTrue (default), EncryptStrict, EncryptFalse, EncryptDisable
	TrustServerCertificate bool   // skip certificate validation (reported as a warning)
	CACertFile             string // PEM file of the CA (or server certificate) to trust
	HostNameInCertificate  string
	// TLSMin is the lowest TLS version allowed: "" (go-mssqldb's default, TLS 1.2),
	// "1.0", "1.1", "1.2" or "1.3"; below 1.2 is reported as a warning (WeakTLSMin).
	TLSMin string
	// CertSHA256 pins the server certificate: the hex SHA-256 of its DER must match, and
	// then it replaces CA and host name verification (see pin.go).
	CertSHA256 string
	// TrustOnFirstUse accepts the certificate of a server the known-servers file
	// (KnownServersFile, default StateDir/known_servers) does not know yet and records
	// its fingerprint; a server it knows is always checked against it.
	TrustOnFirstUse  bool
	KnownServersFile string
	// PinNote is set by Open when it recorded the certificate on first use: what it
	// recorded where, for the report.
	PinNote      string        `json:"-"`
	DialTimeout  time.Duration // TCP connect timeout (default 15s)
	LoginTimeout time.Duration // time allowed for the whole login (default 30s)
	AppName      string
	// ReconnectWindow is how long polling and cleanup keep reconnecting, with backoff,
	// after the connection was lost before they give up (default DefaultReconnectWindow).
	ReconnectWindow time.Duration
	Token           TokenProvider `json:"-"` // when set, Entra token authentication is used instead of SQL authentication
	// Auth is the authentication method: AuthSQL ("" too), AuthWindows, AuthKerberos or
	// AuthNTLM (winauth.go). Windows logins use Krb5Conf (krb5.conf, default
	// KRB5_CONFIG or /etc/krb5.conf), Krb5Keytab (a keytab for User instead of the
	// ticket cache), Krb5CCache (default DefaultCCache) and SPN (default ServerSPN).
	Auth       string
	Krb5Conf   string
	Krb5Keytab string
	Krb5CCache string
	SPN        string
}

// Validate checks the connection settings before any connection is attempted.
func (c ConnConfig) Validate() error {
	role := c.Role
	if role == "" {
		role = "server"
	}
	if err := c.validateServer(); err != nil {
		return fmt.Errorf("%s: %w", role, err)
	}
	if c.Port != 0 {
		if err := ValidatePort(c.Port); err != nil {
			return fmt.Errorf("%s: %w", role, err)
		}
	}
	if c.Token == nil {
		if err := c.validateAuth(); err != nil {
			return fmt.Errorf("%s: %w", role, err)
		}
		if len(c.User) > 128 {
			return fmt.Errorf("%s: %w: user name is longer than 128 characters", role, ErrInvalidInput)
		}
		if len(c.Password) > 128 {
			return fmt.Errorf("%s: %w: password is longer than 128 characters", role, ErrInvalidInput)
		}
	}
	switch c.Encrypt {
	case "", EncryptTrue, EncryptStrict, EncryptFalse, EncryptDisable:
	default:
		return fmt.Errorf("%s: %w: encrypt must be true, strict, false or disable, not %q", role, ErrInvalidInput, c.Encrypt)
	}
	if !ValidTLSMin(c.TLSMin) {
		return fmt.Errorf("%s: %w: %s must be 1.0, 1.1, 1.2 or 1.3, not %q", role, ErrInvalidInput, c.flag("tls-min"), c.TLSMin)
	}
	if err := c.ValidatePin(); err != nil {
		return fmt.Errorf("%s: %w", role, err)
	}
	if c.Database != "" {
		if err := ValidateDatabaseName(c.Database); err != nil {
			return fmt.Errorf("%s: %w", role, err)
		}
	}
	return nil
}

// Address describes where c connects, as the user wrote it: host:port, host\INSTANCE
// before SQL Browser resolved the instance, host\INSTANCE (port N) after.
func (c ConnConfig) Address() string { return c.server().String() }

// dialAddress is the host:port go-mssqldb dials (the default 1433 when none is known).
func (c ConnConfig) dialAddress() string {
	a := c.server()
	p := a.Port
	if p == 0 {
		p = 1433
	}
	return net.JoinHostPort(a.Host, strconv.Itoa(p))
}

// dsn builds the go-mssqldb URL. It contains the password and must never be logged.
func (c ConnConfig) dsn() string {
	q := url.Values{}
	db := c.Database
	if db == "" {
		db = "master"
	}
	q.Set("database", db)
	enc := c.Encrypt
	if enc == "" {
		enc = EncryptTrue
	}
	q.Set("encrypt", enc)
	if c.TrustServerCertificate {
		q.Set("TrustServerCertificate", "true")
	}
	if c.CACertFile != "" {
		q.Set("certificate", c.CACertFile)
	}
	if c.HostNameInCertificate != "" {
		q.Set("hostNameInCertificate", c.HostNameInCertificate)
	}
	if c.TLSMin != "" {
		q.Set("tlsmin", c.TLSMin)
	}
	dial := c.DialTimeout
	if dial <= 0 {
		dial = 15 * time.Second
	}
	q.Set("dial timeout", strconv.Itoa(int(max(1, dial.Round(time.Second)/time.Second))))
	// go-mssqldb's "connection timeout" (v1.11.2, net.go timeoutConn) is a deadline set
	// before every read and write of the socket: a server (or anything in between) that
	// stops answering during PRELOGIN, TLS, LOGIN7 or a query fails after it instead of
	// hanging forever. milink's queries answer in milliseconds, so the login timeout is a
	// generous bound for each of them too. It is one second longer than the login
	// timeout, so a login that stalls is reported by Open's own login deadline.
	q.Set("connection timeout", strconv.Itoa(int((c.loginTimeout()+time.Second-1)/time.Second)+1))
	app := c.AppName
	if app == "" {
		app = "milink"
	}
	q.Set("app name", app)
	u := url.URL{Scheme: "sqlserver", Host: c.dialAddress(), RawQuery: q.Encode()}
	if c.Token == nil {
		c.setAuth(q, &u)
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// DefaultReconnectWindow is ConnConfig.ReconnectWindow's default: 60 s, long enough for
// a failover or a network blip, short enough that a dead server is reported.
const DefaultReconnectWindow = 60 * time.Second

// loginTimeout is LoginTimeout or its default, 30 s.
func (c ConnConfig) loginTimeout() time.Duration {
	if c.LoginTimeout > 0 {
		return c.LoginTimeout
	}
	return 30 * time.Second
}

// reconnectWindow is ReconnectWindow or its default.
func (c ConnConfig) reconnectWindow() time.Duration {
	if c.ReconnectWindow > 0 {
		return c.ReconnectWindow
	}
	return DefaultReconnectWindow
}

// Conn is an open connection pool to one instance. Key marks and recognises milink's
// objects (nil: DefaultKey, this user's key, loaded on first use).
type Conn struct {
	DB   *sql.DB
	Cfg  ConnConfig
	Key  *Key
	role string
}

// key returns c.Key, loading DefaultKey when it is nil.
func (c *Conn) key() (*Key, error) {
	if c.Key != nil {
		return c.Key, nil
	}
	return DefaultKey() // cached by LoadKey; c.Key is not written, so c stays safe to share
}

// OwnerKey returns the key that marks and recognises milink's objects on c (c.Key, or
// this user's key from StateDir, created on first use); errors: the state directory or
// key file cannot be read or created, or the key file is unsafe.
func (c *Conn) OwnerKey() (*Key, error) { return c.key() }

// Open connects to the instance described by cfg and checks the login.
func Open(ctx context.Context, cfg ConnConfig) (*Conn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	lt := cfg.loginTimeout()
	pctx, cancel := context.WithTimeout(ctx, lt)
	defer cancel()
	if a := cfg.server(); a.Instance != "" && a.Port == 0 {
		// host\INSTANCE: SQL Browser gives the port, within the login timeout.
		port, err := cfg.resolveInstance(pctx, a.Host, a.Instance)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s %s: %w: %w", cfg.Role, cfg.Address(), ErrConnect, ctx.Err())
			}
			return nil, fmt.Errorf("%s %s: %w: %w", cfg.Role, cfg.Address(), ErrConnect, err)
		}
		cfg.Port = port
	}
	if cfg.Token == nil {
		if err := cfg.checkTicketCache(time.Now()); err != nil {
			return nil, fmt.Errorf("%s %s: %w", cfg.Role, cfg.Address(), err)
		}
	}
	params, err := msdsn.Parse(cfg.dsn())
	if err != nil {
		return nil, fmt.Errorf("%s %s: connection settings: %w", cfg.Role, cfg.Address(), err)
	}
	pin, err := cfg.applyPin(&params)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", cfg.Role, cfg.Address(), err)
	}
	var connector *mssql.Connector
	if cfg.Token != nil {
		tp := cfg.Token
		connector, err = mssql.NewSecurityTokenConnector(params, func(ctx context.Context) (string, error) { return tp(ctx) })
		if err != nil {
			return nil, fmt.Errorf("%s %s: connection settings: %w", cfg.Role, cfg.Address(), err)
		}
	} else {
		connector = mssql.NewConnectorConfig(params)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(time.Minute)
	// go-mssqldb does not watch the context once the TCP connection is up (PRELOGIN,
	// TLS and LOGIN7 are bounded only by "connection timeout"), so the login runs aside
	// and Open returns as soon as ctx ends or the login timeout passes; the abandoned
	// login ends by its socket deadline and closes its pool.
	done := make(chan error, 1)
	go func() { done <- db.PingContext(pctx) }()
	select {
	case err = <-done:
	case <-pctx.Done():
		go func() { <-done; db.Close() }()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s %s: %w: %w", cfg.Role, cfg.Address(), ErrConnect, ctx.Err())
		}
		return nil, fmt.Errorf("%s %s: %w: the server did not complete the login within %s (is it overloaded, or is something between us holding the connection?)", cfg.Role, cfg.Address(), ErrConnect, lt)
	}
	if err != nil {
		db.Close()
		if pctx.Err() != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("%s %s: %w: the server did not complete the login within %s (is it overloaded, or is something between us holding the connection?)", cfg.Role, cfg.Address(), ErrConnect, lt)
		}
		if perr := pin.err(); perr != nil {
			return nil, fmt.Errorf("%s %s: %w: %w", cfg.Role, cfg.Address(), ErrConnect, perr)
		}
		return nil, classifyConnectError(ctx, cfg, err)
	}
	note, err := pin.recordFirstUse()
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("%s %s: %w", cfg.Role, cfg.Address(), err)
	}
	if note != "" {
		cfg.PinNote = note
	}
	return &Conn{DB: db, Cfg: cfg, role: cfg.Role}, nil
}

// Close releases the connection pool.
func (c *Conn) Close() error { return c.DB.Close() }

// classifyConnectError explains why the connection or login failed in one line that
// names the flag and wizard field that fix it, with the driver's text in brackets.
func classifyConnectError(ctx context.Context, cfg ConnConfig, err error) error {
	if cfg.Token == nil {
		if why := explainWindowsAuth(cfg, err); why != "" {
			return &explainedError{msg: fmt.Sprintf("%s %s: %v: %s [%v]", cfg.Role, cfg.Address(), ErrAuth, why, err),
				errs: []error{ErrAuth, err}}
		}
	}
	var me mssql.Error
	if errors.As(err, &me) {
		switch me.Number {
		case 18456, 18452, 18470, 18486, 18487, 18488, 4060:
			if why := explainLogin(cfg, me); why != "" {
				return fmt.Errorf("%s %s: %w: %s [error %d: %s]", cfg.Role, cfg.Address(), ErrAuth, why, me.Number, me.Message)
			}
			return fmt.Errorf("%s %s: %w: %s (error %d)", cfg.Role, cfg.Address(), ErrAuth, me.Message, me.Number)
		}
		return fmt.Errorf("%s %s: login: %w", cfg.Role, cfg.Address(), err)
	}
	if why, extra := explainConnect(ctx, cfg, err); why != "" {
		return &explainedError{msg: fmt.Sprintf("%s %s: %v: %s [%v]", cfg.Role, cfg.Address(), ErrConnect, why, err),
			errs: append([]error{ErrConnect, err}, extra...)}
	}
	return fmt.Errorf("%s %s: %w: %w", cfg.Role, cfg.Address(), ErrConnect, err)
}

// ErrTLS is wrapped when the server's certificate could not be verified.
var ErrTLS = errors.New("TLS certificate not trusted")

// tlsHint explains a certificate verification failure and what to do about it.
func (c ConnConfig) tlsHint(ctx context.Context, err error) (string, []error) {
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var ve *tls.CertificateVerificationError
	msg := err.Error()
	switch {
	case errors.As(err, &he), strings.Contains(msg, "x509: certificate is valid for"), strings.Contains(msg, "not valid for any names"):
		return fmt.Sprintf("the server's TLS certificate does not name this host: connect with a name in the certificate, %s, or give the name it has with %s", c.fix("server", "Server"), c.fix("hostname-in-certificate", "")), nil
	case errors.As(err, &ua), errors.As(err, &ve) && ve.Err != nil && strings.Contains(ve.Err.Error(), "unknown authority"),
		strings.Contains(msg, "certificate signed by unknown authority"):
		fp, extra := "its SHA-256 fingerprint", []error{ErrTLS}
		if _, seen := probeHandshake(ctx, c, tls.VersionTLS12, tls.VersionTLS13); seen != "" {
			fp = "its SHA-256 fingerprint " + seen + " (check it with the server's administrator)"
			extra = append(extra, &UntrustedCertError{SHA256: seen})
		}
		return fmt.Sprintf("the server's TLS certificate is signed by an authority this machine does not trust: give its CA certificate (PEM) with %s, or pin %s with %s or %s, or, knowingly, %s (reported as a warning)",
			c.fix("ca-cert", "CA file (PEM)"), fp, c.fix("cert-sha256", ""), c.fix("trust-cert-on-first-use", ""), c.fix("trust-server-certificate", "Trust server certificate")), extra
	case errors.As(err, &ci):
		return "the server's TLS certificate is invalid (" + ci.Error() + "): renew it on the server, or knowingly " + c.fix("trust-server-certificate", "Trust server certificate"), nil
	case strings.Contains(msg, "x509:") || strings.Contains(msg, "tls:"):
		return "the TLS handshake failed: check " + c.fix("encrypt", "Encrypt") + " (strict needs TDS 8 / SQL Server 2022) and the server's certificate", nil
	}
	return "", nil
}

// SQLError returns the SQL Server error number in err, or 0.
func SQLError(err error) int32 {
	var me mssql.Error
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// Transient reports whether err looks like a lost connection rather than an answer from
// the server: retrying on a fresh connection may succeed.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if SQLError(err) != 0 || errors.Is(err, ErrNotOurs) || errors.Is(err, ErrInvalidInput) || errors.Is(err, ErrStillThere) || errors.Is(err, ErrKey) || errors.Is(err, ErrLive) {
		return false
	}
	return true
}

// RetryWithin runs f until it succeeds, fails with an error that is not Transient, ctx
// ends or window (from now) has passed, waiting 100 ms, 200 ms, ... up to 2 s between
// attempts (never past the window); it returns f's last error. Polling and cleanup use
// it with ConnConfig.ReconnectWindow so a short loss of the connection is ridden out:
// *sql.DB opens a new connection for the next attempt once the old one broke.
//
// The first time an attempt fails with a Transient error and RetryWithin waits for the
// server to come back, it calls the ReconnectNotice of ctx (WithReconnectNotice), if any.
func RetryWithin(ctx context.Context, window time.Duration, f func() error) error {
	end := time.Now().Add(window)
	wait := 100 * time.Millisecond
	noticed := false
	for {
		err := f()
		left := time.Until(end)
		if !Transient(err) || left <= 0 {
			return err
		}
		if n, ok := ctx.Value(reconnectNoticeKey{}).(ReconnectNotice); ok && !noticed && ctx.Err() == nil {
			noticed = true
			n(err, window, end)
		}
		t := time.NewTimer(min(wait, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*time.Second, wait*2)
	}
}

// ReconnectNotice is told that RetryWithin lost the connection (err, the failed
// attempt's error) and keeps trying for window, until until, for the server to come
// back. It is called once per RetryWithin call, from the caller's goroutine.
type ReconnectNotice func(err error, window time.Duration, until time.Time)

type reconnectNoticeKey struct{}

// WithReconnectNotice returns ctx carrying n, which RetryWithin calls when it starts
// waiting for a lost server to come back: so that a run can say what it waits for
// instead of being silent for the whole reconnect window.
func WithReconnectNotice(ctx context.Context, n ReconnectNotice) context.Context {
	return context.WithValue(ctx, reconnectNoticeKey{}, n)
}

// Retry runs f up to attempts times while it fails with a Transient error, waiting
// 100ms, 200ms, 400ms, ... between attempts, and returns its last error.
func Retry(ctx context.Context, attempts int, f func() error) error {
	wait := 100 * time.Millisecond
	var err error
	for i := 0; i < attempts; i++ {
		if err = f(); !Transient(err) {
			return err
		}
		if i == attempts-1 {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait *= 2
	}
	return err
}

// String describes the connection without its password, so a ConnConfig printed with
// %v or %+v, in a panic or a log line, never shows the secret.
func (c ConnConfig) String() string {
	auth := "sql login " + c.User
	if c.Token != nil {
		auth = "entra token"
	}
	return fmt.Sprintf("%s %s (%s, encrypt=%s, trust=%v)", c.Role, c.Address(), auth, c.Encrypt, c.TrustServerCertificate)
}

// GoString is String for %#v.
func (c ConnConfig) GoString() string { return "sqlops.ConnConfig{" + c.String() + "}" }

// LogValue is String for log/slog.
func (c ConnConfig) LogValue() slog.Value { return slog.StringValue(c.String()) }

// ReconnectWindowOrDefault is ReconnectWindow, or DefaultReconnectWindow when it is
// not set.
func (c ConnConfig) ReconnectWindowOrDefault() time.Duration { return c.reconnectWindow() }
