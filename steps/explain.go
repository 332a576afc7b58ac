package steps

import (
	"fmt"
	"strings"

	"github.com/milink/milink/sqlops"
)

// Explain says what a probe verdict means for the link and how to fix it.
func Explain(dir Direction, t sqlops.ProbeTarget, v sqlops.ProbeVerdict, o NetworkOptions) (string, []Fix) {
	if v == sqlops.VerdictConnected {
		return "", nil
	}
	hadr := t.Port != 5022 && dir == SQLToMI
	switch dir {
	case SQLToMI:
		rng := "5022"
		if hadr {
			rng = "11000-11999"
		}
		var why string
		switch v {
		case sqlops.VerdictTimeout:
			why = fmt.Sprintf("No answer from %s:%d within %s: packets are dropped on the way. Outbound %s from SQL Server, a corporate firewall/VPN, or the managed instance subnet's NSG (inbound %s from %s) blocks it.", t.Host, t.Port, t.Timeout, rng, rng, o.SQLServerIP)
		case sqlops.VerdictRefused:
			why = fmt.Sprintf("%s answered with a reset on port %d: the path is open but something in between rejects the connection, or the node changed after a failover (run again).", t.Host, t.Port)
		case sqlops.VerdictDNS:
			why = fmt.Sprintf("SQL Server could not resolve %s: its DNS must resolve the managed instance's names (for a private network: conditional forwarders to Azure DNS).", t.Host)
		default:
			why = fmt.Sprintf("SQL Server could not connect to %s:%d.", t.Host, t.Port)
		}
		return why, []Fix{
			{Platform: "Windows", Command: fmt.Sprintf(`New-NetFirewallRule -DisplayName "milink: allow TCP %s outbound" -Direction Outbound -Profile Any -Action Allow -RemotePort %s -Protocol TCP`, rng, rng)},
			{Platform: "Linux", Command: fmt.Sprintf("sudo firewall-cmd --permanent --direct --add-rule ipv4 filter OUTPUT 0 -p tcp --dport %s -j ACCEPT && sudo firewall-cmd --reload   # ufw: sudo ufw allow out %s/tcp", strings.ReplaceAll(rng, "-", ":"), strings.ReplaceAll(rng, "-", ":"))},
			{Platform: "Azure", Command: fmt.Sprintf("az network nsg rule create -g <mi-resource-group> --nsg-name <mi-subnet-nsg> -n allow-link-%s-in --priority 200 --direction Inbound --access Allow --protocol Tcp --source-address-prefixes %s --destination-port-ranges %s", strings.ReplaceAll(rng, "-", "_"), o.SQLServerIP, rng)},
		}
	default:
		var why string
		switch v {
		case sqlops.VerdictTimeout:
			why = fmt.Sprintf("The managed instance got no answer from %s:%d within %s: inbound %d on the SQL Server host firewall or network firewall, or the managed instance subnet's NSG (outbound %d to %s) drops it. Is %s the address the managed instance's network reaches SQL Server on?", t.Host, t.Port, t.Timeout, t.Port, t.Port, t.Host, t.Host)
		case sqlops.VerdictRefused:
			why = fmt.Sprintf("%s rejected the connection on port %d: the network path is open but nothing listens there (is the endpoint STARTED, is SQL Server running, is %s really SQL Server's address?).", t.Host, t.Port, t.Host)
		case sqlops.VerdictDNS:
			why = fmt.Sprintf("The managed instance could not resolve %s: give an IP address, or a name the managed instance's DNS resolves.", t.Host)
		default:
			why = fmt.Sprintf("The managed instance could not connect to %s:%d.", t.Host, t.Port)
		}
		return why, []Fix{
			{Platform: "Windows", Command: fmt.Sprintf(`New-NetFirewallRule -DisplayName "milink: allow TCP %d inbound" -Direction Inbound -Profile Any -Action Allow -LocalPort %d -Protocol TCP`, t.Port, t.Port)},
			{Platform: "Linux", Command: fmt.Sprintf("sudo firewall-cmd --permanent --add-port=%d/tcp && sudo firewall-cmd --reload   # ufw: sudo ufw allow %d/tcp", t.Port, t.Port)},
			{Platform: "Azure", Command: fmt.Sprintf("az network nsg rule create -g <mi-resource-group> --nsg-name <mi-subnet-nsg> -n allow-link-%d-out --priority 200 --direction Outbound --access Allow --protocol Tcp --destination-address-prefixes %s --destination-port-ranges %d", t.Port, t.Host, t.Port)},
		}
	}
}
