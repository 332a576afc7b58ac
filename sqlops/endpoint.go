package sqlops

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DDL error numbers milink explains.
const (
	ErrNumEndpointExists = 7862  // a DATABASE_MIRRORING endpoint already exists
	ErrNumEndpointName   = 7856  // an endpoint of that name already exists
	ErrNumPortInUse      = 7890  // the endpoint's port is bound by another process
	ErrNumCertExists     = 15232 // certificate name in use
	ErrNumNoMasterKey    = 15581 // CREATE CERTIFICATE without password needs a master key
	ErrNumCannotDrop     = 15151 // object missing or no permission
)

// Certificate is a row of master.sys.certificates.
type Certificate struct {
	ID      int
	Name    string
	Subject string
}

// Endpoint is a row of sys.endpoints with its TCP port and certificate.
type Endpoint struct {
	ID                 int
	Name               string
	Type               string
	State              string
	Port               int
	CertificateName    string
	CertificateSubject string
}

// CertificateByName returns the certificate in master called name, or nil.
func (c *Conn) CertificateByName(ctx context.Context, name string) (*Certificate, error) {
	var ce Certificate
	var subj sql.NullString
	err := c.DB.QueryRowContext(ctx, Query(TagCertByName), sql.Named("name", name)).Scan(&ce.ID, &ce.Name, &subj)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up certificate %q: %w", name, err)
	}
	ce.Subject = subj.String
	return &ce, nil
}

// EndpointByName returns the endpoint called name, or nil.
func (c *Conn) EndpointByName(ctx context.Context, name string) (*Endpoint, error) {
	var e Endpoint
	err := c.DB.QueryRowContext(ctx, Query(TagEndpointByName), sql.Named("name", name)).
		Scan(&e.ID, &e.Name, &e.Type, &e.State, &e.Port, &e.CertificateName, &e.CertificateSubject)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up endpoint %q: %w", name, err)
	}
	return &e, nil
}

// TestEndpointSpec describes the temporary endpoint the managed instance probes.
type TestEndpointSpec struct {
	EndpointName string // default TEST_ENDPOINT
	CertName     string // default TEST_CERT
	Port         int    // default 5022
	RunID        string
	// NoMasterKey protects the certificate's private key with a random password instead
	// of the database master key, so the test works before a master key exists.
	NoMasterKey bool
}

func (s *TestEndpointSpec) normalize() error {
	if s.EndpointName == "" {
		s.EndpointName = "TEST_ENDPOINT"
	}
	if s.CertName == "" {
		s.CertName = "TEST_CERT"
	}
	if s.Port == 0 {
		s.Port = 5022
	}
	if err := ValidateIdentifier(s.EndpointName); err != nil {
		return fmt.Errorf("endpoint name: %w", err)
	}
	if err := ValidateIdentifier(s.CertName); err != nil {
		return fmt.Errorf("certificate name: %w", err)
	}
	if err := ValidatePort(s.Port); err != nil {
		return fmt.Errorf("endpoint port: %w", err)
	}
	return ValidateRunID(s.RunID)
}

// randomPassword returns a password of letters and digits that meets SQL Server's
// complexity policy; it only protects a throw-away certificate and is never shown.
func randomPassword() string {
	const sets = "ABCDEFGHJKLMNPQRSTUVWXYZ" + "abcdefghijkmnopqrstuvwxyz" + "23456789"
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	out := []byte("Aa9")
	for _, v := range b {
		out = append(out, sets[int(v)%len(sets)])
	}
	return string(out)
}

// CreateCertificateSQL returns the CREATE CERTIFICATE statement for spec, its subject
// carrying mark (Key.Mark(KindCertificate, spec.CertName, spec.RunID)). CREATE
// CERTIFICATE takes no variables, so nothing from outside reaches the text unchecked:
// identifiers are validated and quoted, mark must be "[milink:<hex>:<hex>]", the expiry
// is a date seven days after now and the optional password is random letters and
// digits. Errors wrap ErrInvalidInput.
func CreateCertificateSQL(spec TestEndpointSpec, mark string, now time.Time) (string, error) {
	if err := spec.normalize(); err != nil {
		return "", err
	}
	if m := markPattern.FindString(mark); m == "" || m != mark || !strings.Contains(mark[len("[milink:"):], ":") {
		return "", fmt.Errorf("%w: certificate mark %q", ErrInvalidInput, mark)
	}
	enc := ""
	if spec.NoMasterKey {
		enc = " ENCRYPTION BY PASSWORD = N'" + randomPassword() + "'"
	}
	// START_DATE yesterday (UTC): without it the certificate starts "now" in the
	// server's terms and a server ahead of UTC can reject it as not yet valid (CREATE
	// CERTIFICATE, https://learn.microsoft.com/sql/t-sql/statements/create-certificate-transact-sql).
	return fmt.Sprintf("CREATE CERTIFICATE %s%s WITH SUBJECT = N'%s', START_DATE = N'%s', EXPIRY_DATE = N'%s'",
		QuoteIdentifier(spec.CertName), enc, CertificateSubject(mark), now.AddDate(0, 0, -1).UTC().Format("20060102"), now.AddDate(0, 0, 7).UTC().Format("20060102")), nil
}

// CreateEndpointSQL returns the CREATE ENDPOINT statement for spec, as the documented
// TEST_ENDPOINT: started, TCP on the port, database mirroring with certificate
// authentication and required AES encryption.
func CreateEndpointSQL(spec TestEndpointSpec) (string, error) {
	if err := spec.normalize(); err != nil {
		return "", err
	}
	return fmt.Sprintf("CREATE ENDPOINT %s STATE = STARTED AS TCP (LISTENER_PORT = %d, LISTENER_IP = ALL) "+
		"FOR DATABASE_MIRRORING (ROLE = ALL, AUTHENTICATION = CERTIFICATE %s, ENCRYPTION = REQUIRED ALGORITHM AES)",
		QuoteIdentifier(spec.EndpointName), spec.Port, QuoteIdentifier(spec.CertName)), nil
}

