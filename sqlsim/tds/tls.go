package tds

import (
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
)

// serverTLSConfig prepares the configured TLS settings for TDS use.
func serverTLSConfig(cfg *tls.Config) *tls.Config {
	c := cfg.Clone()
	// Session tickets would be sent after the handshake flight, which TDS
	// clients do not expect inside the PRELOGIN-wrapped handshake.
	c.SessionTicketsDisabled = true
	if c.MaxVersion == 0 {
		c.MaxVersion = tls.VersionTLS12
	}
	return c
}

// handshakeConn carries TLS handshake records inside PRELOGIN packets, as
// TDS 7.x requires. Outgoing records are gathered and sent as one PRELOGIN
// message when the TLS stack next reads (or when flush is called after the
// handshake), mirroring the client's framing.
type handshakeConn struct {
	net.Conn           // the TCP connection, for addresses and deadlines
	r        io.Reader // raw (buffered) TCP reader
	pw       packetWriter
	in       []byte // unread payload of the current PRELOGIN packet
	out      []byte // pending handshake bytes to send
}

// Read returns handshake bytes from PRELOGIN packets.
func (h *handshakeConn) Read(p []byte) (int, error) {
	if err := h.flush(); err != nil {
		return 0, err
	}
	for len(h.in) == 0 {
		hdr, payload, err := readPacket(h.r)
		if err != nil {
			return 0, fmt.Errorf("tds: reading TLS handshake packet: %w", err)
		}
		if hdr.typ != pktPrelogin {
			return 0, fmt.Errorf("tds: unexpected packet type %#x during TLS handshake", hdr.typ)
		}
		h.in = payload
	}
	n := copy(p, h.in)
	h.in = h.in[n:]
	return n, nil
}

// Write queues handshake bytes.
func (h *handshakeConn) Write(p []byte) (int, error) {
	h.out = append(h.out, p...)
	return len(p), nil
}

// flush sends the queued handshake bytes as one PRELOGIN message.
func (h *handshakeConn) flush() error {
	if len(h.out) == 0 {
		return nil
	}
	err := h.pw.writeMessage(pktPrelogin, h.out)
	h.out = nil
	return err
}

// Close is a no-op: the TCP connection is owned by the server connection.
func (h *handshakeConn) Close() error { return nil }

// switchConn is the transport under tls.Conn: it forwards to the handshake
// wrapper during the handshake and to the TCP connection afterwards (tls.Conn
// cannot change its transport itself).
type switchConn struct {
	net.Conn // the TCP connection, for addresses, deadlines and Close
	rw       io.ReadWriter
}

func (s *switchConn) Read(p []byte) (int, error)  { return s.rw.Read(p) }
func (s *switchConn) Write(p []byte) (int, error) { return s.rw.Write(p) }

// rawRW reads from the buffered TCP reader and writes to the TCP connection.
type rawRW struct {
	r io.Reader
	w io.Writer
}

func (c rawRW) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c rawRW) Write(p []byte) (int, error) { return c.w.Write(p) }

// recordReader never reads past the end of the current TLS record. It is used
// for login-only encryption, where plain TDS packets follow the encrypted
// LOGIN7 directly and must not be swallowed by tls.Conn's read-ahead.
type recordReader struct {
	r    io.Reader
	hdr  [5]byte
	hdrN int // header bytes read so far
	body int // body bytes left in the current record
}

// Read implements io.Reader.
func (rr *recordReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if rr.body == 0 && rr.hdrN < len(rr.hdr) {
		n, err := rr.r.Read(p[:min(len(p), len(rr.hdr)-rr.hdrN)])
		copy(rr.hdr[rr.hdrN:], p[:n])
		rr.hdrN += n
		if rr.hdrN == len(rr.hdr) {
			rr.body = int(binary.BigEndian.Uint16(rr.hdr[3:5]))
			rr.hdrN = 0
		}
		return n, err
	}
	n, err := rr.r.Read(p[:min(len(p), rr.body)])
	rr.body -= n
	return n, err
}
