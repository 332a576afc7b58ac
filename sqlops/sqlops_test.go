package sqlops

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestValidateHost(t *testing.T) {
	good := []string{"10.0.0.4", "::1", "fe80::1", "sqlmi.abc123.database.windows.net", "DB123.tr123456.west-us.worker.database.windows.net",
		"localhost", "a", "host-1.example.", "2001:db8::5"}
	for _, h := range good {
		if err := ValidateHost(h); err != nil {
			t.Errorf("ValidateHost(%q) = %v, want nil", h, err)
		}
	}
	bad := []string{"", "0.0.0.0", "a b", "host;calc", "h'q", "$(x)", "a..b", "-lead.example", "trail-.example", "300.1.1.1", "1.2.3",
		"fe80::1%eth0", "ünïcode.example", strings.Repeat("a", 64) + ".com", strings.Repeat("a.", 130), "x`y", "a|b", "a&b", "a\nb"}
	for _, h := range bad {
		err := ValidateHost(h)
		if err == nil {
			t.Errorf("ValidateHost(%q) = nil, want an error", h)
		} else if !errors.Is(err, ErrInvalidInput) {
			t.Errorf("ValidateHost(%q) error does not wrap ErrInvalidInput: %v", h, err)
		}
	}
}

func TestValidatePortAndIdentifier(t *testing.T) {
	for _, p := range []int{1, 5022, 65535} {
		if ValidatePort(p) != nil {
			t.Errorf("port %d rejected", p)
		}
	}
	for _, p := range []int{0, -1, 65536} {
		if ValidatePort(p) == nil {
			t.Errorf("port %d accepted", p)
		}
	}
	for _, s := range []string{"TEST_CERT", "_x", "TEST_ENDPOINT_milink_0123abcd"} {
		if ValidateIdentifier(s) != nil {
			t.Errorf("identifier %q rejected", s)
		}
	}
	for _, s := range []string{"", "1abc", "a b", "a]b", "a;DROP", strings.Repeat("a", 129)} {
		if ValidateIdentifier(s) == nil {
			t.Errorf("identifier %q accepted", s)
		}
	}
	if got := QuoteIdentifier("a]b"); got != "[a]]b]" {
		t.Errorf("QuoteIdentifier = %q", got)
	}
}

func TestMarker(t *testing.T) {
	id := NewRunID()
	if ValidateRunID(id) != nil {
		t.Fatalf("NewRunID %q invalid", id)
	}
	desc := JobDescription("purpose", RandomKey().Mark(KindJob, "NetHelper", id))
	got, ok := MarkedRunID(desc)
	if !ok || got != id {
		t.Errorf("MarkedRunID(%q) = %q, %v", desc, got, ok)
	}
	for _, s := range []string{"", "milink", "[milink:]", "[milink:XYZ]", "[milink:123]"} {
		if _, ok := MarkedRunID(s); ok {
			t.Errorf("MarkedRunID(%q) found a marker", s)
		}
	}
}

