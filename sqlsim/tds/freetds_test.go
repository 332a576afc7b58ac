package tds

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFreeTDS runs FreeTDS tsql (when installed, e.g. Debian's freetds-bin)
// against the server in plain, login-only TLS and full TLS modes.
func TestFreeTDS(t *testing.T) {
	tsql, err := exec.LookPath("tsql")
	if err != nil {
		t.Skip("tsql (FreeTDS) is not installed")
	}
	certs := getCerts(t)
	for _, tc := range []struct {
		name       string
		tls        bool
		encryption string // FreeTDS "encryption" setting
		loginClear bool   // LOGIN7 travels in clear text
		batchClear bool   // batches travel in clear text
	}{
		{"plain", false, "request", true, true},
		{"login-only TLS", true, "request", false, true},
		{"full TLS", true, "require", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, func(c *Config) {
				if tc.tls {
					c.TLSConfig = certs.selfTLS
				}
			})
			dir := t.TempDir()
			conf := filepath.Join(dir, "freetds.conf")
			if err := os.WriteFile(conf, []byte("[global]\n\tencryption = "+tc.encryption+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, tsql, "-H", "127.0.0.1", "-p", strconv.Itoa(ts.addr.Port), "-U", testUser, "-P", testPassword)
			cmd.Env = append(os.Environ(), "FREETDSCONF="+conf, "TDSVER=7.4", "HOME="+dir)
			cmd.Stdin = strings.NewReader("select 1\ngo\ntwo results\ngo\nrun types\ngo\nrun error\ngo\nexit\n")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("tsql: %v\n%s", err, out)
			}
			for _, want := range []string{
				"hello from PRINT", "x\ny", "7\t1\n8\tNULL",
				"héllo wörl\t010203\t255\t-32768\t2147483647\t-9223372036854775808\t1\t3.25\t1.5\t-1234.568",
				"6F9619FF-8B86-D011-B42D-00C04FC964FF",
				"Msg 2627 (severity 14, state 1) from TESTSRV",
			} {
				if !strings.Contains(string(out), want) {
					t.Errorf("tsql output lacks %q:\n%s", want, out)
				}
			}
			if got := ts.h.lastLogin(); got.UserName != testUser || got.Password != testPassword {
				t.Errorf("login %+v", got)
			}
			if got := ts.capture.contains(encodeUCS2(nil, "TSQL")); got != tc.loginClear {
				t.Errorf("LOGIN7 visible in clear text: %v, want %v", got, tc.loginClear)
			}
			if got := ts.capture.contains(encodeUCS2(nil, "two results")); got != tc.batchClear {
				t.Errorf("batch visible in clear text: %v, want %v", got, tc.batchClear)
			}
		})
	}
}
