// Flag values parsed strictly: decimal ports, switches that never echo a value, and
// size-capped files.

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
)

// portValue is a TCP port flag that accepts only plain decimal numbers 1-65535:
// pflag's int flags also take 0x, 0o, 0b and leading-zero octal, so "05022" would be
// port 2578.
type portValue struct{ p *int }

func newPortValue(p *int, def int) *portValue {
	*p = def
	return &portValue{p: p}
}

func (v *portValue) String() string { return strconv.Itoa(*v.p) }

// Type names the value in --help.
func (v *portValue) Type() string { return "port" }

// Set parses s as a decimal port.
func (v *portValue) Set(s string) error {
	n, err := parseDecimalPort(s)
	if err != nil {
		return err
	}
	*v.p = n
	return nil
}

// parseDecimalPort reads s as a TCP port written in decimal: digits only, no sign, no
// leading zero, no base prefix or underscores, 1-65535.
func parseDecimalPort(s string) (int, error) {
	bad := s == "" || len(s) > 5 || s[0] == '0'
	for _, r := range s {
		if r < '0' || r > '9' {
			bad = true
		}
	}
	n, err := strconv.Atoi(s)
	if bad || err != nil || n < 1 || n > 65535 {
		return 0, errors.New("a port is a decimal number from 1 to 65535, with no sign, leading zero or 0x/0o/0b prefix")
	}
	return n, nil
}

// switchValue is an on/off flag (--sql-password-stdin) that never repeats a value
// given to it: pflag quotes an invalid value in its error, and the value given to a
// password switch is often the password. A value other than true or false is noted,
// and checkNumbers refuses it without printing it.
type switchValue struct {
	on      *bool
	refused bool
}

func (v *switchValue) String() string {
	if v.on != nil && *v.on {
		return "true"
	}
	return "false"
}

// Type is bool, so --help shows it as a switch.
func (v *switchValue) Type() string { return "bool" }

// IsBoolFlag lets the flag be given without a value.
func (v *switchValue) IsBoolFlag() bool { return true }

// Set takes true or false; anything else is refused later, unrepeated.
func (v *switchValue) Set(s string) error {
	switch s {
	case "true":
		*v.on = true
	case "false":
		*v.on = false
	default:
		*v.on, v.refused = false, true
	}
	return nil
}

// readCapped reads the file given to --flag, refusing one larger than limit bytes
// (a device such as /dev/zero included) after reading at most limit+1 bytes.
func readCapped(flag, path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usageError{fmt.Errorf("--%s: %w", flag, err)}
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, usageError{fmt.Errorf("--%s %s is a directory, not a file", flag, path)}
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, usageError{fmt.Errorf("--%s %s: %w", flag, path, err)}
	}
	if int64(len(data)) > limit {
		return nil, usageError{fmt.Errorf("--%s %s is larger than %d KiB; is it the right file?", flag, path, limit>>10)}
	}
	return data, nil
}
