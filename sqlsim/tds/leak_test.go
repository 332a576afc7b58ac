package tds

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"runtime"
	"strings"
	"testing"
)

// serverGoroutines returns the stacks of goroutines running server code.
func serverGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "sqlsim/tds.(*conn)") || strings.Contains(g, "sqlsim/tds.(*Server).Serve") {
			out = append(out, g)
		}
	}
	return out
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	h := newFakeHandler()
	srv := NewServer(Config{Handler: h, TLSConfig: getCerts(t).serverTLS})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	ts := &testServer{srv: srv, h: h, addr: l.Addr().(*net.TCPAddr)}

	// Idle logged-in connections, plain and encrypted.
	for _, enc := range []string{"disable", "true;TrustServerCertificate=true", "false;TrustServerCertificate=true"} {
		db := ts.open(t, "encrypt="+enc)
		if n := queryInt(t, db, "select 1"); n != 1 {
			t.Fatal(n)
		}
	}
	// A request blocked in its handler.
	blockedDB := ts.open(t, "encrypt=disable")
	go func() { _, _ = blockedDB.ExecContext(context.Background(), "run block") }()
	<-h.started
	// Clients stuck in PRELOGIN, in the TLS handshake and mid-message.
	for _, in := range [][]byte{nil, {0x12, 0x00, 0x00, 0x40}} {
		nc, err := net.Dial("tcp", ts.addr.String())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		if _, err := nc.Write(in); err != nil {
			t.Fatal(err)
		}
	}
	// A client that negotiated encryption and never starts the handshake.
	rc := dialRaw(t, ts)
	rc.send(pktPrelogin, buildPrelogin(map[byte][]byte{preEncryption: {encryptOn}}))
	if pl, err := parsePrelogin(rc.recv().data); err != nil || pl.encryption != encryptOn {
		t.Fatalf("PRELOGIN answer %+v, %v", pl, err)
	}
	waitFor(t, "all connections to be tracked", func() bool { return ts.liveConns() == 7 })

	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve returned %v", err)
	}
	// Close has waited for every connection; the goroutines may still be
	// returning from their last deferred call, so poll briefly.
	waitFor(t, "server goroutines to exit", func() bool { return len(serverGoroutines()) == 0 })
}

func TestServerTLSConfigDefaults(t *testing.T) {
	in := &tls.Config{}
	c := serverTLSConfig(in)
	if c.MaxVersion != tls.VersionTLS12 || !c.SessionTicketsDisabled || in.SessionTicketsDisabled {
		t.Fatalf("got MaxVersion %#x tickets disabled %v (input modified: %v)", c.MaxVersion, c.SessionTicketsDisabled, in.SessionTicketsDisabled)
	}
	if c := serverTLSConfig(&tls.Config{MaxVersion: tls.VersionTLS13}); c.MaxVersion != tls.VersionTLS13 {
		t.Fatalf("explicit MaxVersion overridden: %#x", c.MaxVersion)
	}
}
