package sqlops

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ErrBrowser is wrapped when SQL Browser could not give a named instance's port.
var ErrBrowser = errors.New("SQL Browser did not give the instance's port")

// BrowserPort is SQL Browser's UDP port ([MC-SQLR] 2.1).
const BrowserPort = 1434

// ResolveInstance asks SQL Browser on host (UDP 1434) for the TCP port of instance, the
// way go-mssqldb does (getInstances in tds.go: one CLNT_UCAST_EX request, [MC-SQLR]
// 2.2.2, answered by SVR_RESP 2.2.5 listing every instance), until ctx ends. c names the
// flags in the messages.
func (c ConnConfig) resolveInstance(ctx context.Context, host, instance string) (int, error) {
	hint := fmt.Sprintf("give the instance's TCP port instead: %s %s,PORT (wizard field \"Server\") or %s PORT (\"Port\")", c.flag("server"), host, c.flag("port"))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", net.JoinHostPort(host, strconv.Itoa(BrowserPort)))
	if err != nil {
		return 0, fmt.Errorf("%w: %s\\%s: %v; %s", ErrBrowser, host, instance, err, hint)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	if _, err := conn.Write([]byte{0x03}); err != nil {
		return 0, fmt.Errorf("%w: %s\\%s: %v; %s", ErrBrowser, host, instance, err, hint)
	}
	buf := make([]byte, 65535+3)
	n, err := conn.Read(buf)
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) || ctx.Err() != nil {
			return 0, fmt.Errorf("%w: SQL Browser on %s (UDP %d) did not answer within the login timeout: it is stopped, or a firewall drops UDP %d; %s",
				ErrBrowser, host, BrowserPort, BrowserPort, hint)
		}
		// A refused UDP port shows up as ECONNREFUSED on the next read (ICMP port unreachable).
		return 0, fmt.Errorf("%w: SQL Browser on %s (UDP %d) is not running (%v); %s", ErrBrowser, host, BrowserPort, err, hint)
	}
	insts, err := parseSVRResp(buf[:n])
	if err != nil {
		return 0, fmt.Errorf("%w: %s (UDP %d): %v; %s", ErrBrowser, host, BrowserPort, err, hint)
	}
	var known []string
	for _, in := range insts {
		name := in["InstanceName"]
		known = append(known, name)
		if strings.EqualFold(name, instance) {
			p, perr := strconv.Atoi(in["tcp"])
			if perr != nil || p < 1 || p > 65535 {
				return 0, fmt.Errorf("%w: SQL Browser on %s knows instance %s but gives no TCP port for it (is TCP/IP enabled for it in SQL Server Configuration Manager?); %s", ErrBrowser, host, name, hint)
			}
			return p, nil
		}
	}
	sort.Strings(known)
	return 0, fmt.Errorf("%w: SQL Browser on %s has no instance %q (it lists: %s): check the instance name in %s / wizard field \"Server\"",
		ErrBrowser, host, instance, strings.Join(known, ", "), c.flag("server"))
}

// parseSVRResp reads an SVR_RESP ([MC-SQLR] 2.2.5: 0x05, RESP_SIZE little-endian,
// RESP_DATA) into one key/value map per instance (instances end with ";;").
func parseSVRResp(b []byte) ([]map[string]string, error) {
	if len(b) < 3 || b[0] != 0x05 {
		return nil, errors.New("the answer is not an SSRP SVR_RESP")
	}
	size := int(binary.LittleEndian.Uint16(b[1:3]))
	if size > len(b)-3 {
		return nil, errors.New("the SVR_RESP is shorter than its RESP_SIZE")
	}
	var out []map[string]string
	for _, rec := range strings.Split(string(b[3:3+size]), ";;") {
		if rec == "" {
			continue
		}
		f := strings.Split(rec, ";")
		m := map[string]string{}
		for i := 0; i+1 < len(f); i += 2 {
			m[f[i]] = f[i+1]
		}
		out = append(out, m)
	}
	return out, nil
}
