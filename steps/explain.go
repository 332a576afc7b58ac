package steps

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/milink/milink/sqlops"
)

// Explain says what a probe verdict means for the link and how to fix it. Each verdict
// kind gets its own fixes: timeout (packets dropped) firewall, NSG and route rules;
// refused (a TCP reset: the host, or a device rejecting on its behalf, answered) the
// listener — NSGs drop, they never refuse
// (https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview);
// dns the resolver (conditional forwarder, hosts entry, or the IP address).
func Explain(dir Direction, t sqlops.ProbeTarget, v sqlops.ProbeVerdict, o NetworkOptions) (string, []Fix) {
	if v == sqlops.VerdictConnected {
		return "", nil
	}
	if dir == SQLToMI {
		return explainSQLToMI(t, v, o)
	}
	return explainMIToSQL(t, v)
}

func explainSQLToMI(t sqlops.ProbeTarget, v sqlops.ProbeVerdict, o NetworkOptions) (string, []Fix) {
	rng := "5022"
	if t.Port != 5022 {
		rng = "11000-11999"
	}
	src := o.SQLServerIP
	if src == "" {
		src = "<sql-server-ip>"
	}
	switch v {
	case sqlops.VerdictDNS:
		return fmt.Sprintf("SQL Server could not resolve %s: its DNS must resolve the managed instance's names to their private addresses (for a private network: a conditional forwarder for the managed instance's DNS zone to Azure DNS, 168.63.129.16, through a resolver in Azure).", t.Host), []Fix{
			{Platform: "Windows", Command: "Add-DnsServerConditionalForwarderZone -Name '<dns-zone, e.g. database.windows.net>' -MasterServers <dns-forwarder-in-azure>   # on the DNS server SQL Server uses; or a hosts entry: Add-Content $env:windir/System32/drivers/etc/hosts '<mi-private-ip> " + t.Host + "'"},
			{Platform: "Linux", Command: "echo '<mi-private-ip> " + t.Host + "' | sudo tee -a /etc/hosts   # or a conditional forwarder on the DNS server SQL Server uses"},
		}
	case sqlops.VerdictRefused:
		return fmt.Sprintf("%s answered port %d with a reset: packets reach a host, but nothing accepts the connection there. An NSG drops packets and never refuses, so this is not the NSG: %s may resolve to the wrong address (remote address above: is it the managed instance's private address?), a firewall or proxy on the way rejects it, or the node changed after a failover (run again; is the endpoint STARTED on the managed instance side?).", t.Host, t.Port, t.Host), []Fix{
			{Platform: "Windows", Command: fmt.Sprintf("Resolve-DnsName %s; Test-NetConnection %s -Port %d   # compare the address with the managed instance's private IP", t.Host, t.Host, t.Port)},
			{Platform: "Linux", Command: fmt.Sprintf("getent hosts %s   # compare with the managed instance's private IP; look for REJECT rules: sudo iptables -S OUTPUT", t.Host)},
		}
	case sqlops.VerdictTimeout:
		return fmt.Sprintf("No answer from %s within %s: packets are dropped on the way. Outbound %s from SQL Server, a corporate firewall/VPN, a missing route to the managed instance's virtual network, or the managed instance subnet's NSG (inbound %s from %s) blocks it.", hostPort(t.Host, t.Port), t.Timeout, rng, rng, src), sqlToMIFirewallFixes(rng, src)
	}
	return fmt.Sprintf("SQL Server could not connect to %s.", hostPort(t.Host, t.Port)), sqlToMIFirewallFixes(rng, src)
}

func sqlToMIFirewallFixes(rng, src string) []Fix {
	return []Fix{
		{Platform: "Windows", Command: fmt.Sprintf(`New-NetFirewallRule -DisplayName "milink: allow TCP %s outbound" -Direction Outbound -Profile Any -Action Allow -RemotePort %s -Protocol TCP`, rng, rng)},
		{Platform: "Linux", Command: fmt.Sprintf("sudo firewall-cmd --permanent --direct --add-rule ipv4 filter OUTPUT 0 -p tcp --dport %s -j ACCEPT && sudo firewall-cmd --reload   # ufw: sudo ufw allow out %s/tcp", strings.ReplaceAll(rng, "-", ":"), strings.ReplaceAll(rng, "-", ":"))},
		{Platform: "Azure", Command: fmt.Sprintf("az network nsg rule create -g <mi-resource-group> --nsg-name <mi-subnet-nsg> -n allow-link-%s-in --priority 200 --direction Inbound --access Allow --protocol Tcp --source-address-prefixes %s --destination-port-ranges %s", strings.ReplaceAll(rng, "-", "_"), src, rng)},
	}
}

func explainMIToSQL(t sqlops.ProbeTarget, v sqlops.ProbeVerdict) (string, []Fix) {
	dst := t.Host
	if _, err := netip.ParseAddr(dst); err != nil {
		dst = "<sql-server-ip>"
	}
	switch v {
	case sqlops.VerdictDNS:
		return fmt.Sprintf("The managed instance could not resolve %s: give SQL Server's IP address (--sql-ip), or a name the managed instance's DNS (its virtual network's DNS servers) resolves.", t.Host), []Fix{
			{Platform: "milink", Command: "milink check --sql-ip <sql-server-private-ip> ..."},
		}
	case sqlops.VerdictRefused:
		return fmt.Sprintf("%s rejected the connection on port %d: the network path is open but nothing listens there. Is the endpoint STARTED, on port %d, listening on this address (LISTENER_IP), is SQL Server running, is %s really SQL Server's address?", t.Host, t.Port, t.Port, t.Host), []Fix{
			{Platform: "T-SQL", Command: "SELECT e.name, e.state_desc, t.port, t.ip_address FROM sys.database_mirroring_endpoints e JOIN sys.tcp_endpoints t ON t.endpoint_id = e.endpoint_id;   -- then: ALTER ENDPOINT [<endpoint>] STATE = STARTED;"},
		}
	case sqlops.VerdictTimeout:
		return fmt.Sprintf("The managed instance got no answer from %s within %s: inbound %d on the SQL Server host firewall or network firewall, a missing route back from the managed instance's virtual network, or the managed instance subnet's NSG (outbound %d to %s) drops it. Is %s the address the managed instance's network reaches SQL Server on?", hostPort(t.Host, t.Port), t.Timeout, t.Port, t.Port, t.Host, t.Host), miToSQLFirewallFixes(t.Port, dst)
	}
	return fmt.Sprintf("The managed instance could not connect to %s.", hostPort(t.Host, t.Port)), miToSQLFirewallFixes(t.Port, dst)
}

