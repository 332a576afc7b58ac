package azureops

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v6"
)

// Endpoint is one end of a flow: an address or prefix, and whether it is inside the
// virtual network (which the VirtualNetwork service tag matches).
type Endpoint struct {
	Prefix netip.Prefix
	// InVirtualNetwork is true for the managed instance's subnet, and for SQL Server
	// addresses reached over VPN, ExpressRoute or peering (HostEndpoint assumes this for
	// private addresses).
	InVirtualNetwork bool
}

// HostEndpoint returns the endpoint of one address (or a CIDR prefix). Private addresses
// (RFC 1918, fc00::/7) are taken to be inside VirtualNetwork: on-premises ranges reached
// over a VPN or ExpressRoute gateway, or a peered VNet; public addresses are Internet.
func HostEndpoint(s string) (Endpoint, error) {
	s = strings.TrimSpace(s)
	var p netip.Prefix
	if strings.Contains(s, "/") {
		pp, err := netip.ParsePrefix(s)
		if err != nil {
			return Endpoint{}, fmt.Errorf("%w: %q is not an IP address or CIDR prefix", ErrInvalidInput, s)
		}
		p = pp.Masked()
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return Endpoint{}, fmt.Errorf("%w: %q is not an IP address (give SQL Server's address as the managed instance sees it, e.g. its public NAT address)", ErrInvalidInput, s)
		}
		a = a.Unmap()
		p = netip.PrefixFrom(a, a.BitLen())
	}
	return Endpoint{Prefix: p, InVirtualNetwork: p.Addr().IsPrivate()}, nil
}

// String returns the prefix (a bare address for a single host).
func (e Endpoint) String() string {
	if e.Prefix.IsSingleIP() {
		return e.Prefix.Addr().String()
	}
	return e.Prefix.String()
}

// PortRange is an inclusive range of ports.
type PortRange struct{ Lo, Hi int }

// String returns "5022" or "11000-11999".
func (r PortRange) String() string {
	if r.Lo == r.Hi {
		return strconv.Itoa(r.Lo)
	}
	return strconv.Itoa(r.Lo) + "-" + strconv.Itoa(r.Hi)
}

// Flow is TCP traffic to evaluate against an NSG.
type Flow struct {
	Direction   armnetwork.SecurityRuleDirection // Inbound or Outbound (as seen by the NSG)
	Source      Endpoint
	Destination Endpoint
	Ports       PortRange // destination ports; source ports are ephemeral (1024-65535)
}

// ephemeral is the source port range of TCP clients.
var ephemeral = PortRange{1024, 65535}

// RuleRef names the rule that decided (part of) a flow.
type RuleRef struct {
	Name     string
	Priority int32
	Access   armnetwork.SecurityRuleAccess
	Default  bool // one of the NSG's default rules (AllowVnetInBound, DenyAllInBound, ...)
	Implicit bool // no rule matched: NSGs deny what no rule allows
}

// String returns `rule "X" (priority N)` or `default rule "DenyAllInBound" (priority 65500)`.
func (r RuleRef) String() string {
	switch {
	case r.Implicit:
		return "no rule (denied implicitly)"
	case r.Default:
		return fmt.Sprintf("default rule %q (priority %d)", r.Name, r.Priority)
	}
	return fmt.Sprintf("rule %q (priority %d)", r.Name, r.Priority)
}

// Segment is a part of the flow's port range decided by one rule.
type Segment struct {
	Ports PortRange
	Rule  RuleRef
}

// Allowed reports whether the segment's traffic is allowed.
func (s Segment) Allowed() bool {
	return !s.Rule.Implicit && strings.EqualFold(string(s.Rule.Access), string(armnetwork.SecurityRuleAccessAllow))
}

// Verdict is the NSG's decision for a flow, per port sub-range.
type Verdict struct {
	Segments []Segment // ordered by port, covering the flow's range, adjacent ones merged when decided by the same rule
	Notes    []string  // rules or prefixes milink could not evaluate, and assumptions made
}

// Allowed reports whether every port of the flow is allowed.
func (v Verdict) Allowed() bool {
	for _, s := range v.Segments {
		if !s.Allowed() {
			return false
		}
	}
	return len(v.Segments) > 0
}

// Denied returns the segments that are denied.
func (v Verdict) Denied() []Segment {
	var out []Segment
	for _, s := range v.Segments {
		if !s.Allowed() {
			out = append(out, s)
		}
	}
	return out
}

// Rules returns the distinct rules that decided the flow, in port order.
func (v Verdict) Rules(allowed bool) []RuleRef {
	var out []RuleRef
	seen := map[RuleRef]bool{}
	for _, s := range v.Segments {
		if s.Allowed() == allowed && !seen[s.Rule] {
			seen[s.Rule] = true
			out = append(out, s.Rule)
		}
	}
	return out
}

type match int

const (
	noMatch match = iota
	partialMatch
	fullMatch
)

func (m match) and(o match) match { return min(m, o) }

