package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"

	"charm.land/huh/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/term"

	"github.com/milink/milink/steps"
)

// Accessible mode: no full-screen program. The same steps as the wizard, asked with
// huh forms in accessible mode (one plain prompt per line; pre-filled values are
// defaults accepted with Enter) and reported as plain progress lines. Used for
// Options.Accessible and TERM=dumb.

// errInputEnded is returned when the keyboard input ended before the wizard did.
var errInputEnded = errors.New("input ended before the wizard was finished")

// lineReader hands out at most one line per Read, reading byte by byte, so each of
// huh's per-prompt bufio.Scanners gets exactly its own line and nothing is read ahead
// (also when In is a pipe). It remembers when the input ended.
type lineReader struct {
	r   io.Reader
	mu  sync.Mutex
	eof bool
}

func (l *lineReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	var b [1]byte
	for n < len(p) {
		k, err := l.r.Read(b[:])
		if k == 1 {
			p[n] = b[0]
			n++
			if b[0] == '\n' {
				return n, nil
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				l.eof = true
			}
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
	}
	return n, nil
}

func (l *lineReader) ended() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.eof
}

type accessible struct {
	ctx   context.Context
	o     Options
	in    *lineReader
	out   io.Writer
	outMu sync.Mutex
	log   *slog.Logger
	cfg   steps.Config
	sess  *steps.Session
	az    azureSetup
	azErr error
	entra accEntra
}

// accEntra is the managed instance login's authentication in accessible mode.
type accEntra struct {
	label   string // authentication choice (authSQL or an entraChoices label)
	cloud   string
	tenant  string
	cred    steps.Credential // Entra credential of the last Entra login
	key     string
	signed  bool             // the managed instance login used cred
	armCred steps.Credential // credential of the Azure checks when AzureAuth names another method
	armKey  string
}

func runAccessible(ctx context.Context, o Options) (int, error) {
	cfg := o.Config
	cfg.Defaults()
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Without a full-screen program the terminal is in cooked mode, so Ctrl-C is SIGINT:
	// the first one cancels the run (a running test is stopped and cleaned up, then the
	// report is printed with 130); a second one ends milink at once.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	a := &accessible{ctx: ctx, o: o, in: &lineReader{r: o.In}, out: &colorprofile.Writer{Forward: o.Out, Profile: colorprofile.NoTTY}, log: log, cfg: cfg}
	a.sess = steps.NewSession(cfg, steps.SessionOptions{Prober: o.Prober})
	defer a.sess.Close()
	a.az, a.azErr = parseAzureOptions(o.Azure)
	a.entra = accEntra{label: authLabel(a.az.miMethod), cloud: a.az.cloud, tenant: a.az.tenant}
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-ctx.Done():
			stop()
			select {
			case <-finished:
			default:
				a.printf("\nmilink: interrupted; cleaning up what this run created (Ctrl-C again abandons the cleanup)\n")
				log.Info("interrupted")
			}
		case <-finished:
		}
	}()
	code, rep, err := a.run()
	if rep != nil && o.ReportOut != nil {
		if werr := rep.WriteText(o.ReportOut); werr != nil && err == nil {
			err = werr
		}
	}
	log.Info("accessible wizard closed", "exit_code", code)
	return code, err
}

func (a *accessible) printf(format string, args ...any) {
	a.outMu.Lock()
	defer a.outMu.Unlock()
	fmt.Fprintf(a.out, format, args...)
}

// ask runs a huh form in accessible mode; it gives up when ctx is canceled.
func (a *accessible) ask(fields ...huh.Field) error {
	f := huh.NewForm(huh.NewGroup(fields...)).WithAccessible(true).WithInput(a.in).WithOutput(a.out)
	return a.wait(f.Run)
}

// wait runs fn (which reads the keyboard) unless ctx ends first.
func (a *accessible) wait(fn func() error) error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-a.ctx.Done():
		return a.ctx.Err()
	}
}

