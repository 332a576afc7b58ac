package tds

import (
	"bytes"
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-sql/sqlexp"
	mssql "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/msdsn"
)

func queryInt(t *testing.T, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, query string) int {
	t.Helper()
	var n int
	if err := q.QueryRowContext(context.Background(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func asMSSQLError(t *testing.T, err error) mssql.Error {
	t.Helper()
	var me mssql.Error
	if !errors.As(err, &me) {
		t.Fatalf("error %v (%T) is not an mssql.Error", err, err)
	}
	return me
}

func TestLoginOK(t *testing.T) {
	ts := startServer(t)
	db := ts.open(t, "encrypt=disable;app name=unit-app;workstation id=ws1")
	if n := queryInt(t, db, "select 1"); n != 1 {
		t.Fatalf("got %d", n)
	}
	l := ts.h.lastLogin()
	if l.UserName != testUser || l.Password != testPassword || l.Database != "master" ||
		l.AppName != "unit-app" || l.HostName != "ws1" || l.ServerName != "127.0.0.1" {
		t.Errorf("unexpected login request %+v", l)
	}
	if l.TDSVersion != 0x74000004 || l.PacketSize != 4096 || l.RemoteAddr == nil || l.FedAuthToken != "" {
		t.Errorf("unexpected login parameters %+v", l)
	}
}

func TestLoginBadPassword(t *testing.T) {
	ts := startServer(t)
	db, err := sql.Open("sqlserver", strings.Replace(ts.dsn("encrypt=disable"), testPassword, "wrong", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Ping()
	if me := asMSSQLError(t, err); me.Number != 18456 || me.Class != 14 || !strings.Contains(me.Message, "Login failed for user 'sa'") {
		t.Fatalf("unexpected error %+v", me)
	}
	waitFor(t, "connection to close", func() bool { return ts.liveConns() == 0 })
}

func TestLoginDatabaseRejected(t *testing.T) {
	ts := startServer(t)
	ts.h.rejectDB = "nosuchdb"
	db := ts.open(t, "encrypt=disable;database=nosuchdb")
	if me := asMSSQLError(t, db.Ping()); me.Number != 4060 {
		t.Fatalf("unexpected error %+v", me)
	}
}

func TestEncryption(t *testing.T) {
	certs := getCerts(t)
	appName := "marker-app-7Q"
	query := "marker batch 9Z"
	utf16 := func(s string) []byte { return encodeUCS2(nil, s) }

	tests := []struct {
		name       string
		tls        bool
		tls13      bool // allow TLS 1.3 (the server defaults to a TLS 1.2 maximum)
		params     string
		wantErr    string
		loginClear bool // LOGIN7 travels in clear text
		batchClear bool // the batch travels in clear text
	}{
		{name: "disable", tls: true, params: "encrypt=disable", loginClear: true, batchClear: true},
		{name: "disable without server TLS", params: "encrypt=disable", loginClear: true, batchClear: true},
		{name: "true trusting self-signed", tls: true, params: "encrypt=true;TrustServerCertificate=true"},
		{name: "true verified by CA", tls: true, params: "encrypt=true;certificate=" + certs.caFile},
		{name: "true verified by CA via hostname", tls: true, params: "encrypt=true;hostNameInCertificate=localhost;certificate=" + certs.caFile},
		{name: "false is login-only", tls: true, params: "encrypt=false;TrustServerCertificate=true", batchClear: true},
		{name: "true with TLS 1.3", tls: true, tls13: true, params: "encrypt=true;certificate=" + certs.caFile},
		{name: "false with TLS 1.3", tls: true, tls13: true, params: "encrypt=false;TrustServerCertificate=true", batchClear: true},
		{name: "false without server TLS", params: "encrypt=false", loginClear: true, batchClear: true},
		{name: "true without server TLS", params: "encrypt=true;TrustServerCertificate=true", wantErr: "encryption"},
		{name: "self-signed not trusted", tls: true, params: "encrypt=true;TrustServerCertificate=false", wantErr: "certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cert := certs.serverTLS
			if strings.Contains(tc.name, "self-signed") {
				cert = certs.selfTLS
			}
			ts := startServer(t, func(c *Config) {
				if tc.tls {
					c.TLSConfig = cert.Clone()
					if tc.tls13 {
						c.TLSConfig.MaxVersion = tls.VersionTLS13
					}
				}
			})
			db := ts.open(t, tc.params+";app name="+appName)
			_, err := db.Exec(query)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(strings.ToLower(err.Error()), tc.wantErr) {
					t.Fatalf("got error %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := queryInt(t, db, "select 1"); n != 1 {
				t.Fatalf("got %d", n)
			}
			if got := ts.capture.contains(utf16(appName)); got != tc.loginClear {
				t.Errorf("LOGIN7 visible in clear text: %v, want %v", got, tc.loginClear)
			}
			if got := ts.capture.contains(utf16(query)); got != tc.batchClear {
				t.Errorf("batch visible in clear text: %v, want %v", got, tc.batchClear)
			}
		})
	}
}

func TestTwoResultSetsAndInfo(t *testing.T) {
	ts := startServer(t)
	db := ts.open(t, "encrypt=disable")

	rows, err := db.Query("two results")
	if err != nil {
		t.Fatal(err)
	}
	var first []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		first = append(first, s)
	}
	if !rows.NextResultSet() {
		t.Fatalf("no second result set: %v", rows.Err())
	}
	type pair struct {
		n int64
		b sql.NullBool
	}
	var second []pair
	for rows.Next() {
		var p pair
		if err := rows.Scan(&p.n, &p.b); err != nil {
			t.Fatal(err)
		}
		second = append(second, p)
	}
	if rows.NextResultSet() {
		t.Fatal("unexpected third result set")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if strings.Join(first, ",") != "x,y" {
		t.Errorf("first result set %v", first)
	}
	want := []pair{{7, sql.NullBool{Bool: true, Valid: true}}, {8, sql.NullBool{}}}
	if len(second) != 2 || second[0] != want[0] || second[1] != want[1] {
		t.Errorf("second result set %+v", second)
	}

	// The same batch through the message loop, which also surfaces INFO.
	ctx := context.Background()
	retmsg := &sqlexp.ReturnMessage{}
	rows, err = db.QueryContext(ctx, "two results", retmsg)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var notices []string
	sets := 0
	for active := true; active; {
		switch m := retmsg.Message(ctx).(type) {
		case sqlexp.MsgNotice:
			notices = append(notices, m.Message.String())
		case sqlexp.MsgNext:
			sets++
			for rows.Next() {
			}
		case sqlexp.MsgNextResultSet:
			active = rows.NextResultSet()
		case sqlexp.MsgError:
			t.Fatal(m.Error)
		}
	}
	if sets != 2 || len(notices) != 1 || notices[0] != "hello from PRINT" {
		t.Errorf("got %d result sets and notices %q", sets, notices)
	}
}

func TestResultTypes(t *testing.T) {
	ts := startServer(t)
	db := ts.open(t, "encrypt=disable")
	rows, err := db.Query("run types")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil {
		t.Fatal(err)
	}
	wantTypes := []string{"NVARCHAR", "VARBINARY", "TINYINT", "SMALLINT", "INT", "BIGINT", "BIT", "FLOAT", "REAL",
		"DECIMAL", "DATETIME", "DATETIME2", "DATETIMEOFFSET", "DATE", "UNIQUEIDENTIFIER"}
	for i, ct := range cts {
		if ct.DatabaseTypeName() != wantTypes[i] || ct.Name() != typesColumns[i].Name {
			t.Errorf("column %d: %s %s, want %s %s", i, ct.Name(), ct.DatabaseTypeName(), typesColumns[i].Name, wantTypes[i])
		}
	}
	if !rows.Next() {
		t.Fatal(rows.Err())
	}
	var (
		nv            string
		vb            []byte
		ti, si, i, bi int64
		bit           bool
		f, r          float64
		dec           string
		dt, dt2, dto  time.Time
		date          time.Time
		g             mssql.UniqueIdentifier
	)
	if err := rows.Scan(&nv, &vb, &ti, &si, &i, &bi, &bit, &f, &r, &dec, &dt, &dt2, &dto, &date, &g); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		ok   bool
		got  any
	}{
		{"nvarchar(10) truncation", nv == "héllo wörl", nv},
		{"varbinary", bytes.Equal(vb, []byte{1, 2, 3}), vb},
		{"ints", ti == 255 && si == -32768 && i == 2147483647 && bi == -9223372036854775808, []int64{ti, si, i, bi}},
		{"bit", bit, bit},
		{"floats", f == 3.25 && r == 1.5, []float64{f, r}},
		{"decimal", dec == "-1234.568", dec},
		{"datetime", dt.Equal(time.Date(2024, 2, 29, 13, 14, 15, 123000000, time.UTC)), dt},
		{"datetime2", dt2.Equal(typesTime), dt2},
		{"datetimeoffset", dto.Equal(typesTime), dto},
		{"date", date.Equal(time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)), date},
		{"uniqueidentifier", [16]byte(g) == testGUID, g},
	}
	if _, off := dto.Zone(); off != 9000 {
		t.Errorf("datetimeoffset zone offset %d, want 9000", off)
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: got %v", c.name, c.got)
		}
	}
	// Second row: all NULL.
	if !rows.Next() {
		t.Fatal(rows.Err())
	}
	vals := make([]any, len(typesColumns))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	for i, v := range vals {
		if v != nil {
			t.Errorf("column %d: got %v, want NULL", i, v)
		}
	}
}

func TestLongNVarChar(t *testing.T) {
	ts := startServer(t)
	db := ts.open(t, "encrypt=disable")
	var short, long string
	if err := db.QueryRow("run long").Scan(&short, &long); err != nil {
		t.Fatal(err)
	}
	if short != strings.Repeat("é", 4000) || long != strings.Repeat("é", 5000) {
		t.Fatalf("got lengths %d and %d runes", len([]rune(short)), len([]rune(long)))
	}
}

func TestRPCNamedProc(t *testing.T) {
	ts := startServer(t)
	db := ts.open(t, "encrypt=disable")
	longStr := strings.Repeat("Ж", 4500)
	longBin := bytes.Repeat([]byte{0xAB}, 9000)
	when := time.Date(2023, 7, 1, 8, 30, 0, 500, time.FixedZone("", -5*3600))
	var jobID mssql.UniqueIdentifier
	_, err := db.Exec("msdb.dbo.sp_add_job",
		sql.Named("job_name", "nightly backup"),
		sql.Named("enabled", true),
		sql.Named("owner_id", int64(42)),
		sql.Named("retries", int32(-3)),
		sql.Named("small", int16(7)),
		sql.Named("tiny", int8(5)),
		sql.Named("ratio", 0.25),
		sql.Named("description", nil),
		sql.Named("nullstr", sql.NullString{}),
		sql.Named("blob", []byte{1, 2, 3}),
		sql.Named("emptyblob", []byte{}),
		sql.Named("longblob", longBin),
		sql.Named("long_text", longStr),
		sql.Named("max_text", mssql.NVarCharMax("short max")),
		sql.Named("vc", mssql.VarChar("plain")),
		sql.Named("when", when),
		sql.Named("legacy_dt", mssql.DateTime1(time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC))),
		sql.Named("guid", mssql.UniqueIdentifier(testGUID)),
		sql.Named("job_id", sql.Out{Dest: &jobID}),
	)
	if err != nil {
		t.Fatal(err)
	}
	req := ts.h.lastRPC()
	if req.ProcName != "msdb.dbo.sp_add_job" || req.ProcID != 0 {
		t.Fatalf("proc %q id %d", req.ProcName, req.ProcID)
	}
	want := []struct {
		name, typ string
		val       any
		out       bool
	}{
		{"@job_name", "nvarchar", "nightly backup", false},
		{"@enabled", "bit", true, false},
		{"@owner_id", "bigint", int64(42), false},
		{"@retries", "int", int64(-3), false},
		{"@small", "smallint", int64(7), false},
		{"@tiny", "tinyint", int64(5), false},
		{"@ratio", "float", 0.25, false},
		{"@description", "", nil, false},
		{"@nullstr", "nvarchar", nil, false},
		{"@blob", "varbinary", []byte{1, 2, 3}, false},
		{"@emptyblob", "varbinary", []byte{}, false},
		{"@longblob", "varbinary", longBin, false},
		{"@long_text", "nvarchar", longStr, false},
		{"@max_text", "nvarchar", "short max", false},
		{"@vc", "varchar", "plain", false},
		{"@when", "datetimeoffset", when, false},
		{"@legacy_dt", "datetime", time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC), false},
		{"@guid", "uniqueidentifier", testGUID, false},
		{"@job_id", "uniqueidentifier", [16]byte{}, true},
	}
	if len(req.Params) != len(want) {
		t.Fatalf("got %d params, want %d", len(req.Params), len(want))
	}
	for i, w := range want {
		p := req.Params[i]
		if p.Name != w.name || p.TypeName != w.typ || p.Output != w.out || !equalValue(p.Value, w.val) {
			t.Errorf("param %d: got %s %q out=%v %#v, want %s %q out=%v %#v",
				i, p.Name, p.TypeName, p.Output, short(p.Value), w.name, w.typ, w.out, short(w.val))
		}
	}
	if [16]byte(jobID) != testGUID {
		t.Errorf("OUTPUT job_id = %v", jobID)
	}
}

