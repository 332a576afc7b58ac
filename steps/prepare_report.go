package steps

import (
	"fmt"
	"strings"
)

// The report's Changes section: what milink prepare or the wizard's Fix action did,
// each with when, by whom, the statements and, for a failure, SQL Server's message and
// what was left as it was.

// writeChangesText appends the Changes section in the text report's layout.
func (r *Report) writeChangesText(b *strings.Builder) {
	if len(r.Changes) == 0 {
		return
	}
	t := textEscape
	b.WriteString("\nChanges\n")
	for _, c := range r.Changes {
		fmt.Fprintf(b, "  [%s] %s by %s at %s: %s\n", t(c.Status), t(c.What), t(c.By), c.At.Format("2006-01-02T15:04:05Z"), t(strings.Join(c.Statements, " ")))
		for _, s := range []string{c.Output, c.Error, c.LeftAsIs} {
			if s != "" {
				fmt.Fprintf(b, "         %s\n", t(s))
			}
		}
	}
	for _, f := range r.PrerequisiteChanges {
		fmt.Fprintf(b, "  %s: %s → %s\n", t(f.ID), f.Before, f.After)
	}
}

// writeChangesMarkdown appends the Changes section as a Markdown table.
func (r *Report) writeChangesMarkdown(b *strings.Builder) {
	if len(r.Changes) == 0 {
		return
	}
	e, c := mdEscape, mdCode
	b.WriteString("\n## Changes\n\n| Status | Change | By | At | Statements | Notes |\n|---|---|---|---|---|---|\n")
	for _, x := range r.Changes {
		var notes []string
		for _, s := range []string{x.Output, x.Error, x.LeftAsIs} {
			if s != "" {
				notes = append(notes, e(s))
			}
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", e(x.Status), e(x.What), e(x.By), x.At.Format("2006-01-02T15:04:05Z"), c(strings.Join(x.Statements, " ")), strings.Join(notes, "<br>"))
	}
	for _, f := range r.PrerequisiteChanges {
		fmt.Fprintf(b, "\n- %s: %s → %s", c(f.ID), f.Before, f.After)
	}
	if len(r.PrerequisiteChanges) > 0 {
		b.WriteString("\n")
	}
}
