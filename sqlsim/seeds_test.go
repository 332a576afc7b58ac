package sqlsim

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim/catalog"
)

// The scripts of Microsoft's "Prepare your environment for a link" page, copied to
// testdata/seeds (see the header of each file), run verbatim except for the
// placeholders the page tells the reader to fill in.

var goSeparator = regexp.MustCompile(`(?im)^[ \t]*GO[ \t]*$`)

func readSeed(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "seeds", name+".sql"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// scriptClient runs a script (batches separated by GO) on one connection and
// returns the cells of every result set, one line per row with " | " between cells.
type scriptClient interface {
	run(t *testing.T, script string) []string
}

// goClient is go-mssqldb on one pinned connection.
type goClient struct{ conn *sql.Conn }

func (c goClient) run(t *testing.T, script string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out []string
	for _, batch := range goSeparator.Split(script, -1) {
		if strings.TrimSpace(batch) == "" {
			continue
		}
		rows, err := c.conn.QueryContext(ctx, batch)
		if err != nil {
			t.Fatalf("batch failed: %v\n%s", err, batch)
		}
		for {
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]sql.NullString, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				cells := make([]string, len(vals))
				for i, v := range vals {
					cells[i] = v.String
				}
				out = append(out, strings.Join(cells, " | "))
			}
			if !rows.NextResultSet() {
				break
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("batch failed: %v\n%s", err, batch)
		}
		rows.Close()
	}
	return out
}

// tsqlClient is FreeTDS's tsql reading the script on stdin (its batch separator is a
// line "go").
type tsqlClient struct {
	path, host, user, password string
	port                       int
}

func (c tsqlClient) run(t *testing.T, script string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.path, "-H", c.host, "-p", strconv.Itoa(c.port), "-U", c.user, "-P", c.password, "-o", "q")
	cmd.Env = append(os.Environ(), "TDSVER=7.4")
	cmd.Stdin = strings.NewReader(goSeparator.ReplaceAllString(script, "go") + "\ngo\nexit\n")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tsql: %v\n%s", err, b)
	}
	out := string(b)
	if m := regexp.MustCompile(`Msg \d+, Level 1[1-9]`).FindString(out); m != "" {
		t.Fatalf("tsql reported an error (%s):\n%s", m, out)
	}
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		lines = append(lines, strings.ReplaceAll(strings.TrimRight(l, "\r"), "\t", " | "))
	}
	return lines
}

func tsqlPath(t *testing.T) string {
	p, err := exec.LookPath("tsql")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tsql (Debian freetds-bin) is not installed; .ci/run installs it")
		}
		return ""
	}
	return p
}

func containsLine(lines []string, parts ...string) bool {
	for _, l := range lines {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			return true
		}
	}
	return false
}

func wantLine(t *testing.T, what string, lines []string, parts ...string) {
	t.Helper()
	if !containsLine(lines, parts...) {
		t.Errorf("%s: no line with %q in:\n%s", what, parts, strings.Join(lines, "\n"))
	}
}

// TestSeedScripts runs every script of the page through go-mssqldb and FreeTDS tsql
// against SQL Server personalities and the managed instance, and checks the results
// the page documents.
func TestSeedScripts(t *testing.T) {
	tsql := tsqlPath(t)
	type tc struct {
		client string
		pers   catalog.Personality
	}
	var cases []tc
	// The TestMILinkConnection script polls every 5 s, so each case takes about 12 s:
	// go-mssqldb covers the oldest, a Linux and the newest personality, tsql 2022.
	for _, v := range []struct{ client, ver, plat string }{{"go-mssqldb", "2016", "Windows"}, {"go-mssqldb", "2019", "Linux"},
		{"go-mssqldb", "2025", "Windows"}, {"tsql", "2022", "Windows"}} {
		p, err := FindPersonality(v.ver, v.plat, false)
		if err != nil {
			t.Fatal(err)
		}
		if v.client == "tsql" && tsql == "" {
			t.Log("tsql (Debian freetds-bin) is not installed: the FreeTDS case is skipped")
			continue
		}
		cases = append(cases, tc{v.client, p})
	}
	for _, c := range cases {
		t.Run(c.client+"/"+c.pers.Name, func(t *testing.T) {
			t.Parallel()
			runSeeds(t, c.client, tsql, c.pers)
		})
	}
}

