package steps

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/milink/milink/sqlops"
)

// NetworkOptions is the Network Options step: the discovered managed instance
// parameters and the SQL Server address the managed instance should probe.
type NetworkOptions struct {
	MI           sqlops.MIParams `json:"mi"`
	SQLServerIP  string          `json:"sql_server_ip"`
	EndpointPort int             `json:"endpoint_port"`
	ProbeTimeout time.Duration   `json:"probe_timeout"`
	// ReuseEndpoint is the existing mirroring endpoint milink probes instead of creating
	// TEST_ENDPOINT (empty when milink creates its own).
	ReuseEndpoint string `json:"reuse_endpoint,omitempty"`
	// ProbeFrom says where the SQL Server → MI probes run: ProbeAuto (default),
	// ProbeAgent, ProbeLocal, ProbeSSH or ProbeManual.
	ProbeFrom string `json:"probe_from,omitempty"`
	// SSHHost is the SQL Server host for ProbeSSH ([user@]host[:port]); in auto mode a
	// non-empty SSHHost makes a Linux SQL Server's probes run over SSH.
	SSHHost string `json:"ssh_host,omitempty"`
}

// Where the SQL Server → managed instance probes run.
const (
	ProbeAuto   = "auto"   // Agent job on Windows; on Linux, this host if it is the SQL Server host, else manual
	ProbeAgent  = "agent"  // an Agent job on SQL Server (Windows only)
	ProbeLocal  = "local"  // TCP connects from the machine milink runs on (the SQL Server host)
	ProbeManual = "manual" // print a command to run on the SQL Server host
	ProbeSSH    = "ssh"    // run the probes on the SQL Server host over SSH (SQL Server on Linux)
)

// Validate checks the options before they reach a job step.
func (n NetworkOptions) Validate() error {
	switch n.ProbeFrom {
	case "", ProbeAuto, ProbeAgent, ProbeLocal, ProbeManual, ProbeSSH:
	default:
		return fmt.Errorf("probe from: %w: %q is not auto, agent, local, ssh or manual", sqlops.ErrInvalidInput, n.ProbeFrom)
	}
	if err := sqlops.ValidateHost(n.SQLServerIP); err != nil {
		return fmt.Errorf("SQL Server IP: %w", err)
	}
	if err := sqlops.ValidatePort(n.EndpointPort); err != nil {
		return fmt.Errorf("endpoint port: %w", err)
	}
	for _, t := range n.Targets() {
		if err := t.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// Targets are the probes of both directions, SQL Server → MI first.
func (n NetworkOptions) Targets() []sqlops.ProbeTarget {
	return append(n.SQLToMITargets(), n.MIToSQLTarget())
}

// SQLToMITargets are the probes the SQL Server job runs: the MI on 5022 and on its
// current node's HADR port.
func (n NetworkOptions) SQLToMITargets() []sqlops.ProbeTarget {
	return []sqlops.ProbeTarget{
		{Label: "Test Port 5022", Host: n.MI.FQDN, Port: 5022, Timeout: n.ProbeTimeout},
		{Label: "Test HADR Port", Host: n.MI.Node, Port: n.MI.HadrPort, Timeout: n.ProbeTimeout},
	}
}

// MIToSQLTarget is the probe the managed instance's NetHelper job runs.
func (n NetworkOptions) MIToSQLTarget() sqlops.ProbeTarget {
	return sqlops.ProbeTarget{Label: "TNC network probe from SQL MI to SQL Server", Host: n.SQLServerIP, Port: n.EndpointPort, Timeout: n.ProbeTimeout}
}

// AddressWarning explains why an address is unlikely to be reachable from Azure, or "".
func AddressWarning(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	switch {
	case a.IsLoopback():
		return ip + " is a loopback address: the managed instance cannot reach it. Give the address of SQL Server as seen from the managed instance's virtual network."
	case a.IsLinkLocalUnicast():
		return ip + " is a link-local address: the managed instance cannot reach it."
	}
	return ""
}
