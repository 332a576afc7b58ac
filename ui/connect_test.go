package ui

import (
	"net"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

// TestConnectingShowsTimeAndEscCancels connects to a loopback server that accepts and
// never answers: the page shows the elapsed time and the limit, and Esc stops the
// connect at once (its command returns long before the 30 s limit) and stays on the
// page.
func TestConnectingShowsTimeAndEscCancels(t *testing.T) {
	// Never accepted: the kernel completes the handshake, nothing ever answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := testConfig()
	cfg.SQLServer.Host, cfg.SQLServer.Port = "127.0.0.1", ln.Addr().(*net.TCPAddr).Port
	cfg.SQLServer.LoginTimeout = 30 * time.Second
	m := newTestModel(t, cfg, 80, 22)
	send(m, keyEnter) // Prerequisites
	cmd := send(m, keyEnter)
	if cmd == nil || m.prereq.busy == "" {
		t.Fatal("Enter did not start connecting")
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- runCmd(cmd) }()
	if s := screenOf(m); !strings.Contains(s, "0s elapsed · gives up after 30s · Esc cancels") {
		t.Errorf("no elapsed time and limit:\n%s", s)
	}
	send(m, busyTickMsg(m.prereq.busySince.Add(3*time.Second)))
	if s := screenOf(m); !strings.Contains(s, "3s elapsed") {
		t.Errorf("the tick does not update the elapsed time:\n%s", s)
	}
	send(m, keyEsc)
	if m.page != pagePrereq || m.prereq.busy != "" || !strings.Contains(screenOf(m), "canceled") {
		t.Fatalf("Esc while connecting: page %v, busy %q:\n%s", m.page, m.prereq.busy, screenOf(m))
	}
	select {
	case msg := <-done:
		send(m, msg) // the late reply is dropped
		if m.prereq.busy != "" || m.prereq.reviewing {
			t.Errorf("the canceled connect's reply changed the page: busy %q", m.prereq.busy)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the connect did not stop within 5s of Esc")
	}
	if !m.prereq.form.focused {
		t.Error("the form is not editable after Esc")
	}
}

// TestConnectedLineWrapsAt80: the connection summary wraps instead of being cut
// ("certificate not veri…").
func TestConnectedLineWrapsAt80(t *testing.T) {
	cfg := testConfig()
	cfg.SQLServer.Host, cfg.SQLServer.TrustServerCertificate = "sqlprod01.corp.contoso.example.com", true
	m := newTestModel(t, cfg, 80, 22)
	onPrereqChecked(t, m, testPre("Windows"))
	if s := flat(screenOf(m)); !strings.Contains(s, "· certificate not verified") || strings.Contains(screenOf(m), "veri…") {
		t.Errorf("the connection line is cut:\n%s", screenOf(m))
	}
}
