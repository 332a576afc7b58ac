package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/milink/milink/sqlops"
)

// Errors an SSH prober's connection can fail with, for errors.Is. The error's own text
// is the full, actionable explanation.
var (
	// ErrSSHUnknownHost means the SQL Server host's key is not in the known hosts file.
	ErrSSHUnknownHost = errors.New("SSH host key unknown")
	// ErrSSHHostKeyChanged means the host presented a key other than the recorded one,
	// or a revoked key: possibly a man-in-the-middle, so milink does not continue.
	ErrSSHHostKeyChanged = errors.New("SSH host key changed")
	// ErrSSHAuth means there was no key to authenticate with, or the host accepted none.
	ErrSSHAuth = errors.New("SSH authentication failed")
	// ErrSSHUnreachable means the SSH server could not be reached, or did not finish
	// the handshake in time.
	ErrSSHUnreachable = errors.New("SSH server unreachable")
	// ErrSSHRemoteTools means the SQL Server host lacks bash or timeout, or the SSH
	// user's shell cannot run commands.
	ErrSSHRemoteTools = errors.New("SQL Server host lacks a command the probe needs")
)

const (
	defaultSSHDialTimeout = 10 * time.Second
	// sshCommandGrace is added to a probe's own bound (twice its timeout: resolving,
	// then connecting) before milink gives up on the remote command.
	sshCommandGrace = 10 * time.Second
	// sessionCloseGrace bounds the wait for a closed session to end before the whole
	// connection is closed to release it.
	sessionCloseGrace = 2 * time.Second
	// maxRemoteOutput caps what is kept of a remote command's stdout and stderr each.
	maxRemoteOutput = 64 << 10
	maxDetailRunes  = 240
)

// SSH is the Prober that runs the SQL Server → managed instance probes on the SQL
// Server host over SSH, for a SQL Server on Linux when milink runs elsewhere. It keeps one connection,
// dialed on first use and shared by every probe, and runs one bash command per probe,
// built only from validated values. The host key is always checked against the known
// hosts file; ~/.ssh/config is not read. Use a pointer; NewSSH fills the
// defaults that a zero value cannot express (the ssh-agent).
type SSH struct {
	// Addr is the SQL Server host: host, host:port or user@host[:port] (port 22 by default).
	Addr string
	// User is the SSH user (default: the user in Addr, else $USER).
	User string
	// KeyFiles are the private keys to try (default ~/.ssh/id_ed25519, id_ecdsa and
	// id_rsa, those present). Passphrase-protected keys are skipped, with a note in the
	// authentication error, unless ssh-agent holds them.
	KeyFiles []string
	// UseAgent offers the keys of the ssh-agent at $SSH_AUTH_SOCK.
	UseAgent bool
	// KnownHostsFile holds the accepted host keys (default ~/.ssh/known_hosts, plus
	// /etc/ssh/ssh_known_hosts when present).
	KnownHostsFile string
	// DialTimeout bounds the TCP connect and the SSH handshake (default 10s).
	DialTimeout time.Duration

	mu     sync.Mutex
	client *ssh.Client
	err    error // last connection failure: Probe reports it again until Check or Close
}

// NewSSH returns an SSH prober for addr that uses the ssh-agent when SSH_AUTH_SOCK
// is set.
func NewSSH(addr string) *SSH {
	return &SSH{Addr: addr, UseAgent: os.Getenv("SSH_AUTH_SOCK") != ""}
}

// Validate checks Addr (and that a user is known) without connecting.
func (s *SSH) Validate() error {
	_, err := s.target()
	return err
}

// Where returns "SQL Server host (ssh)".
func (s *SSH) Where() string { return "SQL Server host (ssh)" }

