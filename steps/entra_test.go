package steps_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/milink/milink/azureops"
	"github.com/milink/milink/steps"
)

// fakeCredential is an azcore.TokenCredential that hands out a fixed token and records
// the scopes it was asked for.
type fakeCredential struct {
	mu     sync.Mutex
	token  string
	scopes []string
}

func (f *fakeCredential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scopes = append(f.scopes, o.Scopes...)
	return azcore.AccessToken{Token: f.token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// TestEntraLoginToSimulatedMI logs in to the simulated managed instance with an Entra
// access token from a credential, through the same path real Entra sign-in takes
// (azureops.SQLTokenProvider → sqlops.ConnConfig.Token → go-mssqldb's access-token
// connector → FEDAUTH in LOGIN7), and runs the whole check with it.
func TestEntraLoginToSimulatedMI(t *testing.T) {
	for _, cloudName := range []string{azureops.AzureCloud, azureops.AzureChinaCloud} {
		t.Run(cloudName, func(t *testing.T) {
			p := startPair(t, "pass", 10*time.Millisecond, 10*time.Millisecond)
			var seen []string
			var mu sync.Mutex
			p.MI.SetTokenValidator(func(token string) (string, bool) {
				mu.Lock()
				seen = append(seen, token)
				mu.Unlock()
				return "dba@contoso.com", token == "eyJ0eXAi.fake.token"
			})
			c, err := azureops.LookupCloud(cloudName)
			if err != nil {
				t.Fatal(err)
			}
			cred := &fakeCredential{token: "eyJ0eXAi.fake.token"}
			cfg := pairConfig(t, p)
			cfg.MI.User, cfg.MI.Password = "", ""
			cfg.MI.Token = azureops.SQLTokenProvider(cred, c)
			rep := steps.Check(context.Background(), cfg, nil)
			if rep.ExitCode != steps.ExitOK {
				t.Fatalf("check with an Entra token: exit %d, %s", rep.ExitCode, rep.Outcome)
			}
			mu.Lock()
			n := len(seen)
			mu.Unlock()
			if n == 0 {
				t.Fatal("the simulated MI never received a federated token")
			}
			cred.mu.Lock()
			defer cred.mu.Unlock()
			if len(cred.scopes) == 0 || cred.scopes[0] != c.SQLScope {
				t.Errorf("token scopes %v, want %s", cred.scopes, c.SQLScope)
			}
			// A token the instance does not accept is a login failure (exit 4).
			bad := &fakeCredential{token: "expired"}
			cfg.MI.Token = azureops.SQLTokenProvider(bad, c)
			if rep := steps.Check(context.Background(), cfg, nil); rep.ExitCode != steps.ExitAuth {
				t.Errorf("rejected token: exit %d, %s", rep.ExitCode, rep.Error)
			}
		})
	}
}

// failingCredential fails every token request as Entra does for an unknown tenant.
type failingCredential struct{}

func (failingCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{}, errors.New("AADSTS90002: Tenant 'contoso.invalid' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")
}

// TestAzureProblemsAreFindingsAndTheNetworkTestRuns: a wrong tenant makes the Azure
// checks a clear warning, and the network test still runs and passes.
func TestAzureProblemsAreFindingsAndTheNetworkTestRuns(t *testing.T) {
	p := startPair(t, "pass", 10*time.Millisecond, 10*time.Millisecond)
	c, _ := azureops.LookupCloud(azureops.AzureCloud)
	cfg := pairConfig(t, p)
	cfg.Azure = steps.NewAzureChecker(c, failingCredential{}, nil, []string{"00000000-0000-0000-0000-000000000001"})
	rep := steps.Check(context.Background(), cfg, nil)
	var azureWarn *steps.Finding
	for i, f := range rep.Findings {
		if f.Server == "Azure" && f.Severity == steps.Warn {
			azureWarn = &rep.Findings[i]
		}
	}
	if azureWarn == nil || !strings.Contains(azureWarn.Detail, "tenant") {
		t.Errorf("no clear Azure warning for a wrong tenant: %+v", rep.Findings)
	}
	for _, d := range rep.Directions {
		if d.Status != steps.StatusPassed {
			t.Errorf("%s: %s (%s)", d.Direction, d.Status, d.Reason)
		}
	}
	if rep.ExitCode != steps.ExitOK || len(rep.Allowlist) == 0 {
		t.Errorf("exit %d, allowlist %d entries", rep.ExitCode, len(rep.Allowlist))
	}
}
