package sqlops_test

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	. "github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/sqlsim/krbtest"
)

// Windows logins from Linux against sqlsim, through go-mssqldb's integratedauth: a real
// MIT KDC (sqlsim/krbtest) issues the tickets, sqlsim verifies the AP-REQ with the
// service keytab (gokrb5) and NTLMv2 responses against the account's password.

const (
	ntlmUser = `MILINK\alice`
	ntlmPW   = "Alice-Domain-Passw0rd!"
)

// winSim starts a simulated SQL Server that knows the Windows login MILINK\alice.
func winSim(t *testing.T) *sqlsim.Instance {
	t.Helper()
	return startExplainSim(t, func(o *sqlsim.Options) {
		o.Logins = append(o.Logins, sqlsim.Login{Name: ntlmUser, Password: ntlmPW, Windows: true, Sysadmin: true})
		o.NTLMDomain = "MILINK"
	})
}

// kerberosSim is winSim with the SPN MSSQLSvc/localhost:<port> registered in the KDC
// and its keytab given to the simulated server; it returns the user alice's keytab.
func kerberosSim(t *testing.T) (*sqlsim.Instance, *krbtest.KDC, string) {
	t.Helper()
	kdc := krbtest.Start(t)
	in := winSim(t)
	spn := "MSSQLSvc/localhost:" + strconv.Itoa(in.Port())
	kt, err := os.ReadFile(kdc.AddPrincipal(t, spn))
	if err != nil {
		t.Fatal(err)
	}
	in.SetKerberos(&sqlsim.KerberosConfig{Keytab: kt, SPN: spn, Domain: "MILINK"})
	return in, kdc, kdc.AddPrincipal(t, "alice")
}

// winCfg connects to in by the name localhost (the SPN names the host).
func winCfg(t *testing.T, in *sqlsim.Instance, auth string) ConnConfig {
	return ConnConfig{Host: "localhost", Port: in.Port(), Auth: auth, CACertFile: writeCA(t, in), HostNameInCertificate: in.Host()}
}

func wantLogin(t *testing.T, c *Conn, err error, login string) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	var name string
	if err := c.DB.QueryRow("SELECT SUSER_SNAME()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	if name != login {
		t.Errorf("logged in as %q, want %q", name, login)
	}
}

// ccacheCfg is a Kerberos connection (auth) to a kerberosSim with alice's tickets
// (kinit) in a credential cache.
func ccacheCfg(t *testing.T, auth string) (ConnConfig, *sqlsim.Instance, *krbtest.KDC) {
	t.Helper()
	in, kdc, aliceKT := kerberosSim(t)
	cfg := winCfg(t, in, auth)
	cfg.Krb5Conf = kdc.Conf
	cfg.Krb5CCache = kdc.Kinit(t, "alice", aliceKT)
	return cfg, in, kdc
}

func TestKerberosTicketCache(t *testing.T) {
	cfg, _, _ := ccacheCfg(t, AuthKerberos)
	c, err := openExplain(t, cfg)
	wantLogin(t, c, err, ntlmUser)
}

// TestWindowsAuthPicksKerberos: --sql-auth windows uses the ticket cache when there is one.
func TestWindowsAuthPicksKerberos(t *testing.T) {
	cfg, _, _ := ccacheCfg(t, AuthWindows)
	if got := cfg.EffectiveAuth(); got != AuthKerberos {
		t.Fatalf("EffectiveAuth = %q, want kerberos", got)
	}
	c, err := openExplain(t, cfg)
	wantLogin(t, c, err, ntlmUser)
}

func TestKerberosKeytab(t *testing.T) {
	in, kdc, aliceKT := kerberosSim(t)
	cfg := winCfg(t, in, AuthKerberos)
	cfg.Krb5Conf, cfg.Krb5Keytab, cfg.User = kdc.Conf, aliceKT, "alice@"+krbtest.Realm
	c, err := openExplain(t, cfg)
	wantLogin(t, c, err, ntlmUser)
}

func TestKerberosExpiredTicket(t *testing.T) {
	cfg, _, _ := ccacheCfg(t, AuthKerberos)
	krbtest.Expire(t, cfg.Krb5CCache)
	_, err := openExplain(t, cfg)
	wantExplained(t, err, "expired at", "run kinit alice@MILINK.TEST again", "--sql-krb5-keytab")
	if !errors.Is(err, ErrAuth) {
		t.Errorf("not ErrAuth: %v", err)
	}
}

func TestKerberosWrongSPN(t *testing.T) {
	cfg, _, _ := ccacheCfg(t, AuthKerberos)
	cfg.SPN = "MSSQLSvc/other.milink.test:1433"
	_, err := openExplain(t, cfg)
	wantExplained(t, err, "the KDC does not know the SPN MSSQLSvc/other.milink.test:1433", "--sql-spn")
}

