package azureops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

const (
	testTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	testClient = "00000000-1111-2222-3333-444444444444"
	testSecret = "s3cr3t~value-that-must-not-leak"
)

func clearAzureEnv(t *testing.T) {
	for _, v := range []string{"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH",
		"AZURE_USERNAME", "AZURE_PASSWORD", "AZURE_TOKEN_CREDENTIALS", "AZURE_FEDERATED_TOKEN_FILE"} {
		t.Setenv(v, "") // restores the variable after the test
		os.Unsetenv(v)
	}
}

func TestNewCredentialEnvironment(t *testing.T) {
	clearAzureEnv(t)
	t.Setenv("AZURE_TENANT_ID", testTenant)
	t.Setenv("AZURE_CLIENT_ID", testClient)
	t.Setenv("AZURE_CLIENT_SECRET", testSecret)
	for _, c := range Clouds() {
		cred, err := NewCredential(Environment, c, CredentialOptions{})
		if err != nil || cred == nil {
			t.Fatalf("%s: NewCredential(Environment) = %v, %v", c.Name, cred, err)
		}
		if _, ok := cred.(*azidentity.EnvironmentCredential); !ok {
			t.Errorf("%s: got %T", c.Name, cred)
		}
	}
}

func TestNewCredentialEnvironmentErrors(t *testing.T) {
	clearAzureEnv(t)
	c, _ := LookupCloud(AzureCloud)
	_, err := NewCredential(Environment, c, CredentialOptions{})
	if !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("err = %v", err)
	}
	for _, v := range []string{"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"} {
		if !strings.Contains(err.Error(), v) {
			t.Errorf("error %q does not name %s", err, v)
		}
	}
	t.Setenv("AZURE_TENANT_ID", "not a tenant")
	t.Setenv("AZURE_CLIENT_ID", testClient)
	t.Setenv("AZURE_CLIENT_SECRET", testSecret)
	_, err = NewCredential(Environment, c, CredentialOptions{})
	if err == nil || !strings.Contains(err.Error(), "AZURE_TENANT_ID") || strings.Contains(err.Error(), testSecret) {
		t.Fatalf("bad tenant: err = %v", err)
	}
	t.Setenv("AZURE_TENANT_ID", testTenant)
	t.Setenv("AZURE_CLIENT_ID", "my-app")
	_, err = NewCredential(Environment, c, CredentialOptions{})
	if err == nil || !strings.Contains(err.Error(), "AZURE_CLIENT_ID") || strings.Contains(err.Error(), testSecret) {
		t.Fatalf("bad client: err = %v", err)
	}
}

func TestNewCredentialMethods(t *testing.T) {
	clearAzureEnv(t)
	c, _ := LookupCloud(AzureUSGovernment)
	for _, m := range []AuthMethod{"", DeviceCode, AzureCLI, ManagedIdentity, Default} {
		cred, err := NewCredential(m, c, CredentialOptions{TenantID: "contoso.onmicrosoft.com"})
		if err != nil || cred == nil {
			t.Errorf("NewCredential(%q) = %v, %v", m, cred, err)
		}
	}
	if cred, _ := NewCredential("", c, CredentialOptions{}); fmt.Sprintf("%T", cred) != "*azidentity.DeviceCodeCredential" {
		t.Errorf("the default method gives %T, want device code", cred)
	}
	if _, err := NewCredential("kerberos", c, CredentialOptions{}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("unknown method: err = %v", err)
	}
}

func TestNewCredentialRejectsBadTenantAndClient(t *testing.T) {
	c, _ := LookupCloud(AzureCloud)
	for _, tenant := range []string{"not a tenant", "contoso", "-contoso.com", "10.0.0.1", "72f988bf-86f1-41af-91ab", "a/b.com"} {
		_, err := NewCredential(DeviceCode, c, CredentialOptions{TenantID: tenant})
		if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), "GUID") {
			t.Errorf("tenant %q: err = %v", tenant, err)
		}
	}
	for _, tenant := range []string{testTenant, "contoso.onmicrosoft.com", "contoso.com", ""} {
		if err := ValidateTenantID(tenant); err != nil {
			t.Errorf("tenant %q rejected: %v", tenant, err)
		}
	}
	if _, err := NewCredential(DeviceCode, c, CredentialOptions{ClientID: "milink"}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("bad client ID: err = %v", err)
	}
}

