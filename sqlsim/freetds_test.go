package sqlsim

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFreeTDSClient connects with FreeTDS's tsql, a client independent of go-mssqldb,
// and runs a query. CI installs freetds-bin; elsewhere the test skips without it.
func TestFreeTDSClient(t *testing.T) {
	tsql, err := exec.LookPath("tsql")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tsql (Debian freetds-bin) is not installed; .ci/run installs it")
		}
		t.Skip("tsql (Debian freetds-bin) is not installed")
	}
	o := SQLServerDefaults()
	in, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	for _, tc := range []struct{ name, query, want string }{
		{"version", "SELECT @@VERSION", "16.0.4135.4"},
		{"tagged query", "/* milink:prereq.masterkey */ SELECT COUNT(*) AS master_keys FROM master.sys.symmetric_keys WHERE symmetric_key_id = 101", "master_keys"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, tsql, "-H", in.Host(), "-p", strconv.Itoa(in.Port()), "-U", "sa", "-P", o.Logins[0].Password)
			cmd.Env = append(os.Environ(), "TDSVER=7.4")
			cmd.Stdin = strings.NewReader(tc.query + "\ngo\nexit\n")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("tsql: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), tc.want) || !strings.Contains(string(out), "(1 row affected)") {
				t.Errorf("tsql output lacks %q:\n%s", tc.want, out)
			}
		})
	}
	// A wrong password is refused with 18456.
	cmd := exec.Command(tsql, "-H", in.Host(), "-p", strconv.Itoa(in.Port()), "-U", "sa", "-P", "wrong")
	cmd.Env = append(os.Environ(), "TDSVER=7.4")
	cmd.Stdin = strings.NewReader("exit\n")
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), "18456") && !strings.Contains(string(out), "Login failed") {
		t.Errorf("wrong password not refused:\n%s", out)
	}
}
