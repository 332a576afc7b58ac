package ui

import (
	"errors"
	"strings"
	"testing"

	"github.com/milink/milink/steps"
)

// The SQL Server form offers Windows logins by name; a DOMAIN\user under "SQL login"
// is refused on the Authentication field instead of silently becoming NTLM.
func TestSQLFormWindowsLogin(t *testing.T) {
	base := steps.ConnConfig{Role: "SQL Server", Host: "sql01.contoso.com", User: `CONTOSO\alice`, Password: "pw"}

	f := newConnForm(base, "", nil)
	_, err := connConfig(&f, base)
	if err == nil || !errors.Is(err, steps.ErrInvalidInput) || !strings.Contains(err.Error(), `"Windows login"`) {
		t.Fatalf("DOMAIN\\user with SQL login: %v", err)
	}
	if got := invalidField(err); got != cfAuth {
		t.Errorf("error is about field %d, want the Authentication field (%d)", got, cfAuth)
	}

	ntlm := base
	ntlm.Auth = steps.AuthNTLM
	f = newConnForm(ntlm, "", nil)
	if got := f.fields[cfAuth].value(); got != "Windows login (NTLM)" {
		t.Errorf("pre-selected %q", got)
	}
	c, err := connConfig(&f, base)
	if err != nil || c.Auth != steps.AuthNTLM || c.Password != "pw" {
		t.Fatalf("NTLM: %+v, %v", c.Auth, err)
	}
	if s := connSummary(c, ""); !strings.Contains(s, `as CONTOSO\alice (Windows login, NTLM)`) || strings.Contains(s, "pw") {
		t.Errorf("summary %q", s)
	}

	krb := base
	krb.Auth, krb.User = steps.AuthKerberos, ""
	f = newConnForm(krb, "", nil)
	if !f.fields[cfPassword].hidden {
		t.Error("Kerberos: the password field is shown")
	}
	c, err = connConfig(&f, base)
	if err != nil || c.Auth != steps.AuthKerberos || c.Password != "" {
		t.Fatalf("Kerberos: %+v, %v", c.Auth, err)
	}
	if s := connSummary(c, ""); !strings.Contains(s, "Windows login (Kerberos, ticket cache)") {
		t.Errorf("summary %q", s)
	}
}