// candidate is a rule that applies to the flow apart from its destination ports.
type candidate struct {
	ref   RuleRef
	ports []PortRange
}

// EvaluateNSG decides flow with the NSG's custom rules and default rules, the way Azure
// does: rules of the flow's direction sorted by priority (lowest number first), the first
// rule whose protocol (Tcp or *), source and destination prefixes and ports match decides.
// The flow's port range is split wherever a rule's port range starts or ends, so a
// partial deny is reported precisely. An allow rule must cover the flow's source and
// destination entirely to decide it; a deny rule decides as soon as it overlaps them
// (part of the traffic would be dropped). Application security groups and service tags
// other than VirtualNetwork, Internet, AzureLoadBalancer and * cannot be evaluated here:
// such rules are skipped and named in Verdict.Notes.
func EvaluateNSG(rules []*armnetwork.SecurityRule, defaults []*armnetwork.SecurityRule, flow Flow) Verdict {
	var v Verdict
	note := func(format string, a ...any) {
		s := fmt.Sprintf(format, a...)
		for _, n := range v.Notes {
			if n == s {
				return
			}
		}
		v.Notes = append(v.Notes, s)
	}
	var cands []candidate
	add := func(list []*armnetwork.SecurityRule, isDefault bool) {
		for _, r := range list {
			if c, ok := applies(r, isDefault, flow, note); ok {
				cands = append(cands, c)
			}
		}
	}
	add(rules, false)
	add(defaults, true)
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].ref.Priority < cands[j].ref.Priority })

	// Elementary intervals: split the flow's range at every rule boundary inside it.
	cuts := map[int]bool{flow.Ports.Lo: true, flow.Ports.Hi + 1: true}
	for _, c := range cands {
		for _, pr := range c.ports {
			for _, x := range []int{pr.Lo, pr.Hi + 1} {
				if x > flow.Ports.Lo && x <= flow.Ports.Hi {
					cuts[x] = true
				}
			}
		}
	}
	points := make([]int, 0, len(cuts))
	for x := range cuts {
		points = append(points, x)
	}
	sort.Ints(points)
	for i := 0; i+1 < len(points); i++ {
		seg := Segment{Ports: PortRange{points[i], points[i+1] - 1}, Rule: RuleRef{Implicit: true, Access: armnetwork.SecurityRuleAccessDeny}}
		for _, c := range cands {
			if containsRange(c.ports, seg.Ports) {
				seg.Rule = c.ref
				break
			}
		}
		if n := len(v.Segments); n > 0 && v.Segments[n-1].Rule == seg.Rule {
			v.Segments[n-1].Ports.Hi = seg.Ports.Hi
			continue
		}
		v.Segments = append(v.Segments, seg)
	}
	return v
}

// applies reports whether rule r matches the flow's direction, protocol, addresses and
// source ports (the destination ports are checked per segment).
func applies(r *armnetwork.SecurityRule, isDefault bool, flow Flow, note func(string, ...any)) (candidate, bool) {
	if r == nil || r.Properties == nil {
		return candidate{}, false
	}
	p := r.Properties
	name := deref(r.Name)
	if p.Direction == nil || !strings.EqualFold(string(*p.Direction), string(flow.Direction)) {
		return candidate{}, false
	}
	if p.Protocol != nil && *p.Protocol != "" && *p.Protocol != armnetwork.SecurityRuleProtocolAsterisk &&
		!strings.EqualFold(string(*p.Protocol), string(armnetwork.SecurityRuleProtocolTCP)) {
		return candidate{}, false
	}
	if p.Access == nil || p.Priority == nil {
		note("rule %q has no access or priority and was ignored", name)
		return candidate{}, false
	}
	access := armnetwork.SecurityRuleAccessAllow
	if strings.EqualFold(string(*p.Access), string(armnetwork.SecurityRuleAccessDeny)) {
		access = armnetwork.SecurityRuleAccessDeny
	}
	ref := RuleRef{Name: name, Priority: *p.Priority, Access: access, Default: isDefault}

	src := matchAddresses(ruleName(ref), "source", p.SourceAddressPrefix, p.SourceAddressPrefixes, len(p.SourceApplicationSecurityGroups) > 0, flow.Source, note)
	dst := matchAddresses(ruleName(ref), "destination", p.DestinationAddressPrefix, p.DestinationAddressPrefixes, len(p.DestinationApplicationSecurityGroups) > 0, flow.Destination, note)
	srcPorts, ok := parsePorts(p.SourcePortRange, p.SourcePortRanges)
	if !ok {
		note("%s has source ports milink cannot read and was ignored", ruleName(ref))
		return candidate{}, false
	}
	sp := noMatch
	switch {
	case containsRange(srcPorts, ephemeral):
		sp = fullMatch
	case overlapsRange(srcPorts, ephemeral):
		sp = partialMatch
	}
	dstPorts, ok := parsePorts(p.DestinationPortRange, p.DestinationPortRanges)
	if !ok {
		note("%s has destination ports milink cannot read and was ignored", ruleName(ref))
		return candidate{}, false
	}
	m := src.and(dst).and(sp)
	if access == armnetwork.SecurityRuleAccessAllow && m != fullMatch {
		return candidate{}, false
	}
	if m == noMatch {
		return candidate{}, false
	}
	return candidate{ref: ref, ports: dstPorts}, true
}

