package ui

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/steps"
)

// readFixState reads what the Fix action changes, from SQL Server's catalog.
func readFixState(t *testing.T, p *simPair) (masterKey, full, backedUp, flags, agentXPs bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := sqlops.Open(ctx, sqlops.ConnConfig{Role: "state", Host: p.SQL.Host(), Port: p.SQL.Port(), User: "sa", Password: simPassword, CACertFile: p.sqlCA})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	masterKey, _ = c.HasMasterKey(ctx)
	dbs, _ := c.Databases(ctx)
	for _, d := range dbs {
		if d.Name == "Inventory" {
			full, backedUp = d.RecoveryModel == "FULL", d.LastFullBackup != nil
		}
	}
	tf, _ := c.TraceFlags(ctx)
	flags = len(tf) == 2
	ag, _ := c.Agent(ctx)
	return masterKey, full, backedUp, flags, ag.AgentXPs
}

// openPrerequisites starts the wizard on a tall terminal (the Fix view lists every
// statement) and validates the pre-filled Prerequisites page, waiting for the footer
// to offer f (or for footer, when given).
func openPrerequisites(t *testing.T, m *Model, footer ...string) (*recorder, *teatest.TestModel) {
	t.Helper()
	rec := newRecorder(m)
	tm := teatest.NewTestModel(t, rec, teatest.WithInitialTermSize(200, 90))
	waitScreen(t, rec, flowWait, "What the test creates")
	tm.Send(keyEnter)
	waitScreen(t, rec, flowWait, "Trust server certificate", "enter validate")
	tm.Send(keyEnter)
	if len(footer) == 0 {
		footer = []string{"f fix"}
	}
	waitScreen(t, rec, flowWait, append([]string{"Connected:", "Prerequisites:"}, footer...)...)
	return rec, tm
}

// TestFlowFix: the Prerequisites page's Fix action lists the exact statements, asks
// for the backup directory and the master key password (twice), and asks before it
// changes anything; "n" changes nothing, "y" applies every change and the
// prerequisites are checked again, before → after.
func TestFlowFix(t *testing.T) {
	const secret = "Fix-Secret-Passw0rd!"
	p := unpreparedScenario(t)
	m := NewModel(t.Context(), Options{Config: p.config(), ReportDir: t.TempDir()})
	rec, tm := openPrerequisites(t, m)
	tm.Send(keyRune('f'))
	waitScreen(t, rec, flowWait, "Fix: SQL Server SQLPROD01", "CREATE MASTER KEY ENCRYPTION BY PASSWORD = '<master_key_password>'",
		"ALTER DATABASE [Inventory] SET RECOVERY FULL;", "DBCC TRACEON(1800, -1);", fixBackupLabel)
	for range 6 { // the six changes' apply/skip fields, then the inputs
		tm.Send(keyTab)
	}
	tm.Type(`D:\Backup`)
	tm.Send(keyTab)
	tm.Type(secret)
	tm.Send(keyTab)
	tm.Type(secret)
	tm.Send(keyEnter)
	waitScreen(t, rec, flowWait, "Apply the chosen changes to SQL Server SQLPROD01 now?")
	tm.Send(keyRune('n'))
	waitScreen(t, rec, flowWait, "Nothing was changed.")
	if mk, full, bk, fl, xps := readFixState(t, p); mk || full || bk || fl || xps {
		t.Fatalf("declined, yet changed: master key %v, FULL %v, backup %v, flags %v, Agent XPs %v", mk, full, bk, fl, xps)
	}
	tm.Send(keyEnter)
	waitScreen(t, rec, flowWait, "Apply the chosen changes to SQL Server SQLPROD01 now?")
	tm.Send(keyRune('y'))
	waitScreen(t, rec, flowWait, "Fix: what changed", "applied Create the database master key", "master-key: fail → pass")
	if mk, full, bk, fl, xps := readFixState(t, p); !mk || !full || !bk || !fl || !xps {
		t.Errorf("after Fix: master key %v, FULL %v, backup %v, flags %v, Agent XPs %v", mk, full, bk, fl, xps)
	}
	tm.Send(keyEnter)
	waitScreen(t, rec, flowWait, "Prerequisites:", "Database Inventory: FULL recovery, backed up")
	if rep := m.sess.Report(); len(rep.Changes) < 6 || rep.Changes[0].By != "sa" {
		t.Errorf("report changes: %+v", rep.Changes)
	}
	tm.Send(keyCtrlC)
	waitScreen(t, rec, flowWait, "Quit?")
	tm.Send(keyRune('y'))
	tm.FinalModel(t, teatest.WithFinalTimeout(flowWait))
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, f := range rec.frames {
		if strings.Contains(f, secret) {
			t.Fatal("the master key password was drawn on the screen")
		}
	}
}

