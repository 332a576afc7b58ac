// Checks of numeric flags: decimal values, minimums instead of rounding, and timeouts
// that fit together.

package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps"
)

// checkNumbers rejects what the flags' parsers let through: a value given to a
// --*-password-stdin switch, durations that are not positive or below their minimum
// (never rounded up), a job timeout too short for its probes, and list flags given
// empty: their zero values would silently mean "the default".
func checkNumbers(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil {
			return
		}
		switch v := f.Value.(type) {
		case *switchValue:
			if v.refused {
				err = usageError{fmt.Errorf("--%s takes no value: give --%s alone and the password on standard input", f.Name, f.Name)}
			}
			return
		}
		switch f.Value.Type() {
		case "duration":
			d, e := time.ParseDuration(f.Value.String())
			if e != nil {
				return
			}
			err = checkDuration(f.Name, d)
		case "stringSlice":
			if f.Changed && f.Value.String() == "[]" {
				err = usageError{fmt.Errorf("--%s was given an empty value", f.Name)}
			}
		}
	})
	if err != nil {
		return err
	}
	for _, prefix := range []string{"sql", "mi"} {
		if err := checkConnectTimeouts(fs, prefix); err != nil {
			return err
		}
	}
	return checkJobTimeout(fs)
}

// checkConnectTimeouts rejects a --<prefix>-dial-timeout given longer than the
// --<prefix>-login-timeout given: the login timeout bounds the whole connect, TCP
// connect included, so the longer dial timeout would never apply.
func checkConnectTimeouts(fs *pflag.FlagSet, prefix string) error {
	df, lf := fs.Lookup(prefix+"-dial-timeout"), fs.Lookup(prefix+"-login-timeout")
	if df == nil || lf == nil || !df.Changed || !lf.Changed {
		return nil
	}
	dial, err1 := time.ParseDuration(df.Value.String())
	login, err2 := time.ParseDuration(lf.Value.String())
	if err1 == nil && err2 == nil && dial > login {
		return usageError{fmt.Errorf("--%s %s is longer than --%s %s, which bounds the whole connect (TCP connect, TLS and login): lower --%s or raise --%s",
			df.Name, dial, lf.Name, login, df.Name, lf.Name)}
	}
	return nil
}

// checkDuration applies the minimum of the duration flag name to d.
func checkDuration(name string, d time.Duration) error {
	if d < 0 || (d == 0 && strings.HasSuffix(name, "timeout")) {
		return usageError{fmt.Errorf("--%s must be positive, not %s", name, d)}
	}
	min := time.Second
	switch {
	case name == "watch":
		if d == 0 {
			return nil // off
		}
	case name == "probe-timeout":
		min = 100 * time.Millisecond
	case strings.HasSuffix(name, "-dial-timeout"):
		// go-mssqldb counts the dial timeout in whole seconds.
		if d%time.Second != 0 && d > time.Second {
			return usageError{fmt.Errorf("--%s must be whole seconds (the SQL Server driver counts seconds), not %s", name, d)}
		}
	case !strings.HasSuffix(name, "timeout"):
		return nil
	}
	if d < min {
		return usageError{fmt.Errorf("--%s must be at least %s, not %s (too short to be useful; it is not rounded up)", name, min, d)}
	}
	return nil
}

// checkJobTimeout rejects a --job-timeout shorter than an Agent job needs for its
// probes (steps.MinJobTimeout of --probe-timeout).
func checkJobTimeout(fs *pflag.FlagSet) error {
	jf, pf := fs.Lookup("job-timeout"), fs.Lookup("probe-timeout")
	if jf == nil || pf == nil {
		return nil
	}
	job, err1 := time.ParseDuration(jf.Value.String())
	probe, err2 := time.ParseDuration(pf.Value.String())
	if err1 != nil || err2 != nil {
		return nil
	}
	if min := steps.MinJobTimeout(probe); job < min {
		return usageError{fmt.Errorf("--job-timeout %s is too short for --probe-timeout %s: a job probes up to %d targets one after the other and SQL Server Agent needs about %s to start it, so it needs at least %s; raise --job-timeout or lower --probe-timeout",
			job, probe, steps.ProbesPerJob, steps.AgentOverhead, min)}
	}
	return nil
}

// checkPasted checks, before anything is created, that the text of --probe-output has
// at least one result line of the command --probe-from manual prints ("host:port
// TcpTestSucceeded : True ..."); which targets it must cover is known only after the
// managed instance is discovered.
func checkPasted(text string) error {
	for _, line := range strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == '\r' }) {
		target, rest, ok := strings.Cut(strings.TrimSpace(line), " ")
		if ok && strings.Contains(target, ":") && sqlops.ParseProbeOutput(rest).Known {
			return nil
		}
	}
	return errors.New("no probe result in it: give the file with every line that the command of --probe-from manual printed on the SQL Server host (lines like 'host:5022 TcpTestSucceeded : True')")
}
