package steps

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/milink/milink/sqlops"
)

// sshTestGuard bounds every wait in these tests; it is a failure deadline, never a way to
// synchronise.
const sshTestGuard = 20 * time.Second

// testSSHServer is an in-process SSH server on loopback that accepts one public key
// and runs each "exec" request with bash -c in the test's environment.
type testSSHServer struct {
	addr     string
	port     int
	cfg      *ssh.ServerConfig
	ln       net.Listener
	env      []string
	execs    atomic.Int32 // exec requests received
	conns    atomic.Int32 // TCP connections accepted
	started  chan string  // commands, once running
	finished chan string  // commands, once ended and the channel closed
	wg       sync.WaitGroup
	mu       sync.Mutex
	open     []net.Conn
	closed   bool
}

func requireBash(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"bash", "timeout"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
}

func newSigner(t testing.TB, key crypto.Signer) ssh.Signer {
	t.Helper()
	s, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newEd25519(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

// writeClientKey writes key in OpenSSH format (protected by passphrase, if not empty)
// and returns the file and the public key.
func writeClientKey(t *testing.T, key ed25519.PrivateKey, passphrase string) (string, ssh.PublicKey) {
	t.Helper()
	var block *pem.Block
	var err error
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(key, "milink test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(key, "milink test", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(f, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return f, newSigner(t, key).PublicKey()
}

// writeKnownHosts writes a known_hosts file with one line per key for host:port.
func writeKnownHosts(t *testing.T, hostport string, keys ...ssh.PublicKey) string {
	t.Helper()
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(knownhosts.Line([]string{hostport}, k) + "\n")
	}
	f := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(f, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func startTestSSHServer(t *testing.T, authorized ssh.PublicKey, hostKeys ...ssh.Signer) *testSSHServer {
	t.Helper()
	return startTestSSHServerEnv(t, nil, authorized, hostKeys...)
}

// startTestSSHServerEnv runs the commands with env (nil: the test's environment).
func startTestSSHServerEnv(t *testing.T, env []string, authorized ssh.PublicKey, hostKeys ...ssh.Signer) *testSSHServer {
	t.Helper()
	s := &testSSHServer{env: env, started: make(chan string, 64), finished: make(chan string, 64)}
	s.cfg = &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if string(k.Marshal()) == string(authorized.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("key not authorized")
		},
	}
	for _, k := range hostKeys {
		s.cfg.AddHostKey(k)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.ln, s.addr, s.port = ln, ln.Addr().String(), ln.Addr().(*net.TCPAddr).Port
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		s.closed = true
		for _, c := range s.open {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *testSSHServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.open = append(s.open, c)
		s.wg.Add(1)
		s.mu.Unlock()
		s.conns.Add(1)
		go s.handleConn(c)
	}
}

func (s *testSSHServer) handleConn(c net.Conn) {
	defer s.wg.Done()
	_, chans, reqs, err := ssh.NewServerConn(c, s.cfg)
	if err != nil {
		c.Close()
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ssh.DiscardRequests(reqs)
	}()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "session channels only")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		s.wg.Add(1)
		go s.session(ch, creqs)
	}
}

// session serves one session channel; when the client closes it, the command is killed.
func (s *testSSHServer) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := false
	for req := range reqs {
		switch req.Type {
		case "exec":
			var p struct{ Command string }
			if ran || ssh.Unmarshal(req.Payload, &p) != nil {
				req.Reply(false, nil)
				continue
			}
			ran = true
			s.execs.Add(1)
			req.Reply(true, nil)
			s.wg.Add(1)
			go s.exec(ctx, ch, p.Command)
		case "signal":
			cancel()
			req.Reply(true, nil)
		default:
			req.Reply(false, nil)
		}
	}
}

func (s *testSSHServer) exec(ctx context.Context, ch ssh.Channel, command string) {
	defer s.wg.Done()
	cmd := exec.CommandContext(ctx, "bash", "-c", command)
	cmd.Stdout, cmd.Stderr, cmd.Env = ch, ch.Stderr(), s.env
	cmd.WaitDelay = 5 * time.Second
	status := 255
	if err := cmd.Start(); err == nil {
		select {
		case s.started <- command:
		default:
		}
		err = cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
			status = 0
		case errors.As(err, &ee) && ee.ExitCode() >= 0:
			status = ee.ExitCode()
		}
	}
	ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(status)}))
	ch.Close()
	select {
	case s.finished <- command:
	default:
	}
}