func runSeeds(t *testing.T, clientKind, tsql string, pers catalog.Personality) {
	p, err := StartPair(Scenario{Name: "seeds", SQL: func(o *Options) { o.Personality = pers; o.TncTimeout = 300 * time.Millisecond },
		MI: func(o *Options) { o.TncTimeout = 300 * time.Millisecond }}, 5*time.Millisecond, 5*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	client := func(in *Instance, user string) scriptClient {
		if clientKind == "tsql" {
			return tsqlClient{path: tsql, host: in.Host(), port: in.Port(), user: user, password: "Sim-Passw0rd!"}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := sqlops.Open(ctx, sqlops.ConnConfig{Role: "seeds", Host: in.Host(), Port: in.Port(), User: user, Password: "Sim-Passw0rd!", TrustServerCertificate: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conn, err := c.DB.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return goClient{conn: conn}
	}
	sqlc, mic := client(p.SQL, "sa"), client(p.MI, "miadmin")
	linux := pers.Platform == catalog.Linux

	out := sqlc.run(t, readSeed(t, "01_version"))
	wantLine(t, "@@VERSION", out, pers.ProductVersion)

	// The instance has a master key; the DBA drops it first to follow the page.
	sqlc.run(t, "USE master; DROP MASTER KEY;")
	out = sqlc.run(t, readSeed(t, "03_check_master_key"))
	if containsLine(out, "##MS_DatabaseMasterKey##") {
		t.Errorf("master key still listed after DROP MASTER KEY:\n%s", strings.Join(out, "\n"))
	}
	sqlc.run(t, strings.ReplaceAll(readSeed(t, "02_create_master_key"), "<strong_password>", "Str0ng-Passw0rd!"))
	out = sqlc.run(t, readSeed(t, "03_check_master_key"))
	wantLine(t, "master key", out, "##MS_DatabaseMasterKey##", "101")

	out = sqlc.run(t, readSeed(t, "04_hadr_enabled"))
	wantLine(t, "HADR", out, "1", "Availability groups ENABLED.")

	out = sqlc.run(t, readSeed(t, "05_validate_config"))
	wantLine(t, "validate: version", out, pers.ProductVersion)
	wantLine(t, "validate: trace flag 1800", out, "1800", "1")
	wantLine(t, "validate: trace flag 9567", out, "9567", "1")

	// The MI parameter query prints the three DECLARE lines to paste.
	out = mic.run(t, readSeed(t, "06_mi_parameters"))
	mo := p.MI.Options()
	node := mo.NodeName + "." + mo.ClusterName
	decl := map[string]string{
		"serverName": fmt.Sprintf("DECLARE @serverName NVARCHAR(512) = N'%s'", mo.FQDN),
		"node":       fmt.Sprintf("DECLARE @node NVARCHAR(512) = N'%s'", node),
		"port":       fmt.Sprintf("DECLARE @port NVARCHAR(512) = N'%d'", mo.HadrPort),
	}
	for k, want := range decl {
		wantLine(t, "MI parameter "+k, out, want)
	}

	// SQL Server → MI: the TestMILinkConnection job with the pasted parameters.
	script := readSeed(t, "07_test_mi_link_connection")
	for k, v := range decl {
		script = strings.Replace(script, fmt.Sprintf("DECLARE @%s NVARCHAR(512) = N''", k), v, 1)
	}
	out = sqlc.run(t, script)
	if linux {
		wantLine(t, "TestMILinkConnection on Linux", out, "Test Port 5022", "not supported on SQL Server on Linux")
	} else {
		wantLine(t, "TestMILinkConnection step 1", out, "Test Port 5022", "TcpTestSucceeded : True", "RemoteAddress : "+mo.IP)
		wantLine(t, "TestMILinkConnection step 2", out, "Test HADR Port", "TcpTestSucceeded : True")
	}

	// MI → SQL Server: the test endpoint, the NetHelper job and ExecuteNetHelper.
	sqlc.run(t, readSeed(t, "08_test_endpoint_create"))
	mic.run(t, strings.ReplaceAll(readSeed(t, "09_nethelper_job"), "<SQL_SERVER_IP_ADDRESS>", p.SQL.Options().IP))
	mic.run(t, readSeed(t, "10_execute_nethelper_proc"))
	out = mic.run(t, readSeed(t, "11_exec_nethelper"))
	wantLine(t, "ExecuteNetHelper (open)", out, "NetHelper", "TNC network probe from SQL MI to SQL Server", "True")
	p.Network.SetRule(p.SQL.Options().IP, 5022, RuleFiltered)
	out = mic.run(t, readSeed(t, "11_exec_nethelper"))
	wantLine(t, "ExecuteNetHelper (filtered)", out, "TNC network probe from SQL MI to SQL Server")
	wantLine(t, "ExecuteNetHelper (filtered)", out, "False")
	if containsLine(out, "True") {
		t.Errorf("ExecuteNetHelper (filtered) printed True:\n%s", strings.Join(out, "\n"))
	}
	p.Network.SetRule(p.SQL.Options().IP, 5022, RuleOpen)

	sqlc.run(t, readSeed(t, "12_drop_test_endpoint"))
	out = sqlc.run(t, "SELECT COUNT(*) FROM sys.endpoints WHERE name = N'TEST_ENDPOINT' UNION ALL SELECT COUNT(*) FROM master.sys.certificates WHERE name = N'TEST_CERT'")
	if clientKind == "go-mssqldb" && (len(out) != 2 || out[0] != "0" || out[1] != "0") {
		t.Errorf("TEST_ENDPOINT/TEST_CERT not dropped: %q", out)
	}
}
