package azureops

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	authfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2/fake"
)

var testMI = MIRef{SubscriptionID: "11111111-2222-3333-4444-555555555555", ResourceGroup: "rg-link", Name: "sqlmi-demo"}

// permServer returns a fake Permissions server that answers ListForResource for testMI
// with perms (one page per element of pages), or with an HTTP error when status != 0.
func permServer(t *testing.T, status int, code string, pages ...[]*armauthorization.Permission) *authfake.PermissionsServer {
	t.Helper()
	return &authfake.PermissionsServer{
		NewListForResourcePager: func(rg, ns, parent, typ, name string, _ *armauthorization.PermissionsClientListForResourceOptions) (resp azfake.PagerResponder[armauthorization.PermissionsClientListForResourceResponse]) {
			if rg != testMI.ResourceGroup || !strings.EqualFold(ns, "Microsoft.Sql") || typ != "managedInstances" || name != testMI.Name {
				t.Errorf("ListForResource(%q, %q, %q, %q, %q): want the managed instance", rg, ns, parent, typ, name)
			}
			if status != 0 {
				resp.AddResponseError(status, code)
				return
			}
			for _, p := range pages {
				resp.AddPage(http.StatusOK, armauthorization.PermissionsClientListForResourceResponse{
					PermissionGetResult: armauthorization.PermissionGetResult{Value: p},
				}, nil)
			}
			return
		},
	}
}

func perm(actions []string, notActions ...string) *armauthorization.Permission {
	p := &armauthorization.Permission{}
	for _, a := range actions {
		p.Actions = append(p.Actions, ptr(a))
	}
	for _, a := range notActions {
		p.NotActions = append(p.NotActions, ptr(a))
	}
	return p
}

// parentPathShim adapts real request paths to the generated fake's route. The real URL of
// a top-level resource has no parentResourcePath segment
// (.../providers/Microsoft.Sql/managedInstances/<name>/providers/Microsoft.Authorization/permissions),
// but the fake's regular expression requires one, so the shim inserts an empty-looking
// "-" segment and the fake server checks the rest.
type parentPathShim struct {
	t    *testing.T
	next policy.Transporter
}

func (s parentPathShim) Do(req *http.Request) (*http.Response, error) {
	const real = "/providers/Microsoft.Sql/managedInstances/"
	if !strings.Contains(req.URL.Path, real) && !strings.Contains(req.URL.Path, "/fake_page_") {
		s.t.Errorf("permissions request path %s does not address the managed instance", req.URL.Path)
	}
	r := req.Clone(req.Context())
	r.URL.Path = strings.Replace(req.URL.Path, real, "/providers/Microsoft.Sql/-/managedInstances/", 1)
	r.URL.RawPath = ""
	return s.next.Do(r)
}

func checkPerms(t *testing.T, srv *authfake.PermissionsServer) []Finding {
	t.Helper()
	c, _ := LookupCloud(AzureCloud)
	cred := &fakeCred{}
	tr := parentPathShim{t: t, next: authfake.NewPermissionsServerTransport(srv)}
	fs, err := CheckPermissions(context.Background(), cred, c, testMI, WithTransport(tr), WithMaxRetries(-1))
	if err != nil {
		t.Fatalf("CheckPermissions: %v", err)
	}
	for _, s := range cred.calls() {
		if s != c.ResourceManagerScope() {
			t.Errorf("token requested for scope %q, want only %q", s, c.ResourceManagerScope())
		}
	}
	return fs
}

// missing returns the actions named by Fail findings.
func missing(t *testing.T, fs []Finding) []string {
	t.Helper()
	var out []string
	for _, f := range fs {
		if f.Severity != SeverityFail {
			t.Errorf("unexpected %s finding %q", f.Severity, f.Title)
			continue
		}
		a, ok := strings.CutPrefix(f.ID, "azure-permission:")
		if !ok {
			t.Errorf("finding ID %q lacks the azure-permission: prefix", f.ID)
		}
		if !strings.Contains(f.Title, a) {
			t.Errorf("finding title %q does not name %s", f.Title, a)
		}
		fix := azureFix(f).Command
		if !strings.Contains(fix, "az role assignment create") ||
			!strings.Contains(fix, `--role "SQL Managed Instance Contributor"`) || !strings.Contains(fix, "--scope "+testMI.ResourceID()) {
			t.Errorf("finding %q: fix %q", f.ID, fix)
		}
		out = append(out, a)
	}
	return out
}