// sshFixture is a server with an ed25519 host key and one authorized client key.
type sshFixture struct {
	srv        *testSSHServer
	hostKey    ssh.Signer
	keyFile    string
	knownHosts string
}

func newSSHFixture(t *testing.T) sshFixture {
	t.Helper()
	requireBash(t)
	host := newSigner(t, newEd25519(t))
	keyFile, pub := writeClientKey(t, newEd25519(t), "")
	srv := startTestSSHServer(t, pub, host)
	kh := writeKnownHosts(t, "[127.0.0.1]:"+strconv.Itoa(srv.port), host.PublicKey())
	return sshFixture{srv: srv, hostKey: host, keyFile: keyFile, knownHosts: kh}
}

func (f sshFixture) prober(t *testing.T) *SSHProber {
	p := &SSHProber{Addr: f.srv.addr, User: "tester", KeyFiles: []string{f.keyFile}, KnownHostsFile: f.knownHosts, DialTimeout: sshTestGuard}
	t.Cleanup(func() { p.Close() })
	return p
}

// loopbackPorts returns a port with a listener (closed at the end of the test) and a
// port that was listened on and closed.
func loopbackPorts(t *testing.T) (open, closed int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	gone, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed = gone.Addr().(*net.TCPAddr).Port
	gone.Close()
	return ln.Addr().(*net.TCPAddr).Port, closed
}

func TestSSHProberProbesOverOneConnection(t *testing.T) {
	f := newSSHFixture(t)
	p := f.prober(t)
	open, closed := loopbackPorts(t)
	ctx := context.Background()

	if err := p.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	pr := p.Probe(ctx, sqlops.ProbeTarget{Label: "open", Host: "127.0.0.1", Port: open, Timeout: 5 * time.Second})
	if pr.Verdict != sqlops.VerdictConnected || !pr.Succeeded || pr.RemoteAddress != "127.0.0.1" || pr.Step != "open" || pr.Duration <= 0 {
		t.Errorf("open port: %+v", pr)
	}
	pr = p.Probe(ctx, sqlops.ProbeTarget{Label: "closed", Host: "127.0.0.1", Port: closed, Timeout: 5 * time.Second})
	if pr.Verdict != sqlops.VerdictRefused || pr.Succeeded || pr.Detail != "connection refused" {
		t.Errorf("closed port: %+v", pr)
	}
	if got := f.srv.execs.Load(); got != 3 {
		t.Errorf("exec requests = %d, want 3 (Check and one per probe)", got)
	}
	if got := f.srv.conns.Load(); got != 1 {
		t.Errorf("SSH connections = %d, want 1 shared by every probe", got)
	}

	// A name goes through getent on the host for RemoteAddress ("localhost" resolves
	// from /etc/hosts: no traffic leaves the machine).
	if out, err := exec.Command("getent", "ahostsv4", "localhost").Output(); err == nil && strings.HasPrefix(string(out), "127.") {
		pr = p.Probe(ctx, sqlops.ProbeTarget{Label: "name", Host: "localhost", Port: open, Timeout: 5 * time.Second})
		t.Logf("localhost: %+v", pr)
		if pr.Verdict != sqlops.VerdictConnected {
			t.Errorf("localhost: %+v", pr)
		}
		if a, err := netip.ParseAddr(pr.RemoteAddress); err != nil || !a.IsLoopback() {
			t.Errorf("localhost: RemoteAddress %q, want a loopback address", pr.RemoteAddress)
		}
	}

	// After Close the prober dials again.
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	pr = p.Probe(ctx, sqlops.ProbeTarget{Label: "open", Host: "127.0.0.1", Port: open, Timeout: 5 * time.Second})
	if pr.Verdict != sqlops.VerdictConnected {
		t.Errorf("after Close: %+v", pr)
	}
}

