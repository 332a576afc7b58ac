package ui

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps"
	"github.com/milink/milink/steps/probe"
	"github.com/milink/milink/steps/reportschema"
)

func testConfig() steps.Config {
	return steps.Config{
		SQLServer: steps.ConnConfig{Host: "sqlprod01.contoso.local", User: "sa", Password: "secret-sql-pw"},
		MI:        steps.ConnConfig{Host: "sqlmi-demo.6d710bcf372b.database.windows.net", User: "miadmin", Password: "secret-mi-pw"},
	}
}

func newTestModel(t *testing.T, cfg steps.Config, w, h int) *Model {
	t.Helper()
	m := NewModel(context.Background(), Options{Config: cfg, ReportDir: t.TempDir()})
	send(m, tea.WindowSizeMsg{Width: w, Height: h})
	return m
}

func testMI() *steps.ManagedInstance {
	return &steps.ManagedInstance{
		Server:   steps.ServerInfo{ProductVersion: "16.0.9230.25", Edition: "SQL Azure", EngineEdition: 8},
		Params:   steps.MIParams{FQDN: "sqlmi-demo.6d710bcf372b.database.windows.net", Node: "DB123.tr123456.west-us.worker.database.windows.net", HadrPort: 11002},
		Findings: []steps.Finding{{ID: "mi", Server: "Managed instance", Severity: steps.Pass, Title: "Connected to managed instance sqlmi-demo.6d710bcf372b.database.windows.net"}},
	}
}

func hadrFinding() steps.Finding {
	return steps.Finding{ID: "hadr", Server: "SQL Server", Severity: steps.Fail, Title: "Always On availability groups are disabled",
		Detail: "The link is built on availability groups. Enabling the feature needs a SQL Server restart.",
		Fixes: []steps.Fix{
			{Platform: "Windows", Command: "Enable-SqlAlwaysOn -ServerInstance 'SQLPROD01' -Force"},
			{Platform: "Linux", Command: "sudo /opt/mssql/bin/mssql-conf set hadr.hadrenabled 1 && sudo systemctl restart mssql-server"},
		}}
}

func testPre(platform string) *steps.Prerequisites {
	return &steps.Prerequisites{
		Server:  steps.ServerInfo{ServerName: "SQLPROD01", ProductVersion: "16.0.4135.4", Edition: "Developer Edition (64-bit)", HostPlatform: platform},
		LocalIP: "10.1.0.4",
		Findings: []steps.Finding{
			{ID: "edition", Server: "SQL Server", Severity: steps.Pass, Title: "Edition: Developer Edition (64-bit)"},
			hadrFinding(),
			{ID: "master-key", Server: "SQL Server", Severity: steps.Fail, Title: "No database master key in master",
				Fixes: []steps.Fix{{Platform: "T-SQL", Command: "USE master; CREATE MASTER KEY ENCRYPTION BY PASSWORD = '<strong_password>';"}}},
			{ID: "trace-flag-9567", Server: "SQL Server", Severity: steps.Warn, Title: "Trace flag 9567 is off (recommended)", Detail: "-T9567 compresses the seeding data stream.",
				Fixes: []steps.Fix{{Platform: "Windows", Command: "Configuration Manager: add -T9567"}, {Platform: "Linux", Command: "sudo /opt/mssql/bin/mssql-conf traceflag 9567 on"}}},
		},
	}
}

// onPrereqChecked puts the model on the Prerequisites page as if validation had just
// finished with pre.
func onPrereqChecked(t *testing.T, m *Model, pre *steps.Prerequisites) {
	t.Helper()
	send(m, keyEnter) // Introduction → Prerequisites
	if m.page != pagePrereq {
		t.Fatalf("page = %v, want Prerequisites", m.page)
	}
	m.prereq.gen, m.prereq.busy = 7, "Checking …"
	m.prereq.used = m.cfg.SQLServer
	send(m, prereqDoneMsg{gen: 7, pre: pre})
}

