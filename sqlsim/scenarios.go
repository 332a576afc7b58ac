package sqlsim

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Scenario is a named demo situation: how to change each instance and the network.
type Scenario struct {
	Name        string
	Description string
	SQL         func(*Options)
	MI          func(*Options)
	Network     func(n *Network, sql, mi Options)
}

var scenarios = map[string]Scenario{
	"default": {
		Name:        "default",
		Description: "a realistic SQL Server on Windows with two findings to fix (trace flag 9567 off, a database in SIMPLE recovery); the network is open",
		SQL: func(o *Options) {
			o.TraceFlags = []int{1800}
			o.Databases = append(o.Databases, Database{Name: "Inventory", RecoveryModel: "SIMPLE", LogFiles: 1})
		},
	},
	"pass": {
		Name:        "pass",
		Description: "every prerequisite met and the network open in both directions",
	},
	"blocked-5022": {
		Name:        "blocked-5022",
		Description: "a firewall drops traffic to the managed instance on 5022 (filtered)",
		Network: func(n *Network, _, mi Options) {
			n.SetRule(mi.FQDN, 5022, RuleFiltered)
		},
	},
	"refused": {
		Name:        "refused",
		Description: "SQL Server's host rejects connections on 5022 (refused)",
		Network: func(n *Network, sql, _ Options) {
			n.SetRule(sql.IP, 5022, RuleRefused)
		},
	},
	"linux": {
		Name:        "linux",
		Description: "SQL Server 2022 on Ubuntu: Agent cannot run the PowerShell probe",
		SQL: func(o *Options) {
			o.Platform, o.Distribution = "Linux", "Ubuntu 22.04.4 LTS"
			o.TraceFlags = nil
		},
	},
	"agent-stopped": {
		Name:        "agent-stopped",
		Description: "SQL Server Agent is stopped on SQL Server",
		SQL:         func(o *Options) { o.AgentRunning = false },
	},
	"unsupported": {
		Name:        "unsupported",
		Description: "SQL Server 2019 below CU20, HADR disabled and no master key",
		SQL: func(o *Options) {
			o.ProductVersion = "15.0.4198.2"
			o.HadrEnabled = false
			o.MasterKey = false
		},
	},
}

// ScenarioNames lists the demo scenarios.
func ScenarioNames() []string {
	var out []string
	for n := range scenarios {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// LookupScenario returns the named scenario.
func LookupScenario(name string) (Scenario, error) {
	s, ok := scenarios[name]
	if !ok {
		return Scenario{}, fmt.Errorf("unknown scenario %q (known: %v)", name, ScenarioNames())
	}
	return s, nil
}

// Pair is a simulated SQL Server and managed instance on one simulated network.
type Pair struct {
	SQL, MI *Instance
	Network *Network
}

// Close stops both instances.
func (p *Pair) Close() {
	if p.SQL != nil {
		p.SQL.Close()
	}
	if p.MI != nil {
		p.MI.Close()
	}
}

// StartPair starts both instances of a scenario on loopback with the given Agent
// latencies (the time Agent takes to pick up a job, and each step's start-up time).
func StartPair(s Scenario, jobLatency, stepLatency time.Duration) (*Pair, error) {
	n := NewNetwork()
	so, mo := SQLServerDefaults(), MIDefaults()
	so.Network, mo.Network = n, n
	so.JobStartLatency, mo.JobStartLatency = jobLatency, jobLatency
	so.StepLatency, mo.StepLatency = stepLatency, stepLatency
	if s.SQL != nil {
		s.SQL(&so)
	}
	if s.MI != nil {
		s.MI(&mo)
	}
	p := &Pair{Network: n}
	var err error
	if p.SQL, err = Start(so); err != nil {
		return nil, err
	}
	if p.MI, err = Start(mo); err != nil {
		p.Close()
		return nil, err
	}
	if s.Network != nil {
		s.Network(n, so, mo)
	}
	return p, nil
}

// WriteCACerts writes each instance's TLS certificate (PEM, 0600) to dir as
// sqlserver-ca.pem and mi-ca.pem, for clients that verify the server certificate.
func (p *Pair) WriteCACerts(dir string) (sqlCA, miCA string, err error) {
	sqlCA, miCA = filepath.Join(dir, "sqlserver-ca.pem"), filepath.Join(dir, "mi-ca.pem")
	if err := os.WriteFile(sqlCA, p.SQL.CACertPEM(), 0o600); err != nil {
		return "", "", fmt.Errorf("write the SQL Server certificate: %w", err)
	}
	if err := os.WriteFile(miCA, p.MI.CACertPEM(), 0o600); err != nil {
		return "", "", fmt.Errorf("write the managed instance certificate: %w", err)
	}
	return sqlCA, miCA, nil
}
