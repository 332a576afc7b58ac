package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/milink/milink/sqlsim"
)

// simFlags are the flags of milink sim.
type simFlags struct {
	role, listen, miListen, scenario, caDir string
	sqlVersion, sqlPlatform, encrypt        string
	miTier, miPolicy                        string
	jobLatency, stepLatency                 time.Duration
	sqlpsLoad, netLatency, tncTime          time.Duration
}

// simCmd is the hidden milink sim: simulated instances on fixed loopback ports, for
// tsql, sqlcmd or milink itself, until interrupted.
func (a *app) simCmd() *cobra.Command {
	f := &simFlags{}
	cmd := &cobra.Command{
		Use:    "sim",
		Short:  "Run simulated instances (SQL Server, managed instance or both) that speak TDS",
		Hidden: true,
		Example: `  milink sim --ca-dir /tmp/milink-ca
  milink sim --sql-version 2019 --sql-platform Linux --encrypt off`,
		Annotations: map[string]string{noEnv: "sim reads no MILINK_* variables"},
		Args:        cobra.NoArgs,
		RunE:        func(*cobra.Command, []string) error { return a.runSim(f) },
	}
	fs := cmd.Flags()
	fs.StringVar(&f.role, "role", "pair", "sqlserver, mi, or pair (both on one simulated network)")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:14330", "TDS listen address (the SQL Server in a pair)")
	fs.StringVar(&f.miListen, "mi-listen", "127.0.0.1:14331", "TDS listen address of the managed instance in a pair")
	fs.StringVar(&f.scenario, "scenario", "pass", "scenario: "+strings.Join(sqlsim.ScenarioNames(), ", "))
	fs.DurationVar(&f.jobLatency, "job-latency", 200*time.Millisecond, "simulated time for Agent to pick up a job")
	fs.DurationVar(&f.stepLatency, "step-latency", 200*time.Millisecond, "simulated start-up time of each PowerShell step")
	fs.DurationVar(&f.sqlpsLoad, "sqlps-load", 0, "simulated SQLPS module load of a PowerShell step (before SQL Server 2019, or without #NOSQLPS)")
	fs.DurationVar(&f.netLatency, "net-latency", 0, "simulated network round trip of every answered connection attempt")
	fs.DurationVar(&f.tncTime, "tnc-time", 21*time.Second, "simulated time Test-NetConnection takes on a filtered port")
	fs.StringVar(&f.caDir, "ca-dir", "", "write each instance's TLS certificate (PEM) to DIR/<name>-ca.pem")
	fs.StringVar(&f.sqlVersion, "sql-version", "", "the simulated SQL Server's version: a build (13.0.7000.253), a major (16) or a year (2022); default 2022 CU14")
	fs.StringVar(&f.sqlPlatform, "sql-platform", "Windows", "the simulated SQL Server's platform: Windows or Linux")
	fs.StringVar(&f.miPolicy, "mi-update-policy", "SQLServer2022", "the simulated managed instance's update policy (SERVERPROPERTY('ProductUpdateType')): SQLServer2022, SQLServer2025 or AlwaysUpToDate")
	fs.StringVar(&f.miTier, "mi-tier", "GeneralPurpose", "the simulated managed instance's service tier (sys.server_resource_stats.sku): GeneralPurpose or BusinessCritical")
	fs.StringVar(&f.encrypt, "encrypt", "on", "on: TLS as SQL Server offers it (trust the --ca-dir certificates); off: no encryption, for clients without our CA (connect with encrypt=disable)")
	return cmd
}

// runSim starts the instances of --role on one simulated network, prints "ready" and
// serves until SIGINT or SIGTERM.
func (a *app) runSim(f *simFlags) error {
	sc, err := sqlsim.LookupScenario(f.scenario)
	if err != nil {
		return usageError{err}
	}
	sqlOpts, err := f.sqlServerOptions()
	if err != nil {
		return usageError{err}
	}
	miOpts, err := f.miOptions()
	if err != nil {
		return usageError{err}
	}
	s := &simRun{a: a, f: f, network: sqlsim.NewNetwork()}
	s.network.SetLatency(f.netLatency)
	defer s.close()
	var so, mo sqlsim.Options
	if f.role == "sqlserver" || f.role == "pair" {
		if so, err = s.start(sqlOpts, sc.SQL, f.listen, "sqlserver"); err != nil {
			return err
		}
	}
	if f.role == "mi" || f.role == "pair" {
		addr := f.miListen
		if f.role == "mi" {
			addr = f.listen
		}
		if mo, err = s.start(miOpts, sc.MI, addr, "mi"); err != nil {
			return err
		}
	}
	if len(s.started) == 0 {
		return usageError{fmt.Errorf("--role must be sqlserver, mi or pair, not %q", f.role)}
	}
	if sc.Network != nil && f.role == "pair" {
		sc.Network(s.network, so, mo)
	}
	fmt.Fprintln(a.stdout, "ready")
	ctx, stop := a.signalContext()
	defer stop()
	<-ctx.Done()
	return nil
}

