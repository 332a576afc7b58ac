package sqlops

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// MI service tiers as MIServiceTier returns them (Resource Manager's sku.tier spelling).
const (
	TierGeneralPurpose   = "GeneralPurpose"
	TierBusinessCritical = "BusinessCritical"
)

// MIServiceTier reads the managed instance's service tier from
// master.sys.server_resource_stats (its sku column: "General Purpose" or "Business
// Critical", https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-server-resource-stats-azure-sql-database)
// and returns it as TierGeneralPurpose or TierBusinessCritical, any other value as
// given, or "" when the view has no row yet (a freshly created instance: rows come
// every 15 s). Errors: the query failed (Msg 208 on SQL Server, which lacks the view).
func (c *Conn) MIServiceTier(ctx context.Context) (string, error) {
	var sku sql.NullString
	err := c.DB.QueryRowContext(ctx, Query(TagMIServiceTier)).Scan(&sku)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the managed instance's service tier: %w", err)
	}
	return NormalizeTier(sku.String), nil
}

// NormalizeTier maps the spellings of a managed instance's service tier ("General
// Purpose", "GeneralPurpose", "Business Critical", "BusinessCritical", any case) to
// TierGeneralPurpose or TierBusinessCritical; anything else is returned trimmed.
func NormalizeTier(s string) string {
	switch strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), " ", "")) {
	case "generalpurpose":
		return TierGeneralPurpose
	case "businesscritical":
		return TierBusinessCritical
	}
	return strings.TrimSpace(s)
}

// MIUpdateType reads SERVERPROPERTY('ProductUpdateType') on a managed instance: "CU"
// when its update policy is SQL Server 2022 or SQL Server 2025, "Continuous" when it
// is Always-up-to-date ("Check update policy" in
// https://learn.microsoft.com/azure/azure-sql/managed-instance/update-policy), "" when
// the server returns NULL (SQL Server). Errors: the query failed.
func (c *Conn) MIUpdateType(ctx context.Context) (string, error) {
	var t sql.NullString
	if err := c.DB.QueryRowContext(ctx, Query(TagMIUpdateType)).Scan(&t); err != nil {
		return "", fmt.Errorf("read the managed instance's update type: %w", err)
	}
	return strings.TrimSpace(t.String), nil
}
