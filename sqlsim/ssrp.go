package sqlsim

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Browser is a simulated SQL Server Browser: it answers the SQL Server Resolution
// Protocol ([MC-SQLR], learn.microsoft.com/openspecs/windows_protocols/mc-sqlr) on UDP,
// the way clients (go-mssqldb's getInstances, sqlcmd, SSMS) find a named instance's
// TCP port.
type Browser struct {
	pc         net.PacketConn
	serverName string
	mu         sync.Mutex
	instances  map[string]int
	wg         sync.WaitGroup
}

// SSRP message types ([MC-SQLR] 2.2).
const (
	ssrpBcastEx  = 0x02 // CLNT_BCAST_EX (2.2.1): all instances
	ssrpUcastEx  = 0x03 // CLNT_UCAST_EX (2.2.2): all instances (go-mssqldb sends this one)
	ssrpUcastIns = 0x04 // CLNT_UCAST_INST (2.2.3): one instance, name follows, NUL-terminated
	ssrpSvrResp  = 0x05 // SVR_RESP (2.2.5)
)

// StartBrowser answers SSRP on the UDP address addr (normally port 1434, e.g.
// "127.0.0.2:1434" in tests) for instances, which maps instance names to their TCP
// ports. The server name in the answers is the host part of addr, upper-cased.
func StartBrowser(addr string, instances map[string]int) (*Browser, error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("sqlsim: SQL Browser on UDP %s: %w", addr, err)
	}
	host, _, _ := net.SplitHostPort(addr)
	b := &Browser{pc: pc, serverName: strings.ToUpper(host), instances: map[string]int{}}
	for name, port := range instances {
		b.instances[strings.ToUpper(name)] = port
	}
	b.wg.Add(1)
	go b.serve()
	return b, nil
}

// Addr is the UDP address the Browser answers on.
func (b *Browser) Addr() net.Addr { return b.pc.LocalAddr() }

// Close stops answering.
func (b *Browser) Close() error {
	err := b.pc.Close()
	b.wg.Wait()
	return err
}

func (b *Browser) serve() {
	defer b.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, from, err := b.pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if resp := b.answer(buf[:n]); resp != nil {
			_, _ = b.pc.WriteTo(resp, from)
		}
	}
}

// answer is the SVR_RESP to req, or nil when [MC-SQLR] 3.2.5 says not to answer: a
// request that is not valid or understood, or a CLNT_UCAST_INST naming an instance
// this host does not have ("returns information about the specified instance only
// (if available)").
func (b *Browser) answer(req []byte) []byte {
	if len(req) == 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var names []string
	switch req[0] {
	case ssrpBcastEx, ssrpUcastEx:
		if len(req) != 1 {
			return nil
		}
		for n := range b.instances {
			names = append(names, n)
		}
		sort.Strings(names)
	case ssrpUcastIns:
		// INSTANCENAME: MBCS, NUL-terminated, at most 32 bytes with the NUL (2.2.3).
		name := req[1:]
		if i := strings.IndexByte(string(name), 0); i >= 0 {
			name = name[:i]
		}
		if len(name) == 0 || len(name) > 31 {
			return nil
		}
		n := strings.ToUpper(string(name))
		if _, ok := b.instances[n]; !ok {
			return nil
		}
		names = []string{n}
	default:
		return nil
	}
	// RESP_DATA (2.2.5): per instance "ServerName;<name>;InstanceName;<name>;
	// IsClustered;No;Version;<v>;tcp;<port>;;"; at most 65,535 bytes for the *_EX
	// requests, 1,024 for CLNT_UCAST_INST.
	var data strings.Builder
	for _, n := range names {
		fmt.Fprintf(&data, "ServerName;%s;InstanceName;%s;IsClustered;No;Version;16.0.1000.6;tcp;%s;;",
			b.serverName, n, strconv.Itoa(b.instances[n]))
	}
	limit := 65535
	if req[0] == ssrpUcastIns {
		limit = 1024
	}
	if data.Len() > limit {
		return nil
	}
	resp := []byte{ssrpSvrResp, byte(data.Len()), byte(data.Len() >> 8)}
	return append(resp, data.String()...)
}
