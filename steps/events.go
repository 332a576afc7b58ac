package steps

import "time"

// Direction names one direction of the network test.
type Direction string

// Directions.
const (
	SQLToMI Direction = "SQL Server → managed instance"
	MIToSQL Direction = "managed instance → SQL Server"
)

// EventKind classifies progress events.
type EventKind string

// Event kinds.
const (
	EventStep    EventKind = "step"    // a new action started
	EventProbe   EventKind = "probe"   // a probe's outcome is known
	EventWarn    EventKind = "warn"    // something went wrong but the run goes on
	EventDone    EventKind = "done"    // a direction finished
	EventCleanup EventKind = "cleanup" // a cleanup action
)

// Event is one progress report; a UI or the CLI renders them as they come.
type Event struct {
	Time      time.Time `json:"time"`
	Direction Direction `json:"direction,omitempty"`
	Kind      EventKind `json:"kind"`
	Message   string    `json:"message"`
}

// Sink receives events; it must be safe to call from several goroutines.
type Sink func(Event)
