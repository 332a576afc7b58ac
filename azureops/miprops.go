package azureops

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// miPropsAPIVersion is the first stable Microsoft.Sql api-version whose
// ManagedInstanceProperties carry databaseFormat (AlwaysUpToDate, SQLServer2022,
// SQLServer2025) and isGeneralPurposeV2: azure-rest-api-specs,
// specification/sql/resource-manager/Microsoft.Sql/stable/2025-01-01/ManagedInstances.json.
// armsql v1.2.0 (the module's version) speaks 2021-11-01, which has neither.
const miPropsAPIVersion = "2025-01-01"

// Database formats (ARM property databaseFormat, the portal's "update policy"):
// https://learn.microsoft.com/azure/azure-sql/managed-instance/update-policy.
const (
	FormatAlwaysUpToDate = "AlwaysUpToDate"
	FormatSQLServer2022  = "SQLServer2022"
	FormatSQLServer2025  = "SQLServer2025"
)

// Service tiers as Resource Manager writes sku.tier.
const (
	TierGeneralPurpose   = "GeneralPurpose"
	TierBusinessCritical = "BusinessCritical"
)

// MIProperties are the managed instance's settings that decide what the link can do:
// its update policy and its service tier.
type MIProperties struct {
	// DatabaseFormat is properties.databaseFormat: FormatAlwaysUpToDate,
	// FormatSQLServer2022 or FormatSQLServer2025 (as Resource Manager spells it; compare
	// with strings.EqualFold). "" when Resource Manager did not return it.
	DatabaseFormat string
	// Tier is sku.tier: TierGeneralPurpose or TierBusinessCritical; "" when absent.
	Tier string
	// SKUName is sku.name, e.g. "GP_Gen5", "BC_G8IM".
	SKUName string
	// GeneralPurposeV2 is properties.isGeneralPurposeV2: the Next-gen General Purpose
	// tier (still sku.tier GeneralPurpose).
	GeneralPurposeV2 bool
}

// TierName is the tier for people: "General Purpose", "Next-gen General Purpose",
// "Business Critical", or Tier as given.
func (p MIProperties) TierName() string {
	switch {
	case strings.EqualFold(p.Tier, TierGeneralPurpose) && p.GeneralPurposeV2:
		return "Next-gen General Purpose"
	case strings.EqualFold(p.Tier, TierGeneralPurpose):
		return "General Purpose"
	case strings.EqualFold(p.Tier, TierBusinessCritical):
		return "Business Critical"
	}
	return p.Tier
}

// ReadMIProperties reads the managed instance ref from Resource Manager (GET
// .../managedInstances/<name>?api-version=2025-01-01) through the same pipeline as
// every other call here: cred, cloud c's endpoint, retries and opts (WithTransport,
// WithMaxRetries). Errors: ref is invalid (ErrInvalidInput), the request failed, or
// Resource Manager answered other than 200 (*azcore.ResponseError: ARMErrorSummary
// turns it into one line).
func ReadMIProperties(ctx context.Context, cred azcore.TokenCredential, c Cloud, ref MIRef, opts ...Option) (MIProperties, error) {
	var out MIProperties
	if err := ref.Validate(); err != nil {
		return out, err
	}
	fail := func(err error) (MIProperties, error) {
		return MIProperties{}, fmt.Errorf("read managed instance %s: %w", ref, err)
	}
	client, err := arm.NewClient("milink/azureops", "v1.0.0", cred, armOptions(c, opts))
	if err != nil {
		return fail(err)
	}
	ctx = context.WithValue(ctx, runtime.CtxAPINameKey{}, "ManagedInstancesClient.Get")
	req, err := runtime.NewRequest(ctx, http.MethodGet, runtime.JoinPaths(client.Endpoint(), ref.ResourceID())+"?api-version="+miPropsAPIVersion)
	if err != nil {
		return fail(err)
	}
	resp, err := client.Pipeline().Do(req)
	if err != nil {
		return fail(err)
	}
	if !runtime.HasStatusCode(resp, http.StatusOK) {
		return fail(runtime.NewResponseError(resp))
	}
	var body struct {
		SKU *struct {
			Name string `json:"name"`
			Tier string `json:"tier"`
		} `json:"sku"`
		Properties *struct {
			DatabaseFormat     string `json:"databaseFormat"`
			IsGeneralPurposeV2 bool   `json:"isGeneralPurposeV2"`
		} `json:"properties"`
	}
	if err := runtime.UnmarshalAsJSON(resp, &body); err != nil {
		return fail(err)
	}
	if body.SKU != nil {
		out.Tier, out.SKUName = body.SKU.Tier, body.SKU.Name
	}
	if body.Properties != nil {
		out.DatabaseFormat, out.GeneralPurposeV2 = body.Properties.DatabaseFormat, body.Properties.IsGeneralPurposeV2
	}
	return out, nil
}
