package tds

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// TDS packet types (MS-TDS 2.2.3.1.1).
const (
	pktSQLBatch     byte = 0x01
	pktRPC          byte = 0x03
	pktReply        byte = 0x04
	pktAttention    byte = 0x06
	pktBulkLoad     byte = 0x07
	pktFedAuthToken byte = 0x08
	pktTransMgr     byte = 0x0E
	pktLogin7       byte = 0x10
	pktSSPI         byte = 0x11
	pktPrelogin     byte = 0x12
)

// Packet header status bits (MS-TDS 2.2.3.1.2).
const (
	statusEOM            byte = 0x01
	statusIgnore         byte = 0x02
	statusResetConn      byte = 0x08
	statusResetConnKeepX byte = 0x10
)

const (
	headerLen = 8

	// defaultPacketSize is the packet size used before LOGIN7 negotiates
	// another one, and when the client asks for the server's default.
	defaultPacketSize = 4096
	minPacketSize     = 512
	maxPacketSize     = 32767

	// defaultMaxRequestSize bounds the size of one client message: 4 MiB,
	// far above anything milink or the link scripts send.
	defaultMaxRequestSize = 4 << 20

	// defaultRequestReadTimeout bounds how long the rest of a client message
	// may take to arrive once its first byte has.
	defaultRequestReadTimeout = 30 * time.Second

	// writeChunk is how many bytes of framed packets are gathered before
	// they are handed to the transport in one Write call.
	writeChunk = 64 << 10
)

// errRequestTooLarge is returned when a client message exceeds the configured limit.
var errRequestTooLarge = errors.New("tds: request exceeds the maximum request size")

// message is one complete client message: the payload of all its packets up
// to and including the one with the EOM bit.
type message struct {
	typ    byte
	status byte // status byte of the first packet (carries RESETCONNECTION)
	ignore bool // the client set the IGNORE bit: discard the message
	data   []byte
	// tooLarge marks the place of a message that exceeded the maximum request
	// size: the server refuses it and closes the connection.
	tooLarge bool
}

// packetHeader is the decoded 8-byte header of one packet.
type packetHeader struct {
	typ    byte
	status byte
	size   int
}

// readPacketHeader reads and validates a packet header from r.
func readPacketHeader(r io.Reader) (packetHeader, error) {
	var hdr [headerLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return packetHeader{}, err
	}
	h := packetHeader{typ: hdr[0], status: hdr[1], size: int(binary.BigEndian.Uint16(hdr[2:4]))}
	if h.size < headerLen {
		return h, fmt.Errorf("tds: invalid packet length %d", h.size)
	}
	return h, nil
}

// readPacket reads one whole packet (header and payload) from r.
func readPacket(r io.Reader) (packetHeader, []byte, error) {
	h, err := readPacketHeader(r)
	if err != nil {
		return h, nil, err
	}
	payload := make([]byte, h.size-headerLen)
	if _, err := io.ReadFull(r, payload); err != nil {
		return h, nil, fmt.Errorf("tds: reading packet payload: %w", noEOF(err))
	}
	return h, payload, nil
}

// noEOF turns an io.EOF in the middle of a structure into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// packetReader assembles client messages from packets. The transport can be
// swapped between packets (login-only encryption switches from TLS back to
// the plain connection after the first LOGIN7 packet).
type packetReader struct {
	r       io.Reader
	maxSize int
	// afterFirst, when set, runs once after the next packet has been read.
	afterFirst func()
	// timeout, when positive, bounds how long the rest of a message may take
	// once its first byte has arrived: setDeadline is called with now+timeout
	// then, and with the zero time when the message is complete, so an idle
	// connection waits for its next request without limit while a half-sent
	// one is given up.
	timeout     time.Duration
	setDeadline func(time.Time) error
}

// readMessage reads packets until one carries the EOM status bit and returns
// their concatenated payload. A clean io.EOF is returned only when the
// connection ends before the first byte of a message. A message larger than
// maxSize fails with errRequestTooLarge as soon as a packet header announces
// the excess, before its payload is read.
func (p *packetReader) readMessage() (message, error) {
	var m message
	if p.timeout > 0 && p.setDeadline != nil {
		var b [1]byte
		if _, err := io.ReadFull(p.r, b[:]); err != nil {
			return m, err
		}
		if err := p.setDeadline(time.Now().Add(p.timeout)); err != nil {
			return m, fmt.Errorf("tds: setting request read deadline: %w", err)
		}
		defer func() { _ = p.setDeadline(time.Time{}) }()
		return p.readRest(io.MultiReader(bytes.NewReader(b[:]), p.r))
	}
	return p.readRest(p.r)
}

// readRest is readMessage reading the first packet header from first and
// everything after it from p.r.
func (p *packetReader) readRest(first io.Reader) (message, error) {
	var m message
	for isFirst := true; ; isFirst = false {
		src := p.r
		if isFirst {
			src = first
		}
		h, err := readPacketHeader(src)
		if err != nil {
			if !isFirst {
				err = noEOF(err)
			}
			return m, err
		}
		if isFirst {
			m.typ, m.status = h.typ, h.status
		} else if h.typ != m.typ {
			return m, fmt.Errorf("tds: packet type changed from %#x to %#x inside a message", m.typ, h.typ)
		}
		n := h.size - headerLen
		if len(m.data)+n > p.maxSize {
			return m, errRequestTooLarge
		}
		m.data = append(m.data, make([]byte, n)...)
		if _, err := io.ReadFull(p.r, m.data[len(m.data)-n:]); err != nil {
			return m, fmt.Errorf("tds: reading packet payload: %w", noEOF(err))
		}
		if f := p.afterFirst; f != nil {
			p.afterFirst = nil
			f()
		}
		if h.status&statusEOM != 0 {
			m.ignore = h.status&statusIgnore != 0
			return m, nil
		}
	}
}

// packetWriter frames messages into packets of the negotiated size.
type packetWriter struct {
	w          io.Writer
	packetSize int
	spid       uint16
	buf        []byte
}

// writeMessage sends payload as one message of the given packet type, split
// into as many packets as the packet size requires. The last packet carries
// the EOM status bit; the others carry a zero status.
func (p *packetWriter) writeMessage(typ byte, payload []byte) error {
	chunk := p.packetSize - headerLen
	if chunk <= 0 {
		return fmt.Errorf("tds: invalid packet size %d", p.packetSize)
	}
	p.buf = p.buf[:0]
	var seq byte = 1
	for {
		n := min(len(payload), chunk)
		var status byte
		if n == len(payload) {
			status = statusEOM
		}
		p.buf = append(p.buf, typ, status, 0, 0, byte(p.spid>>8), byte(p.spid), seq, 0)
		binary.BigEndian.PutUint16(p.buf[len(p.buf)-6:], uint16(n+headerLen))
		p.buf = append(p.buf, payload[:n]...)
		payload = payload[n:]
		seq++
		if status == statusEOM || len(p.buf) >= writeChunk {
			if _, err := p.w.Write(p.buf); err != nil {
				return fmt.Errorf("tds: writing packet: %w", err)
			}
			p.buf = p.buf[:0]
		}
		if status == statusEOM {
			if cap(p.buf) > 4*writeChunk {
				p.buf = nil // do not pin a huge buffer for the life of the connection
			}
			return nil
		}
	}
}
