package ui

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"

	"github.com/milink/milink/steps"
)

// wrap word-wraps plain text to width and prefixes every line: first for the first
// line, rest for the others. style, if not nil, styles the text (not the prefixes).
func wrap(text string, width int, first, rest string, style func(...string) string) string {
	pw := max(ansi.StringWidth(first), ansi.StringWidth(rest))
	lines := wrapLines(text, max(10, width-pw))
	var b strings.Builder
	for i, l := range lines {
		if i == 0 {
			b.WriteString(first)
		} else {
			b.WriteString("\n")
			b.WriteString(rest)
		}
		if style != nil {
			l = style(l)
		}
		b.WriteString(l)
	}
	return b.String()
}

// wrapLines breaks plain text into lines of at most width cells at spaces; a word
// longer than a line (a host name, a path) is broken after a '.', '/' or '\\' when
// possible. Hyphens never break a line: "firewall-cmd" and "sqlmi-demo" stay whole.
func wrapLines(text string, width int) []string {
	var lines []string
	for _, para := range strings.Split(text, "\n") {
		line := ""
		for _, w := range strings.Fields(para) {
			for ansi.StringWidth(w) > width {
				if line != "" {
					lines = append(lines, line)
					line = ""
				}
				cut := breakPoint(w, width)
				lines = append(lines, w[:cut])
				w = w[cut:]
			}
			switch {
			case line == "":
				line = w
			case ansi.StringWidth(line)+1+ansi.StringWidth(w) <= width:
				line += " " + w
			default:
				lines = append(lines, line)
				line = w
			}
		}
		lines = append(lines, line)
	}
	return lines
}

// breakPoint is the byte index where a word too long for width is cut: after the last
// '.', '/' or '\\' that fits (unless that is too early), else at width.
func breakPoint(w string, width int) int {
	n, last, cells := 0, 0, 0
	for i, r := range w {
		rw := ansi.StringWidth(string(r))
		if cells+rw > width {
			break
		}
		cells += rw
		n = i + utf8.RuneLen(r)
		if strings.ContainsRune("./\\", r) {
			last = n
		}
	}
	if n == 0 {
		_, size := utf8.DecodeRuneInString(w)
		return size
	}
	if last > n/3 {
		return last
	}
	return n
}

// fixesToShow returns the fixes of a finding that apply to platform ("Windows" or
// "Linux"): the platform's own fix (Finding.FixFor), then the T-SQL and Azure ones.
func fixesToShow(f steps.Finding, platform string) []steps.Fix {
	var out []steps.Fix
	hasPlatform := false
	for _, x := range f.Fixes {
		if x.Platform == "Windows" || x.Platform == "Linux" {
			hasPlatform = true
		}
	}
	if hasPlatform {
		if x := f.FixFor(platform); x.Command != "" {
			out = append(out, x)
		}
	}
	for _, x := range f.Fixes {
		if x.Platform == "T-SQL" || x.Platform == "Azure" {
			out = append(out, x)
		}
	}
	if len(out) == 0 && len(f.Fixes) > 0 {
		out = append(out, f.FixFor(platform))
	}
	return out
}

// sortedFindings returns the findings worst first, keeping their order otherwise.
func sortedFindings(fs []steps.Finding) []steps.Finding {
	out := slices.Clone(fs)
	slices.SortStableFunc(out, func(a, b steps.Finding) int { return b.Severity.Rank() - a.Severity.Rank() })
	return out
}

// countFindings summarises findings: "7 passed · 1 warning · 1 failure".
func countFindings(fs []steps.Finding) string {
	n := map[steps.Severity]int{}
	for _, f := range fs {
		n[f.Severity]++
	}
	parts := []string{styles.Pass.Render(fmt.Sprintf("%d passed", n[steps.Pass]))}
	if n[steps.Info] > 0 {
		parts = append(parts, styles.Info.Render(fmt.Sprintf("%d info", n[steps.Info])))
	}
	if n[steps.Warn] > 0 {
		parts = append(parts, styles.Warn.Render(plural(n[steps.Warn], "warning", "warnings")))
	}
	if n[steps.Fail] > 0 {
		parts = append(parts, styles.Fail.Render(plural(n[steps.Fail], "failure", "failures")))
	}
	return strings.Join(parts, styles.Muted.Render(" · "))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// renderFindings renders findings worst first: a badge and the title, and for warnings
// and failures the detail and the exact fixes for platform. With cl the fixes are
// command blocks (unwrapped, selectable, copyable); cl.base must be the number of
// lines of the page's content before the returned text.
func renderFindings(fs []steps.Finding, platform string, width int, cl *cmdList) string {
	var b strings.Builder
	for i, f := range sortedFindings(fs) {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(wrap(f.Title, width, badge(f.Severity)+"  ", "      ", nil))
		if f.Severity != steps.Warn && f.Severity != steps.Fail && f.Severity != steps.Info {
			continue
		}
		if f.Detail != "" {
			b.WriteString("\n")
			b.WriteString(wrap(f.Detail, width, "      ", "      ", styles.Muted.Render))
		}
		if f.Severity == steps.Info {
			continue
		}
		for _, x := range fixesToShow(f, platform) {
			b.WriteString("\n")
			writeFix(&b, cl, x, width)
		}
	}
	return b.String()
}

// writeFix writes one fix: a command block of cl, or wrapped text when cl is nil.
func writeFix(b *strings.Builder, cl *cmdList, x steps.Fix, width int) {
	label := "Fix (" + x.Platform + "):"
	if cl != nil {
		cl.write(b, label, x.Command, width)
		return
	}
	b.WriteString(wrap(x.Command, width, cmdIndent+styles.Key.Render(label)+" ", "        ", styles.Code.Render))
}

// hostPort is host:port as shown to the user, an IPv6 address in brackets
// ([fe80::1]:5022), as net.JoinHostPort writes it.
func hostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }

// kv renders "label   value" lines with aligned labels.
func kv(pairs [][2]string, width int) string {
	lw := 0
	for _, p := range pairs {
		lw = max(lw, ansi.StringWidth(p[0]))
	}
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteString("\n")
		}
		prefix := "  " + styles.Muted.Render(padRight(p[0], lw)) + "  "
		b.WriteString(wrap(p[1], width, prefix, strings.Repeat(" ", lw+4), styles.Value.Render))
	}
	return b.String()
}

// fitHeight cuts or pads s to exactly h lines of at most width cells.
func fitHeight(s string, width, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, width, "…")
	}
	return strings.Join(lines, "\n")
}
