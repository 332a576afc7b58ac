package tds

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("tds: server closed")

// defaultProgVersion is reported in LOGINACK when Config.ProgVersion is zero (16.0.4250).
var defaultProgVersion = [4]byte{16, 0, 0x10, 0x9A}

// Server serves TDS on listeners.
type Server struct {
	cfg       Config
	log       *slog.Logger
	tlsConfig *tls.Config

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	closed    bool
	nextSPID  uint16
	wg        sync.WaitGroup // one per connection goroutine
}

// NewServer returns a server for cfg. cfg.Handler must be set before Serve
// is called.
func NewServer(cfg Config) *Server {
	s := &Server{
		cfg:       cfg,
		log:       cfg.Logger,
		listeners: map[net.Listener]struct{}{},
		conns:     map[*conn]struct{}{},
		nextSPID:  51,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.cfg.ServerName == "" {
		s.cfg.ServerName = "sqlsim"
	}
	if s.cfg.ProgVersion == [4]byte{} {
		s.cfg.ProgVersion = defaultProgVersion
	}
	if s.cfg.FedAuthSTSURL == "" {
		s.cfg.FedAuthSTSURL = "https://login.microsoftonline.com/common"
	}
	if s.cfg.FedAuthSPN == "" {
		s.cfg.FedAuthSPN = "https://database.windows.net/"
	}
	if s.cfg.LoginTimeout == 0 {
		s.cfg.LoginTimeout = 30 * time.Second
	}
	if s.cfg.MaxRequestSize <= 0 {
		s.cfg.MaxRequestSize = defaultMaxRequestSize
	}
	if s.cfg.RequestReadTimeout == 0 {
		s.cfg.RequestReadTimeout = defaultRequestReadTimeout
	}
	if cfg.TLSConfig != nil {
		s.tlsConfig = serverTLSConfig(cfg.TLSConfig)
	}
	return s
}

// Serve accepts connections on l and serves each in its own goroutine. It
// returns when l is closed: ErrServerClosed after Close, otherwise the
// listener's error.
func (s *Server) Serve(l net.Listener) error {
	if s.cfg.Handler == nil {
		return errors.New("tds: Config.Handler is nil")
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = l.Close()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()

	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Transient failure (e.g. out of file descriptors): back off.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("tds: accept failed; retrying", "err", err, "delay", backoff)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("tds: accept: %w", err)
		}
		backoff = 0
		if c := s.track(nc); c != nil {
			go c.serve()
		}
	}
}

// track registers a new connection; it returns nil (and closes nc) once the
// server is closed.
func (s *Server) track(nc net.Conn) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = nc.Close()
		return nil
	}
	spid := s.nextSPID
	if s.nextSPID++; s.nextSPID == 0 {
		s.nextSPID = 51
	}
	c := newConn(s, nc, spid)
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return c
}

// untrack removes a finished connection.
func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops all listeners, closes every live client connection and waits
// for the connection goroutines to finish. Handlers must return once their
// context is cancelled for Close to complete.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	var err error
	for l := range s.listeners {
		if cerr := l.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) && err == nil {
			err = fmt.Errorf("tds: closing listener: %w", cerr)
		}
	}
	for c := range s.conns {
		_ = c.nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

// DropConnections closes all live client connections but keeps listening,
// as if the server had restarted.
func (s *Server) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		_ = c.nc.Close()
	}
}
