package steps

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/milink/milink/sqlops"
)

// Errors an SSHProber's connection can fail with, for errors.Is. The error's own text
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

// SSHProber runs the SQL Server → managed instance probes on the SQL Server host over
// SSH, for a SQL Server on Linux when milink runs elsewhere. It keeps one connection,
// dialed on first use and shared by every probe, and runs one bash command per probe,
// built only from validated values. The host key is always checked against the known
// hosts file; ~/.ssh/config is not read. Use a pointer; NewSSHProber fills the
// defaults that a zero value cannot express (the ssh-agent).
type SSHProber struct {
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

// NewSSHProber returns an SSHProber for addr that uses the ssh-agent when SSH_AUTH_SOCK
// is set.
func NewSSHProber(addr string) *SSHProber {
	return &SSHProber{Addr: addr, UseAgent: os.Getenv("SSH_AUTH_SOCK") != ""}
}

// Validate checks Addr (and that a user is known) without connecting.
func (s *SSHProber) Validate() error {
	_, err := s.target()
	return err
}

// Probe runs one TCP probe of t on the SQL Server host and classifies it as NetProber
// does. An invalid target is not sent; an SSH failure gives VerdictFailed with the
// explanation in Detail. Probe does not redial after a failed connection (each probe
// would wait for the same failure): Check or Close resets that.
func (s *SSHProber) Probe(ctx context.Context, t sqlops.ProbeTarget) (pr ProbeResult) {
	start := time.Now()
	pr = ProbeResult{Step: t.Label, Host: t.Host, Port: t.Port}
	defer func() { pr.Duration = time.Since(start) }()
	cmd, err := sshProbeCommand(t)
	if err != nil {
		pr.Verdict, pr.Detail = sqlops.VerdictFailed, "not probed: "+err.Error()
		return pr
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
func (s *SSHProber) Check(ctx context.Context) error {
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
func (s *SSHProber) Close() error {
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

func (s *SSHProber) dialTimeout() time.Duration {
	if s.DialTimeout > 0 {
		return s.DialTimeout
	}
	return defaultSSHDialTimeout
}

// connect returns the shared connection, dialing it if needed. After a failure it
// returns the same error again unless retry is set.
func (s *SSHProber) connect(ctx context.Context, retry bool) (*ssh.Client, error) {
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
func (s *SSHProber) drop(c *ssh.Client) {
	s.mu.Lock()
	if s.client == c {
		s.client = nil
	}
	s.mu.Unlock()
	c.Close()
}

// run runs cmd on the shared connection within limit, reconnecting once when the
// connection turns out to be dead.
func (s *SSHProber) run(ctx context.Context, cmd string, limit time.Duration) (remoteOutput, error) {
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

// Markers the remote commands print on stdout.
const (
	markRC      = "milink-rc="
	markAddr    = "milink-addr="
	markMissing = "milink-missing="
	markResolve = "milink-resolve="
	markBash    = "milink-bash="
)

// sshCheckCommand checks that the host has bash and timeout.
const sshCheckCommand = `bash -c 'command -v timeout >/dev/null 2>&1 || echo ` + markMissing + `timeout; echo "` + markBash + `$BASH_VERSION"'`

// sshProbeCommand is the one remote command that probes t: in bash, under LC_ALL=C,
// resolve a name with getent (for RemoteAddress) and connect with bash's /dev/tcp,
// each bounded by timeout(1), then print the markers classifySSHProbe reads. It is
// built only from t's validated host, port and timeout.
func sshProbeCommand(t sqlops.ProbeTarget) (string, error) {
	if err := sqlops.ValidateHost(t.Host); err != nil {
		return "", fmt.Errorf("probe %s: %w", t.Label, err)
	}
	if err := sqlops.ValidatePort(t.Port); err != nil {
		return "", fmt.Errorf("probe %s: %w", t.Label, err)
	}
	if t.Timeout < 100*time.Millisecond || t.Timeout > 10*time.Minute {
		return "", fmt.Errorf("probe %s: %w: timeout %s is outside 100ms-10m", t.Label, sqlops.ErrInvalidInput, t.Timeout)
	}
	// Defence in depth: ValidateHost admits only these characters.
	if strings.IndexFunc(t.Host, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == ':')
	}) >= 0 {
		return "", fmt.Errorf("probe %s: %w: host %q has a character that is not allowed in a shell command", t.Label, sqlops.ErrInvalidInput, t.Host)
	}
	secs := strconv.FormatFloat(t.Timeout.Round(time.Millisecond).Seconds(), 'f', -1, 64)
	port := strconv.Itoa(t.Port)
	var b strings.Builder
	b.WriteString(`bash -c 'export LC_ALL=C; `)
	b.WriteString(`command -v timeout >/dev/null 2>&1 || { echo ` + markMissing + `timeout; exit 0; }; `)
	if _, err := netip.ParseAddr(t.Host); err != nil {
		b.WriteString(`a=$(timeout ` + secs + ` getent ahosts ` + t.Host + ` 2>/dev/null); `)
		b.WriteString(`[ $? -eq 124 ] && { echo ` + markResolve + `timeout; exit 0; }; `)
		b.WriteString(`echo "` + markAddr + `${a%%[[:space:]]*}"; `)
	}
	b.WriteString(`timeout ` + secs + ` bash -c "</dev/tcp/` + t.Host + `/` + port + `"; echo "` + markRC + `$?"'`)
	return b.String(), nil
}

// markerValue returns the value of the last stdout line "<marker><value>".
func markerValue(stdout, marker string) (string, bool) {
	val, ok := "", false
	for _, line := range strings.Split(stdout, "\n") {
		line = strings.TrimSpace(line)
		if v, found := strings.CutPrefix(line, marker); found {
			val, ok = v, true
		}
	}
	return val, ok
}

var dnsFailures = []string{"name or service not known", "temporary failure in name resolution", "no address associated", "servname not supported", "nodename nor servname"}

// classifySSHProbe reads the output of sshProbeCommand: stdout, stderr and the exit
// status of the session (-1: none). It returns the verdict, a one-line detail and the
// resolved address, if any. It accepts any input.
func classifySSHProbe(stdout, stderr string, exit int, timeout time.Duration) (sqlops.ProbeVerdict, string, string) {
	var addr string
	if a, ok := markerValue(stdout, markAddr); ok {
		if ip, err := netip.ParseAddr(a); err == nil {
			addr = ip.String()
		}
	}
	timedOut := "timed out"
	if timeout > 0 {
		timedOut += " after " + timeout.String()
	}
	if m, ok := markerValue(stdout, markMissing); ok {
		return sqlops.VerdictFailed, missingToolDetail(m), addr
	}
	rcText, ok := markerValue(stdout, markRC)
	rc, err := strconv.Atoi(rcText)
	if !ok || err != nil {
		if r, ok := markerValue(stdout, markResolve); ok && r == "timeout" {
			return sqlops.VerdictTimeout, timedOut + " resolving the name on the SQL Server host", addr
		}
		if noBash(stderr, exit) {
			return sqlops.VerdictFailed, missingToolDetail("bash"), addr
		}
		d := "the probe command on the SQL Server host printed no result"
		if exit >= 0 {
			d += " (exit status " + strconv.Itoa(exit) + ")"
		}
		if line := lastLine(stderr); line != "" {
			d += ": " + line
		}
		return sqlops.VerdictFailed, cleanDetail(d), addr
	}
	lower := strings.ToLower(stderr)
	switch {
	case rc == 0:
		return sqlops.VerdictConnected, "connected", addr
	case rc == 124:
		return sqlops.VerdictTimeout, timedOut, addr
	case strings.Contains(lower, "connection refused"):
		return sqlops.VerdictRefused, "connection refused", addr
	}
	for _, f := range dnsFailures {
		if strings.Contains(lower, f) {
			d := lineWith(stderr, f)
			if d == "" {
				d = "the name did not resolve on the SQL Server host"
			}
			return sqlops.VerdictDNS, d, addr
		}
	}
	switch {
	case strings.Contains(lower, "no route to host"):
		return sqlops.VerdictFailed, "no route to host", addr
	case strings.Contains(lower, "network is unreachable"):
		return sqlops.VerdictFailed, "network is unreachable", addr
	case rc == 125 || rc == 126 || rc == 127:
		d := "timeout(1) or bash could not run the probe (status " + strconv.Itoa(rc) + ")"
		if line := lastLine(stderr); line != "" {
			d += ": " + line
		}
		return sqlops.VerdictFailed, cleanDetail(d), addr
	}
	d := lineWith(stderr, "/dev/tcp")
	if d == "" {
		d = lineWith(stderr, "connect:")
	}
	if d == "" {
		d = lastLine(stderr)
	}
	if d == "" {
		d = "connect failed (status " + strconv.Itoa(rc) + ")"
	}
	return sqlops.VerdictFailed, cleanDetail(d), addr
}

func missingToolDetail(tool string) string {
	switch tool {
	case "bash":
		return "the SQL Server host has no bash for the SSH user: milink's probe needs bash and timeout there (or use --probe-from manual)"
	case "timeout":
		return "the SQL Server host has no timeout command (GNU coreutils): install coreutils there (or use --probe-from manual)"
	}
	return cleanDetail("the SQL Server host lacks " + tool + ", which milink's probe needs")
}

// noBash reports whether the login shell could not find bash.
func noBash(stderr string, exit int) bool {
	l := strings.ToLower(stderr)
	return exit == 127 || strings.Contains(l, "bash: command not found") || strings.Contains(l, "bash: not found") ||
		strings.Contains(l, "unknown command: bash") || strings.Contains(l, "bash: no such file")
}

// lineWith returns the first line of s containing sub (case-insensitively), cleaned
// and without a leading "bash: ", or "".
func lineWith(s, sub string) string {
	sub = strings.ToLower(sub)
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(strings.ToLower(line), sub) {
			if l := cleanDetail(trimBashPrefix(line)); l != "" {
				return l
			}
		}
	}
	return ""
}

// lastLine returns the last line of s with something to show, cleaned and without a
// leading "bash: ", or "".
func lastLine(s string) string {
	lines := strings.Split(s, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := cleanDetail(trimBashPrefix(lines[i])); l != "" {
			return l
		}
	}
	return ""
}

func trimBashPrefix(line string) string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(line, "bash: ")
	if rest, ok := strings.CutPrefix(line, "line "); ok {
		if i := strings.Index(rest, ": "); i > 0 && strings.Trim(rest[:i], "0123456789") == "" {
			line = rest[i+2:]
		}
	}
	return strings.TrimSpace(line)
}

// cleanDetail makes remote text safe to show on one line: valid UTF-8, no control
// characters, at most maxDetailRunes runes.
func cleanDetail(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > maxDetailRunes {
		s = string(r[:maxDetailRunes-1]) + "…"
	}
	return s
}

// checkRemoteTools reads the output of sshCheckCommand.
func checkRemoteTools(tg sshTarget, out remoteOutput) error {
	if m, ok := markerValue(out.stdout, markMissing); ok {
		return &sshError{kind: ErrSSHRemoteTools, msg: "SSH to " + tg.String() + ": " + missingToolDetail(m)}
	}
	if _, ok := markerValue(out.stdout, markBash); !ok {
		if noBash(out.stderr, out.exit) {
			return &sshError{kind: ErrSSHRemoteTools, msg: "SSH to " + tg.String() + ": " + missingToolDetail("bash")}
		}
		msg := "SSH to " + tg.String() + ": the check command printed no result"
		if out.exit >= 0 {
			msg += " (exit status " + strconv.Itoa(out.exit) + ")"
		}
		if line := lastLine(out.stderr); line != "" {
			msg += ": " + cleanDetail(line)
		}
		return &sshError{kind: ErrSSHRemoteTools, msg: msg + ": is the user's login shell usable (not nologin)?"}
	}
	return nil
}

// sshError is a full explanation (msg) that also matches an ErrSSH* kind and the
// underlying error with errors.Is/As.
type sshError struct {
	kind error
	msg  string
	err  error
}

func (e *sshError) Error() string { return e.msg }

func (e *sshError) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.kind, e.err} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// sshTarget is where an SSHProber connects.
type sshTarget struct {
	user, host string
	port       int
}

func (t sshTarget) hostport() string { return net.JoinHostPort(t.host, strconv.Itoa(t.port)) }

func (t sshTarget) String() string { return t.user + "@" + t.hostport() }

// command is the ssh command line that reaches the target.
func (t sshTarget) command() string { return t.commandWith("ssh") }

// commandWith is tool (ssh, ssh-copy-id) with the port and user@host of the target.
func (t sshTarget) commandWith(tool string) string {
	c := tool + " "
	if t.port != 22 {
		c += "-p " + strconv.Itoa(t.port) + " "
	}
	return c + t.user + "@" + t.host
}

// parseSSHAddr splits host, host:port, [v6]:port or a bare IPv6 address, each with an
// optional "user@" in front.
func parseSSHAddr(addr string) (user, host string, port int, err error) {
	a := strings.TrimSpace(addr)
	if a == "" {
		return "", "", 0, fmt.Errorf("SSH host: %w: no SQL Server host to connect to", sqlops.ErrInvalidInput)
	}
	if i := strings.LastIndex(a, "@"); i >= 0 {
		user, a = a[:i], a[i+1:]
		if user == "" {
			return "", "", 0, fmt.Errorf("SSH host: %w: %q has an empty user before @", sqlops.ErrInvalidInput, addr)
		}
	}
	host, port = a, 22
	if h, p, err := net.SplitHostPort(a); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || sqlops.ValidatePort(n) != nil {
			return "", "", 0, fmt.Errorf("SSH host: %w: port %q of %q is not 1-65535", sqlops.ErrInvalidInput, p, addr)
		}
		host, port = h, n
	} else if strings.HasPrefix(a, "[") && strings.HasSuffix(a, "]") {
		host = a[1 : len(a)-1]
	}
	if err := sqlops.ValidateHost(host); err != nil {
		return "", "", 0, fmt.Errorf("SSH host: %w", err)
	}
	return user, host, port, nil
}

// target resolves Addr and User.
func (s *SSHProber) target() (sshTarget, error) {
	u, host, port, err := parseSSHAddr(s.Addr)
	if err != nil {
		return sshTarget{}, err
	}
	switch {
	case s.User != "":
		u = s.User
	case u != "":
	case os.Getenv("USER") != "":
		u = os.Getenv("USER")
	default:
		cur, err := user.Current()
		if err != nil {
			return sshTarget{}, fmt.Errorf("SSH user: not given, $USER is not set and the current user is unknown: %w", err)
		}
		u = cur.Username
	}
	return sshTarget{user: u, host: host, port: port}, nil
}

// tilde shows a path under the home directory as ~/...
func tilde(path string) string {
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		if rest, ok := strings.CutPrefix(path, home+string(filepath.Separator)); ok {
			return "~/" + filepath.ToSlash(rest)
		}
	}
	return path
}