func TestSSHProberRejectsInvalidTargetsWithoutSending(t *testing.T) {
	f := newSSHFixture(t)
	p := f.prober(t)
	for _, tg := range []sqlops.ProbeTarget{
		{Label: "semicolon", Host: "x;rm -rf /", Port: 5022, Timeout: time.Second},
		{Label: "space", Host: "a b", Port: 5022, Timeout: time.Second},
		{Label: "quote", Host: "a'b", Port: 5022, Timeout: time.Second},
		{Label: "subst", Host: "$(id)", Port: 5022, Timeout: time.Second},
		{Label: "empty", Host: "", Port: 5022, Timeout: time.Second},
		{Label: "port", Host: "127.0.0.1", Port: 0, Timeout: time.Second},
		{Label: "timeout", Host: "127.0.0.1", Port: 5022, Timeout: 0},
	} {
		pr := p.Probe(context.Background(), tg)
		if pr.Verdict != sqlops.VerdictFailed || pr.Succeeded || !strings.Contains(pr.Detail, "not probed") || !strings.Contains(pr.Detail, "invalid input") {
			t.Errorf("%s: %+v", tg.Label, pr)
		}
	}
	if n, c := f.srv.execs.Load(), f.srv.conns.Load(); n != 0 || c != 0 {
		t.Errorf("server saw %d exec requests over %d connections, want none", n, c)
	}
}

func TestSSHProberUnknownHostKey(t *testing.T) {
	f := newSSHFixture(t)
	p := f.prober(t)
	p.KnownHostsFile = writeKnownHosts(t, "[127.0.0.2]:"+strconv.Itoa(f.srv.port), f.hostKey.PublicKey())
	err := p.Check(context.Background())
	t.Log(err)
	if !errors.Is(err, ErrSSHUnknownHost) || !strings.Contains(err.Error(), "is not in "+p.KnownHostsFile) ||
		!strings.Contains(err.Error(), "ssh -p "+strconv.Itoa(f.srv.port)+" tester@127.0.0.1") {
		t.Fatalf("Check: %v", err)
	}
	// Probe reports the same explanation, without dialing again.
	pr := p.Probe(context.Background(), sqlops.ProbeTarget{Label: "x", Host: "127.0.0.1", Port: 1, Timeout: time.Second})
	if pr.Verdict != sqlops.VerdictFailed || pr.Detail != err.Error() {
		t.Errorf("Probe: %+v", pr)
	}
	if c := f.srv.conns.Load(); c != 1 {
		t.Errorf("connections = %d, want 1", c)
	}

	p.KnownHostsFile = filepath.Join(t.TempDir(), "known_hosts")
	if err := p.Check(context.Background()); !errors.Is(err, ErrSSHUnknownHost) || !strings.Contains(err.Error(), "known_hosts") {
		t.Errorf("missing known_hosts file: %v", err)
	}
	if n := f.srv.execs.Load(); n != 0 {
		t.Errorf("exec requests = %d, want 0", n)
	}
}

func TestSSHProberChangedHostKey(t *testing.T) {
	f := newSSHFixture(t)
	p := f.prober(t)
	p.KnownHostsFile = writeKnownHosts(t, "[127.0.0.1]:"+strconv.Itoa(f.srv.port), newSigner(t, newEd25519(t)).PublicKey())
	err := p.Check(context.Background())
	t.Log(err)
	if !errors.Is(err, ErrSSHHostKeyChanged) || !strings.Contains(err.Error(), "CHANGED") || !strings.Contains(err.Error(), "man-in-the-middle") ||
		!strings.Contains(err.Error(), ssh.FingerprintSHA256(f.hostKey.PublicKey())) {
		t.Fatalf("Check: %v", err)
	}
	if n := f.srv.execs.Load(); n != 0 {
		t.Errorf("exec requests = %d, want 0", n)
	}
}