func TestParseProbeOutput(t *testing.T) {
	cases := []struct {
		name, in string
		ok       bool
		verdict  ProbeVerdict
		remote   string
	}{
		{"tnc format-list", "\r\n\r\nComputerName     : mi.example\r\nRemoteAddress    : 10.0.0.10\r\nTcpTestSucceeded : True\r\n\r\n", true, VerdictConnected, "10.0.0.10"},
		{"history message", "Executed as user: NT Service\\SQLSERVERAGENT. ComputerName : mi RemoteAddress : 10.0.0.10 TcpTestSucceeded : True  Process Exit Code 0.  The step succeeded.", true, VerdictConnected, "10.0.0.10"},
		{"tnc failed", "WARNING: TCP connect to (10.0.0.10 : 5022) failed\r\nComputerName : mi\r\nRemoteAddress : 10.0.0.10\r\nTcpTestSucceeded : False", false, VerdictFailed, "10.0.0.10"},
		{"quiet true", "True\r\n", true, VerdictConnected, ""},
		{"quiet false", "False", false, VerdictFailed, ""},
		{"quiet in history", "Executed as user: x. True  Process Exit Code 0.  The step succeeded.", true, VerdictConnected, ""},
		{"timed timeout", "ComputerName     : h\r\nRemoteAddress    : 10.0.0.10\r\nRemotePort       : 5022\r\nTcpTestSucceeded : False\r\nDetail           : timed out after 5000 ms\r\n", false, VerdictTimeout, "10.0.0.10"},
		{"timed refused", "RemoteAddress    : 10.1.0.4\r\nTcpTestSucceeded : False\r\nDetail           : No connection could be made because the target machine actively refused it 10.1.0.4:5022\r\n", false, VerdictRefused, "10.1.0.4"},
		{"timed dns", "ComputerName : nohost\r\nRemoteAddress    : \r\nRemotePort       : 5022\r\nTcpTestSucceeded : False\r\nDetail           : No such host is known\r\n", false, VerdictDNS, ""},
		{"tnc dns", "WARNING: Name resolution of nohost failed\r\nComputerName : nohost\r\nRemoteAddress :\r\nTcpTestSucceeded : False", false, VerdictDNS, ""},
		{"garbage", "A job step received an error at line 1 in a PowerShell script.", false, VerdictUnknown, ""},
		{"ipv6", "RemoteAddress : fe80::1\nTcpTestSucceeded : True", true, VerdictConnected, "fe80::1"},
		{"cut at 4000", strings.Repeat("x", 3990) + " TcpTestSucc", false, VerdictUnknown, ""},
	}
	for _, c := range cases {
		got := ParseProbeOutput(c.in)
		if got.Succeeded != c.ok || got.Verdict != c.verdict || got.RemoteAddress != c.remote {
			t.Errorf("%s: got %+v, want ok=%v verdict=%s remote=%q", c.name, got, c.ok, c.verdict, c.remote)
		}
	}
}

func TestQueriesAreTagged(t *testing.T) {
	for _, tag := range Tags() {
		q := Query(tag)
		if TagOf(q) != tag {
			t.Errorf("Query(%q) carries tag %q", tag, TagOf(q))
		}
	}
	if TagOf("SELECT 1") != "" {
		t.Error("untagged text has a tag")
	}
}

func TestDDLBuilders(t *testing.T) {
	spec := TestEndpointSpec{RunID: "0123456789abcdef", NoMasterKey: true}
	mark := RandomKey().Mark(KindCertificate, "TEST_CERT", spec.RunID)
	c, err := CreateCertificateSQL(spec, mark, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CreateCertificateSQL(spec, "x'; DROP DATABASE y; --", time.Now()); err == nil {
		t.Error("a bad mark reached DDL")
	}
	if !strings.HasPrefix(c, "CREATE CERTIFICATE [TEST_CERT] ENCRYPTION BY PASSWORD = N'") || !strings.Contains(c, mark) || len(CertificateSubject(mark)) > 128 || !strings.Contains(c, "START_DATE = N'20251231', EXPIRY_DATE = N'20260108'") {
		t.Errorf("certificate DDL: %s", c)
	}
	e, err := CreateEndpointSQL(spec)
	if err != nil {
		t.Fatal(err)
	}
	if e != "CREATE ENDPOINT [TEST_ENDPOINT] STATE = STARTED AS TCP (LISTENER_PORT = 5022, LISTENER_IP = ALL) FOR DATABASE_MIRRORING (ROLE = ALL, AUTHENTICATION = CERTIFICATE [TEST_CERT], ENCRYPTION = REQUIRED ALGORITHM AES)" {
		t.Errorf("endpoint DDL: %s", e)
	}
	if _, err := CreateEndpointSQL(TestEndpointSpec{RunID: "0123456789abcdef", EndpointName: "x]; DROP DATABASE y; --"}); err == nil {
		t.Error("a bad endpoint name reached DDL")
	}
}

func TestDurationFromHHMMSS(t *testing.T) {
	if got := DurationFromHHMMSS(10203); got != time.Hour+2*time.Minute+3*time.Second {
		t.Errorf("got %s", got)
	}
}

func FuzzParseProbeOutput(f *testing.F) {
	f.Add("ComputerName : h\r\nRemoteAddress : 10.0.0.1\r\nTcpTestSucceeded : True")
	f.Add("Executed as user: x. True  Process Exit Code 0.  The step succeeded.")
	f.Add("Detail : timed out after 5000 ms")
	f.Fuzz(func(t *testing.T, s string) {
		out := ParseProbeOutput(s)
		if out.Succeeded && !out.Known {
			t.Fatalf("succeeded without a known result: %+v", out)
		}
		if out.Succeeded != (out.Verdict == VerdictConnected) {
			t.Fatalf("verdict %s inconsistent with succeeded=%v", out.Verdict, out.Succeeded)
		}
	})
}

func FuzzValidateHost(f *testing.F) {
	for _, s := range []string{"10.0.0.1", "a.b.c", "x'y", "::1", "a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateHost(s) != nil {
			return
		}
		// Anything accepted must be safe inside a single-quoted PowerShell string and a shell word.
		if strings.ContainsAny(s, "'\"`$;|&<>(){}[] \t\r\n\\") && !strings.Contains(s, ":") {
			t.Fatalf("accepted unsafe host %q", s)
		}
		for _, r := range s {
			if !(r == '.' || r == '-' || r == ':' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')) {
				t.Fatalf("accepted host %q with character %q", s, r)
			}
		}
	})
}