func equalValue(a, b any) bool {
	switch x := a.(type) {
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case time.Time:
		y, ok := b.(time.Time)
		if !ok || !x.Equal(y) {
			return false
		}
		_, ox := x.Zone()
		_, oy := y.Zone()
		return ox == oy
	}
	return a == b
}

func short(v any) any {
	switch x := v.(type) {
	case string:
		if len(x) > 40 {
			return x[:40] + "..."
		}
	case []byte:
		if len(x) > 16 {
			return x[:16]
		}
	}
	return v
}

func TestSPExecuteSQL(t *testing.T) {
	ts := startServer(t)
	db := ts.open(t, "encrypt=disable")
	var a, b, c sql.NullString
	err := db.QueryRow("select @p1, @name, @p3 from t where x = @name", 5, sql.Named("name", "bob"), nil).Scan(&a, &b, &c)
	if err != nil {
		t.Fatal(err)
	}
	if a.String != "bigint:5" || b.String != "nvarchar:bob" || c.Valid {
		t.Errorf("echoed %v %v %v", a, b, c)
	}
	req := ts.h.lastRPC()
	if req.ProcName != "sp_executesql" || req.ProcID != 10 || len(req.Params) != 5 {
		t.Fatalf("unexpected request %+v", req)
	}
	if req.Params[0].Value != "select @p1, @name, @p3 from t where x = @name" {
		t.Errorf("@stmt = %v", req.Params[0].Value)
	}
	if req.Params[1].Value != "@p1 bigint,@name nvarchar(3),@p3 nvarchar(1)" {
		t.Errorf("@params = %v", req.Params[1].Value)
	}
	if req.Params[2].Name != "@p1" || req.Params[3].Name != "@name" || req.Params[4].Name != "@p3" {
		t.Errorf("names %q %q %q", req.Params[2].Name, req.Params[3].Name, req.Params[4].Name)
	}
}

