// Package tds is a server-side implementation of the Tabular Data Stream
// protocol (MS-TDS, version 7.4) as spoken by Microsoft SQL Server.
//
// It is the wire layer of a SQL Server simulator: it accepts TCP clients such
// as go-mssqldb or FreeTDS, negotiates encryption (TLS wrapped in PRELOGIN
// packets, full or login-only), parses LOGIN7 (SQL and federated
// authentication), SQLBatch, RPC, transaction-manager and ATTENTION messages,
// and encodes results as TDS tokens. SQL semantics are supplied by a Handler
// and the Sessions it creates.
//
// Responses are buffered by a ResponseWriter and sent when the Session method
// returns, so a single response must fit in memory.
package tds

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"time"
)

// Config configures a Server.
type Config struct {
	// TLSConfig enables encryption. When nil the server answers
	// ENCRYPT_NOT_SUP to every client. Session tickets are always disabled
	// and, unless MaxVersion is set, TLS is capped at 1.2 like SQL Server does
	// for TDS 7.x, because the handshake travels inside PRELOGIN packets.
	TLSConfig *tls.Config
	// ServerName is reported in ERROR and INFO tokens; defaults to "sqlsim".
	ServerName string
	// ProgVersion is the LOGINACK program version: major, minor, build-high,
	// build-low (for example 16, 0, 0x10, 0x9A for 16.0.4250).
	ProgVersion [4]byte
	// Handler authenticates logins and creates sessions. It is required.
	Handler Handler
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// RequireFedAuth rejects logins that do not carry a federated
	// authentication (Entra ID) token, and is advertised in the PRELOGIN
	// FEDAUTHREQUIRED answer.
	RequireFedAuth bool
	// IntegratedAuth passes logins with integrated security (LOGIN7 fSSPI,
	// MS-TDS 2.2.6.4) to the Handler with LoginRequest.SSPI set; without it
	// they are refused as SQL Server refuses them from an untrusted domain.
	IntegratedAuth bool
	// FedAuthSTSURL and FedAuthSPN are sent in the FEDAUTHINFO token to
	// clients using the ADAL/MSAL workflow. Defaults:
	// "https://login.microsoftonline.com/common" and "https://database.windows.net/".
	FedAuthSTSURL string
	FedAuthSPN    string
	// LoginTimeout bounds PRELOGIN, TLS handshake and LOGIN7 processing.
	// Zero means 30 seconds; a negative value disables the limit.
	LoginTimeout time.Duration
	// MaxRequestSize bounds the size of one client message (the payload of
	// all its packets), in bytes. Zero means 4 MiB. A larger request is
	// refused as soon as a packet header announces the excess: the client
	// gets an ERROR (class 20) and the connection is closed, so the server
	// never holds more than this much of one request.
	MaxRequestSize int
	// RequestReadTimeout bounds, after login, how long the rest of a client
	// message may take to arrive once its first byte has (a packet header
	// promising more bytes than arrive); the connection is then closed.
	// Waiting for the next request is not limited. Zero means 30 seconds; a
	// negative value disables the limit. Under TLS the first byte is the
	// first decrypted byte, so a TLS record cut short before any counts as
	// idle.
	RequestReadTimeout time.Duration
}

// LoginRequest is what a client sent in LOGIN7.
type LoginRequest struct {
	UserName, Password, Database, AppName, HostName, ServerName, Language string
	// TDSVersion is the protocol version the client asked for (e.g. 0x74000004).
	TDSVersion uint32
	// PacketSize is the negotiated packet size (the client's request clamped to 512..32767).
	PacketSize uint32
	// FedAuthToken is non-empty when the client authenticated with a
	// federated (Entra) access token, either inside LOGIN7 (security-token
	// library) or in a FEDAUTH_TOKEN message (ADAL/MSAL workflow).
	FedAuthToken string
	// RemoteAddr is the client's network address.
	RemoteAddr net.Addr
	// SSPI is the security token of an integrated-security login (LOGIN7
	// SSPI data: a SPNEGO/Kerberos token or an NTLM NEGOTIATE message); nil
	// for SQL and federated logins. Only with Config.IntegratedAuth.
	SSPI []byte
	// SSPIExchange sends serverToken to the client in an SSPI token
	// (MS-TDS 2.2.7.22) and returns the client's answer, the data of its
	// SSPI message (packet type 0x11, MS-TDS 2.2.6.8). Set with SSPI.
	SSPIExchange func(serverToken []byte) ([]byte, error)
}

