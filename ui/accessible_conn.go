package ui

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"charm.land/huh/v2"
	"github.com/charmbracelet/x/term"

	"github.com/milink/milink/steps"
)

// The accessible wizard's connection questions: each instance's settings, the
// connect-and-retry loop, trust on first contact, Entra ID sign-in and passwords.

// connectLoop asks for one instance's connection settings, connects and runs after;
// on failure it shows the error and offers to change the settings. It returns the
// exit code when it gives up (the session keeps the connection).
func (a *accessible) connectLoop(cc *steps.ConnConfig, role, title string, mi bool, after func() error) (int, error) {
	for ask := true; ; ask = true {
		if err := a.askConnUnless(!ask, cc, role, title, mi); err != nil {
			code, _, err := a.abort(err)
			return code, err
		}
		method := authMethodOf(a.entra.label)
		var err error
		if mi && method != "" {
			a.printf("Connecting to %s %s with Entra ID (%s) …\n", role, cc.Address(), methodName(method))
			a.log.Info("connecting", "role", role, "address", cc.Address(), "auth", a.entra.label)
			err = a.connectEntra(cc, method)
			err = explainEntraError(err, lookupCloud(a.entra.cloud))
		} else {
			cc.Token = nil
			if mi {
				a.entra.signed = false
			}
			a.printf("Connecting to %s %s %s …\n", role, cc.Address(), cc.Who())
			a.log.Info("connecting", "role", role, "address", cc.Address(), "user", cc.User, "auth", cc.EffectiveAuth())
			if mi {
				err = a.sess.ConnectMI(a.ctx, *cc)
			} else {
				err = a.sess.ConnectSQLServer(a.ctx, *cc)
			}
		}
		if err == nil {
			if err = after(); err == nil {
				return 0, nil
			}
		}
		if a.ctx.Err() != nil {
			code, _, err := a.abort(a.ctx.Err())
			return code, err
		}
		a.printf("Error: %v\n", err)
		a.log.Warn("connection failed", "role", role, "address", cc.Address(), "error", err.Error())
		code := steps.ExitError
		switch {
		case errors.Is(err, steps.ErrAuth):
			code = steps.ExitAuth
			if cc.Token == nil {
				cc.Password = "" // ask again
			}
		case errors.Is(err, steps.ErrInvalidInput):
			code = steps.ExitUsage
		}
		if a.in.ended() {
			return code, nil
		}
		if trust, aerr := a.trustFirstContact(cc, role, err); aerr != nil {
			code, _, err := a.abort(aerr)
			return code, err
		} else if trust {
			ask = false
			continue
		}
		again, aerr := a.confirm("Change the settings and try again?", true)
		if aerr != nil {
			code, _, err := a.abort(aerr)
			return code, err
		}
		if !again || a.in.ended() {
			return code, nil
		}
	}
}

// askConnUnless is askConn, skipped when skip (the same settings are tried again).
func (a *accessible) askConnUnless(skip bool, cc *steps.ConnConfig, role, title string, mi bool) error {
	if skip {
		return nil
	}
	return a.askConn(cc, role, title, mi)
}

// trustFirstContact shows the fingerprint of a certificate err says is not trusted and
// asks, as ssh does on first contact, whether to trust it; yes pins cc to it and has
// the next connect record it in the known-servers file.
func (a *accessible) trustFirstContact(cc *steps.ConnConfig, role string, err error) (bool, error) {
	var u *steps.UntrustedCertError
	if !errors.As(err, &u) {
		return false, nil
	}
	a.printf("The %s's certificate is not signed by an authority this machine trusts.\n  SHA-256 fingerprint: %s\n", role, u.SHA256)
	a.printf("Compare it with the fingerprint the server's administrator reads on the server (e.g. openssl x509 -noout -fingerprint -sha256 -in the exported certificate).\n")
	yes, aerr := a.confirm("Trust this certificate and remember it for "+cc.Address()+"?", false)
	if aerr != nil || !yes {
		return false, aerr
	}
	cc.CertSHA256, cc.TrustOnFirstUse = u.SHA256, true
	a.log.Info("certificate trusted on first contact", "role", role, "address", cc.Address(), "sha256", u.SHA256)
	return true, nil
}

