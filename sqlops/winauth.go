package sqlops

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/credentials"
	mssql "github.com/microsoft/go-mssqldb"
)

// Authentication methods (ConnConfig.Auth, --sql-auth), named as sqlcmd and SSMS users
// know them: SQL Server Authentication, Windows Authentication (Kerberos or NTLM).
const (
	AuthSQL      = "sql"      // SQL login: user name and password checked by SQL Server (the default)
	AuthWindows  = "windows"  // Windows login: Kerberos when a keytab or ticket cache is there, else NTLM
	AuthKerberos = "kerberos" // Windows login with Kerberos: the ticket cache (kinit) or a keytab
	AuthNTLM     = "ntlm"     // Windows login with NTLM: DOMAIN\user and the domain password
)

// AuthNames lists the --sql-auth values.
var AuthNames = []string{AuthSQL, AuthWindows, AuthKerberos, AuthNTLM}

// ValidAuth reports whether s is an Auth value ("" is sql).
func ValidAuth(s string) bool {
	switch s {
	case "", AuthSQL, AuthWindows, AuthKerberos, AuthNTLM:
		return true
	}
	return false
}

// IsWindowsAuth reports whether auth is one of the Windows login methods.
func IsWindowsAuth(auth string) bool {
	return auth == AuthWindows || auth == AuthKerberos || auth == AuthNTLM
}

// authField is the wizard's authentication field and its Windows choice.
const (
	authField        = "Authentication"
	authWindowsLabel = "Windows login"
)

// DefaultCCache is the credential cache kinit fills: KRB5CCNAME (FILE: caches only),
// else /tmp/krb5cc_<uid>, MIT's default.
func DefaultCCache() string {
	if v := os.Getenv("KRB5CCNAME"); v != "" {
		return strings.TrimPrefix(v, "FILE:")
	}
	return "/tmp/krb5cc_" + strconv.Itoa(os.Getuid())
}

// ccache is Krb5CCache or the default one.
func (c ConnConfig) ccache() string {
	if c.Krb5CCache != "" {
		return c.Krb5CCache
	}
	return DefaultCCache()
}

// EffectiveAuth resolves AuthWindows: Kerberos when a keytab is given or a ticket
// cache exists (kinit was run), otherwise NTLM. "" is AuthSQL.
func (c ConnConfig) EffectiveAuth() string {
	switch c.Auth {
	case "":
		return AuthSQL
	case AuthWindows:
		if c.Krb5Keytab != "" {
			return AuthKerberos
		}
		if _, err := os.Stat(c.ccache()); err == nil {
			return AuthKerberos
		}
		return AuthNTLM
	}
	return c.Auth
}

// SPN is the service principal name Kerberos asks a ticket for: ConnConfig.SPN, else
// as SQL Server registers its SPNs ("Register a Service Principal Name for Kerberos
// Connections", learn.microsoft.com/sql/database-engine/configure-windows/register-a-service-principal-name-for-kerberos-connections):
// MSSQLSvc/<FQDN>:<port> for a default instance (TCP), MSSQLSvc/<FQDN>:<instancename>
// for a named instance (the form go-mssqldb also derives). <FQDN> is the host as given:
// the SPN names the server's DNS name, so an IP address or short name needs --sql-spn.
func (c ConnConfig) ServerSPN() string {
	if c.SPN != "" {
		return c.SPN
	}
	a := c.server()
	host := strings.ToLower(a.Host)
	if a.Instance != "" {
		return "MSSQLSvc/" + host + ":" + a.Instance
	}
	p := a.Port
	if p == 0 {
		p = 1433
	}
	return "MSSQLSvc/" + host + ":" + strconv.Itoa(p)
}

// Who says how c signs in, for progress lines and summaries (never a secret): "as sa",
// "as CONTOSO\alice (Windows login, NTLM)", "with Windows login (Kerberos, ticket
// cache)". Entra token logins are described by the caller.
func (c ConnConfig) Who() string {
	switch auth := c.EffectiveAuth(); {
	case auth == AuthKerberos && c.Krb5Keytab == "":
		if c.User != "" {
			return "with Windows login (Kerberos, ticket cache " + c.ccache() + ")"
		}
		return "with Windows login (Kerberos, ticket cache)"
	case auth == AuthKerberos:
		return "as " + c.User + " (Windows login, Kerberos keytab)"
	case auth == AuthNTLM:
		return "as " + c.User + " (Windows login, NTLM)"
	}
	return "as " + c.User
}

