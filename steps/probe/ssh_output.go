package probe

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/milink/milink/sqlops"
)

// Markers the remote commands print on stdout.
const (
	markRC      = "milink-rc="
	markAddr    = "milink-addr="
	markMissing = "milink-missing="
	markResolve = "milink-resolve="
	markBash    = "milink-bash="
)

// sshCheckCommand checks that the host has bash and timeout.
const sshCheckCommand = `bash -c 'command -v timeout >/dev/null 2>&1 || echo ` + markMissing + `timeout; echo "` + markBash + `$BASH_VERSION"'`

// sshProbeCommand is the one remote command that probes t: in bash, under LC_ALL=C,
// resolve a name with getent (for RemoteAddress) and connect with bash's /dev/tcp,
// each bounded by timeout(1), then print the markers classifySSHProbe reads. It is
// built only from t's validated host, port and timeout.
func sshProbeCommand(t sqlops.ProbeTarget) (string, error) {
	if err := sqlops.ValidateHost(t.Host); err != nil {
		return "", fmt.Errorf("probe %s: %w", t.Label, err)
	}
	if err := sqlops.ValidatePort(t.Port); err != nil {
		return "", fmt.Errorf("probe %s: %w", t.Label, err)
	}
	if t.Timeout < 100*time.Millisecond || t.Timeout > 10*time.Minute {
		return "", fmt.Errorf("probe %s: %w: timeout %s is outside 100ms-10m", t.Label, sqlops.ErrInvalidInput, t.Timeout)
	}
	// Defence in depth: ValidateHost admits only these characters.
	if strings.IndexFunc(t.Host, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == ':')
	}) >= 0 {
		return "", fmt.Errorf("probe %s: %w: host %q has a character that is not allowed in a shell command", t.Label, sqlops.ErrInvalidInput, t.Host)
	}
	secs := strconv.FormatFloat(t.Timeout.Round(time.Millisecond).Seconds(), 'f', -1, 64)
	port := strconv.Itoa(t.Port)
	var b strings.Builder
	b.WriteString(`bash -c 'export LC_ALL=C; `)
	b.WriteString(`command -v timeout >/dev/null 2>&1 || { echo ` + markMissing + `timeout; exit 0; }; `)
	if _, err := netip.ParseAddr(t.Host); err != nil {
		b.WriteString(`a=$(timeout ` + secs + ` getent ahosts ` + t.Host + ` 2>/dev/null); `)
		b.WriteString(`[ $? -eq 124 ] && { echo ` + markResolve + `timeout; exit 0; }; `)
		b.WriteString(`echo "` + markAddr + `${a%%[[:space:]]*}"; `)
	}
	b.WriteString(`timeout ` + secs + ` bash -c "</dev/tcp/` + t.Host + `/` + port + `"; echo "` + markRC + `$?"'`)
	return b.String(), nil
}

// markerValue returns the value of the last stdout line "<marker><value>".
func markerValue(stdout, marker string) (string, bool) {
	val, ok := "", false
	for _, line := range strings.Split(stdout, "\n") {
		line = strings.TrimSpace(line)
		if v, found := strings.CutPrefix(line, marker); found {
			val, ok = v, true
		}
	}
	return val, ok
}

var dnsFailures = []string{"name or service not known", "temporary failure in name resolution", "no address associated", "servname not supported", "nodename nor servname"}

// classifySSHProbe reads the output of sshProbeCommand: stdout, stderr and the exit
// status of the session (-1: none). It returns the verdict, a one-line detail and the
// resolved address, if any. It accepts any input.
func classifySSHProbe(stdout, stderr string, exit int, timeout time.Duration) (sqlops.ProbeVerdict, string, string) {
	var addr string
	if a, ok := markerValue(stdout, markAddr); ok {
		if ip, err := netip.ParseAddr(a); err == nil {
			addr = ip.String()
		}
	}
	timedOut := "timed out"
	if timeout > 0 {
		timedOut += " after " + timeout.String()
	}
	if m, ok := markerValue(stdout, markMissing); ok {
		return sqlops.VerdictFailed, missingToolDetail(m), addr
	}
	rcText, ok := markerValue(stdout, markRC)
	rc, err := strconv.Atoi(rcText)
	if !ok || err != nil {
		if r, ok := markerValue(stdout, markResolve); ok && r == "timeout" {
			return sqlops.VerdictTimeout, timedOut + " resolving the name on the SQL Server host", addr
		}
		if noBash(stderr, exit) {
			return sqlops.VerdictFailed, missingToolDetail("bash"), addr
		}
		d := "the probe command on the SQL Server host printed no result"
		if exit >= 0 {
			d += " (exit status " + strconv.Itoa(exit) + ")"
		}
		if line := lastLine(stderr); line != "" {
			d += ": " + line
		}
		return sqlops.VerdictFailed, cleanDetail(d), addr
	}
	lower := strings.ToLower(stderr)
	switch {
	case rc == 0:
		return sqlops.VerdictConnected, "connected", addr
	case rc == 124:
		return sqlops.VerdictTimeout, timedOut, addr
	case strings.Contains(lower, "connection refused"):
		return sqlops.VerdictRefused, "connection refused", addr
	}
	for _, f := range dnsFailures {
		if strings.Contains(lower, f) {
			d := lineWith(stderr, f)
			if d == "" {
				d = "the name did not resolve on the SQL Server host"
			}
			return sqlops.VerdictDNS, d, addr
		}
	}
	switch {
	case strings.Contains(lower, "no route to host"):
		return sqlops.VerdictFailed, "no route to host", addr
	case strings.Contains(lower, "network is unreachable"):
		return sqlops.VerdictFailed, "network is unreachable", addr
	case rc == 125 || rc == 126 || rc == 127:
		d := "timeout(1) or bash could not run the probe (status " + strconv.Itoa(rc) + ")"
		if line := lastLine(stderr); line != "" {
			d += ": " + line
		}
		return sqlops.VerdictFailed, cleanDetail(d), addr
	}
	d := lineWith(stderr, "/dev/tcp")
	if d == "" {
		d = lineWith(stderr, "connect:")
	}
	if d == "" {
		d = lastLine(stderr)
	}
	if d == "" {
		d = "connect failed (status " + strconv.Itoa(rc) + ")"
	}
	return sqlops.VerdictFailed, cleanDetail(d), addr
}

