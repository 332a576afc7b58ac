// Package krbtest runs a real MIT Kerberos KDC for tests: a realm in a temporary
// directory, listening on a loopback port, set up with kdb5_util and kadmin.local and
// served by krb5kdc (Debian: krb5-kdc, krb5-admin-server, krb5-user). Nothing global is
// touched: the tools find their files through KRB5_CONFIG and KRB5_KDC_PROFILE, set
// only in the environment of the commands it runs. No secret is passed in a process
// argument: the database master key goes through stdin and principals get random keys
// exported to keytabs.
//
// When the tools are missing, Start skips the test unless CI is set: on CI (where
// .ci/run installs them) a missing KDC fails the test.
package krbtest

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Realm is the test realm.
const Realm = "MILINK.TEST"

// KDC is a running test KDC.
type KDC struct {
	Dir    string // the realm's files
	Conf   string // krb5.conf for clients (KRB5_CONFIG)
	Port   int    // the KDC's UDP and TCP port on 127.0.0.1
	Realm  string
	tools  map[string]string
	env    []string
	logMu  sync.Mutex
	logBuf strings.Builder // the KDC's log (stderr)
}

var toolNames = []string{"kdb5_util", "kadmin.local", "krb5kdc", "kinit"}

// findTools locates the MIT tools in PATH or the Debian locations (/usr/sbin is not
// in every user's PATH).
func findTools() (map[string]string, error) {
	m := map[string]string{}
	var missing []string
	for _, n := range toolNames {
		p, err := exec.LookPath(n)
		if err != nil {
			for _, d := range []string{"/usr/sbin", "/usr/bin", "/sbin"} {
				if fi, e := os.Stat(filepath.Join(d, n)); e == nil && fi.Mode()&0o111 != 0 {
					p, err = filepath.Join(d, n), nil
					break
				}
			}
		}
		if err != nil {
			missing = append(missing, n)
			continue
		}
		m[n] = p
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("MIT Kerberos tools not found: %s (Debian: apt-get install krb5-kdc krb5-admin-server krb5-user)", strings.Join(missing, ", "))
	}
	return m, nil
}

// Start creates a realm in t.TempDir() and starts krb5kdc on a free loopback port;
// the KDC is stopped when the test ends.
func Start(t testing.TB) *KDC {
	t.Helper()
	tools, err := findTools()
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("%v; CI is unset, so the Kerberos test is skipped", err)
		}
		t.Fatalf("%v; CI is set, so the Kerberos tests must run (.ci/run installs them)", err)
	}
	var lastErr error
	for range 3 { // a free port found by listening can be taken before krb5kdc binds it
		k, err := start(t, tools)
		if err == nil {
			return k
		}
		lastErr = err
	}
	t.Fatalf("starting the test KDC: %v", lastErr)
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func start(t testing.TB, tools map[string]string) (*KDC, error) {
	dir := t.TempDir()
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	k := &KDC{Dir: dir, Conf: filepath.Join(dir, "krb5.conf"), Port: port, Realm: Realm, tools: tools}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	conf := fmt.Sprintf(`[libdefaults]
 default_realm = %[1]s
 dns_lookup_kdc = false
 dns_lookup_realm = false
 rdns = false
 dns_canonicalize_hostname = false
 udp_preference_limit = 1
 default_ccache_name = FILE:%[3]s/ccache-default
[realms]
 %[1]s = {
  kdc = %[2]s
 }
`, Realm, addr, dir)
	kdcConf := fmt.Sprintf(`[kdcdefaults]
 kdc_ports = %[2]s
 kdc_tcp_ports = %[2]s
[realms]
 %[1]s = {
  database_name = %[3]s/principal
  key_stash_file = %[3]s/stash
  acl_file = %[3]s/kadm5.acl
  kdc_listen = %[2]s
  kdc_tcp_listen = %[2]s
  max_life = 10h
  supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
 }
[logging]
 kdc = STDERR
`, Realm, addr, dir)
	if err := os.WriteFile(k.Conf, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "kdc.conf"), []byte(kdcConf), 0o600); err != nil {
		return nil, err
	}
	k.env = append(os.Environ(), "KRB5_CONFIG="+k.Conf, "KRB5_KDC_PROFILE="+filepath.Join(dir, "kdc.conf"))
	mk := make([]byte, 24)
	if _, err := rand.Read(mk); err != nil {
		return nil, err
	}
	master := base64.StdEncoding.EncodeToString(mk)
	// kdb5_util reads the master key (twice) from stdin when it is not a terminal.
	if _, err := k.run("kdb5_util", master+"\n"+master+"\n", "create", "-s", "-r", Realm); err != nil {
		return nil, err
	}
	// krb5kdc -n stays in the foreground and, logging to stderr, says "commencing
	// operation" once its sockets are bound: the KDC answers from then on.
	cmd := exec.Command(tools["krb5kdc"], "-n")
	cmd.Env = k.env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		said := false
		for sc.Scan() {
			k.logMu.Lock()
			k.logBuf.WriteString(sc.Text() + "\n")
			k.logMu.Unlock()
			if !said && strings.Contains(sc.Text(), "commencing operation") {
				said = true
				ready <- nil
			}
		}
		if !said {
			ready <- errors.New("krb5kdc ended before it started serving")
		}
	}()
	select {
	case err = <-ready:
	case <-time.After(30 * time.Second):
		err = errors.New("krb5kdc did not start serving within 30 s")
	}
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("%w: %s", err, k.log())
	}
	return k, nil
}

func (k *KDC) log() string {
	k.logMu.Lock()
	defer k.logMu.Unlock()
	return strings.TrimSpace(k.logBuf.String())
}

// run runs an MIT tool with the realm's environment and stdin.
func (k *KDC) run(tool, stdin string, args ...string) (string, error) {
	cmd := exec.Command(k.tools[tool], args...)
	cmd.Env = k.env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", tool, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// AddPrincipal creates principal (e.g. "alice" or "MSSQLSvc/sql.milink.test:1433")
// with a random key and returns a keytab holding it.
func (k *KDC) AddPrincipal(t testing.TB, principal string) string {
	t.Helper()
	if _, err := k.run("kadmin.local", "", "-q", "addprinc -randkey "+principal); err != nil {
		t.Fatal(err)
	}
	return k.Keytab(t, principal)
}

// Keytab exports principal's current keys to a new keytab. Exporting randomizes the
// key again, so an older keytab of the principal becomes stale (a wrong key).
func (k *KDC) Keytab(t testing.TB, principal string) string {
	t.Helper()
	f, err := os.CreateTemp(k.Dir, "keytab-*")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	os.Remove(f.Name()) // ktadd creates it
	if _, err := k.run("kadmin.local", "", "-q", "ktadd -k "+f.Name()+" "+principal); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// Kinit gets principal's TGT with its keytab into a new credential cache file and
// returns the file's path (what KRB5CCNAME names after kinit).
func (k *KDC) Kinit(t testing.TB, principal, keytabFile string) string {
	t.Helper()
	f, err := os.CreateTemp(k.Dir, "ccache-*")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := k.run("kinit", "", "-c", "FILE:"+f.Name(), "-k", "-t", keytabFile, principal); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}
