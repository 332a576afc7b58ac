package sqlops_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
)

// silentListener accepts TCP connections on loopback and never answers (nor closes
// them until the test ends): a port behind something that swallows traffic. Each
// accepted connection is announced on the returned channel, which also keeps it open.
func silentListener(t *testing.T) (string, int, <-chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 64)
	go func() {
		for c, err := ln.Accept(); err == nil; c, err = ln.Accept() {
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for len(accepted) > 0 {
			(<-accepted).Close()
		}
	})
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	p, _ := strconv.Atoi(port)
	return host, p, accepted
}

// openWithin runs Open and fails the test when it has not returned within limit (a
// guard against the hang itself, not a synchronisation).
func openWithin(t *testing.T, ctx context.Context, cfg sqlops.ConnConfig, limit time.Duration) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		c, err := sqlops.Open(ctx, cfg)
		if c != nil {
			c.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		return time.Since(start), err
	case <-time.After(limit):
		t.Fatalf("Open against a silent port has not returned after %s", limit)
		return 0, nil
	}
}

// TestSilentPortTimesOut: a listener that accepts and never answers PRELOGIN makes
// Open fail after the login timeout with ErrConnect, not hang.
func TestSilentPortTimesOut(t *testing.T) {
	host, port, _ := silentListener(t)
	cfg := sqlops.ConnConfig{Role: "SQL Server", Host: host, Port: port, User: "sa", Password: "x", LoginTimeout: time.Second, DialTimeout: time.Second}
	took, err := openWithin(t, context.Background(), cfg, 15*time.Second)
	if !errors.Is(err, sqlops.ErrConnect) {
		t.Fatalf("err = %v, want ErrConnect", err)
	}
	if took > 5*time.Second {
		t.Errorf("gave up after %s, login timeout 1s", took)
	}
}

// TestCancelStopsAConnectAtOnce: canceling the context (the first Ctrl-C) ends a
// connect to a silent port at once, long before the login timeout.
func TestCancelStopsAConnectAtOnce(t *testing.T) {
	host, port, accepted := silentListener(t)
	cfg := sqlops.ConnConfig{Role: "SQL Server", Host: host, Port: port, User: "sa", Password: "x", LoginTimeout: time.Minute}
	ctx, cancel := context.WithCancel(context.Background())
	var took time.Duration
	var err error
	done := make(chan struct{})
	go func() {
		took, err = openWithin(t, ctx, cfg, 15*time.Second)
		close(done)
	}()
	c := <-accepted // the driver's connection is up and waiting for PRELOGIN's answer
	defer c.Close()
	cancel()
	<-done
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if took > 5*time.Second {
		t.Errorf("a canceled connect took %s", took)
	}
}

// TestRemovalStoppedByCancel: a removal whose context ends reports nothing as removed
// and leaves the objects in place (they are reported, not claimed).
func TestRemovalStoppedByCancel(t *testing.T) {
	key := sqlops.RandomKey()
	_, open := startSim(t, nil, nil)
	c := open(key)
	ctx := context.Background()
	run := sqlops.NewRunID()
	for _, n := range []string{"TestMILinkConnection", "NetHelper"} {
		createMarkedJob(t, c, key, n, run)
	}
	l, err := c.FindLeftovers(ctx)
	if err != nil || l.Count() != 2 {
		t.Fatalf("%+v %v", l, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	for _, r := range c.RemoveLeftovers(cctx, l) {
		if r.Removed || r.Err == nil {
			t.Errorf("canceled removal: %+v", r)
		}
	}
	if inv := inventoryOf(t, c); len(inv.Jobs) != 2 {
		t.Errorf("jobs: %+v", inv.Jobs)
	}
}
