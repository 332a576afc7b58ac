package main

import (
	"strings"
	"testing"

	"github.com/milink/milink/steps"
)

func TestWizardRejectsBadFlagsBeforeStarting(t *testing.T) {
	for _, args := range [][]string{{"--probe-from", "nowhere"}, {"--ssh", "a b;c"}, {"--cloud", "Mars"}, {"--sql-port", "0"}} {
		r := runApp(t, nil, "", args...)
		if r.code != steps.ExitUsage || !strings.Contains(r.stderr, "milink:") || strings.Contains(r.stderr, "terminal") {
			t.Errorf("%v: exit %d, %q", args, r.code, r.stderr)
		}
	}
	// Without a terminal the wizard refuses and points to 'milink check'.
	r := runApp(t, nil, "")
	if r.code != steps.ExitUsage || !strings.Contains(r.stderr, "milink check") {
		t.Errorf("no TTY: exit %d, %q", r.code, r.stderr)
	}
}
