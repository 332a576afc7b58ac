package steps

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps/probe"
)

// Config is everything a run needs: the two connections and the network options.
type Config struct {
	SQLServer    sqlops.ConnConfig `json:"sql_server"`
	MI           sqlops.ConnConfig `json:"managed_instance"`
	SQLServerIP  string            `json:"sql_server_ip,omitempty"` // address the MI probes; "" = discover
	EndpointPort int               `json:"endpoint_port,omitempty"` // SQL Server endpoint port (default 5022)
	ProbeTimeout time.Duration     `json:"probe_timeout,omitempty"` // per TCP probe (default 5s)
	JobTimeout   time.Duration     `json:"job_timeout,omitempty"`   // per Agent job, from start to outcome (default 2m)
	Databases    []string          `json:"databases,omitempty"`     // databases to check for the link ("" = all user databases)
	ProbeFrom    string            `json:"probe_from,omitempty"`    // where SQL Server → MI probes run: auto, agent, local, manual
	RunID        string            `json:"run_id,omitempty"`
	Poll         sqlops.PollPolicy `json:"-"`
	Azure        AzureChecker      `json:"-"` // Azure checks (cloud, allowlist, permissions, NSG); nil: none
	SSH          SSHConfig         `json:"ssh,omitempty"`
}

// SSHConfig says how to reach the SQL Server host over SSH (ProbeSSH).
type SSHConfig struct {
	Host       string        `json:"host,omitempty"` // [user@]host[:port]; "" = the SQL Server host
	User       string        `json:"user,omitempty"`
	Keys       []string      `json:"keys,omitempty"`
	KnownHosts string        `json:"known_hosts,omitempty"`
	NoAgent    bool          `json:"no_agent,omitempty"`
	Timeout    time.Duration `json:"timeout,omitempty"` // default 10s
}

// Prober returns the SSH prober for the SQL Server host (sqlHost when Host is empty).
func (s SSHConfig) Prober(sqlHost string) *SSHProber {
	addr := s.Host
	if addr == "" {
		addr = sqlHost
	}
	p := probe.NewSSH(addr)
	if s.User != "" {
		p.User = s.User
	}
	p.KeyFiles, p.KnownHostsFile = s.Keys, s.KnownHosts
	p.UseAgent = p.UseAgent && !s.NoAgent
	if s.Timeout > 0 {
		p.DialTimeout = s.Timeout
	}
	return p
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.EndpointPort == 0 {
		c.EndpointPort = 5022
	}
	if c.ProbeTimeout == 0 {
		c.ProbeTimeout = 5 * time.Second
	}
	if c.JobTimeout == 0 {
		c.JobTimeout = 2 * time.Minute
	}
	if c.RunID == "" {
		c.RunID = sqlops.NewRunID()
	}
	if c.SQLServer.Role == "" {
		c.SQLServer.Role = "SQL Server"
	}
	if c.MI.Role == "" {
		c.MI.Role = "managed instance"
	}
}

// FieldError is one invalid input found by Config.Validate, with the milink flag that
// sets it (front-ends map the flag to their own field). Its message is Err's.
type FieldError struct {
	Flag string // e.g. "sql-ip", "sql-user", "database"
	Err  error
}

func (e *FieldError) Error() string { return e.Err.Error() }

// Unwrap returns Err.
func (e *FieldError) Unwrap() error { return e.Err }

// FieldErrors returns the FieldErrors in err (as Validate joins them), in order.
func FieldErrors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(e error) {
		var fe *FieldError
		switch x := e.(type) {
		case nil:
		case interface{ Unwrap() []error }:
			for _, inner := range x.Unwrap() {
				walk(inner)
			}
		default:
			if errors.As(e, &fe) {
				out = append(out, fe)
			}
		}
	}
	walk(err)
	return out
}

