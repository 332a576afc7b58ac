package sqlops

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	mssql "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/msdsn"
)

// TLS minimum versions accepted by ConnConfig.TLSMin (go-mssqldb's "tlsmin" setting).
var tlsMins = map[string]uint16{"1.0": tls.VersionTLS10, "1.1": tls.VersionTLS11, "1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}

// ValidTLSMin reports whether s is a TLSMin value ConnConfig accepts ("" included).
func ValidTLSMin(s string) bool { _, ok := tlsMins[s]; return ok || s == "" }

// WeakTLSMin reports whether min lets TLS below 1.2 be negotiated: RFC 8996 deprecates
// TLS 1.0 and 1.1, so a report says when they were allowed.
func WeakTLSMin(min string) bool { return min == "1.0" || min == "1.1" }

// fix names what fixes something: the command-line flag and the wizard field
// (field "" when the wizard has none), e.g. `--sql-ca-cert (wizard: "CA file (PEM)")`.
func (c ConnConfig) fix(flag, field string) string {
	if field == "" {
		return c.flag(flag) + " (command line only)"
	}
	return fmt.Sprintf("%s (wizard: %q)", c.flag(flag), field)
}

// passwordFix names where the password comes from: PasswordSource when set, else
// the variable, the flag and the wizard field.
func (c ConnConfig) passwordFix() string {
	if c.PasswordSource != "" {
		return c.PasswordSource
	}
	p := strings.TrimPrefix(c.flag(""), "--")
	p = strings.TrimSuffix(p, "-")
	return fmt.Sprintf("MILINK_%s_PASSWORD or --%s-password-stdin (wizard: \"Password\")", strings.ToUpper(p), p)
}

// explainConnect turns a failure to reach or handshake with the server into one line
// that says what happened and which flag and wizard field fix it; the driver's own
// text follows in brackets. It returns "" when it has nothing better than the driver.
func explainConnect(ctx context.Context, cfg ConnConfig, err error) (string, []error) {
	msg := err.Error()
	addr := cfg.dialAddress()
	var oe *net.OpError
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("nothing accepts TCP connections on %s (connection refused): check the port, %s or host,port in %s, and that SQL Server runs and listens on TCP there (SQL Server Configuration Manager › TCP/IP)",
			addr, cfg.fix("port", "Port"), cfg.fix("server", "Server")), nil
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("the host name %q does not resolve (%s): check %s", dnsErr.Name, dnsErr.Err, cfg.fix("server", "Server")), nil
	case errors.As(err, &oe) && oe.Op == "dial" && oe.Timeout():
		return fmt.Sprintf("no answer from %s within %s: a firewall or network security group drops the connection, or the host or port is wrong: check %s and %s",
			addr, cfg.dialTimeoutOrDefault(), cfg.fix("server", "Server"), cfg.fix("port", "Port")), nil
	case strings.Contains(msg, "negative serial number"):
		return fmt.Sprintf("the server's TLS certificate has a negative serial number, which Go refuses to read even with %s (SQL Server 2017 and older generate such a certificate for themselves when none is configured): install a proper certificate on the server (SQL Server Configuration Manager › Protocols › Certificate), or run milink with GODEBUG=x509negativeserial=1 in the environment and trust the certificate with %s",
			cfg.fix("trust-server-certificate", "Trust server certificate"), cfg.fix("ca-cert", "CA file (PEM)")), nil
	case strings.Contains(msg, "invalid packet size") || strings.Contains(msg, "expected packet type 4") || strings.Contains(msg, "invalid prelogin option") || strings.Contains(msg, "prelogin terminator"):
		return fmt.Sprintf("something answers on %s but it is not SQL Server (its reply is not a TDS PRELOGIN response): check %s and %s",
			addr, cfg.fix("port", "Port"), cfg.fix("server", "Server")), nil
	case strings.Contains(msg, "server does not support encryption"):
		return fmt.Sprintf("the server at %s does not offer encryption (its Force Encryption is off and it has no certificate), and encrypt=%s needs it: install a certificate on the server (SQL Server Configuration Manager › Protocols › Certificate), or, knowingly, connect without TLS with %s set to disable (reported as a warning)",
			addr, cfg.Encrypt, cfg.fix("encrypt", "Encrypt")), nil
	case cfg.Encrypt == EncryptStrict && strings.Contains(msg, "TLS Handshake failed") && handshakeCut(msg):
		return fmt.Sprintf("the server closed the connection when milink started TLS at once: encrypt=strict needs TDS 8.0 (SQL Server 2022 or later, or a managed instance); for this server use encrypt=true with %s",
			cfg.fix("encrypt", "Encrypt")), nil
	case strings.Contains(msg, "TLS Handshake failed") && (handshakeCut(msg) || strings.Contains(msg, "protocol version")):
		if v, _ := probeHandshake(ctx, cfg, tls.VersionTLS10, tls.VersionTLS11); v != 0 {
			return fmt.Sprintf("the server offers only %s, which milink (like every current client) refuses by default: enable TLS 1.2 on the server (Windows: the SCHANNEL protocol settings and a SQL Server update with TLS 1.2 support), or, knowingly, allow %s with %s (reported as a warning)",
				tlsName(v), tlsName(v), cfg.fix("tls-min "+strings.TrimPrefix(tlsName(v), "TLS "), "")), nil
		}
		return fmt.Sprintf("the server closed the connection during the TLS handshake: check %s and the server's certificate and TLS settings", cfg.fix("encrypt", "Encrypt")), nil
	}
	return cfg.tlsHint(ctx, err)
}

