package probe

import "testing"

// NewTestSSHProber starts the test SSH server (ssh_server_test.go: loopback, commands
// run by bash) and returns a prober that reaches it, for the external tests.
func NewTestSSHProber(t *testing.T) *SSH { return newSSHFixture(t).prober(t) }
