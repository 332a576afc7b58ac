package sqlops

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
)

// markerPattern finds the mark milink puts into the description of every job and the
// subject of every certificate it creates.
var markerPattern = regexp.MustCompile(`\[milink:([0-9a-f]{8,32})\]`)

// MarkerLikePattern is a T-SQL LIKE pattern matching any text that carries a milink marker.
const MarkerLikePattern = `%[[]milink:%]%`

// NewRunID returns a fresh random run identifier (16 hex digits).
func NewRunID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return hex.EncodeToString(b[:])
}

// ValidateRunID checks that id has the form NewRunID produces.
func ValidateRunID(id string) error {
	if !regexp.MustCompile(`^[0-9a-f]{8,32}$`).MatchString(id) {
		return fmt.Errorf("%w: run id %q must be 8-32 lowercase hex digits", ErrInvalidInput, id)
	}
	return nil
}

// Marker returns the mark for run id, e.g. "[milink:3f2a9c1b00aa11ff]".
func Marker(runID string) string { return "[milink:" + runID + "]" }

// MarkedRunID returns the run id found in text and whether text carries a milink marker.
func MarkedRunID(text string) (string, bool) {
	m := markerPattern.FindStringSubmatch(text)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// JobDescription is the description milink gives a job it creates for run id.
func JobDescription(purpose, runID string) string {
	return fmt.Sprintf("%s Created by milink; removed automatically after the test, or by 'milink cleanup'. %s", purpose, Marker(runID))
}

// CertificateSubject is the subject milink gives the temporary certificate of run id.
func CertificateSubject(runID string) string {
	return "milink network test certificate " + Marker(runID)
}
