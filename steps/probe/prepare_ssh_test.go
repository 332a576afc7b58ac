package probe_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/steps"
	"github.com/milink/milink/steps/probe"
)

// fakeHost writes a stand-in for mssql-conf and for the restart command: each appends
// its arguments to a journal and prints what mssql-conf prints after a setting
// (https://learn.microsoft.com/sql/linux/sql-server-linux-configure-mssql-conf).
func fakeHost(t *testing.T) (conf, restart, journal string) {
	t.Helper()
	dir := t.TempDir()
	journal = filepath.Join(dir, "journal")
	conf, restart = filepath.Join(dir, "mssql-conf"), filepath.Join(dir, "restart")
	scripts := map[string]string{
		conf:    "#!/bin/bash\necho \"mssql-conf $*\" >> '" + journal + "'\necho \"SQL Server needs to be restarted in order to apply this setting. Please run 'systemctl restart mssql-server.service'.\"\n",
		restart: "#!/bin/bash\necho restart >> '" + journal + "'\n",
	}
	for f, body := range scripts {
		if err := os.WriteFile(f, []byte(body), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return conf, restart, journal
}

// linuxSession is a session on a simulated SQL Server on Linux with availability
// groups, the startup trace flags and 'Agent XPs' off, its prerequisites checked.
func linuxSession(t *testing.T) *steps.Session {
	t.Helper()
	o := sqlsim.SQLServerDefaults()
	o.Platform, o.Distribution = "Linux", "Ubuntu 22.04.4 LTS"
	o.HadrEnabled, o.TraceFlags, o.AgentXPs = false, nil, false
	in, err := sqlsim.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	cc := sqlops.ConnConfig{Role: "SQL Server", Host: in.Host(), Port: in.Port(), User: "sa", Password: "Sim-Passw0rd!", TrustServerCertificate: true}
	s := steps.NewSession(steps.Config{SQLServer: cc}, steps.SessionOptions{})
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	if err := s.ConnectSQLServer(ctx, cc); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CheckPrerequisites(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPrepareLinuxOverSSH: mssql-conf runs through the SSH connection, its output is in
// the records, and the restart runs only after its own confirmation, which names the
// instance and its open sessions.
func TestPrepareLinuxOverSSH(t *testing.T) {
	for _, confirm := range []bool{false, true} {
		name := map[bool]string{false: "restart declined", true: "restart confirmed"}[confirm]
		t.Run(name, func(t *testing.T) {
			s := linuxSession(t)
			conf, restart, journal := fakeHost(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			plan, err := s.PlanPreparation(ctx, steps.PrepareOptions{SSH: true, MssqlConf: conf, RestartCommand: restart})
			if err != nil {
				t.Fatal(err)
			}
			var asked []string
			out, err := s.ApplyPreparation(ctx, plan, steps.ApplyOptions{Host: probe.NewTestSSHProber(t),
				ConfirmRestart: func(instance string, sessions int) bool {
					asked = append(asked, instance)
					if sessions < 0 {
						t.Errorf("sessions %d", sessions)
					}
					return confirm
				}})
			if err != nil {
				t.Fatal(err)
			}
			byID := map[string]steps.ChangeRecord{}
			for _, r := range out.Records {
				byID[r.ID] = r
			}
			for id, arg := range map[string]string{"startup-trace-flags": "traceflag 1800 9567 on", "hadr": "set hadr.hadrenabled 1", "sqlagent-enabled": "set sqlagent.enabled true"} {
				r := byID[id]
				if r.Status != steps.ChangeApplied || r.Kind != steps.ChangeSSH || !strings.Contains(r.Output, "needs to be restarted") || r.Statements[0] != conf+" "+arg {
					t.Errorf("%s: %+v", id, r)
				}
			}
			b, _ := os.ReadFile(journal)
			j := string(b)
			for _, want := range []string{"mssql-conf traceflag 1800 9567 on", "mssql-conf set hadr.hadrenabled 1", "mssql-conf set sqlagent.enabled true"} {
				if !strings.Contains(j, want) {
					t.Errorf("the host did not run %q:\n%s", want, j)
				}
			}
			if len(asked) != 1 || asked[0] != "SQLPROD01" {
				t.Errorf("restart confirmation asked %v, want once for SQLPROD01", asked)
			}
			r := byID["restart"]
			if restarted := strings.Contains("\n"+j, "\nrestart\n"); restarted != confirm {
				t.Errorf("restarted %v with confirmation %v", restarted, confirm)
			}
			if want := map[bool]string{false: steps.ChangeSkipped, true: steps.ChangeApplied}[confirm]; r.Status != want {
				t.Errorf("restart record %+v, want %s", r, want)
			}
		})
	}
}
