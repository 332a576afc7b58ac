package azureops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// AuthMethod selects how milink signs in to Microsoft Entra ID.
type AuthMethod string

// Sign-in methods. DeviceCode is the default: it works over SSH without a browser.
const (
	// DeviceCode shows a code to enter at a URL in any browser (on any machine).
	DeviceCode AuthMethod = "device-code"
	// AzureCLI uses the account that `az login` signed in (az must be installed; its
	// cloud is the one `az cloud set` chose).
	AzureCLI AuthMethod = "azure-cli"
	// Environment uses a service principal from AZURE_TENANT_ID, AZURE_CLIENT_ID and
	// AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH).
	Environment AuthMethod = "environment"
	// ManagedIdentity uses the managed identity of the Azure VM or Arc-enabled server
	// milink runs on.
	ManagedIdentity AuthMethod = "managed-identity"
	// Default tries environment, workload identity, managed identity, Azure CLI, Azure
	// Developer CLI and Azure PowerShell in turn (azidentity's DefaultAzureCredential).
	Default AuthMethod = "default"
)

// AuthMethods returns every AuthMethod, the default first.
func AuthMethods() []AuthMethod {
	return []AuthMethod{DeviceCode, AzureCLI, Environment, ManagedIdentity, Default}
}

// ParseAuthMethod parses a method name (case-insensitive; '_' and '-' are equivalent,
// "devicecode" and "cli" are accepted). An empty name means DeviceCode.
func ParseAuthMethod(s string) (AuthMethod, error) {
	n := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "_", "-")
	switch n {
	case "", "device-code", "devicecode":
		return DeviceCode, nil
	case "azure-cli", "azurecli", "cli", "az":
		return AzureCLI, nil
	case "environment", "env", "service-principal":
		return Environment, nil
	case "managed-identity", "managedidentity", "msi":
		return ManagedIdentity, nil
	case "default":
		return Default, nil
	}
	names := make([]string, 0, 5)
	for _, m := range AuthMethods() {
		names = append(names, string(m))
	}
	return "", fmt.Errorf("%w: unknown Azure sign-in method %q: use one of %s", ErrInvalidInput, s, strings.Join(names, ", "))
}

// CredentialOptions configures NewCredential.
type CredentialOptions struct {
	// TenantID is the Entra tenant (a GUID or a domain such as contoso.onmicrosoft.com).
	// Empty means the account's home tenant ("organizations" for device code).
	TenantID string
	// ClientID is the application (client) ID for device code sign-in, or the client ID
	// of a user-assigned managed identity. Empty means the defaults (the Azure CLI's
	// public client; the system-assigned identity).
	ClientID string
	// DeviceCodePrompt shows the device code sign-in instructions: message is Entra's
	// full sentence, userCode the code and verificationURL where to enter it. It must not
	// block until sign-in completes. When nil, the message is written to stderr.
	DeviceCodePrompt func(ctx context.Context, message, userCode, verificationURL string) error
}

// ValidateTenantID checks that id is a tenant GUID or a domain name. Empty is allowed.
func ValidateTenantID(id string) error {
	if id == "" || isGUID(id) || isDomainName(id) {
		return nil
	}
	return fmt.Errorf("%w: tenant %q is neither a tenant ID (a GUID) nor a domain name such as contoso.onmicrosoft.com (az account show --query tenantId shows yours)", ErrInvalidInput, id)
}

func isDomainName(s string) bool {
	if len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if !isDNSLabel(l) {
			return false
		}
	}
	// the top-level domain is not all digits (rules out IP addresses)
	tld := labels[len(labels)-1]
	return strings.Trim(tld, "0123456789") != ""
}

