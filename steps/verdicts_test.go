package steps_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/steps"
)

// Tests of issue 11 ("every verdict right"): each one sets the instance's state the
// way a DBA would (T-SQL over TDS), or the network the way it is (sqlsim's Network
// and Options for what T-SQL cannot set), and checks milink's verdict.

// startCustom starts a pair whose SQL Server options are changed by mut.
func startCustom(t *testing.T, mut func(*sqlsim.Options), network func(n *sqlsim.Network, sql, mi sqlsim.Options)) (*sqlsim.Pair, steps.Config) {
	t.Helper()
	p, err := sqlsim.StartPair(sqlsim.Scenario{Name: t.Name(), SQL: mut, Network: network}, 10*time.Millisecond, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p, pairConfig(t, p)
}

// dba runs T-SQL on SQL Server as its sysadmin, as a DBA would.
func dba(t *testing.T, cfg steps.Config, batches ...string) {
	t.Helper()
	ctx := context.Background()
	c, err := sqlops.Open(ctx, cfg.SQLServer)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, b := range batches {
		if _, err := c.DB.ExecContext(ctx, b); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
	}
}

// direction returns rep's result for d; every report a test looks into this way is
// also checked against the JSON Schema (testdata/report.schema.json).
func direction(t *testing.T, rep *steps.Report, d steps.Direction) steps.DirectionResult {
	t.Helper()
	checkSchema(t, rep)
	for _, x := range rep.Directions {
		if x.Direction == d {
			return x
		}
	}
	t.Fatalf("no %s direction in the report (%s)", d, rep.Outcome)
	return steps.DirectionResult{}
}

func finding(rep *steps.Report, id string) *steps.Finding {
	for i := range rep.Findings {
		if rep.Findings[i].ID == id {
			return &rep.Findings[i]
		}
	}
	return nil
}

func reportText(rep *steps.Report) string {
	var b strings.Builder
	rep.WriteText(&b)
	return b.String()
}

// Item 1: SQL Server reports a loopback local_net_address (milink connected over
// loopback on the SQL Server host). On a real managed instance 127.0.0.1:5022 is the
// MI's own endpoint, so probing it proves nothing: the direction is not tested and
// milink asks for --sql-ip; never "all checks passed".
func TestLoopbackSQLAddressIsNotProbed(t *testing.T) {
	for _, ip := range []string{"127.0.0.1", "169.254.10.20", "0.0.0.0"} {
		t.Run(ip, func(t *testing.T) {
			_, cfg := startCustom(t, func(o *sqlsim.Options) { o.IP = ip }, nil)
			rep := steps.Check(context.Background(), cfg, nil)
			d := direction(t, rep, steps.MIToSQL)
			if d.Status != steps.StatusNotRun || !strings.Contains(d.Reason, "--sql-ip") || len(d.Probes) != 0 {
				t.Errorf("MI → SQL Server with local_net_address %s: %s (%s), %d probes", ip, d.Status, d.Reason, len(d.Probes))
			}
			if rep.ExitCode == steps.ExitOK {
				t.Errorf("exit code 0 (%s) although the MI → SQL Server direction was not tested", rep.Outcome)
			}
		})
	}
}

// Item 1: a public SQL Server address is flagged: the link needs a private path.
func TestPublicSQLAddressIsFlagged(t *testing.T) {
	_, cfg := startCustom(t, nil, nil)
	cfg.SQLServerIP = "20.30.40.50"
	rep := steps.Check(context.Background(), cfg, nil)
	f := finding(rep, "sql-ip")
	if f == nil || f.Severity != steps.Warn || !strings.Contains(f.Detail, "public") {
		t.Errorf("public SQL Server address: finding %+v", f)
	}
}

// Item 7: SQL Server 2016 SP3 has no sys.dm_os_host_info (Msg 208): the check works
// (platform from @@VERSION), and the HADR fix mentions the WSFC requirement.
func TestSQLServer2016(t *testing.T) {
	pers, err := sqlsim.FindPersonality("13.0.7000.253", "Windows", false)
	if err != nil {
		t.Fatal(err)
	}
	_, cfg := startCustom(t, func(o *sqlsim.Options) { o.Personality = pers; o.HadrEnabled = false }, nil)
	_, pre := sessionAtPrerequisites(t, cfg)
	if pre.Platform() != "Windows" || !strings.HasPrefix(pre.Server.ProductVersion, "13.0.") {
		t.Errorf("2016: platform %s, version %s", pre.Platform(), pre.Server.ProductVersion)
	}
	var hadr *steps.Finding
	for i := range pre.Findings {
		if pre.Findings[i].ID == "hadr" {
			hadr = &pre.Findings[i]
		}
	}
	if hadr == nil || hadr.Severity != steps.Fail || !strings.Contains(hadr.Detail+fixText(hadr.Fixes), "Windows Server Failover Cluster") {
		t.Errorf("2016 HADR finding: %+v", hadr)
	}
}

func fixText(fs []steps.Fix) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.Platform + ": " + f.Command + "\n")
	}
	return b.String()
}

