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

// CreateCertificateSQL returns the CREATE CERTIFICATE statement for spec. Identifiers
// are validated and quoted; the subject and expiry are built from constants and the
// validated run id; the optional password is random letters and digits.
func CreateCertificateSQL(spec TestEndpointSpec, now time.Time) (string, error) {
	if err := spec.normalize(); err != nil {
		return "", err
	}
	enc := ""
	if spec.NoMasterKey {
		enc = " ENCRYPTION BY PASSWORD = N'" + randomPassword() + "'"
	}
	// START_DATE yesterday (UTC): without it the certificate starts "now" in the
	// server's terms and a server ahead of UTC can reject it as not yet valid (CREATE
	// CERTIFICATE, https://learn.microsoft.com/sql/t-sql/statements/create-certificate-transact-sql).
	return fmt.Sprintf("CREATE CERTIFICATE %s%s WITH SUBJECT = N'%s', START_DATE = N'%s', EXPIRY_DATE = N'%s'",
		QuoteIdentifier(spec.CertName), enc, CertificateSubject(spec.RunID), now.AddDate(0, 0, -1).UTC().Format("20060102"), now.AddDate(0, 0, 7).UTC().Format("20060102")), nil
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

// CreateTestCertificate creates the temporary certificate. A certificate of that name
// that milink did not create is reported with ErrNotOurs and left alone.
func (c *Conn) CreateTestCertificate(ctx context.Context, spec TestEndpointSpec) error {
	stmt, err := CreateCertificateSQL(spec, time.Now())
	if err != nil {
		return err
	}
	if existing, err := c.CertificateByName(ctx, spec.CertName); err != nil {
		return err
	} else if existing != nil {
		return fmt.Errorf("certificate %q %w", spec.CertName, ErrNotOurs)
	}
	if _, err := c.DB.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("create certificate %s: %w", spec.CertName, err)
	}
	return nil
}

// CreateTestEndpoint creates the temporary DATABASE_MIRRORING endpoint.
func (c *Conn) CreateTestEndpoint(ctx context.Context, spec TestEndpointSpec) error {
	stmt, err := CreateEndpointSQL(spec)
	if err != nil {
		return err
	}
	if _, err := c.DB.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("create endpoint %s on port %d: %w", spec.EndpointName, spec.Port, err)
	}
	return nil
}

// DropTestEndpoint drops the endpoint only if it authenticates with a certificate that
// carries the milink marker (of runID, when runID is not empty). It reports whether an
// endpoint was dropped.
func (c *Conn) DropTestEndpoint(ctx context.Context, name, runID string) (bool, error) {
	return c.dropMarked(ctx, "ENDPOINT", name, runID, func() (string, bool, error) {
		e, err := c.EndpointByName(ctx, name)
		if err != nil || e == nil {
			return "", false, err
		}
		return e.CertificateSubject, true, nil
	})
}

// DropTestCertificate drops the certificate only if its subject carries the milink
// marker (of runID, when not empty). It reports whether a certificate was dropped.
func (c *Conn) DropTestCertificate(ctx context.Context, name, runID string) (bool, error) {
	return c.dropMarked(ctx, "CERTIFICATE", name, runID, func() (string, bool, error) {
		ce, err := c.CertificateByName(ctx, name)
		if err != nil || ce == nil {
			return "", false, err
		}
		return ce.Subject, true, nil
	})
}

// dropMarked drops the object of kind called name when lookup finds it and the text it
// returns carries the marker of runID (any milink marker when runID is empty).
func (c *Conn) dropMarked(ctx context.Context, kind, name, runID string, lookup func() (string, bool, error)) (bool, error) {
	what := strings.ToLower(kind)
	if err := ValidateIdentifier(name); err != nil {
		return false, err
	}
	marked, exists, err := lookup()
	if err != nil || !exists {
		return false, err
	}
	id, ok := MarkedRunID(marked)
	if !ok || (runID != "" && id != runID) {
		return false, fmt.Errorf("drop %s %q: %w", what, name, ErrNotOurs)
	}
	if _, err := c.DB.ExecContext(ctx, "DROP "+kind+" "+QuoteIdentifier(name)); err != nil {
		if SQLError(err) == ErrNumCannotDrop {
			return false, nil
		}
		return false, fmt.Errorf("drop %s %s: %w", what, name, err)
	}
	return true, nil
}