// The server prefers no key type: when it has an ECDSA and an ED25519 host key and only
// the ED25519 one is recorded, the client must ask for that one rather than call the
// ECDSA key a changed key.
func TestSSHProberAsksForTheRecordedHostKeyType(t *testing.T) {
	requireBash(t)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ed := newSigner(t, newEd25519(t))
	keyFile, pub := writeClientKey(t, newEd25519(t), "")
	srv := startTestSSHServer(t, pub, newSigner(t, ec), ed)
	p := &SSHProber{Addr: srv.addr, User: "tester", KeyFiles: []string{keyFile}, DialTimeout: sshTestGuard,
		KnownHostsFile: writeKnownHosts(t, "[127.0.0.1]:"+strconv.Itoa(srv.port), ed.PublicKey())}
	defer p.Close()
	if err := p.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestSSHProberAuthenticationFailure(t *testing.T) {
	f := newSSHFixture(t)
	p := f.prober(t)
	wrong, _ := writeClientKey(t, newEd25519(t), "")
	locked, _ := writeClientKey(t, newEd25519(t), "secret")
	p.KeyFiles = []string{wrong, locked}
	err := p.Check(context.Background())
	t.Log(err)
	if !errors.Is(err, ErrSSHAuth) || !strings.Contains(err.Error(), "authentication failed") || !strings.Contains(err.Error(), wrong) ||
		!strings.Contains(err.Error(), locked+" is protected by a passphrase") ||
		!strings.Contains(err.Error(), "ssh-copy-id -p "+strconv.Itoa(f.srv.port)+" tester@127.0.0.1") {
		t.Fatalf("Check: %v", err)
	}
	pr := p.Probe(context.Background(), sqlops.ProbeTarget{Label: "x", Host: "127.0.0.1", Port: 1, Timeout: time.Second})
	if pr.Verdict != sqlops.VerdictFailed || !strings.Contains(pr.Detail, "authentication failed") {
		t.Errorf("Probe: %+v", pr)
	}

	// Only a passphrase-protected key: nothing to offer, said before dialing.
	p.KeyFiles = []string{locked}
	conns := f.srv.conns.Load()
	if err := p.Check(context.Background()); !errors.Is(err, ErrSSHAuth) || !strings.Contains(err.Error(), "no key to authenticate with") || !strings.Contains(err.Error(), "passphrase") {
		t.Errorf("passphrase only: %v", err)
	}
	if f.srv.conns.Load() != conns {
		t.Error("dialed without a key to offer")
	}
	if n := f.srv.execs.Load(); n != 0 {
		t.Errorf("exec requests = %d, want 0", n)
	}
}

// startAgent serves an in-process ssh-agent holding keys at $SSH_AUTH_SOCK.
func startAgent(t *testing.T, keys ...ed25519.PrivateKey) {
	t.Helper()
	dir, err := os.MkdirTemp("", "agent") // short: a socket path is at most 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	kr := agent.NewKeyring()
	for _, k := range keys {
		if err := kr.Add(agent.AddedKey{PrivateKey: k}); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(dir, "sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("no unix sockets: %v", err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				agent.ServeAgent(kr, c)
			}()
		}
	}()
	t.Setenv("SSH_AUTH_SOCK", sock)
}

// A passphrase-protected key file is used through ssh-agent when the agent holds it.
func TestSSHProberAgent(t *testing.T) {
	requireBash(t)
	host := newSigner(t, newEd25519(t))
	key := newEd25519(t)
	locked, pub := writeClientKey(t, key, "secret")
	srv := startTestSSHServer(t, pub, host)
	kh := writeKnownHosts(t, "[127.0.0.1]:"+strconv.Itoa(srv.port), host.PublicKey())
	startAgent(t, key)
	p := NewSSHProber("tester@" + srv.addr)
	p.KeyFiles, p.KnownHostsFile = []string{locked}, kh
	defer p.Close()
	if !p.UseAgent {
		t.Fatal("NewSSHProber did not turn the agent on with SSH_AUTH_SOCK set")
	}
	if err := p.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	a := p.auth(context.Background())
	defer a.close()
	if len(a.signers) != 1 || len(a.notes) != 0 || !strings.HasPrefix(a.tried[0], "ssh-agent ED25519 SHA256:") {
		t.Errorf("auth: tried %q, notes %q", a.tried, a.notes)
	}

	// Without the agent the same key file is skipped, with a note saying why.
	p.Close()
	p.UseAgent = false
	if err := p.Check(context.Background()); !errors.Is(err, ErrSSHAuth) || !strings.Contains(err.Error(), "ssh-add "+locked) {
		t.Errorf("without the agent: %v", err)
	}
}