// fakeHost stands for the SSH prober: it records the host commands and answers as
// mssql-conf does after a setting.
type fakeHost struct {
	steps.Prober // never probes in these tests
	mu           sync.Mutex
	ran          []string
}

func (h *fakeHost) Run(_ context.Context, cmd string, _ time.Duration) (string, int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ran = append(h.ran, cmd)
	return "SQL Server needs to be restarted in order to apply this setting. Please run 'systemctl restart mssql-server.service'.", 0, nil
}

func (h *fakeHost) commands() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.ran, "\n")
}

// TestFlowFixRestart: on Linux over SSH the Fix action runs mssql-conf, shows its
// output, and asks separately before the restart, naming the instance and its open
// sessions; "n" leaves SQL Server running, "y" restarts it.
func TestFlowFixRestart(t *testing.T) {
	p := startScenario(t, sqlsim.Scenario{Name: "linux-hadr-off", SQL: func(o *sqlsim.Options) {
		o.Platform, o.Distribution, o.HadrEnabled = "Linux", "Ubuntu 22.04.4 LTS", false
	}}, 10*time.Millisecond)
	host := &fakeHost{}
	m := NewModel(t.Context(), Options{Config: p.config(), ReportDir: t.TempDir(), Prober: host})
	rec, tm := openPrerequisites(t, m)
	for _, restart := range []bool{false, true} {
		tm.Send(keyRune('f'))
		waitScreen(t, rec, flowWait, "Fix: SQL Server SQLPROD01", "sudo -n /opt/mssql/bin/mssql-conf set hadr.hadrenabled 1", "[shell over SSH]")
		tm.Send(keyEnter)
		waitScreen(t, rec, flowWait, "Apply the chosen changes to SQL Server SQLPROD01 now?")
		tm.Send(keyRune('y'))
		waitScreen(t, rec, flowWait, "Restart SQL Server SQLPROD01 now?", "open user session(s)")
		if strings.Contains(host.commands(), "systemctl restart") {
			t.Fatal("restarted before the answer")
		}
		answer := map[bool]rune{false: 'n', true: 'y'}[restart]
		tm.Send(keyRune(answer))
		waitScreen(t, rec, flowWait, "Fix: what changed", "applied Enable Always On availability groups", "needs to be restarted")
		if got := strings.Contains(host.commands(), "sudo -n systemctl restart mssql-server"); got != restart {
			t.Errorf("answer %c: restarted %v\n%s", answer, got, host.commands())
		}
		tm.Send(keyEnter)
		waitScreen(t, rec, flowWait, "Prerequisites:", "f fix")
	}
	tm.Send(keyCtrlC)
	waitScreen(t, rec, flowWait, "Quit?")
	tm.Send(keyRune('y'))
	tm.FinalModel(t, teatest.WithFinalTimeout(flowWait))
}

// unpreparedScenario is the acceptance state of issue 13.
func unpreparedScenario(t *testing.T) *simPair {
	return startScenario(t, sqlsim.Scenario{Name: "unprepared", SQL: func(o *sqlsim.Options) {
		o.MasterKey, o.TraceFlags, o.AgentXPs = false, nil, false
		o.Databases = append(o.Databases, sqlsim.Database{Name: "Inventory", RecoveryModel: "SIMPLE", LogFiles: 1})
		o.Directories = map[string]bool{`D:\Backup`: true}
	}}, 10*time.Millisecond)
}

// Accessible mode offers the same Fix after the Prerequisites: declined, nothing
// changes; accepted, every change is applied and the whole check then passes.
func TestAccessibleFix(t *testing.T) {
	const secret = "Acc-Secret-Passw0rd!"
	fixInput := "y\n" + `D:\Backup` + "\n" + secret + "\n" + secret + "\n"
	p := unpreparedScenario(t)
	_, out, _, _, _ := runAccessibleTest(t, Options{Config: p.config()}, sqlDefaults+fixInput+"n\n")
	if !strings.Contains(out, "Nothing was changed.") {
		t.Errorf("declined:\n%s", out)
	}
	if mk, full, bk, fl, xps := readFixState(t, p); mk || full || bk || fl || xps {
		t.Fatalf("declined, yet changed: %v %v %v %v %v", mk, full, bk, fl, xps)
	}
	code, out, rep, logs, err := runAccessibleTest(t, Options{Config: p.config()}, sqlDefaults+fixInput+"y\n"+miDefaults+"\n\n\n"+"\n"+"\n")
	if err != nil || code != steps.ExitOK {
		t.Fatalf("accepted: exit %d, %v\n%s", code, err, out)
	}
	for _, want := range []string{"ALTER DATABASE [Inventory] SET RECOVERY FULL;", "applied  Create the database master key", "master-key: fail → pass"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for where, s := range map[string]string{"the screen": out, "the report": rep, "the log": logs} {
		if strings.Contains(s, secret) {
			t.Errorf("the master key password is in %s", where)
		}
	}
}
