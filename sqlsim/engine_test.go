package sqlsim

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
)

func queryString(t *testing.T, db interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, q string) string {
	t.Helper()
	var s sql.NullString
	if err := db.QueryRowContext(context.Background(), q).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if !s.Valid {
		return "NULL"
	}
	return s.String
}

// TestExpressions evaluates scalar T-SQL and compares the text SQL Server returns.
func TestExpressions(t *testing.T) {
	_, c := openSim(t, nil)
	cases := map[string]string{
		"SELECT SUBSTRING(N'DB123\\inst', 0, CHARINDEX('\\', N'DB123\\inst'))":                "DB123",
		"SELECT RIGHT(N'fabric:/a/b/app1', CHARINDEX('/', REVERSE(N'fabric:/a/b/app1')) - 1)": "app1",
		"SELECT LEFT('abcdef', 2) + UPPER('x') + LOWER('Y') + LTRIM('  a') + RTRIM('b  ')":    "abXyab",
		"SELECT REPLACE('Hello World', 'world', 'There')":                                     "Hello There",
		"SELECT LEN('abc  ')":                                                          "3",
		"SELECT CAST(7 AS nvarchar(10)) + N'x'":                                        "7x",
		"SELECT CONVERT(nvarchar(8), CAST('2024-03-05' AS datetime), 112)":             "20240305",
		"SELECT DATEDIFF(day, '2024-01-01', '2024-03-01')":                             "60",
		"SELECT DATEDIFF(second, '2024-01-01 00:00:00', '2024-01-01 00:01:30')":        "90",
		"SELECT CONVERT(nvarchar(10), DATEADD(month, 1, '2024-01-31'), 120)":           "2024-03-02",
		"SELECT ISNULL(NULL, 'd') + COALESCE(NULL, NULL, 'e')":                         "de",
		"SELECT CASE WHEN 1 = 2 THEN 'a' WHEN 2 = 2 THEN 'b' ELSE 'c' END":             "b",
		"SELECT CASE 3 WHEN 1 THEN 'a' ELSE 'z' END":                                   "z",
		"SELECT 7 / 2 * 2 + 7 % 2":                                                     "7",
		"SELECT IIF('abc' LIKE 'A%', 'yes', 'no')":                                     "yes",
		"SELECT NULL + 'x'":                                                            "NULL",
		"SELECT COUNT(*) FROM (SELECT 1 AS a UNION SELECT 1 UNION SELECT 2) t":         "2",
		"SELECT COUNT(*) FROM (SELECT 1 AS a UNION ALL SELECT 1 UNION ALL SELECT 2) t": "3",
		"SELECT TOP 1 name FROM sys.databases ORDER BY database_id DESC":               "SalesDB",
		"SELECT MAX(database_id) FROM sys.databases WHERE name IN ('master', 'msdb')":  "4",
		"SELECT COUNT(*) FROM sys.databases d LEFT JOIN sys.dm_database_encryption_keys k ON k.database_id = d.database_id WHERE k.database_id IS NULL": "5",
		"SELECT CAST(SERVERPROPERTY('EngineEdition') AS int)":                                                       "3",
		"SELECT CAST(SERVERPROPERTY('ProductMajorVersion') AS nvarchar(10))":                                        "16",
		"SELECT DB_NAME(DB_ID('msdb'))":                                                                             "msdb",
		"SELECT CAST(IS_SRVROLEMEMBER('sysadmin') AS int)":                                                          "1",
		"SELECT SUSER_SNAME(SUSER_SID())":                                                                           "sa",
		"SELECT CAST(CONNECTIONPROPERTY('local_net_address') AS nvarchar(64))":                                      "10.1.0.4",
		"SELECT @@SERVERNAME":                                                                                       "SQLPROD01",
		"SELECT CASE WHEN @@VERSION LIKE 'Microsoft SQL Server 2022 %' THEN 1 ELSE 0 END":                           "1",
		"SELECT TOP (1) x FROM (SELECT 2 AS x UNION ALL SELECT 1) t ORDER BY x":                                     "1",
		"SELECT COUNT(DISTINCT type) FROM sys.master_files":                                                         "2",
		"SELECT MIN(c) FROM (SELECT type, COUNT(*) AS c FROM sys.master_files GROUP BY type HAVING COUNT(*) > 1) g": "5",
		"SELECT CAST(CAST(0x0A AS int) AS nvarchar(5))":                                                             "10",
		"SELECT CAST(CAST('6F9619FF-8B86-D011-B42D-00C04FC964FF' AS uniqueidentifier) AS nvarchar(36))":             "6F9619FF-8B86-D011-B42D-00C04FC964FF",
		"SELECT CAST(DATALENGTH(N'ab') AS nvarchar(5))":                                                             "4",
	}
	for q, want := range cases {
		if got := queryString(t, c.DB, q); got != want {
			t.Errorf("%s = %q, want %q", q, got, want)
		}
	}
}