// expandHome turns a leading ~/ into the home directory.
func expandHome(path string) string {
	if rest, ok := strings.CutPrefix(path, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return path
}

// knownHosts returns the host key callback and the name of the file to mention.
func (s *SSHProber) knownHosts(tg sshTarget) (ssh.HostKeyCallback, string, error) {
	var files []string
	if s.KnownHostsFile != "" {
		files = []string{expandHome(s.KnownHostsFile)}
	} else {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, "~/.ssh/known_hosts", fmt.Errorf("SSH to %s: no home directory for ~/.ssh/known_hosts: %w", tg, err)
		}
		for _, f := range []string{filepath.Join(home, ".ssh", "known_hosts"), "/etc/ssh/ssh_known_hosts"} {
			if _, err := os.Stat(f); err == nil {
				files = append(files, f)
			}
		}
		if len(files) == 0 {
			return nil, "~/.ssh/known_hosts", &sshError{kind: ErrSSHUnknownHost, err: fs.ErrNotExist,
				msg: fmt.Sprintf("SSH to %s: the SQL Server host's key is not in ~/.ssh/known_hosts (there is no such file): connect once with %s to check and accept it", tg, tg.command())}
		}
	}
	name := tilde(files[0])
	cb, err := knownhosts.New(files...)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, name, &sshError{kind: ErrSSHUnknownHost, err: err,
			msg: fmt.Sprintf("SSH to %s: the SQL Server host's key is not in %s (there is no such file): connect once with %s to check and accept it", tg, name, tg.command())}
	}
	if err != nil {
		return nil, name, fmt.Errorf("SSH to %s: reading the known hosts file %s: %w", tg, name, err)
	}
	return cb, name, nil
}

