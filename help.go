// Help in the manner of gh: wrapped at the terminal's width (80 columns when stdout is
// not a terminal), flags grouped with the MILINK_* variable that sets each, an Examples
// section for every command, and help topics (milink help exit-codes, milink help
// environment).

package main

import (
	"fmt"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// noEnv is the annotation of a command whose flags no MILINK_* variable sets (demo, sim).
const noEnv = "milink/no-env"

// defaultHelpWidth is the width help wraps at when stdout is not a terminal.
const defaultHelpWidth = 80

// helpWidth is the width help wraps at: the terminal's, in columns, when stdout is one
// (at least 40), else defaultHelpWidth.
func (a *app) helpWidth() int {
	if f, ok := a.stdout.(*os.File); ok && a.isTTY(int(f.Fd())) {
		if w, _, err := term.GetSize(f.Fd()); err == nil && w > 0 {
			return max(w, 40)
		}
	}
	return defaultHelpWidth
}

// envName is the MILINK_* variable that sets flag f ("MILINK_SQL_SERVER" for
// --sql-server), or "" for the flags no variable sets: --config, --*-password-stdin,
// --help, --version and the inventory run's flags (command line only).
func envName(f *pflag.Flag) string {
	switch {
	case f.Name == "config" || f.Name == "help" || f.Name == "version" || strings.HasSuffix(f.Name, "password-stdin") || inventoryFlag(f.Name):
		return ""
	}
	return "MILINK_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
}

// printHelp writes cmd's help to its output: description, usage, examples, commands
// and help topics (root), flags by group, and where to learn more; wrapped at width.
func printHelp(cmd *cobra.Command, width int) {
	var b strings.Builder
	long := cmd.Long
	if long == "" {
		long = cmd.Short
	}
	b.WriteString(wrapText(strings.TrimSpace(long), width) + "\n")
	if cmd.IsAdditionalHelpTopicCommand() {
		fmt.Fprint(cmd.OutOrStdout(), b.String())
		return
	}
	section := func(title, body string) {
		if body = strings.TrimRight(body, "\n"); body != "" {
			fmt.Fprintf(&b, "\n%s\n%s\n", title, body)
		}
	}
	var usage string
	if cmd.Runnable() {
		usage = "  " + cmd.CommandPath() + " [flags]\n"
	}
	if cmd.HasAvailableSubCommands() {
		usage += "  " + cmd.CommandPath() + " <command> [flags]"
	}
	section("USAGE", usage)
	var cmds, topics []string
	for _, c := range cmd.Commands() {
		if !c.IsAvailableCommand() && !c.IsAdditionalHelpTopicCommand() {
			continue
		}
		line := wrapText(fmt.Sprintf("  %-13s%s", c.Name(), c.Short), width)
		if c.IsAdditionalHelpTopicCommand() {
			topics = append(topics, line)
		} else {
			cmds = append(cmds, line)
		}
	}
	section("COMMANDS", strings.Join(cmds, "\n"))
	section("HELP TOPICS", strings.Join(topics, "\n"))
	_, noVars := cmd.Annotations[noEnv]
	for _, g := range flagGroups(cmd.Flags()) {
		section(g.title, flagLines(g.flags, width, !noVars))
	}
	section("EXAMPLES", cmd.Example)
	learn := "  Use 'milink <command> --help' for more about a command.\n"
	learn += "  'milink help exit-codes' lists the exit codes; 'milink help environment' the\n  variables milink reads."
	section("LEARN MORE", wrapText(learn, width))
	fmt.Fprint(cmd.OutOrStdout(), b.String())
}

// flagGroup is one section of flags in help.
type flagGroup struct {
	title string
	flags []*pflag.Flag
}

// groupOf names the help section of a flag.
func groupOf(name string) string {
	switch {
	case name == "cloud" || name == "azure-auth" || name == "tenant-id" || name == "client-id" || name == "subscription" || name == "mi-resource-id":
		return "AZURE FLAGS"
	case name == "sql-ip":
		return "FLAGS"
	case strings.HasPrefix(name, "sql-"):
		return "SQL SERVER FLAGS"
	case strings.HasPrefix(name, "mi-"):
		return "MANAGED INSTANCE FLAGS"
	case strings.HasPrefix(name, "ssh"):
		return "SSH FLAGS (SQL SERVER ON LINUX)"
	}
	return "FLAGS"
}

// flagGroups sorts fs's visible flags into help sections, in a fixed order.
func flagGroups(fs *pflag.FlagSet) []flagGroup {
	order := []string{"FLAGS", "SQL SERVER FLAGS", "MANAGED INSTANCE FLAGS", "AZURE FLAGS", "SSH FLAGS (SQL SERVER ON LINUX)"}
	by := map[string][]*pflag.Flag{}
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			by[groupOf(f.Name)] = append(by[groupOf(f.Name)], f)
		}
	})
	var out []flagGroup
	for _, t := range order {
		if len(by[t]) > 0 {
			out = append(out, flagGroup{t, by[t]})
		}
	}
	return out
}

// flagLines renders flags, each as a line with its name, value type and (with vars)
// MILINK_* variable, then its description (and default) wrapped below it, indented.
func flagLines(flags []*pflag.Flag, width int, vars bool) string {
	var b strings.Builder
	for _, f := range flags {
		name := "      --" + f.Name
		if f.Shorthand != "" {
			name = "  -" + f.Shorthand + ", --" + f.Name
		}
		varname, usage := pflag.UnquoteUsage(f)
		if varname != "" && f.NoOptDefVal == "" {
			name += " " + varname
		}
		if env := envName(f); env != "" && vars {
			switch n := utf8.RuneCountInString(name); {
			case n < 39 && 40+len(env) <= width:
				name += strings.Repeat(" ", 40-n) + env
			case n+2+len(env) <= width:
				name += "  " + env
			default: // a narrow terminal: the variable on a line of its own
				name += "\n        " + env
			}
		}
		if def := f.DefValue; def != "" && def != "false" && def != "0" && def != "[]" && f.NoOptDefVal == "" {
			usage += " (default " + def + ")"
		}
		b.WriteString(name + "\n")
		b.WriteString(wrapText("        "+usage, width) + "\n")
	}
	return b.String()
}