// confirm asks a yes/no question.
func (a *accessible) confirm(title string, def bool) (bool, error) {
	v := def
	if err := a.ask(huh.NewConfirm().Title(title).Value(&v)); err != nil {
		return false, err
	}
	return v, nil
}

func withDefault(label, def string) string {
	if def == "" {
		return label + ":"
	}
	return fmt.Sprintf("%s [%s]:", label, def)
}

// orDefaultValidator validates the answer, or the default when the answer is empty.
func orDefaultValidator(def string, check func(string) error) func(string) error {
	return func(s string) error {
		s = strings.TrimSpace(s)
		if s == "" {
			s = def
		}
		return check(s)
	}
}

func (a *accessible) run() (int, *steps.Report, error) {
	intro := a.sess.Introduction()
	a.printf("milink · Azure SQL Managed Instance link · network check\n")
	if a.o.Banner != "" {
		a.printf("%s\n", a.o.Banner)
	}
	if a.azErr != nil {
		a.printf("Azure options: %v (the defaults are used)\n", a.azErr)
	}
	a.printf("\nStep 1 of 6: Introduction\nWhat the test creates (and removes afterwards):\n")
	for _, c := range intro.Creates {
		a.printf("  - %s: %s (%s)\n", c.Server, c.Description, c.Detail)
	}
	for _, n := range intro.Notes {
		a.printf("  * %s\n", n)
	}

	// Prerequisites.
	a.printf("\nStep 2 of 6: Prerequisites (SQL Server)\n")
	var pre *steps.Prerequisites
	if code, err := a.connectLoop(&a.cfg.SQLServer, "SQL Server", "SQL Server", false, func() error {
		a.printf("Checking the link prerequisites on SQL Server …\n")
		var err error
		pre, err = a.sess.CheckPrerequisites(a.ctx)
		return err
	}); pre == nil {
		return code, nil, err
	}
	a.printf("SQL Server %s %s, %s, %s\n", pre.Server.ServerName, pre.Server.ProductVersion, pre.Server.Edition, pre.Platform())
	a.printFindings(pre.Findings, pre.Platform())
	fixed, err := a.offerFix(pre)
	if err != nil {
		return a.abort(err)
	}
	pre = fixed

	// Login.
	a.printf("\nStep 3 of 6: Login (managed instance)\n")
	var mi *steps.ManagedInstance
	if code, err := a.connectLoop(&a.cfg.MI, "managed instance", "Managed instance", true, func() error {
		a.printf("Discovering the managed instance's FQDN, node and HADR port …\n")
		var err error
		mi, err = a.sess.DiscoverMI(a.ctx)
		return err
	}); mi == nil {
		return code, nil, err
	}
	a.printf("Managed instance %s: node %s, HADR port %d, version %s\n", mi.Params.FQDN, mi.Params.Node, mi.Params.HadrPort, mi.Server.ProductVersion)
	a.printFindings(mi.Findings, "Windows")

	// Network options.
	a.printf("\nStep 4 of 6: Network Options\n")
	defaults, err := a.sess.NetworkDefaults()
	if err != nil {
		return steps.ExitError, nil, err
	}
	opts, err := a.askNetwork(defaults)
	if err != nil {
		return a.abort(err)
	}

	// Azure checks (in the background while the plan is built).
	a.printf("Checking the managed instance in Azure (cloud, allowlist, permissions, NSG rules) …\n")
	azDone := make(chan steps.AzureInfo, 1)
	go func() { azDone <- a.azureCheck(opts) }()

	// Summary.
	a.printf("\nStep 5 of 6: Summary\nBuilding the plan …\n")
	plan, err := a.sess.BuildPlan(a.ctx, opts)
	select {
	case info := <-azDone:
		a.sess.SetAzure(info)
		a.printAzure(info)
	case <-a.ctx.Done():
	}
	if err != nil {
		if a.ctx.Err() != nil {
			return a.abort(a.ctx.Err())
		}
		a.printf("The plan could not be built: %v\n", err)
		code := steps.ExitError
		if errors.Is(err, steps.ErrInvalidInput) {
			code = steps.ExitUsage
		}
		return code, nil, nil
	}
	a.printFindings(plan.Findings, pre.Platform())
	if !plan.RunSQLToMI {
		a.printf("SKIP %s: %s\n", steps.SQLToMI, plan.SQLToMISkipReason)
	}
	if !plan.RunMIToSQL {
		a.printf("SKIP %s: %s\n", steps.MIToSQL, plan.MIToSQLSkipReason)
	}
	a.printf("Actions, in order (run %s):\n", plan.RunID)
	for i, act := range plan.Actions {
		a.printf("  %2d. %s: %s\n", i+1, act.Server, act.Description)
		if act.Detail != "" {
			a.printf("      %s\n", act.Detail)
		}
	}
	start, err := a.confirm("Start the test now? Nothing has been created yet; everything created is removed afterwards.", true)
	if err != nil {
		return a.abort(err)
	}
	if !start {
		a.printf("Nothing was created.\n")
		return steps.ExitInterrupted, nil, nil
	}

	// Results.
	a.printf("\nStep 6 of 6: Results\n")
	sink := func(ev steps.Event) {
		a.log.Info("event", "kind", string(ev.Kind), "direction", string(ev.Direction), "message", ev.Message)
		a.printf("  %s  %s\n", ev.Time.Format("15:04:05"), eventText(ev))
	}
	rep := a.sess.Run(a.ctx, sink)
	a.printf("Result: %s (exit code %d)\n", rep.Outcome, rep.ExitCode)
	if a.ctx.Err() == nil {
		dir := a.o.ReportDir
		if dir == "" {
			dir = "the current directory"
		}
		save, err := a.confirm(fmt.Sprintf("Save the report (Markdown and JSON) in %s?", dir), false)
		if err == nil && save {
			paths, err := saveReport(rep, a.o.ReportDir)
			if err != nil {
				a.printf("%v\n", err)
			}
			for _, p := range paths {
				a.printf("Saved %s\n", p)
			}
		}
	}
	return rep.ExitCode, rep, nil
}

