package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/steps"
)

// invPair is one pair of an inventory test: its simulators (nil for the hanging one),
// its inventory entry and what it must end with.
type invPair struct {
	name     string
	p        *pair
	entry    string // YAML lines of the pair, after "- name: NAME"
	wantCode int
	wantS2M  string
	wantM2S  string
}

// pairEntry is the YAML of a simulated pair's connection settings.
func pairEntry(p *pair) string {
	return fmt.Sprintf("    sql_server: %s\n    sql_port: %d\n    sql_ca_cert: %s\n    mi_server: %s\n    mi_port: %d\n    mi_ca_cert: %s\n",
		p.sql.Host(), p.sql.Port(), p.sqlCA, p.mi.Host(), p.mi.Port(), p.miCA)
}

// writeInventory writes the inventory of pairs (YAML) with defaults for every pair.
func writeInventory(t *testing.T, pairs []invPair) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("defaults:\n  sql_user: sa\n  mi_user: miadmin\n  sql_password_env: MILINK_PW_SQL\n  mi_password_env: MILINK_PW_MI\n  probe_timeout: 1s\n  job_timeout: 30s\npairs:\n")
	for _, ip := range pairs {
		fmt.Fprintf(&b, "  - name: %s\n%s", ip.name, ip.entry)
	}
	path := filepath.Join(t.TempDir(), "inventory.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

var invEnv = map[string]string{"MILINK_PW_SQL": simPassword, "MILINK_PW_MI": simPassword, "MILINK_PW_BAD": "not-the-password"}

// mixedPairs starts the 20 pairs of the acceptance test: passes, a filtered port, a
// wrong password, SQL Server Agent stopped, a password file, and one SQL Server that
// accepts connections and never answers.
func mixedPairs(t *testing.T) []invPair {
	t.Helper()
	pwFile := filepath.Join(t.TempDir(), "sql.pw")
	if err := os.WriteFile(pwFile, []byte(simPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out []invPair
	for i := range 20 {
		ip := invPair{name: fmt.Sprintf("sql%02d", i+1), wantCode: steps.ExitOK, wantS2M: steps.StatusPassed, wantM2S: steps.StatusPassed}
		var mutSQL func(*sqlsim.Options)
		switch i {
		case 14, 15:
			mutSQL = func(o *sqlsim.Options) { o.AgentRunning = false }
			ip.wantCode, ip.wantS2M = steps.ExitConnectivity, steps.StatusNotRun
		}
		if i == 16 {
			ip.entry = fmt.Sprintf("    sql_server: 127.0.0.1\n    sql_port: %d\n    mi_server: 127.0.0.1\n    mi_port: 1\n    pair_timeout: 2s\n", silentListener(t))
			ip.wantCode, ip.wantS2M, ip.wantM2S = steps.ExitError, steps.VerdictNotReached, steps.VerdictNotReached
			out = append(out, ip)
			continue
		}
		ip.p = startPair(t, mutSQL, nil)
		ip.entry = pairEntry(ip.p)
		switch i {
		case 10, 11:
			ip.p.net.SetRule(ip.p.miOpts.FQDN, 5022, sqlsim.RuleFiltered)
			ip.wantCode, ip.wantS2M = steps.ExitConnectivity, steps.StatusFailed
		case 12, 13:
			ip.entry += "    sql_password_env: MILINK_PW_BAD\n"
			ip.wantCode, ip.wantS2M, ip.wantM2S = steps.ExitAuth, steps.VerdictNotReached, steps.VerdictNotReached
		case 17:
			ip.entry += "    sql_password_env: \"\"\n    sql_password_file: " + pwFile + "\n"
		}
		out = append(out, ip)
	}
	return out
}

// TestInventoryMixedOutcomes is issue 15's acceptance: 20 pairs with mixed outcomes
// give the right verdict per pair, leave nothing on any instance (read back from the
// catalog), and the summary says so in every format.
func TestInventoryMixedOutcomes(t *testing.T) {
	pairs := mixedPairs(t)
	inv := writeInventory(t, pairs)
	dir := filepath.Join(t.TempDir(), "reports")
	start := time.Now()
	r := runApp(t, invEnv, "", "check", "--inventory", inv, "--parallel", "8", "--pair-timeout", "2m", "--report-dir", dir, "--output", "json", "--log-file", "-")
	t.Logf("20 pairs in %s\n%s", time.Since(start), r.stderr)
	if r.code != steps.ExitError {
		t.Errorf("exit %d, want %d (the hanging pair's, the worst)\nstderr:\n%s", r.code, steps.ExitError, r.stderr)
	}
	var sum steps.InventorySummary
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
		t.Fatalf("summary on stdout is not JSON: %v\n%s", err, r.stdout)
	}
	if sum.SchemaVersion != 1 || len(sum.Pairs) != len(pairs) || sum.ExitCode != steps.ExitError || sum.Parallel != 8 || sum.PairTimeoutS != 120 {
		t.Errorf("summary header: %+v", sum)
	}
	for i, ip := range pairs {
		ps := sum.Pairs[i]
		if ps.Name != ip.name || ps.Index != i+1 || ps.ExitCode != ip.wantCode || ps.SQLToMI != ip.wantS2M || ps.MIToSQL != ip.wantM2S {
			t.Errorf("%s: got exit %d, SQL→MI %q, MI→SQL %q (%s); want exit %d, %q, %q", ip.name, ps.ExitCode, ps.SQLToMI, ps.MIToSQL, ps.Outcome, ip.wantCode, ip.wantS2M, ip.wantM2S)
		}
		if ps.TimedOut != (i == 16) || ps.Interrupted || ps.NotStarted || ps.LeftBehind != 0 {
			t.Errorf("%s: timed out %v, interrupted %v, not started %v, left %d", ip.name, ps.TimedOut, ps.Interrupted, ps.NotStarted, ps.LeftBehind)
		}
		if ip.p != nil {
			assertNoMilinkObjects(t, ip.p)
		}
	}
	if !strings.Contains(sum.Pairs[16].Outcome, "timed out after 2s") {
		t.Errorf("the hanging pair's outcome: %q", sum.Pairs[16].Outcome)
	}
	if sum.Counts[steps.ExitOK] != 13 || sum.Counts[steps.ExitConnectivity] != 4 || sum.Counts[steps.ExitAuth] != 2 || sum.Counts[steps.ExitError] != 1 {
		t.Errorf("counts by exit code: %v", sum.Counts)
	}
	// One plain progress line per change of state, led by the pair's name.
	for _, ip := range pairs {
		if n := strings.Count(r.stderr, " "+ip.name+"  done: exit "+strconv.Itoa(ip.wantCode)); n != 1 {
			t.Errorf("%s: %d done lines on stderr, want 1", ip.name, n)
		}
	}
	if strings.Contains(r.stdout+r.stderr, simPassword) || strings.Contains(r.stdout+r.stderr, "not-the-password") {
		t.Error("a password appears in the output")
	}
	assertSummaryFiles(t, dir, pairs, sum)
}

// assertSummaryFiles checks the report directory: each pair's three reports and the
// summary in text, Markdown, JSON and CSV, all saying the same as sum.
func assertSummaryFiles(t *testing.T, dir string, pairs []invPair, sum steps.InventorySummary) {
	t.Helper()
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st, _ := os.Stat(filepath.Join(dir, name)); st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", name, st.Mode().Perm())
		}
		if strings.Contains(string(b), simPassword) {
			t.Errorf("%s: the password appears in it", name)
		}
		return string(b)
	}
	for i, ip := range pairs {
		var rep steps.Report
		if err := json.Unmarshal([]byte(read(ip.name+".json")), &rep); err != nil || rep.ExitCode != ip.wantCode {
			t.Errorf("%s.json: exit %d, err %v", ip.name, rep.ExitCode, err)
		}
		if txt := read(ip.name + ".txt"); !strings.Contains(txt, fmt.Sprintf("(exit code %d)", ip.wantCode)) {
			t.Errorf("%s.txt does not give exit code %d", ip.name, ip.wantCode)
		}
		if md := read(ip.name + ".md"); !strings.HasPrefix(md, "# milink network check") {
			t.Errorf("%s.md: %.60q", ip.name, md)
		}
		if sum.Pairs[i].Reports["json"] != ip.name+".json" {
			t.Errorf("%s: summary names reports %v", ip.name, sum.Pairs[i].Reports)
		}
	}
	var fileSum steps.InventorySummary
	if err := json.Unmarshal([]byte(read("summary.json")), &fileSum); err != nil || fileSum.ExitCode != sum.ExitCode || len(fileSum.Pairs) != len(pairs) {
		t.Errorf("summary.json: %v %+v", err, fileSum)
	}
	rows, err := csv.NewReader(strings.NewReader(read("summary.csv"))).ReadAll()
	if err != nil || len(rows) != len(pairs)+1 || strings.Join(rows[0], ",") != strings.Join(steps.CSVHeader, ",") {
		t.Fatalf("summary.csv: %v, %d rows", err, len(rows))
	}
	text, md := read("summary.txt"), read("summary.md")
	for i, ip := range pairs {
		row := rows[i+1]
		if row[1] != ip.name || row[4] != ip.wantS2M || row[5] != ip.wantM2S || row[6] != strconv.Itoa(ip.wantCode) {
			t.Errorf("summary.csv row %d: %q", i+1, row)
		}
		want := fmt.Sprintf("%s  %s", ip.name, ip.wantS2M)
		if !strings.Contains(text, want) {
			t.Errorf("summary.txt has no line with %q", want)
		}
		if !strings.Contains(md, fmt.Sprintf("| %d | `%s` |", i+1, ip.name)) {
			t.Errorf("summary.md has no row for %s", ip.name)
		}
	}
	if !strings.Contains(rows[17][7], "timed out") || !strings.Contains(text, "timed out") {
		t.Errorf("the hanging pair is not shown as timed out: %q", rows[17])
	}
	if !strings.Contains(text, "exit code 1, the worst of the pairs'") || !strings.Contains(md, "exit code 1") {
		t.Errorf("summary.txt's last line: %q", text[strings.LastIndex(strings.TrimSpace(text), "\n")+1:])
	}
}

