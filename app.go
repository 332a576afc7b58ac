package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/milink/milink/steps"
)

// usageError marks errors that exit with code 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// exitError carries an exit code out of a command.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// app holds the process's streams so tests can run commands in-process.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	environ        func() []string   // the environment's "NAME=value" pairs; nil: os.Environ
	sources        map[string]string // flag name → where its value came from when not the command line ("MILINK_SQL_PORT", "--config FILE")
	isTTY          func(fd int) bool
	signals        <-chan os.Signal // nil: the real stop signals (stopSignals)

	mu        sync.Mutex
	stopped   os.Signal // the first stop signal received, or nil
	abandon   string    // what to print when a second signal abandons cleanup
	logErr    sync.Once // reports the first failed write to the log file
	teeOutput bool      // openLog also logs every line printed (milink cleanup)
	teeLog    *slog.Logger
	teeClose  func() error
}

// stopSignals stop a run: Ctrl-C, kill, a closed terminal or dropped SSH session
// (HUP), Ctrl-\ (QUIT) and a reader that went away (PIPE, as in "milink check 2>&1 |
// head"). Each runs the same path: the context is canceled, the session cleans up
// with its own deadline, and the exit code says what is left.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGPIPE}

var signalNames = map[os.Signal]string{os.Interrupt: "SIGINT", syscall.SIGTERM: "SIGTERM", syscall.SIGHUP: "SIGHUP",
	syscall.SIGQUIT: "SIGQUIT", syscall.SIGPIPE: "SIGPIPE"}

// signalName is sig as a person knows it: SIGINT, SIGHUP, ...
func signalName(sig os.Signal) string {
	if n, ok := signalNames[sig]; ok {
		return n
	}
	return sig.String()
}

// signalContext returns a context canceled by the first stop signal (stopSignals).
// While it is active SIGPIPE is caught, so a write to a closed pipe fails with EPIPE
// instead of killing milink before cleanup. Only a Ctrl-C (SIGINT) that comes
// steps.AbandonAfter or more after the first signal abandons cleanup: milink exits 1
// at once and prints what to run to finish (setAbandonHint). Repeated TERM, HUP, QUIT
// and PIPE, and a SIGINT that arrives together with the first signal (GNU timeout
// signals milink and then its process group), never do (steps.AbandonsCleanup).
// Stop (the returned func) releases the signals; SIGPIPE stays ignored.
func (a *app) signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := a.signals
	var ch chan os.Signal
	if sigs == nil {
		ch = make(chan os.Signal, 8)
		signal.Notify(ch, stopSignals...)
		sigs = ch
	}
	done := make(chan struct{})
	go func() {
		var first time.Time
		for {
			select {
			case sig := <-sigs:
				a.mu.Lock()
				isFirst, hint := a.stopped == nil, a.abandon
				if isFirst {
					a.stopped = sig
				}
				a.mu.Unlock()
				switch {
				case isFirst:
					first = time.Now()
					fmt.Fprintf(a.stderr, "milink: %s: stopping; cleaning up (press Ctrl-C again to abandon cleanup)\n", signalName(sig))
					cancel()
				case steps.AbandonsCleanup(sig, time.Since(first)):
					fmt.Fprintf(a.stderr, "milink: cleanup abandoned; milink's test objects may be left: %s\n", hint)
					os.Exit(steps.ExitError)
				}
			case <-done:
				return
			}
		}
	}()
	return ctx, func() {
		close(done)
		if ch != nil {
			signal.Stop(ch)
			signal.Ignore(syscall.SIGPIPE)
		}
		cancel()
	}
}

// stopSignal returns the first stop signal received, or nil.
func (a *app) stopSignal() os.Signal {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stopped
}

// setAbandonHint sets what a second signal prints: how to remove what may be left.
func (a *app) setAbandonHint(hint string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.abandon = hint
}

// openLog opens the slog log file under the user's state directory by default
// ("-" or "off": none). A regular file is made private (0600) even when it existed
// with a wider mode. A failed write to the log is reported once on stderr; the run
// goes on. With teeOutput (milink cleanup) every line the command prints is logged
// too, so the log says what was removed.
func (a *app) openLog(path string) (*slog.Logger, func(), error) {
	if path == "-" || path == "off" {
		return slog.New(slog.DiscardHandler), func() {}, nil
	}
	if path == "" {
		dir := a.getenv("XDG_STATE_HOME")
		if dir == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return slog.New(slog.DiscardHandler), func() {}, nil
			}
			dir = filepath.Join(home, ".local", "state")
		}
		path = filepath.Join(dir, "milink", "milink.log")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("--log-file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("--log-file: %w", err)
	}
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Mode().Perm() != 0o600 {
		if err := f.Chmod(0o600); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("--log-file %s: cannot make it private (mode 0600): %w", path, err)
		}
	}
	log := slog.New(slog.NewJSONHandler(&logWriter{a: a, f: f, path: path}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if a.teeOutput {
		a.stdout = &lineLogger{w: a.stdout, log: log, stream: "stdout"}
		a.stderr = &lineLogger{w: a.stderr, log: log, stream: "stderr"}
		log.Info("cleanup started", "version", version)
		// The command's exit code is logged after it returns (app.run), then the file
		// is closed.
		a.teeLog, a.teeClose = log, f.Close
		return log, func() {}, nil
	}
	return log, func() { f.Close() }, nil
}

// logWriter writes the log file; the first failed write is reported on stderr (once),
// the rest are dropped.
type logWriter struct {
	a    *app
	f    *os.File
	path string
}

func (w *logWriter) Write(p []byte) (int, error) {
	if _, err := w.f.Write(p); err != nil {
		w.a.logErr.Do(func() {
			fmt.Fprintf(w.a.stderr, "milink: log file %s: %v; the log is incomplete from here on\n", w.path, err)
		})
	}
	return len(p), nil
}

// lineLogger passes writes on to w and logs each complete line printed.
type lineLogger struct {
	w      io.Writer
	log    *slog.Logger
	stream string
	mu     sync.Mutex
	buf    []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.log.Info("output", "stream", l.stream, "line", string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
	l.mu.Unlock()
	return l.w.Write(p)
}

// printDeviceCode shows the Entra device code instructions on stderr (the check and
// cleanup commands' prompt for azureFlags.setup).
func (a *app) printDeviceCode(_ context.Context, message, _, _ string) error {
	fmt.Fprintf(a.stderr, "milink: %s\n", message)
	return nil
}