func prerequisites(t *testing.T, cfg steps.Config, cc sqlops.ConnConfig) *steps.Prerequisites {
	t.Helper()
	s := steps.NewSession(cfg, steps.SessionOptions{})
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	if err := s.ConnectSQLServer(ctx, cc); err != nil {
		t.Fatal(err)
	}
	pre, err := s.CheckPrerequisites(ctx)
	if err != nil {
		t.Fatalf("prerequisites: %v", err)
	}
	return pre
}

func preFinding(pre *steps.Prerequisites, id string) *steps.Finding {
	for i := range pre.Findings {
		if pre.Findings[i].ID == id {
			return &pre.Findings[i]
		}
	}
	return nil
}

// Item 7: a login without VIEW SERVER STATE gets Msg 300 on sys.dm_server_services;
// the check keeps going and says what it could not check and why.
func TestPrerequisitesWithoutViewServerState(t *testing.T) {
	_, cfg := startCustom(t, nil, nil)
	pre := prerequisitesAsChecker(t, cfg, "")
	f := preFinding(pre, "agent")
	if f == nil || f.Severity == steps.Pass || f.Severity == steps.Fail || !strings.Contains(f.Title+f.Detail, "VIEW SERVER STATE") {
		t.Errorf("Agent state without VIEW SERVER STATE: %+v", f)
	}
	if f := preFinding(pre, "database:SalesDB:tde"); f == nil || !strings.Contains(f.Title, "not readable") {
		t.Errorf("TDE state without VIEW SERVER STATE: %+v\n%+v", f, pre.Findings)
	}
}

// Item 7: 'Agent XPs' = 0 with Agent running is its own finding with the
// sp_configure fix, not "Agent is not running".
func TestAgentXPsOff(t *testing.T) {
	_, cfg := startCustom(t, nil, nil)
	dba(t, cfg, "EXEC sp_configure 'show advanced options', 1; RECONFIGURE;", "EXEC sp_configure 'Agent XPs', 0; RECONFIGURE;")
	pre := prerequisites(t, cfg, cfg.SQLServer)
	if f := preFinding(pre, "agent"); f == nil || f.Severity != steps.Pass {
		t.Errorf("Agent (running) finding: %+v", f)
	}
	f := preFinding(pre, "agent-xps")
	if f == nil || f.Severity != steps.Fail || !strings.Contains(fixText(f.Fixes), "sp_configure 'Agent XPs', 1; RECONFIGURE") {
		t.Errorf("Agent XPs finding: %+v", f)
	}
	rep := steps.Check(context.Background(), cfg, nil)
	if d := direction(t, rep, steps.SQLToMI); d.Status != steps.StatusNotRun || !strings.Contains(d.Reason, "'Agent XPs' is 0") {
		t.Errorf("SQL Server → MI with 'Agent XPs' 0: %s (%s)", d.Status, d.Reason)
	}
}

