package ui

import (
	"strings"
	"testing"
	"time"
)

// TestAccessibleAsksSSH: choosing ssh for the SQL Server → MI probes asks host, user,
// port, key file and known_hosts; a bad port is refused and asked again; the plan
// names the target.
func TestAccessibleAsksSSH(t *testing.T) {
	p := startPair(t, "linux", 10*time.Millisecond)
	// Prerequisites: the Fix offer declined (empty: no); network: IP and timeout kept, probes from: 4 (ssh); SSH: host kept, user dba,
	// port 99999 (refused), then again with 2222; do not start.
	input := sqlDefaults + "\n" + miDefaults + "\n\n4\n" + "\ndba\n99999\n\n\n" + "\n\n2222\n\n\n" + "n\n"
	_, out, _, _, _ := runAccessibleTest(t, Options{Config: p.config()}, input)
	for _, want := range []string{"SSH host [127.0.0.1]:", "SSH user", "SSH port", "SSH key file", "SSH known_hosts", "is not a port", "SSH to dba@127.0.0.1:2222", "Over SSH to dba@127.0.0.1:2222"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
