package probe

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"net"
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

// sshTarget is where an SSH connects.
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

// ValidateSSHUser checks an SSH user name: 1-256 characters, letters, digits and
// . _ - @ \ $ only (no spaces, quotes, newlines or other control characters), so it can
// reach an ssh command line and the report as it is.
func ValidateSSHUser(u string) error {
	if u == "" || len(u) > 256 {
		return fmt.Errorf("SSH user: %w: a user name is 1-256 characters", sqlops.ErrInvalidInput)
	}
	for _, r := range u {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("._-@\\$", r):
		default:
			return fmt.Errorf("SSH user: %w: %q has %s; a user name has only letters, digits and . _ - @ \\ $",
				sqlops.ErrInvalidInput, u, describeRune(r))
		}
	}
	return nil
}

func describeRune(r rune) string {
	switch {
	case r == ' ':
		return "a space"
	case unicode.IsControl(r):
		return fmt.Sprintf("a control character (%U)", r)
	}
	return fmt.Sprintf("the character %q", r)
}

// target resolves Addr and User.
func (s *SSH) target() (sshTarget, error) {
	u, host, port, err := parseSSHAddr(s.Addr)
	if err != nil {
		return sshTarget{}, err
	}
	if u != "" {
		if err := ValidateSSHUser(u); err != nil {
			return sshTarget{}, fmt.Errorf("SSH host: the user part of %q: %w", s.Addr, err)
		}
	}
	switch {
	case s.User != "":
		u = s.User
		if err := ValidateSSHUser(u); err != nil {
			return sshTarget{}, err
		}
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
func (s *SSH) knownHosts(tg sshTarget) (ssh.HostKeyCallback, string, error) {
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
func (s *SSH) auth(ctx context.Context) sshAuth {
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
func (s *SSH) dial(ctx context.Context) (*ssh.Client, error) {
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
