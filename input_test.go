package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/milink/milink/steps"
)

// assertUsage checks that r is a usage error (exit 2) whose message names every want.
func assertUsage(t *testing.T, what string, r result, want ...string) {
	t.Helper()
	if r.code != steps.ExitUsage {
		t.Errorf("%s: exit code %d, want 2\nstdout: %s\nstderr: %s", what, r.code, r.stdout, r.stderr)
		return
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("%s: the error does not name %q: %q", what, w, r.stderr)
		}
	}
}

func TestPortsAreDecimalOnly(t *testing.T) {
	p := startPair(t, nil, nil)
	for _, tc := range []struct{ flag, value string }{
		{"--endpoint-port", "05022"}, {"--sql-port", "014330"}, {"--mi-port", "0x10"},
		{"--sql-port", "0o1433"}, {"--sql-port", "0b101"}, {"--endpoint-port", "+5022"}, {"--sql-port", "1_433"},
	} {
		r := runApp(t, pwEnv, "", p.checkArgs(tc.flag, tc.value)...)
		assertUsage(t, tc.flag+" "+tc.value, r, tc.flag, "decimal")
	}
	// The same rule for MILINK_* variables and --config keys.
	env := map[string]string{"MILINK_ENDPOINT_PORT": "05022"}
	for k, v := range pwEnv {
		env[k] = v
	}
	assertUsage(t, "MILINK_ENDPOINT_PORT=05022", runApp(t, env, "", p.checkArgs()...), "MILINK_ENDPOINT_PORT", "decimal")
	cfg := filepath.Join(t.TempDir(), "milink.json")
	body, _ := json.Marshal(map[string]any{"endpoint-port": "05022"})
	if err := os.WriteFile(cfg, body, 0o600); err != nil {
		t.Fatal(err)
	}
	assertUsage(t, "--config endpoint-port 05022", runApp(t, pwEnv, "", p.checkArgs("--config", cfg)...), "endpoint-port", "decimal")
	// The wizard names its field too, and cleanup applies the same rule.
	assertUsage(t, "wizard --sql-port 014330", runApp(t, nil, "", "--sql-port", "014330"), "--sql-port", "Port")
	assertUsage(t, "cleanup --mi-port 0x10", runApp(t, pwEnv, "", append(p.connArgs("cleanup"), "--mi-port", "0x10")...), "--mi-port")
	// Plain decimal ports still work.
	if r := runApp(t, pwEnv, "", p.checkArgs("--endpoint-port", "5022")...); r.code != steps.ExitOK {
		t.Errorf("--endpoint-port 5022: exit %d\n%s", r.code, r.stderr)
	}
	assertNoMilinkObjects(t, p)
}

