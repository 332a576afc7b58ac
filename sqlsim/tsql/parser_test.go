package tsql

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestParseStatements parses representative statements of each kind.
func TestParseStatements(t *testing.T) {
	ok := []string{
		"SELECT 1",
		"SELECT @@VERSION as 'SQL Server version';",
		"SELECT TOP (1) a.x, b.y AS z, w = 1 FROM t a INNER JOIN u b ON a.id = b.id LEFT JOIN v ON v.k = a.k WHERE a.x LIKE N'%a%' AND NOT b.y IN (1, 2) ORDER BY a.x DESC",
		"SELECT DISTINCT @v = run_status FROM [msdb].[dbo].[sysjobhistory] JH WHERE step_id <> 0",
		"SELECT a FROM (SELECT 1 AS a UNION ALL SELECT 2) t ORDER BY a",
		"DECLARE @a INT = 1, @b NVARCHAR(MAX); SET @b = (N'x' + CAST(@a AS nvarchar(10)))",
		"IF NOT EXISTS (SELECT * FROM sys.objects WHERE name = 'x') THROW 70001, 'msg', 1 ELSE PRINT 'y'",
		"WHILE (@x >= 4) BEGIN WAITFOR DELAY '00:00:01'; IF @x = 1 BREAK; CONTINUE END",
		"EXEC @rc = msdb.dbo.sp_add_job @job_name = N'J', @job_id = @id OUTPUT",
		"EXEC sp_configure 'show advanced options', 1; RECONFIGURE;",
		"sp_configure 'Agent XPs', 1",
		"CREATE PROCEDURE p @a int = 1, @b int OUTPUT AS BEGIN SELECT @b = @a END",
		"CREATE ENDPOINT TEST_ENDPOINT STATE=STARTED AS TCP (LISTENER_PORT=5022, LISTENER_IP = ALL) FOR DATABASE_MIRRORING (ROLE=ALL, AUTHENTICATION = CERTIFICATE TEST_CERT, ENCRYPTION = REQUIRED ALGORITHM AES)",
		"ALTER ENDPOINT e STATE = STOPPED",
		"CREATE CERTIFICATE c ENCRYPTION BY PASSWORD = 'p' WITH SUBJECT = 's', START_DATE = '20200101', EXPIRY_DATE = '20300101'",
		"BACKUP DATABASE [db] TO DISK = N'/tmp/x.bak' WITH COPY_ONLY, INIT",
		"ALTER DATABASE db SET RECOVERY SIMPLE",
		"GRANT VIEW SERVER STATE TO bob",
		"GRANT EXECUTE ON OBJECT::dbo.p TO bob",
		"ALTER SERVER ROLE sysadmin ADD MEMBER bob",
		"ALTER ROLE SQLAgentOperatorRole ADD MEMBER bob",
		"DBCC TRACESTATUS(-1) WITH NO_INFOMSGS",
		"DBCC TRACEON(1800, -1)",
		"BEGIN TRAN; COMMIT TRANSACTION",
		"BEGIN TRY SELECT 1/0 END TRY BEGIN CATCH SELECT ERROR_NUMBER() END CATCH",
		"RAISERROR('x %d', 10, 1, 5) WITH NOWAIT",
		"SELECT CASE @x WHEN 0 THEN 'a' WHEN 1 THEN 'b' ELSE 'c' END as 'HADR status'",
		"SELECT RIGHT(s, CHARINDEX('/', REVERSE(s)) - 1) AppName, JoinCol = 1 FROM t",
		"SELECT COUNT(*) FROM master.sys.symmetric_keys WHERE symmetric_key_id = 101",
		"SELECT x FROM master..t",
		"/* a /* nested */ comment */ SELECT 1 -- tail",
	}
	for _, s := range ok {
		if _, err := Parse(s); err != nil {
			t.Errorf("Parse(%q): %v", s, err)
		}
	}
	bad := map[string]int32{
		"SELECT FROM":           102,
		"SELECT 'abc":           105,
		"SELECT 1 /* x":         113,
		"IF 1 = 1":              102,
		"SELECT a FROM t WHERE": 102,
		"CREATE ENDPOINT x STATE = STARTED AS TCP (LISTENER_PORT = 'a')": 102,
		"GO": 102,
	}
	for s, num := range bad {
		_, err := Parse(s)
		e, ok := err.(*Error)
		if !ok || e.Number != num {
			t.Errorf("Parse(%q) = %v, want Msg %d", s, err, num)
		}
	}
	_, err := Parse("SELECT a,\nFROM t")
	if e, ok := err.(*Error); !ok || e.Msg != "Incorrect syntax near 'FROM'." || e.Line != 2 {
		t.Errorf("error text/line: %#v", err)
	}
}

// TestParseSeedScripts parses every T-SQL block of Microsoft's page, split on GO.
func TestParseSeedScripts(t *testing.T) {
	files, _ := filepath.Glob("../testdata/seeds/*.sql")
	if len(files) == 0 {
		t.Skip("no seed scripts")
	}
	goLine := regexp.MustCompile(`(?im)^\s*GO\s*$`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, batch := range goLine.Split(string(b), -1) {
			if strings.TrimSpace(batch) == "" {
				continue
			}
			if _, err := Parse(batch); err != nil {
				t.Errorf("%s: %v in\n%s", f, err, batch)
			}
		}
	}
}