func TestTooSmallTerminal(t *testing.T) {
	for _, tc := range []struct {
		w, h  int
		small bool
	}{{79, 24, true}, {80, 21, true}, {40, 10, true}, {80, 22, false}, {80, 23, false}, {80, 24, false}, {120, 40, false}} {
		m := newTestModel(t, testConfig(), tc.w, tc.h)
		got := screenOf(m)
		want := "Terminal too small (need 80×22, have " + strconv.Itoa(tc.w) + "×" + strconv.Itoa(tc.h) + ")"
		if tc.small {
			if flat := strings.Join(strings.Fields(got), " "); !strings.HasPrefix(flat, want) || !strings.Contains(flat, "--accessible") {
				t.Errorf("%d×%d: screen = %q", tc.w, tc.h, got)
			}
			// Keys do nothing while the terminal is too small.
			send(m, keyEnter)
			if m.page != pageIntro {
				t.Errorf("%d×%d: Enter moved to %v", tc.w, tc.h, m.page)
			}
			continue
		}
		if strings.Contains(got, "too small") || !strings.Contains(got, "1 Introduction") {
			t.Errorf("%d×%d: screen =\n%s", tc.w, tc.h, got)
		}
		if lines := strings.Count(got, "\n") + 1; lines != tc.h {
			t.Errorf("%d×%d: frame has %d lines", tc.w, tc.h, lines)
		}
	}
}

func TestEveryPageFitsIn80x22(t *testing.T) {
	m := newTestModel(t, testConfig(), 80, 22)
	check := func(name string) {
		t.Helper()
		s := screenOf(m)
		lines := strings.Split(s, "\n")
		if len(lines) != 22 {
			t.Errorf("%s: %d lines, want 22", name, len(lines))
		}
		for i, l := range lines {
			if w := len([]rune(l)); w > 80 {
				t.Errorf("%s: line %d is %d cells wide: %q", name, i+1, w, l)
			}
		}
	}
	check("intro")
	onPrereqChecked(t, m, testPre("Windows"))
	check("prerequisites")
	send(m, keyEnter)
	check("login")
	m.login.gen, m.login.used = 3, m.cfg.MI
	send(m, miDiscoveredMsg{gen: 3, mi: testMI()})
	check("login checked")
	send(m, keyEnter)
	if m.page != pageNetwork {
		t.Fatalf("page = %v, want Network Options", m.page)
	}
	check("network")
}

func TestCtrlCConfirmQuit(t *testing.T) {
	m := newTestModel(t, testConfig(), 80, 24)
	send(m, keyEnter) // Prerequisites
	send(m, keyCtrlC)
	if s := screenOf(m); !strings.Contains(s, "Quit? Nothing has been created. y/n") {
		t.Fatalf("no quit prompt:\n%s", s)
	}
	// While asking, other keys do nothing.
	send(m, keyEsc)
	if m.page != pagePrereq || m.quit {
		t.Fatalf("Esc in the prompt: page %v, quit %v", m.page, m.quit)
	}
	send(m, keyCtrlC)
	if !m.quit {
		// Esc answered "no"; a new Ctrl-C asks again.
		if !strings.Contains(screenOf(m), "Quit?") {
			t.Fatal("Ctrl-C did not ask again")
		}
	}
	send(m, keyRune('n'))
	if m.quit || m.confirmQuit {
		t.Fatalf("after n: quit %v, prompt %v", m.quit, m.confirmQuit)
	}
	if strings.Contains(screenOf(m), "Quit?") {
		t.Fatal("prompt still shown after n")
	}
	send(m, keyCtrlC)
	cmd := send(m, keyRune('y'))
	if !m.quit || cmd == nil {
		t.Fatalf("after y: quit %v, cmd %v", m.quit, cmd != nil)
	}
	if got := m.ExitCode(); got != steps.ExitInterrupted {
		t.Errorf("exit code = %d, want 130", got)
	}
	if m.Report() != nil {
		t.Error("Report() is not nil before Results")
	}
	if m.ctx.Err() == nil {
		t.Error("the wizard's context is still live after quit")
	}
}

func TestCanceledContextQuits(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	m := NewModel(ctx, Options{Config: testConfig()})
	send(m, tea.WindowSizeMsg{Width: 80, Height: 24})
	cancel()
	msg := waitCtxCmd(m.ctx)()
	if cmd := send(m, msg); cmd == nil || !m.quit || m.ExitCode() != steps.ExitInterrupted {
		t.Fatalf("canceled context: quit %v, exit %d", m.quit, m.ExitCode())
	}
}

