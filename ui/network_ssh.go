package ui

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/milink/milink/steps"
)

// The Network Options fields shown when the SQL Server → MI probes run over SSH.
const (
	nfSSHHost = iota + nfProbeFrom + 1
	nfSSHUser
	nfSSHPort
	nfSSHKey
	nfSSHKnownHosts
)

// sshFields are the SSH fields of the Network Options form, pre-filled from cfg.SSH
// (whose Host may be [user@]host[:port]); the host defaults to the SQL Server host
// (shown as the placeholder), the user to $USER.
func sshFields(c steps.SSHConfig) []field {
	user, host, port := splitSSHAddr(c.Host)
	if c.User != "" {
		user = c.User
	}
	if user == "" {
		user = os.Getenv("USER")
	}
	key := ""
	if len(c.Keys) > 0 {
		key = c.Keys[0]
	}
	return []field{
		newTextField("SSH host", host, "the SQL Server host", false),
		newTextField("SSH user", user, "login on the SQL Server host", false),
		newTextField("SSH port", port, "22", false),
		newTextField("SSH key file", key, "~/.ssh/id_ed25519, id_ecdsa, id_rsa, ssh-agent", false),
		newTextField("SSH known_hosts", c.KnownHosts, "~/.ssh/known_hosts", false),
	}
}

// splitSSHAddr splits [user@]host[:port] (an IPv6 host in brackets when a port follows).
func splitSSHAddr(addr string) (user, host, port string) {
	if i := strings.LastIndex(addr, "@"); i >= 0 {
		user, addr = addr[:i], addr[i+1:]
	}
	if h, p, err := net.SplitHostPort(addr); err == nil {
		return user, h, p
	}
	return user, strings.Trim(addr, "[]"), ""
}

// showSSH shows the SSH fields only when the probes run over SSH.
func showSSH(f *form) {
	ssh := f.fields[nfProbeFrom].value() == steps.ProbeSSH
	for i := nfSSHHost; i <= nfSSHKnownHosts; i++ {
		f.fields[i].hidden = !ssh
	}
}

// sshConfig is the SSH connection the fields describe (see buildSSHConfig).
func (p *networkModel) sshConfig() (steps.SSHConfig, error) {
	v := func(i int) string { return p.form.fields[i].value() }
	return buildSSHConfig(p.sshBase, p.sqlHost, v(nfSSHHost), v(nfSSHUser), v(nfSSHPort), v(nfSSHKey), v(nfSSHKnownHosts))
}

// buildSSHConfig is the SSH connection given by its fields (base keeps what is not
// asked: the agent and the timeout), validated without connecting. Host is
// user@host:port; an empty host is the SQL Server host, an empty port 22.
func buildSSHConfig(base steps.SSHConfig, sqlHost, host, user, port, key, knownHosts string) (steps.SSHConfig, error) {
	c := base
	host, port = orDefault(host, sqlHost), orDefault(port, "22")
	// Every bad field is named at once, each by its own label.
	var errs []error
	if host == "" {
		errs = append(errs, fmt.Errorf("SSH host: %w: give the SQL Server host's name or address", steps.ErrInvalidInput))
	}
	if user != "" {
		if err := steps.ValidateSSHUser(user); err != nil {
			errs = append(errs, err)
		}
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		errs = append(errs, fmt.Errorf("SSH port: %w: %q is not a port (1-65535)", steps.ErrInvalidInput, port))
	}
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}
	c.User = user
	c.Host = net.JoinHostPort(host, port)
	if user != "" {
		c.Host = user + "@" + c.Host
	}
	c.Keys = nil
	if key != "" {
		c.Keys = []string{key}
	}
	c.KnownHosts = knownHosts
	if err := c.Prober(sqlHost).Validate(); err != nil {
		return c, err
	}
	return c, nil
}
