package azureops

import (
	"errors"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
)

// ErrInvalidInput is wrapped by every error about a bad name, ID or address given by the user.
var ErrInvalidInput = errors.New("invalid input")

// Cloud names accepted by LookupCloud (the names az cloud list and SSMS use).
const (
	AzureCloud        = "AzureCloud"
	AzureUSGovernment = "AzureUSGovernment"
	AzureChinaCloud   = "AzureChinaCloud"
)

// Cloud describes one Azure cloud: where Entra, Resource Manager and Azure SQL live.
type Cloud struct {
	// Name is AzureCloud, AzureUSGovernment or AzureChinaCloud.
	Name string
	// Config is the azcore configuration to put in ClientOptions.Cloud.
	Config cloud.Configuration
	// AuthorityHost is the Microsoft Entra authority, e.g. https://login.microsoftonline.com/.
	AuthorityHost string
	// ResourceManagerEndpoint is the Azure Resource Manager URL, e.g. https://management.azure.com.
	ResourceManagerEndpoint string
	// ResourceManagerAudience is the token audience of Resource Manager, e.g. https://management.core.windows.net/.
	ResourceManagerAudience string
	// SQLResource is the Entra resource ID of Azure SQL, e.g. https://database.windows.net/.
	SQLResource string
	// SQLScope is the token scope for Azure SQL logins: SQLResource + ".default".
	SQLScope string
	// MIDNSSuffix is the DNS suffix of managed instances, e.g. .database.windows.net.
	MIDNSSuffix string
}

// ResourceManagerScope is the token scope for Resource Manager calls. Like azcore's ARM
// pipeline it is the audience + "/.default" (hence the double slash), so both share one
// cached token.
func (c Cloud) ResourceManagerScope() string {
	return c.ResourceManagerAudience + "/.default"
}

func newCloud(name, authority, armEndpoint, armAudience, sqlResource, suffix string) Cloud {
	return Cloud{
		Name: name,
		Config: cloud.Configuration{
			ActiveDirectoryAuthorityHost: authority,
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Audience: armAudience, Endpoint: armEndpoint},
			},
		},
		AuthorityHost:           authority,
		ResourceManagerEndpoint: armEndpoint,
		ResourceManagerAudience: armAudience,
		SQLResource:             sqlResource,
		SQLScope:                sqlResource + ".default",
		MIDNSSuffix:             suffix,
	}
}

// Clouds returns the supported clouds, AzureCloud first. The values are copies: callers
// may change them without affecting other callers.
func Clouds() []Cloud {
	return []Cloud{
		newCloud(AzureCloud, "https://login.microsoftonline.com/", "https://management.azure.com",
			"https://management.core.windows.net/", "https://database.windows.net/", ".database.windows.net"),
		newCloud(AzureUSGovernment, "https://login.microsoftonline.us/", "https://management.usgovcloudapi.net",
			"https://management.core.usgovcloudapi.net/", "https://database.usgovcloudapi.net/", ".database.usgovcloudapi.net"),
		newCloud(AzureChinaCloud, "https://login.chinacloudapi.cn/", "https://management.chinacloudapi.cn",
			"https://management.core.chinacloudapi.cn/", "https://database.chinacloudapi.cn/", ".database.chinacloudapi.cn"),
	}
}

// CloudNames returns the names LookupCloud accepts.
func CloudNames() []string {
	var names []string
	for _, c := range Clouds() {
		names = append(names, c.Name)
	}
	return names
}

// LookupCloud returns the cloud with the given name (case-insensitive). An empty name
// means AzureCloud.
func LookupCloud(name string) (Cloud, error) {
	n := strings.TrimSpace(name)
	if n == "" {
		n = AzureCloud
	}
	for _, c := range Clouds() {
		if strings.EqualFold(c.Name, n) {
			return c, nil
		}
	}
	return Cloud{}, fmt.Errorf("%w: unknown Azure cloud %q: use one of %s", ErrInvalidInput, name, strings.Join(CloudNames(), ", "))
}

// CloudForHost returns the cloud whose managed instance DNS suffix ends fqdn.
func CloudForHost(fqdn string) (Cloud, bool) {
	h := normalizeHost(fqdn)
	for _, c := range Clouds() {
		if strings.HasSuffix(h, c.MIDNSSuffix) {
			return c, true
		}
	}
	return Cloud{}, false
}

func normalizeHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
}

