package main

import (
	"os"
	"testing"

	"github.com/milink/milink/sqlsim/statetest"
)

// TestMain keeps the milink key the tests create out of the user's home.
func TestMain(m *testing.M) { os.Exit(statetest.Run(m)) }
