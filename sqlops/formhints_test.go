package sqlops_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
)

// TestServerFormHints: host:port and SSMS's "(local)" and "." are refused with what
// to give instead; host,port and an IPv6 literal still parse.
func TestServerFormHints(t *testing.T) {
	for in, want := range map[string]string{
		"sqlprod:1433":      "the port goes after a comma, as in sqlcmd: sqlprod,1433",
		"tcp:10.0.0.4:1433": "10.0.0.4,1433",
		"(local)":           "SSMS's name for this machine",
		".":                 "give the host name or IP address",
		`(local)\SQL2`:      "SSMS's name for this machine",
	} {
		_, err := ParseServer(in)
		if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseServer(%q) = %v, want %q", in, err, want)
		}
	}
	for _, ok := range []string{"sqlprod,1433", "::1", "[fe80::1],1433", "sqlprod"} {
		if _, err := ParseServer(ok); err != nil {
			t.Errorf("ParseServer(%q): %v", ok, err)
		}
	}
}

// TestExplainNoEncryption: a server that offers no encryption is explained naming
// --sql-encrypt and the wizard field, not in the driver's bare words.
func TestExplainNoEncryption(t *testing.T) {
	in := startExplainSim(t, func(o *sqlsim.Options) { o.NoEncryption = true })
	_, err := openExplain(t, ConnConfig{Host: in.Host(), Port: in.Port()})
	wantExplained(t, err, "does not offer encryption", `--sql-encrypt (wizard: "Encrypt")`, "disable")
}

// TestPinWithFirstUseNamesThePin: --sql-cert-sha256 with --sql-trust-cert-on-first-use
// for a server the known-servers file does not know or knows, presenting another certificate, is
// refused as a pin mismatch, with no "line 0" of a file that has no such line.
func TestPinWithFirstUseNamesThePin(t *testing.T) {
	in, fp := startWithCert(t, "127.0.0.1:0")
	other := strings.Repeat("cd", 32)
	known := filepath.Join(t.TempDir(), "known_servers")
	for _, known := range []string{known, recorded(t, in)} {
		_, err := openPinned(in, func(c *ConnConfig) { c.CertSHA256, c.TrustOnFirstUse, c.KnownServersFile = other, true, known })
		if !errors.Is(err, ErrCertChanged) || strings.Contains(err.Error(), "line 0") || !strings.Contains(err.Error(), "pinned with --sql-cert-sha256") || !strings.Contains(err.Error(), fp) {
			t.Errorf("pin mismatch with first use (%s): %v", known, err)
		}
	}
}

// recorded returns a known-servers file that remembers in's certificate (a first-use
// connect wrote it).
func recorded(t *testing.T, in *sqlsim.Instance) string {
	t.Helper()
	known := filepath.Join(t.TempDir(), "known_servers")
	c, err := openPinned(in, func(c *ConnConfig) { c.TrustOnFirstUse, c.KnownServersFile = true, known })
	if err != nil {
		t.Fatalf("first use: %v", err)
	}
	c.Close()
	return known
}