func TestSSHProberUnreachable(t *testing.T) {
	_, closed := loopbackPorts(t)
	kh := writeKnownHosts(t, "[127.0.0.1]:"+strconv.Itoa(closed), newSigner(t, newEd25519(t)).PublicKey())
	keyFile, _ := writeClientKey(t, newEd25519(t), "")
	p := &SSHProber{Addr: "me@127.0.0.1:" + strconv.Itoa(closed), KeyFiles: []string{keyFile}, KnownHostsFile: kh}
	defer p.Close()
	err := p.Check(context.Background())
	t.Log(err)
	if !errors.Is(err, ErrSSHUnreachable) || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "me@127.0.0.1:") {
		t.Fatalf("Check: %v", err)
	}
}

// A host without timeout(1): Check says so, and a probe fails with that explanation.
func TestSSHProberRemoteWithoutTimeout(t *testing.T) {
	requireBash(t)
	bash, _ := exec.LookPath("bash")
	bin := t.TempDir()
	if err := os.Symlink(bash, filepath.Join(bin, "bash")); err != nil {
		t.Skipf("no symlinks: %v", err)
	}
	host := newSigner(t, newEd25519(t))
	keyFile, pub := writeClientKey(t, newEd25519(t), "")
	srv := startTestSSHServerEnv(t, []string{"PATH=" + bin}, pub, host)
	p := &SSHProber{Addr: srv.addr, User: "tester", KeyFiles: []string{keyFile}, DialTimeout: sshTestGuard,
		KnownHostsFile: writeKnownHosts(t, "[127.0.0.1]:"+strconv.Itoa(srv.port), host.PublicKey())}
	defer p.Close()
	err := p.Check(context.Background())
	if !errors.Is(err, ErrSSHRemoteTools) || !strings.Contains(err.Error(), "no timeout command") {
		t.Errorf("Check: %v", err)
	}
	open, _ := loopbackPorts(t)
	pr := p.Probe(context.Background(), sqlops.ProbeTarget{Label: "x", Host: "127.0.0.1", Port: open, Timeout: time.Second})
	if pr.Verdict != sqlops.VerdictFailed || !strings.Contains(pr.Detail, "no timeout command") {
		t.Errorf("Probe: %+v", pr)
	}
}

// An SSH port that accepts TCP but never answers: the handshake times out.
func TestSSHProberHandshakeTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		ln.Close()
		<-done
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	}()
	keyFile, _ := writeClientKey(t, newEd25519(t), "")
	kh := writeKnownHosts(t, ln.Addr().String(), newSigner(t, newEd25519(t)).PublicKey())
	p := &SSHProber{Addr: ln.Addr().String(), User: "tester", KeyFiles: []string{keyFile}, KnownHostsFile: kh, DialTimeout: 200 * time.Millisecond}
	defer p.Close()
	err = p.Check(context.Background())
	if !errors.Is(err, ErrSSHUnreachable) || !strings.Contains(err.Error(), "did not finish within 200ms") {
		t.Fatalf("Check: %v", err)
	}
}

