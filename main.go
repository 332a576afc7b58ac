// Command milink prepares and tests the network for an Azure SQL Managed Instance link
// from a Linux terminal: a wizard on a TTY, "milink check" for scripts, "milink demo"
// against simulated instances, and "milink cleanup" for leftovers of crashed runs.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/milink/milink/azureops"
	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/steps"
	"github.com/milink/milink/steps/probe"
	"github.com/milink/milink/ui"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// usageError marks errors that exit with code 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// exitError carries an exit code out of a command.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// app holds the process's streams so tests can run commands in-process.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	isTTY          func(fd int) bool
	signals        <-chan os.Signal // nil: the real SIGINT/SIGTERM
}

func main() {
	a := &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, isTTY: func(fd int) bool { return term.IsTerminal(uintptr(fd)) }}
	os.Exit(a.run(os.Args[1:]))
}

// run executes the command line and returns the exit code.
func (a *app) run(args []string) int {
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	err := root.Execute()
	var ee exitError
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue):
		fmt.Fprintf(a.stderr, "milink: %v\n", ue.err)
		return steps.ExitUsage
	default:
		// cobra's own flag and argument errors
		fmt.Fprintf(a.stderr, "milink: %v\nRun 'milink --help' for usage.\n", err)
		return steps.ExitUsage
	}
}

func (a *app) rootCmd() *cobra.Command {
	wiz := &wizardFlags{}
	az := &azureFlags{}
	root := &cobra.Command{
		Use:           "milink",
		Short:         "Prepare and test the network for an Azure SQL Managed Instance link",
		Long:          "milink checks SQL Server's link prerequisites, connects to SQL Server and the managed instance,\nand tests the network in both directions with temporary Agent jobs that it always removes.",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.applyEnvAndConfig(cmd.Flags(), wiz.configPath); err != nil {
				return err
			}
			if err := checkNumbers(cmd.Flags()); err != nil {
				return err
			}
			cfg := steps.Config{SQLServer: wiz.sql.config(a.getenv("MILINK_SQL_PASSWORD")), MI: wiz.mi.config(a.getenv("MILINK_MI_PASSWORD")),
				SQLServerIP: wiz.sqlIP, ProbeTimeout: wiz.probeTimeout, JobTimeout: wiz.jobTimeout, ProbeFrom: wiz.probeFrom, SSH: wiz.ssh}
			if err := (steps.NetworkOptions{ProbeFrom: cfg.ProbeFrom}).Validate(); err != nil && strings.Contains(err.Error(), "probe from") {
				return usageError{err}
			}
			if cfg.SSH.Host != "" {
				if err := cfg.SSH.Prober(cfg.SQLServer.Host).Validate(); err != nil {
					return usageError{fmt.Errorf("--ssh: %w", err)}
				}
			}
			azo := ui.AzureOptions{Cloud: az.cloud, MIAuth: az.miAuth, AzureAuth: az.azureAuth, TenantID: az.tenantID,
				ClientID: az.clientID, Subscriptions: az.subscriptions, MIResourceID: az.miID}
			if err := azo.Validate(); err != nil {
				return usageError{err}
			}
			return a.runWizard(cfg, azo, wiz.accessible, wiz.logFile, "", nil)
		},
	}
	wiz.register(root.Flags())
	az.register(root.Flags())
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(a.checkCmd(), a.cleanupCmd(), a.demoCmd(), a.simCmd())
	return root
}

// wizardFlags pre-fill the wizard.
type wizardFlags struct {
	sql, mi                  connFlags
	sqlIP, logFile           string
	configPath               string
	probeTimeout, jobTimeout time.Duration
	accessible               bool
	probeFrom                string
	ssh                      steps.SSHConfig
}

