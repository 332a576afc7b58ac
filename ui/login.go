package ui

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/milink/milink/steps"
)

// loginModel is the Login page: the managed instance's connection form; after
// "Validate" (Enter) milink connects and discovers the instance's FQDN, current node
// and HADR port (Session.DiscoverMI).
//
// Authentication is a SQL login or a Microsoft Entra ID method (device code, Azure CLI,
// service principal, managed identity, default chain); with Entra the credential is
// built and the token fetched inside the connect command, and a device code prompt is
// shown on the page while milink waits for the sign-in. The Cloud choice also selects
// the allowlist and the Azure checks of the Network Options page.
type loginModel struct {
	connStep
	mi      *steps.ManagedInstance
	az      azureSetup
	prompt  func(ctx context.Context, message, userCode, url string) error // every credential's DeviceCodePrompt
	cred    steps.Credential                                               // Entra credential of the last Entra validation (reused while its key is the same)
	credKey string
	devCode *deviceCodeMsg     // device code to show while signing in
	cancel  context.CancelFunc // cancels the running validation
}

func newLoginModel(cfg steps.Config, az azureSetup, prompt func(ctx context.Context, message, userCode, url string) error) loginModel {
	ef := &entraForm{method: az.miMethod, cloud: az.cloud, tenant: az.tenant, tenantAlways: az.armSignsIn()}
	return loginModel{
		connStep: newConnStep(newConnForm(cfg.MI, "<name>.<dns-zone>.database.windows.net", ef), cfg.MI),
		az:       az, prompt: prompt,
	}
}

func (p *loginModel) validate(ctx context.Context, sess *steps.Session) tea.Cmd {
	method := p.form.authMethod()
	busy := "Connecting to the managed instance " + p.formAddress() + " …"
	if method != "" {
		busy = "Signing in to Entra ID (" + methodName(method) + ") and connecting to the managed instance " + p.formAddress() + " …"
	}
	cfg, ok := p.startValidation(busy)
	if !ok {
		return nil
	}
	p.mi = nil
	p.devCode = nil
	if p.cancel != nil {
		p.cancel()
	}
	cctx, tick := p.beginBusy(ctx, cfg)
	p.cancel = p.stop
	gen := p.gen
	if method == "" {
		return tea.Batch(miConnectCmd(cctx, sess, cfg, gen), tick)
	}
	cloud := p.form.cloud()
	opts := steps.CredentialOptions{TenantID: p.form.tenant(), ClientID: p.az.clientID, DeviceCodePrompt: p.prompt}
	e := entraLogin{method: method, cloud: cloud, opts: opts, key: credKey(method, cloud.Name, opts.TenantID, opts.ClientID), newCred: p.az.newCred}
	if e.key == p.credKey {
		e.cred = p.cred // signed in already (or signing in): no second device code
	}
	return tea.Batch(entraConnectCmd(withPromptTag(cctx, promptTag{purpose: promptLogin, gen: gen}), sess, cfg, e, gen), tick)
}

// abandon stops a running validation (Esc while connecting or signing in).
func (p *loginModel) abandon() {
	if p.busy == "" {
		return
	}
	if p.cancel != nil {
		p.cancel()
	}
	p.gen++ // the reply of the abandoned validation is dropped
	p.busy, p.devCode, p.notice = "", nil, ""
}

func (p *loginModel) formAddress() string {
	c, _ := connConfig(&p.form, p.base)
	return c.Address()
}

// showDeviceCode displays a device code prompt of the running validation.
func (p *loginModel) showDeviceCode(msg deviceCodeMsg) {
	if p.busy == "" || (msg.tag.purpose == promptLogin && msg.tag.gen != p.gen) {
		return
	}
	p.devCode = &msg
}

func (p *loginModel) connected(ctx context.Context, sess *steps.Session, msg miConnectedMsg) tea.Cmd {
	if msg.cred != nil {
		p.cred, p.credKey = msg.cred, msg.credKey
	}
	p.devCode = nil
	if msg.err != nil {
		if msg.method == "" {
			return p.failed(msg.err)
		}
		err := explainEntraError(msg.err, p.form.cloud())
		var ex explainedError
		if errors.As(err, &ex) {
			return p.failedAt(err, cfAuth)
		}
		return p.failed(err)
	}
	p.used, p.usedAuth = msg.cfg, msg.method
	p.busy = "Discovering the managed instance's FQDN, node and HADR port …"
	return discoverMICmd(ctx, sess, msg.gen)
}

func (p *loginModel) discovered(msg miDiscoveredMsg) tea.Cmd {
	if msg.err != nil {
		return p.failed(fmt.Errorf("discovery failed: %w", msg.err))
	}
	p.mi = msg.mi
	p.succeeded()
	return nil
}

func (p *loginModel) update(ctx context.Context, sess *steps.Session, msg tea.Msg, keys keyMap) (tea.Cmd, nav) {
	cmd, n := p.handleKey(msg, keys, func() tea.Cmd { return p.validate(ctx, sess) })
	if n == navNext && p.mi == nil {
		n = navNone
	}
	if n == navBack {
		p.abandon()
	}
	return cmd, n
}

// entraUsed is the Entra method, credential and its key of the validated login (""
// and nil for a SQL login).
func (p *loginModel) entraUsed() (steps.AuthMethod, steps.Credential, string) {
	if p.usedAuth == "" || p.used.Token == nil {
		return "", nil, ""
	}
	return p.usedAuth, p.cred, p.credKey
}

func (p *loginModel) setSize(width, height int) {
	p.notice = ""
	if p.busy != "" && p.devCode != nil {
		p.notice = renderDeviceCode(*p.devCode, width, "milink waits for the sign-in (up to 5 minutes); Esc stops waiting.")
	}
	p.arrange(width, height, "Managed instance: milink connects, reads its current HADR parameters (they change after a failover) and checks the login.", p.outcome(width))
}

func (p *loginModel) outcome(width int) string {
	if p.mi == nil || !p.reviewing {
		return ""
	}
	m := p.mi
	var b strings.Builder
	b.WriteString(kv([][2]string{
		{"FQDN", m.Params.FQDN},
		{"Current node", m.Params.Node},
		{"HADR port", strconv.Itoa(m.Params.HadrPort)},
		{"Version", strings.TrimSpace(m.Server.ProductVersion + " " + m.Server.Edition)},
		{"Cloud", p.form.cloud().Name},
	}, width))
	b.WriteString("\n")
	b.WriteString(renderFindings(m.Findings, "Windows", width, nil))
	return b.String()
}

func (p *loginModel) view(width, height int) string { return p.render(width, height) }

func (p *loginModel) help(keys keyMap) bindings {
	switch {
	case p.busy != "":
		return bindings{withHelp(keys.Back, "esc", "stop and go back"), keys.Quit}
	case p.reviewing:
		return bindings{keys.Next, keys.Rerun, keys.Edit, keys.Scroll, keys.Back, keys.Quit}
	}
	return bindings{keys.Validate, keys.NextField, keys.Change, keys.Back, keys.Quit}
}