// TestErrorsAsSQLServer checks the numbers and texts of compile and run-time errors.
func TestErrorsAsSQLServer(t *testing.T) {
	_, c := openSim(t, nil)
	ctx := context.Background()
	cases := []struct {
		q    string
		num  int32
		text string
	}{
		{"SELECT * FROM dbo.nosuch", 208, "Invalid object name 'dbo.nosuch'."},
		{"SELECT nosuchcol FROM sys.databases", 207, "Invalid column name 'nosuchcol'."},
		{"SELECT d.name FROM sys.databases x", 4104, `The multi-part identifier "d.name" could not be bound.`},
		{"EXEC dbo.nosuch", 2812, "Could not find stored procedure 'dbo.nosuch'."},
		{"EXEC sp_add_job @job_name = N'x'", 2812, "Could not find stored procedure 'sp_add_job'."},
		{"SELECT FROM", 102, "Incorrect syntax near 'FROM'."},
		{"SELECT 'abc", 105, "Unclosed quotation mark after the character string 'abc'."},
		{"SELECT @x", 137, `Must declare the scalar variable "@x".`},
		{"SELECT 1/0", 8134, "Divide by zero error encountered."},
		{"SELECT CAST('abc' AS int)", 245, "Conversion failed when converting the nvarchar value 'abc' to data type int."},
		{"THROW 50001, N'boom', 1", 50001, "boom"},
		{"RAISERROR(N'bad %s %d', 16, 2, N'thing', 42)", 50000, "bad thing 42"},
		{"SELECT name FROM sys.databases WHERE database_id = (SELECT database_id FROM sys.databases)", 512, "Subquery returned more than 1 value."},
		{"SELECT nosuchfn(1)", 195, "'nosuchfn' is not a recognized built-in function name."},
		{"SELECT 1; SELECT 2\nCREATE PROCEDURE p AS SELECT 1", 111, "must be the first statement in a query batch"},
		{"USE nosuchdb", 911, "Database 'nosuchdb' does not exist."},
		{"EXEC msdb.dbo.sp_add_job @job_name = N'x', @nosuch = 1", 8145, "@nosuch is not a parameter for procedure sp_add_job."},
		{"EXEC msdb.dbo.sp_delete_job @job_name = N'nosuch'", 14262, "The specified @job_name ('nosuch') does not exist."},
	}
	for _, tc := range cases {
		_, err := c.DB.ExecContext(ctx, tc.q)
		if got := sqlops.SQLError(err); got != tc.num || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%q: %v (number %d), want %d %q", tc.q, err, got, tc.num, tc.text)
		}
	}
	// 2016 has no sys.dm_os_host_info: Msg 208 at compile time.
	p, err := FindPersonality("2016", "Windows", false)
	if err != nil {
		t.Fatal(err)
	}
	_, c16 := openPersonality(t, p, nil)
	_, err = c16.DB.ExecContext(ctx, "SELECT host_platform FROM sys.dm_os_host_info")
	if sqlops.SQLError(err) != 208 || !strings.Contains(err.Error(), "Invalid object name 'sys.dm_os_host_info'.") {
		t.Errorf("2016 dm_os_host_info: %v", err)
	}
}

