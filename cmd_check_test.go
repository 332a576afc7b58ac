package main

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/steps"
	"github.com/milink/milink/steps/reportschema"
)

func runCheckJSON(t *testing.T, p *pair, extra ...string) (result, steps.Report) {
	t.Helper()
	r := runApp(t, pwEnv, "", p.checkArgs(append([]string{"--output", "json"}, extra...)...)...)
	var rep steps.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("report is not JSON (exit %d): %v\nstdout: %s\nstderr: %s", r.code, err, r.stdout, r.stderr)
	}
	reportschema.Check(t, []byte(r.stdout))
	return r, rep
}

func findingByID(rep steps.Report, id string) *steps.Finding {
	for i := range rep.Findings {
		if rep.Findings[i].ID == id {
			return &rep.Findings[i]
		}
	}
	return nil
}

func direction(rep steps.Report, d steps.Direction) steps.DirectionResult {
	for _, x := range rep.Directions {
		if x.Direction == d {
			return x
		}
	}
	return steps.DirectionResult{}
}

func TestCheckAllPass(t *testing.T) {
	p := startPair(t, nil, nil)
	r, rep := runCheckJSON(t, p)
	if r.code != steps.ExitOK {
		t.Fatalf("exit code %d, want 0; outcome %q\n%s", r.code, rep.Outcome, r.stderr)
	}
	// Without Azure the update policy is unknown, so "both directions" is said as
	// unknown, never as passed (issue 11, item 9).
	if f := findingByID(rep, "version"); f == nil || f.Severity != steps.Info || !strings.Contains(f.Title, "unknown") {
		t.Errorf("version finding without Azure: %+v", f)
	}
	for _, id := range []string{"edition", "master-key", "hadr", "trace-flag-1800", "trace-flag-9567", "agent", "sysadmin", "database:SalesDB", "mi"} {
		f := findingByID(rep, id)
		if f == nil {
			t.Errorf("finding %q missing", id)
			continue
		}
		if f.Severity != steps.Pass {
			t.Errorf("finding %q: severity %s, want pass (%s)", id, f.Severity, f.Title)
		}
	}
	s2m, m2s := direction(rep, steps.SQLToMI), direction(rep, steps.MIToSQL)
	if s2m.Status != steps.StatusPassed || len(s2m.Probes) != 5 { // 5022, the node's port, 3 more of 11000-11999
		t.Errorf("SQL→MI: %s with %d probes (%s)", s2m.Status, len(s2m.Probes), s2m.Reason)
	}
	if m2s.Status != steps.StatusPassed || len(m2s.Probes) != 1 {
		t.Errorf("MI→SQL: %s with %d probes (%s)", m2s.Status, len(m2s.Probes), m2s.Reason)
	}
	for _, pr := range append(s2m.Probes, m2s.Probes...) {
		if pr.Verdict != sqlops.VerdictConnected && !(pr.Verdict == sqlops.VerdictRefused && pr.Succeeded && pr.Port >= 11000 && pr.Port <= 11999) {
			t.Errorf("probe %s:%d: %s", pr.Host, pr.Port, pr.Verdict)
		}
	}
	if got := s2m.Probes[0].RemoteAddress; got != p.miOpts.IP {
		t.Errorf("SQL→MI remote address %q, want %q", got, p.miOpts.IP)
	}
	if got := s2m.Probes[1].Port; got != p.miOpts.HadrPort {
		t.Errorf("HADR probe port %d, want %d", got, p.miOpts.HadrPort)
	}
	if got := m2s.Probes[0].Host; got != p.sqlOpts.IP {
		t.Errorf("MI→SQL target %q, want the discovered %q", got, p.sqlOpts.IP)
	}
	removed := 0
	for _, c := range rep.Cleanup {
		if c.Error != "" {
			t.Errorf("cleanup error: %+v", c)
		}
		if c.Removed {
			removed++
		}
	}
	if removed != 4 { // two jobs, endpoint, certificate
		t.Errorf("cleanup removed %d objects, want 4: %+v", removed, rep.Cleanup)
	}
	assertNoMilinkObjects(t, p)
	if strings.Contains(r.stdout, simPassword) || strings.Contains(r.stderr, simPassword) {
		t.Error("the password appears in the output")
	}
}