// hostKeyAlgorithms returns the algorithms of the keys known for the host, so that
// the server presents a key of a recorded type: knownhosts reports a key of another
// type as a mismatch, which would look like a changed key. nil: none known.
func hostKeyAlgorithms(cb ssh.HostKeyCallback, hostport string, remote net.Addr) []string {
	dummy, err := ssh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
	if err != nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if !errors.As(cb(hostport, remote, dummy), &ke) {
		return nil
	}
	var algs []string
	seen := map[string]bool{}
	for _, k := range ke.Want {
		typ := k.Key.Type()
		if seen[typ] {
			continue
		}
		seen[typ] = true
		if typ == ssh.KeyAlgoRSA {
			algs = append(algs, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		} else {
			algs = append(algs, typ)
		}
	}
	return algs
}

// sshAuth is what the client offers to authenticate.
type sshAuth struct {
	signers []ssh.Signer
	tried   []string // "ssh-agent ED25519 SHA256:..." or "~/.ssh/id_ed25519 (ED25519 SHA256:...)"
	notes   []string // keys skipped and why
	agent   net.Conn
}

func keyName(k ssh.PublicKey) string {
	typ := strings.ToUpper(strings.TrimPrefix(strings.SplitN(k.Type(), "-sha2-", 2)[0], "ssh-"))
	return typ + " " + ssh.FingerprintSHA256(k)
}

// auth gathers the agent's keys and the key files.
func (s *SSHProber) auth(ctx context.Context) sshAuth {
	var a sshAuth
	seen := map[string]bool{}
	add := func(sg ssh.Signer, desc string) {
		k := string(sg.PublicKey().Marshal())
		if seen[k] {
			return
		}
		seen[k] = true
		a.signers = append(a.signers, sg)
		a.tried = append(a.tried, desc)
	}
	if s.UseAgent {
		sock := os.Getenv("SSH_AUTH_SOCK")
		if sock == "" {
			a.notes = append(a.notes, "ssh-agent not used: SSH_AUTH_SOCK is not set")
		} else {
			var d net.Dialer
			conn, err := d.DialContext(ctx, "unix", sock)
			if err != nil {
				a.notes = append(a.notes, "ssh-agent at $SSH_AUTH_SOCK not reachable: "+err.Error())
			} else {
				a.agent = conn
				signers, err := agent.NewClient(conn).Signers()
				if err != nil {
					a.notes = append(a.notes, "ssh-agent keys not listed: "+err.Error())
				}
				if err == nil && len(signers) == 0 {
					a.notes = append(a.notes, "ssh-agent holds no keys")
				}
				for _, sg := range signers {
					add(sg, "ssh-agent "+keyName(sg.PublicKey()))
				}
			}
		}
	}
	files, explicit := s.KeyFiles, len(s.KeyFiles) > 0
	if !explicit {
		if home, err := os.UserHomeDir(); err == nil {
			for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
				files = append(files, filepath.Join(home, ".ssh", n))
			}
		}
	}
	found := false
	for _, f := range files {
		f = expandHome(f)
		data, err := os.ReadFile(f)
		if err != nil {
			if explicit || !errors.Is(err, fs.ErrNotExist) {
				a.notes = append(a.notes, "key "+tilde(f)+" not read: "+err.Error())
			}
			continue
		}
		found = true
		sg, err := ssh.ParsePrivateKey(data)
		var pm *ssh.PassphraseMissingError
		if errors.As(err, &pm) {
			if pm.PublicKey != nil && seen[string(pm.PublicKey.Marshal())] {
				continue // ssh-agent offers it already
			}
			a.notes = append(a.notes, fmt.Sprintf("%s is protected by a passphrase and not loaded in ssh-agent: skipped (load it with ssh-add %s)", tilde(f), tilde(f)))
			continue
		}
		if err != nil {
			a.notes = append(a.notes, "key "+tilde(f)+" not usable: "+err.Error())
			continue
		}
		add(sg, tilde(f)+" ("+keyName(sg.PublicKey())+")")
	}
	if !explicit && !found {
		a.notes = append(a.notes, "no key in ~/.ssh (id_ed25519, id_ecdsa, id_rsa)")
	}
	return a
}

