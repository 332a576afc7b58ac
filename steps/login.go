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
	Server sqlops.ServerInfo `json:"server"`
	Params sqlops.MIParams   `json:"params"`
	// Permissions are the managed instance login's (sysadmin, Agent role, SID).
	Permissions sqlops.Permissions `json:"permissions"`
	// ServiceTier is sqlops.TierGeneralPurpose or TierBusinessCritical as
	// master.sys.server_resource_stats reports it; "" when unknown (no row yet, or the
	// view could not be read).
	ServiceTier string `json:"service_tier,omitempty"`
	// UpdateType is SERVERPROPERTY('ProductUpdateType'): "CU" (the SQL Server 2022
	// or 2025 update policy), "Continuous" (Always-up-to-date), "" when unread.
	UpdateType string    `json:"update_type,omitempty"`
	Findings   []Finding `json:"findings"`
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
	m.Permissions = perms
	if tier, err := c.MIServiceTier(ctx); err == nil { // unknown otherwise: Resource Manager may still tell
		m.ServiceTier = tier
	}
	if t, err := c.MIUpdateType(ctx); err == nil { // unknown otherwise: Resource Manager may still tell
		m.UpdateType = t
	}
	if f := miPermissionFinding(perms); f != nil {
		m.Findings = append(m.Findings, *f)
	}
	return m, nil
}

// CanRunNetHelper reports whether the login can create NetHelper and have its
// PowerShell step run: see miPermissionFinding.
func (m *ManagedInstance) CanRunNetHelper() bool {
	return miPermissionFinding(m.Permissions) == nil
}

// miPermissionFinding says what the managed instance login lacks to run NetHelper, or
// nil. sp_add_job without @owner_login_name makes the caller the owner; a PowerShell
// step of a non-sysadmin owner needs a proxy, and a managed instance has none, so only
// a sysadmin's step runs (Agent roles can create the job, the step is then denied:
// https://learn.microsoft.com/azure/azure-sql/managed-instance/job-automation-managed-instance#sql-agent-fixed-database-role-membership).
// An Entra user who is admin only through an Entra group (SUSER_SID() NULL) cannot
// own Agent jobs (T-SQL differences, SQL Server Agent).
func miPermissionFinding(p sqlops.Permissions) *Finding {
	f := &Finding{ID: "mi-permissions", Server: serverMI, Severity: Fail}
	switch {
	case p.NoSID:
		f.Title = fmt.Sprintf("Login %s is on the managed instance only through an Entra group", p.Login)
		f.Detail = "SUSER_SID() is NULL for it: such a user cannot create or run SQL Agent jobs on a managed instance, so NetHelper cannot run. Sign in with an Entra user or SQL login mapped directly (CREATE LOGIN [user@contoso.com] FROM EXTERNAL PROVIDER) that is sysadmin."
	case p.Sysadmin:
		return nil
	case p.AgentOperator:
		f.Title = fmt.Sprintf("Login %s is not sysadmin on the managed instance", p.Login)
		f.Detail = "It may create NetHelper (msdb's SQLAgentOperatorRole), but a PowerShell job step owned by a non-sysadmin needs a proxy, and a managed instance has no proxies: the step would not run. Connect as a sysadmin login."
	default:
		f.Title = fmt.Sprintf("Login %s can't create Agent jobs on the managed instance", p.Login)
		f.Detail = "The managed instance → SQL Server test runs as an Agent job with a PowerShell step, which on a managed instance (no proxies) only a sysadmin's job runs. Connect as a sysadmin login."
	}
	f.Fixes = []Fix{{Platform: "T-SQL", Command: fmt.Sprintf("ALTER SERVER ROLE sysadmin ADD MEMBER %s;   -- on the managed instance, as an admin", sqlops.QuoteIdentifier(p.Login))}}
	return f
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}
