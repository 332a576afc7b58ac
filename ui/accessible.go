package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"charm.land/huh/v2"
	"github.com/charmbracelet/colorprofile"

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
	// report is printed with 130), as does the caller's canceling ctx (SIGTERM, ...).
	// A Ctrl-C steps.AbandonAfter or more after that ends milink at once with exit 1
	// (steps.AbandonsCleanup): a person who read the notice and pressed it again, not
	// the same stop delivered twice.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	intr := make(chan os.Signal, 4)
	signal.Notify(intr, os.Interrupt)
	defer signal.Stop(intr)
	a := &accessible{ctx: ctx, o: o, in: &lineReader{r: o.In}, out: &colorprofile.Writer{Forward: o.Out, Profile: colorprofile.NoTTY}, log: log, cfg: cfg}
	a.sess = steps.NewSession(cfg, steps.SessionOptions{Prober: o.Prober})
	defer a.sess.Close()
	a.az, a.azErr = parseAzureOptions(o.Azure)
	a.entra = accEntra{label: authLabel(a.az.miMethod), cloud: a.az.cloud, tenant: a.az.tenant}
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		var first time.Time
		stopped := ctx.Done()
		for {
			select {
			case <-intr:
				if first.IsZero() {
					first = time.Now()
					cancel() // the notice follows from stopped
					continue
				}
				if steps.AbandonsCleanup(os.Interrupt, time.Since(first)) {
					select {
					case <-finished:
						return
					default:
					}
					a.printf("\nmilink: cleanup abandoned; milink's test objects may be left: run 'milink cleanup' with the same servers\n")
					log.Warn("cleanup abandoned by a second Ctrl-C")
					os.Exit(steps.ExitError)
				}
			case <-stopped:
				stopped = nil
				if first.IsZero() {
					first = time.Now()
				}
				select {
				case <-finished:
					return
				default:
					a.printf("\nmilink: interrupted; cleaning up what this run created (Ctrl-C again abandons the cleanup)\n")
					log.Info("interrupted")
				}
			case <-finished:
				return
			}
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