// explainedError is a connection failure explained in one line; it wraps ErrConnect,
// the driver's error and what explainConnect found (ErrTLS, *UntrustedCertError).
type explainedError struct {
	msg  string
	errs []error
}

func (e *explainedError) Error() string   { return e.msg }
func (e *explainedError) Unwrap() []error { return e.errs }

// UntrustedCertError is wrapped when the server's certificate is not trusted (unknown
// authority): SHA256 is its fingerprint, for a front-end to show and, once the user
// accepted it, to connect again with ConnConfig.CertSHA256 = SHA256 and
// TrustOnFirstUse (which records it in the known-servers file).
type UntrustedCertError struct{ SHA256 string }

func (e *UntrustedCertError) Error() string {
	return "the server's certificate (SHA-256 " + e.SHA256 + ") is not trusted"
}

// handshakeCut reports whether the driver's text says the peer hung up during TLS.
func handshakeCut(msg string) bool {
	return strings.HasSuffix(msg, "EOF") || strings.Contains(msg, "connection reset") || strings.Contains(msg, "broken pipe")
}

func tlsName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLS 1.0"
	case tls.VersionTLS11:
		return "TLS 1.1"
	}
	return tls.VersionName(v)
}

var errProbeDone = errors.New("milink: TLS version probe done")

// probeHandshake redoes the PRELOGIN and TLS handshake with go-mssqldb offering TLS
// versions minV to maxV, without sending a login: it returns the version the server
// chose and the SHA-256 fingerprint of its certificate, or 0 and "" when the handshake
// failed. The certificate is not verified: nothing is sent over this connection, the
// VerifyConnection hook ends it.
func probeHandshake(ctx context.Context, cfg ConnConfig, minV, maxV uint16) (uint16, string) {
	probe := cfg
	probe.Encrypt, probe.TLSMin, probe.CertSHA256 = EncryptTrue, "", ""
	params, err := msdsn.Parse(probe.dsn())
	if err != nil || params.TLSConfig == nil {
		return 0, ""
	}
	var mu sync.Mutex
	var got uint16
	var fp string
	params.TLSConfig.MinVersion, params.TLSConfig.MaxVersion = minV, maxV
	params.TLSConfig.InsecureSkipVerify = true
	params.TLSConfig.VerifyConnection = func(cs tls.ConnectionState) error {
		mu.Lock()
		defer mu.Unlock()
		got = cs.Version
		if len(cs.PeerCertificates) > 0 {
			fp = Fingerprint(cs.PeerCertificates[0].Raw)
		}
		return errProbeDone
	}
	db := sql.OpenDB(mssql.NewConnectorConfig(params))
	defer db.Close()
	pctx, cancel := context.WithTimeout(ctx, min(5*time.Second, cfg.loginTimeout()))
	defer cancel()
	done := make(chan struct{})
	go func() { _ = db.PingContext(pctx); close(done) }()
	select {
	case <-done:
	case <-pctx.Done():
		return 0, ""
	}
	mu.Lock()
	defer mu.Unlock()
	return got, fp
}

// dialTimeoutOrDefault is DialTimeout or its default, 15 s.
func (c ConnConfig) dialTimeoutOrDefault() time.Duration {
	if c.DialTimeout > 0 {
		return c.DialTimeout
	}
	return 15 * time.Second
}

// explainLogin explains a login the server refused, in one line with the flag and
// wizard field that fix it. SQL Server tells the client state 1 for every 18456; the
// real reason (state 2/5 unknown login, 7 disabled, 8 wrong password, 38 database) is
// only in the server's error log (learn.microsoft.com/sql/relational-databases/errors-events/mssqlserver-18456-database-engine-error).
func explainLogin(cfg ConnConfig, me mssql.Error) string {
	text := me.Message
	switch {
	case me.Number == 18456 && (strings.Contains(text, "only authentication is enabled") || strings.Contains(text, "Entra-only authentication")):
		return fmt.Sprintf("the server accepts only Microsoft Entra ID logins (Entra-only authentication is enabled), not SQL logins: sign in with Entra ID, %s (e.g. device-code)",
			ConnConfig{Role: "managed instance"}.fix("auth", "Authentication"))
	case me.Number == 18456:
		why := "wrong user name or password, or the login is disabled or may not connect"
		switch me.State {
		case 2, 5:
			why = "the login does not exist"
		case 7:
			why = "the login is disabled"
		case 8:
			why = "the password is wrong"
		case 38, 40:
			why = "the login cannot open its default database"
		case 1:
			why += " (the server tells clients state 1 only; the real reason is in its error log as 'Login failed … Reason: …' with the true state: 8 = wrong password, 5 = unknown login, 7 = disabled)"
		}
		return fmt.Sprintf("login refused: %s: check %s and the password, %s", why, cfg.fix("user", "User"), cfg.passwordFix())
	case me.Number == 18470:
		return fmt.Sprintf("the login is disabled on the server (ALTER LOGIN … ENABLE), or use another in %s", cfg.fix("user", "User"))
	case me.Number == 18487 || me.Number == 18488:
		return fmt.Sprintf("the login's password has expired or must be changed: change it on the server (ALTER LOGIN … WITH PASSWORD), then give the new one, %s", cfg.passwordFix())
	case me.Number == 4060:
		return fmt.Sprintf("the login cannot open database master: grant it access, or use another login in %s", cfg.fix("user", "User"))
	}
	return ""
}