func TestParseAuthMethod(t *testing.T) {
	for in, want := range map[string]AuthMethod{"": DeviceCode, "Device-Code": DeviceCode, "device_code": DeviceCode, "azure-cli": AzureCLI,
		"cli": AzureCLI, "environment": Environment, "env": Environment, "managed-identity": ManagedIdentity, "msi": ManagedIdentity, "DEFAULT": Default} {
		got, err := ParseAuthMethod(in)
		if err != nil || got != want {
			t.Errorf("ParseAuthMethod(%q) = %q, %v", in, got, err)
		}
	}
	_, err := ParseAuthMethod("password")
	if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), "device-code") {
		t.Errorf("err = %v", err)
	}
	for _, m := range AuthMethods() {
		if got, err := ParseAuthMethod(string(m)); err != nil || got != m {
			t.Errorf("round trip %q: %q, %v", m, got, err)
		}
	}
}

func TestSQLTokenProviderScopePerCloud(t *testing.T) {
	for _, c := range Clouds() {
		cred := &fakeCred{token: "tok-" + c.Name}
		get := SQLTokenProvider(cred, c)
		tok, err := get(context.Background())
		if err != nil || tok != "tok-"+c.Name {
			t.Fatalf("%s: %q, %v", c.Name, tok, err)
		}
		if calls := cred.calls(); len(calls) != 1 || calls[0] != c.SQLResource+".default" {
			t.Errorf("%s: scopes requested = %q, want %q", c.Name, calls, c.SQLResource+".default")
		}
	}
}

