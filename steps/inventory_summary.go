// The summary of an inventory run: one row per pair with its verdict per direction and
// exit code, as a text table, Markdown, JSON and CSV.

package steps

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// SummarySchemaVersion is the version of the inventory summary's JSON layout.
const SummarySchemaVersion = 1

// VerdictNotReached is a direction's verdict in the summary when the pair never got to
// the network test (besides the direction statuses: passed, failed, not run, error).
const VerdictNotReached = "not reached"

// PairSummary is one pair's row of the summary.
type PairSummary struct {
	Index       int     `json:"index"` // 1-based, as in the inventory
	Name        string  `json:"name"`
	SQLServer   string  `json:"sql_server"`
	MI          string  `json:"managed_instance"`
	RunID       string  `json:"run_id"`
	SQLToMI     string  `json:"sql_to_mi"`
	MIToSQL     string  `json:"mi_to_sql"`
	ExitCode    int     `json:"exit_code"`
	Outcome     string  `json:"outcome"`
	TimedOut    bool    `json:"timed_out"`
	Interrupted bool    `json:"interrupted"`
	NotStarted  bool    `json:"not_started"`
	LeftBehind  int     `json:"left_behind"` // test objects cleanup could not remove
	DurationS   float64 `json:"duration_s"`
	// Reports are the file names of the pair's reports, by format (set by the front-end).
	Reports map[string]string `json:"reports,omitempty"`
}

// InventorySummary is the summary of an inventory run, as written to JSON.
type InventorySummary struct {
	SchemaVersion int           `json:"schema_version"`
	Tool          string        `json:"tool"`
	StartedAt     time.Time     `json:"started_at"`
	DurationS     float64       `json:"duration_s"`
	Parallel      int           `json:"parallel"`
	PairTimeoutS  float64       `json:"pair_timeout_s"`
	Interrupted   bool          `json:"interrupted"`
	ExitCode      int           `json:"exit_code"`
	Counts        map[int]int   `json:"pairs_by_exit_code"`
	Pairs         []PairSummary `json:"pairs"`
}

// Summary builds the summary of r; reports gives each pair's report file names by
// format (nil: none written).
func (r *InventoryResult) Summary(reports func(PairResult) map[string]string) InventorySummary {
	s := InventorySummary{SchemaVersion: SummarySchemaVersion, Tool: "milink", StartedAt: r.StartedAt, DurationS: seconds(r.Duration),
		Parallel: r.Parallel, PairTimeoutS: seconds(r.PairTimeout), Interrupted: r.Interrupted, ExitCode: r.ExitCode(), Counts: map[int]int{}}
	for _, p := range r.Pairs {
		rep := p.Report
		ps := PairSummary{Index: p.Index + 1, Name: p.Name, SQLServer: rep.SQLServer.Address, MI: rep.MI.Address, RunID: rep.RunID,
			ExitCode: rep.ExitCode, Outcome: rep.Outcome,
			TimedOut: p.TimedOut, Interrupted: p.Interrupted, NotStarted: p.NotStarted, LeftBehind: len(rep.Remaining), DurationS: seconds(p.Duration)}
		ps.SQLToMI, ps.MIToSQL = verdicts(rep)
		if reports != nil {
			ps.Reports = reports(p)
		}
		s.Counts[ps.ExitCode]++
		s.Pairs = append(s.Pairs, ps)
	}
	return s
}

// verdicts are the statuses of rep's two directions (VerdictNotReached for one the
// pair never tested).
func verdicts(rep *Report) (sqlToMI, miToSQL string) {
	sqlToMI, miToSQL = VerdictNotReached, VerdictNotReached
	for _, d := range rep.Directions {
		switch d.Direction {
		case SQLToMI:
			sqlToMI = d.Status
		case MIToSQL:
			miToSQL = d.Status
		}
	}
	return sqlToMI, miToSQL
}

func seconds(d time.Duration) float64 { return float64(d.Milliseconds()) / 1000 }

// state is what became of the pair, in a word or two, for the tables.
func (p PairSummary) state() string {
	switch {
	case p.NotStarted:
		return "not started"
	case p.TimedOut:
		return "timed out"
	case p.Interrupted:
		return "interrupted"
	}
	return "finished"
}