// watchWriter is a syncBuffer that closes hit once cond holds for what was written.
type watchWriter struct {
	syncBuffer
	cond func(string) bool
	hit  chan struct{}
	once sync.Once
}

func (w *watchWriter) Write(p []byte) (int, error) {
	n, err := w.syncBuffer.Write(p)
	if w.cond(w.String()) {
		w.once.Do(func() { close(w.hit) })
	}
	return n, err
}

// TestInventoryStopCleansUpEveryPair: SIGINT or SIGTERM while two pairs run their
// network test and two wait their turn: both running pairs clean up (read back:
// nothing left), the waiting ones never start, the summary says which were
// interrupted, and the exit code is 130.
func TestInventoryStopCleansUpEveryPair(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) { testInventoryStop(t, sig) })
	}
}

// slowPairs starts n simulated pairs, p1 … pn, whose managed instance takes a minute
// to start an Agent job: their network test is under way until they are stopped.
func slowPairs(t *testing.T, n int) []invPair {
	slow := func(o *sqlsim.Options) { o.JobStartLatency = time.Minute }
	var pairs []invPair
	for i := range n {
		p := startPair(t, nil, slow)
		pairs = append(pairs, invPair{name: fmt.Sprintf("p%d", i+1), p: p, entry: pairEntry(p)})
	}
	return pairs
}

