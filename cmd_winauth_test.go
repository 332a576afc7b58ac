package main

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/sqlsim/krbtest"
	"github.com/milink/milink/steps"
)

// Windows authentication on the command line: --sql-auth, the Kerberos flags, and a
// DOMAIN\user under SQL authentication refused by name.

const (
	winUser = `MILINK\alice`
	winPW   = "Alice-Domain-Passw0rd!"
)

func windowsLogin(o *sqlsim.Options) {
	o.Logins = append(o.Logins, sqlsim.Login{Name: winUser, Password: winPW, Windows: true, Sysadmin: true})
	o.NTLMDomain = "MILINK"
}

func TestCheckWindowsAccountNeedsWindowsAuth(t *testing.T) {
	p := startPair(t, windowsLogin, nil)
	env := map[string]string{"MILINK_SQL_PASSWORD": winPW, "MILINK_MI_PASSWORD": simPassword}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--sql-user", winUser}, []string{"--sql-user:", `MILINK\alice is a Windows account`, "--sql-auth = windows", `"Windows login"`}},
		{[]string{"--sql-auth", "windows-ish"}, []string{"--sql-auth:", "sql, windows, kerberos, ntlm"}},
		{[]string{"--sql-auth", "ntlm", "--sql-user", "alice"}, []string{"--sql-user:", `DOMAIN\user`}},
	} {
		r := runApp(t, env, "", p.checkArgs(tc.args...)...)
		if r.code != steps.ExitUsage {
			t.Errorf("%q: exit code %d, want %d\n%s", tc.args, r.code, steps.ExitUsage, r.stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%q: stderr lacks %q:\n%s", tc.args, w, r.stderr)
			}
		}
	}
}

func TestCheckNTLM(t *testing.T) {
	p := startPair(t, windowsLogin, nil)
	env := map[string]string{"MILINK_SQL_PASSWORD": winPW, "MILINK_MI_PASSWORD": simPassword}
	r := runApp(t, env, "", p.checkArgs("--sql-auth", "ntlm", "--sql-user", winUser)...)
	if r.code != steps.ExitOK {
		t.Fatalf("exit code %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	env["MILINK_SQL_PASSWORD"] = "wrong"
	r = runApp(t, env, "", p.checkArgs("--sql-auth", "windows", "--sql-krb5-ccache", t.TempDir()+"/none", "--sql-user", winUser)...)
	if r.code != steps.ExitAuth || !strings.Contains(r.stdout+r.stderr, "NTLM login of MILINK\\alice refused") {
		t.Fatalf("wrong NTLM password: exit code %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestCheckKerberos: with a ticket cache no SQL Server password is asked for.
func TestCheckKerberos(t *testing.T) {
	kdc := krbtest.Start(t)
	p := startPair(t, windowsLogin, nil)
	spn := "MSSQLSvc/localhost:" + strconv.Itoa(p.sql.Port())
	kt, err := os.ReadFile(kdc.AddPrincipal(t, spn))
	if err != nil {
		t.Fatal(err)
	}
	p.sql.SetKerberos(&sqlsim.KerberosConfig{Keytab: kt, SPN: spn, Domain: "MILINK"})
	cc := kdc.Kinit(t, "alice", kdc.AddPrincipal(t, "alice"))
	env := map[string]string{"MILINK_MI_PASSWORD": simPassword}
	r := runApp(t, env, "", p.checkArgs("--sql-auth", "kerberos", "--sql-user", "", "--sql-spn", spn,
		"--sql-krb5-ccache", cc, "--sql-krb5-conf", kdc.Conf, "--sql-hostname-in-certificate", p.sql.Host())...)
	if r.code != steps.ExitOK {
		t.Fatalf("exit code %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
