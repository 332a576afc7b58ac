package probe

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/milink/milink/sqlops"
)

func TestSSHProberProbesOverOneConnection(t *testing.T) {
	f := newSSHFixture(t)
	p := f.prober(t)
	open, closed := loopbackPorts(t)
	ctx := context.Background()

	var mu sync.Mutex
	var notes []Note
	rs, err := p.Probe(ctx, []sqlops.ProbeTarget{
		{Label: "open", Host: "127.0.0.1", Port: open, Timeout: 5 * time.Second},
		{Label: "closed", Host: "127.0.0.1", Port: closed, Timeout: 5 * time.Second},
	}, func(n Note) { mu.Lock(); notes = append(notes, n); mu.Unlock() })
	if err != nil || len(rs) != 2 {
		t.Fatalf("Probe: %v, %d results", err, len(rs))
	}
	pr := rs[0]
	if pr.Verdict != sqlops.VerdictConnected || !pr.Succeeded || pr.RemoteAddress != "127.0.0.1" || pr.Step != "open" || pr.Duration <= 0 {
		t.Errorf("open port: %+v", pr)
	}
	wantRan := "ssh -p " + strconv.Itoa(f.srv.port) + " tester@127.0.0.1 bash -c "
	if pr.Where != p.Where() || !strings.HasPrefix(pr.Ran, wantRan) || !strings.Contains(pr.Ran, "/dev/tcp/127.0.0.1/"+strconv.Itoa(open)) {
		t.Errorf("open port: where %q, ran %q; want %q and a command starting %q", pr.Where, pr.Ran, p.Where(), wantRan)
	}
	pr = rs[1]
	if pr.Verdict != sqlops.VerdictRefused || pr.Succeeded || pr.Detail != "connection refused" || pr.Step != "closed" {
		t.Errorf("closed port: %+v", pr)
	}
	wantNotes := []Note{
		{NoteStep, "connecting over SSH to the SQL Server host"},
		{NoteStep, "SQL Server host (ssh): probing 127.0.0.1:" + strconv.Itoa(open)},
		{NoteVerdict, "127.0.0.1:" + strconv.Itoa(open) + ": connected"},
		{NoteStep, "SQL Server host (ssh): probing 127.0.0.1:" + strconv.Itoa(closed)},
		{NoteVerdict, "127.0.0.1:" + strconv.Itoa(closed) + ": refused"},
	}
	// The probes run at once: each target's verdict follows its own start.
	text := func(ns []Note) []string {
		var out []string
		for _, n := range ns {
			out = append(out, string(n.Kind)+" "+n.Message)
		}
		return out
	}
	got, want := text(notes), text(wantNotes)
	if len(got) != len(want) || got[0] != want[0] || !noteBefore(got, want[1], want[2]) || !noteBefore(got, want[3], want[4]) {
		t.Errorf("notes:\n got %v\nwant %v (in any interleaving)", notes, wantNotes)
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
		pr = p.probeOne(ctx, sqlops.ProbeTarget{Label: "name", Host: "localhost", Port: open, Timeout: 5 * time.Second})
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
	pr = p.probeOne(ctx, sqlops.ProbeTarget{Label: "open", Host: "127.0.0.1", Port: open, Timeout: 5 * time.Second})
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
		pr := p.probeOne(context.Background(), tg)
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
	pr := p.probeOne(context.Background(), sqlops.ProbeTarget{Label: "x", Host: "127.0.0.1", Port: 1, Timeout: time.Second})
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
	// Probe checks the connection first (dialing again) and returns Check's error.
	rs, err := p.Probe(context.Background(), []sqlops.ProbeTarget{{Label: "x", Host: "127.0.0.1", Port: 1, Timeout: time.Second}}, nil)
	if rs != nil || !errors.Is(err, ErrSSHUnknownHost) {
		t.Errorf("Probe with an unknown host key: %v, %v", rs, err)
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
	p := &SSH{Addr: srv.addr, User: "tester", KeyFiles: []string{keyFile}, DialTimeout: sshTestGuard,
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
	pr := p.probeOne(context.Background(), sqlops.ProbeTarget{Label: "x", Host: "127.0.0.1", Port: 1, Timeout: time.Second})
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

func TestSSHProberAgent(t *testing.T) {
	requireBash(t)
	host := newSigner(t, newEd25519(t))
	key := newEd25519(t)
	locked, pub := writeClientKey(t, key, "secret")
	srv := startTestSSHServer(t, pub, host)
	kh := writeKnownHosts(t, "[127.0.0.1]:"+strconv.Itoa(srv.port), host.PublicKey())
	startAgent(t, key)
	p := NewSSH("tester@" + srv.addr)
	p.KeyFiles, p.KnownHostsFile = []string{locked}, kh
	defer p.Close()
	if !p.UseAgent {
		t.Fatal("NewSSH did not turn the agent on with SSH_AUTH_SOCK set")
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
	p := &SSH{Addr: "me@127.0.0.1:" + strconv.Itoa(closed), KeyFiles: []string{keyFile}, KnownHostsFile: kh}
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
	p := &SSH{Addr: srv.addr, User: "tester", KeyFiles: []string{keyFile}, DialTimeout: sshTestGuard,
		KnownHostsFile: writeKnownHosts(t, "[127.0.0.1]:"+strconv.Itoa(srv.port), host.PublicKey())}
	defer p.Close()
	err := p.Check(context.Background())
	if !errors.Is(err, ErrSSHRemoteTools) || !strings.Contains(err.Error(), "no timeout command") {
		t.Errorf("Check: %v", err)
	}
	open, _ := loopbackPorts(t)
	pr := p.probeOne(context.Background(), sqlops.ProbeTarget{Label: "x", Host: "127.0.0.1", Port: open, Timeout: time.Second})
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
	p := &SSH{Addr: ln.Addr().String(), User: "tester", KeyFiles: []string{keyFile}, KnownHostsFile: kh, DialTimeout: 200 * time.Millisecond}
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
	pr := p.probeOne(ctx, sqlops.ProbeTarget{Label: "x", Host: "127.0.0.1", Port: 1, Timeout: time.Second})
	if pr.Verdict != sqlops.VerdictFailed || !strings.Contains(pr.Detail, "canceled") {
		t.Errorf("canceled probe: %+v", pr)
	}
	if f.srv.execs.Load() != execs {
		t.Error("a canceled probe sent a command")
	}
}
