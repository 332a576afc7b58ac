package sqlops

import (
	"bufio"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/microsoft/go-mssqldb/msdsn"
)

// Certificate pinning. go-mssqldb takes a *tls.Config in msdsn.Config (Open parses the
// DSN with msdsn.Parse, then builds the connector with NewConnectorConfig or
// NewSecurityTokenConnector), so the pin is checked in the handshake itself, by
// tls.Config.VerifyConnection, before LOGIN7 (and the password) is sent. A pin replaces
// CA and host name verification, as ssh's known_hosts does: InsecureSkipVerify only
// turns off the chain check that the fingerprint comparison supersedes.

// ErrCertChanged is wrapped when the server's certificate is not the pinned one.
var ErrCertChanged = errors.New("the server's TLS certificate is not the one pinned")

// KnownServersName is the file, in StateDir, that remembers servers' certificate
// fingerprints: one "host:port sha256-hex" line per server.
const KnownServersName = "known_servers"

// Fingerprint is the SHA-256 of a certificate's DER, in lower-case hex.
func Fingerprint(der []byte) string {
	h := sha256.Sum256(der)
	return hex.EncodeToString(h[:])
}

// normalizePin accepts hex with or without colons or spaces, any case.
func normalizePin(s string) string {
	return strings.ToLower(strings.NewReplacer(":", "", " ", "").Replace(strings.TrimSpace(s)))
}

// ValidatePin checks CertSHA256 (64 hex digits, colons and spaces allowed) and that a
// pin or trust on first use comes with TLS.
func (c ConnConfig) ValidatePin() error {
	if c.CertSHA256 == "" && !c.TrustOnFirstUse {
		return nil
	}
	if c.Encrypt == EncryptDisable {
		return fmt.Errorf("%w: a certificate can be checked only with TLS: %s or %s cannot be used with encrypt=disable (%s)",
			ErrInvalidInput, c.flag("cert-sha256"), c.flag("trust-cert-on-first-use"), c.fix("encrypt", "Encrypt"))
	}
	if c.CertSHA256 == "" {
		return nil
	}
	p := normalizePin(c.CertSHA256)
	if b, err := hex.DecodeString(p); err != nil || len(b) != sha256.Size {
		return fmt.Errorf("%w: %s must be the certificate's SHA-256 fingerprint, 64 hex digits (colons allowed), e.g. from: openssl x509 -noout -fingerprint -sha256 -in cert.pem",
			ErrInvalidInput, c.flag("cert-sha256"))
	}
	return nil
}

// pinState is what the handshake hook saw.
type pinState struct {
	mu       sync.Mutex
	seen     string // the fingerprint the server presented
	failure  error
	want     string // the pin checked ("" = none)
	file     string // known-servers file the pin came from ("" = flag)
	line     int
	key      string // the server's key in the known-servers file
	firstUse bool   // nothing known: record seen after the login
	record   bool   // an explicit pin the user accepted: record it after the login
}

func (p *pinState) err() error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failure
}

// knownServersPath is c.KnownServersFile or StateDir/known_servers.
func (c ConnConfig) knownServersPath() (string, error) {
	if c.KnownServersFile != "" {
		return c.KnownServersFile, nil
	}
	d, err := StateDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, KnownServersName), nil
}

// lookupKnown returns the fingerprint recorded for key in path and its line (0: none);
// a file group or others may read or write is refused.
func lookupKnown(path, key string) (string, int, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("known servers file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", 0, fmt.Errorf("known servers file: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return "", 0, fmt.Errorf("%w: known servers file %s has mode %v: others could read or change the certificates it trusts; run chmod 600 %s",
			ErrInvalidInput, path, st.Mode().Perm(), path)
	}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && !strings.HasPrefix(fields[0], "#") && strings.EqualFold(fields[0], key) {
			return normalizePin(fields[1]), n, nil
		}
	}
	return "", 0, sc.Err()
}

