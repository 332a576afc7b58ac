package steps

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/milink/milink/sqlops"
)

// Default object names, as in Microsoft's scripts and SSMS's Network Checker.
const (
	SQLJobName   = "TestMILinkConnection"
	MIJobName    = "NetHelper"
	CertName     = "TEST_CERT"
	EndpointName = "TEST_ENDPOINT"
)

// Action is one thing the run will do, on one server, in order.
type Action struct {
	Server      string `json:"server"`
	Description string `json:"description"`
	Detail      string `json:"detail,omitempty"`
}

// Plan is the Summary step: every decision taken before anything is created.
type Plan struct {
	RunID   string         `json:"run_id"`
	Options NetworkOptions `json:"options"`

	SQLJobName     string `json:"sql_job_name"`
	MIJobName      string `json:"mi_job_name"`
	CertName       string `json:"cert_name,omitempty"`
	EndpointName   string `json:"endpoint_name,omitempty"`
	CreateEndpoint bool   `json:"create_endpoint"`
	SkipSQLPS      bool   `json:"-"`
	// Platform is SQL Server's host platform ("Windows" or "Linux"): the fallback
	// command printed for the SQL Server host is PowerShell or bash accordingly.
	Platform string `json:"platform,omitempty"`

	RunSQLToMI        bool   `json:"run_sql_to_mi"`
	SQLToMIMode       string `json:"sql_to_mi_mode"` // ProbeAgent, ProbeLocal or ProbeManual
	SQLToMISkipReason string `json:"sql_to_mi_skip_reason,omitempty"`
	RunMIToSQL        bool   `json:"run_mi_to_sql"`
	MIToSQLSkipReason string `json:"mi_to_sql_skip_reason,omitempty"`

	// Leftovers of earlier milink runs that are in the way and are removed first.
	SQLLeftovers sqlops.Leftovers `json:"-"`
	MILeftovers  sqlops.Leftovers `json:"-"`

	Findings []Finding `json:"findings,omitempty"` // decisions the user should know about
	Actions  []Action  `json:"actions"`
}

// buildPlan decides object names (never taking over a user's object), whether an
// existing mirroring endpoint is reused, which directions can run, and lists the exact
// actions. It only reads from the instances.
func buildPlan(ctx context.Context, sqlc, mic *sqlops.Conn, pre *Prerequisites, mi *ManagedInstance, opts NetworkOptions, runID string) (*Plan, error) {
	if opts.RangePorts == nil {
		opts.RangePorts = defaultRangePorts(opts.MI.Node, opts.MI.HadrPort)
	}
	p := &Plan{RunID: runID, Options: opts, RunSQLToMI: true, RunMIToSQL: true, Platform: pre.Platform()}
	if v, err := ParseVersion(pre.Server.ProductVersion); err == nil && v[0] >= 15 {
		p.SkipSQLPS = true
	}
	suffix := nameSuffix(runID)
	var err error
	// Leftovers of earlier runs, whatever their names (a suffixed TestMILinkConnection_…
	// or TEST_ENDPOINT_… too): the same discovery as milink cleanup, so check removes
	// what cleanup would. Only a sysadmin can remove them, so only then are they looked for.
	if !pre.NotSysadmin() {
		p.SQLLeftovers = p.findLeftovers(ctx, sqlc, serverSQL)
	}
	if mi.CanRunNetHelper() {
		p.MILeftovers = p.findLeftovers(ctx, mic, serverMI)
	}
	// Where the SQL Server → MI probes run decides whether a job is needed there. A
	// login that is not sysadmin can't run the job's PowerShell steps (and, outside
	// msdb's Agent roles, can't even read msdb.dbo.sysjobs: Msg 229).
	p.SQLJobName = SQLJobName
	p.decideSQLToMI(pre, sqlc.Cfg.Host)
	if p.RunSQLToMI && p.SQLToMIMode == ProbeAgent && pre.NotSysadmin() {
		p.RunSQLToMI = false
		p.SQLToMISkipReason = fmt.Sprintf("login %s is not sysadmin on SQL Server: its Agent job could not run PowerShell steps without a proxy; run milink as sysadmin, or run the command below on the SQL Server host", pre.Permissions.Login)
	}
	if p.RunSQLToMI && p.SQLToMIMode == ProbeAgent {
		if p.SQLJobName, err = chooseJobName(ctx, sqlc, SQLJobName, suffix, serverSQL, p, &p.SQLLeftovers); err != nil {
			return nil, err
		}
	}
	if !mi.CanRunNetHelper() {
		// Decided before NetHelper's name is looked up: a login only in msdb's Agent
		// roles can't read msdb.dbo.sysjobs (Msg 229).
		p.RunMIToSQL, p.MIToSQLSkipReason = false, "the managed instance login cannot run NetHelper's PowerShell step (only a sysadmin's job runs one there): see the managed instance permission finding"
	} else if p.MIJobName, err = chooseJobName(ctx, mic, MIJobName, suffix, serverMI, p, &p.MILeftovers); err != nil {
		return nil, err
	}

	// Endpoint: reuse a user's mirroring endpoint; replace only a milink leftover whose
	// run is over; never touch a live run's.
	if ep := pre.MirroringEndpoint(); ep != nil {
		run, ours := sqlc.OwnedEndpoint(ep.Name, ep.CertificateName, ep.CertificateSubject)
		live := false
		if ours {
			if live, err = sqlc.RunLive(ctx, run); err != nil {
				return nil, err
			}
		}
		if live {
			p.RunMIToSQL = false
			p.MIToSQLSkipReason = fmt.Sprintf("the only database mirroring endpoint, %s, belongs to milink run %s, which is still running: run milink again when it has finished", ep.Name, run)
		} else if ours {
			if !slices.ContainsFunc(p.SQLLeftovers.Endpoints, func(x sqlops.Endpoint) bool { return x.Name == ep.Name }) {
				p.SQLLeftovers.Endpoints = append(p.SQLLeftovers.Endpoints, sqlops.Endpoint{Name: ep.Name, Port: ep.Port})
			}
			if ep.CertificateName != "" {
				p.SQLLeftovers.Certificates = appendCertOnce(p.SQLLeftovers.Certificates, sqlops.Certificate{Name: ep.CertificateName, Subject: ep.CertificateSubject})
			}
			p.CreateEndpoint = true
		} else {
			p.ReuseEndpoint(ep)
		}
	} else {
		p.CreateEndpoint = true
	}
	if p.CreateEndpoint && p.RunMIToSQL && pre.NotSysadmin() {
		p.RunMIToSQL = false
		p.MIToSQLSkipReason = fmt.Sprintf("login %s is not sysadmin on SQL Server, so milink cannot create the test certificate and endpoint the managed instance would probe; run milink as sysadmin (no mirroring endpoint exists to reuse)", pre.Permissions.Login)
	}
	if p.CreateEndpoint && p.RunMIToSQL {
		if p.CertName, err = chooseCertName(ctx, sqlc, suffix, p); err != nil {
			return nil, err
		}
		if p.EndpointName, err = chooseEndpointName(ctx, sqlc, suffix, p); err != nil {
			return nil, err
		}
	}

	p.decideMIToSQL(pre)
	if err := opts.validate(p.RunMIToSQL); err != nil {
		return nil, err
	}
	p.Actions = p.actions(pre)
	return p, nil
}

