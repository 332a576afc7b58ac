package steps

import "context"

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
}

// AzureChecker runs the Azure checks for the managed instance whose FQDN is miFQDN,
// with sqlServerIP the address the managed instance reaches SQL Server on. Package
// azureops implements it; the CLI wires it into Config.Azure. It never fails: problems
// are findings.
type AzureChecker func(ctx context.Context, miFQDN, sqlServerIP string) AzureInfo