// runRemote gives up promptly when ctx is canceled during a long command, closes the
// session (the server kills the command) and leaves the connection usable.
func TestSSHRunRemoteCanceled(t *testing.T) {
	f := newSSHFixture(t)
	p := f.prober(t)
	c, err := p.connect(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		out remoteOutput
		err error
	}
	res := make(chan result, 1)
	go func() {
		out, err := runRemote(ctx, c, "sleep 30")
		res <- result{out, err}
	}()
	select {
	case <-f.srv.started:
	case <-time.After(sshTestGuard):
		t.Fatal("the command never started")
	}
	cancel()
	select {
	case r := <-res:
		if !errors.Is(r.err, context.Canceled) || errors.Is(r.err, errClientClosed) {
			t.Errorf("runRemote: %v", r.err)
		}
	case <-time.After(sshTestGuard):
		t.Fatal("runRemote did not return after cancel")
	}
	select {
	case cmd := <-f.srv.finished:
		if cmd != "sleep 30" {
			t.Errorf("finished %q", cmd)
		}
	case <-time.After(sshTestGuard):
		t.Fatal("the remote command was not ended")
	}
	out, err := runRemote(context.Background(), c, "echo still-here")
	if err != nil || strings.TrimSpace(out.stdout) != "still-here" || out.exit != 0 {
		t.Errorf("connection after cancel: %+v, %v", out, err)
	}

	// A probe with a canceled context returns at once, without a command.
	execs := f.srv.execs.Load()
	pr := p.Probe(ctx, sqlops.ProbeTarget{Label: "x", Host: "127.0.0.1", Port: 1, Timeout: time.Second})
	if pr.Verdict != sqlops.VerdictFailed || !strings.Contains(pr.Detail, "canceled") {
		t.Errorf("canceled probe: %+v", pr)
	}
	if f.srv.execs.Load() != execs {
		t.Error("a canceled probe sent a command")
	}
}

func TestSSHProbeCommand(t *testing.T) {
	cmd, err := sshProbeCommand(sqlops.ProbeTarget{Label: "x", Host: "mi.abc.database.windows.net", Port: 5022, Timeout: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"LC_ALL=C", "timeout 1.5 getent ahosts mi.abc.database.windows.net ", `timeout 1.5 bash -c "</dev/tcp/mi.abc.database.windows.net/5022"`, markRC} {
		if !strings.Contains(cmd, want) {
			t.Errorf("command lacks %q:\n%s", want, cmd)
		}
	}
	if strings.Count(cmd, "'") != 2 || !strings.HasPrefix(cmd, "bash -c '") || !strings.HasSuffix(cmd, "'") {
		t.Errorf("command is not one single-quoted bash -c script:\n%s", cmd)
	}
	cmd, err = sshProbeCommand(sqlops.ProbeTarget{Host: "fd00::1", Port: 11002, Timeout: 5 * time.Second})
	if err != nil || strings.Contains(cmd, "getent") || !strings.Contains(cmd, "timeout 5 bash -c \"</dev/tcp/fd00::1/11002\"") {
		t.Errorf("IPv6 literal: %v\n%s", err, cmd)
	}
	for _, h := range []string{"x;rm -rf /", "a b", "a'b", "a\"b", "$(id)", "`id`", "a\nb", "a/b", "-x", "fe80::1%eth0"} {
		if _, err := sshProbeCommand(sqlops.ProbeTarget{Host: h, Port: 5022, Timeout: time.Second}); !errors.Is(err, sqlops.ErrInvalidInput) {
			t.Errorf("host %q: %v", h, err)
		}
	}
}

func TestParseSSHAddr(t *testing.T) {
	for _, c := range []struct {
		in, user, host string
		port           int
		bad            bool
	}{
		{in: "sqlhost", host: "sqlhost", port: 22},
		{in: "sqlhost:2222", host: "sqlhost", port: 2222},
		{in: "admin@sqlhost", user: "admin", host: "sqlhost", port: 22},
		{in: "admin@10.0.0.4:2200", user: "admin", host: "10.0.0.4", port: 2200},
		{in: "[fd00::4]:2200", host: "fd00::4", port: 2200},
		{in: "fd00::4", host: "fd00::4", port: 22},
		{in: "[fd00::4]", host: "fd00::4", port: 22},
		{in: "", bad: true},
		{in: "@sqlhost", bad: true},
		{in: "sqlhost:0", bad: true},
		{in: "sqlhost:ssh", bad: true},
		{in: "sql host", bad: true},
		{in: "sqlhost;id", bad: true},
	} {
		if err := (&SSHProber{Addr: c.in, User: "u"}).Validate(); (err != nil) != c.bad {
			t.Errorf("Validate(%q): %v", c.in, err)
		}
		user, host, port, err := parseSSHAddr(c.in)
		if c.bad {
			if !errors.Is(err, sqlops.ErrInvalidInput) {
				t.Errorf("%q: err = %v, want invalid input", c.in, err)
			}
			continue
		}
		if err != nil || user != c.user || host != c.host || port != c.port {
			t.Errorf("%q: %q %q %d %v", c.in, user, host, port, err)
		}
	}
}

func TestCheckRemoteTools(t *testing.T) {
	tg := sshTarget{user: "u", host: "h", port: 22}
	for _, c := range []struct {
		out  remoteOutput
		want string // "" = no error
	}{
		{remoteOutput{stdout: "milink-bash=5.2.15(1)-release\n", exit: 0}, ""},
		{remoteOutput{stdout: "milink-missing=timeout\nmilink-bash=5.2\n"}, "no timeout command"},
		{remoteOutput{stderr: "sh: 1: bash: not found\n", exit: 127}, "has no bash"},
		{remoteOutput{stderr: "This account is currently not available.\n", exit: 1}, "not available"},
	} {
		err := checkRemoteTools(tg, c.out)
		if c.want == "" {
			if err != nil {
				t.Errorf("%+v: %v", c.out, err)
			}
			continue
		}
		if !errors.Is(err, ErrSSHRemoteTools) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.out, err, c.want)
		}
	}
}