// decideSQLToMI chooses how the SQL Server → MI probes run. SQL Agent on Linux cannot
// run PowerShell steps, so there milink probes from this machine when it is the SQL
// Server host, and otherwise prints the command to run there.
func (p *Plan) decideSQLToMI(pre *Prerequisites, sqlHost string) {
	mode := p.Options.ProbeFrom
	if mode == "" || mode == ProbeAuto {
		switch {
		case !pre.Linux():
			mode = ProbeAgent
		case p.Options.SSHHost != "": // --ssh given: never silently "this host"
			mode = ProbeSSH
		case onSQLServerHost(pre, sqlHost):
			mode = ProbeLocal
		default:
			mode = ProbeManual
		}
	}
	p.SQLToMIMode = mode
	switch {
	case mode == ProbeAgent && pre.Linux():
		p.RunSQLToMI = false
		p.SQLToMISkipReason = "SQL Server runs on Linux, where SQL Agent cannot run PowerShell steps: run milink on the SQL Server host (--probe-from local) or run the command below there."
	case mode == ProbeAgent && pre.Agent.Known() && !pre.Agent.Running():
		p.RunSQLToMI = false
		p.SQLToMISkipReason = "SQL Server Agent is not running on SQL Server: start it and run milink again, or run the command below on the SQL Server host."
		if pre.Agent.ServiceRunning() {
			p.SQLToMISkipReason = "'Agent XPs' is 0 on SQL Server, so no Agent job can run: EXEC sp_configure 'Agent XPs', 1; RECONFIGURE; and run milink again, or run the command below on the SQL Server host."
		}
	case mode == ProbeManual:
		p.RunSQLToMI = false
		p.SQLToMISkipReason = "the SQL Server → managed instance probe must run on the SQL Server host: run the command below there."
		if pre.Linux() {
			p.SQLToMISkipReason = "SQL Server runs on Linux, where SQL Agent cannot run PowerShell steps, and milink is not running on the SQL Server host: run the command below there (or run milink there)."
		}
	}
}