func TestCheckPermissionsOwnerWildcard(t *testing.T) {
	fs := checkPerms(t, permServer(t, 0, "", []*armauthorization.Permission{perm([]string{"*"})}))
	if len(fs) != 1 || fs[0].Severity != SeverityPass || fs[0].ID != "azure-permissions" {
		t.Fatalf("want one Pass finding, got %+v", fs)
	}
}

func TestCheckPermissionsContributorWildcard(t *testing.T) {
	fs := checkPerms(t, permServer(t, 0, "", []*armauthorization.Permission{
		perm([]string{"Microsoft.Sql/managedInstances/*", "Microsoft.Insights/metrics/read"}),
	}))
	if len(fs) != 1 || fs[0].Severity != SeverityPass {
		t.Fatalf("want one Pass finding, got %+v", fs)
	}
}

func TestCheckPermissionsMissingTwo(t *testing.T) {
	var granted []string
	for _, ra := range RequiredActions() {
		switch ra.Action {
		case "Microsoft.Sql/managedInstances/hybridLink/write", "Microsoft.Sql/managedInstances/serverTrustCertificates/delete":
			continue
		}
		// RBAC is case-insensitive: grant in lower case.
		granted = append(granted, strings.ToLower(ra.Action))
	}
	// Split over two role assignments and two pages.
	fs := checkPerms(t, permServer(t, 0, "",
		[]*armauthorization.Permission{perm(granted[:10])},
		[]*armauthorization.Permission{perm(granted[10:])},
	))
	got := missing(t, fs)
	want := []string{"Microsoft.Sql/managedInstances/hybridLink/write", "Microsoft.Sql/managedInstances/serverTrustCertificates/delete"}
	if !slices.Equal(got, want) {
		t.Fatalf("missing = %v, want %v", got, want)
	}
}

func TestCheckPermissionsNotActions(t *testing.T) {
	fs := checkPerms(t, permServer(t, 0, "", []*armauthorization.Permission{
		perm([]string{"Microsoft.Sql/*"}, "Microsoft.Sql/managedInstances/distributedAvailabilityGroups/setRole/action"),
	}))
	got := missing(t, fs)
	if !slices.Equal(got, []string{"Microsoft.Sql/managedInstances/distributedAvailabilityGroups/setRole/action"}) {
		t.Fatalf("missing = %v", got)
	}
}

func TestCheckPermissionsNotActionsOnlyWithinTheirEntry(t *testing.T) {
	// A NotActions of one role does not take away what another role grants.
	fs := checkPerms(t, permServer(t, 0, "", []*armauthorization.Permission{
		perm([]string{"*"}, "Microsoft.Sql/managedInstances/*/delete"),
		perm([]string{"Microsoft.Sql/managedInstances/hybridLink/*"}),
	}))
	got := missing(t, fs)
	want := []string{
		"Microsoft.Sql/managedInstances/databases/delete",
		"Microsoft.Sql/managedInstances/distributedAvailabilityGroups/delete",
		"Microsoft.Sql/managedInstances/serverTrustCertificates/delete",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("missing = %v, want %v", got, want)
	}
}

func TestCheckPermissionsReaderOnly(t *testing.T) {
	fs := checkPerms(t, permServer(t, 0, "", []*armauthorization.Permission{perm([]string{"*/read"})}))
	got := missing(t, fs)
	if len(got) != len(RequiredActions())-7 { // 7 of the 20 actions end in /read
		t.Fatalf("Reader misses %d actions, want %d: %v", len(got), len(RequiredActions())-7, got)
	}
	if slices.Contains(got, "Microsoft.Sql/managedInstances/read") {
		t.Errorf("*/read must grant Microsoft.Sql/managedInstances/read")
	}
}

func TestCheckPermissions403IsAWarning(t *testing.T) {
	fs := checkPerms(t, permServer(t, http.StatusForbidden, "AuthorizationFailed"))
	if len(fs) != 1 || fs[0].Severity != SeverityWarn {
		t.Fatalf("want one Warn finding, got %+v", fs)
	}
	f := fs[0]
	if !strings.Contains(f.Title, "cannot read your permissions on sqlmi-demo") || !strings.Contains(f.Title, "403") ||
		!strings.Contains(f.Title, "AuthorizationFailed") {
		t.Errorf("title = %q", f.Title)
	}
	if strings.Contains(f.Title+f.Detail, "static-test-token") {
		t.Errorf("finding leaks the token")
	}
}

func TestCheckPermissionsOtherErrorsAreErrors(t *testing.T) {
	c, _ := LookupCloud(AzureCloud)
	tr := parentPathShim{t: t, next: authfake.NewPermissionsServerTransport(permServer(t, http.StatusNotFound, "ResourceNotFound"))}
	_, err := CheckPermissions(context.Background(), &fakeCred{}, c, testMI, WithTransport(tr), WithMaxRetries(-1))
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("err = %v, want a 404 error", err)
	}
}