func TestSQLTokenProviderCaches(t *testing.T) {
	c, _ := LookupCloud(AzureCloud)
	cred := &fakeCred{expires: time.Now().Add(time.Hour)}
	get := SQLTokenProvider(cred, c)
	for range 3 {
		if _, err := get(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(cred.calls()); n != 1 {
		t.Errorf("a valid token was requested %d times, want once", n)
	}
	// A token about to expire is not reused.
	soon := &fakeCred{expires: time.Now().Add(time.Minute)}
	get = SQLTokenProvider(soon, c)
	get(context.Background())
	get(context.Background())
	if n := len(soon.calls()); n != 2 {
		t.Errorf("an expiring token was requested %d times, want twice", n)
	}
}

func TestSQLTokenProviderError(t *testing.T) {
	c, _ := LookupCloud(AzureCloud)
	cause := errors.New("DeviceCodeCredential: AADSTS70020: The provided value for the input parameter 'device_code' is not valid.")
	_, err := SQLTokenProvider(&fakeCred{err: cause}, c)(context.Background())
	if !errors.Is(err, cause) || !strings.Contains(err.Error(), "https://database.windows.net/.default") {
		t.Fatalf("err = %v", err)
	}
}

// entraTransport answers azidentity's requests like Entra would for a client secret
// credential whose sign-in fails with the given AADSTS reply.
type entraTransport struct {
	status int
	body   string
}

func (e entraTransport) Do(req *http.Request) (*http.Response, error) {
	body := e.body
	status := e.status
	if strings.Contains(req.URL.Path, "openid-configuration") {
		status = http.StatusOK
		base := "https://" + req.URL.Host + "/" + testTenant
		body = `{"token_endpoint":"` + base + `/oauth2/v2.0/token","authorization_endpoint":"` + base + `/oauth2/v2.0/authorize","issuer":"` + base + `/v2.0"}`
	}
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
}

func secretCredentialError(t *testing.T, status int, body string) error {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(testTenant, testClient, testSecret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Transport: entraTransport{status, body}, Retry: policy.RetryOptions{MaxRetries: -1}},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://management.core.windows.net//.default"}})
	if err == nil {
		t.Fatal("GetToken succeeded")
	}
	var afe *azidentity.AuthenticationFailedError
	if !errors.As(err, &afe) {
		t.Fatalf("GetToken error %T is not an AuthenticationFailedError: %v", err, err)
	}
	return err
}

func armError(status int, code, message string) error {
	req, _ := http.NewRequest(http.MethodGet, "https://management.azure.com/subscriptions/x?api-version=1", nil)
	req.Header.Set("Authorization", "Bearer eyJhbGciOiJSUzI1NiJ9.eyJ1cG4iOiJhZGFAY29udG9zby5jb20ifQ.c2lnbmF0dXJl")
	return runtime.NewResponseError(&http.Response{StatusCode: status, Status: http.StatusText(status), Request: req,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   io.NopCloser(strings.NewReader(`{"error":{"code":"` + code + `","message":"` + message + `"}}`))})
}

func TestExplainAuthError(t *testing.T) {
	// Errors that are not about signing in are left to the caller.
	for _, e := range []error{nil, errors.New("boom"), fmt.Errorf("find: %w", ErrMINotFound), fmt.Errorf("x: %w", ErrInvalidInput),
		armError(404, "ResourceNotFound", "not found"), armError(500, "InternalServerError", "oops")} {
		if got := ExplainAuthError(e); got != "" {
			t.Errorf("ExplainAuthError(%v) = %q, want \"\"", e, got)
		}
	}
	if got := ExplainAuthError(errors.New("DeviceCodeCredential: unexpected reply")); !strings.Contains(got, "sign-in failed") {
		t.Errorf("unknown credential error: %q", got)
	}
	for _, tc := range []struct {
		name     string
		err      error
		mentions []string
	}{
		{"wrong tenant (real AuthenticationFailedError)", secretCredentialError(t, 400,
			`{"error":"invalid_request","error_description":"AADSTS90002: Tenant '`+testTenant+`' not found. Check to make sure you have the correct tenant ID.\r\nTrace ID: 1","error_codes":[90002]}`),
			[]string{"tenant was not found", "AADSTS90002"}},
		{"wrong secret (real AuthenticationFailedError)", secretCredentialError(t, 401,
			`{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}`),
			[]string{"client secret is wrong", "AZURE_CLIENT_SECRET"}},
		{"guest missing", errors.New("DeviceCodeCredential authentication failed. AADSTS50020: User account 'ada@fabrikam.com' from identity provider 'live.com' does not exist in tenant 'Contoso'"),
			[]string{"not a member or guest", "AADSTS50020"}},
		{"expired device code", errors.New(`DeviceCodeCredential: {"error":"expired_token","error_description":"AADSTS70020: The provided value for the input parameter 'device_code' is not valid. This device code has expired."}`),
			[]string{"device code expired", "15 minutes"}},
		{"code_expired", errors.New("DeviceCodeCredential: code_expired"), []string{"device code expired"}},
		{"declined", errors.New("DeviceCodeCredential authentication failed: authorization_declined"), []string{"declined"}},
		{"canceled", fmt.Errorf("sign in: %w", context.Canceled), []string{"canceled"}},
		{"timeout", fmt.Errorf("sign in: %w", context.DeadlineExceeded), []string{"timed out"}},
		{"az not logged in", errors.New("AzureCLICredential: ERROR: Please run 'az login' to setup account."), []string{"az login", "not signed in"}},
		{"az missing", azidentity.NewCredentialUnavailableError("AzureCLICredential: executable not found on path"), []string{"not installed"}},
		{"no managed identity", azidentity.NewCredentialUnavailableError("ManagedIdentityCredential: no response from the IMDS endpoint"), []string{"no managed identity", "Azure VM"}},
		{"generic unavailable", azidentity.NewCredentialUnavailableError("WorkloadIdentityCredential: no token file"), []string{"not available here", "no token file"}},
		{"DefaultAzureCredential", errors.New("DefaultAzureCredential: failed to acquire a token.\nAttempted credentials:\n\tEnvironmentCredential: missing"), []string{"default sign-in methods"}},
		{"ARM 403", armError(403, "AuthorizationFailed", "The client 'ada@contoso.com' does not have authorization"), []string{"403 AuthorizationFailed", "Reader"}},
		{"ARM wrong tenant", armError(401, "InvalidAuthenticationTokenTenant", "The access token is from the wrong issuer"), []string{"another tenant"}},
	} {
		got := ExplainAuthError(tc.err)
		for _, m := range tc.mentions {
			if !strings.Contains(got, m) {
				t.Errorf("%s: %q does not mention %q", tc.name, got, m)
			}
		}
		if strings.Contains(got, testSecret) || strings.Contains(got, "eyJ") || strings.Contains(got, "Bearer") {
			t.Errorf("%s: explanation leaks a secret: %q", tc.name, got)
		}
	}
}

func TestRedact(t *testing.T) {
	in := `token eyJhbGciOiJSUzI1NiJ9.eyJ1cG4iOiJhZGFAY29udG9zby5jb20ifQ.c2lnbmF0dXJl client_secret=abc123&x=1 "password": "hunter2"`
	got := redact(in)
	for _, leak := range []string{"eyJ", "abc123", "hunter2"} {
		if strings.Contains(got, leak) {
			t.Errorf("redact left %q in %q", leak, got)
		}
	}
	if !strings.Contains(got, "x=1") {
		t.Errorf("redact removed too much: %q", got)
	}
}
