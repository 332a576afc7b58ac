package ui

import (
	"encoding/pem"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
)

// TestPrereqTrustsCertificateOnFirstContact: a SQL Server certificate nothing vouches
// for is shown with its fingerprint and "trust this certificate?"; y connects pinned
// to it and records it (mode 0600), as ssh does on first contact.
func TestPrereqTrustsCertificateOnFirstContact(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	in, err := sqlsim.Start(sqlsim.SQLServerDefaults())
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	block, _ := pem.Decode(in.CACertPEM())
	fp := sqlops.Fingerprint(block.Bytes)
	cfg := testConfig()
	cfg.SQLServer.Host, cfg.SQLServer.Port, cfg.SQLServer.User, cfg.SQLServer.Password = in.Host(), in.Port(), "sa", simPassword
	cfg.SQLServer.CACertFile, cfg.SQLServer.LoginTimeout = "", 5*time.Second
	m := newTestModel(t, cfg, 100, 40)
	send(m, keyEnter) // Prerequisites
	send(m, runCmd(send(m, keyEnter)))
	s := strings.Join(strings.Fields(screenOf(m)), " ")
	if !strings.Contains(s, fp) || !strings.Contains(s, "Trust this certificate") {
		t.Fatalf("fingerprint or question not shown:\n%s", screenOf(m))
	}
	cmd := send(m, keyRune('y'))
	if cmd == nil || m.prereq.busy == "" {
		t.Fatal("y did not connect again")
	}
	send(m, runCmd(cmd))
	if m.prereq.err != nil || !strings.HasPrefix(m.prereq.busy, "Checking the link prerequisites") {
		t.Fatalf("not connected after y: busy %q, err %v", m.prereq.busy, m.prereq.err)
	}
	st, err := os.Stat(state + "/milink/known_servers")
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("known servers file: %v", err)
	}
	if data, _ := os.ReadFile(state + "/milink/known_servers"); !strings.Contains(string(data), fp) {
		t.Errorf("known servers file %q lacks %s", data, fp)
	}
}