// recordKnown appends "key fingerprint" to path (created 0600, its directory 0700) and
// returns the line it wrote.
func recordKnown(path, key, fp string) (int, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return 0, fmt.Errorf("known servers file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return 0, fmt.Errorf("known servers file: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || st.Mode().Perm()&0o077 != 0 {
		return 0, fmt.Errorf("%w: known servers file %s is readable by others; run chmod 600 %s", ErrInvalidInput, path, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("known servers file: %w", err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		if _, err := f.WriteString("\n"); err != nil {
			return 0, err
		}
		data = append(data, '\n')
	}
	if _, err := fmt.Fprintf(f, "%s %s\n", key, fp); err != nil {
		return 0, fmt.Errorf("known servers file: %w", err)
	}
	return strings.Count(string(data), "\n") + 1, nil
}

// applyPin sets up the certificate check of params: the --*-cert-sha256 pin, else the
// fingerprint the known-servers file remembers for the server, else (trust on first
// use) any certificate, recorded after the login. It returns nil when none applies.
func (c ConnConfig) applyPin(params *msdsn.Config) (*pinState, error) {
	if params.TLSConfig == nil {
		return nil, nil
	}
	st := &pinState{want: normalizePin(c.CertSHA256), key: c.dialAddress()}
	if st.want != "" && c.TrustOnFirstUse {
		// The fingerprint a user was shown and accepted (UntrustedCertError): pinned
		// for this connect, remembered for the next ones.
		path, err := c.knownServersPath()
		if err != nil {
			return nil, err
		}
		st.record, st.file = true, path
	}
	if st.want == "" {
		path, err := c.knownServersPath()
		if err != nil {
			return nil, err
		}
		fp, line, err := lookupKnown(path, st.key)
		if err != nil {
			return nil, err
		}
		switch {
		case fp != "":
			st.want, st.file, st.line = fp, path, line
		case c.TrustOnFirstUse:
			st.firstUse, st.file = true, path
		default:
			return nil, nil
		}
	}
	params.TLSConfig.InsecureSkipVerify = true
	params.TLSConfig.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("the server presented no certificate")
		}
		seen := Fingerprint(cs.PeerCertificates[0].Raw)
		st.mu.Lock()
		defer st.mu.Unlock()
		st.seen = seen
		if st.firstUse || seen == st.want {
			return nil
		}
		where := "pinned with " + c.flag("cert-sha256")
		fix := "if the server's certificate was renewed on purpose, check the new fingerprint with its administrator and give it to " + c.flag("cert-sha256")
		if st.line > 0 { // the fingerprint came from the known-servers file, not the pin
			where = fmt.Sprintf("remembered in %s line %d", st.file, st.line)
			fix = fmt.Sprintf("if the server's certificate was renewed on purpose, check the new fingerprint with its administrator, then delete line %d of %s and connect again with %s", st.line, st.file, c.flag("trust-cert-on-first-use"))
		}
		st.failure = fmt.Errorf("%w: it presented SHA-256 %s, but %s is %s: someone may be intercepting the connection; %s",
			ErrCertChanged, seen, where, st.want, fix)
		return st.failure
	}
	return st, nil
}

// recordFirstUse writes the fingerprint seen on a first-use connection to the
// known-servers file and returns "file line N" for the report.
func (p *pinState) recordFirstUse() (string, error) {
	if p == nil || !(p.firstUse || p.record) {
		return "", nil
	}
	p.mu.Lock()
	seen := p.seen
	p.firstUse, p.want = false, seen // the pool's later connections must present it too
	p.mu.Unlock()
	if seen == "" {
		return "", nil
	}
	if p.record {
		known, n, err := lookupKnown(p.file, p.key)
		switch {
		case err != nil:
			return "", err
		case known == seen:
			return "", nil
		case known != "":
			return "", fmt.Errorf("%w: line %d of %s remembers another certificate (SHA-256 %s) for %s: delete that line to trust %s", ErrCertChanged, n, p.file, known, p.key, seen)
		}
	}
	line, err := recordKnown(p.file, p.key, seen)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("certificate SHA-256 %s trusted on first use and recorded in %s line %d", seen, p.file, line), nil
}
