package azureops

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	_ "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm/runtime" // fills cloud.X.Services[ResourceManager]
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
)

func TestCloudEndpoints(t *testing.T) {
	for _, tc := range []struct {
		name                                 string
		sdk                                  cloud.Configuration
		authority, arm, audience, sql, scope string
		suffix                               string
	}{
		{AzureCloud, cloud.AzurePublic, "https://login.microsoftonline.com/", "https://management.azure.com", "https://management.core.windows.net/",
			"https://database.windows.net/", "https://database.windows.net/.default", ".database.windows.net"},
		{AzureUSGovernment, cloud.AzureGovernment, "https://login.microsoftonline.us/", "https://management.usgovcloudapi.net", "https://management.core.usgovcloudapi.net/",
			"https://database.usgovcloudapi.net/", "https://database.usgovcloudapi.net/.default", ".database.usgovcloudapi.net"},
		{AzureChinaCloud, cloud.AzureChina, "https://login.chinacloudapi.cn/", "https://management.chinacloudapi.cn", "https://management.core.chinacloudapi.cn/",
			"https://database.chinacloudapi.cn/", "https://database.chinacloudapi.cn/.default", ".database.chinacloudapi.cn"},
	} {
		c, err := LookupCloud(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if c.Name != tc.name || c.AuthorityHost != tc.authority || c.ResourceManagerEndpoint != tc.arm ||
			c.ResourceManagerAudience != tc.audience || c.SQLResource != tc.sql || c.SQLScope != tc.scope || c.MIDNSSuffix != tc.suffix {
			t.Errorf("%s: %+v", tc.name, c)
		}
		if !reflect.DeepEqual(c.Config, tc.sdk) {
			t.Errorf("%s: Config = %+v, want the SDK's %+v", tc.name, c.Config, tc.sdk)
		}
		if got := c.ResourceManagerScope(); got != tc.audience+"/.default" {
			t.Errorf("%s: ResourceManagerScope = %q", tc.name, got)
		}
	}
}

func TestCloudsAreCopies(t *testing.T) {
	c, _ := LookupCloud(AzureCloud)
	c.Config.Services[cloud.ResourceManager] = cloud.ServiceConfiguration{Endpoint: "https://evil.example"}
	d, _ := LookupCloud(AzureCloud)
	if d.Config.Services[cloud.ResourceManager].Endpoint != "https://management.azure.com" {
		t.Fatal("changing a returned Cloud changed the package's clouds")
	}
}

func TestLookupCloud(t *testing.T) {
	for in, want := range map[string]string{"": AzureCloud, "azurecloud": AzureCloud, " AZUREUSGOVERNMENT ": AzureUSGovernment, "AzureChinaCloud": AzureChinaCloud} {
		c, err := LookupCloud(in)
		if err != nil || c.Name != want {
			t.Errorf("LookupCloud(%q) = %q, %v", in, c.Name, err)
		}
	}
	_, err := LookupCloud("AzureGermanCloud")
	if !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("err = %v", err)
	}
	for _, n := range []string{"AzureGermanCloud", "AzureCloud", "AzureUSGovernment", "AzureChinaCloud"} {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error %q does not mention %s", err, n)
		}
	}
}

