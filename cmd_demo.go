package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/milink/milink/azureops"
	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/steps"
	"github.com/milink/milink/steps/probe"
	"github.com/milink/milink/ui"
)

// demoFlags are the flags of milink demo.
type demoFlags struct {
	scenario, logFile                     string
	accessible                            bool
	jobLatency, stepLatency, probeTimeout time.Duration
}

// demoCmd is milink demo: the wizard against a simulated pair of instances.
func (a *app) demoCmd() *cobra.Command {
	f := &demoFlags{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the wizard against a simulated SQL Server and managed instance (no Azure needed)",
		Long: "demo starts two simulated instances on loopback that speak real TDS (a SQL Server on Windows\n" +
			"and an Azure SQL Managed Instance), opens the wizard pre-filled with their addresses and walks the\n" +
			"real flow: prerequisites, login, network options, summary, results and cleanup.\n\nScenarios: " +
			strings.Join(sqlsim.ScenarioNames(), ", "),
		Example: `  milink demo
  milink demo --scenario blocked-5022
  milink demo --scenario pass --accessible`,
		Annotations: map[string]string{noEnv: "demo reads no MILINK_* variables"},
		Args:        cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkNumbers(cmd.Flags()); err != nil {
				return err
			}
			return a.runDemo(f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.scenario, "scenario", "default", "demo scenario: "+strings.Join(sqlsim.ScenarioNames(), ", "))
	fs.BoolVar(&f.accessible, "accessible", false, "plain prompts and progress lines instead of the full-screen wizard")
	fs.DurationVar(&f.jobLatency, "job-latency", 1500*time.Millisecond, "simulated time for SQL Server Agent to pick up a job")
	fs.DurationVar(&f.stepLatency, "step-latency", time.Second, "simulated start-up time of each PowerShell step")
	fs.DurationVar(&f.probeTimeout, "probe-timeout", 3*time.Second, "timeout of each TCP probe")
	fs.StringVar(&f.logFile, "log-file", "", "log file (default $XDG_STATE_HOME/milink/milink.log; '-' for none)")
	return cmd
}

// runDemo starts the scenario's pair, trusts their certificates for the run only and
// runs the wizard pre-filled with their addresses and logins.
func (a *app) runDemo(f *demoFlags) error {
	sc, err := sqlsim.LookupScenario(f.scenario)
	if err != nil {
		return usageError{err}
	}
	p, err := sqlsim.StartPair(sc, f.jobLatency, f.stepLatency)
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
		ProbeTimeout: f.probeTimeout,
		JobTimeout:   time.Minute,
	}
	// Probes "from this machine" (SQL Server on Linux) go through the simulated
	// network too, so the demo never sends traffic anywhere else.
	azo := ui.AzureOptions{Cloud: azureops.AzureCloud, MIAuth: "sql"}
	return a.runWizard(cfg, azo, f.accessible, f.logFile, "DEMO · simulated instances · scenario "+sc.Name, simProber(p.Network))
}

// simProber probes "from this machine" through the simulated network n.
func simProber(n *sqlsim.Network) steps.Prober {
	return probe.Func(func(ctx context.Context, host string, port int, timeout time.Duration) (string, error) {
		r := n.Probe(ctx, host, port, timeout)
		return r.RemoteAddress, r.Err
	})
}