// CreateTestCertificate creates the temporary certificate, marked with this machine's
// key for its name and spec.RunID. A certificate of that name that exists already is
// reported with ErrNotOurs and left alone, unless it is milink's of spec.RunID (an
// earlier attempt whose reply was lost), which counts as created.
func (c *Conn) CreateTestCertificate(ctx context.Context, spec TestEndpointSpec) error {
	k, err := c.key()
	if err != nil {
		return err
	}
	if err := spec.normalize(); err != nil {
		return err
	}
	if !NamedLikeOurs(KindCertificate, spec.CertName) || !NamedLikeOurs(KindEndpoint, spec.EndpointName) {
		return fmt.Errorf("%w: milink names its certificates TEST_CERT* and endpoints TEST_ENDPOINT*, not %q / %q", ErrInvalidInput, spec.CertName, spec.EndpointName)
	}
	stmt, err := CreateCertificateSQL(spec, k.Mark(KindCertificate, spec.CertName, spec.RunID), time.Now())
	if err != nil {
		return err
	}
	if existing, err := c.CertificateByName(ctx, spec.CertName); err != nil {
		return err
	} else if existing != nil {
		if run, ours := k.Owns(KindCertificate, existing.Name, existing.Subject); ours && run == spec.RunID {
			return nil // created by this run's earlier attempt, whose reply was lost
		}
		return fmt.Errorf("certificate %q %w", spec.CertName, ErrNotOurs)
	}
	if _, err := c.DB.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("create certificate %s: %w", spec.CertName, err)
	}
	return nil
}

// CreateTestEndpoint creates the temporary DATABASE_MIRRORING endpoint; an endpoint of
// that name that is milink's of spec.RunID already (an earlier attempt whose reply was
// lost) counts as created.
func (c *Conn) CreateTestEndpoint(ctx context.Context, spec TestEndpointSpec) error {
	if err := spec.normalize(); err != nil {
		return err
	}
	stmt, err := CreateEndpointSQL(spec)
	if err != nil {
		return err
	}
	if e, err := c.EndpointByName(ctx, spec.EndpointName); err != nil {
		return err
	} else if e != nil {
		if run, ours := c.OwnedEndpoint(e.Name, e.CertificateName, e.CertificateSubject); ours && run == spec.RunID {
			return nil // created by this run's earlier attempt, whose reply was lost
		}
	}
	if _, err := c.DB.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("create endpoint %s on port %d: %w", spec.EndpointName, spec.Port, err)
	}
	return nil
}

// DropTestEndpoint drops the endpoint only if it is milink's: named TEST_ENDPOINT*
// and authenticating with a certificate that is milink's (Key.Owns; of runID when runID
// is not empty). It reports whether the endpoint was dropped: true only when
// sys.endpoints read back afterwards has no endpoint of that name (else ErrStillThere).
func (c *Conn) DropTestEndpoint(ctx context.Context, name, runID string) (bool, error) {
	return c.dropOwned(ctx, KindEndpoint, name, runID, func() (bool, string, bool, error) {
		e, err := c.EndpointByName(ctx, name)
		if err != nil || e == nil {
			return false, "", false, err
		}
		id, ok := c.OwnedEndpoint(e.Name, e.CertificateName, e.CertificateSubject)
		return true, id, ok, nil
	})
}

// DropTestCertificate drops the certificate only if it is milink's (Key.Owns: named
// TEST_CERT* with a mark of this machine's key; of runID when not empty). It reports
// whether it was dropped: true only when master.sys.certificates read back afterwards
// has no certificate of that name (else ErrStillThere).
func (c *Conn) DropTestCertificate(ctx context.Context, name, runID string) (bool, error) {
	return c.dropOwned(ctx, KindCertificate, name, runID, func() (bool, string, bool, error) {
		ce, err := c.CertificateByName(ctx, name)
		if err != nil || ce == nil {
			return false, "", false, err
		}
		id, ok := c.Owns(KindCertificate, ce.Name, ce.Subject)
		return true, id, ok, nil
	})
}

// dropOwned drops the object of kind called name when lookup finds it (exists) and
// says it is milink's (ours) of runID (any run that is not live when runID is empty),
// then reads the catalog back through lookup.
func (c *Conn) dropOwned(ctx context.Context, kind, name, runID string, lookup func() (exists bool, run string, ours bool, err error)) (bool, error) {
	if err := ValidateIdentifier(name); err != nil {
		return false, err
	}
	exists, id, ours, err := lookup()
	if err != nil || !exists {
		return false, err
	}
	if !ours || (runID != "" && id != runID) {
		return false, fmt.Errorf("drop %s %q: %w", kind, name, ErrNotOurs)
	}
	if err := c.notLive(ctx, runID, id); err != nil {
		return false, fmt.Errorf("drop %s %q: %w", kind, name, err)
	}
	if _, err := c.DB.ExecContext(ctx, "DROP "+strings.ToUpper(kind)+" "+QuoteIdentifier(name)); err != nil && SQLError(err) != ErrNumCannotDrop {
		return false, fmt.Errorf("drop %s %s: %w", kind, name, err)
	}
	exists, _, _, err = lookup()
	if err != nil {
		return false, fmt.Errorf("drop %s %s: read back: %w", kind, name, err)
	}
	if exists {
		return false, fmt.Errorf("drop %s %s: %w", kind, name, ErrStillThere)
	}
	return true, nil
}
