package ui

import (
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/milink/milink/steps"
)

// field is one line of a form: a text input or a choice among fixed values.
type field struct {
	label   string
	input   textinput.Model // text fields
	choices []string        // choice fields (len > 0)
	choice  int
	note    string   // shown after a choice field's values
	notes   []string // per choice: shown instead of note when not empty
	hidden  bool     // not shown and skipped by the focus (e.g. User/Password with Entra ID)
}

// currentNote is the note shown after a choice field.
func (f *field) currentNote() string {
	if f.choice < len(f.notes) && f.notes[f.choice] != "" {
		return f.notes[f.choice]
	}
	return f.note
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
	focused bool        // false: no field has the keyboard (the page shows something else)
	refresh func(*form) // called after a value changed (shows or hides dependent fields)
}

const labelWidth = 26

// focusOn gives field i the keyboard (or the next visible field when i is hidden).
func (f *form) focusOn(i int) tea.Cmd { return f.focusFrom(i, 1) }

// focusFrom gives the keyboard to field i, or to the first visible field from i in
// direction dir (+1 or -1).
func (f *form) focusFrom(i, dir int) tea.Cmd {
	n := len(f.fields)
	f.focused = true
	i = (i%n + n) % n
	for k := 0; k < n && f.fields[i].hidden; k++ {
		i = ((i+dir)%n + n) % n
	}
	f.focus = i
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
			return f.focusFrom(f.focus+1, 1), false
		case key.Matches(km, keys.PrevField):
			return f.focusFrom(f.focus-1, -1), false
		case cur.isChoice() && key.Matches(km, keys.Change):
			n := len(cur.choices)
			if km.String() == "left" {
				cur.choice = (cur.choice + n - 1) % n
			} else {
				cur.choice = (cur.choice + 1) % n
			}
			if n > 1 {
				f.changed()
			}
			return nil, n > 1
		}
	}
	if cur.isChoice() {
		return nil, false
	}
	before := cur.input.Value()
	cur.input, cmd = cur.input.Update(msg)
	if cur.input.Value() != before {
		f.changed()
		return cmd, true
	}
	return cmd, false
}

