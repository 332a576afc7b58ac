package main

import (
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/steps"
)

// browserAddr is where the simulated SQL Browser answers: 127.0.0.2 is loopback on
// Linux, so UDP 1434 there collides with nothing else on the machine.
const browserAddr = "127.0.0.2:1434"

// startNamedPair starts a pair whose SQL Server listens on 127.0.0.2 (a random port)
// and a SQL Browser on 127.0.0.2:1434 that maps INST1 to it; it skips when 127.0.0.2
// cannot be bound.
func startNamedPair(t *testing.T) *pair {
	t.Helper()
	if l, err := net.Listen("tcp", "127.0.0.2:0"); err != nil {
		t.Skipf("127.0.0.2 is not usable here: %v", err)
	} else {
		l.Close()
	}
	p := startPair(t, func(o *sqlsim.Options) { o.Listen = "127.0.0.2:0" }, nil)
	b, err := sqlsim.StartBrowser(browserAddr, map[string]int{"INST1": p.sql.Port()})
	if err != nil {
		t.Skipf("cannot run the simulated SQL Browser on %s: %v", browserAddr, err)
	}
	t.Cleanup(func() { b.Close() })
	return p
}

// namedArgs are checkArgs with the SQL Server given as server (no --sql-port).
func (p *pair) namedArgs(server string, extra ...string) []string {
	args := p.checkArgs(append([]string{"--output", "json", "--sql-hostname-in-certificate", "localhost"}, extra...)...)
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "--sql-server":
			args[i+1] = server
		case "--sql-port":
			args = append(args[:i], args[i+2:]...)
			i--
		}
	}
	return args
}

// TestCheckNamedInstanceThroughBrowser: --sql-server '127.0.0.2\INST1' reaches the
// instance on the port the simulated SQL Browser gives, and the report says so.
func TestCheckNamedInstanceThroughBrowser(t *testing.T) {
	p := startNamedPair(t)
	r := runApp(t, pwEnv, "", p.namedArgs(`127.0.0.2\INST1`)...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	want := `127.0.0.2\\INST1 (port ` + strconv.Itoa(p.sql.Port()) + `)`
	if !strings.Contains(r.stdout, want) {
		t.Errorf("report does not show %s:\n%s", want, r.stdout)
	}
}

// TestCheckHostCommaPort: host,port and tcp:host,port reach the instance without
// SQL Browser.
func TestCheckHostCommaPort(t *testing.T) {
	p := startPair(t, nil, nil)
	for _, form := range []string{"%s,%d", "tcp:%s,%d", "TCP:%s,%d"} {
		server := strings.Replace(strings.Replace(form, "%s", p.sql.Host(), 1), "%d", strconv.Itoa(p.sql.Port()), 1)
		args := p.namedArgs(server)
		r := runApp(t, pwEnv, "", args...)
		if r.code != 0 {
			t.Fatalf("%s: exit %d\n%s\n%s", server, r.code, r.stdout, r.stderr)
		}
	}
}

// TestCheckServerPortConflict: host,port plus a different --sql-port is refused with
// the reason, naming both flags and the wizard fields.
func TestCheckServerPortConflict(t *testing.T) {
	p := startPair(t, nil, nil)
	args := append(p.namedArgs(p.sql.Host()+",1444"), "--sql-port", "1555")
	r := runApp(t, pwEnv, "", args...)
	if r.code != steps.ExitUsage {
		t.Fatalf("exit %d, want %d\n%s", r.code, steps.ExitUsage, r.stderr)
	}
	for _, w := range []string{"--sql-port", "--sql-server", `"Port"`, `"Server"`, "1444", "1555"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("message lacks %s:\n%s", w, r.stderr)
		}
	}
}

