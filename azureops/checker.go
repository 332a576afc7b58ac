package azureops

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/milink/milink/steps"
)

// Checker returns the Azure checks for package steps: the cloud's allowlist and FQDN suffix always;
// with a credential, the caller's permissions on the managed instance and its subnet's
// NSG. Every problem becomes a finding, never an error.
func Checker(c Cloud, cred azcore.TokenCredential, ref *MIRef, subs []string) steps.AzureChecker {
	return func(ctx context.Context, fqdn, sqlIP string) steps.AzureInfo {
		info := steps.AzureInfo{Cloud: c.Name}
		for _, e := range c.Allowlist(fqdn) {
			info.Allowlist = append(info.Allowlist, steps.AllowlistItem{Name: e.Name, URL: e.URL, Why: e.Why})
		}
		add := func(sev steps.Severity, id, title, detail string) {
			info.Findings = append(info.Findings, steps.Finding{ID: id, Server: "Azure", Severity: sev, Title: title, Detail: detail})
		}
		if err := c.CheckMIHost(fqdn); err != nil {
			add(steps.Fail, "cloud", "The managed instance's name does not belong to "+c.Name, err.Error())
		} else {
			add(steps.Pass, "cloud", fmt.Sprintf("%s is in %s (%s)", fqdn, c.Name, c.MIDNSSuffix), "")
		}
		if cred == nil {
			add(steps.Info, "azure-checks", "Azure permissions and NSG rules were not checked",
				"Sign in to Azure (--azure-auth device-code or azure-cli on the command line, or an Entra ID sign-in on the wizard's Login page) to check your permissions on the managed instance and its subnet's NSG rules for 5022 and 11000-11999.")
			return info
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		mi := ref
		if mi == nil {
			found, err := FindMIByFQDN(ctx, cred, c, subs, fqdn)
			if err != nil {
				add(steps.Warn, "azure-mi", "Could not find the managed instance in Azure Resource Manager", azureProblem(err))
				return info
			}
			mi = &found
		}
		if fs, err := CheckPermissions(ctx, cred, c, *mi); err != nil {
			add(steps.Warn, "azure-permissions", "Could not check your permissions on "+mi.Name, azureProblem(err))
		} else {
			info.Findings = append(info.Findings, fs...)
		}
		if fs, err := CheckNSG(ctx, cred, c, *mi, sqlIP); err != nil {
			add(steps.Warn, "nsg", "Could not check the NSG of "+mi.Name+"'s subnet", azureProblem(err))
		} else {
			info.Findings = append(info.Findings, fs...)
		}
		return info
	}
}

func azureProblem(err error) string {
	if s := ExplainAuthError(err); s != "" {
		return s
	}
	if s := ARMErrorSummary(err); s != "" {
		return s
	}
	if errors.Is(err, ErrMINotFound) {
		return err.Error() + " (give --subscription or --mi-resource-id)"
	}
	return err.Error()
}
