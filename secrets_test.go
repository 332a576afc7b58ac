package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestChildProcessesInheritNoSecrets(t *testing.T) {
	p := startPair(t, nil, nil)
	bin := t.TempDir()
	dump := filepath.Join(t.TempDir(), "az-env")
	// A fake az that records its environment and fails, so nothing reaches Azure.
	script := "#!/bin/sh\nenv > '" + dump + "'\necho 'ERROR: fake az' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "az"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	const clientSecret = "Azure-Cl1ent-Secret"
	c := startMilink(t, []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "AZURE_CLIENT_SECRET=" + clientSecret},
		p.checkArgs("--azure-auth", "azure-cli",
			"--mi-resource-id", "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Sql/managedInstances/sqlmi-demo")...)
	c.wait(t, 2*time.Minute)
	env, err := os.ReadFile(dump)
	if err != nil {
		t.Fatalf("the fake az was not run (%v); stderr:\n%s\nstdout:\n%s", err, c.stderr(), c.stdout.String())
	}
	for _, secret := range []string{simPassword, "MILINK_SQL_PASSWORD", "MILINK_MI_PASSWORD", clientSecret} {
		if strings.Contains(string(env), secret) {
			t.Errorf("az inherited %q", secret)
		}
	}
	if !strings.Contains(string(env), "PATH=") {
		t.Errorf("the environment dump looks wrong: %q", env)
	}
}
