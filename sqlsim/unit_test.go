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