// NewCredential returns a credential for method m in cloud c. It does not contact Entra:
// sign-in happens at the first token request.
func NewCredential(m AuthMethod, c Cloud, opts CredentialOptions) (azcore.TokenCredential, error) {
	if m == "" {
		m = DeviceCode
	}
	if err := ValidateTenantID(opts.TenantID); err != nil {
		return nil, err
	}
	if opts.ClientID != "" && !isGUID(opts.ClientID) {
		return nil, fmt.Errorf("%w: client ID %q is not a GUID", ErrInvalidInput, opts.ClientID)
	}
	if c.Name == "" {
		var err error
		if c, err = LookupCloud(""); err != nil {
			return nil, err
		}
	}
	co := azcore.ClientOptions{Cloud: c.Config}
	switch m {
	case DeviceCode:
		prompt := opts.DeviceCodePrompt
		if prompt == nil {
			prompt = func(_ context.Context, message, _, _ string) error {
				_, err := fmt.Fprintln(os.Stderr, message)
				return err
			}
		}
		cred, err := azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
			ClientOptions: co,
			TenantID:      opts.TenantID,
			ClientID:      opts.ClientID,
			UserPrompt: func(ctx context.Context, dc azidentity.DeviceCodeMessage) error {
				return prompt(ctx, dc.Message, dc.UserCode, dc.VerificationURL)
			},
		})
		if err != nil {
			return nil, fmt.Errorf("device code sign-in: %w", err)
		}
		return cred, nil
	case AzureCLI:
		cred, err := azidentity.NewAzureCLICredential(&azidentity.AzureCLICredentialOptions{TenantID: opts.TenantID})
		if err != nil {
			return nil, fmt.Errorf("Azure CLI sign-in: %w", err)
		}
		return cred, nil
	case Environment:
		if err := checkEnvironment(); err != nil {
			return nil, err
		}
		cred, err := azidentity.NewEnvironmentCredential(&azidentity.EnvironmentCredentialOptions{ClientOptions: co})
		if err != nil {
			return nil, fmt.Errorf("service principal sign-in from AZURE_* variables: %s", redact(err.Error()))
		}
		return cred, nil
	case ManagedIdentity:
		mo := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: co}
		if opts.ClientID != "" {
			mo.ID = azidentity.ClientID(opts.ClientID)
		}
		cred, err := azidentity.NewManagedIdentityCredential(mo)
		if err != nil {
			return nil, fmt.Errorf("managed identity sign-in: %w", err)
		}
		return cred, nil
	case Default:
		cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: co, TenantID: opts.TenantID})
		if err != nil {
			return nil, fmt.Errorf("default Azure sign-in: %s", redact(err.Error()))
		}
		return cred, nil
	}
	_, err := ParseAuthMethod(string(m))
	return nil, err
}

// checkEnvironment checks the AZURE_* variables a service principal needs, naming the
// missing or malformed ones (never printing the secret).
func checkEnvironment() error {
	var missing []string
	for _, v := range []string{"AZURE_TENANT_ID", "AZURE_CLIENT_ID"} {
		if os.Getenv(v) == "" {
			missing = append(missing, v)
		}
	}
	if os.Getenv("AZURE_CLIENT_SECRET") == "" && os.Getenv("AZURE_CLIENT_CERTIFICATE_PATH") == "" &&
		(os.Getenv("AZURE_USERNAME") == "" || os.Getenv("AZURE_PASSWORD") == "") {
		missing = append(missing, "AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: service principal sign-in needs the environment variables %s", ErrInvalidInput, strings.Join(missing, ", "))
	}
	if err := ValidateTenantID(os.Getenv("AZURE_TENANT_ID")); err != nil {
		return fmt.Errorf("AZURE_TENANT_ID: %w", err)
	}
	if id := os.Getenv("AZURE_CLIENT_ID"); !isGUID(id) {
		return fmt.Errorf("%w: AZURE_CLIENT_ID %q is not a GUID (the application ID of the service principal)", ErrInvalidInput, id)
	}
	return nil
}

// SQLTokenProvider returns a function that gets an Entra access token for Azure SQL in
// cloud c (scope c.SQLScope), suitable for sqlops.ConnConfig.Token. Tokens are reused
// until five minutes before they expire.
func SQLTokenProvider(cred azcore.TokenCredential, c Cloud) func(ctx context.Context) (string, error) {
	var (
		mu     sync.Mutex
		cached azcore.AccessToken
	)
	scope := c.SQLScope
	return func(ctx context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if cached.Token != "" && time.Until(cached.ExpiresOn) > 5*time.Minute {
			return cached.Token, nil
		}
		tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
		if err != nil {
			return "", fmt.Errorf("Entra access token for Azure SQL (%s): %w", scope, err)
		}
		if tok.Token == "" {
			return "", fmt.Errorf("Entra access token for Azure SQL (%s): the credential returned an empty token", scope)
		}
		cached = tok
		return tok.Token, nil
	}
}

var aadstsRE = regexp.MustCompile(`AADSTS\d+`)

