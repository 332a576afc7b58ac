package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestInventoryREADMEExample: the inventory in README's "Many pairs at once" section
// is testdata/inventory.yaml, and it loads: three pairs, their passwords from the
// variables and the file it names, the Kerberos pair without one.
func TestInventoryREADMEExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join("testdata", "inventory.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "\n### Many pairs at once")
	_, block, ok := strings.Cut(section, "```yaml\n")
	block, _, ok2 := strings.Cut(block, "```\n")
	if !ok || !ok2 || block != string(example) {
		t.Fatalf("README's inventory block is not testdata/inventory.yaml:\n%s", block)
	}
	dir := t.TempDir()
	path := writeFile(t, dir, "inventory.yaml", block, 0o600)
	writeFile(t, dir, "sqlprod02.pw", "pw-from-file\n", 0o600)
	env := map[string]string{"MILINK_PW_MI": "pw-mi", "MILINK_PW_SQLPROD01": "pw-01"}
	a := &app{getenv: func(k string) string { return env[k] }}
	pairs, err := a.loadInventory(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pairs {
		got = append(got, p.name+":"+p.cfg.SQLServer.Password+"/"+p.cfg.MI.Password+"/"+p.timeout.String())
	}
	want := "sqlprod01:pw-01/pw-mi/0s sqlprod02:pw-from-file/pw-mi/0s sqlfin01:/pw-mi/20m0s"
	if strings.Join(got, " ") != want {
		t.Errorf("pairs %q, want %q", strings.Join(got, " "), want)
	}
	if pairs[0].cfg.ProbeTimeout != 5*time.Second || len(pairs[1].cfg.Databases) != 2 || pairs[2].cfg.SQLServer.Host != `sqlfin01\FIN` {
		t.Errorf("settings: %+v / %+v / %+v", pairs[0].cfg.ProbeTimeout, pairs[1].cfg.Databases, pairs[2].cfg.SQLServer.Host)
	}
}
