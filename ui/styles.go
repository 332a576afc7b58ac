package ui

import (
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/textinput"
	"charm.land/lipgloss/v2"

	"github.com/milink/milink/steps"
)

// Every colour of the UI is one of the 16 basic ANSI colours or an ANSI-256 colour:
// they follow the user's terminal theme, work on 256-colour terminals (tmux, screen,
// old xterms over SSH) and are dropped entirely by the renderer when NO_COLOR is set or
// the output is not a terminal. Nothing here is true-colour only, and nothing forces a
// colour profile. Every state that has a colour also has a word or symbol ("PASS",
// "FAIL", "›"), so the UI stays readable without colour.
var (
	colorPass   = lipgloss.Green
	colorWarn   = lipgloss.Yellow
	colorFail   = lipgloss.Red
	colorInfo   = lipgloss.Cyan
	colorMuted  = lipgloss.BrightBlack
	colorAccent = lipgloss.Color("33") // ANSI-256 blue; downsampled to blue on 16-colour terminals
)

// styles holds every lipgloss style of the UI; there is no other style definition.
var styles = struct {
	Title, Banner, StepCurrent, StepDone, StepTodo, StepSep, Rule        lipgloss.Style
	Heading, Label, LabelFocused, Value, Muted, Marker, Choice, ChoiceOn lipgloss.Style
	Pass, Warn, Fail, Info, Error, Key, Prompt, Code, Spinner            lipgloss.Style
	Badge                                                                map[steps.Severity]lipgloss.Style
}{
	Title:        lipgloss.NewStyle().Bold(true).Foreground(colorAccent),
	Banner:       lipgloss.NewStyle().Bold(true).Foreground(colorWarn),
	StepCurrent:  lipgloss.NewStyle().Bold(true).Underline(true).Foreground(colorAccent),
	StepDone:     lipgloss.NewStyle().Foreground(colorPass),
	StepTodo:     lipgloss.NewStyle().Foreground(colorMuted),
	StepSep:      lipgloss.NewStyle().Foreground(colorMuted),
	Rule:         lipgloss.NewStyle().Foreground(colorMuted),
	Heading:      lipgloss.NewStyle().Bold(true),
	Label:        lipgloss.NewStyle(),
	LabelFocused: lipgloss.NewStyle().Bold(true).Foreground(colorAccent),
	Value:        lipgloss.NewStyle().Bold(true),
	Muted:        lipgloss.NewStyle().Foreground(colorMuted),
	Marker:       lipgloss.NewStyle().Bold(true).Foreground(colorAccent),
	Choice:       lipgloss.NewStyle().Foreground(colorMuted),
	ChoiceOn:     lipgloss.NewStyle().Bold(true).Reverse(true),
	Pass:         lipgloss.NewStyle().Foreground(colorPass),
	Warn:         lipgloss.NewStyle().Foreground(colorWarn),
	Fail:         lipgloss.NewStyle().Foreground(colorFail),
	Info:         lipgloss.NewStyle().Foreground(colorInfo),
	Error:        lipgloss.NewStyle().Bold(true).Foreground(colorFail),
	Key:          lipgloss.NewStyle().Bold(true),
	Prompt:       lipgloss.NewStyle().Bold(true).Foreground(colorWarn),
	Code:         lipgloss.NewStyle().Foreground(colorInfo),
	Spinner:      lipgloss.NewStyle().Foreground(colorAccent),
	Badge: map[steps.Severity]lipgloss.Style{
		steps.Pass: lipgloss.NewStyle().Bold(true).Foreground(colorPass),
		steps.Info: lipgloss.NewStyle().Bold(true).Foreground(colorInfo),
		steps.Warn: lipgloss.NewStyle().Bold(true).Foreground(colorWarn),
		steps.Fail: lipgloss.NewStyle().Bold(true).Foreground(colorFail),
	},
}

// badge renders a finding's severity as a fixed-width word: PASS, INFO, WARN, FAIL.
func badge(s steps.Severity) string {
	word := strings.ToUpper(string(s))
	if word == "" {
		word = "PASS"
	}
	st, ok := styles.Badge[s]
	if !ok {
		st = styles.Badge[steps.Pass]
	}
	return st.Render(word)
}

// statusStyle colours a direction status or probe verdict.
func statusStyle(ok bool) lipgloss.Style {
	if ok {
		return styles.Pass
	}
	return styles.Fail
}

// helpStyles are the bubbles/help styles in ANSI colours.
func helpStyles() help.Styles {
	key := lipgloss.NewStyle().Bold(true)
	desc := lipgloss.NewStyle().Foreground(colorMuted)
	sep := lipgloss.NewStyle().Foreground(colorMuted)
	return help.Styles{
		ShortKey: key, ShortDesc: desc, ShortSeparator: sep, Ellipsis: sep,
		FullKey: key, FullDesc: desc, FullSeparator: sep,
	}
}

// inputStyles are the bubbles/textinput styles in ANSI colours, with a steady cursor
// (no blink: fewer redraws over slow SSH links).
func inputStyles() textinput.Styles {
	s := textinput.DefaultDarkStyles()
	s.Focused = textinput.StyleState{
		Text:        lipgloss.NewStyle(),
		Placeholder: lipgloss.NewStyle().Foreground(colorMuted),
		Suggestion:  lipgloss.NewStyle().Foreground(colorMuted),
		Prompt:      lipgloss.NewStyle().Foreground(colorAccent),
	}
	s.Blurred = textinput.StyleState{
		Text:        lipgloss.NewStyle(),
		Placeholder: lipgloss.NewStyle().Foreground(colorMuted),
		Suggestion:  lipgloss.NewStyle().Foreground(colorMuted),
		Prompt:      lipgloss.NewStyle().Foreground(colorMuted),
	}
	s.Cursor.Color = colorAccent
	s.Cursor.Blink = false
	return s
}
