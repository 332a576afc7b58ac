package azureops

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v6"
)

const (
	inbound  = armnetwork.SecurityRuleDirectionInbound
	outbound = armnetwork.SecurityRuleDirectionOutbound
	allow    = armnetwork.SecurityRuleAccessAllow
	deny     = armnetwork.SecurityRuleAccessDeny
)

// rule builds a security rule with single source and destination prefixes, any source
// port and one destination port range.
func rule(name string, prio int32, dir armnetwork.SecurityRuleDirection, access armnetwork.SecurityRuleAccess, proto armnetwork.SecurityRuleProtocol, src, dst, dstPorts string) *armnetwork.SecurityRule {
	return &armnetwork.SecurityRule{
		Name: ptr(name),
		Properties: &armnetwork.SecurityRulePropertiesFormat{
			Priority:                 ptr(prio),
			Direction:                ptr(dir),
			Access:                   ptr(access),
			Protocol:                 ptr(proto),
			SourceAddressPrefix:      ptr(src),
			DestinationAddressPrefix: ptr(dst),
			SourcePortRange:          ptr("*"),
			DestinationPortRange:     ptr(dstPorts),
		},
	}
}

// defaultRules are the default rules Azure puts in every NSG.
func defaultRules() []*armnetwork.SecurityRule {
	all := armnetwork.SecurityRuleProtocolAsterisk
	return []*armnetwork.SecurityRule{
		rule("AllowVnetInBound", 65000, inbound, allow, all, "VirtualNetwork", "VirtualNetwork", "*"),
		rule("AllowAzureLoadBalancerInBound", 65001, inbound, allow, all, "AzureLoadBalancer", "*", "*"),
		rule("DenyAllInBound", 65500, inbound, deny, all, "*", "*", "*"),
		rule("AllowVnetOutBound", 65000, outbound, allow, all, "VirtualNetwork", "VirtualNetwork", "*"),
		rule("AllowInternetOutBound", 65001, outbound, allow, all, "*", "Internet", "*"),
		rule("DenyAllOutBound", 65500, outbound, deny, all, "*", "*", "*"),
	}
}

var miSubnet = Endpoint{Prefix: netip.MustParsePrefix("10.20.0.0/24"), InVirtualNetwork: true}