// aadstsHelp explains Entra error codes (https://learn.microsoft.com/entra/identity-platform/reference-error-codes).
var aadstsHelp = map[string]string{
	"AADSTS90002":   "the tenant was not found: check the tenant ID or domain, and that it belongs to the chosen Azure cloud",
	"AADSTS900023":  "the tenant is neither a valid tenant ID nor a domain name: use the directory (tenant) ID GUID or a domain such as contoso.onmicrosoft.com",
	"AADSTS90072":   "your account is from another tenant and is not a guest in this one: sign in with an account of this tenant, or choose your own tenant",
	"AADSTS50020":   "your account is not a member or guest of this tenant: sign in with an account of the tenant, or choose the tenant your account belongs to",
	"AADSTS50034":   "this user account does not exist in the tenant: check the account name and the tenant",
	"AADSTS50126":   "the user name or password is wrong",
	"AADSTS50053":   "the account is locked after too many failed sign-ins: wait, or ask your Entra administrator",
	"AADSTS50057":   "the account is disabled",
	"AADSTS50055":   "the password has expired: change it, then sign in again",
	"AADSTS50076":   "multi-factor authentication is required: use the device-code sign-in, which supports it",
	"AADSTS50079":   "multi-factor authentication registration is required: register at https://aka.ms/mfasetup, then sign in again",
	"AADSTS50158":   "a Conditional Access policy requires an extra check: use the device-code sign-in",
	"AADSTS53003":   "a Conditional Access policy blocked the sign-in (for example from this location or device): ask your Entra administrator",
	"AADSTS530003":  "a Conditional Access policy requires a managed device: sign in from a compliant device or ask your Entra administrator",
	"AADSTS65001":   "the application needs consent that has not been granted: ask an administrator to grant it, or use the default client ID",
	"AADSTS65004":   "you declined consent during sign-in",
	"AADSTS70000":   "the sign-in was declined or the grant is invalid: run milink again and complete the sign-in",
	"AADSTS70020":   "the device code expired before the sign-in was completed (it is valid for 15 minutes): run milink again and enter the code promptly",
	"AADSTS70043":   "the sign-in session expired because of a Conditional Access sign-in frequency policy: sign in again",
	"AADSTS700082":  "the saved sign-in expired after inactivity: sign in again",
	"AADSTS50173":   "the saved sign-in was revoked (for example after a password change): sign in again",
	"AADSTS700016":  "the application (client) ID was not found in the tenant: check the client ID and the tenant",
	"AADSTS7000215": "the client secret is wrong: check AZURE_CLIENT_SECRET (use the secret's value, not its ID)",
	"AADSTS7000222": "the client secret has expired: create a new one (az ad app credential reset) and update AZURE_CLIENT_SECRET",
	"AADSTS500011":  "the resource is not known in this tenant: the Azure cloud is probably wrong (AzureCloud, AzureUSGovernment, AzureChinaCloud)",
	"AADSTS50059":   "no tenant was given and none could be derived from the account: set the tenant ID",
	"AADSTS90019":   "no tenant was given and none could be derived from the account: set the tenant ID",
	"AADSTS50011":   "the reply address of the application does not match: use the default client ID for device-code sign-in",
}