func miToSQLFirewallFixes(port int, dst string) []Fix {
	return []Fix{
		{Platform: "Windows", Command: fmt.Sprintf(`New-NetFirewallRule -DisplayName "milink: allow TCP %d inbound" -Direction Inbound -Profile Any -Action Allow -LocalPort %d -Protocol TCP`, port, port)},
		{Platform: "Linux", Command: fmt.Sprintf("sudo firewall-cmd --permanent --add-port=%d/tcp && sudo firewall-cmd --reload   # ufw: sudo ufw allow %d/tcp", port, port)},
		{Platform: "Azure", Command: fmt.Sprintf("az network nsg rule create -g <mi-resource-group> --nsg-name <mi-subnet-nsg> -n allow-link-%d-out --priority 200 --direction Outbound --access Allow --protocol Tcp --destination-address-prefixes %s --destination-port-ranges %d", port, dst, port)},
	}
}

// probesNotRun returns why the direction was not tested when no probe connected and
// every one that did not connect never ran (VerdictNotRun), else "".
func probesNotRun(probes []ProbeResult) string {
	why := ""
	for _, p := range probes {
		switch {
		case p.Succeeded:
			return ""
		case p.Verdict != sqlops.VerdictNotRun:
			return ""
		case why == "":
			why = "the probe did not run (this says nothing about the network): " + p.Detail
		}
	}
	return why
}

// ExplainNotRun says why a probe did not run from Agent's message (agentMsg) and how
// to fix that cause; the network was not tested. The causes and their texts:
//   - PowerShell on SQL Server on Linux: SQL Agent on Linux runs only T-SQL steps
//     (https://learn.microsoft.com/sql/linux/sql-server-linux-run-sql-server-agent-job);
//   - "Non-SysAdmins have been denied permission to run ... job steps without a proxy
//     account": steps other than T-SQL run as the Agent account only for sysadmin owners
//     (https://learn.microsoft.com/ssms/agent/create-a-sql-server-agent-proxy); a
//     managed instance has no proxies, and an Entra user who is admin only through a
//     group cannot own Agent jobs there (T-SQL differences, SQL Server Agent:
//     https://learn.microsoft.com/azure/azure-sql/managed-instance/transact-sql-tsql-differences-sql-server#sql-server-agent);
//   - SQLPS failing to load (SQL Server 2016/2017, no #NOSQLPS): the SQLPS module of the
//     Agent's PowerShell subsystem (https://learn.microsoft.com/powershell/sql-server/sql-server-powershell).
func ExplainNotRun(dir Direction, agentMsg string) (string, []Fix) {
	server := "SQL Server"
	if dir == MIToSQL {
		server = "the managed instance"
	}
	why := fmt.Sprintf("SQL Server Agent on %s did not run the probe, so the network was not tested. Agent said: %s", server, agentMsg)
	low := strings.ToLower(agentMsg)
	switch {
	case strings.Contains(low, "linux"):
		return why, []Fix{{Platform: "Linux", Command: "SQL Agent on Linux runs only T-SQL steps: run milink on the SQL Server host (--probe-from local), over SSH (--ssh user@host), or run the printed command there (--probe-from manual)"}}
	case strings.Contains(low, "non-sysadmin") || strings.Contains(low, "proxy"):
		if dir == MIToSQL {
			return why, []Fix{{Platform: "T-SQL", Command: "Connect to the managed instance as a sysadmin login (a SQL login, or an Entra user mapped directly — not only through an Entra group), or: ALTER SERVER ROLE sysadmin ADD MEMBER [<login>];"}}
		}
		return why, []Fix{
			{Platform: "T-SQL", Command: "Run milink as a sysadmin login (ALTER SERVER ROLE sysadmin ADD MEMBER [<login>];), or create a credential and a PowerShell proxy for the job owner: EXEC msdb.dbo.sp_add_proxy @proxy_name = N'<proxy>', @credential_name = N'<credential>'; EXEC msdb.dbo.sp_grant_proxy_to_subsystem @proxy_name = N'<proxy>', @subsystem_name = N'PowerShell';"},
		}
	case strings.Contains(low, "sqlps") || strings.Contains(low, "module"):
		return why, []Fix{{Platform: "Windows", Command: "Repair or reinstall the SQL Server PowerShell module used by Agent (SQLPS), or upgrade to SQL Server 2019+ where milink skips it (#NOSQLPS); otherwise run the printed command on the SQL Server host (--probe-from manual)"}}
	}
	return why, []Fix{{Platform: "T-SQL", Command: "Check SQL Server Agent and the job owner's permissions: EXEC msdb.dbo.sp_help_jobhistory @job_name = N'<job>', @mode = N'FULL';   -- or run the printed command on the SQL Server host (--probe-from manual)"}}
}