// connectEntra connects the session to the managed instance with an Entra access
// token: the credential is built (or reused) and the device code message is printed as
// a plain line.
func (a *accessible) connectEntra(cc *steps.ConnConfig, method steps.AuthMethod) error {
	cloud := lookupCloud(a.entra.cloud)
	opts := steps.CredentialOptions{TenantID: a.entra.tenant, ClientID: a.az.clientID, DeviceCodePrompt: a.devicePrompt}
	key := credKey(method, cloud.Name, opts.TenantID, opts.ClientID)
	if a.entra.key != key {
		a.entra.cred = nil
	}
	cred, err := a.sess.ConnectMIEntra(a.ctx, *cc, steps.EntraSignIn{Method: method, Cloud: cloud, Options: opts, Credential: a.entra.cred, New: a.az.newCred})
	if cred != nil {
		a.entra.cred, a.entra.key, a.entra.signed = cred, key, true
	}
	return err
}

// devicePrompt prints Entra's device code message as a plain line.
func (a *accessible) devicePrompt(_ context.Context, message, userCode, url string) error {
	if message == "" {
		message = deviceCodeText(deviceCodeMsg{code: userCode, url: url})
	}
	a.printf("%s\n", message)
	a.log.Info("Entra device code sign-in requested", "url", url)
	return nil
}

