package steps

import (
	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps/probe"
)

// The connection settings and errors the front-ends use, so that they depend on steps
// alone (package sqlops does the connecting, inside the Session).

// ConnConfig is how to connect to one instance (see sqlops.ConnConfig).
type ConnConfig = sqlops.ConnConfig

// MIParams are a managed instance's HADR parameters (see sqlops.MIParams).
type MIParams = sqlops.MIParams

// ServerInfo is what an instance says about itself (see sqlops.ServerInfo).
type ServerInfo = sqlops.ServerInfo

// ProbeTarget is one TCP probe: a label, a host, a port and a timeout.
type ProbeTarget = sqlops.ProbeTarget

// Encryption modes of a connection (go-mssqldb's encrypt= values).
const (
	EncryptTrue    = sqlops.EncryptTrue
	EncryptStrict  = sqlops.EncryptStrict
	EncryptFalse   = sqlops.EncryptFalse
	EncryptDisable = sqlops.EncryptDisable
)

// Authentication methods of a SQL Server connection (ConnConfig.Auth, --sql-auth).
const (
	AuthSQL      = sqlops.AuthSQL
	AuthWindows  = sqlops.AuthWindows
	AuthKerberos = sqlops.AuthKerberos
	AuthNTLM     = sqlops.AuthNTLM
)

// Errors a connection or step wraps (test with errors.Is).
var (
	ErrAuth         = sqlops.ErrAuth         // the server rejected the login
	ErrConnect      = sqlops.ErrConnect      // the server could not be reached, or TLS failed
	ErrInvalidInput = sqlops.ErrInvalidInput // a value was refused before anything was sent
)

// UntrustedCertError is wrapped when the server's certificate is not trusted; its
// SHA256 is the fingerprint to show. To trust it, connect again with
// ConnConfig.CertSHA256 = SHA256 and TrustOnFirstUse = true: that connect is pinned to
// it and records it in the known-servers file.
type UntrustedCertError = sqlops.UntrustedCertError

// ErrCertChanged is wrapped when the server presented another certificate than the one
// pinned or remembered.
var ErrCertChanged = sqlops.ErrCertChanged

// ValidateHost checks a host name or IP address before it is used.
func ValidateHost(h string) error { return sqlops.ValidateHost(h) }

// ValidateServer checks a server as the Server field takes it: host, host\INSTANCE,
// host,port or tcp:host,port (sqlops.ParseServer).
func ValidateServer(s string) error { _, err := sqlops.ParseServer(s); return err }

// ServerPort is the port a Server field value names (host,port), or 0 when it names
// none or cannot be read.
func ServerPort(s string) int {
	a, err := sqlops.ParseServer(s)
	if err != nil {
		return 0
	}
	return a.Port
}

// ValidateSSHUser checks the user name of the SSH connection (SSH user field, --ssh).
func ValidateSSHUser(u string) error { return probe.ValidateSSHUser(u) }

// ValidatePort checks a TCP port (1-65535).
func ValidatePort(p int) error { return sqlops.ValidatePort(p) }
