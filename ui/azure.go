package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/milink/milink/steps"
)

// AzureOptions pre-fill the wizard's Azure choices: the cloud, how the managed instance
// login signs in, and how the Azure Resource Manager checks (permissions, NSG) sign in.
type AzureOptions struct {
	Cloud         string   // AzureCloud (default), AzureUSGovernment or AzureChinaCloud
	MIAuth        string   // "sql" (default: SQL login) or an azureops method name (device-code, azure-cli, environment, managed-identity, default)
	AzureAuth     string   // sign-in for the Resource Manager checks: "" = the managed instance login's method when it is Entra, else none; "none"; or a method name
	TenantID      string   // Entra tenant (GUID or domain); "" = the account's home tenant
	ClientID      string   // application (client) ID for device code, or a user-assigned managed identity
	Subscriptions []string // where to look for the managed instance; nil = every visible subscription
	MIResourceID  string   // the managed instance's Azure resource ID; "" = found by its FQDN

	// NewCredential builds Entra credentials; nil means steps.NewCredential (tests
	// inject a fake). It must not contact Entra: sign-in happens at the first token
	// request, inside a tea.Cmd.
	NewCredential func(m steps.AuthMethod, c steps.Cloud, o steps.CredentialOptions) (steps.Credential, error)
}

// Validate checks the Azure options (no I/O); main turns an error into exit code 2.
func (o AzureOptions) Validate() error {
	_, err := parseAzureOptions(o)
	return err
}

type credFactory = func(m steps.AuthMethod, c steps.Cloud, o steps.CredentialOptions) (steps.Credential, error)

// azureSetup is AzureOptions parsed.
type azureSetup struct {
	cloud     string           // default cloud name
	miMethod  steps.AuthMethod // "" = SQL login
	armAuth   string           // "" (follow the managed instance login), "none", or "method"
	armMethod steps.AuthMethod // when armAuth == "method"
	tenant    string
	clientID  string
	subs      []string
	ref       *steps.MIRef
	newCred   credFactory
}

const (
	armFollow = ""
	armNone   = "none"
	armMethod = "method"
)

// parseAzureOptions parses o. On an error the returned setup holds the defaults for the
// values that could not be parsed, so the wizard can still start and show the error.
func parseAzureOptions(o AzureOptions) (azureSetup, error) {
	s := azureSetup{cloud: steps.AzureCloud, tenant: strings.TrimSpace(o.TenantID), clientID: strings.TrimSpace(o.ClientID), newCred: o.NewCredential}
	if s.newCred == nil {
		s.newCred = steps.NewCredential
	}
	var errs []error
	if c, err := steps.LookupCloud(o.Cloud); err != nil {
		errs = append(errs, fmt.Errorf("cloud: %w", err))
	} else {
		s.cloud = c.Name
	}
	switch a := strings.ToLower(strings.TrimSpace(o.MIAuth)); a {
	case "", "sql":
	default:
		m, err := steps.ParseAuthMethod(a)
		if err != nil {
			errs = append(errs, fmt.Errorf("managed instance authentication: %w", err))
		} else {
			s.miMethod = m
		}
	}
	switch a := strings.ToLower(strings.TrimSpace(o.AzureAuth)); a {
	case "":
	case "none":
		s.armAuth = armNone
	default:
		m, err := steps.ParseAuthMethod(a)
		if err != nil {
			errs = append(errs, fmt.Errorf("Azure sign-in: %w", err))
		} else {
			s.armAuth, s.armMethod = armMethod, m
		}
	}
	if err := steps.ValidateTenantID(s.tenant); err != nil {
		errs = append(errs, fmt.Errorf("tenant ID: %w", err))
		s.tenant = ""
	}
	for _, sub := range o.Subscriptions {
		if err := steps.ValidateSubscriptionID(sub); err != nil {
			errs = append(errs, fmt.Errorf("subscription: %w", err))
			continue
		}
		s.subs = append(s.subs, sub)
	}
	if o.MIResourceID != "" {
		r, err := steps.ParseMIResourceID(o.MIResourceID)
		if err != nil {
			errs = append(errs, fmt.Errorf("managed instance resource ID: %w", err))
		} else {
			s.ref = &r
		}
	}
	return s, errors.Join(errs...)
}

