package sqlsim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// CertOptions choose the server certificate NewCertificate makes, to reproduce the
// certificates real SQL Servers present.
type CertOptions struct {
	// CommonName is the subject CN (default "localhost").
	CommonName string
	// NegativeSerial gives the certificate a negative serial number, as the certificate
	// SQL Server generates for itself when none is configured
	// ("SSL_Self_Signed_Fallback") often has: RFC 5280 4.1.2.2 requires a positive
	// serial, and Go's crypto/x509 refuses to parse one that is not (Go 1.23 release
	// notes, GODEBUG x509negativeserial=1 restores parsing). CreateCertificate refuses to
	// make one, so the serial is rewritten in the DER and the TBSCertificate signed again.
	NegativeSerial bool
}

// NewCertificate makes a self-signed server certificate for localhost, 127.0.0.1 and
// 127.0.0.2 (a CA for itself, so its PEM can be trusted) as o says; it returns the TLS
// certificate for Options.TLS and its PEM.
func NewCertificate(o CertOptions) (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("generate key: %w", err)
	}
	cn := o.CommonName
	if cn == "" {
		cn = "localhost"
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial.Add(serial, big.NewInt(1)),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"milink sqlsim"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(127, 0, 0, 2), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("create certificate: %w", err)
	}
	if o.NegativeSerial {
		if der, err = negateSerial(der, new(big.Int).Neg(tmpl.SerialNumber), key); err != nil {
			return tls.Certificate{}, nil, err
		}
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pemBytes, nil
}

// negateSerial replaces the serialNumber of the certificate der (RFC 5280 4.1:
// Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue };
// TBSCertificate ::= SEQUENCE { [0] version, serialNumber INTEGER, ... }) with serial and
// signs the new TBSCertificate with key (ECDSA with SHA-256, the algorithm
// CreateCertificate chose for a P-256 key).
func negateSerial(der []byte, serial *big.Int, key *ecdsa.PrivateKey) ([]byte, error) {
	var cert struct {
		TBS asn1.RawValue
		Alg asn1.RawValue
		Sig asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &cert); err != nil {
		return nil, fmt.Errorf("negative serial: %w", err)
	}
	var fields [][]byte
	for rest := cert.TBS.Bytes; len(rest) > 0; {
		var f asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &f); err != nil {
			return nil, fmt.Errorf("negative serial: %w", err)
		}
		fields = append(fields, f.FullBytes)
	}
	s, err := asn1.Marshal(serial)
	if err != nil || len(fields) < 2 {
		return nil, fmt.Errorf("negative serial: cannot encode the serial")
	}
	fields[1] = s // fields[0] is the [0] EXPLICIT version
	var body []byte
	for _, f := range fields {
		body = append(body, f...)
	}
	tbs, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: body})
	if err != nil {
		return nil, fmt.Errorf("negative serial: %w", err)
	}
	h := sha256.Sum256(tbs)
	sig, err := ecdsa.SignASN1(rand.Reader, key, h[:])
	if err != nil {
		return nil, fmt.Errorf("negative serial: sign: %w", err)
	}
	return asn1.Marshal(struct {
		TBS asn1.RawValue
		Alg asn1.RawValue
		Sig asn1.BitString
	}{asn1.RawValue{FullBytes: tbs}, cert.Alg, asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}})
}
