// One pair of the inventory: its settings through check's own flags and checks, and
// its passwords from a named environment variable or an owner-only file.

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/milink/milink/steps"
)

// secretReader reads the pairs' passwords: named environment variables (each read
// once; all removed from the environment when the inventory is loaded) and password
// files readable by their owner only.
type secretReader struct {
	a    *app
	base string            // the inventory's directory: relative file names start there
	read map[string]string // variable name → value
}

// unset removes every password variable read from the process environment, so that
// no program milink starts inherits them.
func (s *secretReader) unset() {
	for k := range s.read {
		_ = os.Unsetenv(k)
	}
}

// env is the password in the environment variable name.
func (s *secretReader) env(name string) (string, error) {
	if !envNameRE.MatchString(name) {
		return "", fmt.Errorf("%q is not an environment variable name (letters, digits and _, not starting with a digit)", name)
	}
	if v, ok := s.read[name]; ok {
		return v, nil
	}
	v := s.a.getenv(name)
	if v == "" {
		return "", fmt.Errorf("the environment variable %s is not set or empty", name)
	}
	s.read[name] = v
	return v, nil
}

// file is the password on the first line of the file path, which must not be
// readable or writable by anyone but its owner (mode 0600 or 0400).
func (s *secretReader) file(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("%s has mode %04o: a password file must be readable by its owner only; run: chmod 600 %s", path, perm, shellQuote(path))
	}
	line, err := bufio.NewReaderSize(io.LimitReader(f, maxPasswordLine), maxPasswordLine).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", fmt.Errorf("%s: no password on its first line", path)
	}
	return pw, nil
}

// pathFlag reports the flags whose values are file names: relative ones are taken
// from the inventory's directory.
func pathFlag(flag string) bool {
	for _, suffix := range []string{"-ca-cert", "-krb5-keytab", "-krb5-conf", "-krb5-ccache", "ssh-key", "ssh-known-hosts", "-password-file"} {
		if strings.HasSuffix(flag, suffix) {
			return true
		}
	}
	return false
}

// fromBase is v, a file name, taken from the inventory's directory when relative.
func (s *secretReader) fromBase(v string) string {
	if v == "" || filepath.IsAbs(v) {
		return v
	}
	return filepath.Join(s.base, v)
}

// pair builds one pair's configuration from its settings (the defaults merged in),
// through the same flags and checks as milink check, then reads its passwords.
func (s *secretReader) pair(path string, i int, name string, m map[string]any) (inventoryPair, error) {
	f := &checkFlags{sql: connFlags{prefix: "sql", role: "SQL Server"}, mi: connFlags{prefix: "mi", role: "managed instance"}}
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f.register(fs)
	bad := func(field string, err error) (inventoryPair, error) {
		return inventoryPair{}, inventoryError(path, i, name, field, err)
	}
	pw := map[string]string{}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		vals, err := flagValues(m[k])
		if err != nil {
			return bad(k, err)
		}
		if passwordKeys[k] {
			if len(vals) != 1 {
				return bad(k, errors.New("names one environment variable or file"))
			}
			pw[k] = vals[0] // "" unsets a default
			continue
		}
		flag := strings.ReplaceAll(k, "_", "-")
		if len(vals) != 1 && !strings.HasSuffix(fs.Lookup(flag).Value.Type(), "Slice") {
			return bad(k, errors.New("takes one value, not a list"))
		}
		for _, v := range vals {
			if pathFlag(flag) {
				v = s.fromBase(v)
			}
			if err := fs.Set(flag, v); err != nil {
				msg := err.Error() // pflag's "invalid argument … for "--flag" flag: " leads it
				if i := strings.Index(msg, " flag: "); i >= 0 {
					msg = msg[i+len(" flag: "):]
				}
				return bad(k, fmt.Errorf("%q: %s", v, msg))
			}
		}
	}
	for _, req := range []string{"sql_server", "mi_server"} {
		if fs.Lookup(strings.ReplaceAll(req, "_", "-")).Value.String() == "" {
			return bad(req, errors.New("is required"))
		}
	}
	if err := checkNumbers(fs); err != nil {
		return bad("", asKeys(err))
	}
	if err := checkSSHFlags(f.ssh, f.sql.server); err != nil {
		return bad("", asKeys(err))
	}
	cfg := f.stepsConfig()
	cfg.Defaults()
	cfg.SQLServer.Password, cfg.MI.Password = "x", "x"
	if err := pairValid(cfg, bad); err != nil {
		return inventoryPair{}, err
	}
	for _, side := range []struct {
		prefix string
		c      *connFlags
		pw     *string
		src    *string // where the password came from, for the hint of a refused login
	}{{"sql", &f.sql, &cfg.SQLServer.Password, &cfg.SQLServer.PasswordSource}, {"mi", &f.mi, &cfg.MI.Password, &cfg.MI.PasswordSource}} {
		envKey, fileKey := side.prefix+"_password_env", side.prefix+"_password_file"
		var err error
		switch {
		case pw[envKey] != "" && pw[fileKey] != "":
			return bad(envKey, fmt.Errorf("give %s or %s, not both", envKey, fileKey))
		case !side.c.needsPassword():
			*side.pw = "" // Kerberos: the ticket cache or a keytab
		case pw[envKey] != "":
			if *side.pw, err = s.env(pw[envKey]); err != nil {
				return bad(envKey, err)
			}
			*side.src = fmt.Sprintf("the environment variable %s (the inventory's %s)", pw[envKey], envKey)
		case pw[fileKey] != "":
			if *side.pw, err = s.file(s.fromBase(pw[fileKey])); err != nil {
				return bad(fileKey, err)
			}
			*side.src = fmt.Sprintf("the file %s (the inventory's %s)", s.fromBase(pw[fileKey]), fileKey)
		default:
			common := "MILINK_" + strings.ToUpper(side.prefix) + "_PASSWORD"
			if *side.pw = s.a.getenv(common); *side.pw == "" {
				return bad(envKey, fmt.Errorf("no password for the %s: set %s to the name of an environment variable holding it, or %s to an owner-only file, or %s for every pair", side.c.role, envKey, fileKey, common))
			}
			*side.src = fmt.Sprintf("%s (every pair's password without %s or %s in the inventory)", common, envKey, fileKey)
		}
	}
	if err := pairValid(cfg, bad); err != nil { // the passwords themselves
		return inventoryPair{}, err
	}
	ip := inventoryPair{name: name, cfg: cfg, cleanup: cleanupCommand(fs)}
	if fs.Changed("pair-timeout") {
		ip.timeout = f.inv.pairTimeout
	}
	return ip, nil
}

// pairValid validates cfg, reporting its first problem under the inventory key of the
// flag that sets it.
func pairValid(cfg steps.Config, bad func(string, error) (inventoryPair, error)) error {
	err := cfg.Validate()
	if err == nil {
		return nil
	}
	field := ""
	if fes := steps.FieldErrors(err); len(fes) > 0 {
		field, err = strings.ReplaceAll(fes[0].Flag, "-", "_"), fes[0].Err
		if strings.HasSuffix(field, "_password") {
			field += "_env / " + field + "_file"
		}
	}
	_, e := bad(field, err)
	return e
}