// Item 7: on Linux milink never uses Agent, so a stopped Agent is no FAIL.
func TestLinuxAgentStoppedIsNoFailure(t *testing.T) {
	_, cfg := startCustom(t, func(o *sqlsim.Options) {
		o.Platform, o.Distribution, o.AgentRunning = "Linux", "Ubuntu 22.04.4 LTS", false
	}, nil)
	pre := prerequisites(t, cfg, cfg.SQLServer)
	if f := preFinding(pre, "agent"); f == nil || f.Severity == steps.Fail {
		t.Errorf("Linux Agent stopped: %+v", f)
	}
}

// Item 7: a copy-only full backup does not start a log chain and does not count; a
// backup of an earlier database with the same name does not count either.
func TestCopyOnlyAndOldIncarnationBackups(t *testing.T) {
	_, cfg := startCustom(t, nil, nil)
	dba(t, cfg,
		"CREATE DATABASE Ledger; ALTER DATABASE Ledger SET RECOVERY FULL;",
		"BACKUP DATABASE Ledger TO DISK = N'Ledger.bak' WITH COPY_ONLY;",
		"CREATE DATABASE Orders; ALTER DATABASE Orders SET RECOVERY FULL;",
		"BACKUP DATABASE Orders TO DISK = N'Orders.bak';",
		"DROP DATABASE Orders;",
		"CREATE DATABASE Orders; ALTER DATABASE Orders SET RECOVERY FULL;")
	cfg.Databases = []string{"Ledger", "Orders", "SalesDB"}
	pre := prerequisites(t, cfg, cfg.SQLServer)
	for _, db := range []string{"Ledger", "Orders"} {
		if f := preFinding(pre, "database:"+db+":backup"); f == nil || f.Severity != steps.Fail {
			t.Errorf("%s: backup finding %+v", db, f)
		}
	}
	if f := preFinding(pre, "database:SalesDB"); f == nil || f.Severity != steps.Pass {
		t.Errorf("SalesDB (full backup): %+v", f)
	}
}

// Item 10: without a master key the MI → SQL Server test endpoint's certificate can't
// be protected as endpoint authentication expects (Msg 28055): that direction is not
// tested, and says why.
func TestNoMasterKeyMIToSQLNotTested(t *testing.T) {
	_, cfg := startCustom(t, nil, nil)
	dba(t, cfg, "USE master; DROP MASTER KEY;")
	rep := steps.Check(context.Background(), cfg, nil)
	d := direction(t, rep, steps.MIToSQL)
	if d.Status != steps.StatusNotRun || !strings.Contains(d.Reason, "master key") {
		t.Errorf("MI → SQL Server without a master key: %s (%s)", d.Status, d.Reason)
	}
}

// Item 6: a standalone simulator on 127.0.0.1 is not "this host": its
// MachineName is not this machine's host name, so auto mode does not probe from here
// (which would resolve the made-up Azure names through this machine's resolver).
func TestAutoDoesNotTakeLoopbackForThisHost(t *testing.T) {
	_, cfg := startCustom(t, func(o *sqlsim.Options) {
		o.Platform, o.Distribution = "Linux", "Ubuntu 22.04.4 LTS"
	}, nil)
	rep := steps.Check(context.Background(), cfg, nil)
	d := direction(t, rep, steps.SQLToMI)
	if d.Status != steps.StatusNotRun || d.ManualCommand == "" || len(d.Probes) != 0 {
		t.Errorf("SQL Server → MI from a loopback simulator in auto mode: %s (%s), %d probes, method %q", d.Status, d.Reason, len(d.Probes), d.Method)
	}
}