func (w *wizardFlags) register(fs *pflag.FlagSet) {
	w.sql = connFlags{prefix: "sql", role: "SQL Server"}
	w.mi = connFlags{prefix: "mi", role: "managed instance"}
	w.sql.register(fs)
	w.mi.register(fs)
	fs.StringVar(&w.sqlIP, "sql-ip", "", "SQL Server address the managed instance probes (default: discovered)")
	fs.DurationVar(&w.probeTimeout, "probe-timeout", 5*time.Second, "timeout of each TCP probe")
	fs.DurationVar(&w.jobTimeout, "job-timeout", 2*time.Minute, "how long to wait for each Agent job's outcome")
	fs.StringVar(&w.probeFrom, "probe-from", steps.ProbeAuto, "where the SQL Server → MI probes run: auto, agent, local, ssh or manual")
	registerSSH(fs, &w.ssh)
	fs.BoolVar(&w.accessible, "accessible", false, "plain prompts and progress lines instead of the full-screen wizard (also when TERM=dumb)")
	fs.StringVar(&w.logFile, "log-file", "", "log file (default $XDG_STATE_HOME/milink/milink.log; '-' for none)")
	fs.StringVar(&w.configPath, "config", "", "JSON file with flag values (no passwords)")
}

// runWizard runs the interactive wizard on the terminal: drawn on stderr, report on stdout.
func (a *app) runWizard(cfg steps.Config, azo ui.AzureOptions, accessible bool, logFile, banner string, prober steps.Prober) error {
	in, ok := a.stdin.(*os.File)
	if !ok || !a.isTTY(int(in.Fd())) {
		return usageError{errors.New("the wizard needs a terminal; use 'milink check' in scripts (see 'milink check --help')")}
	}
	if a.getenv("TERM") == "dumb" {
		accessible = true
	}
	log, closeLog, err := a.openLog(logFile)
	if err != nil {
		return usageError{err}
	}
	defer closeLog()
	cfg.Defaults()
	log.Info("wizard started", "run_id", cfg.RunID, "version", version, "accessible", accessible, "demo", banner != "")
	ctx, stop := a.termContext()
	defer stop()
	dir, _ := os.Getwd()
	code, err := ui.Run(ctx, ui.Options{Config: cfg, Accessible: accessible, In: in, Out: a.stderr, ReportOut: a.stdout,
		ReportDir: dir, Logger: log, Banner: banner, Prober: prober, Azure: azo})
	log.Info("wizard finished", "exit_code", code)
	if err != nil {
		return fmt.Errorf("wizard: %w", err)
	}
	if code != 0 {
		return exitError{code}
	}
	return nil
}

// termContext is canceled by SIGTERM or SIGHUP (Ctrl-C is a key inside the wizard).
func (a *app) termContext() (context.Context, func()) {
	return signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGHUP)
}

func (a *app) demoCmd() *cobra.Command {
	var scenario, logFile string
	var accessible bool
	var jobLatency, stepLatency, probeTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the wizard against a simulated SQL Server and managed instance (no Azure needed)",
		Long: "demo starts two simulated instances on loopback that speak real TDS (a SQL Server on Windows\n" +
			"and an Azure SQL Managed Instance), opens the wizard pre-filled with their addresses and walks the\n" +
			"real flow: prerequisites, login, network options, summary, results and cleanup.\n\nScenarios: " +
			strings.Join(sqlsim.ScenarioNames(), ", "),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sc, err := sqlsim.LookupScenario(scenario)
			if err != nil {
				return usageError{err}
			}
			p, err := sqlsim.StartPair(sc, jobLatency, stepLatency)
			if err != nil {
				return fmt.Errorf("start the simulated instances: %w", err)
			}
			defer p.Close()
			dir, err := os.MkdirTemp("", "milink-demo-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			sqlCA, miCA, err := p.WriteCACerts(dir)
			if err != nil {
				return err
			}
			so, mo := p.SQL.Options(), p.MI.Options()
			cfg := steps.Config{
				SQLServer:    sqlops.ConnConfig{Role: "SQL Server", Host: p.SQL.Host(), Port: p.SQL.Port(), User: so.Logins[0].Name, Password: so.Logins[0].Password, CACertFile: sqlCA},
				MI:           sqlops.ConnConfig{Role: "managed instance", Host: p.MI.Host(), Port: p.MI.Port(), User: mo.Logins[0].Name, Password: mo.Logins[0].Password, CACertFile: miCA},
				ProbeTimeout: probeTimeout,
				JobTimeout:   time.Minute,
			}
			// Probes "from this machine" (SQL Server on Linux) go through the simulated
			// network too, so the demo never sends traffic anywhere else.
			azo := ui.AzureOptions{Cloud: azureops.AzureCloud, MIAuth: "sql"}
			return a.runWizard(cfg, azo, accessible, logFile, "DEMO · simulated instances · scenario "+sc.Name, simProber(p.Network))
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&scenario, "scenario", "default", "demo scenario: "+strings.Join(sqlsim.ScenarioNames(), ", "))
	fs.BoolVar(&accessible, "accessible", false, "plain prompts and progress lines instead of the full-screen wizard")
	fs.DurationVar(&jobLatency, "job-latency", 1500*time.Millisecond, "simulated time for SQL Server Agent to pick up a job")
	fs.DurationVar(&stepLatency, "step-latency", time.Second, "simulated start-up time of each PowerShell step")
	fs.DurationVar(&probeTimeout, "probe-timeout", 3*time.Second, "timeout of each TCP probe")
	fs.StringVar(&logFile, "log-file", "", "log file (default $XDG_STATE_HOME/milink/milink.log; '-' for none)")
	return cmd
}

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

