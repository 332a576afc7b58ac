package probe

import (
	"context"
	"time"
)

// Run runs cmd on the SQL Server host over the prober's SSH connection (the one the
// probes use), within limit. output is what it printed, stdout then stderr, trimmed
// and capped at 2 KB; exit is its exit status (-1 when none came back). A non-zero
// exit status is not an error. milink prepare runs mssql-conf and the restart this way.
func (s *SSH) Run(ctx context.Context, cmd string, limit time.Duration) (output string, exit int, err error) {
	out, err := s.run(ctx, cmd, limit)
	return out.combined(), out.exit, err
}
