package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/milink/milink/steps"
)

const (
	fakeToken      = "eyJ0eXAi.fake.token"
	fakeDeviceCode = "FAKE-CODE"
	fakeDeviceURL  = "https://microsoft.com/devicelogin"
	fakeDeviceMsg  = "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code FAKE-CODE to authenticate."
)

// fakeDeviceCredential behaves like a device code credential: the first Azure SQL
// token request shows the device code through DeviceCodePrompt and waits until release
// is closed (the "user" signed in); later requests get the token at once. Resource
// Manager tokens are refused, so the Azure checks never reach the network.
type fakeDeviceCredential struct {
	prompt  func(ctx context.Context, message, userCode, url string) error
	release chan struct{}

	mu       sync.Mutex
	signedIn bool
	scopes   []string
	methods  []steps.AuthMethod
	opts     []steps.CredentialOptions
}

var errNoARM = errors.New("fake credential: no Resource Manager tokens in tests")

func (f *fakeDeviceCredential) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.mu.Lock()
	f.scopes = append(f.scopes, o.Scopes...)
	signedIn, prompt := f.signedIn, f.prompt
	f.mu.Unlock()
	if len(o.Scopes) != 1 || !strings.HasPrefix(o.Scopes[0], "https://database.") {
		return azcore.AccessToken{}, errNoARM
	}
	if !signedIn {
		if err := prompt(ctx, fakeDeviceMsg, fakeDeviceCode, fakeDeviceURL); err != nil {
			return azcore.AccessToken{}, err
		}
		select {
		case <-f.release:
		case <-ctx.Done():
			return azcore.AccessToken{}, ctx.Err()
		}
		f.mu.Lock()
		f.signedIn = true
		f.mu.Unlock()
	}
	return azcore.AccessToken{Token: fakeToken, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// factory is the Options.Azure.NewCredential of the fake.
func (f *fakeDeviceCredential) factory(m steps.AuthMethod, _ steps.Cloud, o steps.CredentialOptions) (steps.Credential, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.methods = append(f.methods, m)
	f.opts = append(f.opts, o)
	f.prompt = o.DeviceCodePrompt
	return f, nil
}

func (f *fakeDeviceCredential) sawScope(prefix string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.scopes {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// onLogin puts the model on the Login page (editing).
func onLogin(t *testing.T, m *Model) {
	t.Helper()
	onPrereqChecked(t, m, testPre("Windows"))
	send(m, keyEnter)
	if m.page != pageLogin || m.login.reviewing {
		t.Fatalf("page %v, reviewing %v", m.page, m.login.reviewing)
	}
}

var keyRight = tea.KeyPressMsg{Code: tea.KeyRight}

// hasFormLine reports whether the screen shows a form line labelled label.
func hasFormLine(screen, label string) bool {
	for _, l := range strings.Split(screen, "\n") {
		if strings.HasPrefix(strings.TrimLeft(strings.TrimPrefix(strings.TrimSpace(l), "›"), " "), label+" ") {
			return true
		}
	}
	return false
}

func TestLoginEntraHidesUserAndPassword(t *testing.T) {
	m := newTestModel(t, testConfig(), 80, 24)
	onLogin(t, m)
	s := screenOf(m)
	if !hasFormLine(s, "User") || !hasFormLine(s, "Password") || hasFormLine(s, "Tenant ID") || !hasFormLine(s, "Cloud") {
		t.Fatalf("SQL login form:\n%s", s)
	}
	m.login.form.focusOn(cfAuth)
	send(m, keyRight)
	if got := m.login.form.fields[cfAuth].value(); got != "Entra device code" {
		t.Fatalf("authentication = %q after →", got)
	}
	s = screenOf(m)
	if hasFormLine(s, "User") || hasFormLine(s, "Password") {
		t.Errorf("User/Password still shown with Entra ID:\n%s", s)
	}
	if !hasFormLine(s, "Tenant ID") || !strings.Contains(s, "works over SSH") {
		t.Errorf("no tenant field or device code note:\n%s", s)
	}
	// Tab skips the hidden fields, both ways.
	send(m, keyTab)
	if m.login.form.focus != cfCloud {
		t.Errorf("Tab from Authentication focused field %d, want Cloud", m.login.form.focus)
	}
	send(m, tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift})
	if m.login.form.focus != cfAuth {
		t.Errorf("Shift+Tab from Cloud focused field %d, want Authentication", m.login.form.focus)
	}
	c, err := connConfig(&m.login.form, m.cfg.MI)
	if err != nil {
		t.Fatal(err)
	}
	if c.Token == nil || c.User != "" || c.Password != "" {
		t.Errorf("Entra config: token %v, user %q, password set %v", c.Token != nil, c.User, c.Password != "")
	}
	if c.LoginTimeout < 5*time.Minute {
		t.Errorf("device code login timeout %s, want at least 5m", c.LoginTimeout)
	}
	// Every Entra method hides them; back to SQL login shows them again.
	for range 4 {
		send(m, keyRight)
		if !m.login.form.fields[cfUser].hidden || !m.login.form.fields[cfPassword].hidden {
			t.Errorf("%s: user/password not hidden", m.login.form.fields[cfAuth].value())
		}
	}
	send(m, keyRight)
	if got := m.login.form.fields[cfAuth].value(); got != authSQL {
		t.Fatalf("authentication = %q, want SQL login", got)
	}
	if s := screenOf(m); !hasFormLine(s, "User") || !hasFormLine(s, "Password") || hasFormLine(s, "Tenant ID") {
		t.Errorf("SQL login again:\n%s", s)
	}
	if c, _ := connConfig(&m.login.form, m.cfg.MI); c.Token != nil || c.User != "miadmin" || c.Password != "secret-mi-pw" {
		t.Errorf("SQL login config: token %v user %q", c.Token != nil, c.User)
	}
}

func TestLoginRejectsBadTenantInline(t *testing.T) {
	fake := &fakeDeviceCredential{release: make(chan struct{})}
	m := NewModel(context.Background(), Options{Config: testConfig(), ReportDir: t.TempDir(), Azure: AzureOptions{MIAuth: "device-code", NewCredential: fake.factory}})
	send(m, tea.WindowSizeMsg{Width: 80, Height: 24})
	onLogin(t, m)
	if got := m.login.form.fields[cfAuth].value(); got != "Entra device code" {
		t.Fatalf("pre-selected authentication = %q", got)
	}
	m.login.form.focusOn(cfTenant)
	typeText(m, "not a tenant!")
	cmd := send(m, keyEnter)
	if cmd != nil || m.login.busy != "" {
		t.Fatal("validation started with a bad tenant")
	}
	s := screenOf(m)
	if !strings.Contains(s, "✗") || !strings.Contains(flat(s), `tenant ID: invalid input: tenant "not a tenant!" is neither`) {
		t.Errorf("no inline tenant error:\n%s", s)
	}
	if m.login.form.focus != cfTenant {
		t.Errorf("focus = field %d, want the tenant", m.login.form.focus)
	}
	if len(fake.methods) != 0 {
		t.Error("a credential was built for an invalid tenant")
	}
	// A domain is accepted: Enter starts signing in (in a command).
	for range len("not a tenant!") {
		send(m, keyBack)
	}
	typeText(m, "contoso.onmicrosoft.com")
	if s := screenOf(m); strings.Contains(s, "✗") {
		t.Errorf("the error stayed after the edit:\n%s", s)
	}
	cmd = send(m, keyEnter)
	if cmd == nil || !strings.Contains(m.login.busy, "Signing in to Entra ID (device code)") {
		t.Fatalf("valid tenant: cmd %v, busy %q", cmd != nil, m.login.busy)
	}
	// Esc stops waiting at once, on the page: the late reply is dropped; a second Esc
	// goes back.
	gen := m.login.gen
	send(m, keyEsc)
	if m.page != pageLogin || m.login.busy != "" || m.login.gen == gen || !strings.Contains(screenOf(m), "canceled") {
		t.Errorf("Esc while signing in: page %v, busy %q:\n%s", m.page, m.login.busy, screenOf(m))
	}
	send(m, keyEsc)
	if m.page != pagePrereq {
		t.Errorf("second Esc: page %v, want Prerequisites", m.page)
	}
}

func TestLoginShowsDeviceCode(t *testing.T) {
	m := newTestModel(t, testConfig(), 80, 24)
	onLogin(t, m)
	m.login.form.focusOn(cfAuth)
	send(m, keyRight)
	m.login.gen, m.login.busy = 4, "Signing in to Entra ID (device code) and connecting …"
	m.login.form.blur()
	// A prompt of an older validation is not shown.
	send(m, deviceCodeMsg{tag: promptTag{purpose: promptLogin, gen: 3}, message: "old", code: "OLD-CODE", url: fakeDeviceURL})
	if strings.Contains(screenOf(m), "OLD-CODE") {
		t.Fatal("a stale device code is shown")
	}
	send(m, deviceCodeMsg{tag: promptTag{purpose: promptLogin, gen: 4}, message: fakeDeviceMsg, code: "ABCD-EFGH", url: fakeDeviceURL})
	s := screenOf(m)
	if !strings.Contains(flat(s), "To sign in, open https://microsoft.com/devicelogin and enter the code ABCD-EFGH") {
		t.Errorf("device code not shown:\n%s", s)
	}
	lines := strings.Split(s, "\n")
	if len(lines) != 24 {
		t.Errorf("%d lines, want 24", len(lines))
	}
	for i, l := range lines {
		if w := len([]rune(l)); w > 80 {
			t.Errorf("line %d is %d cells wide: %q", i+1, w, l)
		}
	}
	// The login ends: the code disappears.
	send(m, miConnectedMsg{gen: 4, cfg: m.cfg.MI, method: steps.DeviceCode, err: errors.New("DeviceCodeCredential: AADSTS70020: expired")})
	s = screenOf(m)
	if strings.Contains(s, "ABCD-EFGH") || !strings.Contains(flat(s), "device code expired before the sign-in was completed") {
		t.Errorf("after the failed sign-in:\n%s", s)
	}
	if m.login.form.focus != cfAuth {
		t.Errorf("focus = field %d after an Entra error, want Authentication", m.login.form.focus)
	}
}

// onNetworkWith puts the model on Network Options after the Login page discovered mi.
func onNetworkWith(t *testing.T, m *Model, mi *steps.ManagedInstance) tea.Cmd {
	t.Helper()
	onPrereqChecked(t, m, testPre("Windows"))
	send(m, keyEnter)
	m.login.gen, m.login.used = 3, m.cfg.MI
	send(m, miDiscoveredMsg{gen: 3, mi: mi})
	cmd := send(m, keyEnter)
	if m.page != pageNetwork {
		t.Fatalf("page %v, want Network Options", m.page)
	}
	return cmd
}

func TestNetworkAllowlistFollowsCloud(t *testing.T) {
	// Public cloud.
	m := newTestModel(t, testConfig(), 100, 60)
	onNetworkWith(t, m, testMI())
	if !m.network.azBusy {
		t.Fatal("entering Network Options did not start the Azure checks")
	}
	s := screenOf(m)
	for _, want := range []string{"Add to your allowlist (AzureCloud)", "https://login.microsoftonline.com/", "https://management.azure.com/", "checking …", "Azure sign-in: none"} {
		if !strings.Contains(s, want) {
			t.Errorf("public cloud: screen lacks %q:\n%s", want, s)
		}
	}

	// China: the cloud chosen on the Login page.
	mi := testMI()
	mi.Params.FQDN = "sqlmi-demo.6d710bcf372b.database.chinacloudapi.cn"
	m = newTestModel(t, testConfig(), 100, 60)
	onPrereqChecked(t, m, testPre("Windows"))
	send(m, keyEnter)
	m.login.form.focusOn(cfCloud)
	send(m, keyRight, keyRight)
	if got := m.login.form.fields[cfCloud].value(); got != steps.AzureChinaCloud {
		t.Fatalf("cloud = %q", got)
	}
	m.login.gen, m.login.used = 3, m.cfg.MI
	send(m, miDiscoveredMsg{gen: 3, mi: mi})
	send(m, keyEnter)
	if m.page != pageNetwork {
		t.Fatalf("page %v", m.page)
	}
	allow := func() string {
		s := screenOf(m)
		i := strings.Index(s, "Add to your allowlist")
		if i < 0 {
			t.Fatalf("no allowlist:\n%s", s)
		}
		return s[i:]
	}
	a := allow()
	for _, want := range []string{"(AzureChinaCloud)", "https://login.chinacloudapi.cn/", "https://database.chinacloudapi.cn/", "https://management.chinacloudapi.cn/", "sqlmi-demo.6d710bcf372b.database.chinacloudapi.cn"} {
		if !strings.Contains(a, want) {
			t.Errorf("China allowlist lacks %q:\n%s", want, a)
		}
	}
	for _, bad := range []string{"windows.net", "microsoftonline.com", "management.azure.com", "usgovcloudapi"} {
		if strings.Contains(a, bad) {
			t.Errorf("China allowlist names %q:\n%s", bad, a)
		}
	}
	// The checker's outcome replaces "checking …".
	c, _ := steps.LookupCloud(steps.AzureChinaCloud)
	info := steps.NewAzureChecker(c, nil, nil, nil)(context.Background(), mi.Params.FQDN, "10.1.0.4")
	send(m, azureCheckedMsg{gen: m.network.azGen, info: info})
	s = screenOf(m)
	if m.network.azBusy || strings.Contains(s, "checking …") || !strings.Contains(s, "PASS  sqlmi-demo.6d710bcf372b.database.chinacloudapi.cn is in AzureChinaCloud") {
		t.Errorf("after the check:\n%s", s)
	}
	if a := allow(); strings.Contains(a, "windows.net") || !strings.Contains(a, "login.chinacloudapi.cn") {
		t.Errorf("allowlist after the check:\n%s", a)
	}
}

func TestNetworkAzureNeverBlocksAndRechecks(t *testing.T) {
	m := newTestModel(t, testConfig(), 80, 24)
	onNetworkWith(t, m, testMI())
	gen := m.network.azGen
	if !m.network.azBusy || gen == 0 {
		t.Fatal("no Azure check running")
	}
	// Back and forth without changes: no second check.
	send(m, keyEsc)
	send(m, keyEnter)
	if m.page != pageNetwork || m.network.azGen != gen {
		t.Fatalf("page %v, gen %d → %d", m.page, gen, m.network.azGen)
	}
	// Next while the check runs: Summary at once; unchanged address, same check.
	send(m, keyEnter)
	if m.page != pageSummary || m.network.azGen != gen {
		t.Fatalf("Next while checking: page %v, gen %d → %d", m.page, gen, m.network.azGen)
	}
	// An edited address is checked again before Summary.
	send(m, keyEsc)
	setIP(m, "10.1.0.9")
	if m.network.azGen != gen {
		t.Fatal("typing started a check")
	}
	send(m, keyEnter)
	if m.page != pageSummary || m.network.azGen != gen+1 || !m.network.azBusy {
		t.Fatalf("edited address: page %v, gen %d → %d", m.page, gen, m.network.azGen)
	}
	if !strings.Contains(m.network.azKey, "10.1.0.9") {
		t.Errorf("check key %q lacks the new address", m.network.azKey)
	}
	// The outcome of the older check is dropped.
	send(m, azureCheckedMsg{gen: gen, info: steps.AzureInfo{Cloud: "AzureCloud"}})
	if !m.network.azBusy {
		t.Error("a stale Azure result ended the check")
	}
	// The report started while the check runs gets it when it ends.
	m.report = steps.NewReport(m.cfg)
	m.azurePending, m.results.azureWait = true, true
	info := steps.AzureInfo{Cloud: "AzureCloud", Allowlist: []steps.AllowlistItem{{Name: "Microsoft Entra authority", URL: "https://login.microsoftonline.com/"}},
		Findings: []steps.Finding{{ID: "cloud", Server: "Azure", Severity: steps.Pass, Title: "in AzureCloud"}}}
	send(m, azureCheckedMsg{gen: gen + 1, info: info})
	if m.report.Cloud != "AzureCloud" || len(m.report.Allowlist) != 1 || m.azurePending || m.results.azureWait {
		t.Errorf("report after the late check: cloud %q allowlist %d pending %v", m.report.Cloud, len(m.report.Allowlist), m.azurePending)
	}
}

func TestAzureSignInChoice(t *testing.T) {
	fake := &fakeDeviceCredential{release: make(chan struct{})}
	for _, tc := range []struct {
		name      string
		opts      AzureOptions
		loginWith steps.AuthMethod
		signedIn  steps.AuthMethod
		builds    bool
	}{
		{"sql login, no azure auth", AzureOptions{}, "", "", false},
		{"entra login follows", AzureOptions{MIAuth: "device-code"}, steps.DeviceCode, steps.DeviceCode, false},
		{"entra login, none", AzureOptions{MIAuth: "device-code", AzureAuth: "none"}, steps.DeviceCode, "", false},
		{"sql login, azure cli for ARM", AzureOptions{AzureAuth: "azure-cli"}, "", steps.AzureCLI, true},
		{"same method reuses", AzureOptions{MIAuth: "device-code", AzureAuth: "devicecode"}, steps.DeviceCode, steps.DeviceCode, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.NewCredential = fake.factory
			m := NewModel(context.Background(), Options{Config: testConfig(), Azure: tc.opts})
			if tc.loginWith != "" {
				cloud := m.login.form.cloud()
				m.login.used.Token = pendingToken
				m.login.usedAuth, m.login.cred = tc.loginWith, fake
				m.login.credKey = credKey(tc.loginWith, cloud.Name, "", "")
			}
			si := m.armSignIn(m.login.form.cloud())
			if si.method != tc.signedIn || (si.build != nil) != tc.builds || (tc.signedIn != "" && !tc.builds && si.cred == nil) {
				t.Errorf("sign-in: method %q build %v cred %v", si.method, si.build != nil, si.cred != nil)
			}
		})
	}
}

func TestAzureOptionsValidate(t *testing.T) {
	for _, o := range []AzureOptions{
		{Cloud: "Mars"}, {MIAuth: "password"}, {AzureAuth: "magic"}, {TenantID: "not a tenant!"},
		{Subscriptions: []string{"abc"}}, {MIResourceID: "/subscriptions/x"},
	} {
		if err := o.Validate(); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	ok := AzureOptions{Cloud: "azurechinacloud", MIAuth: "SQL", AzureAuth: "none", TenantID: "contoso.onmicrosoft.com",
		Subscriptions: []string{"00000000-0000-0000-0000-000000000001"},
		MIResourceID:  "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Sql/managedInstances/sqlmi-demo"}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid options refused: %v", err)
	}
	// The wizard still starts with bad options and says so on the Login page.
	bad := NewModel(context.Background(), Options{Config: testConfig(), Azure: AzureOptions{Cloud: "Mars"}})
	send(bad, tea.WindowSizeMsg{Width: 100, Height: 30})
	onLogin(t, bad)
	if s := screenOf(bad); !strings.Contains(s, "Mars") || bad.login.form.fields[cfCloud].value() != steps.AzureCloud {
		t.Errorf("bad cloud option:\n%s", s)
	}
}

// TestFlowEntraDeviceCode logs in to the simulated managed instance with Entra ID
// (device code): the code is shown on the Login page until the (fake) sign-in
// completes, the Azure checks run with the same credential, and the report carries the
// cloud and the allowlist.
func TestFlowEntraDeviceCode(t *testing.T) {
	p := startPair(t, "pass", 10*time.Millisecond)
	var mu sync.Mutex
	var tokens []string
	p.MI.SetTokenValidator(func(token string) (string, bool) {
		mu.Lock()
		tokens = append(tokens, token)
		mu.Unlock()
		return "dba@contoso.com", token == fakeToken
	})
	fake := &fakeDeviceCredential{release: make(chan struct{})}
	cfg := p.config()
	cfg.MI.User, cfg.MI.Password = "", ""
	dir := t.TempDir()
	m := NewModel(t.Context(), Options{Config: cfg, ReportDir: dir, Azure: AzureOptions{MIAuth: "device-code", NewCredential: fake.factory}})
	rec := newRecorder(m)
	tm := teatest.NewTestModel(t, rec, teatest.WithInitialTermSize(80, 24))

	waitScreen(t, rec, flowWait, "What the test creates", "1 Introduction")
	tm.Send(keyEnter)
	waitScreen(t, rec, flowWait, "Trust server certificate", "enter validate")
	tm.Send(keyEnter)
	waitScreen(t, rec, flowWait, "Connected:", "Prerequisites:")
	tm.Send(keyEnter)
	waitScreen(t, rec, flowWait, "Managed instance: milink connects", "Entra device code", "enter validate")
	if s := rec.screen(); hasFormLine(s, "User") || hasFormLine(s, "Password") {
		t.Errorf("user/password shown with Entra ID:\n%s", s)
	}
	tm.Send(keyEnter)
	waitScreen(t, rec, flowWait, fakeDeviceCode, fakeDeviceURL, "3 Login")
	if s := rec.screen(); !strings.Contains(flat(s), "To sign in, open https://microsoft.com/devicelogin and enter the code FAKE-CODE") {
		t.Errorf("device code sentence not on the Login page:\n%s", s)
	}
	if testing.Verbose() {
		t.Logf("--- login, device code ---\n%s", rec.screen())
	}
	close(fake.release) // the user signed in
	waitScreen(t, rec, flowWait, "Connected:", "with Entra ID (device code)", "HADR port")
	if strings.Contains(rec.screen(), fakeDeviceCode) {
		t.Error("the device code is still shown after the sign-in")
	}
	tm.Send(keyEnter)
	waitScreen(t, rec, flowWait, "SQL Server → MI probes", "Probes:", "Azure (AzureCloud): 1 passed · 1 warning")
	tm.Send(pgdown)
	waitScreen(t, rec, flowWait, "Azure sign-in: Entra ID (device code).", "Could not find the managed instance in Azure Resource Manager", "Add to your allowlist (AzureCloud)")
	if testing.Verbose() {
		t.Logf("--- network options, scrolled ---\n%s", rec.screen())
	}
	tm.Send(keyEnter)
	waitScreen(t, rec, flowWait, "Actions, in order")
	tm.Send(keyEnter)
	waitScreen(t, rec, flowWait, "Result: all checks passed (exit code 0)")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnd})
	waitScreen(t, rec, flowWait, "Add to your allowlist (AzureCloud)", "https://login.microsoftonline.com/")
	if testing.Verbose() {
		t.Logf("--- results, end ---\n%s", rec.screen())
	}
	tm.Send(keyRune('q'))
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(flowWait)).(*recorder).m

	if got := fm.ExitCode(); got != steps.ExitOK {
		t.Errorf("exit code = %d, want 0", got)
	}
	rep := fm.Report()
	if rep == nil {
		t.Fatal("no report")
	}
	if rep.Cloud != steps.AzureCloud || len(rep.Allowlist) == 0 {
		t.Errorf("report: cloud %q, %d allowlist entries", rep.Cloud, len(rep.Allowlist))
	}
	var cloudPass, armWarn bool
	for _, f := range rep.Findings {
		if f.Server == "Azure" && f.ID == "cloud" && f.Severity == steps.Pass {
			cloudPass = true
		}
		if f.Server == "Azure" && f.ID == "azure-mi" && f.Severity == steps.Warn {
			armWarn = true
		}
	}
	if !cloudPass || !armWarn {
		t.Errorf("Azure findings: cloud pass %v, Resource Manager warning %v: %+v", cloudPass, armWarn, rep.Findings)
	}
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "Allowlist (AzureCloud)") || !strings.Contains(text.String(), "https://login.microsoftonline.com/") {
		t.Errorf("text report lacks the allowlist:\n%s", text.String())
	}
	mu.Lock()
	n := len(tokens)
	mu.Unlock()
	if n == 0 {
		t.Error("the managed instance never received an Entra token")
	}
	fake.mu.Lock()
	if len(fake.methods) != 1 || fake.methods[0] != steps.DeviceCode {
		t.Errorf("credentials built: %v (the Azure checks must reuse the login's)", fake.methods)
	}
	fake.mu.Unlock()
	if !fake.sawScope("https://database.windows.net/") || !fake.sawScope("https://management.core.windows.net/") {
		t.Error("the credential was not asked for both Azure SQL and Resource Manager tokens")
	}
	if fm.login.used.User != "" || fm.login.used.Password != "" || fm.login.used.Token == nil {
		t.Error("the Entra login used a user or password")
	}
	assertNoLeftovers(t, p)
}