// validateAuth checks the authentication settings (the user and password limits are
// checked by Validate).
func (c ConnConfig) validateAuth() error {
	if !ValidAuth(c.Auth) {
		return fmt.Errorf("%w: %s must be one of %s, not %q", ErrInvalidInput, c.flag("auth"), strings.Join(AuthNames, ", "), c.Auth)
	}
	auth := c.EffectiveAuth()
	switch auth {
	case AuthSQL:
		if c.User == "" {
			return fmt.Errorf("%w: user name is empty", ErrInvalidInput)
		}
		if strings.Contains(c.User, `\`) {
			return fmt.Errorf(`%w: %s is a Windows account (DOMAIN\user), not a SQL login: choose Windows authentication, %s = windows (wizard: %q = %q), or give a SQL login in %s`,
				ErrInvalidInput, c.User, c.flag("auth"), authField, authWindowsLabel, c.fix("user", "User"))
		}
	case AuthNTLM:
		dom, user, ok := strings.Cut(c.User, `\`)
		if !ok || dom == "" || user == "" {
			why := "NTLM needs the account as DOMAIN\\user"
			if c.Auth == AuthWindows {
				why = "no Kerberos ticket cache (" + c.ccache() + ": run kinit) and no keytab, so Windows authentication uses NTLM, which needs the account as DOMAIN\\user"
			}
			return fmt.Errorf("%w: %s, not %q: set %s", ErrInvalidInput, why, c.User, c.fix("user", "User"))
		}
		if c.Password == "" {
			return fmt.Errorf("%w: NTLM needs the password of %s: give it with %s", ErrInvalidInput, c.User, c.passwordFix())
		}
	case AuthKerberos:
		if c.Krb5Keytab != "" && c.User == "" {
			return fmt.Errorf("%w: a keytab (%s) needs the principal it holds as the user (user or user@REALM) in %s", ErrInvalidInput, c.flag("krb5-keytab"), c.fix("user", "User"))
		}
	}
	return nil
}

// krb5Principal is the user as a Kerberos principal: DOMAIN\user becomes user (the
// realm comes from krb5.conf), user@REALM stays.
func krb5Principal(u string) string {
	if _, after, ok := strings.Cut(u, `\`); ok {
		return after
	}
	return u
}

// setAuth adds the authentication parameters to the go-mssqldb URL (dsn) and sets its
// user info. Kerberos (krb5auth.go, parameters as go-mssqldb's integratedauth/krb5):
// krb5-configfile, krb5-keytabfile or krb5-credcachefile, ServerSPN; NTLM
// (integratedauth/ntlm): authenticator=ntlm with DOMAIN\user and the password.
func (c ConnConfig) setAuth(q url.Values, u *url.URL) {
	switch c.EffectiveAuth() {
	case AuthKerberos:
		q.Set("authenticator", krb5Authenticator)
		if c.Krb5Conf != "" {
			q.Set("krb5-configfile", c.Krb5Conf)
		}
		if c.Krb5Keytab != "" {
			q.Set("krb5-keytabfile", c.Krb5Keytab)
			u.User = url.User(krb5Principal(c.User))
		} else {
			q.Set("krb5-credcachefile", c.ccache())
		}
		q.Set("ServerSPN", c.ServerSPN())
	case AuthNTLM:
		q.Set("authenticator", "ntlm")
		u.User = url.UserPassword(c.User, c.Password)
	default:
		u.User = url.UserPassword(c.User, c.Password)
	}
}

// checkTicketCache reports a missing or expired ticket cache before connecting, in
// one line with what fixes it.
func (c ConnConfig) checkTicketCache(now time.Time) error {
	if c.EffectiveAuth() != AuthKerberos || c.Krb5Keytab != "" {
		return nil
	}
	path := c.ccache()
	cc, err := credentials.LoadCCache(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w: Kerberos: no ticket cache at %s: run kinit user@REALM first, or give a keytab with %s, or the cache with %s",
				ErrAuth, path, c.flag("krb5-keytab"), c.flag("krb5-ccache"))
		}
		return fmt.Errorf("%w: Kerberos: cannot read the ticket cache %s (only FILE: caches are supported; run kinit -c FILE:/tmp/krb5cc_$(id -u)): %v", ErrAuth, path, err)
	}
	realm := cc.DefaultPrincipal.Realm
	for _, e := range cc.GetEntries() {
		if len(e.Server.PrincipalName.NameString) == 2 && e.Server.PrincipalName.NameString[0] == "krbtgt" && e.Server.PrincipalName.NameString[1] == realm {
			if now.After(e.EndTime) {
				return fmt.Errorf("%w: Kerberos: the ticket of %s@%s in %s expired at %s: run kinit %s@%s again (or give a keytab with %s)",
					ErrAuth, strings.Join(cc.DefaultPrincipal.PrincipalName.NameString, "/"), realm, path, e.EndTime.UTC().Format("2006-01-02 15:04 UTC"),
					strings.Join(cc.DefaultPrincipal.PrincipalName.NameString, "/"), realm, c.flag("krb5-keytab"))
			}
			return nil
		}
	}
	return fmt.Errorf("%w: Kerberos: the ticket cache %s holds no ticket-granting ticket for %s: run kinit again", ErrAuth, path, realm)
}

// explainWindowsAuth explains a failed Kerberos or NTLM login in one line naming the
// flag and wizard field that fix it; "" when err is not one of those.
func explainWindowsAuth(cfg ConnConfig, err error) string {
	auth := cfg.EffectiveAuth()
	if auth != AuthKerberos && auth != AuthNTLM {
		return ""
	}
	var me mssql.Error
	if errors.As(err, &me) {
		switch {
		case me.Number == 18452 && auth == AuthKerberos:
			return fmt.Sprintf("the server could not accept the Kerberos ticket for %s: the SPN is registered for another account than the one SQL Server runs as, or that account's key changed (wrong or stale ticket); check the SPN with setspn -L <service account> on Windows, give the right one with %s, and run kdestroy and kinit again",
				cfg.ServerSPN(), cfg.fix("spn", ""))
		case me.Number == 18452:
			return fmt.Sprintf("NTLM login of %s refused: the domain password is wrong (or the server does not trust that domain): check %s and the password, %s",
				cfg.User, cfg.fix("user", "User"), cfg.passwordFix())
		case me.Number == 18456:
			return fmt.Sprintf("the Windows account authenticated but has no login on this server (CREATE LOGIN [DOMAIN\\user] FROM WINDOWS) or may not connect: ask the DBA, or use another account in %s",
				cfg.fix("user", "User"))
		}
		return ""
	}
	msg := err.Error()
	switch {
	case auth == AuthNTLM:
		return ""
	case strings.Contains(msg, "KDC_ERR_S_PRINCIPAL_UNKNOWN"):
		return fmt.Sprintf("the KDC does not know the SPN %s (wrong SPN, or none registered for the SQL Server service account): give the registered one with %s (setspn -L <service account> lists them)",
			cfg.ServerSPN(), cfg.fix("spn", ""))
	case strings.Contains(msg, "KDC_ERR_C_PRINCIPAL_UNKNOWN"):
		return fmt.Sprintf("the KDC does not know the user %s: check %s (user or user@REALM)", cfg.User, cfg.fix("user", "User"))
	case strings.Contains(msg, "KDC_ERR_PREAUTH_FAILED"), strings.Contains(msg, "KRB_AP_ERR_BAD_INTEGRITY"):
		return fmt.Sprintf("the KDC refused the key in the keytab %s for %s (the keytab is stale: the password or key changed): export a new keytab, %s", cfg.Krb5Keytab, cfg.User, cfg.fix("krb5-keytab", ""))
	case strings.Contains(msg, "no valid existing session"), strings.Contains(msg, "TKT_EXPIRED"):
		return fmt.Sprintf("the Kerberos ticket in %s has expired: run kinit again (or give a keytab with %s)", cfg.ccache(), cfg.flag("krb5-keytab"))
	case strings.Contains(msg, "Networking_Error"), strings.Contains(msg, "failed sending AS_REQ"), strings.Contains(msg, "failed sending TGS_REQ"):
		return fmt.Sprintf("cannot reach the Kerberos KDC: check the realm's kdc entries in krb5.conf, %s (default KRB5_CONFIG or /etc/krb5.conf), and that TCP 88 to it is open", cfg.fix("krb5-conf", ""))
	case strings.Contains(msg, "krb5"), strings.Contains(msg, "Kerberos"), strings.Contains(msg, "KRB"):
		return fmt.Sprintf("Kerberos failed: check the ticket cache (klist), %s and %s", cfg.fix("krb5-conf", ""), cfg.fix("spn", ""))
	}
	return ""
}
