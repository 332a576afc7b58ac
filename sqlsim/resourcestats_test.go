package sqlsim

import (
	"context"
	"testing"

	"github.com/milink/milink/sqlops"
)

// TestServerResourceStats: master.sys.server_resource_stats exists on the managed
// instance only, in master, and reports the configured service tier in sku
// (sys-server-resource-stats-azure-sql-database).
func TestServerResourceStats(t *testing.T) {
	ctx := context.Background()
	_, c := startConn(t, MIDefaults())
	if tier, err := c.MIServiceTier(ctx); err != nil || tier != sqlops.TierGeneralPurpose {
		t.Errorf("default MI tier = %q, %v; want %s", tier, err, sqlops.TierGeneralPurpose)
	}
	var n, intervals int
	if err := c.DB.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT DATEDIFF(second, start_time, end_time)) FROM master.sys.server_resource_stats WHERE sku = N'General Purpose'`).Scan(&n, &intervals); err != nil || n < 20 || intervals != 1 {
		t.Errorf("rows = %d with %d distinct interval lengths, %v; want >= 20 rows of one 15 s interval", n, intervals, err)
	}
	// Only in master: from msdb the unqualified name is not found.
	if _, err := c.DB.ExecContext(ctx, `USE msdb; SELECT sku FROM sys.server_resource_stats;`); sqlops.SQLError(err) != 208 {
		t.Errorf("from msdb: %v, want Msg 208", err)
	}

	o := MIDefaults()
	o.ServiceTier = TierBusinessCritical
	_, bc := startConn(t, o)
	if tier, err := bc.MIServiceTier(ctx); err != nil || tier != sqlops.TierBusinessCritical {
		t.Errorf("Business Critical MI tier = %q, %v", tier, err)
	}

	_, box := startConn(t, SQLServerDefaults())
	if _, err := box.MIServiceTier(ctx); sqlops.SQLError(err) != 208 {
		t.Errorf("SQL Server: %v, want Msg 208 (the view is the managed instance's)", err)
	}
}
