package sqlsim

import (
	"net"
	"strings"
	"testing"
	"time"
)

// TestBrowserSSRP: the simulated SQL Browser answers CLNT_UCAST_EX with every instance
// and CLNT_UCAST_INST with the one named, in SVR_RESP form ([MC-SQLR] 2.2.2, 2.2.3, 2.2.5).
func TestBrowserSSRP(t *testing.T) {
	b, err := StartBrowser("127.0.0.1:0", map[string]int{"inst1": 50001, "SALES": 50002})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, err := net.Dial("udp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ask := func(req []byte) string {
		t.Helper()
		if _, err := c.Write(req); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second)) // a bound, not a synchronisation
		buf := make([]byte, 4096)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if buf[0] != 0x05 || int(buf[1])|int(buf[2])<<8 != n-3 {
			t.Fatalf("not an SVR_RESP: % x", buf[:n])
		}
		return string(buf[3:n])
	}
	all := ask([]byte{0x03})
	want := "ServerName;127.0.0.1;InstanceName;INST1;IsClustered;No;Version;16.0.1000.6;tcp;50001;;ServerName;127.0.0.1;InstanceName;SALES;IsClustered;No;Version;16.0.1000.6;tcp;50002;;"
	if all != want {
		t.Errorf("CLNT_UCAST_EX answer %q, want %q", all, want)
	}
	one := ask(append([]byte{0x04}, "Sales\x00"...))
	if !strings.Contains(one, "InstanceName;SALES;") || strings.Contains(one, "INST1") || !strings.HasSuffix(one, "tcp;50002;;") {
		t.Errorf("CLNT_UCAST_INST answer %q", one)
	}
}
