package azureops

import "context"

// Severity grades a Finding, from best to worst: SeverityPass, SeverityInfo,
// SeverityWarn, SeverityFail. The values are those of milink's report ("pass", "info",
// "warn", "fail").
type Severity string

// Severities.
const (
	SeverityPass Severity = "pass" // the check passed
	SeverityInfo Severity = "info" // worth knowing; nothing to do
	SeverityWarn Severity = "warn" // could not be checked, or may block the link
	SeverityFail Severity = "fail" // blocks the link until fixed
)

// Fix is the exact remedy for a finding on one platform; azureops gives only "Azure"
// fixes, az CLI commands for the administrator to run (nothing here changes Azure).
type Fix struct {
	Platform string // "Azure"
	Command  string // one az command line
}

// Finding is one fact the Azure checks established about the managed instance, its
// permissions or its subnet's NSG, with why it matters and how to fix it. ID is stable
// ("cloud", "azure-permissions", "nsg:inbound-5022", ...) for reports and tests.
type Finding struct {
	ID       string   // stable identifier of the check
	Severity Severity // how bad it is
	Title    string   // one line
	Detail   string   // what was found and why it matters; "" when the title says it all
	Fixes    []Fix    // az commands that fix it, if any
}

// Info is what the Azure checks of Checker found: the cloud's name, its allowlist for
// the managed instance, and the findings (cloud/FQDN mismatch, missing permissions,
// NSG gaps, or why Azure could not be checked).
type Info struct {
	Cloud     string           // the cloud's name, e.g. AzureCloud
	Allowlist []AllowlistEntry // hosts a proxy or firewall must let through
	Findings  []Finding        // in the order the checks ran
	// MI holds the managed instance's update policy and service tier when Resource
	// Manager was read (signed in, instance found); nil otherwise.
	MI *MIProperties
}

// CheckFunc runs the Azure checks for the managed instance whose FQDN is miFQDN, with
// sqlServerIP the address the managed instance reaches SQL Server on. It never fails:
// problems are findings.
type CheckFunc func(ctx context.Context, miFQDN, sqlServerIP string) Info