type sshClassifyCase struct {
	name           string
	stdout, stderr string
	exit           int
	verdict        sqlops.ProbeVerdict
	detail, addr   string
}

var sshClassifyCases = []sshClassifyCase{
	{"connected", "milink-addr=10.0.0.5\nmilink-rc=0\n", "", 0, sqlops.VerdictConnected, "connected", "10.0.0.5"},
	{"connected ip literal", "milink-rc=0\n", "", 0, sqlops.VerdictConnected, "connected", ""},
	{"rc line with CRLF and noise", "Welcome!\r\nmilink-rc=0\r\n", "stty: not a tty\n", 0, sqlops.VerdictConnected, "connected", ""},
	{"timeout", "milink-addr=10.0.0.5\nmilink-rc=124\n", "", 0, sqlops.VerdictTimeout, "timed out after 5s", "10.0.0.5"},
	{"dns timeout", "milink-resolve=timeout\n", "", 0, sqlops.VerdictTimeout, "timed out after 5s resolving the name on the SQL Server host", ""},
	{"refused", "milink-addr=10.0.0.5\nmilink-rc=1\n", "bash: connect: Connection refused\nbash: line 1: /dev/tcp/10.0.0.5/5022: Connection refused\n", 0, sqlops.VerdictRefused, "connection refused", "10.0.0.5"},
	{"dns not known", "milink-addr=\nmilink-rc=1\n", "bash: mi.example.net: Name or service not known\nbash: line 1: /dev/tcp/mi.example.net/5022: Invalid argument\n", 0, sqlops.VerdictDNS, "mi.example.net: Name or service not known", ""},
	{"dns temporary", "milink-addr=\nmilink-rc=1\n", "bash: mi.example.net: Temporary failure in name resolution\n", 0, sqlops.VerdictDNS, "mi.example.net: Temporary failure in name resolution", ""},
	{"dns no address", "milink-rc=1\n", "bash: mi.example.net: No address associated with hostname\n", 0, sqlops.VerdictDNS, "mi.example.net: No address associated with hostname", ""},
	{"no route", "milink-rc=1\n", "bash: connect: No route to host\nbash: line 1: /dev/tcp/10.9.9.9/5022: No route to host\n", 0, sqlops.VerdictFailed, "no route to host", ""},
	{"unreachable", "milink-rc=1\n", "bash: connect: Network is unreachable\n", 0, sqlops.VerdictFailed, "network is unreachable", ""},
	{"other error", "milink-rc=1\n", "bash: connect: Permission denied\nbash: line 1: /dev/tcp/10.0.0.5/5022: Permission denied\n", 0, sqlops.VerdictFailed, "/dev/tcp/10.0.0.5/5022: Permission denied", ""},
	{"other error no stderr", "milink-rc=3\n", "", 0, sqlops.VerdictFailed, "connect failed (status 3)", ""},
	{"timeout failed", "milink-rc=125\n", "timeout: invalid time interval ‘x’\n", 0, sqlops.VerdictFailed, "timeout(1) or bash could not run the probe (status 125): timeout: invalid time interval ‘x’", ""},
	{"no timeout", "milink-missing=timeout\n", "", 0, sqlops.VerdictFailed, "the SQL Server host has no timeout command (GNU coreutils): install coreutils there (or use --probe-from manual)", ""},
	{"no bash sh", "", "sh: 1: bash: not found\n", 127, sqlops.VerdictFailed, "the SQL Server host has no bash for the SSH user: milink's probe needs bash and timeout there (or use --probe-from manual)", ""},
	{"no bash", "", "bash: command not found\n", 1, sqlops.VerdictFailed, "the SQL Server host has no bash for the SSH user: milink's probe needs bash and timeout there (or use --probe-from manual)", ""},
	{"nologin", "", "This account is currently not available.\n", 1, sqlops.VerdictFailed, "the probe command on the SQL Server host printed no result (exit status 1): This account is currently not available.", ""},
	{"killed", "", "", -1, sqlops.VerdictFailed, "the probe command on the SQL Server host printed no result", ""},
	{"bad rc", "milink-rc=zero\n", "", 0, sqlops.VerdictFailed, "the probe command on the SQL Server host printed no result (exit status 0)", ""},
	{"bad addr ignored", "milink-addr=;id\nmilink-rc=0\n", "", 0, sqlops.VerdictConnected, "connected", ""},
	{"ipv6 addr", "milink-addr=fd00::5\nmilink-rc=0\n", "", 0, sqlops.VerdictConnected, "connected", "fd00::5"},
	{"only control characters", "milink-rc=1", "\x10", 0, sqlops.VerdictFailed, "connect failed (status 1)", ""},
	{"control characters", "milink-rc=1\n", "bash: \x1b[31mboom\x07\xff\n", 0, sqlops.VerdictFailed, "[31mboom \uFFFD", ""},
}