// abort turns an interruption or the end of the input into an exit code.
func (a *accessible) abort(err error) (int, *steps.Report, error) {
	if a.ctx.Err() != nil || errors.Is(err, huh.ErrUserAborted) {
		a.printf("\nInterrupted; nothing was created.\n")
		return steps.ExitInterrupted, nil, nil
	}
	if errors.Is(err, errInputEnded) {
		return steps.ExitUsage, nil, err
	}
	return steps.ExitError, nil, err
}

func (a *accessible) printFindings(fs []steps.Finding, platform string) {
	if len(fs) == 0 {
		return
	}
	for _, f := range sortedFindings(fs) {
		a.printf("  %s  %s\n", strings.ToUpper(string(f.Severity)), f.Title)
		if f.Severity != steps.Warn && f.Severity != steps.Fail {
			continue
		}
		if f.Detail != "" {
			a.printf("        %s\n", f.Detail)
		}
		for _, x := range fixesToShow(f, platform) {
			a.printf("        Fix (%s): %s\n", x.Platform, x.Command)
		}
	}
}

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

// azureCheck runs the Azure checks with the sign-in AzureAuth asks for (see
// Model.armSignIn).
func (a *accessible) azureCheck(opts steps.NetworkOptions) steps.AzureInfo {
	cloud := lookupCloud(a.entra.cloud)
	var cred steps.Credential
	var signInErr error
	switch a.az.armAuth {
	case armNone:
	case armFollow:
		if a.entra.signed {
			cred = a.entra.cred
		}
	default:
		opts := steps.CredentialOptions{TenantID: a.entra.tenant, ClientID: a.az.clientID, DeviceCodePrompt: a.devicePrompt}
		key := credKey(a.az.armMethod, cloud.Name, opts.TenantID, opts.ClientID)
		switch {
		case a.entra.signed && a.entra.key == key:
			cred = a.entra.cred
		case a.entra.armCred != nil && a.entra.armKey == key:
			cred = a.entra.armCred
		default:
			cred, signInErr = a.az.newCred(a.az.armMethod, cloud, opts)
			if signInErr == nil {
				a.entra.armCred, a.entra.armKey = cred, key
			}
		}
	}
	info, _ := a.sess.CheckAzure(a.ctx, steps.NewAzureChecker(cloud, cred, a.az.ref, a.az.subs), opts)
	if signInErr != nil {
		info.Findings = append(info.Findings, signInFinding(signInErr))
	}
	return info
}

