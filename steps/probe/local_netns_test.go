package probe

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
)

// TestNetnsHelperListener is not a test: run inside a network namespace by
// TestLocalInNamespaces, it listens on $MILINK_NETNS_LISTEN until killed.
func TestNetnsHelperListener(t *testing.T) {
	addr := os.Getenv("MILINK_NETNS_LISTEN")
	if addr == "" {
		t.Skip("helper process only")
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(3)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			os.Exit(0)
		}
		c.Close()
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// TestLocalInNamespaces puts a test host in its own network namespace behind a veth
// pair, with iptables inside the namespace dropping one port and rejecting another, and
// checks milink's verdicts and that a filtered port is reported within the probe timeout.
func TestLocalInNamespaces(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for ip netns")
	}
	for _, tool := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing; .ci/run installs iproute2 and iptables", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
	var rb [2]byte
	rand.Read(rb[:])
	id := hex.EncodeToString(rb[:])
	ns := "milink-t-" + id
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	hostIf, nsIf := "mlk"+id+"a", "mlk"+id+"b"
	subnet := int(rb[0]) % 250
	hostIP, nsIP := fmt.Sprintf("10.252.%d.1", subnet), fmt.Sprintf("10.252.%d.2", subnet)
	run(t, "ip", "link", "add", hostIf, "type", "veth", "peer", "name", nsIf)
	t.Cleanup(func() { exec.Command("ip", "link", "del", hostIf).Run() })
	run(t, "ip", "link", "set", nsIf, "netns", ns)
	run(t, "ip", "addr", "add", hostIP+"/30", "dev", hostIf)
	run(t, "ip", "link", "set", hostIf, "up")
	run(t, "ip", "netns", "exec", ns, "ip", "addr", "add", nsIP+"/30", "dev", nsIf)
	run(t, "ip", "netns", "exec", ns, "ip", "link", "set", nsIf, "up")
	run(t, "ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
	run(t, "ip", "netns", "exec", ns, "iptables", "-A", "INPUT", "-p", "tcp", "--dport", "5023", "-j", "DROP")
	run(t, "ip", "netns", "exec", ns, "iptables", "-A", "INPUT", "-p", "tcp", "--dport", "5024", "-j", "REJECT", "--reject-with", "tcp-reset")

	helper := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestNetnsHelperListener$")
	helper.Env = append(os.Environ(), "MILINK_NETNS_LISTEN="+nsIP+":5022")
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { helper.Process.Kill(); helper.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", nsIP+":5022", 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the test host never listened: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	dns := startFakeDNS(t, map[string]string{"sqlmi.milink.test.": nsIP})
	prober := Local{Resolver: &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", dns)
	}}}
	timeout := 700 * time.Millisecond
	cases := []struct {
		host    string
		port    int
		verdict sqlops.ProbeVerdict
	}{
		{nsIP, 5022, sqlops.VerdictConnected},
		{"sqlmi.milink.test", 5022, sqlops.VerdictConnected},
		{nsIP, 5023, sqlops.VerdictTimeout}, // iptables DROP: filtered
		{nsIP, 5024, sqlops.VerdictRefused}, // iptables REJECT with a TCP reset
		{nsIP, 5025, sqlops.VerdictRefused}, // nothing listens
		{"nohost.milink.test", 5022, sqlops.VerdictDNS},
	}
	for _, c := range cases {
		start := time.Now()
		rs, err := prober.Probe(context.Background(), []sqlops.ProbeTarget{{Label: "t", Host: c.host, Port: c.port, Timeout: timeout}}, nil)
		took := time.Since(start)
		if err != nil || len(rs) != 1 {
			t.Fatalf("%s:%d: %v, %d results", c.host, c.port, err, len(rs))
		}
		pr := rs[0]
		t.Logf("%s:%d -> %s (%s) in %s", c.host, c.port, pr.Verdict, pr.Detail, took.Round(time.Millisecond))
		if pr.Verdict != c.verdict {
			t.Errorf("%s:%d: verdict %s (%s), want %s", c.host, c.port, pr.Verdict, pr.Detail, c.verdict)
		}
		if took > timeout+500*time.Millisecond {
			t.Errorf("%s:%d took %s, beyond the probe timeout %s", c.host, c.port, took, timeout)
		}
	}
}

// startFakeDNS answers A queries for the given names and NXDOMAIN for others, on
// loopback UDP, so no query leaves the machine.
func startFakeDNS(t *testing.T, names map[string]string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := dnsAnswer(buf[:n], names); resp != nil {
				pc.WriteTo(resp, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

func dnsAnswer(q []byte, names map[string]string) []byte {
	if len(q) < 12 {
		return nil
	}
	// Question: labels, then type and class.
	i := 12
	var labels []string
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if i+1+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	if i+5 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[i+1:])
	question := q[12 : i+5]
	name := strings.ToLower(strings.Join(labels, ".")) + "."
	ip, known := names[name]
	resp := make([]byte, 12, 64)
	copy(resp, q[:2])
	flags := uint16(0x8180) // response, recursion desired + available
	if !known {
		flags |= 3 // NXDOMAIN
	}
	binary.BigEndian.PutUint16(resp[2:], flags)
	binary.BigEndian.PutUint16(resp[4:], 1)
	resp = append(resp, question...)
	if known && qtype == 1 {
		binary.BigEndian.PutUint16(resp[6:], 1)
		a := net.ParseIP(ip).To4()
		resp = append(resp, 0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4)
		resp = append(resp, a...)
	}
	return resp
}
