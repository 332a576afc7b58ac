package sqlsim

import "time"

// Service tiers as a managed instance's sys.server_resource_stats writes them in sku.
const (
	TierGeneralPurpose   = "General Purpose"
	TierBusinessCritical = "Business Critical"
)

// resourceStatsInterval and resourceStatsKept are sys.server_resource_stats' reporting
// interval (one row per 15 seconds) and how long rows are kept (about 14 days).
const (
	resourceStatsInterval = 15 * time.Second
	resourceStatsKept     = 14 * 24 * time.Hour
)

// resourceStatsTables is master.sys.server_resource_stats of a managed instance
// (https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-server-resource-stats-azure-sql-database):
// one row per 15-second interval of the instance's life, newest last, at most 14 days,
// with the service tier (Options.ServiceTier, default "General Purpose") in sku. The
// simulated instance was running before the simulator started it, so it reports the
// 20 intervals (5 minutes) before its start as well. Columns and availability (the
// managed instance, in master) are package catalog's.
func resourceStatsTables() []*sysTable {
	return []*sysTable{{schema: "sys", name: "server_resource_stats", scope: "server", avail: miOnly,
		source: "https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-server-resource-stats-azure-sql-database",
		rows: func(x *execCtx, _ *dbState) []map[string]any {
			in := x.s.in
			sku := in.opts.ServiceTier
			if sku == "" {
				sku = TierGeneralPurpose
			}
			now := time.Now().UTC()
			from := in.started.Truncate(resourceStatsInterval).Add(-20 * resourceStatsInterval)
			if oldest := now.Add(-resourceStatsKept); from.Before(oldest) {
				from = oldest.Truncate(resourceStatsInterval)
			}
			var out []map[string]any
			for t := from; !t.Add(resourceStatsInterval).After(now); t = t.Add(resourceStatsInterval) {
				out = append(out, map[string]any{"start_time": t, "end_time": t.Add(resourceStatsInterval),
					"resource_type": "SQL instance", "resource_name": in.opts.ServerName, "sku": sku,
					"hardware_generation": "Gen5", "virtual_core_count": int64(8), "avg_cpu_percent": 1.5,
					"reserved_storage_mb": int64(262144), "storage_space_used_mb": 12345.25,
					"io_request": int64(120), "io_bytes_read": int64(491520), "io_bytes_written": int64(245760)})
			}
			return out
		}}}
}