// Probe connects (again, after an earlier failure) and checks the host with Check, then
// probes the targets at once, each with one remote command in its own session of the
// one connection (see probeOne; at most sshParallel sessions at a time, below
// OpenSSH's default MaxSessions of 10). Check's error, a full
// explanation matching an ErrSSH* error, is Probe's error.
func (s *SSH) Probe(ctx context.Context, targets []sqlops.ProbeTarget, notify Notify) ([]Result, error) {
	notify.note(NoteStep, "connecting over SSH to the SQL Server host")
	if err := s.Check(ctx); err != nil {
		return nil, err
	}
	return each(ctx, s.Where(), targets, notify, sshParallel, s.probeOne), nil
}

// sshParallel bounds the concurrent sessions of one SSH connection: sshd_config(5)'s
// MaxSessions defaults to 10 (https://man.openbsd.org/sshd_config#MaxSessions).
const sshParallel = 8

// probeOne runs one TCP probe of t on the SQL Server host and classifies it as Local
// does. An invalid target is not sent; an SSH failure gives VerdictFailed with the
// explanation in Detail. probeOne does not redial after a failed connection (each probe
// would wait for the same failure): Check or Close resets that.
func (s *SSH) probeOne(ctx context.Context, t sqlops.ProbeTarget) (pr Result) {
	start := time.Now()
	pr = Result{Step: t.Label, Host: t.Host, Port: t.Port, Where: s.Where()}
	defer func() { pr.Duration = time.Since(start) }()
	cmd, err := sshProbeCommand(t)
	if err != nil {
		pr.Verdict, pr.Detail = sqlops.VerdictFailed, "not probed: "+err.Error()
		return pr
	}
	pr.Ran = cmd
	if tg, err := s.target(); err == nil {
		pr.Ran = tg.command() + " " + cmd
	}
	if ip, err := netip.ParseAddr(t.Host); err == nil {
		pr.RemoteAddress = ip.String()
	}
	out, err := s.run(ctx, cmd, 2*t.Timeout+sshCommandGrace)
	if err != nil {
		pr.Verdict, pr.Detail = sqlops.VerdictFailed, err.Error()
		return pr
	}
	v, detail, addr := classifySSHProbe(out.stdout, out.stderr, out.exit, t.Timeout)
	pr.Verdict, pr.Detail, pr.Succeeded = v, detail, v == sqlops.VerdictConnected
	if addr != "" {
		pr.RemoteAddress = addr
	}
	pr.Output = out.combined()
	return pr
}

// Check connects and authenticates (again, after a failure) and checks once that the
// host has bash and timeout. Its errors are full explanations; see the ErrSSH* errors.
func (s *SSH) Check(ctx context.Context) error {
	if _, err := s.connect(ctx, true); err != nil {
		return err
	}
	out, err := s.run(ctx, sshCheckCommand, s.dialTimeout()+sshCommandGrace)
	if err != nil {
		return err
	}
	tg, _ := s.target() // connect succeeded, so the target is valid
	return checkRemoteTools(tg, out)
}

// Close closes the SSH connection, if any, and forgets a failed one; a later Probe or
// Check connects again.
func (s *SSH) Close() error {
	s.mu.Lock()
	c := s.client
	s.client, s.err = nil, nil
	s.mu.Unlock()
	if c == nil {
		return nil
	}
	if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("closing the SSH connection: %w", err)
	}
	return nil
}

func (s *SSH) dialTimeout() time.Duration {
	if s.DialTimeout > 0 {
		return s.DialTimeout
	}
	return defaultSSHDialTimeout
}

// connect returns the shared connection, dialing it if needed. After a failure it
// returns the same error again unless retry is set.
func (s *SSH) connect(ctx context.Context, retry bool) (*ssh.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil {
		return s.client, nil
	}
	if s.err != nil && !retry {
		return nil, s.err
	}
	c, err := s.dial(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.err = err
		}
		return nil, err
	}
	s.client, s.err = c, nil
	return c, nil
}

// drop forgets c, if it is the shared connection, and closes it.
func (s *SSH) drop(c *ssh.Client) {
	s.mu.Lock()
	if s.client == c {
		s.client = nil
	}
	s.mu.Unlock()
	c.Close()
}