func ruleName(r RuleRef) string { return r.String() }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// matchAddresses matches the rule's prefix (or list of prefixes) against an endpoint.
func matchAddresses(rule, side string, single *string, list []*string, hasASG bool, e Endpoint, note func(string, ...any)) match {
	var prefixes []string
	if single != nil && strings.TrimSpace(*single) != "" {
		prefixes = append(prefixes, *single)
	}
	for _, s := range list {
		if s != nil && strings.TrimSpace(*s) != "" {
			prefixes = append(prefixes, *s)
		}
	}
	if len(prefixes) == 0 {
		if hasASG {
			note("%s uses application security groups as %s, which milink cannot resolve: it was assumed not to match", rule, side)
		}
		return noMatch
	}
	best := noMatch
	for _, s := range prefixes {
		m, known := matchPrefix(s, e)
		if !known {
			note("%s uses the service tag %q as %s, which milink cannot resolve: it was assumed not to match", rule, s, side)
		}
		best = max(best, m)
	}
	return best
}

// azureLoadBalancer is the address behind the AzureLoadBalancer service tag.
var azureLoadBalancer = netip.MustParsePrefix("168.63.129.16/32")

// matchPrefix matches one NSG address prefix (CIDR, address, * / Any, or a service tag)
// against an endpoint. known is false for service tags milink cannot resolve.
func matchPrefix(s string, e Endpoint) (m match, known bool) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "*", "any", "0.0.0.0/0", "::/0":
		return fullMatch, true
	case "virtualnetwork":
		if e.InVirtualNetwork {
			return fullMatch, true
		}
		return noMatch, true
	case "internet":
		a := e.Prefix.Addr()
		if !e.InVirtualNetwork && !a.IsPrivate() && !a.IsLoopback() && !a.IsLinkLocalUnicast() && !a.IsUnspecified() {
			return fullMatch, true
		}
		return noMatch, true
	case "azureloadbalancer":
		return prefixMatch(azureLoadBalancer, e.Prefix), true
	}
	var p netip.Prefix
	if strings.Contains(s, "/") {
		pp, err := netip.ParsePrefix(s)
		if err != nil {
			return noMatch, false
		}
		p = pp.Masked()
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return noMatch, false // a service tag such as Sql.WestEurope or AzureCloud
		}
		a = a.Unmap()
		p = netip.PrefixFrom(a, a.BitLen())
	}
	return prefixMatch(p, e.Prefix), true
}

// prefixMatch reports whether rule prefix r covers endpoint prefix e fully, partly or not at all.
func prefixMatch(r, e netip.Prefix) match {
	if !e.IsValid() || !r.IsValid() || r.Addr().Is4() != e.Addr().Is4() {
		return noMatch
	}
	if r.Bits() <= e.Bits() && r.Contains(e.Addr()) {
		return fullMatch
	}
	if r.Overlaps(e) {
		return partialMatch
	}
	return noMatch
}

// parsePorts reads a port range field ("*", "5022", "11000-11999") or list of them.
// Neither set means any port.
func parsePorts(single *string, list []*string) ([]PortRange, bool) {
	var specs []string
	if single != nil && strings.TrimSpace(*single) != "" {
		specs = append(specs, *single)
	}
	for _, s := range list {
		if s != nil && strings.TrimSpace(*s) != "" {
			specs = append(specs, *s)
		}
	}
	if len(specs) == 0 {
		return []PortRange{{0, 65535}}, true
	}
	var out []PortRange
	for _, s := range specs {
		for _, part := range strings.Split(s, ",") {
			r, ok := ParsePortRange(part)
			if !ok {
				return nil, false
			}
			out = append(out, r)
		}
	}
	return out, true
}

// ParsePortRange parses "*", "5022" or "11000-11999".
func ParsePortRange(s string) (PortRange, bool) {
	s = strings.TrimSpace(s)
	if s == "*" || strings.EqualFold(s, "any") {
		return PortRange{0, 65535}, true
	}
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := strconv.Atoi(strings.TrimSpace(lo))
	if err != nil || a < 0 || a > 65535 {
		return PortRange{}, false
	}
	b := a
	if isRange {
		b, err = strconv.Atoi(strings.TrimSpace(hi))
		if err != nil || b < a || b > 65535 {
			return PortRange{}, false
		}
	}
	return PortRange{a, b}, true
}

func containsRange(rs []PortRange, x PortRange) bool {
	for _, r := range rs {
		if r.Lo <= x.Lo && x.Hi <= r.Hi {
			return true
		}
	}
	return false
}

func overlapsRange(rs []PortRange, x PortRange) bool {
	for _, r := range rs {
		if r.Lo <= x.Hi && x.Lo <= r.Hi {
			return true
		}
	}
	return false
}
