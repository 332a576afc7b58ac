package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFile writes content to name in dir with mode perm and returns its path.
func writeFile(t *testing.T, dir, name, content string, perm os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil {
		t.Fatal(err)
	}
	return p
}

const goodPair = "  - name: a\n    sql_server: 127.0.0.1\n    mi_server: 127.0.0.2\n    sql_user: sa\n    mi_user: miadmin\n"

// TestInventoryBadInput: every kind of bad inventory is refused before any pair
// starts (no progress line), with exit 2 and an error naming the file, the pair and
// the field.
func TestInventoryBadInput(t *testing.T) {
	dir := t.TempDir()
	loose := writeFile(t, dir, "loose.pw", "secret\n", 0o644)
	env := map[string]string{"MILINK_PW": "secret", "MILINK_SQL_PASSWORD": "s", "MILINK_MI_PASSWORD": "m"}
	for _, c := range []struct {
		name, file, body string
		args             []string
		want             []string
	}{
		{"password in the file", "inv.yaml", goodPair + "  - name: b\n    sql_server: h\n    mi_server: m\n    sql_user: u\n    mi_user: u\n    sql_password: hunter2\n", nil,
			[]string{"pair 2 (b): sql_password: passwords are not accepted in the inventory file", "sql_password_env"}},
		{"password file readable by others", "inv.yaml", goodPair + "  - name: b\n    sql_server: h\n    mi_server: m\n    sql_user: u\n    mi_user: u\n    mi_password_file: " + loose + "\n", nil,
			[]string{"pair 2 (b): mi_password_file: " + loose + " has mode 0644", "chmod 600 " + loose}},
		{"unset variable", "inv.yaml", "pairs:\n" + goodPair + "    mi_password_env: MILINK_PW_NONE\n", nil,
			[]string{"pair 1 (a): mi_password_env: the environment variable MILINK_PW_NONE is not set"}},
		{"bad variable name", "inv.yaml", "pairs:\n" + goodPair + "    sql_password_env: 'A B'\n", nil,
			[]string{"pair 1 (a): sql_password_env:", "not an environment variable name"}},
		{"bad port", "inv.yaml", goodPair + "  - name: b\n    sql_server: h\n    mi_server: m\n    sql_port: 99999\n", nil,
			[]string{"pair 2 (b): sql_port: \"99999\": a port is a decimal number"}},
		{"unknown key", "inv.yaml", goodPair + "    sql_sever: x\n", nil, []string{"pair 1 (a): sql_sever: unknown setting"}},
		{"same name", "inv.yaml", goodPair + "  - name: A\n    sql_server: h\n    mi_server: m\n", nil, []string{"pair 2 (A): name: pair 1 has the same name"}},
		{"name that is a path", "inv.yaml", "- name: ../x\n  sql_server: h\n  mi_server: m\n", nil, []string{"pair 1: name: ../x is not a usable name"}},
		{"missing server", "inv.yaml", "- name: a\n  sql_server: h\n", nil, []string{"pair 1 (a): mi_server: is required"}},
		{"JSON syntax", "inv.json", `[{"name": "a",}]`, nil, []string{"inv.json: not valid JSON"}},
		{"YAML syntax", "inv.yaml", "- name: a\n sql_server: [\n", nil, []string{"inv.yaml: not valid YAML"}},
		{"no pairs", "inv.yaml", "pairs: []\n", nil, []string{"no pairs"}},
		{"Entra sign-in", "inv.yaml", goodPair + "    mi_auth: device-code\n", nil, []string{"pair 1 (a): mi_auth: Entra ID and Azure checks are not supported"}},
		{"short probe timeout", "inv.yaml", "defaults:\n  probe_timeout: 10ms\npairs:\n" + goodPair, nil,
			[]string{"pair 1 (a): probe_timeout must be at least 100ms"}},
		{"list for one value", "inv.yaml", "- name: a\n  sql_server: [h1, h2]\n  mi_server: m\n", nil, []string{"pair 1 (a): sql_server: takes one value, not a list"}},
		{"name in defaults", "inv.yaml", "defaults:\n  name: x\npairs:\n" + goodPair, nil, []string{"defaults: name: each pair has its own name"}},
		{"run option in a pair", "inv.yaml", goodPair + "    parallel: 3\n", nil, []string{"pair 1 (a): parallel: it is the run's (--parallel)"}},
		{"pair flag on the command line", "inv.yaml", goodPair, []string{"--sql-server", "x"},
			[]string{"--sql-server cannot be combined with --inventory: set sql_server in the inventory"}},
		{"watch in a pair", "inv.yaml", goodPair + "    watch: 10s\n", nil, []string{"pair 1 (a): watch: watch is not available with --inventory"}},
		{"watch in defaults", "inv.yaml", "defaults:\n  watch: 10s\npairs:\n" + goodPair, nil, []string{": defaults: watch: watch is not available with --inventory"}},
		{"--watch with an inventory", "inv.yaml", goodPair, []string{"--watch", "10s"},
			[]string{"--watch is not available with --inventory (each pair is checked once): watch one pair with milink check --watch"}},
		{"--config with an inventory", "inv.yaml", goodPair, []string{"--config", "x.json"}, []string{"--config cannot be combined with --inventory"}},
		{"parallel 0", "inv.yaml", goodPair, []string{"--parallel", "0"}, []string{"--parallel must be from 1 to 64, not 0"}},
		{"parallel 65", "inv.yaml", goodPair, []string{"--parallel", "65"}, []string{"--parallel must be from 1 to 64, not 65"}},
		{"pair timeout", "inv.yaml", goodPair, []string{"--pair-timeout", "10ms"}, []string{"--pair-timeout must be at least 1s"}},
		{"output", "inv.yaml", goodPair, []string{"--output", "xml"}, []string{"--output must be text, json, markdown or csv"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), c.file, c.body, 0o600)
			r := runApp(t, env, "", append([]string{"check", "--inventory", path, "--log-file", "-"}, c.args...)...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2\n%s", r.code, r.stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, r.stderr)
				}
			}
			// One error line and the usage hint every usage error ends with.
			errLine, hint, _ := strings.Cut(strings.TrimSpace(r.stderr), "\n")
			if strings.Contains(r.stderr, "hunter2") || errLine == "" || hint != "Run 'milink check --help' for usage." || r.stdout != "" {
				t.Errorf("more than the error line and the usage hint (a pair started?), or the password:\nstdout %q\nstderr %q", r.stdout, r.stderr)
			}
			if c.args == nil && !strings.Contains(r.stderr, "inventory "+path) {
				t.Errorf("the error does not name the file %s: %s", path, r.stderr)
			}
		})
	}
	if r := runApp(t, env, "", "check", "--parallel", "3"); r.code != 2 || !strings.Contains(r.stderr, "need --inventory") {
		t.Errorf("--parallel without --inventory: exit %d %s", r.code, r.stderr)
	}
	cfg := writeFile(t, dir, "config.json", `{"inventory": "inv.yaml"}`, 0o600)
	if r := runApp(t, env, "", "check", "--config", cfg, "--log-file", "-"); r.code != 2 || !strings.Contains(r.stderr, `unknown setting "inventory"`) {
		t.Errorf("inventory in --config: exit %d %s", r.code, r.stderr)
	}
}

