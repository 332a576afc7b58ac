// Package statetest gives a test binary a state directory of its own
// ($XDG_STATE_HOME), so the milink key and known_servers file that tests create never
// land in the user's home. Only tests import it.
package statetest

import (
	"fmt"
	"os"
)

// Runner is what TestMain's *testing.M offers.
type Runner interface{ Run() int }

// Run points XDG_STATE_HOME at a new temporary directory, runs m, removes the
// directory and returns m's exit code (1 if the directory can't be made).
func Run(m Runner) int {
	dir, err := os.MkdirTemp("", "milink-state-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	os.Setenv("XDG_STATE_HOME", dir)
	return m.Run()
}
