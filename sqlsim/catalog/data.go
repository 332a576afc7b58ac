package catalog

import (
	"strconv"
	"strings"
)

// This file holds the helpers the data files use to write entries compactly.

// learnBase is the root of Microsoft Learn's SQL documentation; the path after it is
// the sql-docs repository's file path without "docs/" and ".md"
// (docs/relational-databases/system-catalog-views/sys-databases-transact-sql.md ->
// https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-databases-transact-sql).
const learnBase = "https://learn.microsoft.com/sql/relational-databases/"

// catalogView, dmvPage and procPage are the Learn pages of a catalog view, a dynamic
// management view and a system stored procedure or system table, by page name.
func catalogView(page string) string { return learnBase + "system-catalog-views/" + page }
func dmvPage(page string) string     { return learnBase + "system-dynamic-management-views/" + page }
func procPage(page string) string    { return learnBase + "system-stored-procedures/" + page }
func tablePage(page string) string   { return learnBase + "system-tables/" + page }

// linkPreparation is the source document: "Prepare your environment for a link"
// (../shared/seeds/001_*.txt). The managed instance's fabric DMVs it queries are
// undocumented elsewhere.
const linkPreparation = "https://learn.microsoft.com/azure/azure-sql/managed-instance/managed-instance-link-preparation"

// Availabilities used by many entries.
var (
	// everywhere: every box version 13-17 on Windows and Linux, and the managed instance.
	everywhere = Availability{MinMajor: 13, Windows: true, Linux: true, MI: true}
	// boxOnly: every box version on Windows and Linux; not on a managed instance.
	boxOnly = Availability{MinMajor: 13, Windows: true, Linux: true, BoxOnly: true}
	// miOnly: the managed instance only.
	miOnly = Availability{MI: true, MinMajor: 99}
)

// cols parses a column list, one column per line: "name type", with "?" after the
// type for a nullable column and "@N" for a column added in major version N, e.g.
// "encryption_state_desc nvarchar(32)? @15".
func cols(spec string) []Column {
	var out []Column
	for _, line := range specLines(spec) {
		f := strings.Fields(line)
		if len(f) < 2 {
			panic("catalog: bad column spec " + line)
		}
		c := Column{Name: f[0], Type: f[1]}
		if strings.HasSuffix(c.Type, "?") {
			c.Type, c.Nullable = strings.TrimSuffix(c.Type, "?"), true
		}
		for _, x := range f[2:] {
			switch {
			case x == "?":
				c.Nullable = true
			case strings.HasPrefix(x, "@"):
				n, err := strconv.Atoi(x[1:])
				if err != nil {
					panic("catalog: bad column spec " + line)
				}
				c.MinMajor = n
			default:
				panic("catalog: bad column spec " + line)
			}
		}
		out = append(out, c)
	}
	return out
}

// params parses a parameter list, one per line: "@name type", with "OUTPUT" after the
// type for an OUTPUT parameter.
func params(spec string) []Param {
	var out []Param
	for _, line := range specLines(spec) {
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasPrefix(f[0], "@") || (len(f) == 3 && f[2] != "OUTPUT") || len(f) > 3 {
			panic("catalog: bad parameter spec " + line)
		}
		out = append(out, Param{Name: f[0], Type: f[1], Output: len(f) == 3})
	}
	return out
}

// specLines returns the non-blank lines of a spec.
func specLines(spec string) []string {
	var out []string
	for _, line := range strings.Split(spec, "\n") {
		if strings.TrimSpace(line) != "" {
			out = append(out, line)
		}
	}
	return out
}

// join concatenates column lists (views that extend others, e.g. sys.tcp_endpoints
// inherits sys.endpoints' columns).
func join(lists ...[]Column) []Column {
	var out []Column
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// Undocumented starts the Source of an entry no Microsoft page documents; the rest of
// the Source says what the entry is modelled on.
const Undocumented = "undocumented: "
