package steps

import (
	"fmt"
	"strings"

	"github.com/milink/milink/azureops"
	"github.com/milink/milink/sqlops"
)

// updatePolicyPage is Microsoft's page on the managed instance's update policy (ARM
// property databaseFormat): only an instance with the SQL Server 2022 (2025) update
// policy can be the initial primary of a link to SQL Server 2022 (2025) or fail back
// from it; a change to a newer policy or to Always-up-to-date cannot be undone.
const updatePolicyPage = "https://learn.microsoft.com/azure/azure-sql/managed-instance/update-policy"

// inMemoryFilegroupPage says a MEMORY_OPTIMIZED_DATA filegroup can only be removed by
// dropping its database.
const inMemoryFilegroupPage = "https://learn.microsoft.com/sql/relational-databases/in-memory-oltp/the-memory-optimized-filegroup"

// updatePolicyFor is the databaseFormat a managed instance needs for both directions
// of a link with SQL Server major version major ("" when none is known).
func updatePolicyFor(major int) string {
	switch major {
	case 16:
		return "SQLServer2022"
	case 17:
		return "SQLServer2025"
	}
	return ""
}

// policyName is the portal's name of a databaseFormat value.
func policyName(format string) string {
	switch strings.ToLower(format) {
	case "alwaysuptodate":
		return "Always-up-to-date"
	case "sqlserver2022":
		return "SQL Server 2022"
	case "sqlserver2025":
		return "SQL Server 2025"
	}
	return format
}

// tierName is a service tier for people ("General Purpose", "Business Critical").
func tierName(tier string) string {
	switch sqlops.NormalizeTier(tier) {
	case sqlops.TierGeneralPurpose:
		return "General Purpose"
	case sqlops.TierBusinessCritical:
		return "Business Critical"
	}
	return tier
}

// miFit re-judges the prerequisites that depend on the managed instance: the link's
// directions (the instance's update policy, from Resource Manager) and databases using
// In-Memory OLTP (its service tier, from Resource Manager or the instance itself). It
// returns pre's findings with those replaced; pre is not changed. mi and az may be nil
// (not yet known).
func miFit(pre *Prerequisites, mi *ManagedInstance, az *AzureInfo) []Finding {
	out := make([]Finding, 0, len(pre.Findings))
	tier, from := "", ""
	if az != nil && az.MI != nil && az.MI.Tier != "" {
		tier, from = sqlops.NormalizeTier(az.MI.Tier), "Resource Manager (sku.tier)"
		if az.MI.GeneralPurposeV2 {
			from += ", Next-gen General Purpose"
		}
	} else if mi != nil && mi.ServiceTier != "" {
		tier, from = mi.ServiceTier, "sys.server_resource_stats on the managed instance"
	}
	for _, f := range pre.Findings {
		switch {
		case f.ID == "version" && f.Severity == Pass && pre.Support.SQLToMI && pre.Support.MIToSQL:
			out = append(out, directionFinding(f, pre, mi, az))
		case strings.HasPrefix(f.ID, "database:") && strings.HasSuffix(f.ID, ":inmemory"):
			out = append(out, inMemoryFinding(f, tier, from))
		default:
			out = append(out, f)
		}
	}
	return out
}

