package sqlops_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	. "github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
)

// loopbackOrSkip skips when ip (a 127.x address, loopback on Linux) cannot be bound.
func loopbackOrSkip(t *testing.T, ip string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", ip+":0")
	if err != nil {
		t.Skipf("%s is not usable here: %v", ip, err)
	}
	pc.Close()
}

func openNamed(server string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Open(ctx, ConnConfig{Role: "SQL Server", Host: server, User: "sa", Password: explainPW, LoginTimeout: 3 * time.Second, TrustServerCertificate: true})
	if err == nil {
		c.Close()
	}
	return err
}

// TestBrowserUnknownInstance: SQL Browser answers but has no such instance: the message
// lists the ones it has. (127.0.0.3: the main package's tests use 127.0.0.2:1434.)
func TestBrowserUnknownInstance(t *testing.T) {
	loopbackOrSkip(t, "127.0.0.3")
	b, err := sqlsim.StartBrowser("127.0.0.3:1434", map[string]int{"INST1": 1})
	if err != nil {
		t.Skipf("cannot bind 127.0.0.3:1434: %v", err)
	}
	defer b.Close()
	err = openNamed(`127.0.0.3\OTHER`)
	if !errors.Is(err, ErrBrowser) || !strings.Contains(err.Error(), `has no instance "OTHER"`) || !strings.Contains(err.Error(), "INST1") || !strings.Contains(err.Error(), "--sql-server") {
		t.Fatalf("unknown instance: %v", err)
	}
}

// TestBrowserNotRunning: nothing on UDP 1434 (the host answers ICMP port unreachable):
// SQL Browser is not running, and the message says how to give the port.
func TestBrowserNotRunning(t *testing.T) {
	loopbackOrSkip(t, "127.0.0.4")
	if pc, err := net.ListenPacket("udp", "127.0.0.4:1434"); err != nil {
		t.Skipf("127.0.0.4:1434 is in use: %v", err)
	} else {
		pc.Close()
	}
	err := openNamed(`127.0.0.4\INST1`)
	if !errors.Is(err, ErrBrowser) || !strings.Contains(err.Error(), "not running") || !strings.Contains(err.Error(), "--sql-port") || !strings.Contains(err.Error(), "127.0.0.4,PORT") {
		t.Fatalf("no Browser: %v", err)
	}
}