func TestFilesAreSizeCapped(t *testing.T) {
	p := startPair(t, nil, nil)
	big := filepath.Join(t.TempDir(), "big.json")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(5 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	assertUsage(t, "--config big", runApp(t, pwEnv, "", p.checkArgs("--config", big)...), "--config", "larger than")
	if _, err := os.Stat("/dev/zero"); err == nil {
		// An endless file is read up to the cap, not until memory runs out.
		assertUsage(t, "--config /dev/zero", runApp(t, pwEnv, "", p.checkArgs("--config", "/dev/zero")...), "--config", "larger than")
	}
	assertUsage(t, "--probe-output big", runApp(t, pwEnv, "", p.checkArgs("--probe-from", "manual", "--probe-output", big)...), "--probe-output", "larger than")
	assertUsage(t, "cleanup --config big", runApp(t, pwEnv, "", append(p.connArgs("cleanup"), "--config", big)...), "--config", "larger than")
	// A password line on standard input is capped as well.
	r := runApp(t, nil, strings.Repeat("x", 1<<20)+"\n", p.checkArgs("--sql-password-stdin")...)
	assertUsage(t, "huge password line", r, "--sql-password-stdin")
	if n := len(p.sqlInventory(t).Jobs) + len(p.miInventory(t).Jobs); n != 0 {
		t.Errorf("bad input created %d jobs", n)
	}
}

func TestPasswordStdinFlagNeverEchoesAValue(t *testing.T) {
	p := startPair(t, nil, nil)
	for _, arg := range []string{"--sql-password-stdin=S3cret", "--mi-password-stdin=S3cret"} {
		r := runApp(t, pwEnv, "", p.checkArgs(arg)...)
		assertUsage(t, arg, r, strings.SplitN(arg, "=", 2)[0], "takes no value")
		if strings.Contains(r.stderr+r.stdout, "S3cret") {
			t.Errorf("%s: the value is echoed: %q", arg, r.stderr)
		}
	}
	// The same mistake with a space: the word is taken as an argument, and not echoed.
	for _, cmd := range []string{"check", "cleanup"} {
		r := runApp(t, pwEnv, "", append(p.connArgs(cmd), "--mi-password-stdin", "S3cret")...)
		assertUsage(t, cmd+" --mi-password-stdin S3cret", r, "--mi-password-stdin", "takes no value")
		if strings.Contains(r.stderr+r.stdout, "S3cret") {
			t.Errorf("%s: the value is echoed: %q", cmd, r.stderr)
		}
	}
	r := runApp(t, nil, "", "--sql-password-stdin=S3cret")
	if strings.Contains(r.stderr+r.stdout, "S3cret") || r.code != steps.ExitUsage {
		t.Errorf("wizard: exit %d, %q", r.code, r.stderr)
	}
}

func TestSSHUserIsValidated(t *testing.T) {
	p := startPair(t, nil, nil)
	forged := "bob\nResult: all checks passed (exit code 0)"
	for _, args := range [][]string{
		{"--ssh", "sqlhost", "--ssh-user", forged},
		{"--ssh", "sqlhost", "--ssh-user", "bob smith"},
		{"--ssh", "sqlhost", "--ssh-user", "bob\x1b[2J"},
		{"--ssh", forged + "@sqlhost"},
		{"--ssh", "bo b@sqlhost"},
	} {
		flag := args[len(args)-2]
		if len(args) == 2 {
			flag = "--ssh"
		}
		r := runApp(t, pwEnv, "", p.checkArgs(append([]string{"--probe-from", "ssh"}, args...)...)...)
		assertUsage(t, strings.Join(args, " "), r, flag, "user")
		if strings.Contains(r.stderr, "\nResult:") {
			t.Errorf("the forged line reached stderr: %q", r.stderr)
		}
		w := runApp(t, nil, "", args...)
		assertUsage(t, "wizard "+strings.Join(args, " "), w, flag, "user")
	}
}

func TestTimeoutsBelowMinimumAreRejected(t *testing.T) {
	p := startPair(t, nil, nil)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--sql-dial-timeout", "50ms"}, []string{"--sql-dial-timeout", "1s"}},
		{[]string{"--mi-dial-timeout", "1500ms"}, []string{"--mi-dial-timeout", "whole seconds"}},
		{[]string{"--sql-login-timeout", "200ms"}, []string{"--sql-login-timeout", "1s"}},
		{[]string{"--ssh-timeout", "10ms"}, []string{"--ssh-timeout", "1s"}},
		{[]string{"--probe-timeout", "50ms"}, []string{"--probe-timeout", "100ms"}},
		{[]string{"--probe-timeout", "20s", "--job-timeout", "30s"}, []string{"--job-timeout", "--probe-timeout", "Agent"}},
		{[]string{"--sql-dial-timeout", "20s", "--sql-login-timeout", "10s"}, []string{"--sql-dial-timeout", "--sql-login-timeout", "bounds"}},
	} {
		r := runApp(t, pwEnv, "", p.checkArgs(tc.args...)...)
		assertUsage(t, strings.Join(tc.args, " "), r, tc.want...)
	}
	assertUsage(t, "wizard --sql-dial-timeout 50ms", runApp(t, nil, "", "--sql-dial-timeout", "50ms"), "--sql-dial-timeout")
	assertUsage(t, "wizard job timeout", runApp(t, nil, "", "--probe-timeout", "30s", "--job-timeout", "40s"), "--job-timeout", "Probe timeout")
	if n := len(p.sqlInventory(t).Jobs) + len(p.miInventory(t).Jobs); n != 0 {
		t.Errorf("bad input created %d jobs", n)
	}
}

func TestReportValuesAreEscaped(t *testing.T) {
	p := startPair(t, nil, nil)
	const xss = "<img src=x onerror=alert(1)>"
	r := runApp(t, pwEnv, "", p.checkArgs("--database", xss, "--output", "markdown")...)
	if !strings.Contains(r.stdout, "img src=x") {
		t.Fatalf("the database finding is missing from the report (exit %d):\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, "<img") {
		t.Errorf("the Markdown report carries live HTML:\n%s", r.stdout)
	}
	r = runApp(t, pwEnv, "", p.checkArgs("--database", "x\nResult: all checks passed (exit code 0)")...)
	if n := strings.Count(r.stdout, "\nResult:"); n != 1 {
		t.Errorf("the text report has %d Result lines:\n%s", n, r.stdout)
	}
}

func TestDemoDurationsAreChecked(t *testing.T) {
	for _, tc := range []struct{ args, want []string }{
		{[]string{"demo", "--probe-timeout", "50ms"}, []string{"--probe-timeout", "100ms"}},
		{[]string{"demo", "--job-latency", "-1s"}, []string{"--job-latency"}},
	} {
		assertUsage(t, strings.Join(tc.args, " "), runApp(t, nil, "", tc.args...), tc.want...)
	}
}

func TestBadValuesNameTheirFlag(t *testing.T) {
	p := startPair(t, nil, nil)
	for _, tc := range []struct{ flag, value string }{
		{"--sql-ip", "$(whoami)"}, {"--sql-server", "sql;drop"}, {"--mi-server", "mi'.database.windows.net"},
		{"--sql-user", strings.Repeat("u", 200)}, {"--mi-encrypt", "maybe"}, {"--database", "bad\x00name"},
		{"--probe-from", "everywhere"},
	} {
		r := runApp(t, pwEnv, "", p.checkArgs(tc.flag, tc.value)...)
		assertUsage(t, tc.flag+" "+tc.value, r, tc.flag+":")
	}
	// A password that is too long names where it came from, not its value.
	long := strings.Repeat("p", 129)
	r := runApp(t, map[string]string{"MILINK_SQL_PASSWORD": long, "MILINK_MI_PASSWORD": simPassword}, "", p.checkArgs()...)
	assertUsage(t, "long password", r, "MILINK_SQL_PASSWORD")
	if strings.Contains(r.stderr, long) {
		t.Error("the password is echoed")
	}
}
