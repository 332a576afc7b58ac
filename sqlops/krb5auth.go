package sqlops

import (
	"fmt"
	"os"
	"strings"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/microsoft/go-mssqldb/integratedauth"
	"github.com/microsoft/go-mssqldb/msdsn"
)

// krb5Authenticator is the go-mssqldb integrated authenticator milink uses for
// Kerberos ("authenticator=milink-krb5"). It takes the same connection parameters as
// go-mssqldb's integratedauth/krb5 (krb5-configfile, krb5-keytabfile,
// krb5-credcachefile, ServerSPN) and the same library (gokrb5), but uses the SPN
// exactly as given: go-mssqldb v1.11.2's canonicalize() looks the SPN's host up as a
// CNAME and cuts the last character of the answer, assuming a trailing dot, which
// names from /etc/hosts do not have ("MSSQLSvc/localhost:1433" becomes
// "MSSQLSvc/localhos:1433", which the KDC does not know).
const krb5Authenticator = "milink-krb5"

func init() {
	if err := integratedauth.SetIntegratedAuthenticationProvider(krb5Authenticator, integratedauth.ProviderFunc(newKrb5Auth)); err != nil {
		panic(err)
	}
}

type krb5Auth struct {
	conf, keytab, ccache, user, spn string
	cl                              *client.Client
}

func newKrb5Auth(c msdsn.Config) (integratedauth.IntegratedAuthenticator, error) {
	a := &krb5Auth{conf: c.Parameters["krb5-configfile"], keytab: c.Parameters["krb5-keytabfile"],
		ccache: c.Parameters["krb5-credcachefile"], user: c.User, spn: c.ServerSPN}
	if a.conf == "" {
		a.conf = os.Getenv("KRB5_CONFIG")
	}
	if a.conf == "" {
		a.conf = "/etc/krb5.conf"
	}
	if a.keytab == "" && a.ccache == "" {
		return nil, fmt.Errorf("krb5: neither a keytab nor a credential cache is given")
	}
	return a, nil
}

func (a *krb5Auth) InitialBytes() ([]byte, error) {
	cfg, err := config.Load(a.conf)
	if err != nil {
		return nil, fmt.Errorf("krb5: reading %s: %w", a.conf, err)
	}
	var cl *client.Client
	if a.keytab != "" {
		kt, err := keytab.Load(a.keytab)
		if err != nil {
			return nil, fmt.Errorf("krb5: reading keytab %s: %w", a.keytab, err)
		}
		user, realm, _ := strings.Cut(a.user, "@")
		if realm == "" {
			realm = cfg.LibDefaults.DefaultRealm
		}
		cl = client.NewWithKeytab(user, realm, kt, cfg, client.DisablePAFXFAST(true))
	} else {
		cc, err := credentials.LoadCCache(a.ccache)
		if err != nil {
			return nil, fmt.Errorf("krb5: reading ticket cache %s: %w", a.ccache, err)
		}
		if cl, err = client.NewFromCCache(cc, cfg, client.DisablePAFXFAST(true)); err != nil {
			return nil, fmt.Errorf("krb5: ticket cache %s: %w", a.ccache, err)
		}
	}
	if err := cl.Login(); err != nil {
		cl.Destroy()
		return nil, err
	}
	a.cl = cl
	tok, err := spnego.SPNEGOClient(cl, a.spn).InitSecContext()
	if err != nil {
		return nil, err
	}
	return tok.Marshal()
}

// NextBytes accepts the server's SPNEGO answer (mutual authentication is not asked for).
func (a *krb5Auth) NextBytes(b []byte) ([]byte, error) {
	var resp spnego.SPNEGOToken
	if err := resp.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("krb5: the server's SPNEGO answer: %w", err)
	}
	return nil, nil
}

func (a *krb5Auth) Free() {
	if a.cl != nil {
		a.cl.Destroy()
		a.cl = nil
	}
}