func missingToolDetail(tool string) string {
	switch tool {
	case "bash":
		return "the SQL Server host has no bash for the SSH user: milink's probe needs bash and timeout there (or use --probe-from manual)"
	case "timeout":
		return "the SQL Server host has no timeout command (GNU coreutils): install coreutils there (or use --probe-from manual)"
	}
	return cleanDetail("the SQL Server host lacks " + tool + ", which milink's probe needs")
}

// noBash reports whether the login shell could not find bash.
func noBash(stderr string, exit int) bool {
	l := strings.ToLower(stderr)
	return exit == 127 || strings.Contains(l, "bash: command not found") || strings.Contains(l, "bash: not found") ||
		strings.Contains(l, "unknown command: bash") || strings.Contains(l, "bash: no such file")
}

// lineWith returns the first line of s containing sub (case-insensitively), cleaned
// and without a leading "bash: ", or "".
func lineWith(s, sub string) string {
	sub = strings.ToLower(sub)
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(strings.ToLower(line), sub) {
			if l := cleanDetail(trimBashPrefix(line)); l != "" {
				return l
			}
		}
	}
	return ""
}

// lastLine returns the last line of s with something to show, cleaned and without a
// leading "bash: ", or "".
func lastLine(s string) string {
	lines := strings.Split(s, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := cleanDetail(trimBashPrefix(lines[i])); l != "" {
			return l
		}
	}
	return ""
}

func trimBashPrefix(line string) string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(line, "bash: ")
	if rest, ok := strings.CutPrefix(line, "line "); ok {
		if i := strings.Index(rest, ": "); i > 0 && strings.Trim(rest[:i], "0123456789") == "" {
			line = rest[i+2:]
		}
	}
	return strings.TrimSpace(line)
}

// cleanDetail makes remote text safe to show on one line: valid UTF-8, no control
// characters, at most maxDetailRunes runes.
func cleanDetail(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > maxDetailRunes {
		s = string(r[:maxDetailRunes-1]) + "…"
	}
	return s
}

// checkRemoteTools reads the output of sshCheckCommand.
func checkRemoteTools(tg sshTarget, out remoteOutput) error {
	if m, ok := markerValue(out.stdout, markMissing); ok {
		return &sshError{kind: ErrSSHRemoteTools, msg: "SSH to " + tg.String() + ": " + missingToolDetail(m)}
	}
	if _, ok := markerValue(out.stdout, markBash); !ok {
		if noBash(out.stderr, out.exit) {
			return &sshError{kind: ErrSSHRemoteTools, msg: "SSH to " + tg.String() + ": " + missingToolDetail("bash")}
		}
		msg := "SSH to " + tg.String() + ": the check command printed no result"
		if out.exit >= 0 {
			msg += " (exit status " + strconv.Itoa(out.exit) + ")"
		}
		if line := lastLine(out.stderr); line != "" {
			msg += ": " + cleanDetail(line)
		}
		return &sshError{kind: ErrSSHRemoteTools, msg: msg + ": is the user's login shell usable (not nologin)?"}
	}
	return nil
}

// sshError is a full explanation (msg) that also matches an ErrSSH* kind and the
// underlying error with errors.Is/As.
type sshError struct {
	kind error
	msg  string
	err  error
}

func (e *sshError) Error() string { return e.msg }

func (e *sshError) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.kind, e.err} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