// Item 4: each verdict gets fixes that fit it: "dns" gets resolver fixes and no
// firewall/NSG rule naming a host; "refused" (a reset: NSGs drop, they don't refuse)
// gets no NSG rule.
func TestFixesFitTheVerdict(t *testing.T) {
	_, cfg := startCustom(t, nil, func(n *sqlsim.Network, sql, mi sqlsim.Options) {
		n.SetRule(mi.FQDN, 5022, sqlsim.RuleNoSuchHost)
		n.SetRule(sql.IP, 5022, sqlsim.RuleRefused)
	})
	rep := steps.Check(context.Background(), cfg, nil)
	seen := map[sqlops.ProbeVerdict]bool{}
	for _, d := range rep.Directions {
		for _, p := range d.Probes {
			if p.Succeeded {
				continue // a range port the node refuses: the path is open
			}
			fx := fixText(p.Fixes)
			seen[p.Verdict] = true
			switch p.Verdict {
			case sqlops.VerdictDNS:
				if strings.Contains(fx, "nsg") || strings.Contains(fx, "NetFirewallRule") || !strings.Contains(p.Explanation+fx, "forwarder") {
					t.Errorf("dns verdict for %s: %s\n%s", p.Host, p.Explanation, fx)
				}
			case sqlops.VerdictRefused:
				if strings.Contains(fx, "nsg") || !strings.Contains(p.Explanation+fx, "STARTED") {
					t.Errorf("refused verdict for %s: %s\n%s", p.Host, p.Explanation, fx)
				}
			}
		}
	}
	if !seen[sqlops.VerdictDNS] || !seen[sqlops.VerdictRefused] {
		t.Errorf("verdicts seen: %v\n%s", seen, reportText(rep))
	}
}

// Item 10: TEST_CERT starts yesterday (UTC), so a server whose clock is ahead of UTC
// does not find it "not yet valid", and its private key is protected by the master
// key, as endpoint certificate authentication expects.
func TestTestCertificateStartsInThePast(t *testing.T) {
	_, cfg := startCustom(t, nil, nil)
	ctx := context.Background()
	c, err := sqlops.Open(ctx, cfg.SQLServer)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	spec := sqlops.TestEndpointSpec{RunID: sqlops.NewRunID()}
	if err := c.CreateTestCertificate(ctx, spec); err != nil {
		t.Fatal(err)
	}
	var start time.Time
	var enc string
	if err := c.DB.QueryRowContext(ctx, "SELECT start_date, pvt_key_encryption_type FROM master.sys.certificates WHERE name = N'TEST_CERT'").Scan(&start, &enc); err != nil {
		t.Fatal(err)
	}
	if y := time.Now().UTC().AddDate(0, 0, -1); start.After(y.Add(time.Hour)) || enc != "MK" {
		t.Errorf("TEST_CERT starts %s (want yesterday, UTC, or earlier), private key %s (want MK)", start, enc)
	}
}

// Item 6: on a Windows SQL Server whose Agent is stopped the fallback command is
// PowerShell (not a bash line), printing SocketErrorCode; a pasted result is
// labelled by the prober that produced it, not by a job that never ran.
func TestWindowsFallbackIsPowerShell(t *testing.T) {
	_, cfg := startCustom(t, func(o *sqlsim.Options) { o.AgentRunning = false }, nil)
	s := steps.NewSession(cfg, steps.SessionOptions{})
	defer s.Close()
	rep := s.RunAll(context.Background(), nil)
	d := direction(t, rep, steps.SQLToMI)
	if d.Status != steps.StatusNotRun || !strings.Contains(d.ManualCommand, "System.Net.Sockets.TcpClient") || strings.Contains(d.ManualCommand, "/dev/tcp") {
		t.Fatalf("fallback on Windows with Agent stopped: %s, %q", d.Status, d.ManualCommand)
	}
	opts := s.Plan().Options
	var lines []string
	for _, tg := range opts.SQLToMITargets() {
		lines = append(lines, tg.Host+":"+strconv.Itoa(tg.Port)+" TcpTestSucceeded : False SocketErrorCode : ConnectionRefused")
	}
	rep, err := s.ApplyPastedProbes(strings.Join(lines, "\r") + "\r")
	if err != nil {
		t.Fatal(err)
	}
	d = direction(t, rep, steps.SQLToMI)
	txt := reportText(rep)
	if d.Job != "" || strings.Contains(txt, "(job TestMILinkConnection") || len(d.Probes) != len(opts.SQLToMITargets()) || d.Probes[0].Verdict != sqlops.VerdictRefused {
		t.Errorf("pasted results: job %q, %d probes\n%s", d.Job, len(d.Probes), txt)
	}
	// Pasted range ports the node refuses are open, as from the Agent job (item 11).
	for _, p := range d.Probes {
		if p.Port != 5022 && p.Port != opts.MI.HadrPort && !p.Succeeded {
			t.Errorf("pasted range port %d refused but not open: %+v", p.Port, p)
		}
	}
}

