package sqlops_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
)

const explainPW = "Sim-Passw0rd!" // sa's password in sqlsim.SQLServerDefaults

// startExplainSim starts a simulated SQL Server (login sa) with opts applied.
func startExplainSim(t *testing.T, mut func(*sqlsim.Options)) *sqlsim.Instance {
	t.Helper()
	in, _ := startSim(t, nil, mut)
	return in
}

// simCert makes a certificate as o says and writes its PEM to a file.
func simCert(t *testing.T, o sqlsim.CertOptions) (tls.Certificate, string) {
	t.Helper()
	cert, pemBytes, err := sqlsim.NewCertificate(o)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(f, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, f
}

func openExplain(t *testing.T, cfg ConnConfig) (*Conn, error) {
	t.Helper()
	if cfg.Role == "" {
		cfg.Role = "SQL Server"
	}
	if cfg.User == "" {
		cfg.User, cfg.Password = "sa", explainPW
	}
	cfg.LoginTimeout = 5 * time.Second
	cfg.KnownServersFile = filepath.Join(t.TempDir(), "known_servers")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Open(ctx, cfg)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// wantExplained checks err is one line that contains every want.
func wantExplained(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("connected; want an error")
	}
	msg := err.Error()
	t.Log(msg)
	if strings.Contains(msg, "\n") {
		t.Errorf("message is not one line:\n%s", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("message lacks %q:\n%s", w, msg)
		}
	}
}

// TestExplainOldTLS: a server that speaks only TLS 1.0/1.1 is named as such, with the
// warned opt-in; the opt-in then connects.
func TestExplainOldTLS(t *testing.T) {
	cert, ca := simCert(t, sqlsim.CertOptions{})
	in := startExplainSim(t, func(o *sqlsim.Options) {
		o.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
	})
	cfg := ConnConfig{Host: in.Host(), Port: in.Port(), CACertFile: ca}
	_, err := openExplain(t, cfg)
	wantExplained(t, err, "only TLS 1.1", "--sql-tls-min 1.1", "warning", "enable TLS 1.2 on the server")
	if !errors.Is(err, ErrConnect) {
		t.Errorf("not ErrConnect: %v", err)
	}
	cfg.TLSMin = "1.1"
	if _, err := openExplain(t, cfg); err != nil {
		t.Fatalf("with TLSMin 1.1: %v", err)
	}
}

// TestExplainNegativeSerial: SQL Server 2017's self-generated certificate with a
// negative serial is explained, trust-server-certificate does not help, and
// GODEBUG=x509negativeserial=1 (what the message offers) does.
func TestExplainNegativeSerial(t *testing.T) {
	cert, _ := simCert(t, sqlsim.CertOptions{NegativeSerial: true, CommonName: "SSL_Self_Signed_Fallback"})
	in := startExplainSim(t, func(o *sqlsim.Options) {
		o.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	})
	cfg := ConnConfig{Host: in.Host(), Port: in.Port(), TrustServerCertificate: true}
	_, err := openExplain(t, cfg)
	wantExplained(t, err, "negative serial number", "--sql-trust-server-certificate", "GODEBUG=x509negativeserial=1", "--sql-ca-cert", `"CA file (PEM)"`, "proper certificate")
	t.Setenv("GODEBUG", "x509negativeserial=1")
	if _, err := openExplain(t, cfg); err != nil {
		t.Fatalf("with GODEBUG=x509negativeserial=1: %v", err)
	}
}

// TestExplainStrictWithoutTDS8: encrypt=strict against a server without TDS 8.
func TestExplainStrictWithoutTDS8(t *testing.T) {
	in := startExplainSim(t, nil)
	_, err := openExplain(t, ConnConfig{Host: in.Host(), Port: in.Port(), Encrypt: EncryptStrict, TrustServerCertificate: true})
	wantExplained(t, err, "TDS 8.0", "SQL Server 2022", "encrypt=true", "--sql-encrypt", `"Encrypt"`)
}

// TestExplainNotSQLServer: something that answers like an HTTP server is not SQL Server.
func TestExplainNotSQLServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
			c.Close()
		}
	}()
	a := ln.Addr().(*net.TCPAddr)
	_, err = openExplain(t, ConnConfig{Host: "127.0.0.1", Port: a.Port})
	wantExplained(t, err, "not SQL Server", "--sql-port", `"Port"`, "--sql-server", `"Server"`)
}