func TestPrereqShowsFailWithLinuxFix(t *testing.T) {
	m := newTestModel(t, testConfig(), 100, 40)
	onPrereqChecked(t, m, testPre("Linux"))
	s := joinBlocks(screenOf(m))
	for _, want := range []string{
		"FAIL  Always On availability groups are disabled",
		"Enabling the feature needs a SQL Server restart.",
		"Fix (Linux): sudo /opt/mssql/bin/mssql-conf set hadr.hadrenabled 1",
		"Fix (T-SQL): USE master; CREATE MASTER KEY",
		"WARN  Trace flag 9567 is off (recommended)",
		"Fix (Linux): sudo /opt/mssql/bin/mssql-conf traceflag 9567 on",
		"PASS  Edition: Developer Edition (64-bit)",
		"2 failures",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("screen lacks %q:\n%s", want, s)
		}
	}
	for _, bad := range []string{"Enable-SqlAlwaysOn", "Configuration Manager: add -T9567"} {
		if strings.Contains(s, bad) {
			t.Errorf("Linux server shows the Windows fix %q", bad)
		}
	}
	// Failures are shown first.
	if strings.Index(s, "FAIL") > strings.Index(s, "PASS  Edition") {
		t.Error("failures are not listed before passes")
	}
	// Failures do not block Next.
	send(m, keyEnter)
	if m.page != pageLogin {
		t.Errorf("Enter after a FAIL: page %v, want Login", m.page)
	}
}

func TestPrereqShowsWindowsFixOnWindows(t *testing.T) {
	m := newTestModel(t, testConfig(), 100, 40)
	onPrereqChecked(t, m, testPre("Windows"))
	s := joinBlocks(screenOf(m))
	if !strings.Contains(s, "Fix (Windows): Enable-SqlAlwaysOn") || strings.Contains(s, "mssql-conf set hadr") {
		t.Errorf("Windows fixes wrong:\n%s", s)
	}
}

func TestPrereqRerunAndEdit(t *testing.T) {
	m := newTestModel(t, testConfig(), 100, 40)
	onPrereqChecked(t, m, testPre("Windows"))
	if !m.prereq.reviewing {
		t.Fatal("not reviewing after a successful check")
	}
	cmd := send(m, keyRune('r'))
	if cmd == nil || m.prereq.busy == "" || m.prereq.pre != nil {
		t.Fatalf("r did not start a new validation (busy %q)", m.prereq.busy)
	}
	// Enter while busy does nothing; a stale reply is dropped.
	send(m, keyEnter)
	if m.page != pagePrereq {
		t.Fatalf("Enter while validating moved to %v", m.page)
	}
	send(m, prereqDoneMsg{gen: m.prereq.gen - 1, pre: testPre("Windows")})
	if m.prereq.pre != nil {
		t.Fatal("a stale prerequisite reply was used")
	}
	send(m, prereqDoneMsg{gen: m.prereq.gen, pre: testPre("Windows")})
	send(m, keyTab) // edit
	if m.prereq.reviewing || !m.prereq.form.focused {
		t.Fatal("Tab did not return to the form")
	}
	if s := screenOf(m); !strings.Contains(s, "Trust server certificate") || !strings.Contains(s, "Password") {
		t.Fatalf("form not shown:\n%s", s)
	}
	if strings.Contains(screenOf(m), "secret-sql-pw") {
		t.Fatal("the password is shown in clear")
	}
}