// ExplainAuthError turns a sign-in or Resource Manager authorization error into one
// clear sentence with what to do. It never includes tokens or secrets. It returns ""
// for a nil error and for errors that are not about signing in or authorization (bad
// input, not found, other Resource Manager errors): callers then fall back to
// ARMErrorSummary or the error itself.
func ExplainAuthError(err error) string {
	if err == nil || errors.Is(err, ErrInvalidInput) || errors.Is(err, ErrMINotFound) {
		return ""
	}
	raw := err.Error()
	lower := strings.ToLower(raw)
	codes := aadstsRE.FindAllString(raw, -1)
	var parts []string
	seen := map[string]bool{}
	for _, c := range codes {
		if seen[c] {
			continue
		}
		seen[c] = true
		if h, ok := aadstsHelp[c]; ok {
			parts = append(parts, h+" ("+c+")")
		}
	}
	if len(parts) > 0 {
		return "Entra sign-in failed: " + strings.Join(parts, "; ")
	}
	var re *azcore.ResponseError
	switch {
	case errors.Is(err, context.Canceled):
		return "the Azure request (sign-in or Resource Manager) was canceled before it completed"
	case errors.Is(err, context.DeadlineExceeded):
		return "the Azure request (sign-in or Resource Manager) timed out: complete the device-code sign-in sooner, and check that this machine can reach the Entra authority and Resource Manager"
	case strings.Contains(lower, "code_expired") || strings.Contains(lower, "expired_token"):
		return "Entra sign-in failed: the device code expired before the sign-in was completed (it is valid for 15 minutes): run milink again and enter the code promptly"
	case strings.Contains(lower, "authorization_declined") || strings.Contains(lower, "access_denied"):
		return "Entra sign-in failed: the sign-in was declined or canceled in the browser: run milink again and accept the sign-in"
	case errors.As(err, &re):
		switch {
		case re.ErrorCode == "InvalidAuthenticationTokenTenant":
			return "Azure refused the token: the subscription belongs to another tenant: set the tenant ID of the subscription's directory (" + ARMErrorSummary(err) + ")"
		case re.ErrorCode == "ExpiredAuthenticationToken" || re.StatusCode == 401:
			return "Azure refused the token (" + ARMErrorSummary(err) + "): sign in again, and check the tenant and the Azure cloud"
		case re.StatusCode == 403:
			return "Azure denied access (" + ARMErrorSummary(err) + "): you need at least Reader on the managed instance, its resource group or subscription"
		}
		return ""
	}
	var afe *azidentity.AuthenticationFailedError
	var aue *azidentity.AuthenticationRequiredError
	switch {
	case errors.As(err, &aue):
		return "Entra sign-in needs user interaction: use the device-code sign-in"
	case strings.Contains(raw, "DefaultAzureCredential"):
		return "none of the default sign-in methods (environment, managed identity, Azure CLI, ...) worked: choose the device-code sign-in, or run `az login --use-device-code` first"
	case strings.Contains(raw, "AzureCLICredential") && strings.Contains(lower, "multifactor"):
		return "the Azure CLI needs a fresh multi-factor sign-in: run `az login --use-device-code` again, or choose the device-code sign-in"
	case strings.Contains(raw, "AzureCLICredential") && (strings.Contains(lower, "az login") || strings.Contains(lower, "please run")):
		return "the Azure CLI is not signed in: run `az login --use-device-code` (and `az cloud set --name <cloud>` first for a government cloud), or choose the device-code sign-in"
	case strings.Contains(raw, "AzureCLICredential") && (strings.Contains(lower, "not found on path") || strings.Contains(lower, "not installed") || strings.Contains(lower, "executable file not found")):
		return "the Azure CLI (az) is not installed on this machine: install it, or choose the device-code sign-in"
	case strings.Contains(raw, "ManagedIdentityCredential"):
		return "no managed identity is available here: managed identity works only on an Azure VM or Azure Arc-enabled server that has one (" + redact(shortMessage(raw)) + "); choose the device-code sign-in instead"
	case strings.Contains(lower, "missing environment variable") || strings.Contains(raw, "EnvironmentCredential") && isCredentialUnavailable(err):
		return "service principal sign-in needs AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH): " + redact(shortMessage(raw))
	case errors.As(err, &afe):
		return "Entra sign-in failed: " + redact(shortMessage(raw))
	case isCredentialUnavailable(err):
		return "this sign-in method is not available here: " + redact(shortMessage(raw))
	}
	if strings.Contains(raw, "Credential") { // azidentity names every credential type *Credential
		return "Azure sign-in failed: " + redact(shortMessage(raw))
	}
	return ""
}

// isCredentialUnavailable reports whether err is azidentity's CredentialUnavailableError
// (its type is unexported; NewCredentialUnavailableError builds it).
func isCredentialUnavailable(err error) bool {
	// The type and its marker method are unexported: compare dynamic types.
	for e := err; e != nil; e = errors.Unwrap(e) {
		if fmt.Sprintf("%T", e) == credUnavailableType {
			return true
		}
	}
	return false
}

var credUnavailableType = fmt.Sprintf("%T", azidentity.NewCredentialUnavailableError(""))

// shortMessage keeps the first meaningful line of an azidentity error and, when the
// error carries Entra's JSON reply, its error_description.
func shortMessage(s string) string {
	if m := regexp.MustCompile(`"error_description":\s*"([^"]*)"`).FindStringSubmatch(s); m != nil {
		d := m[1]
		if i := strings.Index(d, `\r\n`); i >= 0 {
			d = d[:i]
		}
		return d
	}
	line := firstLine(s)
	if len(line) > 300 {
		line = line[:300] + "..."
	}
	return line
}

var (
	jwtRE    = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*`)
	secretRE = regexp.MustCompile(`(?i)((?:client_secret|password|access_token|refresh_token|secret)["']?\s*[=:]\s*["']?)[^\s&"',]+`)
)

// redact removes anything that looks like a JWT or a secret=value pair.
func redact(s string) string {
	s = jwtRE.ReplaceAllString(s, "[redacted token]")
	return secretRE.ReplaceAllString(s, "${1}[redacted]")
}
