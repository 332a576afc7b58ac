package sqlops

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode"
)

// ServerAddress is one server as sqlcmd and SSMS users write it: host, host\INSTANCE,
// host,port, tcp:host,port or tcp:host\INSTANCE (ParseServer).
type ServerAddress struct {
	Host     string
	Instance string // named instance ("" = default instance or a port given directly)
	Port     int    // 0 = not given in the address
}

// MaxInstanceName is the longest instance name SQL Server Setup accepts.
const MaxInstanceName = 16

// ParseServer reads the server forms sqlcmd accepts for TCP ("[tcp:]server[\instance][,port]",
// sqlcmd-utility.md, -S option; go-mssqldb msdsn/conn_str.go parses the same forms for
// "server="): host, host\INSTANCE, host,port, tcp:host,port and tcp:host\INSTANCE. The
// host is checked by ValidateHost, the instance name by ValidateInstanceName, the port
// is decimal 1-65535. An IPv6 literal may be written in brackets ([::1],1433).
func ParseServer(s string) (ServerAddress, error) {
	var a ServerAddress
	rest := strings.TrimSpace(s)
	lower := strings.ToLower(rest)
	for _, p := range []string{"np:", "lpc:", "admin:"} {
		if strings.HasPrefix(lower, p) {
			return a, fmt.Errorf("%w: %q: only TCP is supported (the %s prefix is not TCP); give host, host\\INSTANCE or host,port", ErrInvalidInput, s, p)
		}
	}
	if strings.HasPrefix(lower, "tcp:") {
		rest = rest[4:]
	}
	if i := strings.LastIndex(rest, ","); i >= 0 {
		p, err := parseAddrPort(rest[i+1:])
		if err != nil {
			return a, fmt.Errorf("%w: %q: the port after the comma: %v", ErrInvalidInput, s, err)
		}
		a.Port, rest = p, rest[:i]
	}
	if i := strings.Index(rest, `\`); i >= 0 {
		a.Instance, rest = rest[i+1:], rest[:i]
		if err := ValidateInstanceName(a.Instance); err != nil {
			return a, fmt.Errorf("%q: %w", s, err)
		}
	}
	a.Host = strings.TrimSuffix(strings.TrimPrefix(rest, "["), "]")
	if err := serverFormHint(s, a); err != nil {
		return a, err
	}
	if err := ValidateHost(a.Host); err != nil {
		return a, err
	}
	return a, nil
}

// serverFormHint explains the server forms of other tools that sqlcmd (and milink) read
// differently: host:port (the port goes after a comma) and SSMS's "(local)" or "." for
// this machine (milink needs the host name or address).
func serverFormHint(s string, a ServerAddress) error {
	switch h := strings.ToLower(a.Host); {
	case h == "(local)" || h == "." || h == "(localdb)":
		return fmt.Errorf("%w: %q is SSMS's name for this machine's instance; give the host name or IP address (for example 127.0.0.1 on the SQL Server host)", ErrInvalidInput, s)
	case strings.Count(a.Host, ":") == 1 && a.Port == 0:
		host, port, _ := strings.Cut(a.Host, ":")
		if _, err := parseAddrPort(port); err == nil && host != "" {
			return fmt.Errorf("%w: %q: the port goes after a comma, as in sqlcmd: %s,%s (or give the port on its own)", ErrInvalidInput, s, host, port)
		}
	}
	return nil
}

func parseAddrPort(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || s == "" || s[0] == '0' || s[0] == '+' || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%q is not a decimal port from 1 to 65535", s)
	}
	return n, nil
}

// reservedInstanceNames are refused by SQL Server Setup ("Instance Configuration",
// learn.microsoft.com/sql/sql-server/install/instance-configuration: "Default" and
// "MSSQLServer" name the default instance; reserved keywords are refused too).
var reservedInstanceNames = map[string]bool{"DEFAULT": true, "MSSQLSERVER": true}

// ValidateInstanceName applies SQL Server Setup's rules for instance names
// (learn.microsoft.com/sql/sql-server/install/instance-configuration, "Instance ID and
// instance name"): at most 16 characters; the first a letter or an underscore; the
// others letters, decimal digits, underscores or dollar signs; no spaces, backslash,
// comma, colon, semicolon, single quote, ampersand, hyphen or at sign; not "Default" or
// "MSSQLServer". Names are not case-sensitive.
func ValidateInstanceName(s string) error {
	if s == "" {
		return fmt.Errorf("%w: the instance name after the backslash is empty", ErrInvalidInput)
	}
	if n := len([]rune(s)); n > MaxInstanceName {
		return fmt.Errorf("%w: instance name %q is %d characters long; SQL Server allows at most %d", ErrInvalidInput, s, n, MaxInstanceName)
	}
	for i, r := range s {
		ok := unicode.IsLetter(r) || r == '_' || (i > 0 && (unicode.IsDigit(r) || r == '$'))
		if !ok {
			return fmt.Errorf("%w: instance name %q: %q is not allowed there (SQL Server instance names start with a letter or _, then letters, digits, _ or $)", ErrInvalidInput, s, r)
		}
	}
	if reservedInstanceNames[strings.ToUpper(s)] {
		return fmt.Errorf("%w: instance name %q names the default instance: give the host alone", ErrInvalidInput, s)
	}
	return nil
}

// String writes the address as the user would: host\INSTANCE (port N), host\INSTANCE,
// or host:port.
func (a ServerAddress) String() string {
	switch {
	case a.Instance != "" && a.Port != 0:
		return fmt.Sprintf(`%s\%s (port %d)`, a.Host, a.Instance, a.Port)
	case a.Instance != "":
		return a.Host + `\` + a.Instance
	}
	p := a.Port
	if p == 0 {
		p = 1433
	}
	return net.JoinHostPort(a.Host, strconv.Itoa(p))
}

// server is c's address: c.Host parsed by ParseServer (a plain host when it does not
// parse; Validate reports why), with c.Port when the address names no port, and the
// port c.Instance resolved to.
func (c ConnConfig) server() ServerAddress {
	a, err := ParseServer(c.Host)
	if err != nil {
		a = ServerAddress{Host: c.Host}
	}
	if a.Port == 0 {
		a.Port = c.Port
	}
	return a
}

// validateServer checks c.Host's form and that a port in it agrees with c.Port; the
// messages name the flag and the wizard field that fix them.
func (c ConnConfig) validateServer() error {
	a, err := ParseServer(c.Host)
	if err != nil {
		return fmt.Errorf("%w (%s / wizard field \"Server\")", err, c.flag("server"))
	}
	if a.Port != 0 && c.Port != 0 && c.Port != a.Port {
		return fmt.Errorf("%w: %q names port %d but the port is also set to %d: give the port once, in %s / \"Server\" (host,port) or in %s / \"Port\"",
			ErrInvalidInput, c.Host, a.Port, c.Port, c.flag("server"), c.flag("port"))
	}
	return nil
}

// flag names c's command-line flag name (--sql-… for SQL Server, --mi-… for the
// managed instance).
func (c ConnConfig) flag(name string) string {
	if strings.HasPrefix(strings.ToLower(c.Role), "managed") || strings.HasPrefix(c.Role, "MI") {
		return "--mi-" + name
	}
	return "--sql-" + name
}
