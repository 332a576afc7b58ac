package sqlops_test

import (
	"context"
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
)

// startWithCert starts a simulated SQL Server presenting a new certificate on listen
// ("127.0.0.1:0" for any port) and returns it with the certificate's fingerprint.
func startWithCert(t *testing.T, listen string) (*sqlsim.Instance, string) {
	t.Helper()
	cert, _ := simCert(t, sqlsim.CertOptions{})
	in := startExplainSim(t, func(o *sqlsim.Options) {
		o.Listen = listen
		o.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	})
	return in, Fingerprint(cert.Certificate[0])
}

func openPinned(in *sqlsim.Instance, mut func(*ConnConfig)) (*Conn, error) {
	cfg := ConnConfig{Role: "SQL Server", Host: in.Host(), Port: in.Port(), User: "sa", Password: explainPW, LoginTimeout: 5 * time.Second}
	mut(&cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return Open(ctx, cfg)
}

// TestCertPin: --sql-cert-sha256 with the certificate's fingerprint connects without a
// CA; any other fingerprint is refused before the login, showing both.
func TestCertPin(t *testing.T) {
	in, fp := startWithCert(t, "127.0.0.1:0")
	known := filepath.Join(t.TempDir(), "known_servers")
	c, err := openPinned(in, func(c *ConnConfig) { c.CertSHA256, c.KnownServersFile = strings.ToUpper(fp), known })
	if err != nil {
		t.Fatalf("pinned to its own fingerprint: %v", err)
	}
	c.Close()
	other := strings.Repeat("ab", 32)
	_, err = openPinned(in, func(c *ConnConfig) { c.CertSHA256, c.KnownServersFile = other, known })
	if !errors.Is(err, ErrCertChanged) || !strings.Contains(err.Error(), fp) || !strings.Contains(err.Error(), other) || !strings.Contains(err.Error(), "--sql-cert-sha256") {
		t.Fatalf("wrong pin: %v", err)
	}
	_, err = openPinned(in, func(c *ConnConfig) { c.CertSHA256 = "12:34" })
	if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), "--sql-cert-sha256") {
		t.Errorf("malformed pin: %v", err)
	}
}

// TestTrustOnFirstUse: the first connect records the fingerprint (file mode 0600); a
// later connect to the same host:port presenting another certificate is refused with
// both fingerprints and the file line to edit, even without the first-use option.
func TestTrustOnFirstUse(t *testing.T) {
	in, fp := startWithCert(t, "127.0.0.1:0")
	known := filepath.Join(t.TempDir(), "state", "known_servers")
	c, err := openPinned(in, func(c *ConnConfig) { c.TrustOnFirstUse, c.KnownServersFile = true, known })
	if err != nil {
		t.Fatalf("first use: %v", err)
	}
	c.Close()
	if !strings.Contains(c.Cfg.PinNote, fp) || !strings.Contains(c.Cfg.PinNote, known+" line 1") {
		t.Errorf("PinNote %q does not show the fingerprint and where it went", c.Cfg.PinNote)
	}
	st, err := os.Stat(known)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("known servers file: %v, mode %v", err, st.Mode())
	}
	data, _ := os.ReadFile(known)
	if want := in.Host() + ":" + strconv.Itoa(in.Port()) + " " + fp + "\n"; string(data) != want {
		t.Errorf("file holds %q, want %q", data, want)
	}
	// The same server again: checked against the file, no CA needed.
	c, err = openPinned(in, func(c *ConnConfig) { c.KnownServersFile = known })
	if err != nil {
		t.Fatalf("known server: %v", err)
	}
	c.Close()
	// Another certificate on the same address.
	port := in.Port()
	in.Close()
	in2, fp2 := startWithCert(t, "127.0.0.1:"+strconv.Itoa(port))
	_, err = openPinned(in2, func(c *ConnConfig) { c.TrustOnFirstUse, c.KnownServersFile = true, known })
	if !errors.Is(err, ErrCertChanged) {
		t.Fatalf("changed certificate: %v", err)
	}
	for _, w := range []string{fp, fp2, known + " line 1", "delete line 1"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("message lacks %q: %v", w, err)
		}
	}
	// A file others can read is refused.
	if err := os.Chmod(known, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = openPinned(in2, func(c *ConnConfig) { c.KnownServersFile = known })
	if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("group-readable file: %v", err)
	}
}

// TestUntrustedShowsFingerprint: a certificate from an unknown authority is refused
// with its fingerprint and the ways to pin it, so the first connect shows it.
func TestUntrustedShowsFingerprint(t *testing.T) {
	in, fp := startWithCert(t, "127.0.0.1:0")
	_, err := openPinned(in, func(c *ConnConfig) { c.KnownServersFile = filepath.Join(t.TempDir(), "known_servers") })
	wantExplained(t, err, "unknown authority", fp, "--sql-cert-sha256", "--sql-trust-cert-on-first-use", "--sql-ca-cert", `"CA file (PEM)"`)
}

// TestAcceptShownFingerprint: the fingerprint an untrusted-certificate error carries,
// given back with TrustOnFirstUse (what a front-end does once the user said yes), pins
// that connect and records it for the next ones.
func TestAcceptShownFingerprint(t *testing.T) {
	in, fp := startWithCert(t, "127.0.0.1:0")
	known := filepath.Join(t.TempDir(), "known_servers")
	_, err := openPinned(in, func(c *ConnConfig) { c.KnownServersFile = known })
	var u *UntrustedCertError
	if !errors.As(err, &u) || u.SHA256 != fp || !errors.Is(err, ErrTLS) || !errors.Is(err, ErrConnect) {
		t.Fatalf("untrusted: %v", err)
	}
	c, err := openPinned(in, func(c *ConnConfig) { c.KnownServersFile, c.CertSHA256, c.TrustOnFirstUse = known, u.SHA256, true })
	if err != nil {
		t.Fatalf("accepted: %v", err)
	}
	c.Close()
	if !strings.Contains(c.Cfg.PinNote, known+" line 1") {
		t.Errorf("PinNote %q", c.Cfg.PinNote)
	}
	c, err = openPinned(in, func(c *ConnConfig) { c.KnownServersFile = known })
	if err != nil {
		t.Fatalf("remembered: %v", err)
	}
	c.Close()
}