func TestCheckAuthFailure(t *testing.T) {
	p := startPair(t, nil, nil)
	env := map[string]string{"MILINK_SQL_PASSWORD": "wrong", "MILINK_MI_PASSWORD": simPassword}
	r := runApp(t, env, "", p.checkArgs()...)
	if r.code != steps.ExitAuth {
		t.Fatalf("exit code %d, want %d\n%s\n%s", r.code, steps.ExitAuth, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "18456") {
		t.Errorf("report does not name error 18456:\n%s", r.stdout)
	}
}

func TestCheckBadInputChangesNothing(t *testing.T) {
	p := startPair(t, nil, nil)
	bad := [][]string{
		{"--sql-ip", "10.1.0.4; Remove-Item C:\\ -Recurse"},
		{"--sql-ip", "$(whoami)"},
		{"--sql-ip", "host'name"},
		{"--endpoint-port", "70000"},
		{"--probe-timeout", "1ns"},
		{"--output", "yaml"},
		{"--database", "bad\x00name"},
		{"--sql-ip", strings.Repeat("a", 300)},
		{"--sql-ip", "ünïcode.example"},
		{"--sql-ip", "10.1.0.4 -port 1; calc"},
		{"--sql-ip", "a`b"},
		{"--sql-ip", "127.0.0.1|x"},
		{"--sql-server", "sql;drop"},
		{"--sql-server", "sql server"},
		{"--mi-server", "mi'.database.windows.net"},
		{"--mi-server", "ｍｉ.example"},
		{"--sql-port", "0"},
		{"--sql-port", "65536"},
		{"--mi-port", "abc"},
		{"--sql-user", strings.Repeat("u", 200)},
		{"--sql-encrypt", "maybe"},
		{"--database", strings.Repeat("d", 129)},
		{"--database", ""},
		{"--probe-from", "everywhere"},
		{"--job-timeout", "0s"},
		{"--job-timeout", "forever"},
		{"--endpoint-port", "-1"},
		{"unexpected-argument"},
	}
	for _, extra := range bad {
		r := runApp(t, pwEnv, "", p.checkArgs(extra...)...)
		if r.code != steps.ExitUsage {
			t.Errorf("%q: exit code %d, want 2\n%s%s", extra, r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stderr, "milink:") {
			t.Errorf("%q: no clear error message: %q", extra, r.stderr)
		}
	}
	if n := len(p.sqlInventory(t).Jobs) + len(p.miInventory(t).Jobs); n != 0 {
		t.Errorf("bad input created %d jobs", n)
	}
}

func TestCheckPasswordRules(t *testing.T) {
	p := startPair(t, nil, nil)
	// No --password flag exists.
	r := runApp(t, pwEnv, "", append(p.checkArgs(), "--password", "x")...)
	if r.code != steps.ExitUsage {
		t.Errorf("--password accepted: exit %d", r.code)
	}
	// Passwords from stdin, one line each.
	r = runApp(t, nil, simPassword+"\n"+simPassword+"\n", append(p.checkArgs(), "--sql-password-stdin", "--mi-password-stdin")...)
	if r.code != steps.ExitOK {
		t.Errorf("passwords from stdin: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// No password at all and no terminal: a clear usage error.
	r = runApp(t, nil, "", p.checkArgs()...)
	if r.code != steps.ExitUsage || !strings.Contains(r.stderr, "MILINK_SQL_PASSWORD") {
		t.Errorf("missing password: exit %d, %q", r.code, r.stderr)
	}
	// A password in a config file is refused.
	cfg := filepath.Join(t.TempDir(), "milink.json")
	os.WriteFile(cfg, []byte(`{"sql-password": "x"}`), 0o600)
	r = runApp(t, pwEnv, "", append(p.checkArgs(), "--config", cfg)...)
	if r.code != steps.ExitUsage || !strings.Contains(r.stderr, "passwords are not accepted") {
		t.Errorf("password in config: exit %d, %q", r.code, r.stderr)
	}
}

func TestCheckEnvAndConfig(t *testing.T) {
	p := startPair(t, nil, nil)
	cfg := filepath.Join(t.TempDir(), "milink.json")
	body, _ := json.Marshal(map[string]any{
		"sql-server": p.sql.Host(), "sql-port": p.sql.Port(), "sql-user": "sa", "sql-ca-cert": p.sqlCA,
		"probe-timeout": "300ms", "log-file": "-", "quiet": true,
	})
	os.WriteFile(cfg, body, 0o600)
	env := map[string]string{"MILINK_MI_SERVER": p.mi.Host(), "MILINK_MI_PORT": strconv.Itoa(p.mi.Port()), "MILINK_MI_USER": "miadmin",
		"MILINK_MI_CA_CERT": p.miCA, "MILINK_SQL_PASSWORD": simPassword, "MILINK_MI_PASSWORD": simPassword, "MILINK_OUTPUT": "markdown"}
	r := runApp(t, env, "", "check", "--config", cfg)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.HasPrefix(r.stdout, "# milink network check") || !strings.Contains(r.stdout, "| PASS |") {
		t.Errorf("markdown report expected:\n%s", r.stdout)
	}
}

func TestCheckTextReportAndProgress(t *testing.T) {
	p := startPair(t, nil, func(o *sqlsim.Options) {})
	p.net.SetRule(p.miOpts.FQDN, 5022, sqlsim.RuleFiltered)
	args := p.checkArgs()
	args = slices.DeleteFunc(args, func(s string) bool { return s == "-q" })
	r := runApp(t, pwEnv, "", args...)
	if r.code != steps.ExitConnectivity {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"[FAIL] SQL Server → managed instance", "timeout", "fix (Windows): New-NetFirewallRule", "Result:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("text report lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, want := range []string{"creating Agent job TestMILinkConnection", "removed job NetHelper"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("progress lacks %q:\n%s", want, r.stderr)
		}
	}
}

func TestCheckInterruptedCleansUp(t *testing.T) {
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			p := startPair(t, func(o *sqlsim.Options) { o.JobStartLatency = 10 * time.Second }, func(o *sqlsim.Options) { o.JobStartLatency = 10 * time.Second })
			sigs := make(chan os.Signal, 1)
			var out, errb syncBuffer
			a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return pwEnv[k] },
				isTTY: func(int) bool { return false }, signals: sigs}
			done := make(chan int)
			args := slices.DeleteFunc(p.checkArgs(), func(s string) bool { return s == "-q" })
			go func() { done <- a.run(args) }()
			waitFor(t, 20*time.Second, "both jobs to be running", func() bool {
				s := errb.String()
				return strings.Contains(s, "waiting for job NetHelper") && strings.Contains(s, "waiting for job TestMILinkConnection")
			})
			sigs <- sig
			var code int
			select {
			case code = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("milink did not exit after the signal")
			}
			if code != steps.ExitInterrupted {
				t.Errorf("exit code %d, want 130\n%s", code, errb.String())
			}
			if !strings.Contains(errb.String(), "cleaning up") {
				t.Errorf("no cleanup notice on stderr:\n%s", errb.String())
			}
			assertNoMilinkObjects(t, p)
			t.Logf("report after %s:\n%s", sig, out.String())
		})
	}
}