// connFlag names the flag (with prefix "sql" or "mi") of the field of c that makes
// c.Validate fail.
func connFlag(prefix string, c sqlops.ConnConfig) string {
	a, perr := sqlops.ParseServer(c.Host)
	switch {
	case perr != nil:
		return prefix + "-server"
	case c.Port != 0 && (sqlops.ValidatePort(c.Port) != nil || (a.Port != 0 && a.Port != c.Port)):
		return prefix + "-port"
	}
	switch c.Encrypt {
	case "", sqlops.EncryptTrue, sqlops.EncryptStrict, sqlops.EncryptFalse, sqlops.EncryptDisable:
	default:
		return prefix + "-encrypt"
	}
	switch {
	case !sqlops.ValidTLSMin(c.TLSMin):
		return prefix + "-tls-min"
	case c.ValidatePin() != nil && c.CertSHA256 != "" && c.Encrypt != sqlops.EncryptDisable:
		return prefix + "-cert-sha256"
	case c.ValidatePin() != nil:
		return prefix + "-encrypt"
	}
	if !sqlops.ValidAuth(c.Auth) {
		return prefix + "-auth"
	}
	if c.Token == nil && c.EffectiveAuth() == sqlops.AuthNTLM && c.Password == "" && strings.Contains(c.User, `\`) {
		return prefix + "-password"
	}
	if c.Token == nil && c.User != "" && len(c.User) <= 128 && len(c.Password) > 128 {
		return prefix + "-password"
	}
	return prefix + "-user"
}

// Validate checks every input before anything is created; every problem found is
// returned (joined) as a clear, specific *FieldError naming the flag that sets it.
func (c *Config) Validate() error {
	var errs []error
	add := func(flag string, err error) {
		if err != nil {
			errs = append(errs, &FieldError{Flag: flag, Err: err})
		}
	}
	if err := c.SQLServer.Validate(); err != nil {
		add(connFlag("sql", c.SQLServer), err)
	}
	if err := c.MI.Validate(); err != nil {
		add(connFlag("mi", c.MI), err)
	}
	if c.SQLServerIP != "" {
		if err := sqlops.ValidateHost(c.SQLServerIP); err != nil {
			add("sql-ip", fmt.Errorf("SQL Server IP: %w", err))
		}
	}
	if err := sqlops.ValidatePort(c.EndpointPort); err != nil {
		add("endpoint-port", fmt.Errorf("endpoint port: %w", err))
	}
	if c.ProbeTimeout < 100*time.Millisecond || c.ProbeTimeout > 5*time.Minute {
		add("probe-timeout", fmt.Errorf("probe timeout: %w: %s is outside 100ms-5m", sqlops.ErrInvalidInput, c.ProbeTimeout))
	}
	if c.JobTimeout < time.Second || c.JobTimeout > time.Hour {
		add("job-timeout", fmt.Errorf("job timeout: %w: %s is outside 1s-1h", sqlops.ErrInvalidInput, c.JobTimeout))
	}
	for _, d := range c.Databases {
		add("database", sqlops.ValidateDatabaseName(d))
	}
	switch c.ProbeFrom {
	case "", ProbeAuto, ProbeAgent, ProbeLocal, ProbeManual, ProbeSSH:
	default:
		add("probe-from", fmt.Errorf("probe from: %w: %q is not auto, agent, local, ssh or manual", sqlops.ErrInvalidInput, c.ProbeFrom))
	}
	if c.ProbeFrom == ProbeSSH || c.SSH.Host != "" {
		if err := c.SSH.Prober(c.SQLServer.Host).Validate(); err != nil {
			flag := "ssh"
			if c.SSH.User != "" && probe.ValidateSSHUser(c.SSH.User) != nil {
				flag = "ssh-user"
			}
			add(flag, fmt.Errorf("ssh: %w", err))
		}
	}
	add("run-id", sqlops.ValidateRunID(c.RunID))
	return errors.Join(errs...)
}

// Timing of an Agent job, for MinJobTimeout.
const (
	// ProbesPerJob is the most TCP probes one Agent job runs one after the other (the
	// SQL Server → MI job probes the MI's 5022 and its HADR port).
	ProbesPerJob = 2
	// AgentOverhead is what SQL Server Agent adds around a job's probes: picking the job
	// up and starting PowerShell.
	AgentOverhead = 10 * time.Second
)

// MinJobTimeout is the shortest job timeout that lets a job run all its probes with
// probeTimeout each: a shorter one would turn a filtered port into "is Agent
// healthy?".
func MinJobTimeout(probeTimeout time.Duration) time.Duration {
	return ProbesPerJob*probeTimeout + AgentOverhead
}
