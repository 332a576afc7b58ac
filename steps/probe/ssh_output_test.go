package probe

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/milink/milink/sqlops"
)

func TestSSHProbeCommand(t *testing.T) {
	cmd, err := sshProbeCommand(sqlops.ProbeTarget{Label: "x", Host: "mi.abc.database.windows.net", Port: 5022, Timeout: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"LC_ALL=C", "timeout 1.5 getent ahosts mi.abc.database.windows.net ", `timeout 1.5 bash -c "</dev/tcp/mi.abc.database.windows.net/5022"`, markRC} {
		if !strings.Contains(cmd, want) {
			t.Errorf("command lacks %q:\n%s", want, cmd)
		}
	}
	if strings.Count(cmd, "'") != 2 || !strings.HasPrefix(cmd, "bash -c '") || !strings.HasSuffix(cmd, "'") {
		t.Errorf("command is not one single-quoted bash -c script:\n%s", cmd)
	}
	cmd, err = sshProbeCommand(sqlops.ProbeTarget{Host: "fd00::1", Port: 11002, Timeout: 5 * time.Second})
	if err != nil || strings.Contains(cmd, "getent") || !strings.Contains(cmd, "timeout 5 bash -c \"</dev/tcp/fd00::1/11002\"") {
		t.Errorf("IPv6 literal: %v\n%s", err, cmd)
	}
	for _, h := range []string{"x;rm -rf /", "a b", "a'b", "a\"b", "$(id)", "`id`", "a\nb", "a/b", "-x", "fe80::1%eth0"} {
		if _, err := sshProbeCommand(sqlops.ProbeTarget{Host: h, Port: 5022, Timeout: time.Second}); !errors.Is(err, sqlops.ErrInvalidInput) {
			t.Errorf("host %q: %v", h, err)
		}
	}
}

func TestParseSSHAddr(t *testing.T) {
	for _, c := range []struct {
		in, user, host string
		port           int
		bad            bool
	}{
		{in: "sqlhost", host: "sqlhost", port: 22},
		{in: "sqlhost:2222", host: "sqlhost", port: 2222},
		{in: "admin@sqlhost", user: "admin", host: "sqlhost", port: 22},
		{in: "admin@10.0.0.4:2200", user: "admin", host: "10.0.0.4", port: 2200},
		{in: "[fd00::4]:2200", host: "fd00::4", port: 2200},
		{in: "fd00::4", host: "fd00::4", port: 22},
		{in: "[fd00::4]", host: "fd00::4", port: 22},
		{in: "", bad: true},
		{in: "@sqlhost", bad: true},
		{in: "sqlhost:0", bad: true},
		{in: "sqlhost:ssh", bad: true},
		{in: "sql host", bad: true},
		{in: "sqlhost;id", bad: true},
	} {
		if err := (&SSH{Addr: c.in, User: "u"}).Validate(); (err != nil) != c.bad {
			t.Errorf("Validate(%q): %v", c.in, err)
		}
		user, host, port, err := parseSSHAddr(c.in)
		if c.bad {
			if !errors.Is(err, sqlops.ErrInvalidInput) {
				t.Errorf("%q: err = %v, want invalid input", c.in, err)
			}
			continue
		}
		if err != nil || user != c.user || host != c.host || port != c.port {
			t.Errorf("%q: %q %q %d %v", c.in, user, host, port, err)
		}
	}
}

func TestCheckRemoteTools(t *testing.T) {
	tg := sshTarget{user: "u", host: "h", port: 22}
	for _, c := range []struct {
		out  remoteOutput
		want string // "" = no error
	}{
		{remoteOutput{stdout: "milink-bash=5.2.15(1)-release\n", exit: 0}, ""},
		{remoteOutput{stdout: "milink-missing=timeout\nmilink-bash=5.2\n"}, "no timeout command"},
		{remoteOutput{stderr: "sh: 1: bash: not found\n", exit: 127}, "has no bash"},
		{remoteOutput{stderr: "This account is currently not available.\n", exit: 1}, "not available"},
	} {
		err := checkRemoteTools(tg, c.out)
		if c.want == "" {
			if err != nil {
				t.Errorf("%+v: %v", c.out, err)
			}
			continue
		}
		if !errors.Is(err, ErrSSHRemoteTools) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.out, err, c.want)
		}
	}
}

type sshClassifyCase struct {
	name           string
	stdout, stderr string
	exit           int
	verdict        sqlops.ProbeVerdict
	detail, addr   string
}

