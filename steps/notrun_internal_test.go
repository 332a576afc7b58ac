package steps

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
	sim "github.com/milink/milink/sqlsim"
)

// TestProbeThatDidNotRunIsNotANetworkFailure (issue 11, item 2): an Agent job whose
// PowerShell step cannot start (SQL Agent on Linux) makes the direction "not run" with
// Agent's text and an Agent fix, never "failed" with firewall and NSG fixes.
func TestProbeThatDidNotRunIsNotANetworkFailure(t *testing.T) {
	linux := sim.Scenario{Name: "linux", SQL: func(o *sim.Options) { o.Platform, o.Distribution = "Linux", "Ubuntu 22.04.4 LTS" }}
	pair, err := sim.StartPair(linux, 10*time.Millisecond, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer pair.Close()
	ctx := context.Background()
	c, err := sqlops.Open(ctx, sqlops.ConnConfig{Host: pair.SQL.Host(), Port: pair.SQL.Port(), User: "sa", Password: "Sim-Passw0rd!", TrustServerCertificate: true, Role: serverSQL})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mi := pair.MI.Options()
	plan := &Plan{RunID: sqlops.NewRunID(), SQLJobName: SQLJobName, RunSQLToMI: true, SQLToMIMode: ProbeAgent,
		Options: NetworkOptions{MI: sqlops.MIParams{FQDN: mi.FQDN, Node: mi.NodeName + "." + mi.ClusterName, HadrPort: mi.HadrPort}, ProbeTimeout: 300 * time.Millisecond}}
	r := &runner{SQL: c, Plan: plan, JobTimeout: 30 * time.Second}
	reg := &created{}
	d := r.sqlToMI(ctx, reg)
	r.cleanup(ctx, reg)
	if d.Status != StatusNotRun || !strings.Contains(d.Reason, "Unable to start execution of step 1") || len(d.Probes) != 2 {
		t.Fatalf("direction: %s (%s), %d probes", d.Status, d.Reason, len(d.Probes))
	}
	for _, p := range d.Probes {
		fx := ""
		for _, f := range p.Fixes {
			fx += f.Command + "\n"
		}
		if p.Verdict != sqlops.VerdictNotRun || strings.Contains(fx, "nsg") || strings.Contains(fx, "NetFirewallRule") || !strings.Contains(p.Explanation, "Agent said") {
			t.Errorf("probe %s:%d: %s, %s\n%s", p.Host, p.Port, p.Verdict, p.Explanation, fx)
		}
	}
}

// TestMIEntraGroupAdmin (issue 11, item 8): an Entra user who is admin on the managed
// instance only through an Entra group has no SID (SUSER_SID() NULL) and cannot own
// Agent jobs there, even though IS_SRVROLEMEMBER('sysadmin') is 1 through the group.
// sqlsim does not model Entra groups yet, so this grades the permissions directly.
func TestMIEntraGroupAdmin(t *testing.T) {
	f := miPermissionFinding(sqlops.Permissions{Sysadmin: true, Login: "alice@contoso.com", NoSID: true})
	if f == nil || f.Severity != Fail || !strings.Contains(f.Detail, "SUSER_SID() is NULL") {
		t.Errorf("Entra group admin: %+v", f)
	}
	if f := miPermissionFinding(sqlops.Permissions{Sysadmin: true, Login: "miadmin"}); f != nil {
		t.Errorf("sysadmin with a SID: %+v", f)
	}
}