// askConn asks for one instance's connection settings with the current values as
// defaults. For the managed instance (mi) it also asks the authentication (SQL login
// or an Entra ID method), the Azure cloud and, for Entra ID, the tenant.
func (a *accessible) askConn(cc *steps.ConnConfig, role, title string, mi bool) error {
	host, user, ca := cc.Host, cc.User, cc.CACertFile
	port := ""
	if cc.Port != 0 {
		port = strconv.Itoa(cc.Port)
	}
	enc := orDefault(cc.Encrypt, steps.EncryptTrue)
	trust := cc.TrustServerCertificate
	var encOpts []huh.Option[string]
	for _, e := range encryptChoices {
		encOpts = append(encOpts, huh.NewOption(e, e))
	}
	first := []huh.Field{
		huh.NewInput().Title(withDefault(title+" server (host name or IP)", host)).Value(&host).
			Validate(orDefaultValidator(host, steps.ValidateServer)),
		huh.NewInput().Title(withDefault("Port", orDefault(port, "1433"))).Value(&port).
			Validate(orDefaultValidator(orDefault(port, "1433"), func(s string) error {
				n, err := strconv.Atoi(s)
				if err != nil {
					return fmt.Errorf("port %q is not a number", s)
				}
				return steps.ValidatePort(n)
			})),
	}
	label, cloud, tenant := authSQL, a.entra.cloud, a.entra.tenant
	if mi {
		label = a.entra.label
		choices, notes := authChoicesFor(true, true)
		var authOpts, cloudOpts []huh.Option[string]
		for i, c := range choices {
			authOpts = append(authOpts, huh.NewOption(c+": "+notes[i], c))
		}
		for _, c := range steps.CloudNames() {
			cloudOpts = append(cloudOpts, huh.NewOption(c, c))
		}
		first = append(first,
			huh.NewSelect[string]().Title(fmt.Sprintf("Authentication (now %s):", label)).Options(authOpts...).Value(&label),
			huh.NewSelect[string]().Title(fmt.Sprintf("Azure cloud (now %s):", cloud)).Options(cloudOpts...).Value(&cloud))
	} else {
		label = sqlAuthLabel(cc.Auth)
		choices, notes := authChoicesFor(false, true)
		var authOpts []huh.Option[string]
		for i, c := range choices {
			authOpts = append(authOpts, huh.NewOption(c+": "+notes[i], c))
		}
		first = append(first, huh.NewSelect[string]().Title(fmt.Sprintf("Authentication (now %s):", label)).Options(authOpts...).Value(&label))
	}
	if err := a.ask(first...); err != nil {
		return err
	}
	entra := authMethodOf(label) != ""
	kerberos := !mi && sqlAuthOf(label) == steps.AuthKerberos // the ticket cache signs in
	var second []huh.Field
	if !entra && !kerberos {
		second = append(second, huh.NewInput().Title(withDefault("User", user)).Value(&user).
			Validate(orDefaultValidator(user, func(s string) error {
				if s == "" {
					return errors.New("the user name is empty")
				}
				return nil
			})))
	}
	if mi && (entra || a.az.armSignsIn()) {
		second = append(second, huh.NewInput().Title(withDefault("Entra tenant ID (GUID or domain; empty: your home tenant)", tenant)).Value(&tenant).
			Validate(orDefaultValidator(tenant, func(s string) error { return steps.ValidateTenantID(strings.TrimSpace(s)) })))
	}
	second = append(second,
		huh.NewSelect[string]().Title(fmt.Sprintf("Encrypt (now %s):", enc)).Options(encOpts...).Value(&enc),
		huh.NewConfirm().Title("Trust the server certificate without verifying it?").Value(&trust),
		huh.NewInput().Title(withDefault("CA file (PEM; empty: system trust store)", ca)).Value(&ca),
	)
	if err := a.ask(second...); err != nil {
		return err
	}
	if a.in.ended() && (host == "" || (!entra && !kerberos && user == "")) {
		return errInputEnded
	}
	if mi {
		a.entra.label, a.entra.cloud, a.entra.tenant = label, cloud, strings.TrimSpace(tenant)
	}
	cc.Host, cc.CACertFile = strings.TrimSpace(host), strings.TrimSpace(ca)
	cc.Port, _ = strconv.Atoi(strings.TrimSpace(orDefault(port, "0")))
	cc.Encrypt, cc.TrustServerCertificate = enc, trust
	if entra {
		return nil // no user or password: an Entra access token signs in
	}
	if !mi {
		cc.Auth = sqlAuthOf(label)
	}
	if kerberos {
		cc.Password = ""
		return nil
	}
	cc.User = strings.TrimSpace(user)
	if cc.Password == "" {
		pw, err := a.askPassword(role)
		if err != nil {
			return err
		}
		cc.Password = pw
	}
	return nil
}

// askPassword reads a password without echo on a terminal (huh's password prompt), or
// a plain line when the input is not a terminal (nothing is echoed then anyway).
func (a *accessible) askPassword(role string) (string, error) {
	return a.askSecret(fmt.Sprintf("Password for the %s login:", role))
}

// askSecret reads a secret: without echo on a terminal, else one line of input.
func (a *accessible) askSecret(title string) (string, error) {
	if f, ok := a.o.In.(interface{ Fd() uintptr }); ok && term.IsTerminal(f.Fd()) {
		var pw string
		in := huh.NewInput().Title(title).EchoMode(huh.EchoModePassword).Value(&pw)
		if err := a.wait(func() error { return in.RunAccessible(a.out, a.o.In) }); err != nil {
			return "", err
		}
		return pw, nil
	}
	a.printf("%s ", title)
	var line []byte
	buf := make([]byte, 256)
	err := a.wait(func() error {
		for {
			n, err := a.in.Read(buf)
			line = append(line, buf[:n]...)
			if strings.HasSuffix(string(line), "\n") {
				return nil
			}
			if err != nil {
				if len(line) > 0 {
					return nil
				}
				return errInputEnded
			}
		}
	})
	a.printf("\n")
	return strings.TrimRight(string(line), "\r\n"), err
}