// TestKerberosWrongTicket: the server's keytab is stale (the service account's key
// changed after it was exported), so the ticket the KDC issues cannot be decrypted.
func TestKerberosWrongTicket(t *testing.T) {
	cfg, in, kdc := ccacheCfg(t, AuthKerberos)
	kdc.Keytab(t, "MSSQLSvc/localhost:"+strconv.Itoa(in.Port())) // new key; the server keeps the old one
	_, err := openExplain(t, cfg)
	wantExplained(t, err, "could not accept the Kerberos ticket for MSSQLSvc/localhost:", "--sql-spn", "18452")
}

func TestNTLM(t *testing.T) {
	in := winSim(t)
	cfg := winCfg(t, in, AuthNTLM)
	cfg.User, cfg.Password = ntlmUser, ntlmPW
	c, err := openExplain(t, cfg)
	wantLogin(t, c, err, ntlmUser)
}

func TestNTLMWrongPassword(t *testing.T) {
	in := winSim(t)
	cfg := winCfg(t, in, AuthNTLM)
	cfg.User, cfg.Password = ntlmUser, "not-the-password"
	_, err := openExplain(t, cfg)
	wantExplained(t, err, `NTLM login of MILINK\alice refused: the domain password is wrong`, "--sql-user", "MILINK_SQL_PASSWORD")
	if strings.Contains(err.Error(), "not-the-password") {
		t.Errorf("message shows the password: %v", err)
	}
}

// TestSQLAuthWithWindowsAccount: DOMAIN\user under SQL authentication is refused
// before connecting, naming --sql-auth and the wizard's choice.
func TestSQLAuthWithWindowsAccount(t *testing.T) {
	in := winSim(t)
	cfg := winCfg(t, in, "")
	cfg.User, cfg.Password = ntlmUser, ntlmPW
	_, err := openExplain(t, cfg)
	wantExplained(t, err, `is a Windows account`, "--sql-auth = windows", `"Windows login"`)
	if !errors.Is(err, ErrInvalidInput) {
		t.Errorf("not ErrInvalidInput: %v", err)
	}
}

func TestServerSPN(t *testing.T) {
	for _, tc := range []struct {
		cfg  ConnConfig
		want string
	}{
		{ConnConfig{Host: "SQL01.contoso.com"}, "MSSQLSvc/sql01.contoso.com:1433"},
		{ConnConfig{Host: "sql01.contoso.com", Port: 14330}, "MSSQLSvc/sql01.contoso.com:14330"},
		{ConnConfig{Host: `sql01.contoso.com\INST1`}, "MSSQLSvc/sql01.contoso.com:INST1"},
		{ConnConfig{Host: "sql01.contoso.com,1500"}, "MSSQLSvc/sql01.contoso.com:1500"},
		{ConnConfig{Host: "sql01", SPN: "MSSQLSvc/sql01.contoso.com:1433"}, "MSSQLSvc/sql01.contoso.com:1433"},
	} {
		if got := tc.cfg.ServerSPN(); got != tc.want {
			t.Errorf("%+v: SPN %q, want %q", tc.cfg.Host, got, tc.want)
		}
	}
}

// TestKerberosLoginFromWindows: a login made with CREATE LOGIN … FROM WINDOWS admits
// the Kerberos principal; before it exists the authenticated account is refused
// with its own message.
func TestKerberosLoginFromWindows(t *testing.T) {
	in, kdc, _ := kerberosSim(t)
	cfg := winCfg(t, in, AuthKerberos)
	cfg.Krb5Conf = kdc.Conf
	cfg.Krb5CCache = kdc.Kinit(t, "bob", kdc.AddPrincipal(t, "bob"))
	_, err := openExplain(t, cfg)
	wantExplained(t, err, "authenticated but has no login on this server", "FROM WINDOWS", "18456")

	sa, err := openExplain(t, ConnConfig{Host: in.Host(), Port: in.Port(), CACertFile: writeCA(t, in)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sa.DB.Exec(`CREATE LOGIN [MILINK\bob] FROM WINDOWS`); err != nil {
		t.Fatal(err)
	}
	if _, err := sa.DB.Exec(`CREATE LOGIN [bob] FROM WINDOWS`); err == nil || !strings.Contains(err.Error(), "15407") {
		t.Errorf("CREATE LOGIN [bob] FROM WINDOWS: %v, want error 15407", err)
	}
	c, err := openExplain(t, cfg)
	wantLogin(t, c, err, `MILINK\bob`)
}