func host(t *testing.T, s string) Endpoint {
	t.Helper()
	e, err := HostEndpoint(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func inFlow(t *testing.T, src string, lo, hi int) Flow {
	return Flow{Direction: inbound, Source: host(t, src), Destination: miSubnet, Ports: PortRange{lo, hi}}
}

// segs renders a verdict as "lo-hi:Access:rule;..." for compact comparisons.
func segs(v Verdict) string {
	var parts []string
	for _, s := range v.Segments {
		name := s.Rule.Name
		if s.Rule.Implicit {
			name = "(implicit)"
		}
		acc := "Deny"
		if s.Allowed() {
			acc = "Allow"
		}
		parts = append(parts, s.Ports.String()+":"+acc+":"+name)
	}
	return strings.Join(parts, ";")
}

func TestEvaluateDefaultsDenyPublicSource(t *testing.T) {
	v := EvaluateNSG(nil, defaultRules(), inFlow(t, "203.0.113.10", 5022, 5022))
	if got := segs(v); got != "5022:Deny:DenyAllInBound" {
		t.Fatalf("verdict = %s", got)
	}
	if v.Allowed() {
		t.Fatal("Allowed() = true")
	}
	d := v.Denied()
	if len(d) != 1 || !d[0].Rule.Default || d[0].Rule.Priority != 65500 ||
		d[0].Rule.String() != `default rule "DenyAllInBound" (priority 65500)` {
		t.Fatalf("denied = %+v", d)
	}
}

func TestEvaluateDefaultsAllowPrivateSourceAsVirtualNetwork(t *testing.T) {
	v := EvaluateNSG(nil, defaultRules(), inFlow(t, "192.168.10.5", 11000, 11999))
	if got := segs(v); got != "11000-11999:Allow:AllowVnetInBound" || !v.Allowed() {
		t.Fatalf("verdict = %s", got)
	}
}

func TestEvaluateDefaultsOutbound(t *testing.T) {
	// Outbound to a public SQL Server is allowed by AllowInternetOutBound, to a private
	// one by AllowVnetOutBound.
	for ip, want := range map[string]string{
		"203.0.113.10": "5022:Allow:AllowInternetOutBound",
		"10.1.2.3":     "5022:Allow:AllowVnetOutBound",
	} {
		f := Flow{Direction: outbound, Source: miSubnet, Destination: host(t, ip), Ports: PortRange{5022, 5022}}
		if got := segs(EvaluateNSG(nil, defaultRules(), f)); got != want {
			t.Errorf("%s: verdict = %s, want %s", ip, got, want)
		}
	}
}

func TestEvaluateDenyShadowsLaterAllow(t *testing.T) {
	rules := []*armnetwork.SecurityRule{
		// listed out of order on purpose: priority decides, not position
		rule("allow-link", 200, inbound, allow, armnetwork.SecurityRuleProtocolTCP, "203.0.113.10", "*", "5022"),
		rule("deny-5022", 100, inbound, deny, armnetwork.SecurityRuleProtocolTCP, "*", "*", "5022"),
	}
	v := EvaluateNSG(rules, defaultRules(), inFlow(t, "203.0.113.10", 5022, 5022))
	if got := segs(v); got != "5022:Deny:deny-5022" {
		t.Fatalf("verdict = %s", got)
	}
	if d := v.Denied(); d[0].Rule.String() != `rule "deny-5022" (priority 100)` {
		t.Fatalf("rule = %s", d[0].Rule)
	}
	// Swap the priorities: the allow wins.
	rules[0].Properties.Priority, rules[1].Properties.Priority = ptr(int32(100)), ptr(int32(200))
	if got := segs(EvaluateNSG(rules, defaultRules(), inFlow(t, "203.0.113.10", 5022, 5022))); got != "5022:Allow:allow-link" {
		t.Fatalf("swapped verdict = %s", got)
	}
}

func TestEvaluatePartialDenyInsideAllow(t *testing.T) {
	rules := []*armnetwork.SecurityRule{
		rule("allow-hadr", 300, inbound, allow, armnetwork.SecurityRuleProtocolTCP, "203.0.113.10", "10.20.0.0/24", "11000-11999"),
		rule("deny-some", 150, inbound, deny, armnetwork.SecurityRuleProtocolTCP, "Internet", "*", "11500-11599"),
	}
	v := EvaluateNSG(rules, defaultRules(), inFlow(t, "203.0.113.10", 11000, 11999))
	want := "11000-11499:Allow:allow-hadr;11500-11599:Deny:deny-some;11600-11999:Allow:allow-hadr"
	if got := segs(v); got != want {
		t.Fatalf("verdict = %s, want %s", got, want)
	}
	d := v.Denied()
	if len(d) != 1 || d[0].Ports != (PortRange{11500, 11599}) || d[0].Rule.Priority != 150 {
		t.Fatalf("denied = %+v", d)
	}
}

func TestEvaluateOverlappingPortRanges(t *testing.T) {
	rules := []*armnetwork.SecurityRule{
		rule("allow-low", 100, inbound, allow, armnetwork.SecurityRuleProtocolTCP, "203.0.113.0/24", "*", "10000-11200"),
		rule("allow-mid", 110, inbound, allow, armnetwork.SecurityRuleProtocolTCP, "203.0.113.10", "*", "11100-11800"),
	}
	v := EvaluateNSG(rules, defaultRules(), inFlow(t, "203.0.113.10", 11000, 11999))
	want := "11000-11200:Allow:allow-low;11201-11800:Allow:allow-mid;11801-11999:Deny:DenyAllInBound"
	if got := segs(v); got != want {
		t.Fatalf("verdict = %s, want %s", got, want)
	}
}

func TestEvaluateProtocolAndPortLists(t *testing.T) {
	udp := rule("allow-udp", 100, inbound, allow, armnetwork.SecurityRuleProtocolUDP, "*", "*", "*")
	star := rule("allow-any-proto", 120, inbound, allow, armnetwork.SecurityRuleProtocolAsterisk, "203.0.113.10", "*", "")
	star.Properties.DestinationPortRange = nil
	star.Properties.DestinationPortRanges = []*string{ptr("5022"), ptr("11000-11499"), ptr("11500-11999")}
	v := EvaluateNSG([]*armnetwork.SecurityRule{udp, star}, defaultRules(), inFlow(t, "203.0.113.10", 5022, 5022))
	if got := segs(v); got != "5022:Allow:allow-any-proto" {
		t.Fatalf("5022 verdict = %s (a UDP rule must not match TCP)", got)
	}
	v = EvaluateNSG([]*armnetwork.SecurityRule{udp, star}, defaultRules(), inFlow(t, "203.0.113.10", 11000, 11999))
	if got := segs(v); got != "11000-11999:Allow:allow-any-proto" {
		t.Fatalf("range verdict = %s", got)
	}
	if !v.Allowed() {
		t.Fatal("the port list covers the range")
	}
}

func TestEvaluateSourceCIDRList(t *testing.T) {
	r := rule("allow-onprem", 100, inbound, allow, armnetwork.SecurityRuleProtocolTCP, "", "VirtualNetwork", "5022")
	r.Properties.SourceAddressPrefix = nil
	r.Properties.SourceAddressPrefixes = []*string{ptr("198.51.100.0/24"), ptr("203.0.113.0/25")}
	for ip, want := range map[string]string{
		"203.0.113.10":  "5022:Allow:allow-onprem",
		"198.51.100.77": "5022:Allow:allow-onprem",
		"203.0.113.200": "5022:Deny:DenyAllInBound",
	} {
		if got := segs(EvaluateNSG([]*armnetwork.SecurityRule{r}, defaultRules(), inFlow(t, ip, 5022, 5022))); got != want {
			t.Errorf("%s: verdict = %s, want %s", ip, got, want)
		}
	}
}

func TestEvaluateAllowMustCoverWholeSubnetDenyNeedsOnlyOverlap(t *testing.T) {
	// An allow for one address of the subnet does not open the subnet; a deny of one
	// address blocks (part of) it.
	allowOne := rule("allow-one-node", 100, inbound, allow, armnetwork.SecurityRuleProtocolTCP, "203.0.113.10", "10.20.0.5", "5022")
	if got := segs(EvaluateNSG([]*armnetwork.SecurityRule{allowOne}, defaultRules(), inFlow(t, "203.0.113.10", 5022, 5022))); got != "5022:Deny:DenyAllInBound" {
		t.Errorf("partial allow: verdict = %s", got)
	}
	denyOne := rule("deny-one-node", 100, inbound, deny, armnetwork.SecurityRuleProtocolTCP, "*", "10.20.0.5", "5022")
	allowAll := rule("allow-link", 200, inbound, allow, armnetwork.SecurityRuleProtocolTCP, "203.0.113.10", "*", "5022")
	if got := segs(EvaluateNSG([]*armnetwork.SecurityRule{denyOne, allowAll}, defaultRules(), inFlow(t, "203.0.113.10", 5022, 5022))); got != "5022:Deny:deny-one-node" {
		t.Errorf("partial deny: verdict = %s", got)
	}
}

func TestEvaluateUnknownServiceTagIsNoted(t *testing.T) {
	r := rule("allow-azurecloud", 100, inbound, allow, armnetwork.SecurityRuleProtocolTCP, "AzureCloud.westeurope", "*", "5022")
	v := EvaluateNSG([]*armnetwork.SecurityRule{r}, defaultRules(), inFlow(t, "203.0.113.10", 5022, 5022))
	if got := segs(v); got != "5022:Deny:DenyAllInBound" {
		t.Fatalf("verdict = %s", got)
	}
	if len(v.Notes) != 1 || !strings.Contains(v.Notes[0], "AzureCloud.westeurope") {
		t.Fatalf("notes = %q", v.Notes)
	}
}

func TestEvaluateNoRulesIsImplicitDeny(t *testing.T) {
	v := EvaluateNSG(nil, nil, inFlow(t, "203.0.113.10", 5022, 5022))
	if v.Allowed() || len(v.Segments) != 1 || !v.Segments[0].Rule.Implicit {
		t.Fatalf("verdict = %+v", v)
	}
}

func TestEvaluateSourcePortsRestricted(t *testing.T) {
	// Clients use ephemeral source ports: an allow limited to source port 5022 does not
	// let the link in.
	r := rule("allow-srcport", 100, inbound, allow, armnetwork.SecurityRuleProtocolTCP, "*", "*", "5022")
	r.Properties.SourcePortRange = ptr("5022")
	if got := segs(EvaluateNSG([]*armnetwork.SecurityRule{r}, defaultRules(), inFlow(t, "203.0.113.10", 5022, 5022))); got != "5022:Deny:DenyAllInBound" {
		t.Fatalf("verdict = %s", got)
	}
}

func TestParsePortRange(t *testing.T) {
	for in, want := range map[string]PortRange{"*": {0, 65535}, "5022": {5022, 5022}, " 11000-11999 ": {11000, 11999}} {
		if got, ok := ParsePortRange(in); !ok || got != want {
			t.Errorf("ParsePortRange(%q) = %v, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "x", "70000", "200-100", "-5", "1-70000"} {
		if _, ok := ParsePortRange(in); ok {
			t.Errorf("ParsePortRange(%q) accepted", in)
		}
	}
}

func TestHostEndpoint(t *testing.T) {
	if e := host(t, "10.1.2.3"); !e.InVirtualNetwork || e.String() != "10.1.2.3" {
		t.Errorf("private: %+v", e)
	}
	if e := host(t, "203.0.113.10"); e.InVirtualNetwork {
		t.Errorf("public: %+v", e)
	}
	if e := host(t, "192.168.1.77/24"); e.String() != "192.168.1.0/24" {
		t.Errorf("cidr: %s", e)
	}
	for _, bad := range []string{"", "sqlprod01", "10.1.2", "10.0.0.0/33"} {
		if _, err := HostEndpoint(bad); err == nil {
			t.Errorf("HostEndpoint(%q) accepted", bad)
		}
	}
}