func TestCheckMIHost(t *testing.T) {
	pub, _ := LookupCloud(AzureCloud)
	cn, _ := LookupCloud(AzureChinaCloud)
	gov, _ := LookupCloud(AzureUSGovernment)
	for _, ok := range []struct {
		c    Cloud
		fqdn string
	}{
		{pub, "sqlmi-demo.6d710bcf372b.database.windows.net"},
		{pub, "SQLMI-Demo.6D710BCF372B.Database.Windows.Net."},
		{cn, "mi1.abcdef012345.database.chinacloudapi.cn"},
		{gov, "mi1.abcdef012345.database.usgovcloudapi.net"},
	} {
		if err := ok.c.CheckMIHost(ok.fqdn); err != nil {
			t.Errorf("%s %s: %v", ok.c.Name, ok.fqdn, err)
		}
	}
	for _, bad := range []struct {
		c        Cloud
		fqdn     string
		mentions []string
	}{
		{cn, "sqlmi-demo.6d710bcf372b.database.windows.net", []string{"AzureCloud", "AzureChinaCloud", ".database.chinacloudapi.cn"}},
		{pub, "mi1.abcdef012345.database.usgovcloudapi.net", []string{"AzureUSGovernment", ".database.windows.net"}},
		{pub, "sqlprod01.contoso.local", []string{".database.windows.net", "<instance>.<dnszone>"}},
		{pub, "", []string{"empty"}},
		{pub, "6d710bcf372b.database.windows.net", []string{"<instance>.<dnszone>"}},
		{pub, "a.b.c.database.windows.net", []string{"<instance>.<dnszone>"}},
		{pub, "sqlmi-demo.public.6d710bcf372b.database.windows.net", []string{"public endpoint", "sqlmi-demo.6d710bcf372b.database.windows.net"}},
		{pub, "sql_mi.6d710bcf372b.database.windows.net", []string{"managed instance name"}},
		{pub, "mi1.bad_zone.database.windows.net", []string{"DNS zone"}},
	} {
		err := bad.c.CheckMIHost(bad.fqdn)
		if !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s %q: err = %v", bad.c.Name, bad.fqdn, err)
			continue
		}
		for _, m := range bad.mentions {
			if !strings.Contains(err.Error(), m) {
				t.Errorf("%s %q: error %q does not mention %q", bad.c.Name, bad.fqdn, err, m)
			}
		}
	}
}

func TestAllowlist(t *testing.T) {
	const mi = "mi1.abcdef012345.database.chinacloudapi.cn"
	cn, _ := LookupCloud(AzureChinaCloud)
	list := cn.Allowlist(mi)
	if len(list) != 5 {
		t.Fatalf("want 5 entries, got %+v", list)
	}
	hosts := map[string]bool{}
	for _, e := range list {
		if e.Name == "" || e.URL == "" || e.Why == "" || e.Host == "" {
			t.Errorf("incomplete entry %+v", e)
		}
		if !strings.HasSuffix(e.Host, ".chinacloudapi.cn") {
			t.Errorf("China allowlist has a non-China host: %+v", e)
		}
		if strings.Contains(e.URL, "windows.net") || strings.Contains(e.URL, "microsoftonline") || strings.Contains(e.URL, "azure.com") {
			t.Errorf("China allowlist has a public-cloud URL: %+v", e)
		}
		hosts[e.Host] = true
	}
	for _, h := range []string{mi, "login.chinacloudapi.cn", "management.chinacloudapi.cn", "database.chinacloudapi.cn", "management.core.chinacloudapi.cn"} {
		if !hosts[h] {
			t.Errorf("China allowlist lacks %s: %v", h, hosts)
		}
	}

	pub, _ := LookupCloud(AzureCloud)
	hosts = map[string]bool{}
	for _, e := range pub.Allowlist("SQLMI.zone1.database.windows.net") {
		hosts[e.Host] = true
	}
	for _, h := range []string{"sqlmi.zone1.database.windows.net", "login.microsoftonline.com", "management.azure.com", "database.windows.net", "management.core.windows.net"} {
		if !hosts[h] {
			t.Errorf("public allowlist lacks %s: %v", h, hosts)
		}
	}
}

func TestCloudForHost(t *testing.T) {
	if c, ok := CloudForHost("x.y.database.usgovcloudapi.net"); !ok || c.Name != AzureUSGovernment {
		t.Errorf("CloudForHost = %v, %v", c.Name, ok)
	}
	if _, ok := CloudForHost("example.com"); ok {
		t.Error("example.com matched a cloud")
	}
}
