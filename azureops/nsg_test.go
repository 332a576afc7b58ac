package azureops

import (
	"context"
	"net/http"
	"strings"
	"testing"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v6"
	netfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v6/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql"
	sqlfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql/fake"
)

const (
	testSubnetID = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-mi/subnets/snet-mi"
	testNSGID    = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-net/providers/Microsoft.Network/networkSecurityGroups/nsg-mi"
)

// armFakes wires fake servers for the managed instance, its subnet and the NSG.
type armFakes struct {
	t       *testing.T
	nsgID   string // "" = subnet without NSG
	rules   []*armnetwork.SecurityRule
	nsgCode int // non-zero: the NSG read fails with this status
}

func (a *armFakes) transport() routeTransport {
	t := a.t
	mis := &sqlfake.ManagedInstancesServer{
		Get: func(_ context.Context, rg, name string, _ *armsql.ManagedInstancesClientGetOptions) (resp azfake.Responder[armsql.ManagedInstancesClientGetResponse], errResp azfake.ErrorResponder) {
			if rg != testMI.ResourceGroup || name != testMI.Name {
				t.Errorf("ManagedInstances.Get(%q, %q)", rg, name)
				errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
				return
			}
			resp.SetResponse(http.StatusOK, armsql.ManagedInstancesClientGetResponse{ManagedInstance: armsql.ManagedInstance{
				ID:         ptr(testMI.ResourceID()),
				Name:       ptr(testMI.Name),
				Properties: &armsql.ManagedInstanceProperties{SubnetID: ptr(testSubnetID)},
			}}, nil)
			return
		},
	}
	subnets := &netfake.SubnetsServer{
		Get: func(_ context.Context, rg, vnet, subnet string, _ *armnetwork.SubnetsClientGetOptions) (resp azfake.Responder[armnetwork.SubnetsClientGetResponse], errResp azfake.ErrorResponder) {
			if rg != "rg-net" || vnet != "vnet-mi" || subnet != "snet-mi" {
				t.Errorf("Subnets.Get(%q, %q, %q)", rg, vnet, subnet)
			}
			props := &armnetwork.SubnetPropertiesFormat{AddressPrefix: ptr("10.20.0.0/24")}
			if a.nsgID != "" {
				props.NetworkSecurityGroup = &armnetwork.SecurityGroup{ID: ptr(a.nsgID)}
			}
			resp.SetResponse(http.StatusOK, armnetwork.SubnetsClientGetResponse{Subnet: armnetwork.Subnet{ID: ptr(testSubnetID), Properties: props}}, nil)
			return
		},
	}
	nsgs := &netfake.SecurityGroupsServer{
		Get: func(_ context.Context, rg, name string, _ *armnetwork.SecurityGroupsClientGetOptions) (resp azfake.Responder[armnetwork.SecurityGroupsClientGetResponse], errResp azfake.ErrorResponder) {
			if rg != "rg-net" || name != "nsg-mi" {
				t.Errorf("SecurityGroups.Get(%q, %q)", rg, name)
			}
			if a.nsgCode != 0 {
				errResp.SetResponseError(a.nsgCode, "AuthorizationFailed")
				return
			}
			resp.SetResponse(http.StatusOK, armnetwork.SecurityGroupsClientGetResponse{SecurityGroup: armnetwork.SecurityGroup{
				ID:   ptr(a.nsgID),
				Name: ptr("nsg-mi"),
				Properties: &armnetwork.SecurityGroupPropertiesFormat{
					SecurityRules:        a.rules,
					DefaultSecurityRules: defaultRules(),
				},
			}}, nil)
			return
		},
	}
	return routeTransport{
		"ManagedInstancesClient.": sqlfake.NewManagedInstancesServerTransport(mis),
		"SubnetsClient.":          netfake.NewSubnetsServerTransport(subnets),
		"SecurityGroupsClient.":   netfake.NewSecurityGroupsServerTransport(nsgs),
	}
}

