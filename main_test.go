package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/steps"
)

const simPassword = "Sim-Passw0rd!"

// pair is a simulated SQL Server and managed instance on one simulated network.
type pair struct {
	sql, mi     *sqlsim.Instance
	net         *sqlsim.Network
	sqlCA, miCA string
	sqlOpts     sqlsim.Options
	miOpts      sqlsim.Options
}

func startPair(t testing.TB, mutSQL, mutMI func(*sqlsim.Options)) *pair {
	t.Helper()
	sp, err := sqlsim.StartPair(sqlsim.Scenario{Name: "test", SQL: mutSQL, MI: mutMI}, 20*time.Millisecond, 20*time.Millisecond)
	if err != nil {
		t.Fatalf("start the simulators: %v", err)
	}
	t.Cleanup(sp.Close)
	p := &pair{sql: sp.SQL, mi: sp.MI, net: sp.Network, sqlOpts: sp.SQL.Options(), miOpts: sp.MI.Options()}
	if p.sqlCA, p.miCA, err = sp.WriteCACerts(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *pair) connArgs(cmd string) []string {
	return []string{cmd,
		"--sql-server", p.sql.Host(), "--sql-port", strconv.Itoa(p.sql.Port()), "--sql-user", "sa", "--sql-ca-cert", p.sqlCA,
		"--mi-server", p.mi.Host(), "--mi-port", strconv.Itoa(p.mi.Port()), "--mi-user", "miadmin", "--mi-ca-cert", p.miCA,
		"--log-file", "-",
	}
}

func (p *pair) checkArgs(extra ...string) []string {
	return append(append(p.connArgs("check"), "--probe-timeout", "300ms", "--job-timeout", "30s", "-q"), extra...)
}

type result struct {
	code           int
	stdout, stderr string
}

func runApp(t testing.TB, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	return runWith(env, strings.NewReader(stdin), false, args...)
}

// runWith runs milink in-process with env as its whole environment (never this
// process's, where the CI sets variables of its own, such as the fault harness's
// tally file), stdin, and isTTY answering tty for every descriptor.
func runWith(env map[string]string, stdin io.Reader, tty bool, args ...string) result {
	var out, errb bytes.Buffer
	environ := func() []string {
		var kv []string
		for k, v := range env {
			kv = append(kv, k+"="+v)
		}
		return kv
	}
	a := &app{stdin: stdin, stdout: &out, stderr: &errb,
		getenv: func(k string) string { return env[k] }, environ: environ, isTTY: func(int) bool { return tty }}
	code := a.run(args)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

var pwEnv = map[string]string{"MILINK_SQL_PASSWORD": simPassword, "MILINK_MI_PASSWORD": simPassword}

// inventory lists an instance's jobs, endpoints and certificates over TDS.
func inventory(t testing.TB, in *sqlsim.Instance, user, caFile string) sqlops.Leftovers {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := sqlops.Open(ctx, sqlops.ConnConfig{Role: "inventory", Host: in.Host(), Port: in.Port(), User: user, Password: simPassword, CACertFile: caFile})
	if err != nil {
		t.Fatalf("inventory connect: %v", err)
	}
	defer c.Close()
	inv, err := c.Inventory(ctx)
	if err != nil {
		t.Fatalf("inventory: %v", err)
	}
	return inv
}

func (p *pair) sqlInventory(t testing.TB) sqlops.Leftovers { return inventory(t, p.sql, "sa", p.sqlCA) }

func (p *pair) miInventory(t testing.TB) sqlops.Leftovers {
	return inventory(t, p.mi, "miadmin", p.miCA)
}

// assertNoMilinkObjects checks over TDS that no object with milink's marker remains.
func assertNoMilinkObjects(t *testing.T, p *pair) {
	t.Helper()
	for name, inv := range map[string]sqlops.Leftovers{"SQL Server": p.sqlInventory(t), "MI": p.miInventory(t)} {
		for _, j := range inv.Jobs {
			if _, ok := j.RunID(); ok {
				t.Errorf("%s: milink job %q left behind", name, j.Name)
			}
		}
		for _, c := range inv.Certificates {
			if _, ok := sqlops.MarkedRunID(c.Subject); ok {
				t.Errorf("%s: milink certificate %q left behind", name, c.Name)
			}
		}
		for _, e := range inv.Endpoints {
			if e.Name == steps.EndpointName || strings.Contains(e.Name, "_milink_") {
				t.Errorf("%s: milink endpoint %q left behind", name, e.Name)
			}
		}
	}
}

func TestVersionFlag(t *testing.T) {
	r := runApp(t, nil, "", "--version")
	if r.code != 0 || !strings.Contains(r.stdout, version) {
		t.Errorf("--version: %d %q", r.code, r.stdout)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSecretsNeverLeak(t *testing.T) {
	p := startPair(t, nil, nil)
	logPath := filepath.Join(t.TempDir(), "state", "milink.log")
	args := slices.DeleteFunc(p.checkArgs(), func(s string) bool { return s == "-q" })
	for i, a := range args {
		if a == "--log-file" {
			args[i+1] = logPath
		}
	}
	for _, format := range []string{"text", "json", "markdown"} {
		r := runApp(t, pwEnv, "", append(args, "--output", format)...)
		if r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		if strings.Contains(r.stdout, simPassword) || strings.Contains(r.stderr, simPassword) {
			t.Errorf("%s: the password appears in the output", format)
		}
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 || !strings.Contains(string(b), "check finished") {
		t.Errorf("log file has no entries: %q", b)
	}
	if strings.Contains(string(b), simPassword) {
		t.Error("the password appears in the log file")
	}
	st, _ := os.Stat(logPath)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("log file mode %v, want 0600", st.Mode().Perm())
	}
}