// TestBatchesAndProcedures covers variables, control flow, procedures with OUTPUT
// parameters and return codes, msdb procedures inside batches, TRY…CATCH and USE.
func TestBatchesAndProcedures(t *testing.T) {
	in, c := openSim(t, nil)
	ctx := context.Background()
	conn, err := c.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	exec := func(q string) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("CREATE PROCEDURE dbo.AddOne @a int, @b int OUTPUT, @c nvarchar(10) = N'def' AS BEGIN SET @b = @a + 1; IF @c = N'def' RETURN 7; RETURN 8 END")
	cases := map[string]string{
		"DECLARE @r int, @o int; EXEC @r = dbo.AddOne 41, @o OUTPUT; SELECT CAST(@r AS nvarchar(5)) + N',' + CAST(@o AS nvarchar(5))":                                               "7,42",
		"DECLARE @r int, @o int; EXEC @r = AddOne @b = @o OUTPUT, @a = 1, @c = N'x'; SELECT CAST(@r AS nvarchar(5)) + N',' + CAST(@o AS nvarchar(5))":                               "8,2",
		"DECLARE @i int = 0, @s nvarchar(20) = N''; WHILE @i < 10 BEGIN SET @i += 1; IF @i % 2 = 0 CONTINUE; IF @i > 7 BREAK; SET @s = @s + CAST(@i AS nvarchar(2)) END; SELECT @s": "1357",
		"BEGIN TRY SELECT 1/0 END TRY BEGIN CATCH SELECT CAST(ERROR_NUMBER() AS nvarchar(10)) + N' ' + ERROR_MESSAGE() END CATCH":                                                   "8134 Divide by zero error encountered.",
		"BEGIN TRY THROW 50005, N'x', 3; END TRY BEGIN CATCH SELECT CAST(ERROR_STATE() AS nvarchar(3)) END CATCH":                                                                   "3",
		"USE msdb; SELECT DB_NAME()":     "msdb",
		"SELECT DB_NAME()":               "msdb",
		"USE master; SELECT @@TRANCOUNT": "0",
		"BEGIN TRAN; SELECT @@TRANCOUNT": "1",
		"COMMIT; SELECT @@TRANCOUNT":     "0",
		"IF OBJECT_ID(N'dbo.AddOne') IS NOT NULL SELECT N'yes' ELSE SELECT N'no'": "yes",
	}
	order := []string{}
	for q := range cases {
		order = append(order, q)
	}
	// USE and the transaction statements depend on order.
	for _, q := range []string{"USE msdb; SELECT DB_NAME()", "SELECT DB_NAME()", "USE master; SELECT @@TRANCOUNT", "BEGIN TRAN; SELECT @@TRANCOUNT", "COMMIT; SELECT @@TRANCOUNT"} {
		if got := queryString(t, conn, q); got != cases[q] {
			t.Errorf("%s = %q, want %q", q, got, cases[q])
		}
		delete(cases, q)
	}
	for q, want := range cases {
		if got := queryString(t, conn, q); got != want {
			t.Errorf("%s = %q, want %q", q, got, want)
		}
	}
	// sp_add_job's @job_id OUTPUT, inside a batch and as an RPC.
	got := queryString(t, conn, `DECLARE @id BINARY(16);
EXEC msdb.dbo.sp_add_job @job_name = N'J1', @job_id = @id OUTPUT;
SELECT CASE WHEN @id = (SELECT CAST(job_id AS binary(16)) FROM msdb.dbo.sysjobs WHERE name = N'J1') THEN N'same' ELSE N'different' END`)
	if got != "same" {
		t.Errorf("@job_id OUTPUT in a batch: %s", got)
	}
	var id []byte
	if _, err := conn.ExecContext(ctx, "msdb.dbo.sp_add_job", sql.Named("job_name", "J2"), sql.Named("job_id", sql.Out{Dest: &id})); err != nil {
		t.Fatal(err)
	}
	var stored []byte
	if err := conn.QueryRowContext(ctx, "SELECT job_id FROM msdb.dbo.sysjobs WHERE name = N'J2'").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if len(id) != 16 || !bytes.Equal(id, stored) {
		t.Errorf("RPC @job_id OUTPUT %x, sysjobs has %x", id, stored)
	}
	// A procedure a login may not run: Msg 229.
	exec("CREATE LOGIN lowpriv WITH PASSWORD = N'L0w-Passw0rd!'; CREATE USER lowpriv FOR LOGIN lowpriv;")
	lc, err := sqlops.Open(ctx, sqlops.ConnConfig{Role: "low", Host: in.Host(), Port: in.Port(), User: "lowpriv", Password: "L0w-Passw0rd!", TrustServerCertificate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	_, err = lc.DB.ExecContext(ctx, "DECLARE @o int; EXEC dbo.AddOne 1, @o OUTPUT")
	if sqlops.SQLError(err) != 229 || !strings.Contains(err.Error(), "The EXECUTE permission was denied on the object 'AddOne', database 'master', schema 'dbo'.") {
		t.Errorf("EXECUTE without permission: %v", err)
	}
	exec("GRANT EXECUTE ON OBJECT::dbo.AddOne TO lowpriv")
	if _, err := lc.DB.ExecContext(ctx, "DECLARE @o int; EXEC dbo.AddOne 1, @o OUTPUT"); err != nil {
		t.Errorf("EXECUTE after GRANT: %v", err)
	}
	exec("DROP PROCEDURE dbo.AddOne")
	_, err = conn.ExecContext(ctx, "EXEC dbo.AddOne 1")
	wantErr(t, err, 2812)
}

// TestWaitforIsCancelled checks that WAITFOR really waits and that the client's
// attention (context cancellation) stops it.
func TestWaitforIsCancelled(t *testing.T) {
	_, c := openSim(t, nil)
	start := time.Now()
	if _, err := c.DB.ExecContext(context.Background(), "WAITFOR DELAY '00:00:00.200'"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("WAITFOR DELAY 200 ms returned after %v", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err := c.DB.ExecContext(ctx, "WAITFOR DELAY '00:01:00'; SELECT 1")
	if err == nil || !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "cancel") {
		t.Errorf("cancelled WAITFOR: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cancelled WAITFOR took %v", d)
	}
}

// TestAppLocksAreSessionOwned checks sp_getapplock/sp_releaseapplock and that a
// session's locks are released when the session ends.
func TestAppLocksAreSessionOwned(t *testing.T) {
	in, c := openSim(t, nil)
	ctx := context.Background()
	a, err := sqlops.Open(ctx, sqlops.ConnConfig{Role: "a", Host: in.Host(), Port: in.Port(), User: "sa", Password: "Sim-Passw0rd!", TrustServerCertificate: true})
	if err != nil {
		t.Fatal(err)
	}
	aconn, err := a.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	get := `DECLARE @rc int; EXEC @rc = sp_getapplock @Resource = N'milink-run', @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = %s; SELECT CAST(@rc AS nvarchar(5)) + N' ' + APPLOCK_MODE('public', N'milink-run', 'Session')`
	if got := queryString(t, aconn, strings.Replace(get, "%s", "0", 1)); got != "0 Exclusive" {
		t.Fatalf("first lock: %s", got)
	}
	if got := queryString(t, c.DB, strings.Replace(get, "%s", "0", 1)); got != "-1 NoLock" {
		t.Errorf("second session, no wait: %s", got)
	}
	if got := queryString(t, c.DB, "SELECT CAST(APPLOCK_TEST('public', N'milink-run', 'Shared', 'Session') AS nvarchar(2))"); got != "0" {
		t.Errorf("APPLOCK_TEST while held: %s", got)
	}
	_, err = c.DB.ExecContext(ctx, "EXEC sp_getapplock @Resource = N'x', @LockMode = 'Shared'")
	wantErr(t, err, 1223) // a transaction owner needs a transaction
	done := make(chan string, 1)
	go func() {
		var s sql.NullString
		err := c.DB.QueryRowContext(ctx, strings.Replace(get, "%s", "10000", 1)).Scan(&s)
		if err != nil {
			done <- err.Error()
			return
		}
		done <- s.String
	}()
	aconn.Close()
	a.Close() // the session ends: its lock is released and the waiter gets it
	// Granted at once (0) if the session was gone before the request, after waiting
	// (1) otherwise; never a timeout (-1).
	if got := <-done; got != "1 Exclusive" && got != "0 Exclusive" {
		t.Errorf("waiter after the holder's session ended: %s", got)
	}
}

// TestNamesBindAtCompileTime: a statement naming a missing object fails as a whole,
// even where the reference is in a branch that would not run.
func TestNamesBindAtCompileTime(t *testing.T) {
	_, c := openSim(t, nil)
	for _, q := range []string{
		"SELECT CASE WHEN 1 = 0 THEN (SELECT COUNT(*) FROM sys.no_such_view) ELSE 1 END",
		"IF 1 = 0 OR EXISTS (SELECT 1 FROM sys.databases WHERE 1 = 0 AND database_id IN (SELECT x FROM dbo.nothing)) PRINT 'x'",
		"DECLARE @n int = (SELECT TOP (0) 1 FROM sys.databases d JOIN sys.missing m ON 1 = 1)",
	} {
		_, err := c.DB.ExecContext(context.Background(), q)
		wantErr(t, err, 208)
	}
}

// TestNoEncryption: with Options.NoEncryption the instance offers no TLS, so a client
// that does not encrypt (encrypt=disable) connects without the simulator's CA.
func TestNoEncryption(t *testing.T) {
	o := SQLServerDefaults()
	o.NoEncryption = true
	in, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	db, err := sql.Open("sqlserver", "sqlserver://sa:Sim-Passw0rd%21@"+in.Addr()+"?encrypt=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := queryString(t, db, "SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128))"); got != "16.0.4135.4" {
		t.Errorf("ProductVersion %q", got)
	}
}

// TestExecuteSQLInBatch: EXEC sp_executesql inside a batch, as DBAs write it, with
// positional statement and declarations, named values and an OUTPUT parameter
// (https://learn.microsoft.com/sql/relational-databases/system-stored-procedures/sp-executesql-transact-sql).
func TestExecuteSQLInBatch(t *testing.T) {
	_, c := openSim(t, nil)
	got := queryString(t, c.DB, `DECLARE @n int;
EXEC sp_executesql N'SELECT @x = COUNT(*) FROM sys.databases WHERE database_id > @min', N'@min int, @x int OUTPUT', @min = 4, @x = @n OUTPUT;
SELECT CAST(@n AS nvarchar(10));`)
	if got != "1" {
		t.Errorf("OUTPUT of sp_executesql = %q, want 1 (SalesDB)", got)
	}
	if got := queryString(t, c.DB, "EXEC sp_executesql N'SELECT DB_NAME()'"); got != "master" {
		t.Errorf("EXEC sp_executesql N'SELECT DB_NAME()' = %q", got)
	}
	_, err := c.DB.ExecContext(context.Background(), "EXEC sp_executesql N'SELECT @a', N'@a int', @b = 1")
	wantErr(t, err, 8145)
}

// TestAutocommitOnlyStatements: inside an open transaction (what pymssql's default
// autocommit=False gives) BACKUP fails with 3021/3013 and CREATE/ALTER DATABASE with
// 226, as on SQL Server; the state is unchanged. After COMMIT they run.
func TestAutocommitOnlyStatements(t *testing.T) {
	ctx := context.Background()
	conn := simSession(t)
	if _, err := conn.ExecContext(ctx, "BEGIN TRAN"); err != nil {
		t.Fatal(err)
	}
	_, err := conn.ExecContext(ctx, "BACKUP DATABASE SalesDB TO DISK = N'x.bak'")
	wantErr(t, err, 3013)
	_, err = conn.ExecContext(ctx, "ALTER DATABASE SalesDB SET RECOVERY SIMPLE")
	wantErr(t, err, 226)
	_, err = conn.ExecContext(ctx, "CREATE DATABASE InTran")
	wantErr(t, err, 226)
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if got := queryString(t, conn, "SELECT recovery_model_desc FROM sys.databases WHERE name = N'SalesDB'"); got != "FULL" {
		t.Errorf("recovery model changed inside the refused transaction: %s", got)
	}
	if got := queryString(t, conn, "SELECT CAST(COUNT(*) AS nvarchar(5)) FROM sys.databases WHERE name = N'InTran'"); got != "0" {
		t.Error("CREATE DATABASE ran inside a transaction")
	}
	if _, err := conn.ExecContext(ctx, "ALTER DATABASE SalesDB SET RECOVERY SIMPLE"); err != nil {
		t.Errorf("after COMMIT: %v", err)
	}
	// An option the simulator does not model is refused, not silently accepted.
	_, err = conn.ExecContext(ctx, "ALTER DATABASE SalesDB SET OFFLINE")
	wantErr(t, err, 50000)
}

// TestNoCount: with SET NOCOUNT ON the DONE tokens carry no row count, so clients get
// no "rows affected" (go-mssqldb reports RowsAffected from DONE_COUNT).
func TestNoCount(t *testing.T) {
	ctx := context.Background()
	conn := simSession(t)
	res, err := conn.ExecContext(ctx, "CREATE DATABASE Counted")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := res.RowsAffected(); err != nil {
		t.Fatal(err)
	}
	res, err = conn.ExecContext(ctx, "SET NOCOUNT ON; SELECT name FROM sys.databases")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 0 {
		t.Errorf("rows affected with NOCOUNT ON = %d, want none reported", n)
	}
	res, err = conn.ExecContext(ctx, "SET NOCOUNT OFF; SELECT name FROM sys.databases")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		t.Error("rows affected with NOCOUNT OFF not reported")
	}
}

// simSession is one session (a dedicated connection) to a fresh default instance.
func simSession(t *testing.T) *sql.Conn {
	t.Helper()
	_, c := openSim(t, nil)
	conn, err := c.DB.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}
