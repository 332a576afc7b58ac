package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/pflag"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps"
	"github.com/milink/milink/steps/probe"
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
	tlsMin        string
	certSHA256    string
	firstUse      bool
	// Windows authentication (SQL Server only): --sql-auth and the Kerberos settings.
	auth, krb5Keytab, krb5Conf, krb5CCache, spn string
	fs                                          *pflag.FlagSet // where register put the flags, to tell a given port from the default
}

func (c *connFlags) register(fs *pflag.FlagSet) {
	p := c.prefix
	c.fs = fs
	fs.StringVar(&c.server, p+"-server", "", c.role+` address: host, host\INSTANCE (port from SQL Browser, UDP 1434), host,port or tcp:host,port`)
	fs.Var(newPortValue(&c.port, 1433), p+"-port", c.role+" TCP port")
	if p == "sql" {
		fs.StringVar(&c.user, p+"-user", "", c.role+` login: a SQL login, or with --sql-auth windows/ntlm DOMAIN\user (kerberos with a keytab: user or user@REALM)`)
		fs.StringVar(&c.auth, p+"-auth", sqlops.AuthSQL, "how to sign in to the "+c.role+": sql (SQL Server authentication), windows (Windows authentication: Kerberos with the ticket cache of kinit or --sql-krb5-keytab, else NTLM), kerberos or ntlm (DOMAIN\\user and the domain password)")
		fs.StringVar(&c.krb5Keytab, p+"-krb5-keytab", "", "Kerberos: keytab file of --sql-user, used instead of the ticket cache")
		fs.StringVar(&c.krb5CCache, p+"-krb5-ccache", "", "Kerberos: ticket cache file (default $KRB5CCNAME, else /tmp/krb5cc_<uid>)")
		fs.StringVar(&c.krb5Conf, p+"-krb5-conf", "", "Kerberos: krb5.conf with the realm's KDCs (default $KRB5_CONFIG, else /etc/krb5.conf)")
		fs.StringVar(&c.spn, p+"-spn", "", `Kerberos: the SQL Server's service principal name (default MSSQLSvc/<host>:<port>, MSSQLSvc/<host>:<INSTANCE> for host\INSTANCE)`)
	} else {
		fs.StringVar(&c.user, p+"-user", "", c.role+" SQL login")
	}
	fs.Var(&switchValue{on: &c.passwordStdin}, p+"-password-stdin", "read the "+c.role+" password from standard input (else MILINK_"+strings.ToUpper(p)+"_PASSWORD, else a prompt)")
	fs.Lookup(p + "-password-stdin").NoOptDefVal = "true"
	fs.StringVar(&c.encrypt, p+"-encrypt", sqlops.EncryptTrue, "TLS for the "+c.role+" connection: true, strict, false (login only) or disable")
	fs.BoolVar(&c.trust, p+"-trust-server-certificate", false, "do not verify the "+c.role+"'s TLS certificate (reported as a warning)")
	fs.StringVar(&c.caCert, p+"-ca-cert", "", "PEM file with the CA or certificate to trust for the "+c.role)
	fs.StringVar(&c.hostInCert, p+"-hostname-in-certificate", "", "host name expected in the "+c.role+"'s certificate")
	fs.StringVar(&c.tlsMin, p+"-tls-min", "", "lowest TLS version for the "+c.role+": 1.2 (the default) or 1.3; 1.0 or 1.1 only for an old server, knowingly (reported as a warning)")
	fs.StringVar(&c.certSHA256, p+"-cert-sha256", "", "pin the "+c.role+"'s TLS certificate: its SHA-256 fingerprint in hex (replaces CA and host name checks)")
	fs.BoolVar(&c.firstUse, p+"-trust-cert-on-first-use", false, "trust the "+c.role+"'s certificate the first time and remember its fingerprint in $XDG_STATE_HOME/milink/known_servers; later connects must present the same")
	fs.DurationVar(&c.dialTimeout, p+"-dial-timeout", 15*time.Second, "TCP connect timeout for the "+c.role)
	fs.DurationVar(&c.loginTimeout, p+"-login-timeout", 30*time.Second, "login timeout for the "+c.role)
}

func (c *connFlags) config(password string) sqlops.ConnConfig {
	port := c.port
	if c.fs != nil && c.fs.Lookup(c.prefix+"-port") != nil && !c.fs.Lookup(c.prefix+"-port").Changed {
		port = 0 // the default: the port in --*-server, SQL Browser's, else 1433
	}
	return sqlops.ConnConfig{Role: c.role, Host: c.server, Port: port, User: c.user, Password: password,
		Encrypt: c.encrypt, TrustServerCertificate: c.trust, CACertFile: c.caCert, HostNameInCertificate: c.hostInCert,
		DialTimeout: c.dialTimeout, LoginTimeout: c.loginTimeout, TLSMin: c.tlsMin, CertSHA256: c.certSHA256, TrustOnFirstUse: c.firstUse,
		Auth: c.auth, Krb5Keytab: c.krb5Keytab, Krb5Conf: c.krb5Conf, Krb5CCache: c.krb5CCache, SPN: c.spn}
}

