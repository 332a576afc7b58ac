package ui

import (
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/milink/milink/sqlops"
)

// field is one line of a form: a text input or a choice among fixed values.
type field struct {
	label   string
	input   textinput.Model // text fields
	choices []string        // choice fields (len > 0)
	choice  int
	note    string // shown after a choice field's values
}

func (f *field) isChoice() bool { return len(f.choices) > 0 }

func (f *field) value() string {
	if f.isChoice() {
		return f.choices[f.choice]
	}
	return strings.TrimSpace(f.input.Value())
}

func newTextField(label, value, placeholder string, password bool) field {
	in := textinput.New()
	in.Prompt = ""
	in.Placeholder = placeholder
	in.SetStyles(inputStyles())
	in.CharLimit = 256
	if password {
		in.EchoMode = textinput.EchoPassword
		in.EchoCharacter = '•'
	}
	in.SetValue(value)
	in.CursorEnd()
	return field{label: label, input: in}
}

func newChoiceField(label string, choices []string, selected, note string) field {
	f := field{label: label, choices: choices, note: note}
	for i, c := range choices {
		if c == selected {
			f.choice = i
		}
	}
	return f
}

// form is a vertical list of fields with one focused field.
type form struct {
	fields  []field
	focus   int
	focused bool // false: no field has the keyboard (the page shows something else)
}

const labelWidth = 26

// focusOn gives field i the keyboard.
func (f *form) focusOn(i int) tea.Cmd {
	f.focused = true
	f.focus = (i + len(f.fields)) % len(f.fields)
	var cmd tea.Cmd
	for k := range f.fields {
		if f.fields[k].isChoice() {
			continue
		}
		if k == f.focus {
			cmd = f.fields[k].input.Focus()
		} else {
			f.fields[k].input.Blur()
		}
	}
	return cmd
}

// blur takes the keyboard away from every field.
func (f *form) blur() {
	f.focused = false
	for k := range f.fields {
		if !f.fields[k].isChoice() {
			f.fields[k].input.Blur()
		}
	}
}

// update handles navigation and editing keys; changed reports an edit of a value.
func (f *form) update(msg tea.Msg, keys keyMap) (cmd tea.Cmd, changed bool) {
	if !f.focused || len(f.fields) == 0 {
		return nil, false
	}
	km, isKey := msg.(tea.KeyPressMsg)
	cur := &f.fields[f.focus]
	if isKey {
		switch {
		case key.Matches(km, keys.NextField):
			return f.focusOn(f.focus + 1), false
		case key.Matches(km, keys.PrevField):
			return f.focusOn(f.focus - 1), false
		case cur.isChoice() && key.Matches(km, keys.Change):
			n := len(cur.choices)
			if km.String() == "left" {
				cur.choice = (cur.choice + n - 1) % n
			} else {
				cur.choice = (cur.choice + 1) % n
			}
			return nil, n > 1
		}
	}
	if cur.isChoice() {
		return nil, false
	}
	before := cur.input.Value()
	cur.input, cmd = cur.input.Update(msg)
	return cmd, cur.input.Value() != before
}

// setWidth sizes the text inputs for a body of the given width.
func (f *form) setWidth(width int) {
	w := max(10, width-labelWidth-4)
	for k := range f.fields {
		if !f.fields[k].isChoice() {
			f.fields[k].input.SetWidth(w)
		}
	}
}

