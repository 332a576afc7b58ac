package steps

import (
	"context"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/milink/milink/azureops"
	"github.com/milink/milink/sqlops"
)

// The Azure choices the front-ends offer (clouds, Entra ID sign-in methods, the
// managed instance's resource), so that they depend on steps alone; package azureops
// does the signing in and the Resource Manager calls.

// AuthMethod is an Entra ID sign-in method (see azureops.AuthMethod).
type AuthMethod = azureops.AuthMethod

// The Entra ID sign-in methods.
const (
	DeviceCode      = azureops.DeviceCode
	AzureCLI        = azureops.AzureCLI
	Environment     = azureops.Environment
	ManagedIdentity = azureops.ManagedIdentity
	DefaultChain    = azureops.Default
)

// Cloud is an Azure cloud: its Entra authority, Resource Manager and SQL resource.
type Cloud = azureops.Cloud

// Cloud names.
const (
	AzureCloud        = azureops.AzureCloud
	AzureUSGovernment = azureops.AzureUSGovernment
	AzureChinaCloud   = azureops.AzureChinaCloud
)

// CredentialOptions are the tenant, client and device-code prompt of a sign-in.
type CredentialOptions = azureops.CredentialOptions

// Credential is an Entra ID token credential.
type Credential = azcore.TokenCredential

// MIRef names a managed instance in Resource Manager.
type MIRef = azureops.MIRef

// LookupCloud returns the cloud named name ("" = AzureCloud).
func LookupCloud(name string) (Cloud, error) { return azureops.LookupCloud(name) }

// CloudNames lists the names LookupCloud accepts.
func CloudNames() []string { return azureops.CloudNames() }

// ParseAuthMethod reads a sign-in method name (device-code, azure-cli, ...).
func ParseAuthMethod(s string) (AuthMethod, error) { return azureops.ParseAuthMethod(s) }

// ValidateTenantID checks an Entra tenant (a GUID or a domain name).
func ValidateTenantID(id string) error { return azureops.ValidateTenantID(id) }

// ValidateSubscriptionID checks an Azure subscription id (a GUID).
func ValidateSubscriptionID(id string) error { return azureops.ValidateSubscriptionID(id) }

// ParseMIResourceID reads a managed instance's Resource Manager id.
func ParseMIResourceID(id string) (MIRef, error) { return azureops.ParseMIResourceID(id) }

// ExplainAuthError explains an Entra ID sign-in error in one line, or "".
func ExplainAuthError(err error) string { return azureops.ExplainAuthError(err) }

// CredentialFactory builds an Entra credential (azureops.NewCredential; tests swap it).
type CredentialFactory = func(m AuthMethod, c Cloud, o CredentialOptions) (Credential, error)

// NewCredential builds the credential of method m in cloud c. It does not contact
// Entra ID: the sign-in happens when a token is first asked for.
func NewCredential(m AuthMethod, c Cloud, o CredentialOptions) (Credential, error) {
	return azureops.NewCredential(m, c, o)
}

// EntraSignIn is how the managed instance login signs in with Entra ID.
type EntraSignIn struct {
	Method  AuthMethod
	Cloud   Cloud
	Options CredentialOptions
	// Credential is reused when set (no second device code); otherwise New builds one.
	Credential Credential
	New        CredentialFactory // nil: NewCredential
}

// ConnectMIEntra is ConnectMI with an Entra ID access token for Azure SQL instead of a
// SQL login; it returns the credential it used, so the Azure checks can reuse it.
func (s *Session) ConnectMIEntra(ctx context.Context, cc ConnConfig, e EntraSignIn) (Credential, error) {
	cred := e.Credential
	if cred == nil {
		build := e.New
		if build == nil {
			build = NewCredential
		}
		var err error
		if cred, err = build(e.Method, e.Cloud, e.Options); err != nil {
			return nil, fmt.Errorf("Entra ID sign-in (%s): %w", e.Method, err)
		}
	}
	cc.User, cc.Password = "", ""
	cc.Token = sqlops.TokenProvider(azureops.SQLTokenProvider(cred, e.Cloud))
	return cred, s.ConnectMI(ctx, cc)
}