func (a sshAuth) close() {
	if a.agent != nil {
		a.agent.Close()
	}
}

func (a sshAuth) notesText() string {
	if len(a.notes) == 0 {
		return ""
	}
	return " Notes: " + strings.Join(a.notes, "; ") + "."
}

// dial connects, checks the host key and authenticates, within DialTimeout and ctx.
func (s *SSHProber) dial(ctx context.Context) (*ssh.Client, error) {
	tg, err := s.target()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("SSH to %s: canceled: %w", tg, err)
	}
	timeout := s.dialTimeout()
	hostKeys, khName, err := s.knownHosts(tg)
	if err != nil {
		return nil, err
	}
	a := s.auth(ctx)
	defer a.close()
	if len(a.signers) == 0 {
		return nil, &sshError{kind: ErrSSHAuth,
			msg: fmt.Sprintf("SSH to %s: no key to authenticate with (milink uses public keys, not passwords).%s Create one with ssh-keygen and install it with %s, or give a key file.", tg, a.notesText(), tg.commandWith("ssh-copy-id"))}
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", tg.hostport())
	if err != nil {
		return nil, dialError(ctx, tg, timeout, err)
	}
	// What the host presented, for the error message (the callback runs on the
	// handshake's goroutine).
	var seenMu sync.Mutex
	var presented ssh.PublicKey
	var hostKeyErr error
	cfg := &ssh.ClientConfig{
		User: tg.user,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(a.signers...)},
		HostKeyCallback: func(h string, r net.Addr, k ssh.PublicKey) error {
			err := hostKeys(h, r, k)
			seenMu.Lock()
			presented, hostKeyErr = k, err
			seenMu.Unlock()
			return err
		},
		HostKeyAlgorithms: hostKeyAlgorithms(hostKeys, tg.hostport(), conn.RemoteAddr()),
	}
	_ = conn.SetDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	c, chans, reqs, err := ssh.NewClientConn(conn, tg.hostport(), cfg)
	if !stop() || ctx.Err() != nil {
		conn.Close()
		if c != nil {
			c.Close()
		}
		return nil, fmt.Errorf("SSH to %s: canceled: %w", tg, context.Cause(ctx))
	}
	if err != nil {
		conn.Close()
		seenMu.Lock()
		defer seenMu.Unlock()
		return nil, handshakeError(tg, khName, timeout, presented, hostKeyErr, a, err)
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

func dialError(ctx context.Context, tg sshTarget, timeout time.Duration, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("SSH to %s: canceled: %w", tg, err)
	}
	var dnsErr *net.DNSError
	var ne net.Error
	msg := fmt.Sprintf("SSH to %s: cannot connect: %v", tg, err)
	switch {
	case errors.As(err, &dnsErr):
		msg = fmt.Sprintf("SSH to %s: the name %s does not resolve on this machine: %v", tg, tg.host, err)
	case errors.Is(err, syscall.ECONNREFUSED):
		msg = fmt.Sprintf("SSH to %s: connection refused: is sshd running on the SQL Server host, and is %d its port?", tg, tg.port)
	case errors.As(err, &ne) && ne.Timeout():
		msg = fmt.Sprintf("SSH to %s: no answer within %s: is the host up, and does a firewall let this machine reach port %d?", tg, timeout, tg.port)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		msg = fmt.Sprintf("SSH to %s: no route to the host from this machine", tg)
	}
	return &sshError{kind: ErrSSHUnreachable, msg: msg, err: err}
}

