package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/milink/milink/sqlops"
)

// ManagedInstance is the outcome of the Login step: who the managed instance is and
// its current HADR parameters.
type ManagedInstance struct {
	Server   sqlops.ServerInfo `json:"server"`
	Params   sqlops.MIParams   `json:"params"`
	Findings []Finding         `json:"findings"`
}

const serverMI = "Managed instance"

// discoverMI reads the managed instance's identity and HADR parameters (FQDN, current
// node, HADR port); they can change after any failover, so they are read every run.
func discoverMI(ctx context.Context, c *sqlops.Conn) (*ManagedInstance, error) {
	m := &ManagedInstance{}
	var err error
	if m.Server, err = c.ServerInfo(ctx); err != nil {
		return nil, err
	}
	if !m.Server.IsManagedInstance() {
		return nil, fmt.Errorf("%s is not an Azure SQL Managed Instance (EngineEdition %d, %s)", c.Cfg.Address(), m.Server.EngineEdition, firstLine(m.Server.VersionText))
	}
	if m.Params, err = c.MIParams(ctx); err != nil {
		return nil, err
	}
	m.Findings = append(m.Findings, Finding{ID: "mi", Server: serverMI, Severity: Pass,
		Title:  "Connected to managed instance " + m.Params.FQDN,
		Detail: fmt.Sprintf("Current node %s, HADR port %d.", m.Params.Node, m.Params.HadrPort)})
	perms, err := c.Permissions(ctx)
	if err != nil {
		return nil, err
	}
	if !perms.Sysadmin && !perms.AgentOperator {
		m.Findings = append(m.Findings, Finding{ID: "mi-permissions", Server: serverMI, Severity: Fail,
			Title:  fmt.Sprintf("Login %s can't create Agent jobs on the managed instance", perms.Login),
			Detail: "The managed instance → SQL Server test runs as an Agent job: the login needs sysadmin or msdb's SQLAgentOperatorRole."})
	}
	return m, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}