func TestPrereqConnectionErrorInline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cfg := testConfig()
	cfg.SQLServer.Host, cfg.SQLServer.Port = "127.0.0.1", port
	cfg.SQLServer.DialTimeout, cfg.SQLServer.LoginTimeout = time.Second, 2*time.Second
	m := newTestModel(t, cfg, 100, 30)
	send(m, keyEnter) // Prerequisites
	cmd := send(m, keyEnter)
	if cmd == nil || m.prereq.busy == "" {
		t.Fatal("Enter did not start connecting")
	}
	if s := screenOf(m); !strings.Contains(s, "Connecting to SQL Server 127.0.0.1:") {
		t.Errorf("no progress shown:\n%s", s)
	}
	msg := runCmd(cmd)
	if _, ok := msg.(sqlConnectedMsg); !ok {
		t.Fatalf("connect command returned %T", msg)
	}
	send(m, msg)
	s := screenOf(m)
	if !strings.Contains(s, "✗") || !strings.Contains(s, "cannot connect") {
		t.Errorf("connection error not shown inline:\n%s", s)
	}
	if m.prereq.busy != "" || m.prereq.reviewing || !m.prereq.form.focused {
		t.Fatal("the form is not editable after a connection error")
	}
	if m.prereq.form.focus != cfServer {
		t.Errorf("focus = field %d, want the server field", m.prereq.form.focus)
	}
	// The form stays editable: typing changes the server.
	typeText(m, "x")
	if got := m.prereq.form.fields[cfServer].value(); got != "127.0.0.1x" {
		t.Errorf("server = %q after typing", got)
	}
	// Next is not possible without a successful validation.
	m.prereq.form.blur()
	send(m, keyEsc)
	if m.page != pageIntro {
		t.Errorf("Esc: page %v, want Introduction", m.page)
	}
}

func TestPrereqInvalidInputFocusesField(t *testing.T) {
	cfg := testConfig()
	cfg.SQLServer.User = ""
	m := newTestModel(t, cfg, 100, 30)
	send(m, keyEnter)
	if m.prereq.form.focus != cfUser {
		t.Fatalf("initial focus = %d, want the empty user field", m.prereq.form.focus)
	}
	cmd := send(m, keyEnter)
	if cmd != nil || m.prereq.busy != "" {
		t.Fatal("validation started with an empty user")
	}
	if s := screenOf(m); !strings.Contains(s, "user name is empty") {
		t.Errorf("no inline error:\n%s", s)
	}
}

func TestChoiceFieldsCycle(t *testing.T) {
	m := newTestModel(t, testConfig(), 100, 30)
	send(m, keyEnter)
	m.prereq.form.focusOn(cfEncrypt)
	send(m, tea.KeyPressMsg{Code: tea.KeyRight})
	if got := m.prereq.form.fields[cfEncrypt].value(); got != "strict" {
		t.Errorf("encrypt = %q after →", got)
	}
	send(m, tea.KeyPressMsg{Code: tea.KeyLeft}, tea.KeyPressMsg{Code: tea.KeyLeft})
	if got := m.prereq.form.fields[cfEncrypt].value(); got != "disable" {
		t.Errorf("encrypt = %q after ←←", got)
	}
	send(m, keyTab, keyRune(' '))
	c, err := connConfig(&m.prereq.form, m.cfg.SQLServer)
	if err != nil {
		t.Fatal(err)
	}
	if !c.TrustServerCertificate || c.Encrypt != "disable" || c.Password != "secret-sql-pw" {
		t.Errorf("config = encrypt %q trust %v", c.Encrypt, c.TrustServerCertificate)
	}
}

func TestLoginShowsDiscovery(t *testing.T) {
	m := newTestModel(t, testConfig(), 100, 30)
	onPrereqChecked(t, m, testPre("Windows"))
	send(m, keyEnter)
	if m.page != pageLogin {
		t.Fatalf("page %v", m.page)
	}
	// Next is refused before the managed instance was discovered.
	m.login.form.blur()
	m.login.reviewing = true
	send(m, keyEnter)
	if m.page != pageLogin {
		t.Fatal("Next without discovery")
	}
	m.login.reviewing = false
	m.login.gen, m.login.busy, m.login.used = 2, "Discovering", m.cfg.MI
	send(m, miDiscoveredMsg{gen: 2, mi: testMI()})
	s := screenOf(m)
	for _, want := range []string{"sqlmi-demo.6d710bcf372b.database.windows.net", "DB123.tr123456.west-us.worker.database.windows.net", "HADR port", "11002", "16.0.9230.25", "Authentication"} {
		if want == "Authentication" {
			continue // the form is collapsed after discovery
		}
		if !strings.Contains(s, want) {
			t.Errorf("screen lacks %q:\n%s", want, s)
		}
	}
	send(m, keyEsc)
	if m.page != pagePrereq {
		t.Errorf("Esc: page %v", m.page)
	}
}