func TestErrors(t *testing.T) {
	ts := startServer(t)
	db := ts.open(t, "encrypt=disable")
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()

	_, err = conn.ExecContext(ctx, "run error")
	me := asMSSQLError(t, err)
	if me.Number != 2627 || me.Class != 14 || me.ProcName != "p" || me.LineNo != 3 || me.ServerName != "TESTSRV" {
		t.Errorf("batch error %+v", me)
	}
	_, err = conn.ExecContext(ctx, "select error", 1)
	if me := asMSSQLError(t, err); me.Number != 50010 || me.Class != 16 {
		t.Errorf("RPC error %+v", me)
	}
	_, err = conn.ExecContext(ctx, "dbo.no_such_proc")
	if me := asMSSQLError(t, err); me.Number != 2812 {
		t.Errorf("unknown proc error %+v", me)
	}
	_, err = conn.ExecContext(ctx, "run badvalue")
	if me := asMSSQLError(t, err); me.Number != 245 || !strings.Contains(me.Message, "column \"n\"") {
		t.Errorf("conversion error %+v", me)
	}
	// The connection is still usable.
	if n := queryInt(t, conn, "select 1"); n != 1 {
		t.Fatalf("got %d", n)
	}
}

func TestRowsAffected(t *testing.T) {
	ts := startServer(t)
	db := ts.open(t, "encrypt=disable")
	res, err := db.Exec("run insert")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 3 {
		t.Fatalf("RowsAffected = %d, %v", n, err)
	}
}

