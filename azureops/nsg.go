package azureops

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql"
)

// LinkFlow is one flow the link needs through the managed instance subnet's NSG.
type LinkFlow struct {
	ID        string // finding ID: nsg:inbound-5022, nsg:inbound-11000-11999, nsg:outbound-5022
	RuleName  string // name of the rule a fix creates
	Direction armnetwork.SecurityRuleDirection
	Ports     PortRange
	Why       string
}

// LinkFlows returns the flows of the "Network ports between the environments" section:
// inbound 5022 and 11000-11999 from SQL Server, outbound 5022 to SQL Server.
func LinkFlows() []LinkFlow {
	return []LinkFlow{
		{"nsg:inbound-5022", "allow-milink-link-in-5022", armnetwork.SecurityRuleDirectionInbound, PortRange{5022, 5022},
			"SQL Server connects to the managed instance's mirroring endpoint on 5022"},
		{"nsg:inbound-11000-11999", "allow-milink-link-in-11000-11999", armnetwork.SecurityRuleDirectionInbound, PortRange{11000, 11999},
			"SQL Server reaches the managed instance's nodes on their HADR ports 11000-11999"},
		{"nsg:outbound-5022", "allow-milink-link-out-5022", armnetwork.SecurityRuleDirectionOutbound, PortRange{5022, 5022},
			"the managed instance connects to SQL Server's mirroring endpoint on 5022"},
	}
}