// Item 6: with --ssh, auto never silently picks "this host", even when SQL Server
// does run here.
func TestAutoWithSSHNeverPicksThisHost(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skip(err)
	}
	_, cfg := startCustom(t, func(o *sqlsim.Options) {
		o.Platform, o.Distribution = "Linux", "Ubuntu 22.04.4 LTS"
		o.ServerName = strings.SplitN(host, ".", 2)[0]
	}, nil)
	s, opts, plan, err := planned(t, cfg)
	ctx := context.Background()
	if err != nil || plan.SQLToMIMode != steps.ProbeLocal {
		t.Fatalf("without --ssh on this host: %v %+v", err, plan)
	}
	opts.SSHHost = "admin@sqlhost.example"
	plan, err = s.BuildPlan(ctx, opts)
	if err != nil || plan.SQLToMIMode != steps.ProbeSSH {
		t.Errorf("with --ssh: %v, mode %q", err, plan.SQLToMIMode)
	}
}

// Item 5: the managed instance's FQDN resolves to a public address on the SQL Server
// side (no private DNS zone or forwarder): the report says the link needs the private
// address over VPN/ExpressRoute/peering, and the direction does not pass.
func TestMIFQDNResolvesToPublicAddress(t *testing.T) {
	_, cfg := startCustom(t, nil, func(n *sqlsim.Network, _, mi sqlsim.Options) {
		n.AddHost(mi.FQDN, "20.40.60.80")
	})
	rep := steps.Check(context.Background(), cfg, nil)
	d := direction(t, rep, steps.SQLToMI)
	var p *steps.ProbeResult
	for i := range d.Probes {
		if d.Probes[i].Port == 5022 {
			p = &d.Probes[i]
		}
	}
	if p == nil || !strings.Contains(p.Explanation, "public address 20.40.60.80") || d.Status == steps.StatusPassed {
		t.Errorf("MI FQDN on a public address: %s, %+v", d.Status, p)
	}
}

// Item 11: besides the node's own HADR port, more ports of 11000-11999 are probed;
// "refused" from the node means the path is open, "timeout" filtered, and a partly
// open range is reported as such.
func TestHADRRangePartlyOpen(t *testing.T) {
	_, cfg := startCustom(t, nil, func(n *sqlsim.Network, _, mi sqlsim.Options) {
		n.SetRule(mi.NodeName+"."+mi.ClusterName, 11999, sqlsim.RuleFiltered)
	})
	rep := steps.Check(context.Background(), cfg, nil)
	d := direction(t, rep, steps.SQLToMI)
	byPort := map[int]steps.ProbeResult{}
	for _, p := range d.Probes {
		byPort[p.Port] = p
	}
	if p, ok := byPort[11000]; !ok || p.Verdict != sqlops.VerdictRefused || !p.Succeeded {
		t.Errorf("11000 (refused by the node): %+v", p)
	}
	if p, ok := byPort[11999]; !ok || p.Verdict != sqlops.VerdictTimeout || !strings.Contains(p.Explanation, "partly open") {
		t.Errorf("11999 (filtered): %+v", p)
	}
	if d.Status != steps.StatusFailed || len(d.Probes) != 5 {
		t.Errorf("direction %s with %d probes", d.Status, len(d.Probes))
	}
}