func TestOutputParams(t *testing.T) {
	ts := startServer(t)
	db := ts.open(t, "encrypt=disable")
	s := "in"
	n := int64(21)
	b := true
	bin := []byte{1, 2}
	var g mssql.UniqueIdentifier
	f := sql.NullFloat64{Float64: 1.5, Valid: true}
	_, err := db.Exec("exec proc_with_output @s output, @n output",
		sql.Named("s", sql.Out{Dest: &s}),
		sql.Named("n", sql.Out{Dest: &n}),
		sql.Named("b", sql.Out{Dest: &b}),
		sql.Named("bin", sql.Out{Dest: &bin}),
		sql.Named("g", sql.Out{Dest: &g}),
		sql.Named("f", sql.Out{Dest: &f}),
	)
	if err != nil {
		t.Fatal(err)
	}
	if s != "out:in" || n != 42 || b || !bytes.Equal(bin, []byte{1, 2, 0xFF}) || [16]byte(g) != testGUID {
		t.Errorf("outputs: s=%q n=%d b=%v bin=%v g=%v", s, n, b, bin, g)
	}
	if f.Valid {
		t.Errorf("f = %v, want NULL", f)
	}
}

// TestAttentionCancelsRequest cancels blocked requests from the client. The
// server must cancel the handler's context and confirm with DONE(ATTN); the
// client only reports the context error after that confirmation (otherwise it
// returns a "did not get cancellation confirmation" stream error).
func TestAttentionCancelsRequest(t *testing.T) {
	ts := startServer(t)
	db := ts.open(t, "encrypt=disable")
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	run := func(t *testing.T, c *sql.Conn, ctx context.Context, query string, args []any) error {
		t.Helper()
		start := time.Now()
		rows, err := c.QueryContext(ctx, query, args...)
		if err == nil {
			for rows.Next() {
			}
			err = rows.Err()
			rows.Close()
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("cancel took %v", d)
		}
		select {
		case <-ts.h.blocked:
		case <-time.After(5 * time.Second):
			t.Fatal("handler context was not cancelled")
		}
		<-ts.h.started
		return err
	}
	for _, tc := range []struct {
		name  string
		query string
		args  []any
	}{
		{"batch", "run block", nil},
		{"rpc", "select block", []any{1}},
	} {
		t.Run(tc.name+"/cancel", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			timer := time.AfterFunc(200*time.Millisecond, cancel)
			defer timer.Stop()
			if err := run(t, conn, ctx, tc.query, tc.args); !errors.Is(err, context.Canceled) {
				t.Fatalf("got %v, want context.Canceled", err)
			}
			// The same connection is still usable.
			if n := queryInt(t, conn, "select 1"); n != 1 {
				t.Fatalf("got %d", n)
			}
		})
		t.Run(tc.name+"/deadline", func(t *testing.T) {
			// go-mssqldb treats context.DeadlineExceeded as a net.Error and
			// discards the connection afterwards, so use a separate one.
			c, err := db.Conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			if err := run(t, c, ctx, tc.query, tc.args); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("got %v, want context.DeadlineExceeded", err)
			}
		})
	}
	if n := queryInt(t, conn, "select 1"); n != 1 {
		t.Fatalf("got %d", n)
	}
}