// Handler authenticates logins and creates sessions.
type Handler interface {
	// Login authenticates a client. A *Error result is sent as an ERROR
	// token (e.g. 18456) and the connection is closed; any other error is
	// reported as error 18456 "Login failed for user '...'".
	Login(ctx context.Context, req *LoginRequest) (Session, error)
}

// Session executes requests for one logged-in connection. Its methods are
// called from a single goroutine, one request at a time.
type Session interface {
	// Batch executes a SQLBatch request. ctx is cancelled when the client
	// sends an ATTENTION or the connection goes away.
	Batch(ctx context.Context, sql string, w *ResponseWriter)
	// RPC executes one remote procedure call.
	RPC(ctx context.Context, req *RPCRequest, w *ResponseWriter)
	// Close releases the session when the connection ends.
	Close()
}

// SessionResetter may be implemented by a Session that wants to be told when
// the client asks for a connection reset (RESETCONNECTION status bit, sent
// e.g. by connection pools before reusing a connection).
type SessionResetter interface {
	ResetSession(ctx context.Context)
}

// TxOp is a transaction-manager request type.
type TxOp int

// Transaction-manager operations.
const (
	TxBegin TxOp = iota + 1
	TxCommit
	TxRollback
)

// String returns the name of the operation.
func (o TxOp) String() string {
	switch o {
	case TxBegin:
		return "begin"
	case TxCommit:
		return "commit"
	case TxRollback:
		return "rollback"
	}
	return fmt.Sprintf("TxOp(%d)", int(o))
}

// TxSession may be implemented by a Session to take part in
// transaction-manager requests (database/sql BeginTx, Commit and Rollback in
// go-mssqldb). Returning a *Error sends it to the client; the server
// otherwise acknowledges the request with the matching ENVCHANGE.
type TxSession interface {
	Transaction(ctx context.Context, op TxOp) error
}

// Error is a SQL Server error to send as an ERROR token.
type Error struct {
	Number  int32
	State   uint8
	Class   uint8
	Message string
	Proc    string
	Line    int32
}

// Error returns a message in the style of SQL Server client tools.
func (e *Error) Error() string {
	return fmt.Sprintf("mssql error %d, class %d, state %d: %s", e.Number, e.Class, e.State, e.Message)
}

// RPCRequest is one RPC call. ProcName is the name the client sent or, for a
// well-known ProcID, its name (10 is "sp_executesql", 13 "sp_prepexec"; see
// MS-TDS 2.2.6.6 for the table of ids 1..15).
type RPCRequest struct {
	ProcName string
	// ProcID is the well-known procedure id, or 0 when the client sent a name.
	ProcID uint16
	// Options holds the RPC option flags (fWithRecomp 0x1, fNoMetaData 0x2, fReuseMetaData 0x4).
	Options uint16
	Params  []Param
}

// Param is an RPC parameter.
//
// Value is one of: nil (NULL), string, int64 (all integer types), bool,
// float64 (float and real), []byte, time.Time, [16]byte (uniqueidentifier in
// the canonical RFC 4122 byte order, i.e. SQL Server's mixed-endian order
// undone), or a string for decimal, numeric, money and smallmoney.
type Param struct {
	// Name is the name as sent, including the leading '@'; empty for positional parameters.
	Name string
	// Output is set when the client passed the parameter by reference (OUTPUT).
	Output bool
	// Default is set when the client asked for the parameter's default value.
	Default bool
	Value   any
	// TypeName is the SQL type name, e.g. "nvarchar", "bigint",
	// "datetimeoffset"; empty for an untyped NULL. For ReturnValue it selects
	// the type sent back (empty: inferred from Value).
	TypeName string
}