// run runs cmd on the shared connection within limit, reconnecting once when the
// connection turns out to be dead.
func (s *SSH) run(ctx context.Context, cmd string, limit time.Duration) (remoteOutput, error) {
	for attempt := 0; ; attempt++ {
		c, err := s.connect(ctx, false)
		if err != nil {
			return remoteOutput{}, err
		}
		rctx, cancel := context.WithTimeout(ctx, limit)
		out, err := runRemote(rctx, c, cmd)
		rerr := rctx.Err()
		cancel()
		if err == nil {
			return out, nil
		}
		if errors.Is(err, errSessionNotOpened) || errors.Is(err, errClientClosed) {
			s.drop(c)
			if attempt == 0 && errors.Is(err, errSessionNotOpened) && ctx.Err() == nil {
				continue // a stale connection (the host restarted sshd, a NAT forgot it): redial once
			}
		}
		tg, _ := s.target()
		switch {
		case ctx.Err() != nil:
			return out, fmt.Errorf("SSH to %s: canceled: %w", tg, ctx.Err())
		case rerr != nil:
			return out, fmt.Errorf("SSH to %s: the remote command did not finish within %s: %w", tg, limit, rerr)
		}
		return out, fmt.Errorf("SSH to %s: %w", tg, err)
	}
}

var (
	errSessionNotOpened = errors.New("cannot open an SSH session")
	errClientClosed     = errors.New("SSH connection closed to end the session")
)

// remoteOutput is what a remote command printed and its exit status (-1: none).
type remoteOutput struct {
	stdout, stderr string
	exit           int
}

func (o remoteOutput) combined() string {
	s := strings.TrimSpace(strings.TrimSpace(o.stdout) + "\n" + strings.TrimSpace(o.stderr))
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > 2048 {
		s = strings.ToValidUTF8(s[:2048], "") + "…"
	}
	return s
}

// capBuffer keeps the first maxRemoteOutput bytes written to it and discards the rest.
type capBuffer struct{ b []byte }

func (c *capBuffer) Write(p []byte) (int, error) {
	if room := maxRemoteOutput - len(c.b); room > 0 {
		c.b = append(c.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (c *capBuffer) String() string { return string(c.b) }

// runRemote runs cmd in a new session on c. When ctx ends first it kills and closes
// the session and returns ctx's error; if the session does not end within
// sessionCloseGrace it closes c (errClientClosed). It never leaves a goroutine behind.
// A non-zero exit status is not an error: it is in the output.
func runRemote(ctx context.Context, c *ssh.Client, cmd string) (remoteOutput, error) {
	out := remoteOutput{exit: -1}
	if err := ctx.Err(); err != nil {
		return out, err
	}
	sess, err := c.NewSession()
	if err != nil {
		return out, fmt.Errorf("%w: %w", errSessionNotOpened, err)
	}
	defer sess.Close()
	var stdout, stderr capBuffer
	sess.Stdout, sess.Stderr = &stdout, &stderr
	if err := sess.Start(cmd); err != nil {
		return out, fmt.Errorf("starting the remote command: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = sess.Signal(ssh.SIGKILL) // OpenSSH 8.1+ honours it; the close below ends the session anyway
		_ = sess.Close()
		grace := time.NewTimer(sessionCloseGrace)
		defer grace.Stop()
		select {
		case <-done:
			return out, ctx.Err()
		case <-grace.C:
			c.Close() // closes every channel, so Wait returns
			<-done
			return out, fmt.Errorf("%w (%w)", ctx.Err(), errClientClosed)
		}
	}
	out.stdout, out.stderr = stdout.String(), stderr.String()
	var exitErr *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case err == nil:
		out.exit = 0
	case errors.As(err, &exitErr):
		out.exit = exitErr.ExitStatus()
	case errors.As(err, &missing):
	default:
		return out, fmt.Errorf("running the remote command: %w", err)
	}
	return out, nil
}