func TestLargeResultSplitsPackets(t *testing.T) {
	for _, size := range []string{"", "packet size=512", "packet size=32767"} {
		t.Run("size="+size, func(t *testing.T) {
			ts := startServer(t)
			db := ts.open(t, "encrypt=disable;"+size)
			for _, n := range []int{2000, 0} {
				rows, err := db.Query("big " + itoa(n))
				if err != nil {
					t.Fatal(err)
				}
				count := 0
				for rows.Next() {
					var id int
					var s string
					var b []byte
					if err := rows.Scan(&id, &s, &b); err != nil {
						t.Fatal(err)
					}
					if id != count || !strings.HasPrefix(s, "row "+itoa(count)+" ") || len(b) != 2 || b[0] != byte(count) {
						t.Fatalf("row %d: %d %q %v", count, id, s, b)
					}
					count++
				}
				if err := rows.Err(); err != nil {
					t.Fatal(err)
				}
				rows.Close()
				if count != n {
					t.Fatalf("got %d rows, want %d", count, n)
				}
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestDropConnections(t *testing.T) {
	ts := startServer(t)
	db := ts.open(t, "encrypt=disable;disableRetry=true")
	db.SetMaxOpenConns(1)
	if n := queryInt(t, db, "select 1"); n != 1 {
		t.Fatal(n)
	}
	ts.srv.DropConnections()
	waitFor(t, "connections to drop", func() bool { return ts.liveConns() == 0 })
	if err := db.QueryRow("select 1").Scan(new(int)); err == nil {
		t.Fatal("query on a dropped connection succeeded")
	}
	if n := queryInt(t, db, "select 1"); n != 1 {
		t.Fatal(n)
	}
	if got := ts.h.loginCount(); got != 2 {
		t.Fatalf("got %d logins, want 2", got)
	}
}

func TestHandlerPanic(t *testing.T) {
	ts := startServer(t)
	db := ts.open(t, "encrypt=disable")
	db.SetMaxOpenConns(1)
	_, err := db.Exec("run panic")
	if me := asMSSQLError(t, err); me.Number != errNumInternal || me.Class != 16 {
		t.Fatalf("got %+v", me)
	}
	if n := queryInt(t, db, "select 1"); n != 1 {
		t.Fatal(n)
	}
	if got := ts.h.loginCount(); got != 1 {
		t.Fatalf("the panic cost the connection: %d logins", got)
	}
}

func TestTransactionsAndReset(t *testing.T) {
	ts := startServer(t)
	db := ts.open(t, "encrypt=disable")
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("run insert"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	tx, err = db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, db, "select 1"); n != 1 {
		t.Fatal(n)
	}
	ts.h.mu.Lock()
	defer ts.h.mu.Unlock()
	want := []TxOp{TxBegin, TxCommit, TxBegin, TxRollback}
	if len(ts.h.tx) != len(want) {
		t.Fatalf("transaction ops %v, want %v", ts.h.tx, want)
	}
	for i := range want {
		if ts.h.tx[i] != want[i] {
			t.Fatalf("transaction ops %v, want %v", ts.h.tx, want)
		}
	}
	if ts.h.resets == 0 {
		t.Error("the pooled connection was never reset")
	}
}

func TestChangeDatabase(t *testing.T) {
	ts := startServer(t)
	db := ts.open(t, "encrypt=disable")
	if _, err := db.Exec("use tempdb"); err != nil {
		t.Fatal(err)
	}
}

func fedAuthConfig(t *testing.T, ts *testServer) msdsn.Config {
	t.Helper()
	cfg, err := msdsn.Parse(strings.NewReplacer("user id="+testUser+";", "", "password="+testPassword+";", "").Replace(ts.dsn("encrypt=disable")))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestFedAuthSecurityToken(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.RequireFedAuth = true })
	conn, err := mssql.NewSecurityTokenConnector(fedAuthConfig(t, ts), func(context.Context) (string, error) {
		return testToken, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	if n := queryInt(t, db, "select 1"); n != 1 {
		t.Fatal(n)
	}
	if l := ts.h.lastLogin(); l.FedAuthToken != testToken || l.UserName != "" || l.Password != "" {
		t.Fatalf("login request %+v", l)
	}

	// RequireFedAuth rejects SQL authentication.
	sqlAuth := ts.open(t, "encrypt=disable")
	if me := asMSSQLError(t, sqlAuth.Ping()); me.Number != 18456 {
		t.Fatalf("got %+v", me)
	}

	// A token the handler rejects with a plain error becomes 18456.
	bad, err := mssql.NewSecurityTokenConnector(fedAuthConfig(t, ts), func(context.Context) (string, error) {
		return "bad token", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	badDB := sql.OpenDB(bad)
	defer badDB.Close()
	if me := asMSSQLError(t, badDB.Ping()); me.Number != 18456 {
		t.Fatalf("got %+v", me)
	}
}

// TestFedAuthLargeToken sends a LOGIN7 spanning several packets; with
// encrypt=false only its first packet is encrypted, the rest is plain.
func TestFedAuthLargeToken(t *testing.T) {
	certs := getCerts(t)
	token := testToken + strings.Repeat("t", 6000)
	for _, enc := range []string{"false", "true", "disable"} {
		t.Run("encrypt="+enc, func(t *testing.T) {
			ts := startServer(t, func(c *Config) { c.TLSConfig = certs.serverTLS })
			cfg, err := msdsn.Parse(strings.NewReplacer("user id="+testUser+";", "", "password="+testPassword+";", "").
				Replace(ts.dsn("encrypt=" + enc + ";TrustServerCertificate=true")))
			if err != nil {
				t.Fatal(err)
			}
			conn, err := mssql.NewSecurityTokenConnector(cfg, func(context.Context) (string, error) { return token, nil })
			if err != nil {
				t.Fatal(err)
			}
			db := sql.OpenDB(conn)
			defer db.Close()
			if n := queryInt(t, db, "select 1"); n != 1 {
				t.Fatal(n)
			}
			if l := ts.h.lastLogin(); l.FedAuthToken != token {
				t.Fatalf("token of %d bytes received, want %d", len(l.FedAuthToken), len(token))
			}
		})
	}
}

func TestFedAuthADALWorkflow(t *testing.T) {
	ts := startServer(t, func(c *Config) {
		c.FedAuthSTSURL = "https://sts.example/tenant"
		c.FedAuthSPN = "https://sql.example/"
	})
	var gotSPN, gotSTS string
	conn, err := mssql.NewActiveDirectoryTokenConnector(fedAuthConfig(t, ts), mssql.FedAuthADALWorkflowPassword,
		func(_ context.Context, spn, sts string) (string, error) {
			gotSPN, gotSTS = spn, sts
			return testToken, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	db.SetMaxOpenConns(1)
	if n := queryInt(t, db, "select 1"); n != 1 {
		t.Fatal(n)
	}
	if gotSPN != "https://sql.example/" || gotSTS != "https://sts.example/tenant" {
		t.Errorf("provider got spn %q sts %q", gotSPN, gotSTS)
	}
	if l := ts.h.lastLogin(); l.FedAuthToken != testToken {
		t.Fatalf("login request %+v", l)
	}
}

func TestServerCloseCancelsHandlers(t *testing.T) {
	h := newFakeHandler()
	srv := NewServer(Config{Handler: h})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	ts := &testServer{srv: srv, h: h, addr: l.Addr().(*net.TCPAddr)}
	db := ts.open(t, "encrypt=disable")
	queryErr := make(chan error, 1)
	go func() {
		_, err := db.Exec("run block")
		queryErr <- err
	}()
	<-h.started
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.blocked:
	default:
		t.Fatal("Close returned before the handler finished")
	}
	if err := <-queryErr; err == nil {
		t.Fatal("query on a closed server succeeded")
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve returned %v", err)
	}
	if err := srv.Serve(l); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Close returned %v", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed != 1 {
		t.Fatalf("Session.Close called %d times", h.closed)
	}
}
