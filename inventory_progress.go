// The progress of milink check --inventory on stderr: a live view on a terminal,
// else one plain line per change of state.

package main

import (
	"fmt"
	"os"
	"sync"

	"github.com/milink/milink/steps"
	"github.com/milink/milink/ui"
)

// inventoryProgress shows each pair's changes of state on stderr: a live view with
// one line per pair on a terminal, else one plain line per change, led by the time
// and the pair's name. finish waits until everything is shown.
//
// While the live view runs it is the only writer of the terminal: a.stderr becomes a
// viewWriter, so that what milink prints meanwhile (a signal's "stopping" message, a
// failed log write) is printed between two frames instead of over the pairs' lines.
func (a *app) inventoryProgress(pairs []inventoryPair, quiet bool) (update func(steps.PairUpdate), finish func()) {
	if quiet {
		return func(steps.PairUpdate) {}, func() {}
	}
	names := make([]string, len(pairs))
	width := 0
	for i, p := range pairs {
		names[i] = p.name
		width = max(width, len(p.name))
	}
	if f, ok := a.stderr.(*os.File); ok && a.isTTY(int(f.Fd())) {
		view := ui.StartInventoryProgress(f, names)
		a.stderr = viewWriter{view}
		var once sync.Once
		return view.Update, func() {
			once.Do(func() {
				if err := view.Close(); err != nil {
					fmt.Fprintf(f, "milink: progress view: %v\n", err)
				}
			})
		}
	}
	var mu sync.Mutex
	return func(u steps.PairUpdate) {
		if u.State == steps.PairQueued {
			return // every pair starts queued: not a change worth a line
		}
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(a.stderr, "%s  %-*s  %s\n", u.Time.Format("15:04:05"), width, u.Name, u.Line())
	}, func() {}
}

// viewWriter is stderr while the inventory's live view shows (and after, when it
// writes straight through): each write is printed between the view's frames.
type viewWriter struct{ view *ui.InventoryProgress }

func (w viewWriter) Write(p []byte) (int, error) {
	w.view.Print(string(p))
	return len(p), nil
}
