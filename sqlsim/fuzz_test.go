package sqlsim

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim/tsql"
)

var (
	fuzzOnce sync.Once
	fuzzIn   *Instance
)

// FuzzBatch parses and runs arbitrary batches as sa against one simulated instance:
// the evaluator must never panic, and every error must be a SQL Server message. Each
// batch gets 200 ms (WAITFOR and loops stop when the context ends).
func FuzzBatch(f *testing.F) {
	for _, s := range []string{
		"SELECT 1", "SELECT name, database_id FROM sys.databases WHERE name LIKE N'm%' ORDER BY 2 DESC",
		"DECLARE @i int = 0; WHILE @i < 3 BEGIN SET @i += 1 END; SELECT @i",
		"SELECT COUNT(*), MAX(type) FROM sys.master_files GROUP BY database_id HAVING COUNT(*) > 1",
		"SELECT (SELECT TOP (1) host_platform FROM sys.dm_os_host_info) AS p UNION SELECT 'x'",
		"BEGIN TRY THROW 50000, 'x', 1 END TRY BEGIN CATCH SELECT ERROR_MESSAGE() END CATCH",
		"EXEC msdb.dbo.sp_add_job @job_name = N'F'; EXEC msdb.dbo.sp_delete_job @job_name = N'F'",
		"SET @x = COUNT(*)", "SELECT SUM(x) FROM (SELECT 1 AS x) t", "DECLARE @d datetime = GETUTCDATE(); SELECT DATEDIFF(ms, @d, SYSUTCDATETIME())",
		"CREATE PROCEDURE p AS SELECT 1", "WAITFOR DELAY '00:00:01'", "SELECT CAST(0x00 AS uniqueidentifier)",
	} {
		f.Add(s)
	}
	// The link page's scripts, batch by batch, and every query milink sends.
	files, _ := filepath.Glob(filepath.Join("testdata", "seeds", "*.sql"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, batch := range goSeparator.Split(string(b), -1) {
			f.Add(strings.ReplaceAll(batch, "WAITFOR DELAY '00:00:05'", "WAITFOR DELAY '00:00:00.010'"))
		}
	}
	for _, tag := range sqlops.Tags() {
		f.Add(sqlops.Query(tag))
	}
	f.Fuzz(func(t *testing.T, sql string) {
		fuzzOnce.Do(func() {
			o := SQLServerDefaults()
			o.JobStartLatency, o.StepLatency, o.TncTimeout = time.Millisecond, time.Millisecond, 10*time.Millisecond
			in, err := Start(o)
			if err != nil {
				t.Fatal(err)
			}
			fuzzIn = in
		})
		if _, err := tsql.Parse(sql); err != nil {
			if _, ok := err.(*tsql.Error); !ok {
				t.Fatalf("Parse(%q): %T %v", sql, err, err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		rec := &recorder{}
		s := &session{in: fuzzIn, loginName: "sa", db: "master", spid: 99, traceFlags: map[int]bool{}}
		s.runBatch(ctx, sql, rec, nil)
		s.Close()
		for _, e := range rec.errs {
			if e.Number == 0 || e.Message == "" {
				t.Fatalf("%q: malformed error %+v", sql, e)
			}
		}
	})
}