// TestExplainRefused: nothing listens on the port.
func TestExplainRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	_, err = openExplain(t, ConnConfig{Role: "managed instance", Host: "127.0.0.1", Port: port})
	wantExplained(t, err, "connection refused", "--mi-port", `"Port"`, "--mi-server")
}

// TestExplainWrongPassword: 18456 explained, with where the password comes from and
// what state 1 means.
func TestExplainWrongPassword(t *testing.T) {
	in := startExplainSim(t, nil)
	_, err := openExplain(t, ConnConfig{Host: in.Host(), Port: in.Port(), User: "sa", Password: "wrong", CACertFile: writeCA(t, in)})
	wantExplained(t, err, "18456", "--sql-user", `"User"`, "MILINK_SQL_PASSWORD", `"Password"`, "state 1")
	if !errors.Is(err, ErrAuth) {
		t.Errorf("not ErrAuth: %v", err)
	}
	if strings.Contains(err.Error(), "wrong\"") || strings.Contains(err.Error(), "'wrong'") {
		t.Errorf("message shows the password: %v", err)
	}
}

// TestExplainEntraOnly: a managed instance with Entra-only authentication points to --mi-auth.
func TestExplainEntraOnly(t *testing.T) {
	in := startExplainSim(t, func(o *sqlsim.Options) { o.EntraOnly = true })
	_, err := openExplain(t, ConnConfig{Role: "managed instance", Host: in.Host(), Port: in.Port(), CACertFile: writeCA(t, in)})
	wantExplained(t, err, "Entra", "--mi-auth", `"Authentication"`, "18456")
	if !errors.Is(err, ErrAuth) {
		t.Errorf("not ErrAuth: %v", err)
	}
}

func writeCA(t *testing.T, in *sqlsim.Instance) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "sim-ca.pem")
	if err := os.WriteFile(f, in.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// loopbackOrSkip skips when ip (a 127.x address, loopback on Linux) cannot be bound.
func loopbackOrSkip(t *testing.T, ip string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", ip+":0")
	if err != nil {
		t.Skipf("%s is not usable here: %v", ip, err)
	}
	pc.Close()
}

func openNamed(server string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Open(ctx, ConnConfig{Role: "SQL Server", Host: server, User: "sa", Password: explainPW, LoginTimeout: 3 * time.Second, TrustServerCertificate: true})
	if err == nil {
		c.Close()
	}
	return err
}

// TestBrowserUnknownInstance: SQL Browser answers but has no such instance: the message
// lists the ones it has. (127.0.0.3: the main package's tests use 127.0.0.2:1434.)
func TestBrowserUnknownInstance(t *testing.T) {
	loopbackOrSkip(t, "127.0.0.3")
	b, err := sqlsim.StartBrowser("127.0.0.3:1434", map[string]int{"INST1": 1})
	if err != nil {
		t.Skipf("cannot bind 127.0.0.3:1434: %v", err)
	}
	defer b.Close()
	err = openNamed(`127.0.0.3\OTHER`)
	if !errors.Is(err, ErrBrowser) || !strings.Contains(err.Error(), `has no instance "OTHER"`) || !strings.Contains(err.Error(), "INST1") || !strings.Contains(err.Error(), "--sql-server") {
		t.Fatalf("unknown instance: %v", err)
	}
}

// TestBrowserNotRunning: nothing on UDP 1434 (the host answers ICMP port unreachable):
// SQL Browser is not running, and the message says how to give the port.
func TestBrowserNotRunning(t *testing.T) {
	loopbackOrSkip(t, "127.0.0.4")
	if pc, err := net.ListenPacket("udp", "127.0.0.4:1434"); err != nil {
		t.Skipf("127.0.0.4:1434 is in use: %v", err)
	} else {
		pc.Close()
	}
	err := openNamed(`127.0.0.4\INST1`)
	if !errors.Is(err, ErrBrowser) || !strings.Contains(err.Error(), "not running") || !strings.Contains(err.Error(), "--sql-port") || !strings.Contains(err.Error(), "127.0.0.4,PORT") {
		t.Fatalf("no Browser: %v", err)
	}
}
