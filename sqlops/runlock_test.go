package sqlops_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"

	"github.com/milink/milink/sqlops"
)

// until calls cond every few milliseconds until it is true, failing the test after
// limit: it waits for a state on the server, not for time to pass.
func until(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(limit)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%s: not within %s", what, limit)
		}
	}
}

// TestRunLockSurvivesAnOutage: a run's lock is held through a real TCP proxy; cutting
// the proxy ends the lock's session, so the run is no longer live (as after a crash),
// and once the proxy is back the lock is taken again on a new connection.
func TestRunLockSurvivesAnOutage(t *testing.T) {
	in, open := startSim(t, nil, nil)
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	px := toxiproxy.NewProxy(srv, "sql", "127.0.0.1:0", in.Addr())
	if err := px.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(px.Stop)
	direct := open(sqlops.RandomKey())
	cfg := direct.Cfg
	host, port, _ := net.SplitHostPort(px.Listen)
	cfg.Host = host
	cfg.Port, _ = strconv.Atoi(port)
	cfg.LoginTimeout = time.Second
	viaProxy, err := sqlops.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer viaProxy.Close()
	run := sqlops.NewRunID()
	lock, err := viaProxy.HoldRun(context.Background(), run, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	live := func() bool {
		v, err := direct.RunLive(context.Background(), run)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if !live() {
		t.Fatal("a held run is not live")
	}
	px.Stop()
	until(t, 10*time.Second, "the lock freed with its lost session", func() bool { return !live() })
	if err := px.Start(); err != nil {
		t.Fatal(err)
	}
	until(t, 10*time.Second, "the lock taken again after the outage", live)
	lock.Release()
	if live() {
		t.Error("released run still live")
	}
}

// TestReleasedRunIsNotLive: when Release returns, the run is no longer live, even when
// Release stops the keeper in the middle of a check (a tiny interval keeps it
// checking): the lock must not be left to a session the server has yet to end.
func TestReleasedRunIsNotLive(t *testing.T) {
	_, open := startSim(t, nil, nil)
	holder, observer := open(sqlops.RandomKey()), open(sqlops.RandomKey())
	for i := 0; i < 40; i++ {
		run := sqlops.NewRunID()
		lock, err := holder.HoldRun(context.Background(), run, time.Microsecond)
		if err != nil {
			t.Fatal(err)
		}
		lock.Release()
		live, err := observer.RunLive(context.Background(), run)
		if err != nil {
			t.Fatal(err)
		}
		if live {
			t.Fatalf("round %d: released run still live", i)
		}
	}
}
