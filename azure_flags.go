package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/spf13/pflag"

	"github.com/milink/milink/azureops"
	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps"
)

// azureFlags select the cloud, how milink signs in to Entra ID, and which managed
// instance resource the Azure Resource Manager checks look at.
type azureFlags struct {
	cloud, miAuth, azureAuth string
	tenantID, clientID, miID string
	subscriptions            []string
}

// register adds every Azure flag: the sign-in (registerSignIn) and the Azure Resource
// Manager checks'.
func (f *azureFlags) register(fs *pflag.FlagSet) {
	f.registerSignIn(fs)
	fs.StringVar(&f.azureAuth, "azure-auth", "", "Entra ID sign-in for the Azure Resource Manager checks (permissions, NSG): same methods as --mi-auth, or none (default: --mi-auth when it is Entra, else none)")
	fs.StringVar(&f.miID, "mi-resource-id", "", "the managed instance's Azure resource ID (default: found by its FQDN in --subscription)")
	fs.StringSliceVar(&f.subscriptions, "subscription", nil, "subscription(s) to look for the managed instance in (repeatable; default: all you can see)")
}

// registerSignIn adds the flags of the managed instance's Entra sign-in only: the cloud,
// --mi-auth, --tenant-id and --client-id (milink cleanup checks nothing in Azure).
func (f *azureFlags) registerSignIn(fs *pflag.FlagSet) {
	fs.StringVar(&f.cloud, "cloud", azureops.AzureCloud, "Azure cloud: "+strings.Join(azureops.CloudNames(), ", "))
	fs.StringVar(&f.miAuth, "mi-auth", "sql", "managed instance login: sql, or Entra ID with device-code (works over SSH), azure-cli, environment, managed-identity or default")
	fs.StringVar(&f.tenantID, "tenant-id", "", "Entra tenant (GUID or domain); default: the account's home tenant")
	fs.StringVar(&f.clientID, "client-id", "", "application (client) ID for device code, or a user-assigned managed identity's client ID")
}

// azureSetup is what the Azure flags resolve to.
type azureSetup struct {
	cloud      azureops.Cloud
	miToken    sqlops.TokenProvider // nil: SQL authentication to the managed instance
	deviceCode bool                 // the managed instance login waits for a person to sign in
	checker    steps.AzureChecker
}

// setup validates the Azure flags and builds the credentials; prompt shows device code
// instructions. Nothing contacts Azure here.
func (f *azureFlags) setup(prompt func(ctx context.Context, message, userCode, url string) error) (*azureSetup, error) {
	c, err := azureops.LookupCloud(f.cloud)
	if err != nil {
		return nil, usageError{err}
	}
	s := &azureSetup{cloud: c}
	if f.tenantID != "" {
		if err := azureops.ValidateTenantID(f.tenantID); err != nil {
			return nil, usageError{fmt.Errorf("--tenant-id: %w", err)}
		}
	}
	for _, sub := range f.subscriptions {
		if err := azureops.ValidateSubscriptionID(sub); err != nil {
			return nil, usageError{fmt.Errorf("--subscription: %w", err)}
		}
	}
	var ref *azureops.MIRef
	if f.miID != "" {
		r, err := azureops.ParseMIResourceID(f.miID)
		if err != nil {
			return nil, usageError{fmt.Errorf("--mi-resource-id: %w", err)}
		}
		ref = &r
	}
	opts := azureops.CredentialOptions{TenantID: f.tenantID, ClientID: f.clientID, DeviceCodePrompt: prompt}
	var miCred azcore.TokenCredential
	if strings.ToLower(f.miAuth) != "sql" {
		m, err := azureops.ParseAuthMethod(f.miAuth)
		if err != nil {
			return nil, usageError{fmt.Errorf("--mi-auth: %w", err)}
		}
		if miCred, err = azureops.NewCredential(m, c, opts); err != nil {
			return nil, usageError{fmt.Errorf("--mi-auth %s: %w", m, err)}
		}
		s.miToken = azureops.SQLTokenProvider(miCred, c)
		s.deviceCode = m == azureops.DeviceCode
		if f.azureAuth == "" {
			f.azureAuth = string(m)
		}
	}
	var armCred azcore.TokenCredential
	switch a := strings.ToLower(f.azureAuth); a {
	case "", "none":
	default:
		m, err := azureops.ParseAuthMethod(a)
		if err != nil {
			return nil, usageError{fmt.Errorf("--azure-auth: %w", err)}
		}
		armCred = miCred
		if armCred == nil || string(m) != strings.ToLower(f.miAuth) {
			if armCred, err = azureops.NewCredential(m, c, opts); err != nil {
				return nil, usageError{fmt.Errorf("--azure-auth %s: %w", m, err)}
			}
		}
	}
	s.checker = steps.NewAzureChecker(c, armCred, ref, f.subscriptions)
	return s, nil
}

// signInMI makes c log in to the managed instance with the Entra token when --mi-auth
// is Entra, and gives a person signing in with a device code 5 minutes unless
// --mi-login-timeout was given.
func (s *azureSetup) signInMI(c *sqlops.ConnConfig, fs *pflag.FlagSet) {
	if s.miToken == nil {
		return
	}
	c.Token, c.Password = s.miToken, ""
	if s.deviceCode && !fs.Changed("mi-login-timeout") {
		c.LoginTimeout = 5 * time.Minute
	}
}

// azureSecretEnv are the secret variables of Entra sign-in from the environment
// (--mi-auth/--azure-auth environment or default).
var azureSecretEnv = []string{"AZURE_CLIENT_SECRET", "AZURE_PASSWORD", "AZURE_CLIENT_CERTIFICATE_PASSWORD"}

// scrubAzureSecrets removes the Entra secret variables from the process environment
// once the credentials that need them were built (azureFlags.setup reads them then),
// so that no child process (az, or any other program milink starts) inherits them.
func scrubAzureSecrets() {
	for _, k := range azureSecretEnv {
		_ = os.Unsetenv(k)
	}
}
