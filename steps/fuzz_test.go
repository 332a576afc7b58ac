package steps_test

import (
	"testing"

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
