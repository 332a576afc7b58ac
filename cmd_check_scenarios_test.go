package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/steps"
)

// TestCheckScenarios runs milink check against simulated pairs set up for one
// scenario each and checks the report's findings, verdicts and exit code, and that
// nothing of milink's is left on either instance.
func TestCheckScenarios(t *testing.T) {
	userJob := sqlsim.JobSpec{Name: "NetHelper", Description: "the DBA's own NetHelper"}
	cases := []struct {
		name          string
		mutSQL, mutMI func(*sqlsim.Options)
		net           func(p *pair)
		wantCode      int
		check         func(t *testing.T, p *pair, rep steps.Report)
	}{
		{
			name:     "filtered MI 5022",
			net:      func(p *pair) { p.net.SetRule(p.miOpts.FQDN, 5022, sqlsim.RuleFiltered) },
			wantCode: steps.ExitConnectivity,
			check: func(t *testing.T, p *pair, rep steps.Report) {
				d := direction(rep, steps.SQLToMI)
				if d.Status != steps.StatusFailed || d.Probes[0].Verdict != sqlops.VerdictTimeout || d.Probes[1].Verdict != sqlops.VerdictConnected {
					t.Errorf("SQL→MI: %+v", d)
				}
				if d.Probes[0].Explanation == "" || len(d.Probes[0].Fixes) == 0 {
					t.Error("a failed probe must be explained with fixes")
				}
				if direction(rep, steps.MIToSQL).Status != steps.StatusPassed {
					t.Error("MI→SQL should still pass")
				}
			},
		},
		{
			name:     "refused SQL Server 5022",
			net:      func(p *pair) { p.net.SetRule(p.sqlOpts.IP, 5022, sqlsim.RuleRefused) },
			wantCode: steps.ExitConnectivity,
			check: func(t *testing.T, p *pair, rep steps.Report) {
				d := direction(rep, steps.MIToSQL)
				if d.Status != steps.StatusFailed || d.Probes[0].Verdict != sqlops.VerdictRefused {
					t.Errorf("MI→SQL: %+v", d)
				}
			},
		},
		{
			name: "HADR port filtered",
			net: func(p *pair) {
				p.net.SetRule(p.miOpts.NodeName+"."+p.miOpts.ClusterName, p.miOpts.HadrPort, sqlsim.RuleFiltered)
			},
			wantCode: steps.ExitConnectivity,
			check: func(t *testing.T, p *pair, rep steps.Report) {
				d := direction(rep, steps.SQLToMI)
				if d.Probes[0].Verdict != sqlops.VerdictConnected || d.Probes[1].Verdict != sqlops.VerdictTimeout {
					t.Errorf("SQL→MI probes: %+v", d.Probes)
				}
			},
		},
		{
			name:     "missing master key",
			mutSQL:   func(o *sqlsim.Options) { o.MasterKey = false },
			wantCode: steps.ExitConnectivity,
			check: func(t *testing.T, p *pair, rep steps.Report) {
				if f := findingByID(rep, "master-key"); f == nil || f.Severity != steps.Fail || len(f.Fixes) == 0 {
					t.Errorf("master-key finding: %+v", f)
				}
				// Endpoint certificate authentication needs the master key (Msg 28055):
				// without one the direction is not tested (issue 11, item 10).
				if d := direction(rep, steps.MIToSQL); d.Status != steps.StatusNotRun || !strings.Contains(d.Reason, "no master key") {
					t.Errorf("MI→SQL without a master key: %+v", d)
				}
				// The network was fine where tested: the outcome (the Markdown headline)
				// names the untested direction and why, not a connectivity failure.
				if want := "managed instance → SQL Server was not tested (no master key); SQL Server → managed instance passed"; rep.Outcome != want {
					t.Errorf("outcome %q, want %q", rep.Outcome, want)
				}
			},
		},
		{
			name:     "HADR disabled",
			mutSQL:   func(o *sqlsim.Options) { o.HadrEnabled = false },
			wantCode: steps.ExitPrereq,
			check: func(t *testing.T, p *pair, rep steps.Report) {
				f := findingByID(rep, "hadr")
				if f == nil || f.Severity != steps.Fail || !strings.Contains(f.FixFor("Windows").Command, "Enable-SqlAlwaysOn") {
					t.Errorf("hadr finding: %+v", f)
				}
			},
		},
		{
			name:     "Agent stopped",
			mutSQL:   func(o *sqlsim.Options) { o.AgentRunning = false },
			wantCode: steps.ExitConnectivity,
			check: func(t *testing.T, p *pair, rep steps.Report) {
				if f := findingByID(rep, "agent"); f == nil || f.Severity != steps.Fail {
					t.Errorf("agent finding: %+v", f)
				}
				if d := direction(rep, steps.SQLToMI); d.Status != steps.StatusNotRun {
					t.Errorf("SQL→MI should not run: %+v", d)
				}
				if d := direction(rep, steps.MIToSQL); d.Status != steps.StatusPassed {
					t.Errorf("MI→SQL should pass: %+v", d)
				}
			},
		},
		{
			name:     "trace flags off",
			mutSQL:   func(o *sqlsim.Options) { o.TraceFlags = nil },
			wantCode: steps.ExitOK,
			check: func(t *testing.T, p *pair, rep steps.Report) {
				for _, id := range []string{"trace-flag-1800", "trace-flag-9567"} {
					f := findingByID(rep, id)
					if f == nil || f.Severity != steps.Warn || !strings.Contains(f.FixFor("Linux").Command, "mssql-conf traceflag") {
						t.Errorf("%s: %+v", id, f)
					}
				}
			},
		},
		{
			name:     "unsupported version",
			mutSQL:   func(o *sqlsim.Options) { o.ProductVersion = "15.0.2000.5" },
			wantCode: steps.ExitPrereq,
			check: func(t *testing.T, p *pair, rep steps.Report) {
				f := findingByID(rep, "version")
				if f == nil || f.Severity != steps.Fail || !strings.Contains(f.Detail, "15.0.4312.2") {
					t.Errorf("version finding: %+v", f)
				}
			},
		},
		{
			name: "SQL Server on Linux",
			mutSQL: func(o *sqlsim.Options) {
				o.Platform, o.Distribution = "Linux", "Ubuntu 22.04.4 LTS"
			},
			wantCode: steps.ExitConnectivity,
			check: func(t *testing.T, p *pair, rep steps.Report) {
				if f := findingByID(rep, "linux-agent"); f == nil || f.Severity != steps.Warn {
					t.Errorf("linux-agent finding: %+v", f)
				}
				d := direction(rep, steps.SQLToMI)
				if d.Status != steps.StatusNotRun || !strings.Contains(d.ManualCommand, "/dev/tcp/"+p.miOpts.FQDN+"/5022") {
					t.Errorf("SQL→MI on Linux: %+v", d)
				}
				if direction(rep, steps.MIToSQL).Status != steps.StatusPassed {
					t.Error("MI→SQL must work with SQL Server on Linux")
				}
			},
		},
		{
			name: "existing mirroring endpoint is reused",
			mutSQL: func(o *sqlsim.Options) {
				o.Endpoints = []sqlsim.EndpointSpec{{Name: "Hadr_endpoint", Port: 5022, CertName: "LinkCert"}}
			},
			wantCode: steps.ExitOK,
			check: func(t *testing.T, p *pair, rep steps.Report) {
				if f := findingByID(rep, "endpoint-reuse"); f == nil {
					t.Error("no endpoint-reuse finding")
				}
				inv := p.sqlInventory(t)
				if !slices.ContainsFunc(inv.Endpoints, func(e sqlops.Endpoint) bool { return e.Name == "Hadr_endpoint" && e.State == "STARTED" }) {
					t.Errorf("the user's endpoint was changed or dropped: %+v", inv.Endpoints)
				}
				if !slices.ContainsFunc(inv.Certificates, func(c sqlops.Certificate) bool { return c.Name == "LinkCert" }) {
					t.Errorf("the user's certificate was dropped: %+v", inv.Certificates)
				}
				for _, c := range rep.Cleanup {
					if c.Kind != "job" {
						t.Errorf("cleanup touched %s %s", c.Kind, c.Name)
					}
				}
			},
		},
		{
			name:     "existing user job NetHelper",
			mutMI:    func(o *sqlsim.Options) { o.Jobs = []sqlsim.JobSpec{userJob} },
			wantCode: steps.ExitOK,
			check: func(t *testing.T, p *pair, rep steps.Report) {
				if f := findingByID(rep, "job-name:NetHelper"); f == nil || f.Severity != steps.Warn {
					t.Errorf("job-name finding: %+v", f)
				}
				d := direction(rep, steps.MIToSQL)
				if d.Status != steps.StatusPassed || d.Job == "NetHelper" || !strings.HasPrefix(d.Job, "NetHelper_milink_") {
					t.Errorf("MI→SQL used job %q: %+v", d.Job, d)
				}
				inv := p.miInventory(t)
				if len(inv.Jobs) != 1 || inv.Jobs[0].Name != "NetHelper" || inv.Jobs[0].Description != userJob.Description {
					t.Errorf("the user's NetHelper job was touched: %+v", inv.Jobs)
				}
			},
		},
		{
			name: "leftover of a crashed run is replaced",
			mutMI: func(o *sqlsim.Options) {
				k, err := sqlops.DefaultKey() // the key milink check uses on this machine
				if err != nil {
					panic(err)
				}
				o.Jobs = []sqlsim.JobSpec{{Name: "NetHelper", Description: sqlops.JobDescription("old", k.Mark(sqlops.KindJob, "NetHelper", "0123456789abcdef")), Category: sqlops.JobCategory}}
			},
			wantCode: steps.ExitOK,
			check: func(t *testing.T, p *pair, rep steps.Report) {
				if d := direction(rep, steps.MIToSQL); d.Job != "NetHelper" || d.Status != steps.StatusPassed {
					t.Errorf("MI→SQL: %+v", d)
				}
				if !slices.ContainsFunc(rep.Cleanup, func(c steps.CleanupItem) bool { return strings.Contains(c.Name, "earlier run") && c.Removed }) {
					t.Errorf("leftover not reported as removed: %+v", rep.Cleanup)
				}
			},
		},
		{
			name:     "SQL Server IP does not resolve",
			net:      func(p *pair) {},
			wantCode: steps.ExitConnectivity,
			check: func(t *testing.T, p *pair, rep steps.Report) {
				d := direction(rep, steps.MIToSQL)
				if d.Probes[0].Verdict != sqlops.VerdictDNS {
					t.Errorf("MI→SQL: %+v", d.Probes)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := startPair(t, tc.mutSQL, tc.mutMI)
			before := len(p.sqlInventory(t).Jobs) + len(p.miInventory(t).Jobs)
			if tc.net != nil {
				tc.net(p)
			}
			var extra []string
			switch tc.name {
			case "SQL Server IP does not resolve":
				extra = []string{"--sql-ip", "sqlprod99.contoso.invalid"}
			case "SQL Server on Linux":
				// The simulator listens on this machine, which "auto" would take for the SQL
				// Server host; local probes are tested in package steps.
				extra = []string{"--probe-from", "manual"}
			}
			r, rep := runCheckJSON(t, p, extra...)
			if r.code != tc.wantCode {
				t.Errorf("exit code %d, want %d; outcome %q; error %q", r.code, tc.wantCode, rep.Outcome, rep.Error)
			}
			if tc.check != nil {
				tc.check(t, p, rep)
			}
			assertNoMilinkObjects(t, p)
			after := len(p.sqlInventory(t).Jobs) + len(p.miInventory(t).Jobs)
			if after != before && tc.name != "leftover of a crashed run is replaced" {
				t.Errorf("jobs before %d, after %d", before, after)
			}
		})
	}
}
