package azureops

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

// Checker returns the Azure checks: the cloud's allowlist and FQDN suffix always;
// with a credential, the caller's permissions on the managed instance and its subnet's
// NSG, and its update policy and service tier (Info.MI). opts apply to every Resource
// Manager call (WithTransport, WithMaxRetries). Every problem becomes a finding, never
// an error.
func Checker(c Cloud, cred azcore.TokenCredential, ref *MIRef, subs []string, opts ...Option) CheckFunc {
	return func(ctx context.Context, fqdn, sqlIP string) Info {
		info := Info{Cloud: c.Name, Allowlist: c.Allowlist(fqdn)}
		add := func(sev Severity, id, title, detail string) {
			info.Findings = append(info.Findings, Finding{ID: id, Severity: sev, Title: title, Detail: detail})
		}
		if err := c.CheckMIHost(fqdn); err != nil {
			add(SeverityFail, "cloud", "The managed instance's name does not belong to "+c.Name, err.Error())
		} else {
			add(SeverityPass, "cloud", fmt.Sprintf("%s is in %s (%s)", fqdn, c.Name, c.MIDNSSuffix), "")
		}
		if cred == nil {
			add(SeverityInfo, "azure-checks", "Azure permissions and NSG rules were not checked",
				"Sign in to Azure (--azure-auth device-code or azure-cli on the command line, or an Entra ID sign-in on the wizard's Login page) to check your permissions on the managed instance, its subnet's NSG rules for 5022 and 11000-11999, and its update policy and service tier (which decide the link's directions and whether In-Memory OLTP databases can be linked).")
			return info
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		mi := ref
		if mi == nil {
			found, err := FindMIByFQDN(ctx, cred, c, subs, fqdn, opts...)
			if err != nil {
				add(SeverityWarn, "azure-mi", "Could not find the managed instance in Azure Resource Manager", azureProblem(err))
				return info
			}
			mi = &found
		}
		if props, err := ReadMIProperties(ctx, cred, c, *mi, opts...); err != nil {
			add(SeverityWarn, "azure-mi-properties", "Could not read the update policy and service tier of "+mi.Name,
				azureProblem(err)+". Without them milink cannot say whether the link works in both directions or takes In-Memory OLTP databases; check with az sql mi show -g "+mi.ResourceGroup+" -n "+mi.Name+" --query \"{policy:databaseFormat, tier:sku.tier}\".")
		} else {
			info.MI = &props
		}
		if fs, err := CheckPermissions(ctx, cred, c, *mi, opts...); err != nil {
			add(SeverityWarn, "azure-permissions", "Could not check your permissions on "+mi.Name, azureProblem(err))
		} else {
			info.Findings = append(info.Findings, fs...)
		}
		if fs, err := CheckNSG(ctx, cred, c, *mi, sqlIP, opts...); err != nil {
			add(SeverityWarn, "nsg", "Could not check the NSG of "+mi.Name+"'s subnet", azureProblem(err))
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