var sshClassifyCases = []sshClassifyCase{
	{"connected", "milink-addr=10.0.0.5\nmilink-rc=0\n", "", 0, sqlops.VerdictConnected, "connected", "10.0.0.5"},
	{"connected ip literal", "milink-rc=0\n", "", 0, sqlops.VerdictConnected, "connected", ""},
	{"rc line with CRLF and noise", "Welcome!\r\nmilink-rc=0\r\n", "stty: not a tty\n", 0, sqlops.VerdictConnected, "connected", ""},
	{"timeout", "milink-addr=10.0.0.5\nmilink-rc=124\n", "", 0, sqlops.VerdictTimeout, "timed out after 5s", "10.0.0.5"},
	{"dns timeout", "milink-resolve=timeout\n", "", 0, sqlops.VerdictTimeout, "timed out after 5s resolving the name on the SQL Server host", ""},
	{"refused", "milink-addr=10.0.0.5\nmilink-rc=1\n", "bash: connect: Connection refused\nbash: line 1: /dev/tcp/10.0.0.5/5022: Connection refused\n", 0, sqlops.VerdictRefused, "connection refused", "10.0.0.5"},
	{"dns not known", "milink-addr=\nmilink-rc=1\n", "bash: mi.example.net: Name or service not known\nbash: line 1: /dev/tcp/mi.example.net/5022: Invalid argument\n", 0, sqlops.VerdictDNS, "mi.example.net: Name or service not known", ""},
	{"dns temporary", "milink-addr=\nmilink-rc=1\n", "bash: mi.example.net: Temporary failure in name resolution\n", 0, sqlops.VerdictDNS, "mi.example.net: Temporary failure in name resolution", ""},
	{"dns no address", "milink-rc=1\n", "bash: mi.example.net: No address associated with hostname\n", 0, sqlops.VerdictDNS, "mi.example.net: No address associated with hostname", ""},
	{"no route", "milink-rc=1\n", "bash: connect: No route to host\nbash: line 1: /dev/tcp/10.9.9.9/5022: No route to host\n", 0, sqlops.VerdictFailed, "no route to host", ""},
	{"unreachable", "milink-rc=1\n", "bash: connect: Network is unreachable\n", 0, sqlops.VerdictFailed, "network is unreachable", ""},
	{"other error", "milink-rc=1\n", "bash: connect: Permission denied\nbash: line 1: /dev/tcp/10.0.0.5/5022: Permission denied\n", 0, sqlops.VerdictFailed, "/dev/tcp/10.0.0.5/5022: Permission denied", ""},
	{"other error no stderr", "milink-rc=3\n", "", 0, sqlops.VerdictFailed, "connect failed (status 3)", ""},
	{"timeout failed", "milink-rc=125\n", "timeout: invalid time interval ‘x’\n", 0, sqlops.VerdictFailed, "timeout(1) or bash could not run the probe (status 125): timeout: invalid time interval ‘x’", ""},
	{"no timeout", "milink-missing=timeout\n", "", 0, sqlops.VerdictFailed, "the SQL Server host has no timeout command (GNU coreutils): install coreutils there (or use --probe-from manual)", ""},
	{"no bash sh", "", "sh: 1: bash: not found\n", 127, sqlops.VerdictFailed, "the SQL Server host has no bash for the SSH user: milink's probe needs bash and timeout there (or use --probe-from manual)", ""},
	{"no bash", "", "bash: command not found\n", 1, sqlops.VerdictFailed, "the SQL Server host has no bash for the SSH user: milink's probe needs bash and timeout there (or use --probe-from manual)", ""},
	{"nologin", "", "This account is currently not available.\n", 1, sqlops.VerdictFailed, "the probe command on the SQL Server host printed no result (exit status 1): This account is currently not available.", ""},
	{"killed", "", "", -1, sqlops.VerdictFailed, "the probe command on the SQL Server host printed no result", ""},
	{"bad rc", "milink-rc=zero\n", "", 0, sqlops.VerdictFailed, "the probe command on the SQL Server host printed no result (exit status 0)", ""},
	{"bad addr ignored", "milink-addr=;id\nmilink-rc=0\n", "", 0, sqlops.VerdictConnected, "connected", ""},
	{"ipv6 addr", "milink-addr=fd00::5\nmilink-rc=0\n", "", 0, sqlops.VerdictConnected, "connected", "fd00::5"},
	{"only control characters", "milink-rc=1", "\x10", 0, sqlops.VerdictFailed, "connect failed (status 1)", ""},
	{"control characters", "milink-rc=1\n", "bash: \x1b[31mboom\x07\xff\n", 0, sqlops.VerdictFailed, "[31mboom \uFFFD", ""},
}

func TestClassifySSHProbe(t *testing.T) {
	for _, c := range sshClassifyCases {
		v, d, a := classifySSHProbe(c.stdout, c.stderr, c.exit, 5*time.Second)
		if v != c.verdict || d != c.detail || a != c.addr {
			t.Errorf("%s: got %s %q %q, want %s %q %q", c.name, v, d, a, c.verdict, c.detail, c.addr)
		}
	}
	long := "milink-rc=1\n"
	if _, d, _ := classifySSHProbe(long, strings.Repeat("é", 5000), 0, time.Second); utf8.RuneCountInString(d) > maxDetailRunes {
		t.Errorf("detail not truncated: %d runes", utf8.RuneCountInString(d))
	}
}

func FuzzClassifySSHProbe(f *testing.F) {
	for _, c := range sshClassifyCases {
		f.Add(c.stdout, c.stderr, c.exit, int64(5*time.Second))
	}
	f.Fuzz(func(t *testing.T, stdout, stderr string, exit int, timeout int64) {
		v, d, a := classifySSHProbe(stdout, stderr, exit, time.Duration(timeout))
		switch v {
		case sqlops.VerdictConnected, sqlops.VerdictTimeout, sqlops.VerdictRefused, sqlops.VerdictDNS, sqlops.VerdictFailed:
		default:
			t.Fatalf("verdict %q", v)
		}
		if d == "" || !utf8.ValidString(d) || utf8.RuneCountInString(d) > maxDetailRunes {
			t.Fatalf("detail %q", d)
		}
		if strings.IndexFunc(d, unicode.IsControl) >= 0 {
			t.Fatalf("detail has control characters: %q", d)
		}
		if a != "" {
			if _, err := netip.ParseAddr(a); err != nil {
				t.Fatalf("address %q", a)
			}
		}
		if rc, ok := markerValue(stdout, markRC); v == sqlops.VerdictConnected {
			if n, err := strconv.Atoi(rc); !ok || err != nil || n != 0 {
				t.Fatalf("connected without rc=0: %q", stdout)
			}
		}
	})
}