func TestAccessibleEntraDeviceCode(t *testing.T) {
	p := startPair(t, "pass", 10*time.Millisecond)
	p.MI.SetTokenValidator(func(token string) (string, bool) { return "dba@contoso.com", token == fakeToken })
	fake := &fakeDeviceCredential{release: make(chan struct{})}
	close(fake.release)
	cfg := p.config()
	cfg.MI.Password = ""
	// Managed instance: server, port, authentication "2" (Entra device code), cloud,
	// tenant, encrypt, trust, CA file.
	mi := "\n\n" + "2\n" + "\n" + "\n" + "\n\n\n"
	input := sqlDefaults + mi + "\n\n\n" + "\n" + "\n"
	code, out, rep, logs, err := runAccessibleTest(t, Options{Config: cfg, Azure: AzureOptions{NewCredential: fake.factory}}, input)
	if err != nil || code != steps.ExitOK {
		t.Fatalf("Run = %d, %v\n%s", code, err, out)
	}
	for _, want := range []string{
		"Authentication (now SQL login):",
		"2. Entra device code: sign in from any browser, on any device; works over SSH",
		"Azure cloud (now AzureCloud):",
		"Entra tenant ID (GUID or domain; empty: your home tenant):",
		"Connecting to managed instance 127.0.0.1:",
		"with Entra ID (device code)",
		fakeDeviceMsg,
		"Azure (AzureCloud):",
		"PASS  sqlmi-demo.6d710bcf372b.database.windows.net is in AzureCloud",
		"Add to your allowlist (AzureCloud)",
		"  Microsoft Entra authority: https://login.microsoftonline.com/",
		"Result: all checks passed (exit code 0)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "User [miadmin]") || strings.Contains(out, "Password for the managed instance") {
		t.Errorf("asked for a user or password with Entra ID:\n%s", out)
	}
	if !strings.Contains(rep, "Allowlist (AzureCloud)") {
		t.Errorf("text report lacks the allowlist:\n%s", rep)
	}
	if strings.Contains(logs, fakeToken) || strings.Contains(out, fakeToken) {
		t.Error("the access token was printed or logged")
	}
	if len(fake.methods) != 1 || fake.methods[0] != steps.DeviceCode {
		t.Errorf("credentials built: %v", fake.methods)
	}
}

