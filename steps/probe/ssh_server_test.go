package probe

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
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

func (f sshFixture) prober(t *testing.T) *SSH {
	p := &SSH{Addr: f.srv.addr, User: "tester", KeyFiles: []string{f.keyFile}, KnownHostsFile: f.knownHosts, DialTimeout: sshTestGuard}
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
