package steps

import (
	"context"
	"fmt"
	"testing"

	"github.com/milink/milink/sqlops"
)

// TestSQLServerGroups: pairs are grouped by their SQL Server whatever the spelling
// (case, host,port or a port of its own, the default port), and a named instance or
// another port is another SQL Server.
func TestSQLServerGroups(t *testing.T) {
	pair := func(host string, port int) InventoryPair {
		return InventoryPair{Config: Config{SQLServer: sqlops.ConnConfig{Host: host, Port: port}}}
	}
	pairs := []InventoryPair{
		pair("127.0.0.1,1433", 0), pair("127.0.0.2", 14330), pair("127.0.0.1", 0), pair("tcp:127.0.0.1,1433", 0),
		pair(`127.0.0.1\FIN`, 0), pair("127.0.0.2,14330", 0), pair("127.0.0.1", 1434), pair(`127.0.0.1\fin`, 0),
	}
	got := fmt.Sprint(sqlServerGroups(context.Background(), pairs))
	if want := "[[0 2 3] [1 5] [4 7] [6]]"; got != want {
		t.Errorf("groups %s, want %s", got, want)
	}
}