// sqlServerOptions are the simulated SQL Server's defaults with --sql-version and
// --sql-platform applied.
func (f *simFlags) sqlServerOptions() (sqlsim.Options, error) {
	o := sqlsim.SQLServerDefaults()
	switch f.encrypt {
	case "on":
	case "off":
		o.NoEncryption = true
	default:
		return o, fmt.Errorf("--encrypt must be on or off, not %q", f.encrypt)
	}
	if f.sqlVersion == "" && strings.EqualFold(f.sqlPlatform, "Windows") {
		return o, nil
	}
	version := f.sqlVersion
	if version == "" {
		version = o.ProductVersion
	}
	p, err := sqlsim.FindPersonality(version, f.sqlPlatform, false)
	if err != nil {
		return o, fmt.Errorf("--sql-version/--sql-platform: %w", err)
	}
	o.Personality = p
	return o, nil
}

// miOptions are the simulated managed instance's defaults with --mi-tier and
// --mi-update-policy applied.
func (f *simFlags) miOptions() (sqlsim.Options, error) {
	o := sqlsim.MIDefaults()
	switch strings.ToLower(strings.ReplaceAll(f.miTier, " ", "")) {
	case "generalpurpose", "":
		o.ServiceTier = sqlsim.TierGeneralPurpose
	case "businesscritical":
		o.ServiceTier = sqlsim.TierBusinessCritical
	default:
		return o, fmt.Errorf("--mi-tier must be GeneralPurpose or BusinessCritical, not %q", f.miTier)
	}
	for _, p := range []string{sqlsim.UpdatePolicySQLServer2022, sqlsim.UpdatePolicySQLServer2025, sqlsim.UpdatePolicyAlwaysUpToDate} {
		if strings.EqualFold(f.miPolicy, p) {
			o.UpdatePolicy = p
			return o, nil
		}
	}
	return o, fmt.Errorf("--mi-update-policy must be SQLServer2022, SQLServer2025 or AlwaysUpToDate, not %q", f.miPolicy)
}

// simRun is the instances milink sim started.
type simRun struct {
	a       *app
	f       *simFlags
	network *sqlsim.Network
	started []*sqlsim.Instance
}

// start starts one instance from o (changed by the scenario's mut) listening on addr,
// writes its certificate to --ca-dir and prints its address and login.
func (s *simRun) start(o sqlsim.Options, mut func(*sqlsim.Options), addr, name string) (sqlsim.Options, error) {
	o.Network, o.Listen = s.network, addr
	o.JobStartLatency, o.StepLatency = s.f.jobLatency, s.f.stepLatency
	o.SQLPSLoad, o.TncTimeout = s.f.sqlpsLoad, s.f.tncTime
	o.NoEncryption = s.f.encrypt == "off"
	if mut != nil {
		mut(&o)
	}
	in, err := sqlsim.Start(o)
	if err != nil {
		return o, err
	}
	s.started = append(s.started, in)
	if s.f.caDir != "" {
		if err := os.MkdirAll(s.f.caDir, 0o700); err != nil {
			return o, fmt.Errorf("--ca-dir: %w", err)
		}
		if err := os.WriteFile(filepath.Join(s.f.caDir, name+"-ca.pem"), in.CACertPEM(), 0o600); err != nil {
			return o, err
		}
	}
	l := o.Logins[0]
	fmt.Fprintf(s.a.stdout, "%s listening on %s (login %s / %s)\n", name, in.Addr(), l.Name, l.Password)
	return o, nil
}

func (s *simRun) close() {
	for _, in := range s.started {
		in.Close()
	}
}
