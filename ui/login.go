package ui

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps"
)

// loginModel is the Login page: the managed instance's connection form; after
// "Validate" (Enter) milink connects and discovers the instance's FQDN, current node
// and HADR port (steps.DiscoverMI).
//
// Authentication offers "SQL login" only; the Entra ID seam is in form.go (authChoices).
type loginModel struct {
	connStep
	mi *steps.ManagedInstance
}

func newLoginModel(cfg steps.Config) loginModel {
	return loginModel{connStep: newConnStep(cfg.MI, "<name>.<dns-zone>.database.windows.net")}
}

func (p *loginModel) validate(ctx context.Context) tea.Cmd {
	cfg, ok := p.startValidation("Connecting to the managed instance " + p.formAddress() + " …")
	if !ok {
		return nil
	}
	p.mi = nil
	gen := p.gen
	return connectCmd(ctx, cfg, func(c *sqlops.Conn, err error) tea.Msg {
		return miConnectedMsg{gen: gen, cfg: cfg, conn: c, err: err}
	})
}

func (p *loginModel) formAddress() string {
	c, _ := connConfig(&p.form, p.base)
	return c.Address()
}

func (p *loginModel) connected(ctx context.Context, msg miConnectedMsg) tea.Cmd {
	if msg.err != nil {
		return p.failed(msg.err)
	}
	p.used = msg.cfg
	p.busy = "Discovering the managed instance's FQDN, node and HADR port …"
	return discoverMICmd(ctx, msg.conn, msg.gen)
}

func (p *loginModel) discovered(msg miDiscoveredMsg) tea.Cmd {
	if msg.err != nil {
		return p.failed(fmt.Errorf("discovery failed: %w", msg.err))
	}
	p.mi = msg.mi
	p.succeeded()
	return nil
}

func (p *loginModel) update(ctx context.Context, msg tea.Msg, keys keyMap) (tea.Cmd, nav) {
	cmd, n := p.handleKey(msg, keys, func() tea.Cmd { return p.validate(ctx) })
	if n == navNext && p.mi == nil {
		n = navNone
	}
	return cmd, n
}

func (p *loginModel) setSize(width, height int) {
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
	}, width))
	b.WriteString("\n")
	b.WriteString(renderFindings(m.Findings, "Windows", width))
	return b.String()
}

func (p *loginModel) view(width, height int) string { return p.render(width, height) }

func (p *loginModel) help(keys keyMap) bindings {
	switch {
	case p.busy != "":
		return bindings{keys.Back, keys.Quit}
	case p.reviewing:
		return bindings{keys.Next, keys.Rerun, keys.Edit, keys.Scroll, keys.Back, keys.Quit}
	}
	return bindings{keys.Validate, keys.NextField, keys.Change, keys.Back, keys.Quit}
}