func TestLoginAuthenticationChoices(t *testing.T) {
	m := newTestModel(t, testConfig(), 100, 30)
	f := m.login.form.fields[cfAuth]
	want := []string{"SQL login", "Entra device code", "Entra Azure CLI", "Entra service principal", "Entra managed identity", "Entra default chain"}
	if !f.isChoice() || strings.Join(f.choices, "|") != strings.Join(want, "|") || f.value() != "SQL login" {
		t.Fatalf("managed instance authentication choices = %v (selected %q)", f.choices, f.value())
	}
	if c := m.login.form.fields[cfCloud]; c.hidden || strings.Join(c.choices, "|") != "AzureCloud|AzureUSGovernment|AzureChinaCloud" || c.value() != "AzureCloud" {
		t.Errorf("cloud field: hidden %v, choices %v, value %q", c.hidden, c.choices, c.value())
	}
	// SQL Server: SQL login and the Windows logins, no cloud or tenant.
	p := m.prereq.form
	wantSQL := "SQL login|Windows login|Windows login (Kerberos)|Windows login (NTLM)"
	if a := p.fields[cfAuth]; strings.Join(a.choices, "|") != wantSQL || a.value() != "SQL login" || !p.fields[cfCloud].hidden || !p.fields[cfTenant].hidden {
		t.Errorf("SQL Server form: auth %v, cloud hidden %v, tenant hidden %v", a.choices, p.fields[cfCloud].hidden, p.fields[cfTenant].hidden)
	}
}

// onNetwork puts the model on the Network Options page.
func onNetwork(t *testing.T, m *Model) {
	t.Helper()
	onPrereqChecked(t, m, testPre("Windows"))
	send(m, keyEnter)
	m.login.gen, m.login.used = 3, m.cfg.MI
	send(m, miDiscoveredMsg{gen: 3, mi: testMI()})
	send(m, keyEnter)
	if m.page != pageNetwork {
		t.Fatalf("page %v, want Network Options", m.page)
	}
}

func setIP(m *Model, ip string) {
	m.network.form.focusOn(nfIP)
	for range len(m.network.form.fields[nfIP].input.Value()) {
		send(m, keyBack)
	}
	typeText(m, ip)
}

func TestNetworkValidation(t *testing.T) {
	m := newTestModel(t, testConfig(), 80, 24)
	onNetwork(t, m)
	if got := m.network.form.fields[nfIP].value(); got != "10.1.0.4" {
		t.Errorf("SQL Server IP pre-filled with %q, want the LocalIP 10.1.0.4", got)
	}
	s := screenOf(m)
	for _, want := range []string{"sqlmi-demo.6d710bcf372b.database.windows.net", "DB123.tr123456.west-us.worker.database.windows.net", "11002", "read-only"} {
		if !strings.Contains(s, want) {
			t.Errorf("network page lacks %q", want)
		}
	}

	for _, tc := range []struct{ ip, err string }{
		{"10.0.0.1;calc", "neither an IP address nor a DNS name"},
		{"", "host is empty"},
		{"10.0.0.1' ; Remove-Item", "neither an IP address nor a DNS name"},
	} {
		setIP(m, tc.ip)
		if m.network.valid() {
			t.Errorf("%q accepted", tc.ip)
		}
		s := screenOf(m)
		if !strings.Contains(s, "✗") || !strings.Contains(flat(s), tc.err) {
			t.Errorf("%q: no inline error %q:\n%s", tc.ip, tc.err, s)
		}
		send(m, keyEnter)
		if m.page != pageNetwork {
			t.Fatalf("%q: Enter went to %v", tc.ip, m.page)
		}
	}

	// The managed instance can never reach these (issue 11, item 1): the field
	// requires a usable address.
	for _, ip := range []string{"127.0.0.1", "169.254.1.2", "255.255.255.255"} {
		setIP(m, ip)
		if m.network.valid() || !strings.Contains(screenOf(m), "✗") {
			t.Errorf("%s: valid %v, error shown %v", ip, m.network.valid(), strings.Contains(screenOf(m), "✗"))
		}
	}
	setIP(m, "20.30.40.50")
	if !m.network.valid() || !strings.Contains(flat(screenOf(m)), "public address") {
		t.Errorf("public address: valid %v, warning shown %v", m.network.valid(), strings.Contains(flat(screenOf(m)), "public address"))
	}

	setIP(m, "10.1.0.4")
	if !m.network.valid() {
		t.Fatalf("10.1.0.4 rejected: %v", m.network.err)
	}
	if !m.network.ipEdited {
		t.Error("typing did not mark the address as edited")
	}
	o, err := m.network.options()
	if err != nil || o.SQLServerIP != "10.1.0.4" || o.MI.HadrPort != 11002 || o.EndpointPort != 5022 {
		t.Fatalf("options = %+v, %v", o, err)
	}
	cmd := send(m, keyEnter)
	if m.page != pageSummary || cmd == nil || !m.summary.building {
		t.Fatalf("valid Enter: page %v building %v", m.page, m.summary.building)
	}
}