func TestClassifySSHProbe(t *testing.T) {
	for _, c := range sshClassifyCases {
		v, d, a := classifySSHProbe(c.stdout, c.stderr, c.exit, 5*time.Second)
		if v != c.verdict || d != c.detail || a != c.addr {
			t.Errorf("%s: got %s %q %q, want %s %q %q", c.name, v, d, a, c.verdict, c.detail, c.addr)
		}
	}
	long := "milink-rc=1\n"
	if _, d, _ := classifySSHProbe(long, strings.Repeat("é", 5000), 0, time.Second); utf8.RuneCountInString(d) > maxDetailRunes {
		t.Errorf("detail not truncated: %d runes", utf8.RuneCountInString(d))
	}
}

func FuzzClassifySSHProbe(f *testing.F) {
	for _, c := range sshClassifyCases {
		f.Add(c.stdout, c.stderr, c.exit, int64(5*time.Second))
	}
	f.Fuzz(func(t *testing.T, stdout, stderr string, exit int, timeout int64) {
		v, d, a := classifySSHProbe(stdout, stderr, exit, time.Duration(timeout))
		switch v {
		case sqlops.VerdictConnected, sqlops.VerdictTimeout, sqlops.VerdictRefused, sqlops.VerdictDNS, sqlops.VerdictFailed:
		default:
			t.Fatalf("verdict %q", v)
		}
		if d == "" || !utf8.ValidString(d) || utf8.RuneCountInString(d) > maxDetailRunes {
			t.Fatalf("detail %q", d)
		}
		if strings.IndexFunc(d, unicode.IsControl) >= 0 {
			t.Fatalf("detail has control characters: %q", d)
		}
		if a != "" {
			if _, err := netip.ParseAddr(a); err != nil {
				t.Fatalf("address %q", a)
			}
		}
		if rc, ok := markerValue(stdout, markRC); v == sqlops.VerdictConnected {
			if n, err := strconv.Atoi(rc); !ok || err != nil || n != 0 {
				t.Fatalf("connected without rc=0: %q", stdout)
			}
		}
	})
}
