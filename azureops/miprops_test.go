package azureops

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

// miGet answers ManagedInstancesClient.Get with status and body, and records the URL.
func miGet(t *testing.T, status int, body string, urls *[]string) routeTransport {
	return routeTransport{"ManagedInstancesClient.Get": transportFunc(func(r *http.Request) (*http.Response, error) {
		*urls = append(*urls, r.URL.String())
		if r.Method != http.MethodGet || r.Header.Get("Authorization") != "Bearer static-test-token" {
			t.Errorf("request %s %s, Authorization %q", r.Method, r.URL, r.Header.Get("Authorization"))
		}
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	})}
}

// The 2025-01-01 ManagedInstances.json shape: sku.tier, properties.databaseFormat,
// properties.isGeneralPurposeV2.
func TestReadMIProperties(t *testing.T) {
	c, _ := LookupCloud(AzureUSGovernment)
	var urls []string
	body := `{"sku":{"name":"GP_Gen5","tier":"GeneralPurpose","family":"Gen5","capacity":8},"properties":{"databaseFormat":"AlwaysUpToDate","isGeneralPurposeV2":true,"fullyQualifiedDomainName":"x"}}`
	p, err := ReadMIProperties(context.Background(), &fakeCred{}, c, testMI, WithTransport(miGet(t, 200, body, &urls)), WithMaxRetries(-1))
	if err != nil {
		t.Fatal(err)
	}
	want := MIProperties{DatabaseFormat: FormatAlwaysUpToDate, Tier: TierGeneralPurpose, SKUName: "GP_Gen5", GeneralPurposeV2: true}
	if p != want || p.TierName() != "Next-gen General Purpose" {
		t.Errorf("properties %+v (%s), want %+v", p, p.TierName(), want)
	}
	// The cloud's Resource Manager endpoint, the instance's ID and an api-version that has databaseFormat.
	if len(urls) != 1 || !strings.HasPrefix(urls[0], "https://management.usgovcloudapi.net"+testMI.ResourceID()+"?") || !strings.Contains(urls[0], "api-version=2025-01-01") {
		t.Errorf("requested %v", urls)
	}
}

func TestReadMIPropertiesErrors(t *testing.T) {
	c, _ := LookupCloud(AzureCloud)
	var urls []string
	_, err := ReadMIProperties(context.Background(), &fakeCred{}, c, testMI,
		WithTransport(miGet(t, 403, `{"error":{"code":"AuthorizationFailed","message":"no read on the instance"}}`, &urls)), WithMaxRetries(-1))
	var re *azcore.ResponseError
	if !errors.As(err, &re) || !strings.Contains(ARMErrorSummary(err), "403 AuthorizationFailed: no read on the instance") {
		t.Errorf("403: %v", err)
	}
	bad := testMI
	bad.Name = "Bad_Name"
	if _, err := ReadMIProperties(context.Background(), &fakeCred{}, c, bad, WithTransport(miGet(t, 200, `{}`, &urls))); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("invalid name: %v", err)
	}
	if len(urls) != 1 {
		t.Errorf("an invalid reference was sent: %v", urls)
	}
}

// Checker reads the instance's update policy and tier into Info.MI; when it can't, a
// warning says why and how to look (the other checks' failures are theirs).
func TestCheckerReadsMIProperties(t *testing.T) {
	c, _ := LookupCloud(AzureCloud)
	ref := testMI
	ref.SubnetID = "/subscriptions/" + testMI.SubscriptionID + "/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
	var urls []string
	ok := miGet(t, 200, `{"sku":{"name":"BC_Gen5","tier":"BusinessCritical"},"properties":{"databaseFormat":"SQLServer2022"}}`, &urls)
	info := Checker(c, &fakeCred{}, &ref, nil, WithTransport(ok), WithMaxRetries(-1))(context.Background(), "sqlmi-demo.zone1.database.windows.net", "10.1.0.4")
	if info.MI == nil || info.MI.DatabaseFormat != FormatSQLServer2022 || info.MI.Tier != TierBusinessCritical {
		t.Errorf("Info.MI = %+v", info.MI)
	}
	for _, f := range info.Findings {
		if f.ID == "azure-mi-properties" {
			t.Errorf("unexpected %+v", f)
		}
	}

	denied := miGet(t, 403, `{"error":{"code":"AuthorizationFailed","message":"no read"}}`, &urls)
	info = Checker(c, &fakeCred{}, &ref, nil, WithTransport(denied), WithMaxRetries(-1))(context.Background(), "sqlmi-demo.zone1.database.windows.net", "10.1.0.4")
	var found bool
	for _, f := range info.Findings {
		if f.ID == "azure-mi-properties" {
			found = f.Severity == SeverityWarn && strings.Contains(f.Detail, "403 AuthorizationFailed") && strings.Contains(f.Detail, "az sql mi show -g "+ref.ResourceGroup+" -n "+ref.Name)
		}
	}
	if info.MI != nil || !found {
		t.Errorf("403: MI %+v, findings %+v", info.MI, info.Findings)
	}
}
