package steps

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/milink/milink/azureops"
)

// AllowlistItem is one address that a proxy or firewall between SQL Server and Azure
// must let through ("Add URLs to allowlist").
type AllowlistItem struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	Why  string `json:"why,omitempty"`
}

// AzureInfo is what the Azure side of the preparation found: the cloud, its allowlist
// for this managed instance, and findings (cloud/FQDN mismatch, missing permissions,
// NSG gaps, or why Azure could not be checked).
type AzureInfo struct {
	Cloud     string          `json:"cloud"`
	Allowlist []AllowlistItem `json:"allowlist,omitempty"`
	Findings  []Finding       `json:"findings,omitempty"`
	// MI is the managed instance's update policy and service tier from Resource
	// Manager; nil when it was not read (not signed in, instance not found, error).
	MI *azureops.MIProperties `json:"-"`
}

// AzureChecker runs the Azure checks for the managed instance whose FQDN is miFQDN,
// with sqlServerIP the address the managed instance reaches SQL Server on. Package
// azureops implements it; the CLI wires it into Config.Azure. It never fails: problems
// are findings.
type AzureChecker func(ctx context.Context, miFQDN, sqlServerIP string) AzureInfo

// NewAzureChecker returns the AzureChecker that runs azureops.Checker(c, cred, ref,
// subs): the cloud's allowlist and FQDN check always; with a credential (nil: none),
// the caller's permissions on the managed instance (ref, or found by FQDN in subs) and
// its subnet's NSG rules. Its findings are the "Azure" server's.
func NewAzureChecker(c azureops.Cloud, cred azcore.TokenCredential, ref *azureops.MIRef, subs []string) AzureChecker {
	check := azureops.Checker(c, cred, ref, subs)
	return func(ctx context.Context, miFQDN, sqlServerIP string) AzureInfo {
		return AzureInfoOf(check(ctx, miFQDN, sqlServerIP))
	}
}

// AzureInfoOf turns what azureops found into the report's AzureInfo, each finding
// belonging to the "Azure" server.
func AzureInfoOf(in azureops.Info) AzureInfo {
	out := AzureInfo{Cloud: in.Cloud, MI: in.MI}
	for _, e := range in.Allowlist {
		out.Allowlist = append(out.Allowlist, AllowlistItem{Name: e.Name, URL: e.URL, Why: e.Why})
	}
	for _, f := range in.Findings {
		g := Finding{ID: f.ID, Server: "Azure", Severity: Severity(f.Severity), Title: f.Title, Detail: f.Detail}
		for _, x := range f.Fixes {
			g.Fixes = append(g.Fixes, Fix{Platform: x.Platform, Command: x.Command})
		}
		out.Findings = append(out.Findings, g)
	}
	return out
}
