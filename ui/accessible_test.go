package ui

import (
	"bytes"
	"encoding/pem"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps"
)

// Accessible mode asks, in order: SQL Server (server, port, authentication, user, encrypt, trust, CA
// file), managed instance (server, port, authentication, cloud, then user — or the
// tenant with Entra ID —, encrypt, trust, CA file), network (SQL Server IP, probe
// timeout, probes from), "Start the test now?" and "Save the report?".
const (
	sqlDefaults       = "\n\n\n\n\n\n\n"
	miDefaults        = "\n\n\n\n\n\n\n\n"
	acceptAllDefaults = sqlDefaults + miDefaults + "\n\n\n" + "\n" + "\n"
)

func runAccessibleTest(t *testing.T, o Options, input string) (int, string, string, string, error) {
	t.Helper()
	var out, report, logs bytes.Buffer
	o.Accessible = true
	o.In = strings.NewReader(input)
	o.Out, o.ReportOut = &out, &report
	o.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if o.ReportDir == "" {
		o.ReportDir = t.TempDir()
	}
	code, err := Run(t.Context(), o)
	return code, out.String(), report.String(), logs.String(), err
}

func TestAccessiblePass(t *testing.T) {
	p := startPair(t, "pass", 10*time.Millisecond)
	code, out, rep, logs, err := runAccessibleTest(t, Options{Config: p.config(), Banner: "DEMO · scenario pass"}, acceptAllDefaults)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out)
	}
	if code != steps.ExitOK {
		t.Fatalf("exit code = %d\n%s", code, out)
	}
	for _, want := range []string{
		"DEMO · scenario pass",
		"Step 2 of 6: Prerequisites",
		"SQL Server server (host name or IP) [127.0.0.1]:",
		"Connecting to SQL Server 127.0.0.1:",
		"PASS  Login sa is sysadmin",
		"Step 3 of 6: Login",
		"Managed instance sqlmi-demo.6d710bcf372b.database.windows.net: node DB123.tr123456.west-us.worker.database.windows.net, HADR port 11002",
		"SQL Server IP (as the managed instance reaches it) [10.1.0.4]:",
		"Actions, in order",
		"Step 6 of 6: Results",
		"[SQL Server → MI] SQL Server: creating Agent job TestMILinkConnection",
		"[MI → SQL Server] Managed instance: waiting for job NetHelper",
		"removed job NetHelper",
		"Result: all checks passed (exit code 0)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Error("accessible output contains escape sequences")
	}
	if !strings.Contains(rep, "Result: all checks passed (exit code 0)") || !strings.Contains(rep, "Cleanup") {
		t.Errorf("text report:\n%s", rep)
	}
	if strings.Contains(out+rep+logs, simPassword) {
		t.Error("a password was printed or logged")
	}
	assertNoLeftovers(t, p)
}

func TestAccessibleValidatesAndKeepsDefaults(t *testing.T) {
	p := startPair(t, "pass", 10*time.Millisecond)
	dir := t.TempDir()
	// A bad IP is refused and asked again; Enter then keeps the default. Save: yes.
	input := sqlDefaults + miDefaults + "10.0.0.1;calc\n\n" + "2s\n" + "2\n" + "\n" + "y\n"
	code, out, _, _, err := runAccessibleTest(t, Options{Config: p.config(), ReportDir: dir}, input)
	if err != nil || code != steps.ExitOK {
		t.Fatalf("Run = %d, %v\n%s", code, err, out)
	}
	if !strings.Contains(out, "Where the SQL Server → MI probes run (now auto):") || !strings.Contains(out, "Create Agent job TestMILinkConnection") {
		t.Errorf("probes-from not asked or not used:\n%s", out)
	}
	if !strings.Contains(out, "neither an IP address nor a DNS name") {
		t.Errorf("the bad address was not refused:\n%s", out)
	}
	if !strings.Contains(out, "timeout 2s") && !strings.Contains(out, "2s each") {
		t.Errorf("the typed probe timeout was not used:\n%s", out)
	}
	if !strings.Contains(out, "Saved "+dir) {
		t.Errorf("report not saved in %s:\n%s", dir, out)
	}
}

func TestAccessibleAuthFailure(t *testing.T) {
	p := startPair(t, "pass", 10*time.Millisecond)
	cfg := p.config()
	cfg.SQLServer.Password = "wrong-password"
	code, out, rep, _, err := runAccessibleTest(t, Options{Config: cfg}, sqlDefaults+"n\n")
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if code != steps.ExitAuth {
		t.Errorf("exit code = %d, want %d\n%s", code, steps.ExitAuth, out)
	}
	if !strings.Contains(out, "authentication failed") || !strings.Contains(out, "Change the settings and try again?") {
		t.Errorf("output:\n%s", out)
	}
	if rep != "" {
		t.Errorf("a report was printed before Results:\n%s", rep)
	}
	if strings.Contains(out, "wrong-password") {
		t.Error("the password was printed")
	}
}

