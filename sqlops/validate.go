package sqlops

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"unicode/utf8"
)

// MaxHostLength is the longest host name accepted (RFC 1035 limit for a full name).
const MaxHostLength = 253

var (
	dnsLabel   = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
	identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
)

// ErrInvalidInput is wrapped by every validation error of this package.
var ErrInvalidInput = errors.New("invalid input")

// ValidateHost checks that s is an IPv4 or IPv6 address or a DNS host name, so that it
// can safely be placed inside a single-quoted PowerShell string in an Agent job step.
func ValidateHost(s string) error {
	if s == "" {
		return fmt.Errorf("%w: host is empty", ErrInvalidInput)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: host %q is not valid UTF-8", ErrInvalidInput, s)
	}
	if len(s) > MaxHostLength {
		return fmt.Errorf("%w: host is %d characters long; at most %d are allowed", ErrInvalidInput, len(s), MaxHostLength)
	}
	if addr, err := netip.ParseAddr(s); err == nil {
		if addr.Zone() != "" {
			return fmt.Errorf("%w: host %q: IPv6 zones are not supported", ErrInvalidInput, s)
		}
		if addr.IsUnspecified() {
			return fmt.Errorf("%w: host %q is the unspecified address", ErrInvalidInput, s)
		}
		return nil
	}
	name := strings.TrimSuffix(s, ".")
	labels := strings.Split(name, ".")
	allDigits := true
	for _, l := range labels {
		if !dnsLabel.MatchString(l) {
			return fmt.Errorf("%w: host %q is neither an IP address nor a DNS name (label %q: letters, digits and '-' only, 1-63 characters)", ErrInvalidInput, s, l)
		}
		if strings.Trim(l, "0123456789") != "" {
			allDigits = false
		}
	}
	if allDigits {
		return fmt.Errorf("%w: host %q looks like an IP address but is not a valid one", ErrInvalidInput, s)
	}
	return nil
}

// ValidatePort checks that p is a TCP port number (1-65535).
func ValidatePort(p int) error {
	if p < 1 || p > 65535 {
		return fmt.Errorf("%w: port %d is outside 1-65535", ErrInvalidInput, p)
	}
	return nil
}

// ValidateIdentifier checks that name is a regular SQL Server identifier that milink
// is willing to place, bracket-quoted, into DDL: a letter or underscore followed by
// letters, digits or underscores, at most 128 characters.
func ValidateIdentifier(name string) error {
	if !identifier.MatchString(name) {
		return fmt.Errorf("%w: %q is not a plain SQL identifier (letters, digits, '_'; starts with a letter or '_'; at most 128)", ErrInvalidInput, name)
	}
	return nil
}

// QuoteIdentifier returns name in brackets, doubling any closing bracket, like T-SQL's QUOTENAME.
func QuoteIdentifier(name string) string {
	return "[" + strings.ReplaceAll(name, "]", "]]") + "]"
}

// ValidateDatabaseName checks a database name given by the user. Names travel as
// parameters, so the check is about sanity: not empty, at most 128 characters, no
// control characters.
func ValidateDatabaseName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: database name is empty", ErrInvalidInput)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("%w: database name is not valid UTF-8", ErrInvalidInput)
	}
	if utf8.RuneCountInString(name) > 128 {
		return fmt.Errorf("%w: database name %q is longer than 128 characters", ErrInvalidInput, name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: database name %q contains a control character", ErrInvalidInput, name)
		}
	}
	return nil
}
