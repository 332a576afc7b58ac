package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// Start-up as a user sees it: the built binary (go build, as milinkBinary does) run as
// a whole process, never in-process. Run with
//
//	go test . -run '^$' -bench Startup -benchtime 20x

// BenchmarkStartupFirstFrame starts the wizard on an 80×24 pseudo-terminal and
// measures the time from exec to its first frame: the moment the terminal has
// received the Introduction step's title. The process is then stopped with SIGTERM
// (outside the time; nothing has been created yet) and waited for.
func BenchmarkStartupFirstFrame(b *testing.B) {
	bin := milinkBinary(b)
	var total time.Duration
	for range b.N {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "TERM=xterm-256color", "COLUMNS=80", "LINES=24")
		start := time.Now()
		tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 80})
		if err != nil {
			b.Fatal(err)
		}
		if err := readUntil(tty, []byte("Introduction"), 30*time.Second); err != nil {
			cmd.Process.Kill()
			b.Fatal(err)
		}
		total += time.Since(start)
		cmd.Process.Signal(syscall.SIGTERM)
		go io.Copy(io.Discard, tty)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		tty.Close()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/first-frame")
}

// readUntil reads r until it has seen want, or fails after limit.
func readUntil(r io.Reader, want []byte, limit time.Duration) error {
	found := make(chan error, 1)
	go func() {
		var seen []byte
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			seen = append(seen, buf[:n]...)
			if bytes.Contains(seen, want) {
				found <- nil
				return
			}
			if err != nil {
				found <- err
				return
			}
		}
	}()
	select {
	case err := <-found:
		return err
	case <-time.After(limit):
		return os.ErrDeadlineExceeded
	}
}

// BenchmarkStartupCheckHelp runs `milink check --help` to its exit.
func BenchmarkStartupCheckHelp(b *testing.B) {
	bin := milinkBinary(b)
	var total time.Duration
	for range b.N {
		start := time.Now()
		out, err := exec.Command(bin, "check", "--help").CombinedOutput()
		total += time.Since(start)
		if err != nil || !bytes.Contains(out, []byte("Usage:")) {
			b.Fatalf("%v\n%s", err, out)
		}
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/run")
}
