package steps_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/steps"
)

// startInstance starts a simulated instance with opts on n and writes its CA file.
func startInstance(t *testing.T, opts sqlsim.Options, n *sqlsim.Network) (*sqlsim.Instance, string) {
	t.Helper()
	opts.Network = n
	opts.JobStartLatency, opts.StepLatency = 20*time.Millisecond, 20*time.Millisecond
	in, err := sqlsim.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, in.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return in, ca
}

// TestInventorySharedSQLServer: two pairs on one SQL Server (one mirroring endpoint)
// and two managed instances, with room to run both at once, run one after the other,
// so each gets a real MI → SQL Server test: both pass, and a pair on another SQL
// Server still runs beside them.
func TestInventorySharedSQLServer(t *testing.T) {
	n := sqlsim.NewNetwork()
	sql, sqlCA := startInstance(t, sqlsim.SQLServerDefaults(), n)
	mi1, mi1CA := startInstance(t, sqlsim.MIDefaults(), n)
	o2 := sqlsim.MIDefaults()
	o2.ServerName, o2.IP, o2.FQDN = "sqlmi-two", "10.0.0.11", "sqlmi-two.6d710bcf372b.database.windows.net"
	mi2, mi2CA := startInstance(t, o2, n)
	cfg := func(mi *sqlsim.Instance, miCA string) steps.Config {
		return steps.Config{
			SQLServer:    sqlops.ConnConfig{Host: sql.Host(), Port: sql.Port(), User: "sa", Password: simPassword, CACertFile: sqlCA},
			MI:           sqlops.ConnConfig{Host: mi.Host(), Port: mi.Port(), User: "miadmin", Password: simPassword, CACertFile: miCA},
			ProbeTimeout: 300 * time.Millisecond, JobTimeout: 30 * time.Second,
		}
	}
	other := startPair(t, "pass", 20*time.Millisecond, 20*time.Millisecond)
	inv := []steps.InventoryPair{{Name: "a", Config: cfg(mi1, mi1CA)}, {Name: "b", Config: cfg(mi2, mi2CA)}, {Name: "c", Config: pairConfig(t, other)}}
	var mu sync.Mutex
	running := map[string]bool{}
	overlap := false
	res := steps.RunInventory(context.Background(), inv, steps.InventoryOptions{Parallel: 3, PairTimeout: time.Minute,
		Updates: func(u steps.PairUpdate) {
			mu.Lock()
			defer mu.Unlock()
			switch u.State {
			case steps.PairConnecting:
				running[u.Name] = true
				overlap = overlap || running["a"] && running["b"]
			case steps.PairDone:
				running[u.Name] = false
			}
		}})
	if overlap {
		t.Error("the two pairs of one SQL Server ran at the same time")
	}
	for _, p := range res.Pairs {
		if p.ExitCode() != steps.ExitOK {
			t.Errorf("%s: exit %d: %s", p.Name, p.ExitCode(), p.Report.Outcome)
			for _, d := range p.Report.Directions {
				t.Logf("%s: %s %s %+v", p.Name, d.Direction, d.Status, d)
			}
		}
	}
	assertNothingLeft(t, inv...)
}