// armSignsIn reports whether the Resource Manager checks sign in with a method of their
// own (so the tenant matters even with a SQL login).
func (s *azureSetup) armSignsIn() bool { return s.armAuth == armMethod }

// credKey identifies a credential: the same key means the same sign-in can be reused.
func credKey(m steps.AuthMethod, cloud, tenant, clientID string) string {
	return strings.Join([]string{string(m), cloud, strings.ToLower(tenant), strings.ToLower(clientID)}, "|")
}

// Entra authentication choices of the managed instance's login form, after "SQL login":
// note fits the form line at 80 columns, help is the longer text of accessible mode.
var entraChoices = []struct {
	label  string
	method steps.AuthMethod
	note   string
	help   string
}{
	{"Entra device code", steps.DeviceCode, "works over SSH", "sign in from any browser, on any device; works over SSH"},
	{"Entra Azure CLI", steps.AzureCLI, "az login's account", "the account az login signed in on this machine"},
	{"Entra service principal", steps.Environment, "AZURE_* variables", "from AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET"},
	{"Entra managed identity", steps.ManagedIdentity, "this VM's identity", "the managed identity of this Azure VM or Arc-enabled server"},
	{"Entra default chain", steps.DefaultChain, "each in turn", "environment, managed identity, Azure CLI … in turn"},
}

// authMethodOf returns the Entra method of an authentication choice, or "" for SQL login.
func authMethodOf(label string) steps.AuthMethod {
	for _, c := range entraChoices {
		if c.label == label {
			return c.method
		}
	}
	return ""
}

// authLabel returns the authentication choice of an Entra method ("" → SQL login).
func authLabel(m steps.AuthMethod) string {
	for _, c := range entraChoices {
		if c.method == m {
			return c.label
		}
	}
	return authSQL
}

// methodName is how a method is named in messages: "device code", "Azure CLI", ….
func methodName(m steps.AuthMethod) string {
	return strings.TrimPrefix(authLabel(m), "Entra ")
}

// pendingToken stands in for the token provider while the form is validated; the
// connect command replaces it with azureops.SQLTokenProvider.
func pendingToken(context.Context) (string, error) {
	return "", errors.New("not signed in to Entra ID yet")
}

// deviceCodeLoginTimeout is how long the managed instance login waits for a person to
// complete a device code sign-in on another device.
const deviceCodeLoginTimeout = 5 * time.Minute

// Device code prompts travel from the credential (inside a tea.Cmd) to the UI through a
// channel; the context of the token request carries a tag saying which validation or
// Azure check asked, so a stale prompt is never shown as the current one.
type promptPurpose int

const (
	promptAny promptPurpose = iota
	promptLogin
	promptAzure
)

func (p promptPurpose) String() string {
	switch p {
	case promptLogin:
		return "login"
	case promptAzure:
		return "azure checks"
	}
	return "any"
}

type promptTag struct {
	purpose promptPurpose
	gen     int
}

type promptTagKey struct{}

func withPromptTag(ctx context.Context, t promptTag) context.Context {
	return context.WithValue(ctx, promptTagKey{}, t)
}

// deviceCodeMsg: Entra asks the user to sign in with a device code.
type deviceCodeMsg struct {
	tag     promptTag
	message string // Entra's sentence
	code    string
	url     string
}

const promptBuffer = 16

// newPromptFunc returns the DeviceCodePrompt of every credential the wizard builds: it
// never blocks (a prompt that does not fit in the buffer is dropped).
func newPromptFunc(ch chan<- deviceCodeMsg) func(ctx context.Context, message, userCode, url string) error {
	return func(ctx context.Context, message, userCode, url string) error {
		tag, _ := ctx.Value(promptTagKey{}).(promptTag)
		select {
		case ch <- deviceCodeMsg{tag: tag, message: message, code: userCode, url: url}:
		default:
		}
		return nil
	}
}

// deviceCodeText is the one sentence to show: "To sign in, open URL and enter the code
// CODE", or Entra's own message when it did not give both.
func deviceCodeText(d deviceCodeMsg) string {
	if d.url == "" || d.code == "" {
		return d.message
	}
	return fmt.Sprintf("To sign in, open %s and enter the code %s", d.url, d.code)
}