// Item 8: on the managed instance a login that is only in msdb's Agent role (no
// sysadmin) can create NetHelper but its PowerShell step cannot run: a managed instance
// has no proxies. milink says so before creating anything, and the MI → SQL Server
// direction is not tested.
func TestMILoginWithoutSysadmin(t *testing.T) {
	p, cfg := startCustom(t, nil, nil)
	ctx := context.Background()
	mc, err := sqlops.Open(ctx, cfg.MI)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{
		"CREATE LOGIN netcheck WITH PASSWORD = N'N3tcheck-Passw0rd!'",
		"GRANT VIEW SERVER STATE TO netcheck",
		"USE msdb; CREATE USER netcheck FOR LOGIN netcheck; ALTER ROLE SQLAgentOperatorRole ADD MEMBER netcheck;",
	} {
		if _, err := mc.DB.ExecContext(ctx, b); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
	}
	mc.Close()
	admin := cfg
	cfg.MI.User, cfg.MI.Password = "netcheck", "N3tcheck-Passw0rd!"
	rep := steps.Check(ctx, cfg, nil)
	f := finding(rep, "mi-permissions")
	if f == nil || f.Severity != steps.Fail || !strings.Contains(f.Detail, "proxy") {
		t.Errorf("MI permissions finding: %+v\n%s", f, reportText(rep))
	}
	d := direction(t, rep, steps.MIToSQL)
	if d.Status != steps.StatusNotRun || !strings.Contains(d.Reason, "sysadmin") {
		t.Errorf("MI → SQL Server with a non-sysadmin MI login: %s (%s)", d.Status, d.Reason)
	}
	assertClean(t, p, admin)
}

// Item 7: the existing mirroring endpoint's certificate expiry is reported, with a
// warning when it expires within 30 days or has expired.
func TestEndpointCertificateExpiry(t *testing.T) {
	_, cfg := startCustom(t, nil, nil)
	soon := time.Now().UTC().AddDate(0, 0, 10).Format("20060102")
	dba(t, cfg,
		"CREATE CERTIFICATE LinkCert WITH SUBJECT = N'link certificate', START_DATE = '20240101', EXPIRY_DATE = '"+soon+"'",
		"CREATE ENDPOINT Hadr_endpoint STATE = STARTED AS TCP (LISTENER_PORT = 5022) FOR DATABASE_MIRRORING (ROLE = ALL, AUTHENTICATION = CERTIFICATE LinkCert, ENCRYPTION = REQUIRED ALGORITHM AES)")
	pre := prerequisites(t, cfg, cfg.SQLServer)
	f := preFinding(pre, "endpoint-certificate")
	if f == nil || f.Severity != steps.Warn || !strings.Contains(f.Title, "expires") {
		t.Errorf("endpoint certificate expiring in 10 days: %+v", f)
	}
}

// Item 9: SQL Server 2022 CU10+ is not simply "supported in both directions": the
// managed instance → SQL Server direction (MI as initial primary, failback) needs the
// MI's update policy to match, which milink cannot see without Resource Manager.
func TestBothDirectionsDependOnUpdatePolicy(t *testing.T) {
	_, cfg := startCustom(t, nil, nil)
	pre := prerequisites(t, cfg, cfg.SQLServer)
	f := preFinding(pre, "version")
	if f == nil || strings.Contains(f.Title, "supported in both directions") && !strings.Contains(f.Title, "update policy") || !strings.Contains(f.Detail, "update policy") {
		t.Errorf("version finding on 2022 CU14: %+v", f)
	}
}