// stepsConfig is the run's configuration from the check flags: no passwords, no Azure
// checks.
func (f *checkFlags) stepsConfig() steps.Config {
	return steps.Config{SQLServer: f.sql.config(""), MI: f.mi.config(""), SQLServerIP: f.sqlIP, EndpointPort: f.endpointPort,
		ProbeTimeout: f.probeTimeout, JobTimeout: f.jobTimeout, Databases: f.databases, ProbeFrom: f.probeFrom, SSH: f.ssh}
}

// needsPassword reports whether the connection signs in with a password: every method
// but Kerberos, which uses the ticket cache or a keytab.
func (c *connFlags) needsPassword() bool {
	return c.config("").EffectiveAuth() != sqlops.AuthKerberos
}

// applyEnvAndConfig fills every flag not given on the command line from MILINK_<FLAG>
// and then from the JSON config file (keys are flag names). Passwords are refused in
// the config file.
func (a *app) applyEnvAndConfig(fs *pflag.FlagSet, configPath string) error {
	cfg := map[string]any{}
	if configPath != "" {
		data, err := readCapped("config", configPath, maxConfigSize)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(data, &cfg); err != nil {
			return usageError{fmt.Errorf("config file %s: %w", configPath, err)}
		}
		for k := range cfg {
			if strings.Contains(strings.ToLower(k), "password") {
				return usageError{fmt.Errorf("config file %s: %q: passwords are not accepted in files; use MILINK_SQL_PASSWORD / MILINK_MI_PASSWORD, --*-password-stdin or the prompt", configPath, k)}
			}
			if fs.Lookup(k) == nil || inventoryFlag(k) {
				return usageError{fmt.Errorf("config file %s: unknown setting %q", configPath, k)}
			}
		}
	}
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "config" || strings.HasSuffix(f.Name, "password-stdin") || inventoryFlag(f.Name) {
			return
		}
		env := "MILINK_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := a.getenv(env); v != "" {
			a.setSource(f.Name, env)
			if e := fs.Set(f.Name, v); e != nil {
				err = usageError{fmt.Errorf("%s=%q (--%s): %w", env, v, f.Name, e)}
			}
			return
		}
		if v, ok := cfg[f.Name]; ok {
			a.setSource(f.Name, "--config "+configPath)
			var s string
			switch x := v.(type) {
			case string:
				s = x
			case []any:
				for _, item := range x {
					if e := fs.Set(f.Name, fmt.Sprint(item)); e != nil {
						err = usageError{fmt.Errorf("--config %s: %q: %w", configPath, f.Name, e)}
						return
					}
				}
				return
			default:
				s = fmt.Sprint(x)
			}
			if e := fs.Set(f.Name, s); e != nil {
				err = usageError{fmt.Errorf("--config %s: %q=%q: %w", configPath, f.Name, s, e)}
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

// Size caps of the files and lines milink reads.
const (
	maxConfigSize   = 1 << 20 // --config
	maxProbeOutput  = 1 << 20 // --probe-output
	maxPasswordLine = 4096    // one password line on standard input
)

// flagErrors is the usage error for the problems steps.Config.Validate found, each
// on its own line and led by the flag that fixes it.
func flagErrors(err error) error {
	fes := steps.FieldErrors(err)
	if len(fes) == 0 {
		return usageError{err}
	}
	lines := make([]string, len(fes))
	for i, fe := range fes {
		switch {
		case fe.Flag == "run-id":
			lines[i] = fe.Error()
		case strings.HasSuffix(fe.Flag, "-password"):
			prefix := strings.TrimSuffix(fe.Flag, "-password")
			lines[i] = fmt.Sprintf("MILINK_%s_PASSWORD / --%s-password-stdin: %s", strings.ToUpper(prefix), prefix, fe.Error())
		default:
			lines[i] = "--" + fe.Flag + ": " + fe.Error()
		}
	}
	return usageError{errors.New(strings.Join(lines, "\nmilink: "))}
}

// checkSSHFlags validates --ssh and --ssh-user (a user with spaces or control
// characters would reach the report and the ssh command lines milink prints).
func checkSSHFlags(s steps.SSHConfig, sqlHost string) error {
	if s.User != "" {
		if err := probe.ValidateSSHUser(s.User); err != nil {
			return usageError{fmt.Errorf("--ssh-user: %w", err)}
		}
	}
	if s.Host != "" {
		if err := s.Prober(sqlHost).Validate(); err != nil {
			return usageError{fmt.Errorf("--ssh: %w", err)}
		}
	}
	return nil
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
				reader = bufio.NewReaderSize(a.stdin, maxPasswordLine)
			}
			line, err := reader.ReadSlice('\n')
			if errors.Is(err, bufio.ErrBufferFull) {
				return nil, usageError{fmt.Errorf("--%s-password-stdin: the line on standard input is longer than %d bytes", c.prefix, maxPasswordLine)}
			}
			if err != nil && len(line) == 0 {
				return nil, usageError{fmt.Errorf("--%s-password-stdin: no password on standard input", c.prefix)}
			}
			out[i] = strings.TrimRight(string(line), "\r\n")
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
