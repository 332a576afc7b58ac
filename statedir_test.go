package main

import (
	"fmt"
	"os"
	"testing"
)

// TestMain gives the tests a state directory of their own, so the milink key they
// create (sqlops.DefaultKey) never lands in the user's home.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "milink-state-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("XDG_STATE_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
