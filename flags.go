package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/pflag"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps"
)

// connFlags are the flags of one connection.
type connFlags struct {
	prefix, role  string
	server        string
	port          int
	user          string
	passwordStdin bool
	encrypt       string
	trust         bool
	caCert        string
	hostInCert    string
	dialTimeout   time.Duration
	loginTimeout  time.Duration
}

func (c *connFlags) register(fs *pflag.FlagSet) {
	p := c.prefix
	fs.StringVar(&c.server, p+"-server", "", c.role+" host name or IP address")
	fs.IntVar(&c.port, p+"-port", 1433, c.role+" TCP port")
	fs.StringVar(&c.user, p+"-user", "", c.role+" SQL login")
	fs.BoolVar(&c.passwordStdin, p+"-password-stdin", false, "read the "+c.role+" password from standard input (else MILINK_"+strings.ToUpper(p)+"_PASSWORD, else a prompt)")
	fs.StringVar(&c.encrypt, p+"-encrypt", sqlops.EncryptTrue, "TLS for the "+c.role+" connection: true, strict, false (login only) or disable")
	fs.BoolVar(&c.trust, p+"-trust-server-certificate", false, "do not verify the "+c.role+"'s TLS certificate (reported as a warning)")
	fs.StringVar(&c.caCert, p+"-ca-cert", "", "PEM file with the CA or certificate to trust for the "+c.role)
	fs.StringVar(&c.hostInCert, p+"-hostname-in-certificate", "", "host name expected in the "+c.role+"'s certificate")
	fs.DurationVar(&c.dialTimeout, p+"-dial-timeout", 15*time.Second, "TCP connect timeout for the "+c.role)
	fs.DurationVar(&c.loginTimeout, p+"-login-timeout", 30*time.Second, "login timeout for the "+c.role)
}

func (c *connFlags) config(password string) sqlops.ConnConfig {
	return sqlops.ConnConfig{Role: c.role, Host: c.server, Port: c.port, User: c.user, Password: password,
		Encrypt: c.encrypt, TrustServerCertificate: c.trust, CACertFile: c.caCert, HostNameInCertificate: c.hostInCert,
		DialTimeout: c.dialTimeout, LoginTimeout: c.loginTimeout}
}

// applyEnvAndConfig fills every flag not given on the command line from MILINK_<FLAG>
// and then from the JSON config file (keys are flag names). Passwords are refused in
// the config file.
func (a *app) applyEnvAndConfig(fs *pflag.FlagSet, configPath string) error {
	cfg := map[string]any{}
	if configPath != "" {
		data, err := os.ReadFile(configPath)
		if err != nil {
			return usageError{fmt.Errorf("config file: %w", err)}
		}
		if err := json.Unmarshal(data, &cfg); err != nil {
			return usageError{fmt.Errorf("config file %s: %w", configPath, err)}
		}
		for k := range cfg {
			if strings.Contains(strings.ToLower(k), "password") {
				return usageError{fmt.Errorf("config file %s: %q: passwords are not accepted in files; use MILINK_SQL_PASSWORD / MILINK_MI_PASSWORD, --*-password-stdin or the prompt", configPath, k)}
			}
			if fs.Lookup(k) == nil {
				return usageError{fmt.Errorf("config file %s: unknown setting %q", configPath, k)}
			}
		}
	}
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "config" || strings.HasSuffix(f.Name, "password-stdin") {
			return
		}
		env := "MILINK_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := a.getenv(env); v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = usageError{fmt.Errorf("%s=%q: %w", env, v, e)}
			}
			return
		}
		if v, ok := cfg[f.Name]; ok {
			var s string
			switch x := v.(type) {
			case string:
				s = x
			case []any:
				for _, item := range x {
					if e := fs.Set(f.Name, fmt.Sprint(item)); e != nil {
						err = usageError{fmt.Errorf("config %s: %w", f.Name, e)}
						return
					}
				}
				return
			default:
				s = fmt.Sprint(x)
			}
			if e := fs.Set(f.Name, s); e != nil {
				err = usageError{fmt.Errorf("config %s=%q: %w", f.Name, s, e)}
			}
		}
	})
	return err
}

// registerSSH adds the flags that reach a Linux SQL Server host over SSH.
func registerSSH(fs *pflag.FlagSet, s *steps.SSHConfig) {
	fs.StringVar(&s.Host, "ssh", "", "run the SQL Server → MI probes on the SQL Server host over SSH: [user@]host[:port] (SQL Server on Linux)")
	fs.StringVar(&s.User, "ssh-user", "", "SSH user (default: from --ssh, else $USER)")
	fs.StringSliceVar(&s.Keys, "ssh-key", nil, "SSH private key file (repeatable; default ~/.ssh/id_ed25519, id_ecdsa, id_rsa and ssh-agent)")
	fs.StringVar(&s.KnownHosts, "ssh-known-hosts", "", "known_hosts file (default ~/.ssh/known_hosts); host keys are always checked")
	fs.BoolVar(&s.NoAgent, "ssh-no-agent", false, "do not use ssh-agent ($SSH_AUTH_SOCK)")
	fs.DurationVar(&s.Timeout, "ssh-timeout", 10*time.Second, "SSH connect timeout")
}

// checkNumbers rejects ports and durations that are zero or negative and list flags
// given empty: their zero values would silently mean "the default".
func checkNumbers(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil {
			return
		}
		switch f.Value.Type() {
		case "int":
			if strings.HasSuffix(f.Name, "port") && (f.Value.String() == "0" || strings.HasPrefix(f.Value.String(), "-")) {
				err = usageError{fmt.Errorf("--%s must be a TCP port (1-65535), not %s", f.Name, f.Value.String())}
			}
		case "duration":
			if d, e := time.ParseDuration(f.Value.String()); e == nil && d <= 0 {
				err = usageError{fmt.Errorf("--%s must be positive, not %s", f.Name, f.Value.String())}
			}
		case "stringSlice":
			if f.Changed && f.Value.String() == "[]" {
				err = usageError{fmt.Errorf("--%s was given an empty value", f.Name)}
			}
		}
	})
	return err
}

// passwords reads the passwords of the connections that need one: from stdin (one line
// each, in order) for --*-password-stdin, else MILINK_*_PASSWORD, else a prompt without
// echo on a terminal.
func (a *app) passwords(conns ...*connFlags) ([]string, error) {
	out := make([]string, len(conns))
	var reader *bufio.Reader
	for i, c := range conns {
		env := "MILINK_" + strings.ToUpper(c.prefix) + "_PASSWORD"
		switch {
		case c.passwordStdin:
			if reader == nil {
				reader = bufio.NewReader(a.stdin)
			}
			line, err := reader.ReadString('\n')
			if err != nil && line == "" {
				return nil, usageError{fmt.Errorf("--%s-password-stdin: no password on standard input", c.prefix)}
			}
			out[i] = strings.TrimRight(line, "\r\n")
		case a.getenv(env) != "":
			out[i] = a.getenv(env)
		default:
			f, ok := a.stdin.(*os.File)
			if !ok || !a.isTTY(int(f.Fd())) {
				return nil, usageError{fmt.Errorf("no password for the %s: set %s, use --%s-password-stdin, or run on a terminal to be prompted", c.role, env, c.prefix)}
			}
			fmt.Fprintf(a.stderr, "Password for %s@%s: ", c.user, c.server)
			b, err := term.ReadPassword(f.Fd())
			fmt.Fprintln(a.stderr)
			if err != nil {
				return nil, fmt.Errorf("read password: %w", err)
			}
			out[i] = string(b)
		}
	}
	return out, nil
}