// CheckNSG reads the network security group of the managed instance's subnet and checks
// the link's flows from and to sqlServerIP (an address, or a CIDR prefix, as the managed
// instance sees SQL Server). It returns a Pass or Fail finding per flow, naming the rule
// that allows or blocks it, with an az command that opens it; a Warn finding when the
// subnet has no NSG or Azure refuses to show it (403).
func CheckNSG(ctx context.Context, cred azcore.TokenCredential, c Cloud, mi MIRef, sqlServerIP string, opts ...Option) ([]Finding, error) {
	if err := mi.Validate(); err != nil {
		return nil, err
	}
	sqlEP, err := HostEndpoint(sqlServerIP)
	if err != nil {
		return nil, fmt.Errorf("SQL Server address: %w", err)
	}
	ao := armOptions(c, opts)
	unreadable := func(what string, err error) ([]Finding, error) {
		if sc := statusCode(err); sc == http.StatusForbidden || sc == http.StatusUnauthorized {
			return []Finding{{
				ID:       "nsg:unreadable",
				Severity: SeverityWarn,
				Title:    fmt.Sprintf("cannot read %s of %s: %s", what, mi.Name, ARMErrorSummary(err)),
				Detail: "milink could not check the network security group rules for the link. " + ExplainAuthError(err) +
					". Ask someone with Reader (or Network Contributor) on the managed instance's virtual network to check that its NSG allows " +
					"inbound TCP 5022 and 11000-11999 from " + sqlEP.String() + " and outbound TCP 5022 to it.",
			}}, nil
		}
		return nil, fmt.Errorf("NSG check for %s: read %s: %s: %w", mi, what, ARMErrorSummary(err), err)
	}

	subnetID := mi.SubnetID
	if subnetID == "" {
		mic, err := armsql.NewManagedInstancesClient(mi.SubscriptionID, cred, ao)
		if err != nil {
			return nil, fmt.Errorf("NSG check for %s: %w", mi, err)
		}
		got, err := mic.Get(ctx, mi.ResourceGroup, mi.Name, nil)
		if err != nil {
			return unreadable("the managed instance", err)
		}
		if got.Properties == nil || got.Properties.SubnetID == nil || *got.Properties.SubnetID == "" {
			return nil, fmt.Errorf("NSG check for %s: Resource Manager returned the managed instance without a subnet ID", mi)
		}
		subnetID = *got.Properties.SubnetID
	}
	sid, err := arm.ParseResourceID(subnetID)
	if err != nil || !strings.EqualFold(sid.ResourceType.String(), "Microsoft.Network/virtualNetworks/subnets") || sid.Parent == nil {
		return nil, fmt.Errorf("NSG check for %s: %q is not a subnet resource ID", mi, subnetID)
	}
	subnets, err := armnetwork.NewSubnetsClient(sid.SubscriptionID, cred, ao)
	if err != nil {
		return nil, fmt.Errorf("NSG check for %s: %w", mi, err)
	}
	sub, err := subnets.Get(ctx, sid.ResourceGroupName, sid.Parent.Name, sid.Name, nil)
	if err != nil {
		return unreadable("the subnet "+sid.Parent.Name+"/"+sid.Name, err)
	}
	if sub.Properties == nil {
		return nil, fmt.Errorf("NSG check for %s: Resource Manager returned subnet %s without properties", mi, subnetID)
	}
	subnetPrefix, err := subnetAddress(sub.Properties)
	if err != nil {
		return nil, fmt.Errorf("NSG check for %s: subnet %s: %w", mi, sid.Name, err)
	}
	if subnetPrefix.Overlaps(sqlEP.Prefix) {
		// A managed instance's subnet is dedicated to managed instances (no other cloud
		// service in it: "Dedicated subnet", network requirements in
		// https://learn.microsoft.com/azure/azure-sql/managed-instance/connectivity-architecture-overview),
		// so an address there is the managed instance's own, never SQL Server's.
		return []Finding{{
			ID:       "nsg:sql-in-mi-subnet",
			Severity: SeverityFail,
			Title:    fmt.Sprintf("SQL Server address %s is inside the managed instance's subnet %s", sqlEP.String(), subnetPrefix),
			Detail:   "That subnet belongs to the managed instance alone: a probe of this address would reach the managed instance itself. Give SQL Server's address as the managed instance's network reaches it (--sql-ip).",
		}}, nil
	}
	if sub.Properties.NetworkSecurityGroup == nil || deref(sub.Properties.NetworkSecurityGroup.ID) == "" {
		return []Finding{{
			ID:       "nsg:none",
			Severity: SeverityWarn,
			Title:    fmt.Sprintf("the managed instance subnet %s has no network security group", sid.Name),
			Detail: "No NSG filters the link's traffic on the subnet " + subnetPrefix.String() + ", so it does not block ports 5022 and 11000-11999. " +
				"Managed instance subnets normally have one: check that the subnet is the one of " + mi.Name + ", and that firewalls or route tables do not block the traffic.",
		}}, nil
	}
	nid, err := arm.ParseResourceID(*sub.Properties.NetworkSecurityGroup.ID)
	if err != nil {
		return nil, fmt.Errorf("NSG check for %s: %q is not an NSG resource ID", mi, *sub.Properties.NetworkSecurityGroup.ID)
	}
	nsgs, err := armnetwork.NewSecurityGroupsClient(nid.SubscriptionID, cred, ao)
	if err != nil {
		return nil, fmt.Errorf("NSG check for %s: %w", mi, err)
	}
	nsg, err := nsgs.Get(ctx, nid.ResourceGroupName, nid.Name, nil)
	if err != nil {
		return unreadable("the network security group "+nid.Name, err)
	}
	var rules, defaults []*armnetwork.SecurityRule
	if nsg.Properties != nil {
		rules, defaults = nsg.Properties.SecurityRules, nsg.Properties.DefaultSecurityRules
	}
	miEP := Endpoint{Prefix: subnetPrefix, InVirtualNetwork: true}
	target := nsgTarget{rg: nid.ResourceGroupName, nsg: nid.Name, sql: sqlEP, subnet: miEP}
	var fs []Finding
	for _, lf := range LinkFlows() {
		f := Flow{Direction: lf.Direction, Ports: lf.Ports, Source: sqlEP, Destination: miEP}
		if lf.Direction == armnetwork.SecurityRuleDirectionOutbound {
			f.Source, f.Destination = miEP, sqlEP
		}
		fs = append(fs, flowFinding(lf, f, EvaluateNSG(rules, defaults, f), rules, target))
	}
	return fs, nil
}

// subnetAddress returns the subnet's (first) address prefix.
func subnetAddress(p *armnetwork.SubnetPropertiesFormat) (netip.Prefix, error) {
	s := deref(p.AddressPrefix)
	if s == "" {
		for _, x := range p.AddressPrefixes {
			if x != nil && *x != "" {
				s = *x
				break
			}
		}
	}
	if s == "" {
		return netip.Prefix{}, fmt.Errorf("it has no address prefix")
	}
	pp, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("address prefix %q: %w", s, err)
	}
	return pp.Masked(), nil
}

type nsgTarget struct {
	rg, nsg     string
	sql, subnet Endpoint
}

func directionWord(d armnetwork.SecurityRuleDirection) string {
	if d == armnetwork.SecurityRuleDirectionOutbound {
		return "outbound"
	}
	return "inbound"
}