// changed runs the refresh hook after an edit.
func (f *form) changed() {
	if f.refresh != nil {
		f.refresh(f)
	}
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

// view renders one line per visible field.
func (f *form) view(width int) string {
	var lines []string
	for k := range f.fields {
		fl := &f.fields[k]
		if fl.hidden {
			continue
		}
		active := f.focused && k == f.focus
		marker, label := "  ", styles.Label.Render(padRight(fl.label, labelWidth))
		if active {
			marker = styles.Marker.Render("› ")
			label = styles.LabelFocused.Render(padRight(fl.label, labelWidth))
		}
		var value string
		if fl.isChoice() {
			value = fl.choiceView(width - 2 - labelWidth)
		} else {
			value = fl.input.View()
		}
		lines = append(lines, ansi.Truncate(marker+label+value, width, "…"))
	}
	return strings.Join(lines, "\n")
}

// choiceView renders a choice field's values in avail cells: every value with the
// chosen one in [brackets], or, when they do not fit, only the chosen one with its
// neighbours hinted ("‹ [Entra device code] ›").
func (fl *field) choiceView(avail int) string {
	var parts []string
	for i, c := range fl.choices {
		if i == fl.choice {
			parts = append(parts, styles.ChoiceOn.Render("["+c+"]"))
		} else {
			parts = append(parts, styles.Choice.Render(" "+c+" "))
		}
	}
	value := strings.Join(parts, " ")
	if ansi.StringWidth(value) > avail {
		value = styles.Muted.Render("‹ ") + styles.ChoiceOn.Render("["+fl.choices[fl.choice]+"]") + styles.Muted.Render(" ›")
	}
	if note := fl.currentNote(); note != "" {
		value += "  " + styles.Muted.Render(note)
	}
	return value
}

func padRight(s string, w int) string {
	if n := ansi.StringWidth(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

// Connection form fields, in order. Cloud and Tenant ID exist on both forms but are
// shown only on the managed instance's.
const (
	cfServer = iota
	cfPort
	cfAuth
	cfUser
	cfPassword
	cfCloud
	cfTenant
	cfEncrypt
	cfTrust
	cfCAFile
)

// Authentication methods offered by the connection form: SQL login, and for the
// managed instance the Microsoft Entra ID methods of entraChoices (azure.go). With an
// Entra method the User/Password fields are hidden and the connection sets
// steps.ConnConfig.Token from package azureops instead (see connConfig and
// loginModel.validate).
const authSQL = "SQL login"

// Windows authentication choices of the SQL Server's form (ConnConfig.Auth values, as
// --sql-auth names them): SSMS's "Windows Authentication", from Linux.
var windowsChoices = []struct{ label, auth, note, help string }{
	{"Windows login", steps.AuthWindows, `Kerberos if kinit was run, else NTLM with DOMAIN\user`,
		`Windows authentication: Kerberos with the ticket of kinit (or --sql-krb5-keytab), else NTLM with DOMAIN\user and the domain password`},
	{"Windows login (Kerberos)", steps.AuthKerberos, "ticket cache of kinit; no password",
		"Kerberos with the ticket cache of kinit (or --sql-krb5-keytab); SPN MSSQLSvc/<host>:<port>, or --sql-spn"},
	{"Windows login (NTLM)", steps.AuthNTLM, `DOMAIN\user and the domain password`,
		`NTLM: the Windows account as DOMAIN\user and its domain password`},
}

// sqlAuthOf returns the ConnConfig.Auth of an authentication choice ("" for SQL login
// and the Entra choices).
func sqlAuthOf(label string) string {
	for _, c := range windowsChoices {
		if c.label == label {
			return c.auth
		}
	}
	return ""
}

// sqlAuthLabel returns the choice of a ConnConfig.Auth value.
func sqlAuthLabel(auth string) string {
	for _, c := range windowsChoices {
		if c.auth == auth {
			return c.label
		}
	}
	return authSQL
}

var encryptChoices = []string{steps.EncryptTrue, steps.EncryptStrict, steps.EncryptFalse, steps.EncryptDisable}

// entraForm enables the Entra ID choices on a connection form (the managed instance's).
type entraForm struct {
	method       steps.AuthMethod // pre-selected; "" = SQL login
	cloud        string
	tenant       string
	tenantAlways bool // show the tenant with SQL login too (the Azure checks sign in)
}

// authChoicesFor returns the authentication choices and their notes (long: the
// accessible mode's explanations).
func authChoicesFor(entra, long bool) ([]string, []string) {
	type choice struct{ label, note, help string }
	var more []choice
	if entra {
		for _, c := range entraChoices {
			more = append(more, choice{c.label, c.note, c.help})
		}
	} else {
		for _, c := range windowsChoices {
			more = append(more, choice{c.label, c.note, c.help})
		}
	}
	choices, notes := []string{authSQL}, []string{"user and password"}
	for _, c := range more {
		choices = append(choices, c.label)
		if long {
			notes = append(notes, c.help)
		} else {
			notes = append(notes, c.note)
		}
	}
	return choices, notes
}

// newConnForm builds the connection form of one instance, pre-filled from c; entra
// (nil for SQL Server) adds the Entra ID authentication methods, the cloud and the
// tenant.
func newConnForm(c steps.ConnConfig, hostHint string, entra *entraForm) form {
	port := ""
	if c.Port != 0 {
		port = strconv.Itoa(c.Port)
	}
	enc := c.Encrypt
	if enc == "" {
		enc = steps.EncryptTrue
	}
	trust := "no"
	if c.TrustServerCertificate {
		trust = "yes"
	}
	var e entraForm
	if entra != nil {
		e = *entra
	}
	choices, notes := authChoicesFor(entra != nil, false)
	selected := authLabel(e.method)
	if entra == nil {
		selected = sqlAuthLabel(c.Auth)
	}
	auth := newChoiceField("Authentication", choices, selected, "")
	auth.notes = notes
	f := form{fields: []field{
		newTextField("Server", c.Host, hostHint, false),
		newTextField("Port", port, "1433", false),
		auth,
		newTextField("User", c.User, "login name", false),
		newTextField("Password", c.Password, "", true),
		newChoiceField("Cloud", steps.CloudNames(), orDefault(e.cloud, steps.AzureCloud), ""),
		newTextField("Tenant ID", e.tenant, "optional: GUID or contoso.onmicrosoft.com", false),
		newChoiceField("Encrypt", encryptChoices, enc, ""),
		newChoiceField("Trust server certificate", []string{"no", "yes"}, trust, ""),
		newTextField("CA file (PEM)", c.CACertFile, "system trust store", false),
	}}
	if entra == nil {
		f.fields[cfCloud].hidden, f.fields[cfTenant].hidden = true, true
		f.refresh = func(f *form) {
			// Kerberos signs in with the ticket cache: no password (and the user only
			// with a keytab).
			f.fields[cfPassword].hidden = sqlAuthOf(f.fields[cfAuth].value()) == steps.AuthKerberos
			portFromServer(f)
		}
		f.refresh(&f)
		return f
	}
	f.refresh = func(f *form) {
		isEntra := authMethodOf(f.fields[cfAuth].value()) != ""
		f.fields[cfUser].hidden, f.fields[cfPassword].hidden = isEntra, isEntra
		f.fields[cfTenant].hidden = !isEntra && !e.tenantAlways
		portFromServer(f)
	}
	f.refresh(&f)
	return f
}

// portFromServer shows, in the empty Port field, the port the Server field names
// (host,port) instead of the default 1433 that would not be used.
func portFromServer(f *form) {
	in := &f.fields[cfPort].input
	in.Placeholder = "1433"
	if p := steps.ServerPort(f.fields[cfServer].value()); p != 0 {
		in.Placeholder = strconv.Itoa(p) + " (from the Server field)"
	}
}

// authMethod returns the form's Entra method, or "" for SQL login.
func (f *form) authMethod() steps.AuthMethod { return authMethodOf(f.fields[cfAuth].value()) }

// cloud returns the form's Azure cloud.
func (f *form) cloud() steps.Cloud { return lookupCloud(f.fields[cfCloud].value()) }

// tenant returns the tenant ID typed on the form ("" when the field is hidden).
func (f *form) tenant() string {
	if f.fields[cfTenant].hidden {
		return ""
	}
	return f.fields[cfTenant].value()
}

// connConfig reads the form into a copy of base and validates it (no I/O).
func connConfig(f *form, base steps.ConnConfig) (steps.ConnConfig, error) {
	c := base
	c.Host = f.fields[cfServer].value()
	c.Port = 0
	if p := f.fields[cfPort].value(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return c, fmt.Errorf("%s: %w: port %q is not a number", base.Role, steps.ErrInvalidInput, p)
		}
		c.Port = n
	}
	if m := f.authMethod(); m == "" {
		c.Token = nil
		c.Auth = sqlAuthOf(f.fields[cfAuth].value())
		c.User = f.fields[cfUser].value()
		c.Password = f.fields[cfPassword].input.Value() // passwords are not trimmed
		if c.Auth == steps.AuthKerberos {
			c.Password = ""
		}
	} else {
		// Entra ID: no user or password; the connect command sets the real token provider.
		c.Token = pendingToken
		c.User, c.Password = "", ""
		if m == steps.DeviceCode && c.LoginTimeout < deviceCodeLoginTimeout {
			c.LoginTimeout = deviceCodeLoginTimeout // a person signs in on another device
		}
	}
	c.Encrypt = f.fields[cfEncrypt].value()
	c.TrustServerCertificate = f.fields[cfTrust].value() == "yes"
	c.CACertFile = f.fields[cfCAFile].value()
	if err := c.Validate(); err != nil {
		return c, err
	}
	if err := steps.ValidateTenantID(f.tenant()); err != nil {
		return c, fmt.Errorf("tenant ID: %w", err)
	}
	return c, nil
}

// invalidField returns the form field an input error is about, or -1.
func invalidField(err error) int {
	s := err.Error()
	switch {
	case strings.HasPrefix(s, "tenant ID:"):
		return cfTenant
	case strings.Contains(s, "is a Windows account"):
		return cfAuth
	case strings.Contains(s, "host"), strings.Contains(s, "instance name"):
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

// connSummary is the one-line description of a connection (never the password or
// token); method is the Entra method of a token login.
func connSummary(c steps.ConnConfig, method steps.AuthMethod) string {
	who := c.Who()
	if c.Token != nil {
		who = "with Entra ID (" + methodName(method) + ")"
	}
	s := fmt.Sprintf("%s %s · encrypt %s", c.Address(), who, orDefault(c.Encrypt, steps.EncryptTrue))
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