// WriteJSON writes the summary as indented JSON.
func (s InventorySummary) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// WriteText writes the summary as a text table, one line per pair; every value is
// escaped for a terminal (textEscape).
func (s InventorySummary) WriteText(w io.Writer) error {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tPAIR\tSQL→MI\tMI→SQL\tEXIT\tSTATE\tTIME\tOUTCOME")
	for _, p := range s.Pairs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%.1fs\t%s\n", p.Index, textEscape(p.Name), p.SQLToMI, p.MIToSQL, p.ExitCode, p.state(), p.DurationS, textEscape(p.Outcome))
	}
	_ = tw.Flush()
	fmt.Fprintf(&b, "\n%s\n", s.line())
	_, err := io.WriteString(w, b.String())
	return err
}

// line is the summary's last line: how many pairs ended how (passed, then the others
// by exit code, worst first), the time and the exit code: "Result: 4 pairs: 1 passed,
// 3 failed the network test (1.0 s; exit code 3, the worst of the pairs')".
func (s InventorySummary) line() string {
	what := fmt.Sprintf("%s: %d passed", plural(len(s.Pairs), "pair"), s.Counts[ExitOK])
	for _, code := range exitOrder {
		if n := s.Counts[code]; n > 0 && code != ExitOK {
			what += fmt.Sprintf(", %d %s", n, exitOutcome[code])
		}
	}
	for _, code := range slices.Sorted(maps.Keys(s.Counts)) {
		if _, known := exitOutcome[code]; !known && code != ExitOK && s.Counts[code] > 0 {
			what += fmt.Sprintf(", %d ended with exit code %d", s.Counts[code], code)
		}
	}
	if s.Interrupted {
		n := 0
		for _, p := range s.Pairs {
			if p.Interrupted {
				n++
			}
		}
		what += fmt.Sprintf("; stopped: %d interrupted or not started", n)
	}
	return fmt.Sprintf("Result: %s (%.1f s; exit code %d, the worst of the pairs')", what, s.DurationS, s.ExitCode)
}

// exitOutcome says, after a count of pairs, how they ended, by exit code.
var exitOutcome = map[int]string{
	ExitError: "could not complete", ExitInterrupted: "stopped", ExitUsage: "had bad input", ExitAuth: "had a login rejected",
	ExitConnectivity: "failed the network test", ExitPrereq: "missed a link prerequisite",
}

// plural is n and noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// WriteMarkdown writes the summary as a Markdown table; every value is escaped
// (mdEscape, mdCode).
func (s InventorySummary) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# milink inventory check\n\nStarted %s, %s, %d at once, each within %.0fs.\n\n",
		s.StartedAt.Format(time.RFC3339), plural(len(s.Pairs), "pair"), s.Parallel, s.PairTimeoutS)
	b.WriteString("| # | Pair | SQL Server | Managed instance | SQL→MI | MI→SQL | Exit | State | Time | Outcome |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, p := range s.Pairs {
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %d | %s | %.1fs | %s |\n", p.Index, mdCode(p.Name), mdCode(p.SQLServer), mdCode(p.MI),
			p.SQLToMI, p.MIToSQL, p.ExitCode, p.state(), p.DurationS, mdEscape(p.Outcome))
	}
	fmt.Fprintf(&b, "\n%s\n", mdEscape(s.line()))
	_, err := io.WriteString(w, b.String())
	return err
}

// CSVHeader is the first row of the summary's CSV.
var CSVHeader = []string{"index", "name", "sql_server", "managed_instance", "sql_to_mi", "mi_to_sql", "exit_code", "state", "timed_out", "interrupted", "left_behind", "duration_s", "run_id", "outcome"}

// WriteCSV writes the summary as CSV (RFC 4180 quoting), one row per pair after
// CSVHeader. A cell that a spreadsheet would read as a formula (starting with =, +,
// -, @, a tab or a carriage return) is prefixed with a single quote.
func (s InventorySummary) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, p := range s.Pairs {
		row := []string{strconv.Itoa(p.Index), p.Name, p.SQLServer, p.MI, p.SQLToMI, p.MIToSQL, strconv.Itoa(p.ExitCode), p.state(),
			strconv.FormatBool(p.TimedOut), strconv.FormatBool(p.Interrupted), strconv.Itoa(p.LeftBehind),
			strconv.FormatFloat(p.DurationS, 'f', 3, 64), p.RunID, p.Outcome}
		for i := range row {
			row[i] = CSVSafe(row[i])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// CSVSafe is s as a spreadsheet shows it, not runs it: a leading =, +, -, @, tab or
// carriage return gets a single quote before it (OWASP's CSV injection advice).
func CSVSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
