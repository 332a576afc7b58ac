package azureops

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// fakeCred is an azcore.TokenCredential that returns a static token and records the
// scopes it was asked for.
type fakeCred struct {
	mu      sync.Mutex
	token   string
	expires time.Time
	err     error
	scopes  []string
}

func (f *fakeCred) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scopes = append(f.scopes, strings.Join(o.Scopes, " "))
	if f.err != nil {
		return azcore.AccessToken{}, f.err
	}
	tok := f.token
	if tok == "" {
		tok = "static-test-token"
	}
	exp := f.expires
	if exp.IsZero() {
		exp = time.Now().Add(time.Hour)
	}
	return azcore.AccessToken{Token: tok, ExpiresOn: exp}, nil
}

func (f *fakeCred) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.scopes...)
}

// routeTransport sends each request to the fake server transport registered for the
// prefix of its API name ("ManagedInstancesClient.", "SubnetsClient.", ...).
type routeTransport map[string]policy.Transporter

func (r routeTransport) Do(req *http.Request) (*http.Response, error) {
	name, _ := req.Context().Value(runtime.CtxAPINameKey{}).(string)
	for prefix, t := range r {
		if strings.HasPrefix(name, prefix) {
			return t.Do(req)
		}
	}
	return nil, &unrouted{name: name, path: req.URL.Path}
}

type unrouted struct{ name, path string }

func (u *unrouted) Error() string { return "test transport: no fake for " + u.name + " " + u.path }

func ptr[T any](v T) *T { return &v }

// azureFix returns f's "Azure" fix, or the zero Fix when it has none.
func azureFix(f Finding) Fix {
	for _, x := range f.Fixes {
		if x.Platform == "Azure" {
			return x
		}
	}
	return Fix{}
}
