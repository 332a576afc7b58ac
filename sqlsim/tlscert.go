package sqlsim

import "crypto/tls"

// selfSignedCert makes a certificate for localhost, 127.0.0.1 and 127.0.0.2 that also
// acts as its own CA, so a client can verify it when told to trust its PEM.
func selfSignedCert() (tls.Certificate, []byte, error) { return NewCertificate(CertOptions{}) }
