package main

import (
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
)

// TestCheckSilentPort is the hang: a port that accepts connections and never
// answers (here: toxiproxy in front of the simulated SQL Server with a "timeout" toxic
// of 0, which swallows every byte and never closes). milink check with
// --sql-login-timeout 3s --sql-dial-timeout 2s gives up with exit 1 after about 3 s
// instead of waiting for ever.
func TestCheckSilentPort(t *testing.T) {
	p := startPair(t, nil, nil)
	px := toxiproxy.NewProxy(toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop()), "silent", "127.0.0.1:0", p.sql.Addr())
	if err := px.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(px.Stop)
	if _, err := px.Toxics.AddToxicJson(strings.NewReader(`{"name":"silence","type":"timeout","stream":"downstream","attributes":{"timeout":0}}`)); err != nil {
		t.Fatal(err)
	}
	_, port, _ := strings.Cut(px.Listen, ":")
	args := p.connArgs("check")
	for i, a := range args {
		if a == "--sql-port" {
			args[i+1] = port
		}
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		done <- runApp(t, pwEnv, "", append(args, "--sql-login-timeout", "3s", "--sql-dial-timeout", "2s", "-q")...)
	}()
	select {
	case r := <-done:
		took := time.Since(start)
		if r.code != 1 || !strings.Contains(r.stdout+r.stderr, "did not complete the login within 3s") {
			t.Errorf("exit %d after %s\n%s%s", r.code, took, r.stdout, r.stderr)
		}
		if took > 10*time.Second {
			t.Errorf("gave up after %s", took)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("milink check against a silent port still runs after 60 s")
	}
}