// TestInventoryPasswords: a named variable is read once (two pairs share it) and then
// removed from the environment; a password file is taken from the inventory's
// directory; MILINK_SQL_PASSWORD / MILINK_MI_PASSWORD are the fallback.
func TestInventoryPasswords(t *testing.T) {
	t.Setenv("MILINK_PW_TEST_SQL", "from-env")
	dir := t.TempDir()
	writeFile(t, dir, "mi.pw", "from-file\r\nsecond line\n", 0o600)
	path := writeFile(t, dir, "inv.yaml", `defaults:
  sql_password_env: MILINK_PW_TEST_SQL
  mi_password_file: mi.pw
  sql_user: sa
  mi_user: miadmin
pairs:
  - {name: a, sql_server: h1, mi_server: m1}
  - {name: b, sql_server: h2, mi_server: m2}
  - {name: c, sql_server: h3, mi_server: m3, sql_password_env: "", mi_password_file: ""}
`, 0o600)
	reads := 0
	a := &app{getenv: func(k string) string {
		if k == "MILINK_PW_TEST_SQL" {
			reads++
		}
		if k == "MILINK_SQL_PASSWORD" || k == "MILINK_MI_PASSWORD" {
			return "common-" + k[7:9]
		}
		return os.Getenv(k)
	}}
	pairs, err := a.loadInventory(path)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{pairs[0].cfg.SQLServer.Password, pairs[0].cfg.MI.Password, pairs[1].cfg.SQLServer.Password, pairs[2].cfg.SQLServer.Password, pairs[2].cfg.MI.Password}
	want := []string{"from-env", "from-file", "from-env", "common-SQ", "common-MI"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("passwords %q, want %q", got, want)
	}
	if reads != 1 {
		t.Errorf("the variable was read %d times, want once", reads)
	}
	gotSrc := []string{pairs[0].cfg.SQLServer.PasswordSource, pairs[0].cfg.MI.PasswordSource, pairs[2].cfg.SQLServer.PasswordSource}
	wantSrc := []string{"the environment variable MILINK_PW_TEST_SQL (the inventory's sql_password_env)",
		"the file " + filepath.Join(dir, "mi.pw") + " (the inventory's mi_password_file)",
		"MILINK_SQL_PASSWORD (every pair's password without sql_password_env or sql_password_file in the inventory)"}
	if strings.Join(gotSrc, "|") != strings.Join(wantSrc, "|") {
		t.Errorf("password sources %q, want %q", gotSrc, wantSrc)
	}
	if _, still := os.LookupEnv("MILINK_PW_TEST_SQL"); still {
		t.Error("the password variable is still in the environment")
	}
	for _, p := range pairs {
		if strings.Contains(p.cleanup, "from-") || !strings.HasPrefix(p.cleanup, "milink cleanup --sql-server h") {
			t.Errorf("cleanup command %q", p.cleanup)
		}
	}
}

// TestInventoryJSON: a JSON inventory (a bare list) loads like YAML; numbers,
// booleans and lists become the flags' values.
func TestInventoryJSON(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "pairs", `[{"name": "j1", "sql_server": "db1", "sql_port": 14330, "sql_user": "sa",
  "sql_trust_server_certificate": true, "database": ["A", "B"], "mi_server": "mi1", "mi_user": "miadmin"}]`, 0o600)
	a := &app{getenv: func(k string) string {
		return map[string]string{"MILINK_SQL_PASSWORD": "s", "MILINK_MI_PASSWORD": "m"}[k]
	}}
	pairs, err := a.loadInventory(path)
	if err != nil {
		t.Fatal(err)
	}
	c := pairs[0].cfg
	if pairs[0].name != "j1" || c.SQLServer.Port != 14330 || !c.SQLServer.TrustServerCertificate || strings.Join(c.Databases, ",") != "A,B" || c.MI.Port != 0 {
		t.Errorf("pair %s: %+v", pairs[0].name, c)
	}
}