func TestCheckPermissionsRejectsBadRef(t *testing.T) {
	c, _ := LookupCloud(AzureCloud)
	_, err := CheckPermissions(context.Background(), &fakeCred{}, c, MIRef{SubscriptionID: "nope", ResourceGroup: "rg", Name: "mi"})
	if !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("err = %v", err)
	}
}

func TestCheckPermissionsAssigneeFromToken(t *testing.T) {
	c, _ := LookupCloud(AzureCloud)
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"upn":"ada@contoso.com","oid":"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}`))
	cred := &fakeCred{token: "eyJhbGciOiJub25lIn0." + payload + ".sig"}
	tr := parentPathShim{t: t, next: authfake.NewPermissionsServerTransport(permServer(t, 0, "", []*armauthorization.Permission{perm([]string{"*/read"})}))}
	fs, err := CheckPermissions(context.Background(), cred, c, testMI, WithTransport(tr), WithMaxRetries(-1))
	if err != nil {
		t.Fatal(err)
	}
	cmd := azureFix(fs[0]).Command
	if !strings.Contains(cmd, "--assignee ada@contoso.com ") {
		t.Errorf("fix = %q, want the signed-in user as assignee", cmd)
	}
	if strings.Contains(cmd, payload) {
		t.Errorf("fix leaks the token")
	}
}

func TestMatchAction(t *testing.T) {
	for _, tc := range []struct {
		pattern, action string
		want            bool
	}{
		{"*", "Microsoft.Sql/managedInstances/read", true},
		{"Microsoft.Sql/*", "Microsoft.Sql/managedInstances/hybridLink/write", true},
		{"microsoft.sql/MANAGEDINSTANCES/*", "Microsoft.Sql/managedInstances/read", true},
		{"*/read", "Microsoft.Sql/managedInstances/databases/read", true},
		{"*/read", "Microsoft.Sql/managedInstances/write", false},
		{"Microsoft.Sql/managedInstances/*/action", "Microsoft.Sql/managedInstances/databases/completeRestore/action", true},
		{"Microsoft.Sql/managedInstances/*/action", "Microsoft.Sql/managedInstances/databases/read", false},
		{"Microsoft.Sql/servers/*", "Microsoft.Sql/managedInstances/read", false},
		{"Microsoft.Sql/managedInstances/read", "Microsoft.Sql/managedInstances/read/extra", false},
		{"Microsoft.Sql/managedInstances", "Microsoft.Sql/managedInstances/read", false},
		{"**", "x", true},
		{"", "x", false},
	} {
		if got := MatchAction(tc.pattern, tc.action); got != tc.want {
			t.Errorf("MatchAction(%q, %q) = %v, want %v", tc.pattern, tc.action, got, tc.want)
		}
	}
}

func TestRequiredActionsMatchTheGuide(t *testing.T) {
	want := []string{
		"Microsoft.Sql/managedInstances/read", "Microsoft.Sql/managedInstances/write",
		"Microsoft.Sql/managedInstances/hybridCertificate/action",
		"Microsoft.Sql/managedInstances/databases/read", "Microsoft.Sql/managedInstances/databases/delete",
		"Microsoft.Sql/managedInstances/databases/write", "Microsoft.Sql/managedInstances/databases/completeRestore/action",
		"Microsoft.Sql/managedInstances/databases/readBackups/action", "Microsoft.Sql/managedInstances/databases/restoreDetails/read",
		"Microsoft.Sql/managedInstances/distributedAvailabilityGroups/read", "Microsoft.Sql/managedInstances/distributedAvailabilityGroups/write",
		"Microsoft.Sql/managedInstances/distributedAvailabilityGroups/delete", "Microsoft.Sql/managedInstances/distributedAvailabilityGroups/setRole/action",
		"Microsoft.Sql/managedInstances/endpointCertificates/read",
		"Microsoft.Sql/managedInstances/hybridLink/read", "Microsoft.Sql/managedInstances/hybridLink/write", "Microsoft.Sql/managedInstances/hybridLink/delete",
		"Microsoft.Sql/managedInstances/serverTrustCertificates/write", "Microsoft.Sql/managedInstances/serverTrustCertificates/delete",
		"Microsoft.Sql/managedInstances/serverTrustCertificates/read",
	}
	var got []string
	for _, ra := range RequiredActions() {
		got = append(got, ra.Action)
		if ra.Why == "" {
			t.Errorf("%s has no reason", ra.Action)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("RequiredActions = %v", got)
	}
}