// ReuseEndpoint makes the plan probe the user's existing mirroring endpoint.
func (p *Plan) ReuseEndpoint(ep *sqlops.MirroringEndpoint) {
	p.CreateEndpoint = false
	p.Options.ReuseEndpoint = ep.Name
	p.Options.EndpointPort = ep.Port
	p.Findings = append(p.Findings, Finding{ID: "endpoint-reuse", Server: serverSQL, Severity: Info,
		Title:  fmt.Sprintf("Reusing the existing endpoint %s on port %d", ep.Name, ep.Port),
		Detail: "Only one database mirroring endpoint can exist; milink probes it and does not change or drop it."})
}

// findLeftovers is what sqlops.FindLeftovers (milink cleanup's discovery) finds
// removable on c: objects of earlier milink runs that are over. When it cannot look, a
// finding says so and nothing is removed.
func (p *Plan) findLeftovers(ctx context.Context, c *sqlops.Conn, server string) sqlops.Leftovers {
	l, err := c.FindLeftovers(ctx)
	if err != nil {
		p.Findings = append(p.Findings, Finding{ID: "leftovers", Server: server, Severity: Info,
			Title:  "Could not look for objects left by earlier milink runs",
			Detail: err.Error() + ". milink cleanup lists and removes them."})
		return sqlops.Leftovers{}
	}
	return sqlops.Leftovers{Jobs: l.Jobs, Endpoints: l.Endpoints, Certificates: l.Certificates}
}

func chooseJobName(ctx context.Context, c *sqlops.Conn, base, suffix, server string, p *Plan, left *sqlops.Leftovers) (string, error) {
	j, err := c.JobByName(ctx, base)
	if err != nil {
		return "", err
	}
	if j == nil {
		return base, nil
	}
	name := base + suffix
	title := fmt.Sprintf("A job named %s already exists and was not created by milink", base)
	if run, ours := c.OwnsJob(*j); ours {
		live, err := c.RunLive(ctx, run)
		if err != nil {
			return "", err
		}
		if !live {
			if !slices.ContainsFunc(left.Jobs, func(x sqlops.Job) bool { return x.Name == j.Name }) {
				left.Jobs = append(left.Jobs, *j)
			}
			return base, nil
		}
		title = fmt.Sprintf("The job %s belongs to milink run %s, which is still running", base, run)
	}
	p.Findings = append(p.Findings, Finding{ID: "job-name:" + base, Server: server, Severity: Warn,
		Title:  title,
		Detail: fmt.Sprintf("milink leaves it untouched and uses the job name %s instead.", name)})
	return name, nil
}

// leftover reports whether the milink object of kind called name, marked in text, is a
// leftover of a run that is over (its run lock is free).
func leftover(ctx context.Context, c *sqlops.Conn, kind, name, text string) (bool, error) {
	run, ours := c.Owns(kind, name, text)
	if !ours {
		return false, nil
	}
	live, err := c.RunLive(ctx, run)
	return !live, err
}

func chooseCertName(ctx context.Context, c *sqlops.Conn, suffix string, p *Plan) (string, error) {
	ce, err := c.CertificateByName(ctx, CertName)
	if err != nil || ce == nil {
		return CertName, err
	}
	if old, err := leftover(ctx, c, sqlops.KindCertificate, ce.Name, ce.Subject); err != nil {
		return "", err
	} else if old {
		p.SQLLeftovers.Certificates = appendCertOnce(p.SQLLeftovers.Certificates, *ce)
		return CertName, nil
	}
	name := CertName + suffix
	p.Findings = append(p.Findings, Finding{ID: "cert-name", Server: serverSQL, Severity: Info,
		Title:  "A certificate named TEST_CERT already exists and is not a leftover of milink",
		Detail: "milink leaves it untouched and uses " + name + " instead."})
	return name, nil
}

func appendCertOnce(list []sqlops.Certificate, c sqlops.Certificate) []sqlops.Certificate {
	for _, x := range list {
		if x.Name == c.Name {
			return list
		}
	}
	return append(list, c)
}

func chooseEndpointName(ctx context.Context, c *sqlops.Conn, suffix string, p *Plan) (string, error) {
	e, err := c.EndpointByName(ctx, EndpointName)
	if err != nil || e == nil {
		return EndpointName, err
	}
	if run, ours := c.OwnedEndpoint(e.Name, e.CertificateName, e.CertificateSubject); ours {
		if live, err := c.RunLive(ctx, run); err != nil {
			return "", err
		} else if !live {
			return EndpointName, nil
		}
	}
	name := EndpointName + suffix
	p.Findings = append(p.Findings, Finding{ID: "endpoint-name", Server: serverSQL, Severity: Info,
		Title:  "An endpoint named TEST_ENDPOINT already exists and is not a leftover of milink",
		Detail: "milink leaves it untouched and uses " + name + " instead."})
	return name, nil
}