func (a *armFakes) check(sqlIP string) []Finding {
	a.t.Helper()
	c, _ := LookupCloud(AzureCloud)
	fs, err := CheckNSG(context.Background(), &fakeCred{}, c, testMI, sqlIP, WithTransport(a.transport()), WithMaxRetries(-1))
	if err != nil {
		a.t.Fatalf("CheckNSG: %v", err)
	}
	return fs
}

func byID(fs []Finding) map[string]Finding {
	m := map[string]Finding{}
	for _, f := range fs {
		m[f.ID] = f
	}
	return m
}

func TestCheckNSGEndToEnd(t *testing.T) {
	tcp := armnetwork.SecurityRuleProtocolTCP
	a := &armFakes{t: t, nsgID: testNSGID, rules: []*armnetwork.SecurityRule{
		// the managed instance's own rules, as Azure creates them
		rule("Microsoft.Sql-managedInstances_UseOnly_mi-healthprobe-in", 100, inbound, allow, armnetwork.SecurityRuleProtocolAsterisk, "AzureLoadBalancer", "10.20.0.0/24", "*"),
		rule("allow-5022", 110, inbound, allow, tcp, "203.0.113.10", "10.20.0.0/24", "5022"),
		rule("deny-some-hadr", 150, inbound, deny, tcp, "*", "*", "11500-11599"),
		rule("allow-hadr", 300, inbound, allow, tcp, "203.0.113.0/24", "*", "11000-11999"),
		rule("deny-out-5022", 200, outbound, deny, tcp, "*", "Internet", "5022"),
	}}
	fs := a.check("203.0.113.10")
	if len(fs) != 3 {
		t.Fatalf("want 3 findings, got %+v", fs)
	}
	m := byID(fs)

	in := m["nsg:inbound-5022"]
	if in.Severity != SeverityPass || !strings.Contains(in.Title, `rule "allow-5022" (priority 110)`) {
		t.Errorf("inbound 5022: %+v", in)
	}

	hadr := m["nsg:inbound-11000-11999"]
	if hadr.Severity != SeverityFail || !strings.Contains(hadr.Title, "11500-11599") || !strings.Contains(hadr.Title, `rule "deny-some-hadr" (priority 150)`) {
		t.Errorf("inbound HADR title: %q", hadr.Title)
	}
	if !strings.Contains(hadr.Detail, `rule "allow-hadr" (priority 300)`) {
		t.Errorf("inbound HADR detail should name the allowing rule for the other ports: %q", hadr.Detail)
	}
	fix := azureFix(hadr)
	wantFix := "az network nsg rule create --resource-group rg-net --nsg-name nsg-mi --name allow-milink-link-in-11000-11999 --priority 149 --direction Inbound --access Allow --protocol Tcp --source-address-prefixes 203.0.113.10 --destination-address-prefixes 10.20.0.0/24 --destination-port-ranges 11000-11999"
	if fix.Platform != "Azure" || fix.Command != wantFix {
		t.Errorf("HADR fix =\n%q\nwant\n%q", fix.Command, wantFix)
	}

	out := m["nsg:outbound-5022"]
	if out.Severity != SeverityFail || !strings.Contains(out.Title, `rule "deny-out-5022" (priority 200)`) {
		t.Errorf("outbound: %+v", out)
	}
	if c := azureFix(out).Command; !strings.Contains(c, "--priority 199 --direction Outbound") ||
		!strings.Contains(c, "--source-address-prefixes 10.20.0.0/24 --destination-address-prefixes 203.0.113.10 --destination-port-ranges 5022") {
		t.Errorf("outbound fix = %q", c)
	}
}

