package steps

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps/probe"
)

// hostPort is host:port as shown to people, an IPv6 address in brackets
// ([fe80::1]:5022), as net.JoinHostPort writes it.
func hostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }

// NetworkOptions is the Network Options step: the discovered managed instance
// parameters and the SQL Server address the managed instance should probe.
type NetworkOptions struct {
	MI           sqlops.MIParams `json:"mi"`
	SQLServerIP  string          `json:"sql_server_ip"`
	EndpointPort int             `json:"endpoint_port"`
	ProbeTimeout time.Duration   `json:"-"` // "probe_timeout_s" in JSON
	// ReuseEndpoint is the existing mirroring endpoint milink probes instead of creating
	// TEST_ENDPOINT (empty when milink creates its own).
	ReuseEndpoint string `json:"reuse_endpoint,omitempty"`
	// ProbeFrom says where the SQL Server → MI probes run: ProbeAuto (default),
	// ProbeAgent, ProbeLocal, ProbeSSH or ProbeManual.
	ProbeFrom string `json:"probe_from,omitempty"`
	// RangePorts are more ports of the managed instance's HADR range 11000-11999 probed at
	// its node besides HadrPort (the NSG must allow the whole range: the node's port
	// changes after a failover); buildPlan picks 11000, 11999 and one at random when nil.
	RangePorts []int `json:"range_ports,omitempty"`
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
func (n NetworkOptions) Validate() error { return n.validate(true) }

// validate checks the options; without sqlIP the SQL Server address (and so the
// managed instance → SQL Server probe) is not checked, for a plan that does not run
// that direction.
func (n NetworkOptions) validate(sqlIP bool) error {
	switch n.ProbeFrom {
	case "", ProbeAuto, ProbeAgent, ProbeLocal, ProbeManual, ProbeSSH:
	default:
		return fmt.Errorf("probe from: %w: %q is not auto, agent, local, ssh or manual", sqlops.ErrInvalidInput, n.ProbeFrom)
	}
	targets := n.SQLToMITargets()
	if sqlIP {
		if err := sqlops.ValidateHost(n.SQLServerIP); err != nil {
			return fmt.Errorf("SQL Server IP: %w", err)
		}
		targets = n.Targets()
	}
	if err := sqlops.ValidatePort(n.EndpointPort); err != nil {
		return fmt.Errorf("endpoint port: %w", err)
	}
	for _, t := range targets {
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
// current node's HADR port, then the node on each of RangePorts.
func (n NetworkOptions) SQLToMITargets() []sqlops.ProbeTarget {
	ts := []sqlops.ProbeTarget{
		{Label: "Test Port 5022", Host: n.MI.FQDN, Port: 5022, Timeout: n.ProbeTimeout},
		{Label: "Test HADR Port", Host: n.MI.Node, Port: n.MI.HadrPort, Timeout: n.ProbeTimeout},
	}
	for _, p := range n.RangePorts {
		ts = append(ts, sqlops.ProbeTarget{Label: fmt.Sprintf("%s %d", rangeLabel, p), Host: n.MI.Node, Port: p, Timeout: n.ProbeTimeout})
	}
	return ts
}

// rangeLabel starts the label of a probe of the HADR port range (RangePorts).
const rangeLabel = "Test HADR range port"

// isRangeProbe reports whether label is a RangePorts probe's.
func isRangeProbe(label string) bool { return strings.HasPrefix(label, rangeLabel+" ") }

// defaultRangePorts are 11000, 11999 and one port of the range picked pseudo-randomly
// from the node's name (the same node gets the same port, so a command printed by one
// run and pasted into the next still matches), none equal to the node's own HADR port.
func defaultRangePorts(node string, hadrPort int) []int {
	h := fnv.New64a()
	h.Write([]byte(strings.ToLower(node)))
	r := rand.New(rand.NewPCG(h.Sum64(), uint64(hadrPort)))
	var out []int
	for _, p := range []int{11000, 11999, 11001 + r.IntN(998)} {
		for p == hadrPort || slices.Contains(out, p) {
			p = 11001 + r.IntN(998)
		}
		out = append(out, p)
	}
	return out
}

// MIToSQLTarget is the probe the managed instance's NetHelper job runs.
func (n NetworkOptions) MIToSQLTarget() sqlops.ProbeTarget {
	return sqlops.ProbeTarget{Label: "TNC network probe from SQL MI to SQL Server", Host: n.SQLServerIP, Port: n.EndpointPort, Timeout: n.ProbeTimeout}
}

// UnusableAddress says why the managed instance can never reach SQL Server at ip, or
// "" when it might: a loopback address (on the managed instance 127.0.0.1:5022 is its
// own endpoint, so a probe there proves nothing), a link-local, unspecified,
// multicast or broadcast address (RFC 6890's special-purpose registry; none is
// routed across networks).
func UnusableAddress(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	a = a.Unmap()
	switch {
	case a.IsLoopback():
		return ip + " is a loopback address: on the managed instance it names the managed instance itself, so probing it would test nothing"
	case a.IsLinkLocalUnicast():
		return ip + " is a link-local address: it is not routed beyond SQL Server's own network segment"
	case a.IsUnspecified():
		return ip + " is the unspecified address: it names no host"
	case a.IsMulticast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast():
		return ip + " is a multicast address"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return ip + " is the broadcast address"
	}
	return ""
}

// sharedAddressSpace is RFC 6598's carrier-grade NAT range, private in practice.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// PublicAddress reports whether ip is a public (globally routed) address: not private
// (RFC 1918, RFC 4193), not shared (RFC 6598) and not special-purpose. The link needs a
// private path (VPN, ExpressRoute or peering): a managed instance's link traffic does
// not go over its public endpoint
// (https://learn.microsoft.com/azure/azure-sql/managed-instance/managed-instance-link-preparation#network-connectivity).
func PublicAddress(ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	return a.IsGlobalUnicast() && !a.IsPrivate() && !sharedAddressSpace.Contains(a) && UnusableAddress(ip) == ""
}

// AddressWarning explains why an address is unlikely to be reachable from Azure, or "".
func AddressWarning(ip string) string {
	if w := UnusableAddress(ip); w != "" {
		return w + ". Give the address the managed instance's virtual network reaches SQL Server on."
	}
	if PublicAddress(ip) {
		return ip + " is a public address: the link needs a private path between the managed instance's virtual network and SQL Server (site-to-site VPN, ExpressRoute or virtual network peering); give SQL Server's private address on that path."
	}
	return ""
}

// decideMIToSQL decides whether the managed instance → SQL Server probe can run on the
// plan's SQL Server address: never on an address the managed instance cannot use
// (UnusableAddress: it would probe itself or nothing), and it flags a public address.
func (p *Plan) decideMIToSQL(pre *Prerequisites) {
	ip := p.Options.SQLServerIP
	ask := "give the address the managed instance's network reaches SQL Server on with --sql-ip (the wizard's SQL Server IP field)"
	why := ""
	switch {
	case ip == "" && pre != nil && UnusableAddress(pre.LocalIP) != "":
		why = fmt.Sprintf("SQL Server reported the address it was reached on as %s; %s", UnusableAddress(pre.LocalIP), ask)
	case ip == "":
		why = "no SQL Server address for the managed instance to probe: " + ask
	case UnusableAddress(ip) != "":
		why = UnusableAddress(ip) + "; " + ask
	}
	if why != "" {
		p.Findings = append(p.Findings, Finding{ID: "sql-ip", Server: "Network", Severity: Warn, Title: "No usable SQL Server address: the managed instance → SQL Server direction is not tested", Detail: why})
		if p.RunMIToSQL {
			p.RunMIToSQL, p.MIToSQLSkipReason = false, why
		}
		return
	}
	if PublicAddress(ip) {
		p.Findings = append(p.Findings, Finding{ID: "sql-ip", Server: "Network", Severity: Warn, Title: "SQL Server address " + ip + " is public", Detail: AddressWarning(ip)})
	}
	if p.RunMIToSQL && p.CreateEndpoint && pre != nil && !pre.MasterKey && pre.Checked("the database master key") {
		// The source document creates the master key before TEST_CERT: endpoint
		// certificate authentication expects the private key protected by it (Msg 28055).
		p.RunMIToSQL = false
		p.MIToSQLSkipReason = "not tested (no master key): the test endpoint's certificate must be protected by the database master key of master (Msg 28055 otherwise); create one (see the master-key finding) and run milink again"
	}
}

// onSQLServerHost reports whether milink runs on the SQL Server host: the address it
// connected to is this machine's (probe.IsThisHost) AND SQL Server's own
// SERVERPROPERTY('MachineName') ("Windows computer name on which the server instance
// is running", on Linux the host name: serverproperty-transact-sql) is this machine's
// host name. A local address alone is not enough: 127.0.0.1 may be an SSH tunnel's
// end on a jump host, or a simulator.
func onSQLServerHost(pre *Prerequisites, sqlHost string) bool {
	if !probe.IsThisHost(sqlHost) {
		return false
	}
	name, err := os.Hostname()
	if err != nil || pre.Server.MachineName == "" {
		return false
	}
	first := func(s string) string { return strings.ToLower(strings.SplitN(s, ".", 2)[0]) }
	return first(name) == first(pre.Server.MachineName)
}

// rangeNote lists the range ports for the plan's action text.
func rangeNote(ports []int) string {
	if len(ports) == 0 {
		return ""
	}
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = fmt.Sprint(p)
	}
	return ", then the node on " + strings.Join(s, ", ") + " of 11000-11999"
}
