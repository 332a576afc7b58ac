package sqlops

import (
	"strings"
	"testing"
	"time"
)

func TestProbeScriptOneStepForAllTargets(t *testing.T) {
	ts := []ProbeTarget{
		{Label: "a", Host: "sqlmi.abc.database.windows.net", Port: 5022, Timeout: 5 * time.Second},
		{Label: "b", Host: "fe80::1", Port: 11002, Timeout: 5 * time.Second},
	}
	s, err := ProbeScript(ts, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"#NOSQLPS\n", "@{ n = 'sqlmi.abc.database.windows.net:5022'; h = 'sqlmi.abc.database.windows.net'; p = 5022; t = 5000 }",
		"@{ n = '[fe80::1]:11002'; h = 'fe80::1'; p = 11002; t = 5000 }", "ConnectAsync", "WaitAny", "SocketErrorCode", "ElapsedMs"} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
	if strings.Count(s, "ConnectAsync") != 1 || strings.Contains(s, "Test-NetConnection") {
		t.Errorf("the connects must be started by one loop, not one statement per target:\n%s", s)
	}
	line, err := ProbeCommandLine(ts)
	if err != nil || strings.Contains(line, "\n") || strings.Contains(line, "#NOSQLPS") {
		t.Errorf("command line: %v\n%s", err, line)
	}
	for _, bad := range []ProbeTarget{{Label: "x", Host: "a'; rm", Port: 5022, Timeout: time.Second},
		{Label: "x", Host: "a", Port: 0, Timeout: time.Second}, {Label: "x", Host: "a", Port: 1, Timeout: time.Millisecond}} {
		if _, err := ProbeScript([]ProbeTarget{ts[0], bad}, false); err == nil {
			t.Errorf("%+v reached the script", bad)
		}
	}
	if _, err := ProbeScript(nil, false); err == nil {
		t.Error("a script without targets")
	}
}

func TestParseProbeLines(t *testing.T) {
	ts := []ProbeTarget{
		{Host: "mi.example", Port: 5022}, {Host: "node.example", Port: 11002}, {Host: "fe80::1", Port: 11000}, {Host: "gone.example", Port: 11999},
	}
	log := "node.example:11002 TcpTestSucceeded : False SocketErrorCode : TimedOut RemoteAddress : 10.0.0.7 ElapsedMs : 5001 Detail : timed out after 5000 ms\r\n" +
		"mi.example:5022 TcpTestSucceeded : True SocketErrorCode : Success RemoteAddress : 10.0.0.10 ElapsedMs : 12 Detail : connected\r\n" +
		"[fe80::1]:11000 TcpTestSucceeded : False SocketErrorCode : ConnectionRefused RemoteAddress : fe80::1 ElapsedMs : 3 Detail : No connection could be made\r\n"
	msg := "Executed as user: NT Service\\SQLSERVERAGENT. " + strings.Join(strings.Fields(log), " ") + "  Process Exit Code 0.  The step succeeded."
	for name, out := range map[string]string{"log": log, "history message": msg} {
		ls := ParseProbeLines(out, ts)
		want := []struct {
			v    ProbeVerdict
			ms   time.Duration
			addr string
		}{{VerdictConnected, 12, "10.0.0.10"}, {VerdictTimeout, 5001, "10.0.0.7"}, {VerdictRefused, 3, "fe80::1"}}
		for i, w := range want {
			l := ls[i]
			if !l.Found || l.Verdict != w.v || l.Elapsed != w.ms*time.Millisecond || !l.HasElapsed || l.RemoteAddress != w.addr {
				t.Errorf("%s: target %d: %+v, want %+v", name, i, l, w)
			}
		}
		if ls[3].Found {
			t.Errorf("%s: a target without a line was found: %+v", name, ls[3])
		}
		if ls[1].Detail != "timed out after 5000 ms" {
			t.Errorf("%s: detail %q", name, ls[1].Detail)
		}
	}
	// Text fallback: Test-NetConnection's Format-List for a lone target.
	ls := ParseProbeLines("\r\nComputerName     : mi\r\nRemoteAddress    : 10.0.0.10\r\nTcpTestSucceeded : True\r\n", ts[:1])
	if !ls[0].Found || ls[0].Verdict != VerdictConnected || ls[0].HasElapsed {
		t.Errorf("tnc fallback: %+v", ls[0])
	}
	// A name that only ends like a target's is not that target's line.
	if ls := ParseProbeLines("xmi.example:5022 TcpTestSucceeded : True", ts[:2]); ls[0].Found {
		t.Errorf("suffix match: %+v", ls[0])
	}
}