// directionFinding is the version finding of a build that supports both directions,
// judged by the managed instance's update policy (az.MI.DatabaseFormat): both
// directions when it matches SQL Server's major version; SQL Server → managed instance
// only when it does not, with what can be changed. Without Resource Manager, the
// instance's SERVERPROPERTY('ProductUpdateType') (mi.UpdateType) still tells
// Always-up-to-date (Continuous) from the SQL Server 2022/2025 policies (CU).
func directionFinding(f Finding, pre *Prerequisites, mi *ManagedInstance, az *AzureInfo) Finding {
	v, err := ParseVersion(pre.Server.ProductVersion)
	want := ""
	if err == nil {
		want = updatePolicyFor(v[0])
	}
	product := pre.Support.Product
	if want == "" {
		return f
	}
	updateType := ""
	if mi != nil {
		updateType = mi.UpdateType
	}
	if (az == nil || az.MI == nil || az.MI.DatabaseFormat == "") && strings.EqualFold(updateType, "Continuous") {
		// SERVERPROPERTY('ProductUpdateType') = Continuous is the Always-up-to-date
		// policy (update-policy page, "Check update policy").
		az = &AzureInfo{MI: &azureops.MIProperties{DatabaseFormat: "AlwaysUpToDate"}}
		f = directionFinding(f, pre, nil, az)
		f.Detail += " (Read on the managed instance: SERVERPROPERTY('ProductUpdateType') is Continuous, which is the Always-up-to-date update policy.)"
		return f
	}
	if az == nil || az.MI == nil || az.MI.DatabaseFormat == "" {
		why := "Azure was not signed in"
		if az != nil && az.MI == nil {
			why = "Resource Manager was not read (see the Azure findings)"
		} else if az != nil {
			why = "Resource Manager did not return the instance's databaseFormat"
		}
		f.Severity = Info
		f.Title = fmt.Sprintf("%s %s is supported; both directions only if the managed instance's update policy is %s (unknown)", product, v, policyName(want))
		if strings.EqualFold(updateType, "CU") {
			why += "; the managed instance's SERVERPROPERTY('ProductUpdateType') is CU, so its policy is SQL Server 2022 or SQL Server 2025 (not Always-up-to-date), but T-SQL does not tell which"
		}
		f.Detail = fmt.Sprintf("The update policy was not read: %s. SQL Server as the initial primary works with any update policy; the managed instance as the initial primary (MI → SQL Server) and failing back to SQL Server need the %s update policy (%s). Find it in the Azure portal (managed instance > Maintenance and updates > Update policy) or with the command below, or sign in to Azure (--azure-auth) and run milink again.", why, policyName(want), updatePolicyPage)
		f.Fixes = []Fix{{Platform: "Azure", Command: "az sql mi show -g <resource-group> -n <managed-instance> --query databaseFormat   # must be " + want}}
		return f
	}
	got := az.MI.DatabaseFormat
	if strings.EqualFold(got, want) {
		f.Severity = Pass
		f.Title = fmt.Sprintf("%s %s is supported in both directions (the managed instance's update policy is %s)", product, v, policyName(got))
		f.Detail = "SQL Server or the managed instance can be the initial primary, and failover works both ways (" + updatePolicyPage + ")."
		f.Fixes = nil
		return f
	}
	f.Severity = Warn
	f.Title = fmt.Sprintf("%s %s: only SQL Server → managed instance, because the managed instance's update policy is %s, not %s", product, v, policyName(got), policyName(want))
	f.Detail = fmt.Sprintf("With the %s update policy the link works with SQL Server as the initial primary (replication to the managed instance, and failover to it), but the managed instance cannot be the initial primary, and databases cannot fail back to %s: only an instance with the %s update policy can (%s).", policyName(got), product, policyName(want), updatePolicyPage)
	switch {
	case strings.EqualFold(got, "SQLServer2022") && strings.EqualFold(want, "SQLServer2025"):
		f.Detail += " The policy can be moved forward to SQL Server 2025 (this cannot be undone: the instance can never return to the SQL Server 2022 policy)."
		f.Fixes = []Fix{{Platform: "Azure", Command: "az sql mi update -g <resource-group> -n <managed-instance> --database-format SQLServer2025   # irreversible"}}
	default:
		f.Detail += fmt.Sprintf(" A managed instance cannot go back from the %s update policy to an older one: for both directions use a managed instance created with the %s update policy", policyName(got), policyName(want))
		if strings.EqualFold(want, "SQLServer2022") && strings.EqualFold(got, "SQLServer2025") {
			f.Detail += ", or upgrade SQL Server to SQL Server 2025"
		}
		f.Detail += "."
		f.Fixes = []Fix{{Platform: "Azure", Command: "az sql mi create ... --database-format " + want + "   # a new instance for both directions"}}
	}
	return f
}

// inMemoryFinding judges a database with a MEMORY_OPTIMIZED_DATA filegroup by the
// managed instance's service tier: the link replicates it to Business Critical only
// (managed-instance-link-feature-overview#limitations).
func inMemoryFinding(f Finding, tier, from string) Finding {
	db := strings.TrimSuffix(strings.TrimPrefix(f.ID, "database:"), ":inmemory")
	switch tier {
	case sqlops.TierBusinessCritical:
		f.Severity = Pass
		f.Title = fmt.Sprintf("Database %s uses In-Memory OLTP, and the managed instance is Business Critical", db)
		f.Detail = "It has a MEMORY_OPTIMIZED_DATA filegroup; the link replicates such databases to the Business Critical service tier (read from " + from + ")."
		f.Fixes = nil
	case sqlops.TierGeneralPurpose:
		f.Severity = Fail
		f.Title = fmt.Sprintf("Database %s uses In-Memory OLTP, but the managed instance is General Purpose", db)
		f.Detail = "It has a MEMORY_OPTIMIZED_DATA filegroup. The link replicates databases that use In-Memory OLTP only to the Business Critical service tier; General Purpose (and Next-gen General Purpose) does not support In-Memory OLTP (tier read from " + from + "). Move the managed instance to Business Critical, or move the database's data to a database without In-Memory OLTP: a memory-optimized filegroup can only be removed by dropping its database (" + inMemoryFilegroupPage + ")."
		f.Fixes = []Fix{{Platform: "Azure", Command: "az sql mi update -g <resource-group> -n <managed-instance> --edition BusinessCritical   # a scaling operation that can take hours"}}
	}
	return f
}