func testInventoryStop(t *testing.T, sig syscall.Signal) {
	pairs := slowPairs(t, 4)
	inv := writeInventory(t, pairs)
	sigs := make(chan os.Signal, 1)
	var out syncBuffer
	errb := &watchWriter{hit: make(chan struct{}), cond: func(s string) bool {
		return strings.Contains(s, "p1  testing:") && strings.Contains(s, "p2  testing:")
	}}
	a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: errb, getenv: func(k string) string { return invEnv[k] },
		isTTY: func(int) bool { return false }, signals: sigs}
	done := make(chan int)
	go func() {
		done <- a.run([]string{"check", "--inventory", inv, "--parallel", "2", "--output", "json", "--log-file", "-"})
	}()
	select {
	case <-errb.hit:
	case code := <-done:
		t.Fatalf("milink exited %d before both pairs were testing:\n%s", code, errb.String())
	}
	sigs <- sig
	code := <-done
	if code != steps.ExitInterrupted {
		t.Errorf("exit %d, want 130\n%s", code, errb.String())
	}
	var sum steps.InventorySummary
	if err := json.Unmarshal([]byte(out.String()), &sum); err != nil {
		t.Fatalf("summary: %v\n%s", err, out.String())
	}
	if !sum.Interrupted || sum.ExitCode != steps.ExitInterrupted {
		t.Errorf("summary: interrupted %v, exit %d", sum.Interrupted, sum.ExitCode)
	}
	for i, ps := range sum.Pairs {
		started := i < 2
		if !ps.Interrupted || ps.NotStarted == started || ps.ExitCode != steps.ExitInterrupted {
			t.Errorf("%s: interrupted %v, not started %v, exit %d (%s)", ps.Name, ps.Interrupted, ps.NotStarted, ps.ExitCode, ps.Outcome)
		}
		if started && !strings.Contains(ps.Outcome, "stopped by "+signalName(sig)+"; cleanup removed every test object") {
			t.Errorf("%s: outcome %q", ps.Name, ps.Outcome)
		}
		assertNoMilinkObjects(t, pairs[i].p)
	}
	var txt strings.Builder
	if err := sum.WriteText(&txt); err != nil || !strings.Contains(txt.String(), "4 pairs: 0 passed, 4 stopped; stopped: 4 interrupted or not started") {
		t.Errorf("text summary does not say the run was stopped:\n%s", txt.String())
	}
}