func (p *Plan) actions(pre *Prerequisites) []Action {
	var a []Action
	o := p.Options
	for _, j := range p.SQLLeftovers.Jobs {
		a = append(a, Action{serverSQL, "Delete job " + j.Name + " left by an earlier milink run", ""})
	}
	for _, e := range p.SQLLeftovers.Endpoints {
		a = append(a, Action{serverSQL, "Drop endpoint " + e.Name + " left by an earlier milink run", ""})
	}
	for _, c := range p.SQLLeftovers.Certificates {
		a = append(a, Action{serverSQL, "Drop certificate " + c.Name + " left by an earlier milink run", ""})
	}
	for _, j := range p.MILeftovers.Jobs {
		a = append(a, Action{serverMI, "Delete job " + j.Name + " left by an earlier milink run", ""})
	}
	agentJob := p.RunSQLToMI && p.SQLToMIMode == ProbeAgent
	if agentJob {
		t := o.SQLToMITargets()
		a = append(a, Action{serverSQL, fmt.Sprintf("Create Agent job %s with one PowerShell step", p.SQLJobName),
			fmt.Sprintf("it probes %s and %s%s at once (timed TCP connects, %s each)", hostPort(t[0].Host, t[0].Port), hostPort(t[1].Host, t[1].Port), rangeNote(o.RangePorts), o.ProbeTimeout)})
		a = append(a, Action{serverSQL, "Start job " + p.SQLJobName + " and read its history", ""})
	} else if p.RunSQLToMI && p.SQLToMIMode == ProbeSSH {
		t := o.SQLToMITargets()
		via := o.SSHHost
		if via == "" {
			via = "the SQL Server host"
		}
		a = append(a, Action{serverSQL + " host", fmt.Sprintf("Over SSH to %s, probe %s and %s from the SQL Server host", via, hostPort(t[0].Host, t[0].Port), hostPort(t[1].Host, t[1].Port)), "bash /dev/tcp connects; nothing is created"})
	} else if p.RunSQLToMI {
		t := o.SQLToMITargets()
		a = append(a, Action{"This host", fmt.Sprintf("Probe %s and %s from this machine (the SQL Server host)", hostPort(t[0].Host, t[0].Port), hostPort(t[1].Host, t[1].Port)), "timed TCP connects; nothing is created"})
	}
	if p.RunMIToSQL {
		if p.CreateEndpoint {
			a = append(a, Action{serverSQL, "Create certificate " + p.CertName, "temporary, its subject marked for run " + p.RunID + " with this machine's milink key"})
			a = append(a, Action{serverSQL, fmt.Sprintf("Create endpoint %s on port %d (DATABASE_MIRRORING, STARTED)", p.EndpointName, o.EndpointPort), "certificate authentication, AES encryption"})
		} else {
			a = append(a, Action{serverSQL, fmt.Sprintf("Use the existing endpoint %s on port %d (unchanged)", o.ReuseEndpoint, o.EndpointPort), ""})
		}
		a = append(a, Action{serverMI, fmt.Sprintf("Create Agent job %s with one PowerShell step", p.MIJobName),
			fmt.Sprintf("probes %s (timed TCP connect, %s)", hostPort(o.SQLServerIP, o.EndpointPort), o.ProbeTimeout)})
		a = append(a, Action{serverMI, "Start job " + p.MIJobName + " and read its step log", ""})
	}
	if agentJob {
		a = append(a, Action{serverSQL, "Delete job " + p.SQLJobName, "always, also on failure or Ctrl-C"})
	}
	if p.RunMIToSQL {
		if p.CreateEndpoint {
			a = append(a, Action{serverSQL, "Drop endpoint " + p.EndpointName + " and certificate " + p.CertName, "always, only if they are milink's of this run (name and keyed mark)"})
		}
		a = append(a, Action{serverMI, "Delete job " + p.MIJobName, "always, only if it is milink's of this run (name and keyed mark)"})
	}
	return a
}

// nameSuffix is what run runID adds to a name that is taken: "_milink_" and the first
// eight hex digits of the run id.
func nameSuffix(runID string) string { return "_milink_" + runID[:8] }

// bumpName is the next name after name for a run whose suffix is suffix: name+suffix
// the first time, then name+suffix+"_2", "_3", ...
func bumpName(name, suffix string) string {
	i := strings.LastIndex(name, suffix)
	if i < 0 {
		return name + suffix
	}
	rest := name[i+len(suffix):]
	if rest == "" {
		return name + "_2"
	}
	if n, err := strconv.Atoi(strings.TrimPrefix(rest, "_")); err == nil && strings.HasPrefix(rest, "_") {
		return name[:i+len(suffix)] + "_" + strconv.Itoa(n+1)
	}
	return name + suffix
}
