package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/milink/milink/steps"
)

// TestErrorsNameTheSource: a conflict caused by a value from MILINK_* or --config names
// that source, not only the flag; the value itself is not repeated.
func TestErrorsNameTheSource(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "milink.json")
	if err := os.WriteFile(cfg, []byte(`{"sql-port": 1500}`), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"check", "--sql-server", "sqlprod,1433", "--mi-server", "mi", "--sql-user", "sa", "--mi-user", "u"}
	env := map[string]string{"MILINK_SQL_PORT": "1500", "MILINK_SQL_PASSWORD": "x", "MILINK_MI_PASSWORD": "x"}
	r := runApp(t, env, "", base...)
	if r.code != steps.ExitUsage || !strings.Contains(r.stderr, "--sql-port (set by MILINK_SQL_PORT)") {
		t.Errorf("MILINK_SQL_PORT: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runApp(t, pwEnv, "", append(base, "--config", cfg)...)
	if r.code != steps.ExitUsage || !strings.Contains(r.stderr, "--sql-port (set by --config "+cfg+")") {
		t.Errorf("--config: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runApp(t, pwEnv, "", append(base, "--sql-port", "1500")...)
	if r.code != steps.ExitUsage || strings.Contains(r.stderr, "set by") || !strings.Contains(r.stderr, "--sql-port") {
		t.Errorf("--sql-port on the command line: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestProbeOutputCheckedFirst: a --probe-output file with no probe result is refused
// (exit 2) before milink connects to anything (the servers here do not exist).
func TestProbeOutputCheckedFirst(t *testing.T) {
	f := filepath.Join(t.TempDir(), "pasted.txt")
	if err := os.WriteFile(f, []byte("PS C:\\> oops\nnothing here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runApp(t, pwEnv, "", "check", "--sql-server", "127.0.0.1,1", "--mi-server", "127.0.0.1,2", "--sql-user", "sa", "--mi-user", "u",
		"--probe-from", "manual", "--probe-output", f, "--log-file", "-")
	if r.code != steps.ExitUsage || !strings.Contains(r.stderr, "--probe-output "+f+": no probe result in it") || strings.Contains(r.stderr, "connect") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestCheckErrorsNameWizardField: a bad value given to check names the flag and the
// wizard field that asks the same.
func TestCheckErrorsNameWizardField(t *testing.T) {
	r := runApp(t, pwEnv, "", "check", "--sql-server", "a", "--mi-server", "b", "--sql-user", "sa")
	if r.code != steps.ExitUsage || !strings.Contains(r.stderr, "--mi-user") || !strings.Contains(r.stderr, "(in the wizard: Login › User)") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}