// view renders one line per field.
func (f *form) view(width int) string {
	var b strings.Builder
	for k := range f.fields {
		fl := &f.fields[k]
		active := f.focused && k == f.focus
		marker, label := "  ", styles.Label.Render(padRight(fl.label, labelWidth))
		if active {
			marker = styles.Marker.Render("› ")
			label = styles.LabelFocused.Render(padRight(fl.label, labelWidth))
		}
		var value string
		if fl.isChoice() {
			var parts []string
			for i, c := range fl.choices {
				if i == fl.choice {
					parts = append(parts, styles.ChoiceOn.Render("["+c+"]"))
				} else {
					parts = append(parts, styles.Choice.Render(" "+c+" "))
				}
			}
			value = strings.Join(parts, " ")
			if fl.note != "" {
				value += "  " + styles.Muted.Render(fl.note)
			}
		} else {
			value = fl.input.View()
		}
		line := marker + label + value
		b.WriteString(ansi.Truncate(line, width, "…"))
		if k < len(f.fields)-1 {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func padRight(s string, w int) string {
	if n := ansi.StringWidth(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

// Connection form fields, in order.
const (
	cfServer = iota
	cfPort
	cfAuth
	cfUser
	cfPassword
	cfEncrypt
	cfTrust
	cfCAFile
)

// Authentication methods offered by the connection form.
//
// ENTRA SEAM: only SQL authentication exists today. Microsoft Entra ID will be added as
// a second choice here (e.g. "Entra ID (az login)", "Entra ID (device code)"); its
// connection then sets sqlops.ConnConfig.Token from package azureops instead of
// User/Password, and the User/Password fields are hidden for it (see connConfig).
const authSQL = "SQL login"

var authChoices = []string{authSQL}

var encryptChoices = []string{sqlops.EncryptTrue, sqlops.EncryptStrict, sqlops.EncryptFalse, sqlops.EncryptDisable}

// newConnForm builds the connection form of one instance, pre-filled from c.
func newConnForm(c sqlops.ConnConfig, hostHint string) form {
	port := ""
	if c.Port != 0 {
		port = strconv.Itoa(c.Port)
	}
	enc := c.Encrypt
	if enc == "" {
		enc = sqlops.EncryptTrue
	}
	trust := "no"
	if c.TrustServerCertificate {
		trust = "yes"
	}
	return form{fields: []field{
		newTextField("Server", c.Host, hostHint, false),
		newTextField("Port", port, "1433", false),
		newChoiceField("Authentication", authChoices, authSQL, "(Entra ID: not yet)"),
		newTextField("User", c.User, "login name", false),
		newTextField("Password", c.Password, "", true),
		newChoiceField("Encrypt", encryptChoices, enc, ""),
		newChoiceField("Trust server certificate", []string{"no", "yes"}, trust, ""),
		newTextField("CA file (PEM)", c.CACertFile, "system trust store", false),
	}}
}

// connConfig reads the form into a copy of base and validates it (no I/O).
func connConfig(f *form, base sqlops.ConnConfig) (sqlops.ConnConfig, error) {
	c := base
	c.Host = f.fields[cfServer].value()
	c.Port = 0
	if p := f.fields[cfPort].value(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return c, fmt.Errorf("%s: %w: port %q is not a number", base.Role, sqlops.ErrInvalidInput, p)
		}
		c.Port = n
	}
	switch f.fields[cfAuth].value() {
	case authSQL:
		c.Token = nil
		c.User = f.fields[cfUser].value()
		c.Password = f.fields[cfPassword].input.Value() // passwords are not trimmed
	}
	c.Encrypt = f.fields[cfEncrypt].value()
	c.TrustServerCertificate = f.fields[cfTrust].value() == "yes"
	c.CACertFile = f.fields[cfCAFile].value()
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

// invalidField returns the form field an input error is about, or -1.
func invalidField(err error) int {
	s := err.Error()
	switch {
	case strings.Contains(s, "host"):
		return cfServer
	case strings.Contains(s, "port"):
		return cfPort
	case strings.Contains(s, "user name"):
		return cfUser
	case strings.Contains(s, "password"):
		return cfPassword
	}
	return -1
}

// connSummary is the one-line description of a connection (never the password).
func connSummary(c sqlops.ConnConfig) string {
	s := fmt.Sprintf("%s as %s · encrypt %s", c.Address(), c.User, orDefault(c.Encrypt, sqlops.EncryptTrue))
	if c.TrustServerCertificate {
		s += " · certificate not verified"
	}
	return s
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