func flowText(lf LinkFlow, f Flow) string {
	if lf.Direction == armnetwork.SecurityRuleDirectionOutbound {
		return fmt.Sprintf("outbound TCP %s from the managed instance subnet %s to %s", lf.Ports, f.Source, f.Destination)
	}
	return fmt.Sprintf("inbound TCP %s from %s to the managed instance subnet %s", lf.Ports, f.Source, f.Destination)
}

func flowFinding(lf LinkFlow, f Flow, v Verdict, rules []*armnetwork.SecurityRule, t nsgTarget) Finding {
	notes := ""
	if len(v.Notes) > 0 {
		notes = " Note: " + strings.Join(v.Notes, "; ") + "."
	}
	if v.Allowed() {
		var names []string
		for _, r := range v.Rules(true) {
			names = append(names, r.String())
		}
		return Finding{
			ID:       lf.ID,
			Severity: SeverityPass,
			Title:    fmt.Sprintf("NSG %s allows %s TCP %s (%s)", t.nsg, directionWord(lf.Direction), lf.Ports, strings.Join(names, ", ")),
			Detail:   fmt.Sprintf("%s is allowed by %s: %s.%s", capitalize(flowText(lf, f)), strings.Join(names, " and "), lf.Why, notes),
		}
	}
	denied := v.Denied()
	var gaps []string
	minPrio := int32(65500)
	for _, s := range denied {
		gaps = append(gaps, fmt.Sprintf("%s blocked by %s", s.Ports, s.Rule))
		if !s.Rule.Implicit && s.Rule.Priority < minPrio {
			minPrio = s.Rule.Priority
		}
	}
	title := fmt.Sprintf("NSG %s blocks %s TCP %s", t.nsg, directionWord(lf.Direction), denied[0].Ports)
	if len(denied) == 1 {
		title += " (" + denied[0].Rule.String() + ")"
	} else {
		title += fmt.Sprintf(" and %d more port range(s)", len(denied)-1)
	}
	detail := fmt.Sprintf("%s is needed because %s, but: %s.", capitalize(flowText(lf, f)), lf.Why, strings.Join(gaps, "; "))
	if allowed := v.Rules(true); len(allowed) > 0 && len(denied) > 0 {
		var names []string
		for _, r := range allowed {
			names = append(names, r.String())
		}
		detail += " The other ports are allowed by " + strings.Join(names, ", ") + "."
	}
	detail += notes
	prio, ok := freePriority(rules, lf.Direction, minPrio)
	var cmd string
	if ok {
		cmd = fmt.Sprintf("az network nsg rule create --resource-group %s --nsg-name %s --name %s --priority %d --direction %s --access Allow --protocol Tcp",
			shellWord(t.rg), shellWord(t.nsg), lf.RuleName, prio, string(lf.Direction))
		if lf.Direction == armnetwork.SecurityRuleDirectionOutbound {
			cmd += fmt.Sprintf(" --source-address-prefixes %s --destination-address-prefixes %s --destination-port-ranges %s", t.subnet, t.sql, lf.Ports)
		} else {
			cmd += fmt.Sprintf(" --source-address-prefixes %s --destination-address-prefixes %s --destination-port-ranges %s", t.sql, t.subnet, lf.Ports)
		}
	} else {
		detail += fmt.Sprintf(" Every priority below %d is taken in this direction, so an allow rule cannot be placed before the blocking rule: narrow or move that rule first.", minPrio)
		cmd = fmt.Sprintf("az network nsg rule list --resource-group %s --nsg-name %s --include-default -o table", shellWord(t.rg), shellWord(t.nsg))
	}
	return Finding{
		ID:       lf.ID,
		Severity: SeverityFail,
		Title:    title,
		Detail:   detail,
		Fixes:    []Fix{{Platform: "Azure", Command: cmd}},
	}
}

// freePriority returns the highest priority below limit (at least 100) not used by a
// custom rule of the same direction (priorities are unique per direction).
func freePriority(rules []*armnetwork.SecurityRule, dir armnetwork.SecurityRuleDirection, limit int32) (int32, bool) {
	used := map[int32]bool{}
	for _, r := range rules {
		if r == nil || r.Properties == nil || r.Properties.Priority == nil || r.Properties.Direction == nil {
			continue
		}
		if strings.EqualFold(string(*r.Properties.Direction), string(dir)) {
			used[*r.Properties.Priority] = true
		}
	}
	if limit > 4097 {
		limit = 4097
	}
	for p := limit - 1; p >= 100; p-- {
		if !used[p] {
			return p, true
		}
	}
	return 0, false
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// shellWord quotes s for a POSIX shell when it contains anything but safe characters.
func shellWord(s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_-.", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
