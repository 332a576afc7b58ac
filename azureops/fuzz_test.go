package azureops

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v6"
)

// FuzzEvaluateNSG checks EvaluateNSG's range splitting against a port-by-port evaluation:
// the segments must tile the flow's range, adjacent segments must differ, and each port
// must be decided by the first (lowest priority number) matching rule.
func FuzzEvaluateNSG(f *testing.F) {
	f.Add([]byte{0, 10, 20, 1, 5, 200, 3, 9, 2, 7}, uint16(11000), uint16(999))
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, uint16(5022), uint16(0))
	f.Add([]byte{255, 0, 255, 0, 128, 64}, uint16(0), uint16(1500))
	f.Fuzz(func(t *testing.T, data []byte, lo, width uint16) {
		width %= 1500
		if int(lo)+int(width) > 65535 {
			lo = uint16(65535 - int(width))
		}
		flow := Flow{Direction: inbound, Ports: PortRange{int(lo), int(lo) + int(width)}, Destination: miSubnet}
		flow.Source, _ = HostEndpoint("203.0.113.10")
		sources := []string{"*", "203.0.113.10", "203.0.113.0/24", "198.51.100.0/24", "VirtualNetwork", "Internet"}
		protos := []armnetwork.SecurityRuleProtocol{"Tcp", "*", "Udp"}
		var rules []*armnetwork.SecurityRule
		for i := 0; i+4 < len(data) && len(rules) < 12; i += 5 {
			access := allow
			if data[i]&1 == 1 {
				access = deny
			}
			a := int(lo) + int(data[i+1])*7 - 100
			b := a + int(data[i+2])*5
			ports := fmt.Sprintf("%d-%d", max(a, 0), min(max(b, 0), 65535))
			if data[i+2] == 0 {
				ports = "*"
			}
			r := rule(fmt.Sprintf("r%d", len(rules)), 100+int32(data[i+3])*3+int32(len(rules)%3), inbound, access,
				protos[int(data[i+4])%len(protos)], sources[int(data[i+4]/3)%len(sources)], "*", ports)
			rules = append(rules, r)
		}
		v := EvaluateNSG(rules, defaultRules(), flow)

		next := flow.Ports.Lo
		for i, s := range v.Segments {
			if s.Ports.Lo != next || s.Ports.Hi < s.Ports.Lo {
				t.Fatalf("segments do not tile %v: %s", flow.Ports, segs(v))
			}
			if i > 0 && v.Segments[i-1].Rule == s.Rule {
				t.Fatalf("adjacent segments with the same rule: %s", segs(v))
			}
			next = s.Ports.Hi + 1
		}
		if next != flow.Ports.Hi+1 {
			t.Fatalf("segments end at %d, want %d: %s", next-1, flow.Ports.Hi, segs(v))
		}

		// Reference: per port, the first applicable rule in priority order.
		var cands []candidate
		for _, r := range rules {
			if c, ok := applies(r, false, flow, func(string, ...any) {}); ok {
				cands = append(cands, c)
			}
		}
		for _, r := range defaultRules() {
			if c, ok := applies(r, true, flow, func(string, ...any) {}); ok {
				cands = append(cands, c)
			}
		}
		sort.SliceStable(cands, func(i, j int) bool { return cands[i].ref.Priority < cands[j].ref.Priority })
		for _, s := range v.Segments {
			for p := s.Ports.Lo; p <= s.Ports.Hi; p++ {
				want := RuleRef{Implicit: true, Access: deny}
				for _, c := range cands {
					if containsRange(c.ports, PortRange{p, p}) {
						want = c.ref
						break
					}
				}
				if want != s.Rule {
					t.Fatalf("port %d decided by %v, want %v", p, s.Rule, want)
				}
			}
		}
	})
}

// FuzzMatchAction compares the RBAC wildcard matcher with a regular expression.
func FuzzMatchAction(f *testing.F) {
	f.Add("Microsoft.Sql/*", "Microsoft.Sql/managedInstances/read")
	f.Add("*/read", "Microsoft.Sql/managedInstances/write")
	f.Add("a*b*c", "aXbYbc")
	f.Add("**a", "ba")
	f.Fuzz(func(t *testing.T, pattern, action string) {
		if len(pattern) > 64 || len(action) > 64 {
			return
		}
		quoted := strings.Split(strings.ToLower(pattern), "*")
		for i := range quoted {
			quoted[i] = regexp.QuoteMeta(quoted[i])
		}
		re := regexp.MustCompile("^(?s:" + strings.Join(quoted, ".*") + ")$")
		if got, want := MatchAction(pattern, action), re.MatchString(strings.ToLower(action)); got != want {
			t.Fatalf("MatchAction(%q, %q) = %v, regexp says %v", pattern, action, got, want)
		}
	})
}

// FuzzParseMIResourceID checks that accepted IDs round-trip and that parsing never panics.
func FuzzParseMIResourceID(f *testing.F) {
	f.Add(testMI.ResourceID())
	f.Add("/subscriptions/x/resourceGroups/y/providers/Microsoft.Sql/managedInstances/z")
	f.Add("////////")
	f.Fuzz(func(t *testing.T, id string) {
		m, err := ParseMIResourceID(id)
		if err != nil {
			return
		}
		again, err := ParseMIResourceID(m.ResourceID())
		if err != nil || again != m {
			t.Fatalf("round trip of %q: %+v, %v", id, again, err)
		}
		for _, c := range Clouds() {
			_ = c.CheckMIHost(id)
		}
	})
}
