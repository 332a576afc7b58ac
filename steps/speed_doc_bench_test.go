package steps_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/steps"
)

// The source document's procedure, side by side with milink on the same simulated
// costs: Microsoft's "Prepare your environment for a link" page
// (https://learn.microsoft.com/azure/azure-sql/managed-instance/managed-instance-link-preparation),
// whose scripts sqlsim/testdata/seeds holds verbatim. Its SQL Server → MI job has one
// Test-NetConnection step per port, polled every 5 seconds; then, one after the other,
// the MI → SQL Server NetHelper job, polled every second by ExecuteNetHelper. The
// benchmark runs those scripts as they are, with only their placeholders filled in and
// their WAITFOR delays divided by speedScale like every other cost.

var goBatch = regexp.MustCompile(`(?im)^[ \t]*GO[ \t]*$`)

// docScript reads a seed script of the page with its WAITFOR delays scaled.
func docScript(b *testing.B, name string) string {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "sqlsim", "testdata", "seeds", name+".sql"))
	if err != nil {
		b.Fatal(err)
	}
	s := string(raw)
	for _, d := range []time.Duration{5 * time.Second, time.Second} {
		s = strings.ReplaceAll(s, waitforDelay(d, false), waitforDelay(d/speedScale, true))
	}
	return s
}

// waitforDelay is WAITFOR DELAY's 'hh:mm:ss[.mmm]' for d
// (https://learn.microsoft.com/sql/t-sql/language-elements/waitfor-transact-sql).
func waitforDelay(d time.Duration, ms bool) string {
	s := int(d / time.Second)
	t := fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
	if ms {
		t += fmt.Sprintf(".%03d", (d%time.Second)/time.Millisecond)
	}
	return "WAITFOR DELAY '" + t + "'"
}

// runDocScript runs script's batches (separated by GO) on one connection, as SSMS
// does, reading every result set.
func runDocScript(b *testing.B, db *sql.DB, script string) {
	b.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	for _, batch := range goBatch.Split(script, -1) {
		if strings.TrimSpace(batch) == "" {
			continue
		}
		rows, err := conn.QueryContext(ctx, batch)
		if err != nil {
			b.Fatalf("%v\n%s", err, batch)
		}
		for more := true; more; more = rows.NextResultSet() {
			for rows.Next() {
			}
		}
		if err := rows.Err(); err != nil {
			b.Fatalf("%v\n%s", err, batch)
		}
		rows.Close()
	}
}

// docProcedure runs the page's network test on p and returns its time: the
// TestMILinkConnection script on SQL Server (it starts the job and polls it), then
// TEST_ENDPOINT, the NetHelper job and ExecuteNetHelper on the managed instance. The
// time a reader takes between scripts is not counted. What the scripts leave is
// removed afterwards, outside the time.
func docProcedure(b *testing.B, p *sqlsim.Pair, cfg steps.Config) time.Duration {
	b.Helper()
	ctx := context.Background()
	open := func(cc sqlops.ConnConfig) *sql.DB {
		c, err := sqlops.Open(ctx, cc)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		return c.DB
	}
	sqlDB, miDB := open(cfg.SQLServer), open(cfg.MI)
	mo := p.MI.Options()
	test := docScript(b, "07_test_mi_link_connection")
	for k, v := range map[string]string{"serverName": mo.FQDN, "node": mo.NodeName + "." + mo.ClusterName, "port": fmt.Sprint(mo.HadrPort)} {
		test = strings.Replace(test, fmt.Sprintf("DECLARE @%s NVARCHAR(512) = N''", k), fmt.Sprintf("DECLARE @%s NVARCHAR(512) = N'%s'", k, v), 1)
	}
	netHelper := strings.ReplaceAll(docScript(b, "09_nethelper_job"), "<SQL_SERVER_IP_ADDRESS>", p.SQL.Options().IP)
	start := time.Now()
	runDocScript(b, sqlDB, test)
	runDocScript(b, sqlDB, docScript(b, "08_test_endpoint_create"))
	runDocScript(b, miDB, netHelper)
	runDocScript(b, miDB, docScript(b, "10_execute_nethelper_proc"))
	runDocScript(b, miDB, docScript(b, "11_exec_nethelper"))
	d := time.Since(start)
	runDocScript(b, sqlDB, docScript(b, "12_drop_test_endpoint"))
	runDocScript(b, sqlDB, "EXEC msdb.dbo.sp_delete_job @job_name = N'TestMILinkConnection'")
	runDocScript(b, miDB, "EXEC msdb.dbo.sp_delete_job @job_name = N'NetHelper'\nGO\nDROP PROCEDURE ExecuteNetHelper")
	return d
}

// BenchmarkSpeedVersusDocument (goal c) runs the page's procedure and milink's network
// test on the same simulated costs, every port open and every port filtered, and
// reports "doc/milink": how many times longer the page's procedure takes than
// milink's time to verdict.
func BenchmarkSpeedVersusDocument(b *testing.B) {
	c := realCosts.scaled()
	for _, filtered := range []bool{false, true} {
		name, exit := "open", steps.ExitOK
		if filtered {
			name, exit = "filtered", steps.ExitConnectivity
		}
		b.Run(name, func(b *testing.B) {
			p, cfg := speedPair(b, c, "")
			if filtered {
				filterAll(p)
			}
			var doc, milink time.Duration
			for range b.N {
				doc += docProcedure(b, p, cfg)
				v, _ := timeToVerdict(b, cfg, exit)
				milink += v
			}
			n := time.Duration(b.N)
			b.ReportMetric((doc / n).Seconds(), "doc-s")
			b.ReportMetric((milink / n).Seconds(), "milink-s")
			b.ReportMetric(float64(doc)/float64(milink), "doc/milink")
		})
	}
}