func TestExplainEntraError(t *testing.T) {
	china, _ := steps.LookupCloud(steps.AzureChinaCloud)
	dns := errors.New(`managed instance 10.0.0.5:1433: cannot connect: Entra access token for Azure SQL (https://database.chinacloudapi.cn/.default): dial tcp: lookup login.chinacloudapi.cn: no such host`)
	if got := explainEntraError(dns, china).Error(); !strings.Contains(got, "cannot reach Microsoft Entra ID at https://login.chinacloudapi.cn/") || !strings.Contains(got, "no such host") {
		t.Errorf("unreachable authority: %q", got)
	}
	expired := fmt.Errorf("wrapped: %w", errors.New("DeviceCodeCredential: AADSTS70020: the code expired"))
	if got := explainEntraError(expired, china).Error(); !strings.Contains(got, "device code expired") {
		t.Errorf("expired code: %q", got)
	}
	rejected := fmt.Errorf("managed instance x: %w: Login failed for user '<token-identified principal>'. (error 18456)", steps.ErrAuth)
	got := explainEntraError(rejected, china)
	if !errors.Is(got, steps.ErrAuth) || !strings.Contains(got.Error(), "FROM EXTERNAL PROVIDER") {
		t.Errorf("rejected token: %q", got)
	}
}
