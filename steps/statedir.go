package steps

import "github.com/milink/milink/sqlops"

// StateDir returns milink's state directory ($XDG_STATE_HOME/milink, else
// ~/.local/state/milink): where the key, the log and, when the current directory is
// not writable, saved reports go.
func StateDir() (string, error) { return sqlops.StateDir() }
