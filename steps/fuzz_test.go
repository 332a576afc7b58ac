package steps_test

import (
	"strings"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps"
)

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"16.0.4135.4", "15.0.2000.5", "13.0.7000.253", "1.2", "", "a.b.c.d", "99.0.0.0", "-1.0.0.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := steps.ParseVersion(s)
		if err != nil {
			return
		}
		for _, n := range v {
			if n < 0 {
				t.Fatalf("negative part in %v from %q", v, s)
			}
		}
		sup := steps.LinkSupport(v, "Windows")
		if sup.MIToSQL && !sup.SQLToMI {
			t.Fatalf("%v: MI→SQL supported without SQL→MI", v)
		}
		if v[0] < 13 && (sup.SQLToMI || sup.MIToSQL) {
			t.Fatalf("%v: SQL Server 2014 or older reported as supported", v)
		}
	})
}

func FuzzParsePastedProbeResults(f *testing.F) {
	f.Add("mi.example:5022 TcpTestSucceeded : True\nnode.example:11002 TcpTestSucceeded : False\n")
	f.Add("garbage")
	f.Add("mi.example:5022 TcpTestSucceeded : Maybe")
	targets := []sqlops.ProbeTarget{{Label: "a", Host: "mi.example", Port: 5022, Timeout: time.Second}, {Label: "b", Host: "node.example", Port: 11002, Timeout: time.Second}}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := steps.ParsePastedProbeResults(s, targets)
		if err != nil {
			return
		}
		if len(got) != len(targets) {
			t.Fatalf("%d results for %d targets", len(got), len(targets))
		}
		for i, pr := range got {
			if pr.Host != targets[i].Host || pr.Port != targets[i].Port {
				t.Fatalf("result %d is for %s:%d", i, pr.Host, pr.Port)
			}
			if pr.Succeeded && !strings.Contains(s, targets[i].Host) {
				t.Fatalf("success without a line for %s", pr.Host)
			}
		}
	})
}