// signalContext returns a context canceled by the first SIGINT/SIGTERM; a second
// signal exits at once with 130.
func (a *app) signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := a.signals
	var ch chan os.Signal
	if sigs == nil {
		ch = make(chan os.Signal, 2)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		sigs = ch
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			fmt.Fprintln(a.stderr, "milink: interrupted; cleaning up (press Ctrl-C again to abandon cleanup)")
			cancel()
		case <-done:
			return
		}
		select {
		case <-sigs:
			fmt.Fprintln(a.stderr, "milink: cleanup abandoned; run 'milink cleanup' to remove what is left")
			os.Exit(steps.ExitInterrupted)
		case <-done:
		}
	}()
	return ctx, func() {
		close(done)
		if ch != nil {
			signal.Stop(ch)
		}
		cancel()
	}
}

// openLog opens the slog log file (0600) under the user's state directory by default.
func (a *app) openLog(path string) (*slog.Logger, func(), error) {
	if path == "-" || path == "off" {
		return slog.New(slog.DiscardHandler), func() {}, nil
	}
	if path == "" {
		dir := a.getenv("XDG_STATE_HOME")
		if dir == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return slog.New(slog.DiscardHandler), func() {}, nil
			}
			dir = filepath.Join(home, ".local", "state")
		}
		path = filepath.Join(dir, "milink", "milink.log")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("log file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("log file: %w", err)
	}
	return slog.New(slog.NewJSONHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug})), func() { f.Close() }, nil
}