func TestAccessibleInputEnds(t *testing.T) {
	cfg := testConfig()
	cfg.SQLServer.Host = ""
	code, _, _, _, err := runAccessibleTest(t, Options{Config: cfg}, "")
	if code != steps.ExitUsage || err == nil {
		t.Errorf("Run = %d, %v; want %d and an error", code, err, steps.ExitUsage)
	}
}

func TestDumbTerminalUsesAccessibleMode(t *testing.T) {
	t.Setenv("TERM", "dumb")
	cfg := testConfig()
	cfg.SQLServer.Host = ""
	var out bytes.Buffer
	code, err := Run(t.Context(), Options{Config: cfg, In: strings.NewReader(""), Out: &out, ReportOut: &bytes.Buffer{}})
	if code != steps.ExitUsage || err == nil {
		t.Errorf("Run = %d, %v", code, err)
	}
	if !strings.Contains(out.String(), "Step 1 of 6: Introduction") || strings.Contains(out.String(), "\x1b[?1049h") {
		t.Errorf("TERM=dumb did not give plain prompts:\n%q", out.String())
	}
}

func TestLineReaderOneLinePerRead(t *testing.T) {
	l := &lineReader{r: strings.NewReader("a\nbb\nccc")}
	buf := make([]byte, 64)
	for _, want := range []string{"a\n", "bb\n", "ccc"} {
		n, err := l.Read(buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("Read = %q, %v; want %q", buf[:n], err, want)
		}
	}
	if _, err := l.Read(buf); err == nil || !l.ended() {
		t.Fatal("no EOF at the end")
	}
}

// TestAccessibleCtrlCDuringRun: in accessible mode Ctrl-C is SIGINT; the running test
// is stopped, cleaned up, and the report says 130.
func TestAccessibleCtrlCDuringRun(t *testing.T) {
	p := startPair(t, "pass", 2*time.Second)
	var out, report syncBuffer
	done := make(chan int, 1)
	go func() {
		code, _ := Run(t.Context(), Options{Config: p.config(), Accessible: true, In: strings.NewReader(acceptAllDefaults), Out: &out, ReportOut: &report, ReportDir: t.TempDir()})
		done <- code
	}()
	teatest.WaitFor(t, &out, func(b []byte) bool { return bytes.Contains(b, []byte("waiting for job NetHelper")) },
		teatest.WithDuration(flowWait), teatest.WithCheckInterval(20*time.Millisecond))
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != steps.ExitInterrupted {
			t.Errorf("exit code = %d, want 130", code)
		}
	case <-time.After(flowWait):
		t.Fatal("Run did not return after SIGINT")
	}
	if rep := report.b.String(); !strings.Contains(rep, "interrupted; cleanup ran (exit code 130)") || !strings.Contains(rep, "removed job NetHelper") {
		t.Errorf("report:\n%s", rep)
	}
	assertNoLeftovers(t, p)
}

// TestAccessibleTrustsCertificateOnFirstContact: a SQL Server certificate nothing
// vouches for is shown with its fingerprint and, once the user says yes, trusted,
// recorded in the known-servers file (mode 0600) and the run goes on.
func TestAccessibleTrustsCertificateOnFirstContact(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	p := startPair(t, "pass", 10*time.Millisecond)
	cfg := p.config()
	cfg.SQLServer.CACertFile = ""
	block, _ := pem.Decode(p.SQL.CACertPEM())
	fp := sqlops.Fingerprint(block.Bytes)
	input := sqlDefaults + "y\n" + miDefaults + "\n\n\n" + "\n" + "\n"
	code, out, _, _, err := runAccessibleTest(t, Options{Config: cfg}, input)
	if err != nil || code != steps.ExitOK {
		t.Fatalf("Run = %d, %v\n%s", code, err, out)
	}
	if !strings.Contains(out, "SHA-256 fingerprint: "+fp) || !strings.Contains(out, "Trust this certificate and remember it") {
		t.Errorf("fingerprint not shown or not asked:\n%s", out)
	}
	st, err := os.Stat(state + "/milink/known_servers")
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("known servers file: %v", err)
	}
	data, _ := os.ReadFile(state + "/milink/known_servers")
	if !strings.Contains(string(data), fp) {
		t.Errorf("known servers file %q lacks %s", data, fp)
	}
}
