package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// cmdBlock is one command the user may run or copy: a label line, then the command
// unwrapped on one line (never broken inside a host name or a flag), which scrolls
// sideways when it is wider than the page.
type cmdBlock struct {
	label   string
	command string
	line    int // first line of the block in the page's scrollable content
}

// cmdList is the command blocks of a page's scrollable content: one is selected
// (n/N), scrolls sideways (←/→) and is copied to the clipboard with c through the
// terminal (OSC 52, tea.SetClipboard; works over SSH). The page rebuilds its content
// after every message: reset, then write each block, keeps the selection.
type cmdList struct {
	blocks []cmdBlock
	base   int    // lines of the content before the builder given to write
	sel    int    // selected block
	off    int    // horizontal offset of the selected command, in cells
	copied string // the command last copied ("copied" feedback while it stays selected)
	count  int    // blocks of the previous rendering (the hints are written before the last block is known)
	shown  bool   // the selected block is on screen (c copies only what the user sees)
	width  int    // width of the last rendering
	// noScroll: ←/→ belong to the page (the Fix page's apply/skip fields), so no
	// block names them; a cut command is still copied whole with c.
	noScroll bool
	// inactive: the page gives its keys to something else (Network Options' fields
	// have the keyboard), so no block is selected and the command keys are not taken.
	inactive bool
}

const cmdIndent = "      "

// reset forgets the blocks before the content is built again.
func (c *cmdList) reset() { c.count, c.blocks, c.base = len(c.blocks), c.blocks[:0], 0 }

// write renders a command block into b (at b's current line) and records it.
func (c *cmdList) write(b *strings.Builder, label, command string, width int) {
	i := len(c.blocks)
	c.blocks = append(c.blocks, cmdBlock{label: label, command: command, line: c.base + strings.Count(b.String(), "\n")})
	c.width = width
	selected := i == c.sel && !c.inactive
	head := cmdIndent + styles.Key.Render(label)
	switch {
	case selected && c.copied == command:
		head += "  " + styles.Pass.Render("✓ copied to the clipboard")
	case selected:
		hint := "c copy"
		if !c.noScroll && ansi.StringWidth(command) > c.avail(width)+1 {
			hint += " · ←/→ scroll"
		}
		if max(c.count, len(c.blocks)) > 1 {
			hint += " · n/N next"
		}
		head += "  " + styles.Muted.Render(hint)
	}
	b.WriteString(ansi.Truncate(head, width, "…") + "\n")
	b.WriteString(cmdIndent + c.window(command, selected, width))
}

// window is the visible part of a command on one line: the marker, then the command
// from the selected offset, with ‹ › when more is to the left or right.
func (c *cmdList) window(command string, selected bool, width int) string {
	marker := "  "
	off := 0
	if selected {
		marker = styles.Marker.Render("▶ ")
		off = c.off
	}
	avail := c.avail(width)
	total := ansi.StringWidth(command)
	if total <= avail+1 {
		return marker + " " + styles.Code.Render(command)
	}
	off = min(off, total-avail)
	left, right := " ", styles.Marker.Render("›")
	if off > 0 {
		left = styles.Marker.Render("‹")
	}
	if off+avail >= total {
		right = ""
	}
	return marker + left + styles.Code.Render(ansi.Cut(command, off, off+avail)) + right
}

// avail is the cells a command gets on its line: the page less the indent, the
// marker and the ‹ › indicators.
func (c *cmdList) avail(width int) int { return max(10, width-len(cmdIndent)-4) }

// selected returns the selected command, or "" when the page shows none.
func (c *cmdList) selected() string {
	if c.sel < len(c.blocks) {
		return c.blocks[c.sel].command
	}
	return ""
}

// scrollable reports whether the selected command is wider than its window.
func (c *cmdList) scrollable() bool {
	cmd := c.selected()
	return cmd != "" && ansi.StringWidth(cmd) > c.avail(c.width)+1
}

// update handles the command keys; vp is the viewport showing the blocks, kept so
// that the selected block is visible. handled is false for other keys.
func (c *cmdList) update(km tea.KeyPressMsg, keys keyMap, vp *viewport.Model) (cmd tea.Cmd, handled bool) {
	if len(c.blocks) == 0 || c.inactive {
		return nil, false
	}
	step := max(8, c.avail(c.width)/2)
	switch {
	case key.Matches(km, keys.Copy):
		if !c.shown {
			return nil, false
		}
		sel := c.selected()
		c.copied = sel
		return tea.SetClipboard(sel), true
	case key.Matches(km, keys.NextCmd):
		c.selectBlock((c.sel+1)%len(c.blocks), vp)
	case key.Matches(km, keys.PrevCmd):
		c.selectBlock((c.sel+len(c.blocks)-1)%len(c.blocks), vp)
	case key.Matches(km, keys.CmdScroll):
		if !c.scrollable() {
			return nil, false
		}
		if km.String() == "left" {
			c.off = max(0, c.off-step)
		} else {
			total := ansi.StringWidth(c.selected())
			c.off = min(c.off+step, max(0, total-c.avail(c.width)))
		}
	default:
		return nil, false
	}
	return nil, true
}

// selectBlock selects block i and scrolls vp so that it is visible.
func (c *cmdList) selectBlock(i int, vp *viewport.Model) {
	if i != c.sel {
		c.sel, c.off, c.copied = i, 0, ""
	}
	line, h := c.blocks[i].line, vp.Height()
	switch {
	case line < vp.YOffset():
		vp.SetYOffset(line)
	case line+2 > vp.YOffset()+h:
		vp.SetYOffset(line + 2 - h)
	}
}

// follow moves the selection to the first visible block when vertical scrolling took
// the selected one off the viewport: the marked command is always on screen.
func (c *cmdList) follow(vp *viewport.Model) {
	if c.sel >= len(c.blocks) {
		c.sel = 0
	}
	if len(c.blocks) == 0 || c.visible(c.blocks[c.sel], vp) {
		return
	}
	for i, b := range c.blocks {
		if c.visible(b, vp) {
			c.sel, c.off, c.copied = i, 0, ""
			return
		}
	}
}

// visible reports whether block b's two lines are in the viewport.
func (c *cmdList) visible(b cmdBlock, vp *viewport.Model) bool {
	return b.line >= vp.YOffset() && b.line+1 < vp.YOffset()+vp.Height()
}

// track records whether the selected block is on screen (after the page's layout).
func (c *cmdList) track(vp *viewport.Model) {
	c.shown = !c.inactive && c.sel < len(c.blocks) && c.visible(c.blocks[c.sel], vp)
}

// help is the command keys for the footer when the page shows commands.
func (c *cmdList) help(keys keyMap) bindings {
	if !c.shown {
		return nil
	}
	return bindings{withHelp(keys.Copy, "c", "copy")}
}