// TestInventoryWrongPasswordNamesItsSource: a pair whose login is refused is told to
// check the password where the inventory took it from (the variable of its
// sql_password_env, the file of its mi_password_file), not MILINK_SQL_PASSWORD or
// --sql-password-stdin, which inventory mode does not read for it.
func TestInventoryWrongPasswordNamesItsSource(t *testing.T) {
	badFile := filepath.Join(t.TempDir(), "mi.pw")
	if err := os.WriteFile(badFile, []byte("not-the-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sqlBad, miBad := startPair(t, nil, nil), startPair(t, nil, nil)
	inv := writeInventory(t, []invPair{
		{name: "sqlbad", entry: pairEntry(sqlBad) + "    sql_password_env: MILINK_PW_BAD\n"},
		{name: "mibad", entry: pairEntry(miBad) + "    mi_password_env: \"\"\n    mi_password_file: " + badFile + "\n"},
	})
	r := runApp(t, invEnv, "", "check", "--inventory", inv, "--output", "json")
	var sum steps.InventorySummary
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil || len(sum.Pairs) != 2 {
		t.Fatalf("summary: %v\n%s\nstderr:\n%s", err, r.stdout, r.stderr)
	}
	for i, want := range []string{"the environment variable MILINK_PW_BAD (the inventory's sql_password_env)", "the file " + badFile + " (the inventory's mi_password_file)"} {
		ps := sum.Pairs[i]
		if ps.ExitCode != steps.ExitAuth || !strings.Contains(ps.Outcome, want) || strings.Contains(ps.Outcome, "password-stdin") || strings.Contains(ps.Outcome, "MILINK_SQL_PASSWORD") || strings.Contains(ps.Outcome, "MILINK_MI_PASSWORD") {
			t.Errorf("%s: exit %d, outcome %q; want exit %d naming %q", ps.Name, ps.ExitCode, ps.Outcome, steps.ExitAuth, want)
		}
	}
}

// TestInventoryStopOnTerminal: on a terminal, the stop message of a signal is printed
// between two frames of the live view (the view ends first and gives the cursor back)
// instead of into it, and the view then goes on below it with every pair's line.
func TestInventoryStopOnTerminal(t *testing.T) {
	pairs := slowPairs(t, 2)
	inv := writeInventory(t, pairs)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	const stopping = "milink: SIGINT: stopping; cleaning up"
	errb := &watchWriter{hit: make(chan struct{}), cond: func(s string) bool {
		return strings.Contains(s, "testing: ") // the view draws changes only: "p1  " is not repeated
	}}
	copied := make(chan struct{})
	go func() { defer close(copied); _, _ = io.Copy(errb, r) }()
	sigs := make(chan os.Signal, 1)
	a := &app{stdin: strings.NewReader(""), stdout: io.Discard, stderr: w, getenv: func(k string) string { return invEnv[k] },
		isTTY: func(int) bool { return true }, signals: sigs}
	done := make(chan int)
	go func() { done <- a.run([]string{"check", "--inventory", inv, "--parallel", "2", "--log-file", "-"}) }()
	select {
	case <-errb.hit:
	case code := <-done:
		t.Fatalf("milink exited %d before a pair was testing:\n%q", code, errb.String())
	}
	sigs <- syscall.SIGINT
	if code := <-done; code != steps.ExitInterrupted {
		t.Errorf("exit %d, want 130", code)
	}
	w.Close()
	<-copied
	s := errb.String()
	i := strings.Index(s, stopping)
	if i < 0 {
		t.Fatalf("no stop message:\n%q", s)
	}
	before, after := s[:i], s[i:]
	if !strings.HasSuffix(before, "\r") || !strings.Contains(before[max(0, len(before)-24):], "\x1b[?25h") {
		t.Errorf("the stop message is not printed after a finished frame:\n%q", before[max(0, len(before)-200):])
	}
	// The view starts again below the message with a whole frame: every pair's line.
	for _, want := range []string{"\np1  ", "\np2  ", "exit 130"} {
		if !strings.Contains(after, want) {
			t.Errorf("after the stop message the view lacks %q:\n%q", want, after)
		}
	}
}
