// The JSON shape of the report: snake_case keys, durations as float seconds in keys
// ending in _s, stable direction ids, and a schema_version (testdata/report.schema.json
// describes it).

package steps

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// SchemaVersion is the version of the JSON report's shape ("schema_version"); it
// changes whenever a key is renamed, removed or changes its type. Version 2: snake_case
// keys everywhere, durations as float seconds in *_s keys, direction ids.
const SchemaVersion = 2

// Direction ids in JSON: stable, unlike the direction's display name.
const (
	SQLToMIID = "sql_to_mi" // SQL Server → managed instance
	MIToSQLID = "mi_to_sql" // managed instance → SQL Server
)

// ID returns the direction's stable id for JSON and scripts: "sql_to_mi",
// "mi_to_sql", or the display name of an unknown direction.
func (d Direction) ID() string {
	switch d {
	case SQLToMI:
		return SQLToMIID
	case MIToSQL:
		return MIToSQLID
	}
	return string(d)
}

// MarshalJSON writes the direction's id (ID).
func (d Direction) MarshalJSON() ([]byte, error) { return json.Marshal(d.ID()) }

// UnmarshalJSON reads a direction id (or a display name, as schema version 1 wrote).
func (d *Direction) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	switch s {
	case SQLToMIID, string(SQLToMI):
		*d = SQLToMI
	case MIToSQLID, string(MIToSQL):
		*d = MIToSQL
	case "":
		*d = ""
	default:
		return fmt.Errorf("unknown direction %q: want %s or %s", s, SQLToMIID, MIToSQLID)
	}
	return nil
}

// withSeconds is v's JSON object with one more key, key, holding d in float seconds.
func withSeconds(v any, key string, d time.Duration) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(b) < 2 || b[len(b)-1] != '}' {
		return b, err
	}
	k, _ := json.Marshal(key)
	sep := ","
	if len(b) == 2 {
		sep = ""
	}
	return fmt.Appendf(b[:len(b)-1], "%s%s:%s}", sep, k, strconv.FormatFloat(d.Seconds(), 'f', -1, 64)), nil
}

// readSeconds decodes v from b and returns the float seconds under key as a duration
// (0 when key is absent).
func readSeconds(b []byte, v any, key string) (time.Duration, error) {
	if err := json.Unmarshal(b, v); err != nil {
		return 0, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return 0, err
	}
	var s float64
	if raw, ok := m[key]; ok {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, fmt.Errorf("%s: %w", key, err)
		}
	}
	return time.Duration(s * float64(time.Second)), nil
}

// MarshalJSON writes the probe result with its duration as "duration_s" (float seconds).
func (p ProbeResult) MarshalJSON() ([]byte, error) {
	type plain ProbeResult
	return withSeconds(plain(p), "duration_s", p.Duration)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (p *ProbeResult) UnmarshalJSON(b []byte) (err error) {
	type plain ProbeResult
	p.Duration, err = readSeconds(b, (*plain)(p), "duration_s")
	return err
}

// MarshalJSON writes the direction's result with its time as "elapsed_s" (float seconds).
func (d DirectionResult) MarshalJSON() ([]byte, error) {
	type plain DirectionResult
	return withSeconds(plain(d), "elapsed_s", d.Elapsed)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (d *DirectionResult) UnmarshalJSON(b []byte) (err error) {
	type plain DirectionResult
	d.Elapsed, err = readSeconds(b, (*plain)(d), "elapsed_s")
	return err
}

// MarshalJSON writes the options with the probe timeout as "probe_timeout_s" (float
// seconds).
func (n NetworkOptions) MarshalJSON() ([]byte, error) {
	type plain NetworkOptions
	return withSeconds(plain(n), "probe_timeout_s", n.ProbeTimeout)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (n *NetworkOptions) UnmarshalJSON(b []byte) (err error) {
	type plain NetworkOptions
	n.ProbeTimeout, err = readSeconds(b, (*plain)(n), "probe_timeout_s")
	return err
}

// reportJSON is the report's JSON: led by its schema version.
type reportJSON struct {
	SchemaVersion int `json:"schema_version"`
	*plainReport
}

type plainReport Report

// MarshalJSON writes the report led by "schema_version" (SchemaVersion), with its
// duration as "duration_s" (float seconds) and "findings" always a list.
func (r Report) MarshalJSON() ([]byte, error) {
	if r.Findings == nil {
		r.Findings = []Finding{} // "findings" is always a list
	}
	return withSeconds(reportJSON{SchemaVersion, (*plainReport)(&r)}, "duration_s", r.Duration)
}

// UnmarshalJSON reads what MarshalJSON wrote; a schema_version other than SchemaVersion
// is an error.
func (r *Report) UnmarshalJSON(b []byte) (err error) {
	aux := reportJSON{plainReport: (*plainReport)(r)}
	if r.Duration, err = readSeconds(b, &aux, "duration_s"); err != nil {
		return err
	}
	if aux.SchemaVersion != SchemaVersion {
		return fmt.Errorf("report schema_version %d: this milink reads version %d", aux.SchemaVersion, SchemaVersion)
	}
	return nil
}
