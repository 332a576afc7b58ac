// Pairs that share a SQL Server run one after another: SQL Server has one database
// mirroring endpoint, so a second run on it at the same time cannot test the managed
// instance → SQL Server direction ("still running").

package steps

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/milink/milink/sqlops"
)

// resolveTimeout bounds the look-up of a SQL Server's name when pairs are grouped.
const resolveTimeout = 2 * time.Second

// sqlServerGroups groups the pairs (by index) that share a SQL Server: the same
// host, or names that resolve to the same addresses, and the same port or named
// instance. Groups are in the order of their first pair, each in inventory order. A
// name that does not resolve is compared as written (ignoring case).
func sqlServerGroups(ctx context.Context, pairs []InventoryPair) [][]int {
	var names []string
	for _, p := range pairs {
		if h := strings.ToLower(sqlServerAddress(p.Config).Host); !slices.Contains(names, h) {
			names = append(names, h)
		}
	}
	hosts := map[string]string{} // lower-cased host → its addresses, or itself
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, h := range names {
		wg.Go(func() {
			key := h
			lctx, cancel := context.WithTimeout(ctx, resolveTimeout)
			defer cancel()
			if addrs, err := net.DefaultResolver.LookupHost(lctx, h); err == nil && len(addrs) > 0 {
				slices.Sort(addrs)
				key = strings.Join(addrs, ",")
			}
			mu.Lock()
			hosts[h] = key
			mu.Unlock()
		})
	}
	wg.Wait()
	var groups [][]int
	at := map[string]int{} // key → its group
	for i, p := range pairs {
		a := sqlServerAddress(p.Config)
		key := hosts[strings.ToLower(a.Host)] + "|" + strconv.Itoa(a.Port)
		if a.Instance != "" {
			key = hosts[strings.ToLower(a.Host)] + `|\` + strings.ToUpper(a.Instance)
		}
		g, ok := at[key]
		if !ok {
			g = len(groups)
			at[key] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	return groups
}

// sqlServerAddress is the SQL Server of cfg: host, and the port (default 1433) or
// the named instance.
func sqlServerAddress(cfg Config) sqlops.ServerAddress {
	a, err := sqlops.ParseServer(cfg.SQLServer.Host)
	if err != nil {
		a = sqlops.ServerAddress{Host: cfg.SQLServer.Host}
	}
	if a.Port == 0 {
		a.Port = cfg.SQLServer.Port
	}
	if a.Port == 0 && a.Instance == "" {
		a.Port = 1433
	}
	return a
}