// TestCheckBadInstanceName: an instance name SQL Server would not accept is refused
// before anything is sent, naming the flag and the field.
func TestCheckBadInstanceName(t *testing.T) {
	p := startPair(t, nil, nil)
	r := runApp(t, pwEnv, "", p.namedArgs(`db1\my-inst`)...)
	if r.code != steps.ExitUsage || !strings.Contains(r.stderr, "--sql-server") || !strings.Contains(r.stderr, `"Server"`) || !strings.Contains(r.stderr, "instance name") {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
}

// TestCheckSilentBrowser: a UDP socket on 1434 that never answers gives, within the
// login timeout, a message that says SQL Browser did not answer and how to give the
// port instead.
func TestCheckSilentBrowser(t *testing.T) {
	if l, err := net.Listen("tcp", "127.0.0.2:0"); err != nil {
		t.Skipf("127.0.0.2 is not usable here: %v", err)
	} else {
		l.Close()
	}
	pc, err := net.ListenPacket("udp", browserAddr)
	if err != nil {
		t.Skipf("cannot bind %s: %v", browserAddr, err)
	}
	defer pc.Close()
	p := startPair(t, nil, nil)
	start := time.Now()
	r := runApp(t, pwEnv, "", p.namedArgs(`127.0.0.2\INST1`, "--sql-login-timeout", "2s", "--sql-dial-timeout", "1s")...)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %s, the login timeout is 2s", took)
	}
	if r.code != steps.ExitConnectivity && r.code != steps.ExitError {
		t.Errorf("exit %d", r.code)
	}
	all := r.stdout + r.stderr
	for _, w := range []string{"SQL Browser", "did not answer", "--sql-port", "127.0.0.2,PORT", `"Server"`} {
		if !strings.Contains(all, w) {
			t.Errorf("message lacks %q:\n%s", w, r.stderr)
		}
	}
}

// TestCheckTrustCertOnFirstUse: check --sql-trust-cert-on-first-use connects without a
// CA file, records the fingerprint in $XDG_STATE_HOME/milink/known_servers (mode 0600)
// and shows it in the report; a later run without the option is checked against it.
func TestCheckTrustCertOnFirstUse(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	p := startPair(t, nil, nil)
	args := p.checkArgs("--output", "json", "--sql-trust-cert-on-first-use")
	for i := range args {
		if args[i] == "--sql-ca-cert" {
			args = append(args[:i], args[i+2:]...)
			break
		}
	}
	r := runApp(t, pwEnv, "", args...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	known := state + "/milink/known_servers"
	st, err := os.Stat(known)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("known servers file: %v", err)
	}
	data, _ := os.ReadFile(known)
	fields := strings.Fields(string(data))
	if len(fields) != 2 || !strings.Contains(r.stdout, fields[1]) || !strings.Contains(r.stdout, "trusted on first use") {
		t.Fatalf("report does not show the recorded fingerprint %q:\n%s", data, r.stdout)
	}
	// Again, without the option and without a CA: the recorded fingerprint is checked.
	args = slices.DeleteFunc(args, func(s string) bool { return s == "--sql-trust-cert-on-first-use" })
	if r := runApp(t, pwEnv, "", args...); r.code != 0 {
		t.Fatalf("second run: exit %d\n%s", r.code, r.stderr)
	}
}

// TestCheckWeakTLSMinIsWarned: --sql-tls-min 1.0 is reported as a warning.
func TestCheckWeakTLSMinIsWarned(t *testing.T) {
	p := startPair(t, nil, nil)
	r := runApp(t, pwEnv, "", p.checkArgs("--output", "json", "--sql-tls-min", "1.0")...)
	if r.code != 0 || !strings.Contains(r.stdout, "TLS 1.0 was allowed for the SQL Server") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runApp(t, pwEnv, "", p.checkArgs("--sql-tls-min", "0.9")...)
	if r.code != steps.ExitUsage || !strings.HasPrefix(r.stderr, "milink: --sql-tls-min: ") {
		t.Fatalf("bad --sql-tls-min: exit %d\n%s", r.code, r.stderr)
	}
	r = runApp(t, pwEnv, "", p.checkArgs("--sql-cert-sha256", "abc")...)
	if r.code != steps.ExitUsage || !strings.HasPrefix(r.stderr, "milink: --sql-cert-sha256: ") || !strings.Contains(r.stderr, "64 hex digits") {
		t.Fatalf("bad --sql-cert-sha256: exit %d\n%s", r.code, r.stderr)
	}
}

// TestCheckEntraOnlyMI: a managed instance that allows only Entra logins refuses the SQL
// login; check exits 4 and points to --mi-auth and the wizard's Authentication field.
func TestCheckEntraOnlyMI(t *testing.T) {
	p := startPair(t, nil, func(o *sqlsim.Options) { o.EntraOnly = true })
	r := runApp(t, pwEnv, "", p.checkArgs()...)
	if r.code != steps.ExitAuth {
		t.Fatalf("exit %d, want %d\n%s", r.code, steps.ExitAuth, r.stderr)
	}
	if !strings.Contains(r.stderr, "--mi-auth") || !strings.Contains(r.stderr, `"Authentication"`) || !strings.Contains(r.stderr, "Entra") {
		t.Errorf("message does not point to --mi-auth:\n%s", r.stderr)
	}
}
