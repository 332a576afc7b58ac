package sqlsim

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim/catalog"
)

// personalityCases are every personality on each platform it runs on.
func personalityCases(t *testing.T) []catalog.Personality {
	t.Helper()
	var out []catalog.Personality
	for _, p := range Personalities() {
		if p.MI {
			out = append(out, p)
			continue
		}
		for _, plat := range []string{"Windows", "Linux"} {
			q, err := FindPersonality(p.ProductVersion, plat, false)
			if err != nil {
				if p.Major == 13 && plat == "Linux" {
					continue // 2016 is Windows-only
				}
				t.Fatalf("FindPersonality(%s, %s): %v", p.ProductVersion, plat, err)
			}
			out = append(out, q)
		}
	}
	return out
}

// openPersonality starts an instance with personality p (MIDefaults for a managed
// instance) and connects as its admin.
func openPersonality(t *testing.T, p catalog.Personality, mut func(*Options)) (*Instance, *sqlops.Conn) {
	t.Helper()
	o := SQLServerDefaults()
	if p.MI {
		o = MIDefaults()
	}
	o.Personality = p
	o.JobStartLatency, o.StepLatency = 5*time.Millisecond, 5*time.Millisecond
	if mut != nil {
		mut(&o)
	}
	return startConn(t, o)
}

// TestEveryMilinkQueryRuns runs every SELECT milink sends (sqlops.Tags) and every
// sqlops check through the evaluator on every personality. The only expected
// failures are the ones SQL Server itself gives: Msg 208 for sys.dm_os_host_info on
// 2016 and for the sys.dm_hadr_fabric_* views anywhere but on a managed instance.
func TestEveryMilinkQueryRuns(t *testing.T) {
	for _, p := range personalityCases(t) {
		t.Run(p.Name, func(t *testing.T) {
			_, c := openPersonality(t, p, nil)
			ctx := context.Background()
			args := map[string][]any{
				sqlops.TagJobByName: {sql.Named("name", "x")}, sqlops.TagCertByName: {sql.Named("name", "x")}, sqlops.TagEndpointByName: {sql.Named("name", "x")},
				sqlops.TagJobsMarked: {sql.Named("pattern", "%")}, sqlops.TagCertsMarked: {sql.Named("pattern", "%")}, sqlops.TagEndpointsMarked: {sql.Named("pattern", "%")},
				sqlops.TagJobActivity: {sql.Named("job_id", []byte(nil))}, sqlops.TagFilegroups: {sql.Named("db", "master")}, sqlops.TagJobHistory: {sql.Named("job_id", []byte(nil))}, sqlops.TagJobStepLogs: {sql.Named("job_id", []byte(nil))},
			}
			for _, tag := range sqlops.Tags() {
				rows, err := c.DB.QueryContext(ctx, sqlops.Query(tag), args[tag]...)
				want := int32(0)
				switch {
				case tag == sqlops.TagMIParams && !p.MI, // sys.dm_hadr_fabric_* exist only on the MI
					tag == sqlops.TagMIServiceTier && !p.MI,               // so does sys.server_resource_stats
					tag == sqlops.TagServerInfo && p.Major == 13 && !p.MI, // sys.dm_os_host_info is 2017+
					tag == sqlops.TagAgent && p.MI:                        // sys.dm_server_services is not on the MI
					want = 208
				}
				if err == nil {
					for rows.Next() {
					}
					err = rows.Err()
					rows.Close()
				}
				if got := sqlops.SQLError(err); got != want {
					t.Errorf("%s: error %v (number %d), want %d", tag, err, got, want)
				}
			}
			if p.Major == 13 && !p.MI {
				// milink falls back to @@VERSION for the platform (issue 11, item 7).
				si, err := c.ServerInfo(ctx)
				if err != nil || si.HostPlatform != "Windows" || !strings.Contains(si.HostInfoNote, "Invalid object name 'sys.dm_os_host_info'.") {
					t.Errorf("2016 ServerInfo: %+v %v, want the platform from @@VERSION after Msg 208", si, err)
				}
			} else {
				si, err := c.ServerInfo(ctx)
				if err != nil || si.ProductVersion != p.ProductVersion || si.HostPlatform != string(p.Platform) {
					t.Errorf("ServerInfo: %+v %v", si, err)
				}
			}
			checks := map[string]func() (any, error){
				"HasMasterKey":       func() (any, error) { return c.HasMasterKey(ctx) },
				"TraceFlags":         func() (any, error) { return c.TraceFlags(ctx) },
				"Agent":              func() (any, error) { return c.Agent(ctx) },
				"Databases":          func() (any, error) { return c.Databases(ctx) },
				"Permissions":        func() (any, error) { return c.Permissions(ctx) },
				"MirroringEndpoints": func() (any, error) { return c.MirroringEndpoints(ctx) },
				"HasAddIssuer":       func() (any, error) { return c.HasAddIssuer(ctx) },
				"LocalAddress":       func() (any, error) { return c.LocalAddress(ctx) },
				"Inventory":          func() (any, error) { return c.Inventory(ctx) },
			}
			if p.MI {
				checks["MIParams"] = func() (any, error) { return c.MIParams(ctx) }
				checks["MIServiceTier"] = func() (any, error) { return c.MIServiceTier(ctx) }
				delete(checks, "Agent")
			}
			for name, f := range checks {
				v, err := f()
				if err != nil {
					t.Errorf("%s: %v", name, err)
				}
				if testing.Verbose() {
					t.Logf("%s: %s", name, fmt.Sprintf("%+v", v))
				}
			}
		})
	}
}
