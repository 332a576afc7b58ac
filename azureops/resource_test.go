package azureops

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql"
	sqlfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql/fake"
)

func TestParseMIResourceID(t *testing.T) {
	id := "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-link/providers/Microsoft.Sql/managedInstances/sqlmi-demo"
	m, err := ParseMIResourceID(id)
	if err != nil || m != testMI {
		t.Fatalf("ParseMIResourceID = %+v, %v", m, err)
	}
	if m.ResourceID() != id {
		t.Errorf("ResourceID() = %q", m.ResourceID())
	}
	// ARM keywords are case-insensitive; a trailing slash is tolerated.
	if m, err := ParseMIResourceID(" /SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/resourcegroups/RG.(x)_1/providers/microsoft.sql/MANAGEDINSTANCES/mi1/ "); err != nil || m.ResourceGroup != "RG.(x)_1" || m.Name != "mi1" {
		t.Errorf("case-insensitive parse = %+v, %v", m, err)
	}
	for _, tc := range []struct{ id, mentions string }{
		{"", "expected /subscriptions/"},
		{"sqlmi-demo", "expected /subscriptions/"},
		{"/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.Sql/servers/srv", "Microsoft.Sql/servers"},
		{"/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.Sql/managedInstances/mi/databases/db", "expected /subscriptions/"},
		{"/subscriptions/not-a-guid/resourceGroups/rg/providers/Microsoft.Sql/managedInstances/mi", "not a GUID"},
		{"/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg!/providers/Microsoft.Sql/managedInstances/mi", "resource group"},
		{"/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.Sql/managedInstances/SQLMI", "lowercase"},
	} {
		_, err := ParseMIResourceID(tc.id)
		if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), tc.mentions) {
			t.Errorf("ParseMIResourceID(%q): err = %v, want it to mention %q", tc.id, err, tc.mentions)
		}
	}
}

func TestValidators(t *testing.T) {
	good := map[string]func(string) error{
		"sqlmi-demo": ValidateMIName, "a": ValidateMIName, strings.Repeat("a", 63): ValidateMIName,
		"rg": ValidateResourceGroup, "Rg-1_(prod).x": ValidateResourceGroup, "grüne-gruppe": ValidateResourceGroup, strings.Repeat("r", 90): ValidateResourceGroup,
		"11111111-2222-3333-4444-555555555555": ValidateSubscriptionID,
	}
	for in, f := range good {
		if err := f(in); err != nil {
			t.Errorf("%q rejected: %v", in, err)
		}
	}
	bad := []struct {
		in       string
		f        func(string) error
		mentions string
	}{
		{"", ValidateMIName, "1-63"},
		{strings.Repeat("a", 64), ValidateMIName, "1-63"},
		{"Sqlmi", ValidateMIName, "lowercase"},
		{"sql_mi", ValidateMIName, "'_'"},
		{"-sqlmi", ValidateMIName, "start or end"},
		{"sqlmi-", ValidateMIName, "start or end"},
		{"", ValidateResourceGroup, "1-90"},
		{strings.Repeat("r", 91), ValidateResourceGroup, "1-90"},
		{"rg/x", ValidateResourceGroup, "'/'"},
		{"rg.", ValidateResourceGroup, "end with '.'"},
		{"1111111122223333444455555555555", ValidateSubscriptionID, "GUID"},
	}
	for _, tc := range bad {
		err := tc.f(tc.in)
		if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), tc.mentions) {
			t.Errorf("%q: err = %v, want it to mention %q", tc.in, err, tc.mentions)
		}
	}
}

const (
	subA = "aaaaaaaa-0000-0000-0000-000000000001"
	subB = "bbbbbbbb-0000-0000-0000-000000000002"
	subC = "cccccccc-0000-0000-0000-000000000003"
)

type transportFunc func(*http.Request) (*http.Response, error)

