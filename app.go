package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

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
	isTTY          func(fd int) bool
	signals        <-chan os.Signal // nil: the real SIGINT/SIGTERM
}

// signalContext returns a context canceled by the first SIGINT/SIGTERM; a second
// signal exits at once with 130.
func (a *app) signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := a.signals
	var ch chan os.Signal
	if sigs == nil {
		ch = make(chan os.Signal, 2)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		sigs = ch
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			fmt.Fprintln(a.stderr, "milink: interrupted; cleaning up (press Ctrl-C again to abandon cleanup)")
			cancel()
		case <-done:
			return
		}
		select {
		case <-sigs:
			fmt.Fprintln(a.stderr, "milink: cleanup abandoned; run 'milink cleanup' to remove what is left")
			os.Exit(steps.ExitInterrupted)
		case <-done:
		}
	}()
	return ctx, func() {
		close(done)
		if ch != nil {
			signal.Stop(ch)
		}
		cancel()
	}
}

// openLog opens the slog log file (0600) under the user's state directory by default.
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
		return nil, nil, fmt.Errorf("log file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("log file: %w", err)
	}
	return slog.New(slog.NewJSONHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug})), func() { f.Close() }, nil
}

// printDeviceCode shows the Entra device code instructions on stderr (the check and
// cleanup commands' prompt for azureFlags.setup).
func (a *app) printDeviceCode(_ context.Context, message, _, _ string) error {
	fmt.Fprintf(a.stderr, "milink: %s\n", message)
	return nil
}
