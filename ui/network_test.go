package ui

import (
	"regexp"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/milink/milink/steps"
)

// TestNetworkFocusNeverHidden: PgDn that scrolls the focused field off screen takes
// the keyboard from it (typing edits nothing), and Tab brings the page back to it.
func TestNetworkFocusNeverHidden(t *testing.T) {
	m := newTestModel(t, testConfig(), 80, 22)
	onNetwork(t, m)
	if !strings.Contains(screenOf(m), "› SQL Server IP") {
		t.Fatalf("the IP field is not focused:\n%s", screenOf(m))
	}
	for range 3 {
		send(m, pgdown)
	}
	s := screenOf(m)
	if strings.Contains(s, "SQL Server IP") {
		t.Fatalf("PgDn did not scroll the field off screen:\n%s", s)
	}
	typeText(m, "x")
	if got := m.network.form.fields[nfIP].value(); got != "10.1.0.4" {
		t.Errorf("typing edited a field that is off screen: %q", got)
	}
	if !strings.Contains(s, "back to the fields") {
		t.Errorf("the footer does not say how to get back to the fields:\n%s", s)
	}
	send(m, keyTab)
	s = screenOf(m)
	if !strings.Contains(s, "› SQL Server IP") {
		t.Fatalf("Tab did not bring the focused field back:\n%s", s)
	}
	typeText(m, "9")
	if got := m.network.form.fields[nfIP].value(); got != "10.1.0.49" {
		t.Errorf("after Tab, typing gives %q", got)
	}
	// Tab to a field below the fold scrolls to it.
	for range 2 {
		send(m, keyTab)
	}
	if !strings.Contains(screenOf(m), "› SQL Server → MI probes") {
		t.Errorf("the focused choice is not on screen:\n%s", screenOf(m))
	}
}

// TestNetworkSSHFields: choosing ssh shows host, user, port, key file and
// known_hosts; the options carry user@host:port and the session gets the keys.
func TestNetworkSSHFields(t *testing.T) {
	m := newTestModel(t, testConfig(), 80, 22)
	onNetwork(t, m)
	if strings.Contains(screenOf(m), "SSH host") {
		t.Fatal("SSH fields shown before ssh is chosen")
	}
	m.network.form.focusOn(nfProbeFrom)
	for m.network.form.fields[nfProbeFrom].value() != steps.ProbeSSH {
		send(m, tea.KeyPressMsg{Code: tea.KeyRight})
	}
	s := screenOf(m)
	for _, want := range []string{"SSH host", "SSH user", "SSH port", "SSH key file", "SSH known_hosts"} {
		if !strings.Contains(s, want) {
			t.Errorf("ssh chosen: no %q field:\n%s", want, s)
		}
	}
	set := func(i int, v string) {
		m.network.form.focusOn(i)
		for range len(m.network.form.fields[i].input.Value()) {
			send(m, keyBack)
		}
		typeText(m, v)
	}
	set(nfSSHHost, "fe80::5")
	set(nfSSHUser, "dba")
	set(nfSSHPort, "2222")
	set(nfSSHKey, "/keys/id_ed25519")
	set(nfSSHKnownHosts, "/keys/known_hosts")
	o, err := m.network.options()
	if err != nil {
		t.Fatal(err)
	}
	if o.SSHHost != "dba@[fe80::5]:2222" {
		t.Errorf("SSHHost = %q, want dba@[fe80::5]:2222", o.SSHHost)
	}
	send(m, tea.WindowSizeMsg{Width: 120, Height: 60}) // the probe line is below the fold at 80×22
	if s := flat(screenOf(m)); !strings.Contains(s, "over SSH to dba@[fe80::5]:2222") {
		t.Errorf("the probe line does not name the SSH target:\n%s", screenOf(m))
	}
	c, _ := m.network.sshConfig()
	if len(c.Keys) != 1 || c.Keys[0] != "/keys/id_ed25519" || c.KnownHosts != "/keys/known_hosts" || c.User != "dba" {
		t.Errorf("SSH config = %+v", c)
	}
	set(nfSSHPort, "99999")
	if m.network.valid() || !strings.Contains(flat(screenOf(m)), "SSH port") {
		t.Errorf("port 99999 accepted or not explained:\n%s", screenOf(m))
	}
	// A bad user typed in the SSH user field is named as that field, and with the
	// bad port too: every bad field at once.
	set(nfSSHUser, "d ba")
	_, err = m.network.sshConfig()
	if err == nil || !strings.Contains(err.Error(), "SSH user:") || !strings.Contains(err.Error(), "SSH port:") || strings.Contains(err.Error(), "SSH host") {
		t.Errorf("bad SSH user and port: %v", err)
	}
}

// TestPortShowsServerFieldPort: a port given in the Server field (host,port) is what
// the empty Port field shows, not the default 1433.
func TestPortShowsServerFieldPort(t *testing.T) {
	cfg := testConfig()
	cfg.SQLServer.Host, cfg.SQLServer.Port = "127.0.0.1,24390", 0
	m := newTestModel(t, cfg, 120, 40)
	send(m, keyEnter) // Introduction → Prerequisites
	s := screenOf(m)
	if l := lineWith(s, "Port"); !strings.Contains(l, "24390 (from the Server field)") || strings.Contains(l, "1433") {
		t.Errorf("Port line %q:\n%s", l, s)
	}
	m.prereq.form.focusOn(cfServer)
	for range len("24390") + 1 {
		send(m, keyBack)
	}
	if l := lineWith(screenOf(m), "Port"); !strings.Contains(l, "1433") {
		t.Errorf("Port line after the port left the Server field: %q", l)
	}
}

// TestNetworkTextHasNoNestedParentheses: the probe line reads plainly whichever way
// the probes run.
func TestNetworkTextHasNoNestedParentheses(t *testing.T) {
	m := newTestModel(t, testConfig(), 120, 60)
	onNetwork(t, m)
	m.network.form.focusOn(nfProbeFrom)
	nested := regexp.MustCompile(`\([^()]*\(`)
	for range probeFromChoices {
		if s := flat(screenOf(m)); nested.MatchString(s) {
			t.Errorf("%s: nested parentheses in %q", m.network.form.fields[nfProbeFrom].value(), nested.FindString(s))
		}
		send(m, tea.KeyPressMsg{Code: tea.KeyRight})
	}
}