// CheckMIHost checks that fqdn is the VNet-local host name of a managed instance in
// this cloud: <instance name>.<DNS zone><MIDNSSuffix>.
func (c Cloud) CheckMIHost(fqdn string) error {
	h := normalizeHost(fqdn)
	if h == "" {
		return fmt.Errorf("%w: the managed instance host name is empty: expected <instance>.<dnszone>%s", ErrInvalidInput, c.MIDNSSuffix)
	}
	if !strings.HasSuffix(h, c.MIDNSSuffix) {
		if other, ok := CloudForHost(h); ok {
			return fmt.Errorf("%w: %s is a managed instance in %s (it ends with %s), not in %s (which ends with %s): choose the cloud %s",
				ErrInvalidInput, fqdn, other.Name, other.MIDNSSuffix, c.Name, c.MIDNSSuffix, other.Name)
		}
		return fmt.Errorf("%w: %q is not a managed instance host name in %s: expected <instance>.<dnszone>%s",
			ErrInvalidInput, fqdn, c.Name, c.MIDNSSuffix)
	}
	labels := strings.Split(strings.TrimSuffix(h, c.MIDNSSuffix), ".")
	if len(labels) == 3 && labels[1] == "public" {
		return fmt.Errorf("%w: %s is the public endpoint (port 3342) of the managed instance; the link uses the VNet-local host name %s.%s%s",
			ErrInvalidInput, fqdn, labels[0], labels[2], c.MIDNSSuffix)
	}
	if len(labels) != 2 {
		return fmt.Errorf("%w: %q does not look like a managed instance host name: expected <instance>.<dnszone>%s (for example sqlmi1.6d710bcf372b%s)",
			ErrInvalidInput, fqdn, c.MIDNSSuffix, c.MIDNSSuffix)
	}
	if err := ValidateMIName(labels[0]); err != nil {
		return fmt.Errorf("%s: %w", fqdn, err)
	}
	if !isDNSLabel(labels[1]) {
		return fmt.Errorf("%w: %q: the DNS zone %q is not a valid DNS label (letters, digits and '-', 1-63 characters)",
			ErrInvalidInput, fqdn, labels[1])
	}
	return nil
}

func isDNSLabel(s string) bool {
	if len(s) < 1 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// AllowlistEntry is one address that a proxy or firewall between SQL Server and Azure
// must let through.
type AllowlistEntry struct {
	Name string // what it is, as SSMS names it
	URL  string // the URL (or, for the managed instance, host name and ports)
	Host string // the host name to allowlist
	Why  string // what milink and the link use it for
}

// Allowlist returns the addresses to add to an allowlist for a link to the managed
// instance miFQDN in this cloud ("Add URLs to allowlist" in Microsoft's preparation
// guide): the instance, the Entra authority, the Entra resource of Azure SQL, Resource
// Manager and the service management endpoint.
func (c Cloud) Allowlist(miFQDN string) []AllowlistEntry {
	mi := normalizeHost(miFQDN)
	return []AllowlistEntry{
		{
			Name: "SQL Managed Instance FQDN",
			URL:  mi + " (TCP 1433, 5022, 11000-11999)",
			Host: mi,
			Why:  "SQL logins on 1433; the link's database mirroring traffic on 5022 and the redirect ports 11000-11999",
		},
		{
			Name: "Microsoft Entra authority",
			URL:  c.AuthorityHost,
			Host: hostOf(c.AuthorityHost),
			Why:  "Entra sign-in (device code, service principal) for Azure and for Entra SQL logins",
		},
		{
			Name: "Microsoft Entra endpoint resource ID",
			URL:  c.SQLResource,
			Host: hostOf(c.SQLResource),
			Why:  "the resource that Entra access tokens for Azure SQL are issued for",
		},
		{
			Name: "Resource Manager endpoint",
			URL:  c.ResourceManagerEndpoint + "/",
			Host: hostOf(c.ResourceManagerEndpoint),
			Why:  "reading the managed instance, its subnet and network security group, and your permissions; creating the link",
		},
		{
			Name: "Service endpoint",
			URL:  c.ResourceManagerAudience,
			Host: hostOf(c.ResourceManagerAudience),
			Why:  "the Azure service management endpoint that Resource Manager tokens are issued for",
		},
	}
}

func hostOf(u string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	if i := strings.IndexAny(s, "/:"); i >= 0 {
		s = s[:i]
	}
	return s
}