func handshakeError(tg sshTarget, khName string, timeout time.Duration, presented ssh.PublicKey, hostKeyErr error, a sshAuth, err error) error {
	var ke *knownhosts.KeyError
	var re *knownhosts.RevokedError
	var ne net.Error
	shown := ""
	if presented != nil {
		shown = keyName(presented)
	}
	switch {
	case errors.As(hostKeyErr, &re):
		return &sshError{kind: ErrSSHHostKeyChanged, err: err,
			msg: fmt.Sprintf("SSH to %s: the SQL Server host presented key %s, which is marked @revoked in %s:%d: milink does not connect to it", tg, shown, tilde(re.Revoked.Filename), re.Revoked.Line)}
	case errors.As(hostKeyErr, &ke) && len(ke.Want) == 0:
		return &sshError{kind: ErrSSHUnknownHost, err: err,
			msg: fmt.Sprintf("SSH to %s: the SQL Server host's key is not in %s: connect once with %s to check and accept it (it presented %s)", tg, khName, tg.command(), shown)}
	case errors.As(hostKeyErr, &ke):
		w := ke.Want[0]
		return &sshError{kind: ErrSSHHostKeyChanged, err: err,
			msg: fmt.Sprintf("SSH to %s: the SQL Server host's key has CHANGED: it presented %s, but %s:%d records %s. This can be a man-in-the-middle attack (or the host was reinstalled): milink does not continue. Check the new key with the host's administrator, then remove the old one with ssh-keygen -R %s and connect once with %s.",
				tg, shown, tilde(w.Filename), w.Line, keyName(w.Key), knownhosts.Normalize(tg.hostport()), tg.command())}
	case hostKeyErr != nil:
		return &sshError{kind: ErrSSHHostKeyChanged, err: err,
			msg: fmt.Sprintf("SSH to %s: the SQL Server host's key %s was not accepted: %v", tg, shown, hostKeyErr)}
	case strings.Contains(err.Error(), "unable to authenticate"):
		return &sshError{kind: ErrSSHAuth, err: err,
			msg: fmt.Sprintf("SSH to %s: authentication failed: the host accepted none of the public keys tried: %s.%s Add one of them to ~%s/.ssh/authorized_keys on the SQL Server host (%s), or choose another user or key.",
				tg, strings.Join(a.tried, ", "), a.notesText(), tg.user, tg.commandWith("ssh-copy-id"))}
	case errors.As(err, &ne) && ne.Timeout():
		return &sshError{kind: ErrSSHUnreachable, err: err,
			msg: fmt.Sprintf("SSH to %s: the SSH handshake did not finish within %s: is %d an SSH port?", tg, timeout, tg.port)}
	}
	return &sshError{kind: ErrSSHUnreachable, err: err, msg: fmt.Sprintf("SSH to %s: handshake failed: %v", tg, err)}
}
