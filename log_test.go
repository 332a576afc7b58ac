package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// withLogFile returns args with --log-file set to path.
func withLogFile(args []string, path string) []string {
	out := append([]string(nil), args...)
	for i, a := range out {
		if a == "--log-file" {
			out[i+1] = path
		}
	}
	return out
}

func TestExistingLogFileIsMadePrivate(t *testing.T) {
	p := startPair(t, nil, nil)
	logPath := filepath.Join(t.TempDir(), "milink.log")
	if err := os.WriteFile(logPath, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runApp(t, pwEnv, "", withLogFile(p.checkArgs(), logPath)...); r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	st, err := os.Stat(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("log file mode %v, want 0600", st.Mode().Perm())
	}
}

func TestCleanupWritesItsLog(t *testing.T) {
	p := startPair(t, nil, nil)
	logPath := filepath.Join(t.TempDir(), "milink.log")
	r := runApp(t, pwEnv, "y\ny\n", append(withLogFile(p.connArgs("cleanup"), logPath), "--dry-run")...)
	if r.code != 0 {
		t.Fatalf("cleanup: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatalf("cleanup wrote no log: %v", err)
	}
	for _, want := range []string{"cleanup started", "milink object(s)", "cleanup finished", `"exit_code":0`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the cleanup log lacks %q:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), simPassword) {
		t.Error("the password is in the log")
	}
}

func TestLogWriteErrorsAreReportedOnce(t *testing.T) {
	before, err := os.Stat("/dev/full")
	if err != nil {
		t.Skip("no /dev/full")
	}
	p := startPair(t, nil, nil)
	r := runApp(t, pwEnv, "", withLogFile(p.checkArgs(), "/dev/full")...)
	if r.code != 0 {
		t.Fatalf("a log that cannot be written must not fail the run: exit %d\n%s", r.code, r.stderr)
	}
	if n := strings.Count(r.stderr, "log file /dev/full"); n != 1 {
		t.Errorf("the write error is reported %d times, want once:\n%s", n, r.stderr)
	}
	if after, err := os.Stat("/dev/full"); err != nil || after.Mode() != before.Mode() {
		t.Errorf("the mode of /dev/full changed: %v → %v", before.Mode(), after.Mode())
	}
}