// wrapText fits s to width columns: consecutive lines that start at the margin are a
// paragraph, filled anew; a table row ("  0    every prerequisite...") and the lines
// that continue it at its second column are filled anew at that column; any other
// indented line (an example) is wrapped on its own when too long, continuing at its
// indentation. A word longer than a line is left whole.
func wrapText(s string, width int) string {
	var out, para []string
	flush := func() {
		if len(para) > 0 {
			out = append(out, wrapLine(strings.Join(para, " "), width)...)
			para = nil
		}
	}
	rowHang := -1 // the second column of the table row being read (-1: none)
	for _, line := range strings.Split(s, "\n") {
		body := strings.TrimLeft(line, " ")
		switch indent := len(line) - len(body); {
		case line != "" && indent == 0:
			if rowHang >= 0 {
				flush() // the table row before this paragraph
			}
			para, rowHang = append(para, line), -1
			continue
		case body != "" && indent == rowHang && len(para) > 0:
			// A table row's continuation line: the row is one paragraph, filled anew
			// at its second column rather than each of its lines cut on its own.
			para[0] += " " + body
			continue
		}
		flush()
		if rowHang = hangOf(line); rowHang > len(line)-len(strings.TrimLeft(line, " ")) {
			para = []string{line} // a table row: its continuation lines may follow
		} else {
			rowHang = -1
			out = append(out, wrapLine(line, width)...)
		}
	}
	flush()
	return strings.Join(out, "\n")
}

// hangOf is where a wrapped line continues: at the start of a table row's second
// column ("  0    every..."), else at the line's indentation.
func hangOf(line string) int {
	body := strings.TrimLeft(line, " ")
	indent := len(line) - len(body)
	if i := strings.Index(body, "  "); i > 0 && !strings.Contains(body[:i], " ") {
		rest := strings.TrimLeft(body[i:], " ")
		return indent + len(body) - len(rest)
	}
	return indent
}

// wrapLine wraps one line (see wrapText).
func wrapLine(line string, width int) []string {
	if utf8.RuneCountInString(line) <= width {
		return []string{line}
	}
	body := strings.TrimLeft(line, " ")
	indent := len(line) - len(body)
	hang := hangOf(line)
	if hang > width/2 {
		hang = indent
	}
	var out []string
	cur := line[:indent]
	curLen, empty := indent, true
	for _, w := range strings.Split(body, " ") {
		if w == "" && !empty { // keep the spaces of a table row's first gap
			cur += " "
			curLen++
			continue
		}
		wl := utf8.RuneCountInString(w)
		if !empty && curLen+1+wl > width {
			out = append(out, strings.TrimRight(cur, " "))
			cur, curLen, empty = strings.Repeat(" ", hang)+w, hang+wl, false
			continue
		}
		if !empty {
			cur += " "
			curLen++
		}
		cur += w
		curLen += wl
		empty = false
	}
	return append(out, strings.TrimRight(cur, " "))
}

// setupHelp gives root and its subcommands gh's conventions: the help above, no -v
// for --version, usage errors that name the command's help, and the help topics.
func (a *app) setupHelp(root *cobra.Command) {
	root.Flags().Bool("version", false, "print milink's version")
	root.SetHelpFunc(func(cmd *cobra.Command, _ []string) { printHelp(cmd, a.helpWidth()) })
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError{flagError(cmd, err)}
	})
	root.AddCommand(exitCodesTopic(), a.environmentTopic(root))
	root.SetHelpCommand(&cobra.Command{
		Use:     "help [command or topic]",
		Short:   "Help about any command or topic",
		Example: "  milink help check\n  milink help exit-codes",
		Args:    cobra.ArbitraryArgs,
		RunE: func(_ *cobra.Command, args []string) error {
			target, rest, err := root.Find(args)
			if err != nil || len(rest) > 0 {
				return usageError{fmt.Errorf("unknown help topic %q", strings.Join(args, " "))}
			}
			printHelp(target, a.helpWidth())
			return nil
		},
	})
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Example = "  milink completion bash > /etc/bash_completion.d/milink\n  milink completion zsh > \"${fpath[1]}/_milink\""
		for _, s := range c.Commands() {
			s.Example = "  milink completion " + s.Name() + " --help"
		}
	}
}

// flagError adds to cobra's complaint about a flag the closest flag of cmd when the
// flag is unknown ("unknown flag: --sql-prot; did you mean --sql-port?").
func flagError(cmd *cobra.Command, err error) error {
	const unknown = "unknown flag: --"
	msg := err.Error()
	if !strings.HasPrefix(msg, unknown) {
		return err
	}
	var names []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
	if s := closest(strings.TrimPrefix(msg, unknown), names); s != "" {
		return fmt.Errorf("%s; did you mean --%s?", msg, s)
	}
	return err
}

// closest returns the word of words nearest to w (at most 2 edits, or a quarter of w's
// length for long words), or "".
func closest(w string, words []string) string {
	best, bestD := "", max(2, len(w)/4)+1
	for _, c := range words {
		if d := editDistance(w, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
