package tsql

import "testing"

// FuzzParse checks that the parser never panics and either returns statements or a
// *Error (Msg 102/105/113/191) for arbitrary input.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"SELECT 1", "SELECT a FROM t WHERE b LIKE N'x%' ORDER BY 1",
		"DECLARE @x int = 1; WHILE @x < 3 BEGIN SET @x += 1 END",
		"EXEC msdb.dbo.sp_add_job @job_name = N'J', @job_id = @id OUTPUT",
		"CREATE ENDPOINT e STATE=STARTED AS TCP (LISTENER_PORT=5022) FOR DATABASE_MIRRORING (ROLE=ALL)",
		"SELECT (SELECT TOP (1) x FROM y) AS z UNION SELECT CASE WHEN 1=1 THEN 'a' END",
		"/* c */ IF EXISTS (SELECT 1) THROW 50000, 'm', 1",
		"((((((((((", "SELECT '", "[", "0x1g",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		stmts, err := Parse(s)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Parse(%q) returned %T %v, want *Error", s, err, err)
			}
			if stmts != nil {
				t.Fatalf("Parse(%q) returned statements and an error", s)
			}
		}
	})
}