func TestNetworkProbeTimeout(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{{"5s", 5 * time.Second, true}, {"1500ms", 1500 * time.Millisecond, true}, {"2", 2 * time.Second, true}, {"abc", 0, false}, {"10ms", 0, false}, {"6m", 0, false}, {"", 0, false}} {
		d, err := parseTimeout(tc.in)
		if (err == nil) != tc.ok || (tc.ok && d != tc.want) {
			t.Errorf("parseTimeout(%q) = %v, %v", tc.in, d, err)
		}
	}
}

func TestNetworkKeepsConfiguredIP(t *testing.T) {
	cfg := testConfig()
	cfg.SQLServerIP = "192.168.7.20"
	m := newTestModel(t, cfg, 80, 24)
	onNetwork(t, m)
	if got := m.network.form.fields[nfIP].value(); got != "192.168.7.20" {
		t.Errorf("SQL Server IP = %q, want the configured one", got)
	}
}

func testPlan() *steps.Plan {
	o := steps.NetworkOptions{MI: testMI().Params, SQLServerIP: "10.1.0.4", EndpointPort: 5022, ProbeTimeout: 5 * time.Second}
	return &steps.Plan{RunID: "0123456789abcdef", Options: o, SQLJobName: "TestMILinkConnection", MIJobName: "NetHelper_milink_01234567",
		CertName: "TEST_CERT", EndpointName: "TEST_ENDPOINT", CreateEndpoint: true, RunSQLToMI: true, RunMIToSQL: true,
		Findings: []steps.Finding{{ID: "job-name:NetHelper", Server: "Managed instance", Severity: steps.Warn,
			Title: "A job named NetHelper already exists and was not created by milink", Detail: "milink leaves it untouched and uses the job name NetHelper_milink_01234567 instead."}},
		Actions: []steps.Action{
			{Server: "SQL Server", Description: "Create Agent job TestMILinkConnection with two PowerShell steps"},
			{Server: "Managed instance", Description: "Create Agent job NetHelper_milink_01234567 with one PowerShell step"},
			{Server: "SQL Server", Description: "Delete job TestMILinkConnection", Detail: "always, also on failure or Ctrl-C"},
		}}
}

