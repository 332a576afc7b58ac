package sqlsim

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pythonWithPymssql finds a Python 3 that can import pymssql (Debian python3-pymssql).
func pythonWithPymssql(t *testing.T) string {
	t.Helper()
	var cands []string
	if p, err := exec.LookPath("python3"); err == nil {
		cands = append(cands, p)
	}
	cands = append(cands, "/usr/bin/python3")
	for _, p := range cands {
		if exec.Command(p, "-c", "import pymssql").Run() == nil {
			return p
		}
	}
	t.Skip("pymssql (Debian python3-pymssql) is not installed; .ci/run should install it")
	return ""
}

// TestPymssqlDefaultTransactionMode connects with pymssql in its default
// autocommit=False mode (it opens a transaction before the first statement), runs a
// query, reads the row, commits and rolls back.
func TestPymssqlDefaultTransactionMode(t *testing.T) {
	py := pythonWithPymssql(t)
	in, _ := openSim(t, nil)
	script := `
import sys, pymssql
conn = pymssql.connect(server=sys.argv[1], port=int(sys.argv[2]), user="sa", password="Sim-Passw0rd!", database="master", login_timeout=10, timeout=20)
cur = conn.cursor()
cur.execute("SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS v, @@TRANCOUNT AS tc, DB_NAME() AS db")
row = cur.fetchone()
print("ROW", row[0], row[1], row[2])
cur.execute("SELECT name FROM sys.databases WHERE name = %s", ("SalesDB",))
print("DB", cur.fetchone()[0])
conn.commit()
cur.execute("SELECT 1")
cur.fetchall()
conn.rollback()
conn.close()
print("OK")
`
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", script, in.Host(), strconv.Itoa(in.Port()))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pymssql: %v\n%s", err, out)
	}
	s := string(out)
	if !strings.Contains(s, "ROW 16.0.4135.4 1 master") || !strings.Contains(s, "DB SalesDB") || !strings.Contains(s, "OK") {
		t.Errorf("pymssql output:\n%s", s)
	}
}