func (f transportFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

func miList(t *testing.T, mis ...*armsql.ManagedInstance) *sqlfake.ManagedInstancesServerTransport {
	return sqlfake.NewManagedInstancesServerTransport(&sqlfake.ManagedInstancesServer{
		NewListPager: func(*armsql.ManagedInstancesClientListOptions) (resp azfake.PagerResponder[armsql.ManagedInstancesClientListResponse]) {
			resp.AddPage(http.StatusOK, armsql.ManagedInstancesClientListResponse{ManagedInstanceListResult: armsql.ManagedInstanceListResult{Value: mis}}, nil)
			return
		},
	})
}

func forbiddenList() *sqlfake.ManagedInstancesServerTransport {
	return sqlfake.NewManagedInstancesServerTransport(&sqlfake.ManagedInstancesServer{
		NewListPager: func(*armsql.ManagedInstancesClientListOptions) (resp azfake.PagerResponder[armsql.ManagedInstancesClientListResponse]) {
			resp.AddResponseError(http.StatusForbidden, "AuthorizationFailed")
			return
		},
	})
}

func mi(sub, rg, name, fqdn string) *armsql.ManagedInstance {
	return &armsql.ManagedInstance{
		ID:   ptr("/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Sql/managedInstances/" + name),
		Name: ptr(name),
		Properties: &armsql.ManagedInstanceProperties{
			FullyQualifiedDomainName: ptr(fqdn),
			SubnetID:                 ptr("/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Network/virtualNetworks/v/subnets/" + name),
		},
	}
}

// perSubscription routes ManagedInstancesClient calls by the subscription in the URL and
// answers the subscription list itself.
func perSubscription(t *testing.T, bySub map[string]*sqlfake.ManagedInstancesServerTransport) routeTransport {
	return routeTransport{
		"ManagedInstancesClient.": transportFunc(func(r *http.Request) (*http.Response, error) {
			for sub, tr := range bySub {
				if strings.Contains(r.URL.Path, "/subscriptions/"+sub+"/") {
					return tr.Do(r)
				}
			}
			t.Errorf("unexpected request %s", r.URL.Path)
			return nil, errors.New("no such subscription")
		}),
		"SubscriptionsClient.": transportFunc(func(r *http.Request) (*http.Response, error) {
			if r.URL.Path != "/subscriptions" || r.URL.Query().Get("api-version") == "" {
				t.Errorf("subscription list request %s", r.URL)
			}
			body := `{"value":[{"subscriptionId":"` + subA + `","displayName":"A","state":"Enabled"},{"subscriptionId":"` + subB + `","displayName":"B","state":"Enabled"}]}`
			return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
		}),
	}
}

func TestFindMIByFQDN(t *testing.T) {
	c, _ := LookupCloud(AzureCloud)
	tr := perSubscription(t, map[string]*sqlfake.ManagedInstancesServerTransport{
		subA: forbiddenList(),
		subB: miList(t, mi(subB, "rg-other", "other", "other.zone1.database.windows.net"), mi(subB, "rg-link", "sqlmi-demo", "SQLMI-DEMO.zone1.database.windows.net")),
	})
	// A 403 in one subscription does not stop the search; the match is case-insensitive.
	got, err := FindMIByFQDN(context.Background(), &fakeCred{}, c, []string{subA, subB}, "sqlmi-demo.zone1.database.windows.net", WithTransport(tr), WithMaxRetries(-1))
	if err != nil {
		t.Fatal(err)
	}
	want := MIRef{SubscriptionID: subB, ResourceGroup: "rg-link", Name: "sqlmi-demo",
		SubnetID: "/subscriptions/" + subB + "/resourceGroups/rg-link/providers/Microsoft.Network/virtualNetworks/v/subnets/sqlmi-demo"}
	if got != want {
		t.Errorf("found %+v, want %+v", got, want)
	}

	// Without subscriptions, every visible subscription is searched.
	got, err = FindMIByFQDN(context.Background(), &fakeCred{}, c, nil, "other.zone1.database.windows.net", WithTransport(tr), WithMaxRetries(-1))
	if err != nil || got.Name != "other" {
		t.Errorf("search of all subscriptions: %+v, %v", got, err)
	}
}

func TestFindMIByFQDNNotFound(t *testing.T) {
	c, _ := LookupCloud(AzureCloud)
	tr := perSubscription(t, map[string]*sqlfake.ManagedInstancesServerTransport{
		subA: forbiddenList(),
		subC: miList(t, mi(subC, "rg", "x", "x.zone1.database.windows.net")),
	})
	_, err := FindMIByFQDN(context.Background(), &fakeCred{}, c, []string{subA, subC}, "missing.zone1.database.windows.net", WithTransport(tr), WithMaxRetries(-1))
	if !errors.Is(err, ErrMINotFound) {
		t.Fatalf("err = %v", err)
	}
	for _, m := range []string{"missing.zone1.database.windows.net", "1 managed instances in 2 subscription(s)", subA, "403 AuthorizationFailed"} {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error %q does not mention %q", err, m)
		}
	}
}

func TestFindMIByFQDNChecksInput(t *testing.T) {
	c, _ := LookupCloud(AzureChinaCloud)
	_, err := FindMIByFQDN(context.Background(), &fakeCred{}, c, []string{subA}, "x.zone1.database.windows.net")
	if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), "AzureCloud") {
		t.Errorf("wrong cloud: err = %v", err)
	}
	pub, _ := LookupCloud(AzureCloud)
	_, err = FindMIByFQDN(context.Background(), &fakeCred{}, pub, []string{"prod"}, "x.zone1.database.windows.net")
	if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), "GUID") {
		t.Errorf("bad subscription: err = %v", err)
	}
}

func TestListSubscriptions(t *testing.T) {
	c, _ := LookupCloud(AzureCloud)
	subs, err := ListSubscriptions(context.Background(), &fakeCred{}, c, WithTransport(perSubscription(t, nil)))
	if err != nil || len(subs) != 2 || subs[0].ID != subA || subs[1].Name != "B" || subs[1].State != "Enabled" {
		t.Fatalf("ListSubscriptions = %+v, %v", subs, err)
	}
}

func TestARMErrorSummary(t *testing.T) {
	err := armError(403, "AuthorizationFailed", "The client does not have authorization to perform action 'Microsoft.Sql/managedInstances/read'")
	got := ARMErrorSummary(err)
	want := "403 AuthorizationFailed: The client does not have authorization to perform action 'Microsoft.Sql/managedInstances/read'"
	if got != want {
		t.Errorf("ARMErrorSummary = %q, want %q", got, want)
	}
	if got := ARMErrorSummary(errors.New("dial tcp: lookup management.azure.com: no such host\nmore")); got != "dial tcp: lookup management.azure.com: no such host" {
		t.Errorf("plain error summary = %q", got)
	}
}