func TestSummaryListsPlan(t *testing.T) {
	m := newTestModel(t, testConfig(), 100, 40)
	onNetwork(t, m)
	send(m, keyEnter)
	if m.page != pageSummary {
		t.Fatalf("page %v", m.page)
	}
	if !strings.Contains(screenOf(m), "Building the plan") {
		t.Error("no progress while building the plan")
	}
	send(m, keyEnter) // ignored while building
	if m.page != pageSummary {
		t.Fatal("Enter while building started the test")
	}
	send(m, planBuiltMsg{gen: m.summary.gen, plan: testPlan()})
	s := screenOf(m)
	for _, want := range []string{
		"WARN  A job named NetHelper already exists",
		"uses the job name NetHelper_milink_01234567",
		"1. SQL Server       Create Agent job TestMILinkConnection",
		"2. Managed instance Create Agent job NetHelper_milink_01234567",
		"3. SQL Server       Delete job TestMILinkConnection",
		"Nothing has been created yet",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	send(m, keyEsc)
	if m.page != pageNetwork {
		t.Errorf("Esc: page %v", m.page)
	}
}

func TestSummaryPlanError(t *testing.T) {
	m := newTestModel(t, testConfig(), 100, 40)
	onNetwork(t, m)
	send(m, keyEnter)
	send(m, planBuiltMsg{gen: m.summary.gen, err: os.ErrPermission})
	if s := screenOf(m); !strings.Contains(s, "The plan could not be built") {
		t.Errorf("plan error not shown:\n%s", s)
	}
	send(m, keyEnter)
	if m.page != pageSummary {
		t.Error("Enter started a test without a plan")
	}
}

func TestResultsRendering(t *testing.T) {
	m := newTestModel(t, testConfig(), 120, 60)
	cfg := m.cfg
	rep := steps.NewReport(cfg)
	rep.SetPrerequisites(testPre("Linux"))
	rep.SetManagedInstance(testMI())
	plan := testPlan()
	rep.SetPlan(plan)
	t5022 := steps.ProbeTarget{Label: "Test Port 5022", Host: plan.Options.MI.FQDN, Port: 5022, Timeout: 5 * time.Second}
	expl, fixes := steps.Explain(steps.SQLToMI, t5022, sqlops.VerdictTimeout, plan.Options)
	res := &steps.Results{
		Directions: []steps.DirectionResult{
			{Direction: steps.SQLToMI, Status: steps.StatusFailed, Job: "TestMILinkConnection", Probes: []steps.ProbeResult{
				{Direction: steps.SQLToMI, Result: probe.Result{Host: t5022.Host, Port: 5022, Verdict: sqlops.VerdictTimeout}, Explanation: expl, Fixes: fixes},
				{Direction: steps.SQLToMI, Result: probe.Result{Host: plan.Options.MI.Node, Port: 11002, Verdict: sqlops.VerdictConnected, Succeeded: true, RemoteAddress: "10.0.0.11"}},
			}},
			{Direction: steps.MIToSQL, Status: steps.StatusPassed, Job: "NetHelper_milink_01234567", Probes: []steps.ProbeResult{
				{Direction: steps.MIToSQL, Result: probe.Result{Host: "10.1.0.4", Port: 5022, Verdict: sqlops.VerdictConnected, Succeeded: true, RemoteAddress: "10.1.0.4"}},
			}},
		},
		Cleanup: []steps.CleanupItem{
			{Server: "SQL Server", Kind: "job", Name: "TestMILinkConnection", Removed: true},
			{Server: "Managed instance", Kind: "job", Name: "NetHelper_milink_01234567", Error: "connection lost"},
		},
	}
	rep.SetResults(res)
	m.report = rep
	m.page = pageResults
	m.results.start(time.Now(), rep, "Linux")
	m.results.finish(time.Now())
	send(m, tea.WindowSizeMsg{Width: 120, Height: 60})
	s := joinBlocks(screenOf(m))
	for _, want := range []string{
		"Result: cleanup failed: run 'milink cleanup' (exit code 1)",
		"✗ failed SQL Server → managed instance",
		"✓ passed managed instance → SQL Server",
		"Direction", "Target", "Verdict", "Remote address",
		"SQL Server → MI  DB123.tr123456.west-us.worker.database.windows.net:11002",
		"timeout",
		"No answer from sqlmi-demo.6d710bcf372b.database.windows.net:5022",
		"Fix (Linux): sudo firewall-cmd",
		"Fix (Azure): az network nsg rule create",
		"✓ SQL Server: removed job TestMILinkConnection",
		"✗ Managed instance: job NetHelper_milink_01234567: connection lost",
		"milink cleanup",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("results lack %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "New-NetFirewallRule") {
		t.Error("Linux server shows the Windows firewall fix")
	}
	// Keys: Esc and Enter do nothing (someone pressing Enter through the wizard must
	// not lose the results), q closes with the report's exit code.
	send(m, keyEsc, keyEnter)
	if m.page != pageResults || m.quit || m.confirmQuit {
		t.Fatalf("Esc/Enter on Results: page %v quit %v prompt %v", m.page, m.quit, m.confirmQuit)
	}
	if strings.Contains(screenOf(m), "enter") {
		t.Errorf("the footer names enter:\n%s", screenOf(m))
	}
	send(m, keyRune('q'))
	if !m.quit || m.ExitCode() != steps.ExitError {
		t.Errorf("q: quit %v exit %d", m.quit, m.ExitCode())
	}
}

func TestResultsProgress(t *testing.T) {
	m := newTestModel(t, testConfig(), 80, 24)
	rep := steps.NewReport(m.cfg)
	m.report = rep
	m.page = pageResults
	start := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	m.results.start(start, rep, "Windows")
	m.run = newRunHandle()
	m.cancelRun = func() {}
	send(m, runEventMsg{ev: steps.Event{Time: start.Add(time.Second), Direction: steps.SQLToMI, Kind: steps.EventStep, Message: "SQL Server: waiting for job TestMILinkConnection"}})
	send(m, runEventMsg{ev: steps.Event{Time: start.Add(3 * time.Second), Direction: steps.MIToSQL, Kind: steps.EventDone, Message: "10.1.0.4:5022 connected"}})
	s := screenOf(m)
	for _, want := range []string{"Testing the network in both directions", "3s elapsed", "SQL Server: waiting for job TestMILinkConnection", "✓ managed instance → SQL Server  done after 3s", "10.1.0.4:5022 connected", "ctrl+c stop"} {
		if !strings.Contains(s, want) {
			t.Errorf("progress lacks %q:\n%s", want, s)
		}
	}
	// Keys other than Ctrl-C do nothing while running; Esc does not go back.
	send(m, keyEsc, keyRune('q'), keyEnter)
	if m.page != pageResults || m.quit {
		t.Fatal("a key interrupted the running test")
	}
	// Ctrl-C + y: cancel, show cleaning up, wait for the runner, then quit with 130.
	canceled := false
	m.cancelRun = func() { canceled = true }
	send(m, keyCtrlC, keyRune('y'))
	if !canceled || m.quit || !strings.Contains(screenOf(m), "Cleaning up…") {
		t.Fatalf("after y: canceled %v quit %v\n%s", canceled, m.quit, screenOf(m))
	}
	send(m, keyRune('y'), keyCtrlC) // ignored while cleaning up
	if m.quit {
		t.Fatal("quit before cleanup finished")
	}
	final := steps.NewReport(m.cfg)
	final.SetResults(&steps.Results{Interrupted: true, Cleanup: []steps.CleanupItem{{Server: "SQL Server", Kind: "job", Name: "TestMILinkConnection", Removed: true}}})
	send(m, runDoneMsg{rep: final})
	if !m.quit || m.ExitCode() != steps.ExitInterrupted || m.Report().ExitCode != steps.ExitInterrupted {
		t.Fatalf("after cleanup: quit %v exit %d", m.quit, m.ExitCode())
	}
}

func TestSaveReport(t *testing.T) {
	dir := t.TempDir()
	rep := steps.NewReport(steps.Config{RunID: "0123456789abcdef"})
	paths, err := saveReport(rep, dir)
	if err != nil || len(paths) != 2 {
		t.Fatalf("saveReport = %v, %v", paths, err)
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v", p, fi.Mode().Perm())
		}
	}
	b, _ := os.ReadFile(paths[1])
	reportschema.Check(t, b)
	var back steps.Report
	if err := json.Unmarshal(b, &back); err != nil || back.RunID != "0123456789abcdef" {
		t.Errorf("JSON report: %v %q", err, back.RunID)
	}
	if !strings.HasSuffix(paths[0], "milink-report-0123456789abcdef.md") {
		t.Errorf("markdown path %q", paths[0])
	}
	if _, err := saveReport(rep, dir+"/missing/dir"); err == nil {
		t.Error("saving into a missing directory succeeded")
	}
}

func TestWrapKeepsHyphenatedWords(t *testing.T) {
	lines := wrapLines("sudo firewall-cmd --permanent --add-port=5022/tcp && sudo firewall-cmd --reload", 30)
	for _, l := range lines {
		if strings.HasSuffix(l, "-") && !strings.HasSuffix(l, " -") {
			t.Errorf("line broken at a hyphen: %q", l)
		}
		if len(l) > 30 {
			t.Errorf("line too long: %q", l)
		}
	}
	lines = wrapLines("DB123.tr123456.west-us.worker.database.windows.net:11002", 20)
	if len(lines) < 3 || !strings.HasSuffix(lines[0], ".") {
		t.Errorf("host wrapped as %q", lines)
	}
}

// flat joins a screen's lines with single spaces, so wrapped text can be matched.
func flat(s string) string { return strings.Join(strings.Fields(s), " ") }