func (a *app) checkCmd() *cobra.Command {
	sqlF := &connFlags{prefix: "sql", role: "SQL Server"}
	miF := &connFlags{prefix: "mi", role: "managed instance"}
	az := &azureFlags{}
	var (
		sqlIP, output, logFile, configPath string
		probeFrom, probeOutput             string
		ssh                                steps.SSHConfig
		endpointPort                       int
		probeTimeout, jobTimeout           time.Duration
		databases                          []string
		quiet                              bool
	)
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check prerequisites and test the network in both directions, without a terminal UI",
		Long: `check does the wizard's work non-interactively: progress lines on stderr, the report on stdout.

Every flag can also come from the environment as MILINK_<FLAG> (e.g. MILINK_SQL_SERVER,
MILINK_MI_USER) or from a JSON file given with --config whose keys are flag names.
Passwords come only from MILINK_SQL_PASSWORD / MILINK_MI_PASSWORD, --sql-password-stdin /
--mi-password-stdin (one line each, SQL Server first), or a prompt on a terminal.

Exit codes:
  0    every prerequisite met and both directions passed
  1    milink could not complete the run (connection error, cleanup failure, ...)
  2    bad flags or input; nothing was created
  3    a network probe failed, or a direction could not be tested
  4    a login was rejected
  5    the network is fine but a link prerequisite is not met
  130  interrupted (Ctrl-C, SIGTERM); cleanup ran`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.applyEnvAndConfig(cmd.Flags(), configPath); err != nil {
				return err
			}
			switch output {
			case "text", "json", "markdown":
			default:
				return usageError{fmt.Errorf("--output must be text, json or markdown, not %q", output)}
			}
			if sqlF.server == "" || miF.server == "" {
				return usageError{errors.New("--sql-server and --mi-server are required (or MILINK_SQL_SERVER / MILINK_MI_SERVER)")}
			}
			if err := checkNumbers(cmd.Flags()); err != nil {
				return err
			}
			azs, err := az.setup(func(_ context.Context, message, _, _ string) error {
				fmt.Fprintf(a.stderr, "milink: %s\n", message)
				return nil
			})
			if err != nil {
				return err
			}
			cfg := steps.Config{SQLServer: sqlF.config(""), MI: miF.config(""), SQLServerIP: sqlIP, EndpointPort: endpointPort,
				ProbeTimeout: probeTimeout, JobTimeout: jobTimeout, Databases: databases, ProbeFrom: probeFrom, Azure: azs.checker, SSH: ssh}
			cfg.MI.Token = azs.miToken
			if azs.deviceCode && !cmd.Flags().Changed("mi-login-timeout") {
				cfg.MI.LoginTimeout = 5 * time.Minute // a person signs in on another device
			}
			cfg.Defaults()
			// Validate everything but the passwords before asking for them.
			cfg.SQLServer.Password, cfg.MI.Password = "x", "x"
			if err := cfg.Validate(); err != nil {
				return usageError{err}
			}
			need := []*connFlags{sqlF}
			if cfg.MI.Token == nil {
				need = append(need, miF)
			}
			pw, err := a.passwords(need...)
			if err != nil {
				return err
			}
			cfg.SQLServer.Password, cfg.MI.Password = pw[0], ""
			if cfg.MI.Token == nil {
				cfg.MI.Password = pw[1]
			}
			log, closeLog, err := a.openLog(logFile)
			if err != nil {
				return usageError{err}
			}
			defer closeLog()
			log.Info("check started", "run_id", cfg.RunID, "sql_server", cfg.SQLServer.Address(), "mi", cfg.MI.Address(), "version", version)
			ctx, stop := a.signalContext()
			defer stop()
			sink := func(e steps.Event) {
				log.Info("event", "direction", string(e.Direction), "kind", string(e.Kind), "message", e.Message)
				if quiet {
					return
				}
				prefix := ""
				if e.Direction != "" {
					prefix = "[" + string(e.Direction) + "] "
				}
				fmt.Fprintf(a.stderr, "%s  %s%s\n", e.Time.Format("15:04:05"), prefix, e.Message)
			}
			var pasted string
			if probeOutput != "" {
				b, err := os.ReadFile(probeOutput)
				if err != nil {
					return usageError{fmt.Errorf("--probe-output: %w", err)}
				}
				pasted = string(b)
			}
			rep := steps.Check(ctx, cfg, sink)
			if pasted != "" && rep.MIParams != nil {
				for _, d := range rep.Directions {
					if d.Direction != steps.SQLToMI || d.Status != steps.StatusNotRun {
						continue
					}
					probes, err := steps.ParsePastedProbeResults(pasted, rep.MIParams.SQLToMITargets())
					if err != nil {
						fmt.Fprintf(a.stderr, "milink: --probe-output %s: %v\n", probeOutput, err)
						break
					}
					rep.ApplyPastedProbes(steps.SQLToMI, probes, *rep.MIParams)
				}
			}
			log.Info("check finished", "exit_code", rep.ExitCode, "outcome", rep.Outcome)
			switch output {
			case "json":
				err = rep.WriteJSON(a.stdout)
			case "markdown":
				err = rep.WriteMarkdown(a.stdout)
			default:
				err = rep.WriteText(a.stdout)
			}
			if err != nil {
				return fmt.Errorf("write report: %w", err)
			}
			if rep.Error != "" {
				fmt.Fprintf(a.stderr, "milink: %s\n", rep.Error)
			}
			if rep.ExitCode != 0 {
				return exitError{rep.ExitCode}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	sqlF.register(fs)
	miF.register(fs)
	az.register(fs)
	fs.StringVar(&sqlIP, "sql-ip", "", "SQL Server address the managed instance probes (default: the address SQL Server reports for this connection)")
	fs.IntVar(&endpointPort, "endpoint-port", 5022, "SQL Server database mirroring endpoint port")
	fs.DurationVar(&probeTimeout, "probe-timeout", 5*time.Second, "timeout of each TCP probe")
	fs.DurationVar(&jobTimeout, "job-timeout", 2*time.Minute, "how long to wait for each Agent job's outcome")
	fs.StringVar(&probeFrom, "probe-from", steps.ProbeAuto, "where the SQL Server → MI probes run: auto (Agent job on Windows; on Linux this host when it is the SQL Server host, else ssh when --ssh is given, else manual), agent, local, ssh or manual")
	registerSSH(fs, &ssh)
	fs.StringVar(&probeOutput, "probe-output", "", "file with the output of the SQL Server → MI command milink printed for --probe-from manual, run on the SQL Server host")
	fs.StringSliceVar(&databases, "database", nil, "database to check for the link (repeatable; default all user databases)")
	fs.StringVarP(&output, "output", "o", "text", "report format: text, json or markdown")
	fs.StringVar(&logFile, "log-file", "", "log file (default $XDG_STATE_HOME/milink/milink.log; '-' for none)")
	fs.StringVar(&configPath, "config", "", "JSON file with flag values (no passwords)")
	fs.BoolVarP(&quiet, "quiet", "q", false, "no progress lines on stderr")
	return cmd
}

func (a *app) cleanupCmd() *cobra.Command {
	sqlF := &connFlags{prefix: "sql", role: "SQL Server"}
	miF := &connFlags{prefix: "mi", role: "managed instance"}
	az := &azureFlags{}
	var dryRun bool
	var logFile, configPath string
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Find and remove test objects a crashed milink run left behind (only milink's)",
		Long: `cleanup connects to SQL Server and/or the managed instance and removes every Agent job,
endpoint and certificate that carries milink's marker. Objects without the marker are never
touched. Exit code 0 when nothing is left, 1 when something could not be removed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.applyEnvAndConfig(cmd.Flags(), configPath); err != nil {
				return err
			}
			if err := checkNumbers(cmd.Flags()); err != nil {
				return err
			}
			var targets []*connFlags
			for _, c := range []*connFlags{sqlF, miF} {
				if c.server != "" {
					targets = append(targets, c)
				}
			}
			if len(targets) == 0 {
				return usageError{errors.New("give --sql-server and/or --mi-server")}
			}
			azs, err := az.setup(func(_ context.Context, message, _, _ string) error {
				fmt.Fprintf(a.stderr, "milink: %s\n", message)
				return nil
			})
			if err != nil {
				return err
			}
			configs := make([]sqlops.ConnConfig, len(targets))
			var needPw []*connFlags
			for i, c := range targets {
				configs[i] = c.config("x")
				if c == miF && azs.miToken != nil {
					configs[i].Token, configs[i].Password = azs.miToken, ""
					if azs.deviceCode && !cmd.Flags().Changed("mi-login-timeout") {
						configs[i].LoginTimeout = 5 * time.Minute
					}
				} else {
					needPw = append(needPw, c)
				}
				if err := configs[i].Validate(); err != nil {
					return usageError{err}
				}
			}
			pw, err := a.passwords(needPw...)
			if err != nil {
				return err
			}
			for i, k := 0, 0; i < len(targets); i++ {
				if configs[i].Token == nil {
					configs[i].Password = pw[k]
					k++
				}
			}
			_, closeLog, err := a.openLog(logFile)
			if err != nil {
				return usageError{err}
			}
			defer closeLog()
			ctx, stop := a.signalContext()
			defer stop()
			failed := false
			for i, c := range targets {
				conn, err := sqlops.Open(ctx, configs[i])
				if err != nil {
					fmt.Fprintf(a.stderr, "milink: %v\n", err)
					failed = true
					continue
				}
				left, err := conn.FindLeftovers(ctx)
				if err != nil {
					conn.Close()
					fmt.Fprintf(a.stderr, "milink: %s: %v\n", c.role, err)
					failed = true
					continue
				}
				fmt.Fprintf(a.stdout, "%s %s: %d milink object(s) found\n", c.role, c.server, left.Count())
				if dryRun {
					for _, j := range left.Jobs {
						fmt.Fprintf(a.stdout, "  job %s\n", j.Name)
					}
					for _, e := range left.Endpoints {
						fmt.Fprintf(a.stdout, "  endpoint %s (port %d)\n", e.Name, e.Port)
					}
					for _, ce := range left.Certificates {
						fmt.Fprintf(a.stdout, "  certificate %s\n", ce.Name)
					}
					conn.Close()
					continue
				}
				for _, r := range conn.RemoveLeftovers(context.WithoutCancel(ctx), left) {
					if r.Err != nil {
						failed = true
						fmt.Fprintf(a.stdout, "  FAILED %s %s: %v\n", r.Kind, r.Name, r.Err)
					} else {
						fmt.Fprintf(a.stdout, "  removed %s %s\n", r.Kind, r.Name)
					}
				}
				conn.Close()
			}
			if failed {
				return exitError{steps.ExitError}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	sqlF.register(fs)
	miF.register(fs)
	az.register(fs)
	fs.BoolVar(&dryRun, "dry-run", false, "list what would be removed, remove nothing")
	fs.StringVar(&logFile, "log-file", "", "log file ('-' for none)")
	fs.StringVar(&configPath, "config", "", "JSON file with flag values (no passwords)")
	return cmd
}

func (a *app) simCmd() *cobra.Command {
	var role, listen, miListen, scenario, caDir string
	var jobLatency, stepLatency time.Duration
	cmd := &cobra.Command{
		Use:    "sim",
		Short:  "Run simulated instances (SQL Server, managed instance or both) that speak TDS",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sc, err := sqlsim.LookupScenario(scenario)
			if err != nil {
				return usageError{err}
			}
			network := sqlsim.NewNetwork()
			var started []*sqlsim.Instance
			defer func() {
				for _, in := range started {
					in.Close()
				}
			}()
			start := func(o sqlsim.Options, mut func(*sqlsim.Options), addr, name string) (sqlsim.Options, error) {
				o.Network, o.Listen = network, addr
				o.JobStartLatency, o.StepLatency = jobLatency, stepLatency
				if mut != nil {
					mut(&o)
				}
				in, err := sqlsim.Start(o)
				if err != nil {
					return o, err
				}
				started = append(started, in)
				if caDir != "" {
					if err := os.WriteFile(filepath.Join(caDir, name+"-ca.pem"), in.CACertPEM(), 0o600); err != nil {
						return o, err
					}
				}
				l := o.Logins[0]
				fmt.Fprintf(a.stdout, "%s listening on %s (login %s / %s)\n", name, in.Addr(), l.Name, l.Password)
				return o, nil
			}
			var so, mo sqlsim.Options
			if role == "sqlserver" || role == "pair" {
				if so, err = start(sqlsim.SQLServerDefaults(), sc.SQL, listen, "sqlserver"); err != nil {
					return err
				}
			}
			if role == "mi" || role == "pair" {
				addr := miListen
				if role == "mi" {
					addr = listen
				}
				if mo, err = start(sqlsim.MIDefaults(), sc.MI, addr, "mi"); err != nil {
					return err
				}
			}
			if len(started) == 0 {
				return usageError{fmt.Errorf("--role must be sqlserver, mi or pair, not %q", role)}
			}
			if sc.Network != nil && role == "pair" {
				sc.Network(network, so, mo)
			}
			fmt.Fprintln(a.stdout, "ready")
			ctx, stop := a.signalContext()
			defer stop()
			<-ctx.Done()
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&role, "role", "pair", "sqlserver, mi, or pair (both on one simulated network)")
	fs.StringVar(&listen, "listen", "127.0.0.1:14330", "TDS listen address (the SQL Server in a pair)")
	fs.StringVar(&miListen, "mi-listen", "127.0.0.1:14331", "TDS listen address of the managed instance in a pair")
	fs.StringVar(&scenario, "scenario", "pass", "scenario: "+strings.Join(sqlsim.ScenarioNames(), ", "))
	fs.DurationVar(&jobLatency, "job-latency", 200*time.Millisecond, "simulated time for Agent to pick up a job")
	fs.DurationVar(&stepLatency, "step-latency", 200*time.Millisecond, "simulated start-up time of each PowerShell step")
	fs.StringVar(&caDir, "ca-dir", "", "write each instance's TLS certificate (PEM) to DIR/<name>-ca.pem")
	return cmd
}

// simProber probes "from this machine" through the simulated network n.
func simProber(n *sqlsim.Network) steps.Prober {
	return probe.Func(func(ctx context.Context, host string, port int, timeout time.Duration) (string, error) {
		r := n.Probe(ctx, host, port, timeout)
		return r.RemoteAddress, r.Err
	})
}
