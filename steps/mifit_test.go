package steps_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/milink/milink/azureops"
	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/steps"
)

// miFitReport starts a pair (sqlMut, miMut change the instances), runs what the DBA
// runs (batches, on SQL Server), goes through Prerequisites and Login, records az as
// the Azure checks' outcome (nil: Azure not configured) and returns the report.
func miFitReport(t *testing.T, sqlMut, miMut func(*sqlsim.Options), az *steps.AzureInfo, batches ...string) *steps.Report {
	t.Helper()
	p, err := sqlsim.StartPair(sqlsim.Scenario{Name: t.Name(), SQL: sqlMut, MI: miMut}, 10*time.Millisecond, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	cfg := pairConfig(t, p)
	dba(t, cfg, batches...)
	s := throughLogin(t, cfg)
	if az != nil {
		s.SetAzure(*az)
	}
	return s.Report()
}

// throughLogin returns a session that has gone through Prerequisites and Login on
// cfg's instances; it is closed when the test ends.
func throughLogin(t *testing.T, cfg steps.Config) *steps.Session {
	t.Helper()
	s := steps.NewSession(cfg, steps.SessionOptions{})
	t.Cleanup(func() { s.Close() })
	loginSteps(t, s, cfg)
	return s
}

// planned is throughLogin followed by the Network Options defaults and the Summary
// step's plan (err is BuildPlan's).
func planned(t *testing.T, cfg steps.Config) (*steps.Session, steps.NetworkOptions, *steps.Plan, error) {
	t.Helper()
	s := throughLogin(t, cfg)
	opts, err := s.NetworkDefaults()
	if err != nil {
		t.Fatal(err)
	}
	plan, err := s.BuildPlan(context.Background(), opts)
	return s, opts, plan, err
}

func reportFinding(t *testing.T, r *steps.Report, id string) steps.Finding {
	t.Helper()
	for _, f := range r.Findings {
		if f.ID == id {
			return f
		}
	}
	t.Fatalf("no finding %s in %+v", id, r.Findings)
	return steps.Finding{}
}

func withTier(tier string) func(*sqlsim.Options) {
	return func(o *sqlsim.Options) { o.ServiceTier = tier }
}

// Item 7 (In-Memory OLTP is fine towards a Business Critical managed instance): the
// tier comes from the managed instance's master.sys.server_resource_stats, or from
// Resource Manager's sku.tier when Azure was read (which wins).
func TestInMemoryOLTPByServiceTier(t *testing.T) {
	hekaton := containerDB("Hekaton", "MEMORY_OPTIMIZED_DATA", true)
	gp := miFitReport(t, nil, nil, nil, hekaton...)
	f := reportFinding(t, gp, "database:Hekaton:inmemory")
	if f.Severity != steps.Fail || !strings.Contains(f.Title, "General Purpose") || !strings.Contains(f.Detail, "sys.server_resource_stats") ||
		!strings.Contains(fixText(f.Fixes), "--edition BusinessCritical") || !strings.Contains(f.Detail, "dropping its database") {
		t.Errorf("General Purpose MI: %+v", f)
	}

	bc := miFitReport(t, nil, withTier(sqlsim.TierBusinessCritical), nil, hekaton...)
	if f := reportFinding(t, bc, "database:Hekaton:inmemory"); f.Severity != steps.Pass || !strings.Contains(f.Title, "Business Critical") {
		t.Errorf("Business Critical MI: %+v", f)
	}

	// Resource Manager's tier wins over the instance's view.
	arm := &steps.AzureInfo{Cloud: "AzureCloud", MI: &azureops.MIProperties{Tier: "BusinessCritical", DatabaseFormat: "SQLServer2022"}}
	if f := reportFinding(t, miFitReport(t, nil, nil, arm, hekaton...), "database:Hekaton:inmemory"); f.Severity != steps.Pass || !strings.Contains(f.Detail, "Resource Manager") {
		t.Errorf("tier from Resource Manager: %+v", f)
	}
}

// Item 9: "both directions" for SQL Server 2022 CU10+ / 2025 holds only when the
// managed instance's update policy (ARM databaseFormat) matches SQL Server's major
// version (update-policy page).
// updatePolicy sets a simulated managed instance's update policy.
func updatePolicy(p string) func(*sqlsim.Options) {
	return func(o *sqlsim.Options) { o.UpdatePolicy = p }
}

func TestDirectionsByUpdatePolicy(t *testing.T) {
	policy := func(format string) *steps.AzureInfo {
		return &steps.AzureInfo{Cloud: "AzureCloud", MI: &azureops.MIProperties{DatabaseFormat: format, Tier: "GeneralPurpose"}}
	}
	sql2025 := func(o *sqlsim.Options) {
		p, err := sqlsim.FindPersonality("17", "Windows", false)
		if err != nil {
			t.Fatal(err)
		}
		o.Personality = p
	}
	for _, tc := range []struct {
		name   string
		sqlMut func(*sqlsim.Options)
		miMut  func(*sqlsim.Options)
		az     *steps.AzureInfo
		sev    steps.Severity
		title  []string
		fix    string
	}{
		{"not signed in", nil, nil, nil, steps.Info, []string{"SQL Server 2022", "unknown"}, "--query databaseFormat"},
		{"Azure checks without a sign-in", nil, nil, &steps.AzureInfo{Cloud: "AzureCloud"}, steps.Info, []string{"unknown"}, "--query databaseFormat"},
		{"matching 2022", nil, nil, policy("SQLServer2022"), steps.Pass, []string{"both directions", "SQL Server 2022"}, ""},
		{"always up to date", nil, nil, policy("AlwaysUpToDate"), steps.Warn, []string{"only SQL Server → managed instance", "Always-up-to-date"}, "az sql mi create"},
		{"2022 instance, 2025 policy", nil, nil, policy("SQLServer2025"), steps.Warn, []string{"SQL Server 2025, not SQL Server 2022"}, "az sql mi create"},
		{"2025 instance, 2022 policy", sql2025, nil, policy("SQLServer2022"), steps.Warn, []string{"SQL Server 2025"}, "--database-format SQLServer2025"},
		{"matching 2025", sql2025, nil, policy("sqlserver2025"), steps.Pass, []string{"both directions"}, ""},
		// Without Resource Manager, SERVERPROPERTY('ProductUpdateType') on the managed
		// instance tells Always-up-to-date (Continuous) from the CU policies.
		{"always up to date read over T-SQL", nil, updatePolicy(sqlsim.UpdatePolicyAlwaysUpToDate), nil, steps.Warn, []string{"only SQL Server → managed instance", "Always-up-to-date"}, "az sql mi create"},
		{"CU policy read over T-SQL", nil, updatePolicy(sqlsim.UpdatePolicySQLServer2025), nil, steps.Info, []string{"unknown"}, "--query databaseFormat"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := reportFinding(t, miFitReport(t, tc.sqlMut, tc.miMut, tc.az), "version")
			if f.Severity != tc.sev {
				t.Errorf("severity %s, want %s: %+v", f.Severity, tc.sev, f)
			}
			for _, w := range tc.title {
				if !strings.Contains(f.Title, w) {
					t.Errorf("title %q lacks %q", f.Title, w)
				}
			}
			if tc.fix != "" && !strings.Contains(fixText(f.Fixes), tc.fix) {
				t.Errorf("fixes %q lack %q", fixText(f.Fixes), tc.fix)
			}
			if tc.miMut != nil && !strings.Contains(f.Detail, "ProductUpdateType") {
				t.Errorf("detail does not say what was read on the managed instance: %s", f.Detail)
			}
			if tc.sev != steps.Pass && !strings.Contains(f.Detail, "update-policy") {
				t.Errorf("detail does not cite the update policy page: %s", f.Detail)
			}
		})
	}
}