func TestCheckNSGDefaultRulesOnly(t *testing.T) {
	fs := (&armFakes{t: t, nsgID: testNSGID}).check("203.0.113.10")
	m := byID(fs)
	for _, id := range []string{"nsg:inbound-5022", "nsg:inbound-11000-11999"} {
		f := m[id]
		if f.Severity != SeverityFail || !strings.Contains(f.Title, `default rule "DenyAllInBound" (priority 65500)`) {
			t.Errorf("%s: %+v", id, f)
		}
		// the highest free custom priority is 4096
		if c := azureFix(f).Command; !strings.Contains(c, "--priority 4096 ") {
			t.Errorf("%s fix = %q", id, c)
		}
	}
	if f := m["nsg:outbound-5022"]; f.Severity != SeverityPass || !strings.Contains(f.Title, "AllowInternetOutBound") {
		t.Errorf("outbound: %+v", f)
	}
}

func TestCheckNSGNoFreePriority(t *testing.T) {
	tcp := armnetwork.SecurityRuleProtocolTCP
	fs := (&armFakes{t: t, nsgID: testNSGID, rules: []*armnetwork.SecurityRule{
		rule("deny-all-tcp", 100, inbound, deny, tcp, "*", "*", "*"),
	}}).check("10.1.2.3")
	f := byID(fs)["nsg:inbound-5022"]
	if f.Severity != SeverityFail || !strings.Contains(f.Detail, "Every priority below 100 is taken") ||
		strings.Contains(azureFix(f).Command, "rule create") {
		t.Errorf("finding: %+v", f)
	}
}

func TestCheckNSGNoNSG(t *testing.T) {
	fs := (&armFakes{t: t}).check("203.0.113.10")
	if len(fs) != 1 || fs[0].Severity != SeverityWarn || fs[0].ID != "nsg:none" || !strings.Contains(fs[0].Title, "snet-mi") {
		t.Fatalf("findings: %+v", fs)
	}
}

func TestCheckNSGForbidden(t *testing.T) {
	fs := (&armFakes{t: t, nsgID: testNSGID, nsgCode: http.StatusForbidden}).check("203.0.113.10")
	if len(fs) != 1 || fs[0].Severity != SeverityWarn || !strings.Contains(fs[0].Title, "403") || !strings.Contains(fs[0].Title, "nsg-mi") {
		t.Fatalf("findings: %+v", fs)
	}
}

func TestCheckNSGBadSQLAddress(t *testing.T) {
	c, _ := LookupCloud(AzureCloud)
	_, err := CheckNSG(context.Background(), &fakeCred{}, c, testMI, "sqlprod01.contoso.local")
	if err == nil || !strings.Contains(err.Error(), "not an IP address") {
		t.Fatalf("err = %v", err)
	}
}

func TestCheckNSGUsesKnownSubnet(t *testing.T) {
	a := &armFakes{t: t, nsgID: testNSGID}
	tr := a.transport()
	delete(tr, "ManagedInstancesClient.") // the instance must not be read again
	ref := testMI
	ref.SubnetID = testSubnetID
	c, _ := LookupCloud(AzureCloud)
	fs, err := CheckNSG(context.Background(), &fakeCred{}, c, ref, "10.1.2.3", WithTransport(tr), WithMaxRetries(-1))
	if err != nil || len(fs) != 3 {
		t.Fatalf("CheckNSG = %+v, %v", fs, err)
	}
	for _, f := range fs {
		// a private SQL Server address is VirtualNetwork: the default rules allow it
		if f.Severity != SeverityPass {
			t.Errorf("%s: %+v", f.ID, f)
		}
	}
}

// TestCheckNSGSQLAddressInMISubnet (issue 11, item 1): an SQL Server address inside the
// managed instance's own subnet is flagged: probing it would reach the MI itself.
func TestCheckNSGSQLAddressInMISubnet(t *testing.T) {
	fs := (&armFakes{t: t, nsgID: testNSGID}).check("10.20.0.7")
	if len(fs) != 1 || fs[0].ID != "nsg:sql-in-mi-subnet" || fs[0].Severity != SeverityFail || !strings.Contains(fs[0].Title, "10.20.0.0/24") {
		t.Fatalf("findings: %+v", fs)
	}
}
