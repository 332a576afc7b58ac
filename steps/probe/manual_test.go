package probe_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps/probe"
)

var pastedTargets = []sqlops.ProbeTarget{{Label: "a", Host: "mi.example", Port: 5022, Timeout: time.Second}, {Label: "b", Host: "node.example", Port: 11002, Timeout: time.Second}}

func TestCommandAndParsePasted(t *testing.T) {
	cmd := probe.Command(append(pastedTargets, sqlops.ProbeTarget{Label: "bad", Host: "x;id", Port: 1, Timeout: time.Second}))
	if !strings.Contains(cmd, "/dev/tcp/mi.example/5022") || !strings.Contains(cmd, "/dev/tcp/node.example/11002") || strings.Contains(cmd, "x;id") {
		t.Errorf("command: %s", cmd)
	}
	got, err := probe.ParsePasted("$ ...\nmi.example:5022 TcpTestSucceeded : True\nnode.example:11002 TcpTestSucceeded : False\n", pastedTargets)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[0].Succeeded || got[0].Verdict != sqlops.VerdictConnected || got[1].Succeeded || got[1].Verdict != sqlops.VerdictFailed {
		t.Fatalf("parsed: %+v", got)
	}
	if got[1].Step != "b" || got[1].Where != (probe.Manual{}).Where() || !strings.Contains(got[1].Ran, "/dev/tcp/node.example/11002") || strings.Contains(got[1].Ran, "mi.example") {
		t.Errorf("result b: step %q, where %q, ran %q", got[1].Step, got[1].Where, got[1].Ran)
	}
	if _, err := probe.ParsePasted("mi.example:5022 TcpTestSucceeded : True", pastedTargets); err == nil || !strings.Contains(err.Error(), "node.example:11002") {
		t.Errorf("a missing line: %v", err)
	}
}

func TestManualProber(t *testing.T) {
	var notes []probe.Note
	m := probe.Manual{Pasted: "node.example:11002 TcpTestSucceeded : True\nmi.example:5022 TcpTestSucceeded : False\n"}
	rs, err := m.Probe(context.Background(), pastedTargets, func(n probe.Note) { notes = append(notes, n) })
	if err != nil || len(rs) != 2 || rs[0].Host != "mi.example" || rs[0].Succeeded || !rs[1].Succeeded {
		t.Fatalf("Probe: %v, %+v", err, rs)
	}
	if len(notes) != 2 || notes[0] != (probe.Note{Kind: probe.NoteVerdict, Message: "mi.example:5022: failed"}) {
		t.Errorf("notes: %v", notes)
	}
	if rs, err := (probe.Manual{}).Probe(context.Background(), pastedTargets, nil); err == nil || rs != nil {
		t.Errorf("nothing pasted: %v, %v", rs, err)
	}
}

func FuzzParsePasted(f *testing.F) {
	f.Add("mi.example:5022 TcpTestSucceeded : True\nnode.example:11002 TcpTestSucceeded : False\n")
	f.Add("garbage")
	f.Add("mi.example:5022 TcpTestSucceeded : Maybe")
	targets := pastedTargets
	f.Fuzz(func(t *testing.T, s string) {
		got, err := probe.ParsePasted(s, targets)
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
