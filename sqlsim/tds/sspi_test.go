package tds

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/microsoft/go-mssqldb/integratedauth"
	"github.com/microsoft/go-mssqldb/msdsn"
)

// An integrated-security login through go-mssqldb with a test authenticator: LOGIN7
// carries its first token, the server answers with an SSPI token (0xED) and reads
// the client's SSPI message (packet 0x11) before it accepts the login.

const sspiTestProvider = "tds-test-sspi"

func init() {
	if err := integratedauth.SetIntegratedAuthenticationProvider(sspiTestProvider, integratedauth.ProviderFunc(
		func(msdsn.Config) (integratedauth.IntegratedAuthenticator, error) { return &testSSPI{}, nil })); err != nil {
		panic(err)
	}
}

type testSSPI struct{}

func (*testSSPI) InitialBytes() ([]byte, error) { return []byte("hello"), nil }
func (*testSSPI) NextBytes(b []byte) ([]byte, error) {
	return append([]byte("answer:"), b...), nil
}
func (*testSSPI) Free() {}

// sspiRoundTrip is the fake handler's side: it checks the first token, sends a
// challenge and checks the answer.
func sspiRoundTrip(req *LoginRequest) error {
	if string(req.SSPI) != "hello" {
		return fmt.Errorf("first token %q", req.SSPI)
	}
	got, err := req.SSPIExchange([]byte("challenge"))
	if err != nil {
		return err
	}
	if !bytes.Equal(got, []byte("answer:challenge")) {
		return fmt.Errorf("answer %q", got)
	}
	return nil
}

func TestSSPIExchange(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.IntegratedAuth = true })
	db := ts.open(t, "authenticator="+sspiTestProvider+";user id=;password=")
	if err := db.PingContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := ts.h.lastLogin(); string(got.SSPI) != "hello" {
		t.Errorf("LoginRequest.SSPI = %q", got.SSPI)
	}
}

// TestSSPIRefusedWithoutIntegratedAuth: without Config.IntegratedAuth an
// integrated-security login is refused as SQL Server refuses an untrusted domain.
func TestSSPIRefusedWithoutIntegratedAuth(t *testing.T) {
	ts := startServer(t)
	db := ts.open(t, "authenticator="+sspiTestProvider+";user id=;password=")
	err := db.PingContext(context.Background())
	if err == nil || !strings.Contains(err.Error(), "untrusted domain") {
		t.Fatalf("Ping: %v, want the untrusted-domain refusal", err)
	}
	if ts.h.loginCount() != 0 {
		t.Error("the handler was called")
	}
}
