package probe_test

import (
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps/probe"
)

// TestPastedVerdictsAndCRLF (issue 11, items 3 and 6): the fallback commands print
// SocketErrorCode names (.NET's SocketError enum, not localised:
// https://learn.microsoft.com/dotnet/api/system.net.sockets.socketerror) that the
// parser turns into verdicts, and a paste with CR or CRLF line endings (what terminals
// send) is understood.
func TestPastedVerdictsAndCRLF(t *testing.T) {
	three := append(append([]sqlops.ProbeTarget(nil), pastedTargets...), sqlops.ProbeTarget{Label: "c", Host: "10.0.0.9", Port: 11000, Timeout: time.Second})
	for _, nl := range []string{"\r", "\r\n"} {
		text := strings.Join([]string{
			"mi.example:5022 TcpTestSucceeded : False SocketErrorCode : HostNotFound",
			"node.example:11002 TcpTestSucceeded : False SocketErrorCode : ConnectionRefused",
			"10.0.0.9:11000 TcpTestSucceeded : False SocketErrorCode : TimedOut",
		}, nl) + nl
		rs, err := probe.ParsePasted(text, three)
		if err != nil || len(rs) != 3 {
			t.Fatalf("%q: %v %+v", nl, err, rs)
		}
		want := []sqlops.ProbeVerdict{sqlops.VerdictDNS, sqlops.VerdictRefused, sqlops.VerdictTimeout}
		for i, r := range rs {
			if r.Verdict != want[i] {
				t.Errorf("%q: %s:%d verdict %s, want %s", nl, r.Host, r.Port, r.Verdict, want[i])
			}
		}
	}
}

// TestFallbackCommandPerPlatform: PowerShell for a Windows SQL Server host, bash for a
// Linux one, both printing the SocketErrorCode field.
func TestFallbackCommandPerPlatform(t *testing.T) {
	win := probe.CommandFor("Windows", pastedTargets)
	if !strings.Contains(win, "System.Net.Sockets.TcpClient") || !strings.Contains(win, "SocketErrorCode") || strings.Contains(win, "/dev/tcp") {
		t.Errorf("Windows fallback: %s", win)
	}
	lin := probe.CommandFor("Linux", pastedTargets)
	if !strings.Contains(lin, "/dev/tcp/mi.example/5022") || !strings.Contains(lin, "SocketErrorCode") {
		t.Errorf("Linux fallback: %s", lin)
	}
}

// TestBashFallbackRuns runs the Linux fallback for real against loopback: a listening
// port connects, a closed one is ConnectionRefused.
func TestBashFallbackRuns(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	targets := []sqlops.ProbeTarget{
		{Label: "open", Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, Timeout: 2 * time.Second},
		{Label: "closed", Host: "127.0.0.1", Port: closedPort, Timeout: 2 * time.Second},
	}
	out, err := exec.Command("bash", "-c", probe.CommandFor("Linux", targets)).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	rs, err := probe.ParsePasted(string(out), targets)
	if err != nil || rs[0].Verdict != sqlops.VerdictConnected || rs[1].Verdict != sqlops.VerdictRefused {
		t.Errorf("bash fallback: %v %+v\n%s", err, rs, out)
	}
}