func TestCheckManualProbeOutput(t *testing.T) {
	p := startPair(t, func(o *sqlsim.Options) { o.Platform = "Linux" }, nil)
	out := filepath.Join(t.TempDir(), "probe.txt")
	body := p.miOpts.FQDN + ":5022 TcpTestSucceeded : True\n" + p.miOpts.NodeName + "." + p.miOpts.ClusterName + ":11002 TcpTestSucceeded : True\n"
	if err := os.WriteFile(out, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	r, rep := runCheckJSON(t, p, "--probe-from", "manual", "--probe-output", out)
	if d := direction(rep, steps.SQLToMI); d.Status != steps.StatusPassed || len(d.Probes) != 2 {
		t.Errorf("SQL→MI with pasted output: %+v", d)
	}
	if r.code != steps.ExitOK {
		t.Errorf("exit %d: %s", r.code, rep.Outcome)
	}
}

func TestCheckChinaCloud(t *testing.T) {
	p := startPair(t, nil, func(o *sqlsim.Options) { o.FQDN = "sqlmi-demo.6d710bcf372b.database.chinacloudapi.cn" })
	r := runApp(t, pwEnv, "", p.checkArgs("--cloud", "AzureChinaCloud")...)
	if r.code != steps.ExitOK {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	i := strings.Index(r.stdout, "Allowlist (AzureChinaCloud)")
	if i < 0 {
		t.Fatalf("no China allowlist in the report:\n%s", r.stdout)
	}
	allow := r.stdout[i : strings.Index(r.stdout[i:], "\n\n")+i]
	for _, want := range []string{"sqlmi-demo.6d710bcf372b.database.chinacloudapi.cn", "login.chinacloudapi.cn", "management.chinacloudapi.cn"} {
		if !strings.Contains(allow, want) {
			t.Errorf("allowlist lacks %s:\n%s", want, allow)
		}
	}
	if strings.Contains(allow, "windows.net") || strings.Contains(allow, "microsoftonline.com") {
		t.Errorf("the China allowlist names public-cloud hosts:\n%s", allow)
	}
	if !strings.Contains(r.stdout, "[PASS] Azure: sqlmi-demo.6d710bcf372b.database.chinacloudapi.cn is in AzureChinaCloud (.database.chinacloudapi.cn)") {
		t.Errorf("no cloud finding:\n%s", r.stdout)
	}
	// A public-cloud managed instance checked as China is a clear failure.
	q := startPair(t, nil, nil)
	_, rep := runCheckJSON(t, q, "--cloud", "AzureChinaCloud")
	if f := findingByID(rep, "cloud"); f == nil || f.Severity != steps.Fail || !strings.Contains(f.Detail, "AzureCloud") {
		t.Errorf("cloud mismatch finding: %+v", f)
	}
	bad := runApp(t, pwEnv, "", p.checkArgs("--cloud", "Mars")...)
	if bad.code != steps.ExitUsage || !strings.Contains(bad.stderr, "AzureChinaCloud") {
		t.Errorf("--cloud Mars: exit %d, %q", bad.code, bad.stderr)
	}
}

func TestQuietCheckStillPrintsWarnings(t *testing.T) {
	// -q drops progress, not warnings: a lost server that milink waits up to a minute
	// for must not be waited for in silence.
	var errb syncBuffer
	a := &app{stderr: &errb}
	sink := a.checkSink(slog.New(slog.DiscardHandler), true)
	now := time.Now()
	sink(steps.Event{Time: now, Kind: steps.EventStep, Message: "SQL Server: waiting for job NetHelper"})
	sink(steps.Event{Time: now, Kind: steps.EventWarn, Message: "connection lost (connection refused); waiting up to 60s"})
	got := errb.String()
	if strings.Contains(got, "waiting for job") {
		t.Errorf("-q printed progress:\n%s", got)
	}
	if !strings.Contains(got, "waiting up to 60s") {
		t.Errorf("-q dropped a warning:\n%s", got)
	}
}