func FuzzValidateIdentifier(f *testing.F) {
	f.Add("TEST_CERT")
	f.Add("a]b")
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateIdentifier(s) == nil && strings.ContainsAny(s, "[]'; -") {
			t.Fatalf("accepted identifier %q", s)
		}
	})
}

func TestConnConfigNeverPrintsPassword(t *testing.T) {
	c := ConnConfig{Role: "SQL Server", Host: "h", User: "sa", Password: "S3cret-Pa55"}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%v", &c), fmt.Sprintf("%+v", struct{ C ConnConfig }{c})} {
		if strings.Contains(s, "S3cret") {
			t.Errorf("password printed: %s", s)
		}
	}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("x", "cfg", c)
	if strings.Contains(b.String(), "S3cret") {
		t.Errorf("password logged: %s", b.String())
	}
	func() {
		defer func() {
			if r := recover(); r == nil || strings.Contains(fmt.Sprint(r), "S3cret") {
				t.Errorf("panic value shows the password: %v", r)
			}
		}()
		panic(fmt.Sprintf("boom: %v", c))
	}()
}

func FuzzValidateDatabaseName(f *testing.F) {
	for _, s := range []string{"SalesDB", "", "a\x00b", "Sales DB; DROP", "ünïcode"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateDatabaseName(s) != nil {
			return
		}
		if s == "" || strings.ContainsAny(s, "\x00\r\n\t") {
			t.Fatalf("accepted %q", s)
		}
	})
}

// TestParseLocalisedProbeOutput (issue 11, item 3): on a German Windows the exception
// text is localised; the SocketErrorCode field (.NET's SocketError names, never
// localised) decides the verdict.
func TestParseLocalisedProbeOutput(t *testing.T) {
	for code, want := range map[string]ProbeVerdict{"ConnectionRefused": VerdictRefused, "TimedOut": VerdictTimeout, "HostNotFound": VerdictDNS, "NetworkUnreachable": VerdictFailed} {
		out := "ComputerName     : mi.example\r\nRemoteAddress    : \r\nTcpTestSucceeded : False\r\nSocketErrorCode  : " + code +
			"\r\nDetail           : Es konnte keine Verbindung hergestellt werden, da der Zielcomputer die Verbindung verweigerte\r\n"
		if po := ParseProbeOutput(out); po.Verdict != want || po.SocketErrorCode != code {
			t.Errorf("%s: %s (%q), want %s", code, po.Verdict, po.SocketErrorCode, want)
		}
	}
}
