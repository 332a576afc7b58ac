package sqlsim

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
)

func TestEveryTagHasAHandler(t *testing.T) {
	for _, tag := range sqlops.Tags() {
		if _, ok := queryHandlers[tag]; !ok {
			t.Errorf("sqlops uses tag %q but the simulator has no handler for it", tag)
		}
	}
	for tag := range queryHandlers {
		found := false
		for _, u := range sqlops.Tags() {
			found = found || u == tag
		}
		if !found {
			t.Errorf("handler for tag %q that sqlops never sends", tag)
		}
	}
}

func TestLike(t *testing.T) {
	cases := []struct {
		s, p string
		want bool
	}{
		{"abc [milink:0123abcd] x", sqlops.MarkerLikePattern, true},
		{"abc milink:0123abcd x", sqlops.MarkerLikePattern, false},
		{"NetHelper", "net%", true},
		{"NetHelper", "N_tHelper", true},
		{"NetHelper", "N_Helper", false},
		{"a", "[abc]", true},
		{"d", "[a-c]", false},
		{"d", "[^a-c]", true},
		{"", "%", true},
		{"x", "", false},
	}
	for _, c := range cases {
		if got := like(c.s, c.p); got != c.want {
			t.Errorf("like(%q, %q) = %v", c.s, c.p, got)
		}
	}
}

func TestParseDDL(t *testing.T) {
	spec := sqlops.TestEndpointSpec{RunID: "0123456789abcdef", NoMasterKey: true}
	cert, _ := sqlops.CreateCertificateSQL(spec, time.Now())
	d, ok, err := parseDDL(cert)
	if !ok || err != nil || d.object != "CERTIFICATE" || d.name != "TEST_CERT" || d.password == "" || d.subject != sqlops.CertificateSubject(spec.RunID) {
		t.Errorf("certificate: %+v %v %v", d, ok, err)
	}
	ep, _ := sqlops.CreateEndpointSQL(spec)
	d, ok, err = parseDDL(ep)
	if !ok || err != nil || d.object != "ENDPOINT" || d.port != 5022 || d.state != "STARTED" || d.protocolFor != "DATABASE_MIRRORING" || d.certName != "TEST_CERT" || d.algorithm != "AES" {
		t.Errorf("endpoint: %+v %v %v", d, ok, err)
	}
	// The documented script, with comments, USE and N'' strings.
	doc := "-- Run on SQL Server\nUSE MASTER\nCREATE CERTIFICATE TEST_CERT\nWITH SUBJECT = N'Certificate for SQL Server',\nEXPIRY_DATE = N'3/30/2051'"
	if d, ok, err = parseDDL(doc); !ok || err != nil || d.name != "TEST_CERT" || d.expiry != "3/30/2051" {
		t.Errorf("doc script: %+v %v %v", d, ok, err)
	}
	if d, ok, err = parseDDL("DROP ENDPOINT [TEST_ENDPOINT];"); !ok || err != nil || d.verb != "DROP" || d.name != "TEST_ENDPOINT" {
		t.Errorf("drop: %+v %v %v", d, ok, err)
	}
	if _, ok, _ = parseDDL("SELECT 1"); ok {
		t.Error("SELECT parsed as DDL")
	}
	if _, ok, err = parseDDL("CREATE ENDPOINT x STATE = STARTED AS TCP (LISTENER_PORT = 'a')"); !ok || err == nil {
		t.Error("bad endpoint accepted")
	}
	if _, _, err = parseDDL("CREATE CERTIFICATE [unterminated"); err == nil {
		t.Error("unterminated identifier accepted")
	}
}

func FuzzParseDDL(f *testing.F) {
	f.Add("CREATE CERTIFICATE [TEST_CERT] WITH SUBJECT = N'x', EXPIRY_DATE = N'20300101'")
	f.Add("CREATE ENDPOINT [E] STATE = STARTED AS TCP (LISTENER_PORT = 5022, LISTENER_IP = ALL) FOR DATABASE_MIRRORING (ROLE = ALL)")
	f.Add("/* c */ DROP CERTIFICATE x")
	f.Fuzz(func(t *testing.T, s string) {
		_, _, _ = parseDDL(s) // must not panic
	})
}

func TestNetworkProbe(t *testing.T) {
	n := NewNetwork()
	n.AddHost("mi.example", "10.0.0.10")
	l, err := n.Listen("10.0.0.10", 5022)
	if err != nil {
		t.Fatal(err)
	}
	go acceptAndClose(l)
	defer l.Close()
	ctx := context.Background()
	if r := n.Probe(ctx, "mi.example", 5022, time.Second); r.Err != nil || r.RemoteAddress != "10.0.0.10" {
		t.Errorf("open: %+v", r)
	}
	if r := n.Probe(ctx, "mi.example", 5023, time.Second); !errors.Is(r.Err, ErrRefused) {
		t.Errorf("closed port on a known host: %+v", r)
	}
	if r := n.Probe(ctx, "nohost.example", 5022, time.Second); !errors.Is(r.Err, ErrNoSuchHost) {
		t.Errorf("unknown name: %+v", r)
	}
	n.SetRule("mi.example", 5022, RuleFiltered)
	start := time.Now()
	if r := n.Probe(ctx, "mi.example", 5022, 50*time.Millisecond); !errors.Is(r.Err, ErrTimedOut) {
		t.Errorf("filtered: %+v", r)
	}
	if time.Since(start) < 50*time.Millisecond {
		t.Error("a filtered probe returned before its timeout")
	}
	if _, err := n.Listen("10.0.0.10", 5022); !errors.Is(err, ErrPortInUse) {
		t.Errorf("second listener on the same port: %v", err)
	}
	l.Close()
	l2, err := n.Listen("10.0.0.10", 5022)
	if err != nil {
		t.Fatalf("port not released on close: %v", err)
	}
	l2.Close()
	var _ net.Listener = l
}

func FuzzLike(f *testing.F) {
	f.Add("abc [milink:0123abcd]", "%[[]milink:%]%")
	f.Add("NetHelper", "N_t%")
	f.Add("x", "[")
	f.Fuzz(func(t *testing.T, s, p string) {
		got := like(s, p)
		// A pattern without wildcards or brackets matches exactly its own text.
		if !strings.ContainsAny(p, "%_[") && got != strings.EqualFold(s, p) && strings.ToLower(s) == s && strings.ToLower(p) == p {
			t.Fatalf("like(%q, %q) = %v", s, p, got)
		}
		if like(s, "%") != true {
			t.Fatalf("%% does not match %q", s)
		}
	})
}