// printAzure prints the Azure findings and the allowlist.
func (a *accessible) printAzure(info steps.AzureInfo) {
	a.printf("Azure (%s):\n", info.Cloud)
	a.printFindings(info.Findings, "Windows")
	if len(info.Allowlist) > 0 {
		a.printf("Add to your allowlist (%s): proxies and firewalls between SQL Server and Azure must let these through\n", info.Cloud)
		for _, e := range info.Allowlist {
			a.printf("  %s: %s\n", e.Name, e.URL)
		}
	}
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

// askNetwork asks for the SQL Server address the managed instance probes, the probe
// timeout and where the SQL Server → managed instance probes run.
func (a *accessible) askNetwork(d steps.NetworkOptions) (steps.NetworkOptions, error) {
	a.printf("Managed instance (discovered): FQDN %s, node %s, HADR port %d; SQL Server endpoint port %d\n",
		d.MI.FQDN, d.MI.Node, d.MI.HadrPort, d.EndpointPort)
	ip := d.SQLServerIP
	timeout := d.ProbeTimeout.String()
	from := orDefault(d.ProbeFrom, steps.ProbeAuto)
	var fromOpts []huh.Option[string]
	for _, c := range probeFromChoices {
		fromOpts = append(fromOpts, huh.NewOption(c+": "+probeFromHelp[c], c))
	}
	for {
		defIP, defTimeout := ip, timeout
		err := a.ask(
			huh.NewInput().Title(withDefault("SQL Server IP (as the managed instance reaches it)", defIP)).Value(&ip).
				Validate(orDefaultValidator(defIP, steps.ValidateHost)),
			huh.NewInput().Title(withDefault("Probe timeout", defTimeout)).Value(&timeout).
				Validate(orDefaultValidator(defTimeout, func(s string) error { _, err := parseTimeout(s); return err })),
			huh.NewSelect[string]().Title(fmt.Sprintf("Where the SQL Server → MI probes run (now %s):", from)).Options(fromOpts...).Value(&from),
		)
		if err != nil {
			return steps.NetworkOptions{}, err
		}
		ip, timeout = strings.TrimSpace(ip), strings.TrimSpace(timeout)
		opts := d
		opts.SQLServerIP, opts.ProbeFrom = ip, from
		d, err := parseTimeout(timeout)
		if err == nil {
			opts.ProbeTimeout = d
			err = opts.Validate()
		}
		if w := steps.UnusableAddress(ip); err == nil && w != "" {
			err = fmt.Errorf("SQL Server IP: %w: %s", steps.ErrInvalidInput, w) // the MI can never reach it
		}
		if err == nil {
			if w := steps.AddressWarning(ip); w != "" {
				a.printf("WARN  %s\n", w)
			}
			if from == steps.ProbeSSH {
				c, err := a.askSSH(a.cfg.SQLServer.Host)
				opts.SSHHost = c.Host
				return opts, err
			}
			return opts, nil
		}
		a.printf("Error: %v\n", err)
		if a.in.ended() {
			return opts, errInputEnded
		}
	}
}