// renderDeviceCode renders a device code prompt prominently, as plain selectable text:
// a marker and words (not only colour), the code never broken across lines.
// note says what milink does meanwhile.
func renderDeviceCode(d deviceCodeMsg, width int, note string) string {
	var b strings.Builder
	b.WriteString(wrap(deviceCodeText(d), width, styles.Prompt.Render("▶ "), "  ", styles.Prompt.Render))
	if note != "" {
		b.WriteString("\n")
		b.WriteString(wrap(note, width, "  ", "  ", styles.Muted.Render))
	}
	return b.String()
}

// explainedError shows a clear sentence for an error and keeps the error for errors.Is.
type explainedError struct {
	msg string
	err error
}

func (e explainedError) Error() string { return e.msg }
func (e explainedError) Unwrap() error { return e.err }

// explainEntraError turns an Entra login error in cloud into what to do about it.
func explainEntraError(err error, cloud steps.Cloud) error {
	if err == nil {
		return nil
	}
	if s := steps.ExplainAuthError(err); s != "" {
		return explainedError{msg: s, err: err}
	}
	if raw := err.Error(); strings.Contains(raw, "Entra access token") && unreachable(raw) {
		return explainedError{msg: "Entra sign-in failed: this machine cannot reach Microsoft Entra ID at " + cloud.AuthorityHost +
			" (check DNS, the proxy and the firewall; the Network Options page lists what to allowlist) and check the Azure cloud: " + raw, err: err}
	}
	if errors.Is(err, steps.ErrAuth) {
		return explainedError{msg: err.Error() + ": the managed instance rejected the Entra token; your account needs a login there (CREATE LOGIN [you@contoso.com] FROM EXTERNAL PROVIDER) or must be the instance's Entra admin", err: err}
	}
	return err
}

// unreachable reports whether an error message is about reaching a host.
func unreachable(msg string) bool {
	for _, w := range []string{"no such host", "dial tcp", "i/o timeout", "connection refused", "network is unreachable", "proxyconnect"} {
		if strings.Contains(msg, w) {
			return true
		}
	}
	return false
}

// armSignIn describes the Resource Manager sign-in of an Azure check.
type armSignIn struct {
	cred   steps.Credential // ready credential, or nil
	build  func() (steps.Credential, error)
	key    string
	method steps.AuthMethod // "" = not signed in
}

// signInFinding is the finding for a Resource Manager sign-in that could not be set up.
func signInFinding(err error) steps.Finding {
	detail := steps.ExplainAuthError(err)
	if detail == "" {
		detail = err.Error()
	}
	return steps.Finding{ID: "azure-sign-in", Server: "Azure", Severity: steps.Warn, Title: "Could not sign in to Azure Resource Manager", Detail: detail}
}

// renderAllowlist lists the addresses to allowlist, name and URL per line (the URL on
// its own indented line when both do not fit).
func renderAllowlist(items []steps.AllowlistItem, width int) string {
	nameW := 0
	for _, a := range items {
		nameW = max(nameW, len(a.Name))
	}
	var b strings.Builder
	for i, a := range items {
		if i > 0 {
			b.WriteString("\n")
		}
		if 2+nameW+2+len(a.URL) <= width {
			b.WriteString("  " + padRight(a.Name, nameW) + "  " + styles.Code.Render(a.URL))
			continue
		}
		b.WriteString("  " + a.Name + "\n")
		b.WriteString(wrap(a.URL, width, "      ", "      ", styles.Code.Render))
	}
	return b.String()
}

// allowlistOf converts a cloud's allowlist for the managed instance (no I/O).
func allowlistOf(c steps.Cloud, fqdn string) []steps.AllowlistItem {
	var out []steps.AllowlistItem
	for _, e := range c.Allowlist(fqdn) {
		out = append(out, steps.AllowlistItem{Name: e.Name, URL: e.URL, Why: e.Why})
	}
	return out
}

// lookupCloud returns the named cloud, or AzureCloud.
func lookupCloud(name string) steps.Cloud {
	c, err := steps.LookupCloud(name)
	if err != nil {
		c, _ = steps.LookupCloud("")
	}
	return c
}
