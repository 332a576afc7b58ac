package sqlsim

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// token is one lexical token of a DDL statement.
type token struct {
	kind byte // 'w' word/identifier, 's' string literal, 'n' number, 'p' punctuation
	text string
}

// tokenize splits T-SQL into tokens, skipping comments; bracketed identifiers lose their
// brackets, N'..' strings their prefix and doubled quotes.
func tokenize(src string) ([]token, error) {
	var out []token
	r := []rune(src)
	for i := 0; i < len(r); {
		c := r[i]
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '-' && i+1 < len(r) && r[i+1] == '-':
			for i < len(r) && r[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(r) && r[i+1] == '*':
			end := strings.Index(string(r[i+2:]), "*/")
			if end < 0 {
				return nil, fmt.Errorf("Missing end comment mark '*/'.")
			}
			i += 2 + len([]rune(string(r[i+2:])[:end])) + 2
		case c == '[':
			var b strings.Builder
			i++
			for {
				if i >= len(r) {
					return nil, fmt.Errorf("Unclosed quotation mark after the character string '%s'.", b.String())
				}
				if r[i] == ']' {
					if i+1 < len(r) && r[i+1] == ']' {
						b.WriteRune(']')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteRune(r[i])
				i++
			}
			out = append(out, token{'w', b.String()})
		case c == '\'' || ((c == 'N' || c == 'n') && i+1 < len(r) && r[i+1] == '\''):
			if c != '\'' {
				i++
			}
			i++
			var b strings.Builder
			for {
				if i >= len(r) {
					return nil, fmt.Errorf("Unclosed quotation mark after the character string '%s'.", b.String())
				}
				if r[i] == '\'' {
					if i+1 < len(r) && r[i+1] == '\'' {
						b.WriteRune('\'')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteRune(r[i])
				i++
			}
			out = append(out, token{'s', b.String()})
		case unicode.IsDigit(c):
			j := i
			for j < len(r) && unicode.IsDigit(r[j]) {
				j++
			}
			out = append(out, token{'n', string(r[i:j])})
			i = j
		case unicode.IsLetter(c) || c == '_' || c == '@' || c == '#':
			j := i
			for j < len(r) && (unicode.IsLetter(r[j]) || unicode.IsDigit(r[j]) || r[j] == '_' || r[j] == '@' || r[j] == '#' || r[j] == '$') {
				j++
			}
			out = append(out, token{'w', string(r[i:j])})
			i = j
		default:
			out = append(out, token{'p', string(c)})
			i++
		}
	}
	return out, nil
}

// parser walks tokens.
type parser struct {
	toks []token
	pos  int
}

func (p *parser) peek() token {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return token{}
}

func (p *parser) next() token {
	t := p.peek()
	if p.pos < len(p.toks) {
		p.pos++
	}
	return t
}

func (p *parser) done() bool {
	for p.pos < len(p.toks) && p.toks[p.pos].kind == 'p' && p.toks[p.pos].text == ";" {
		p.pos++
	}
	return p.pos >= len(p.toks)
}

// accept consumes the keyword (case-insensitive) or punctuation if it is next.
func (p *parser) accept(word string) bool {
	t := p.peek()
	if (t.kind == 'w' || t.kind == 'p') && strings.EqualFold(t.text, word) {
		p.pos++
		return true
	}
	return false
}

func (p *parser) expect(words ...string) error {
	for _, w := range words {
		if !p.accept(w) {
			return syntaxError(p.peek())
		}
	}
	return nil
}

func (p *parser) ident() (string, error) {
	t := p.next()
	if t.kind != 'w' {
		return "", syntaxError(t)
	}
	return t.text, nil
}

func (p *parser) str() (string, error) {
	t := p.next()
	if t.kind != 's' {
		return "", syntaxError(t)
	}
	return t.text, nil
}

func (p *parser) num() (int, error) {
	t := p.next()
	if t.kind != 'n' {
		return 0, syntaxError(t)
	}
	return strconv.Atoi(t.text)
}

type syntaxErr struct{ near string }

func (e syntaxErr) Error() string { return fmt.Sprintf("Incorrect syntax near '%s'.", e.near) }

func syntaxError(t token) error {
	if t.text == "" {
		return syntaxErr{near: "end of statement"}
	}
	return syntaxErr{near: t.text}
}

// ddl is a parsed DDL statement.
type ddl struct {
	verb, object string // CREATE/DROP, CERTIFICATE/ENDPOINT/MASTER KEY
	name         string
	subject      string
	expiry       string
	password     string
	state        string
	port         int
	protocolFor  string // DATABASE_MIRRORING, TSQL
	role         string
	auth         string
	certName     string
	encryption   string
	algorithm    string
}

// parseDDL recognizes the statements milink sends: CREATE/DROP CERTIFICATE, CREATE/DROP
// ENDPOINT, CREATE MASTER KEY. ok is false when the text is not one of them.
func parseDDL(src string) (d ddl, ok bool, err error) {
	toks, err := tokenize(src)
	if err != nil {
		return d, true, err
	}
	p := &parser{toks: toks}
	if p.accept("USE") {
		if _, err := p.ident(); err != nil {
			return d, true, err
		}
		p.done()
	}
	switch {
	case p.accept("CREATE"):
		d.verb = "CREATE"
	case p.accept("DROP"):
		d.verb = "DROP"
	default:
		return d, false, nil
	}
	switch {
	case p.accept("CERTIFICATE"):
		d.object = "CERTIFICATE"
	case p.accept("ENDPOINT"):
		d.object = "ENDPOINT"
	case p.accept("MASTER"):
		if err := p.expect("KEY"); err != nil {
			return d, true, err
		}
		d.object = "MASTER KEY"
	default:
		return d, false, nil
	}
	if d.object != "MASTER KEY" {
		if d.name, err = p.ident(); err != nil {
			return d, true, err
		}
	}
	if d.verb == "DROP" {
		if !p.done() {
			return d, true, syntaxError(p.peek())
		}
		return d, true, nil
	}
	switch d.object {
	case "MASTER KEY":
		if err := p.expect("ENCRYPTION", "BY", "PASSWORD", "="); err != nil {
			return d, true, err
		}
		if d.password, err = p.str(); err != nil {
			return d, true, err
		}
	case "CERTIFICATE":
		if p.accept("ENCRYPTION") {
			if err := p.expect("BY", "PASSWORD", "="); err != nil {
				return d, true, err
			}
			if d.password, err = p.str(); err != nil {
				return d, true, err
			}
		}
		if err := p.expect("WITH"); err != nil {
			return d, true, err
		}
		for {
			switch {
			case p.accept("SUBJECT"):
				if err := p.expect("="); err != nil {
					return d, true, err
				}
				if d.subject, err = p.str(); err != nil {
					return d, true, err
				}
			case p.accept("EXPIRY_DATE"):
				if err := p.expect("="); err != nil {
					return d, true, err
				}
				if d.expiry, err = p.str(); err != nil {
					return d, true, err
				}
			case p.accept("START_DATE"):
				if err := p.expect("="); err != nil {
					return d, true, err
				}
				if _, err = p.str(); err != nil {
					return d, true, err
				}
			default:
				return d, true, syntaxError(p.peek())
			}
			if !p.accept(",") {
				break
			}
		}
		if d.subject == "" {
			return d, true, syntaxErr{near: d.name}
		}
	case "ENDPOINT":
		if err := parseEndpointBody(p, &d); err != nil {
			return d, true, err
		}
	}
	if !p.done() {
		return d, true, syntaxError(p.peek())
	}
	return d, true, nil
}

func parseEndpointBody(p *parser, d *ddl) error {
	var err error
	d.state = "STOPPED"
	if p.accept("STATE") {
		if err := p.expect("="); err != nil {
			return err
		}
		if d.state, err = p.ident(); err != nil {
			return err
		}
		d.state = strings.ToUpper(d.state)
	}
	if err := p.expect("AS", "TCP", "("); err != nil {
		return err
	}
	for !p.accept(")") {
		switch {
		case p.accept("LISTENER_PORT"):
			if err := p.expect("="); err != nil {
				return err
			}
			if d.port, err = p.num(); err != nil {
				return err
			}
		case p.accept("LISTENER_IP"):
			if err := p.expect("="); err != nil {
				return err
			}
			if !p.accept("ALL") {
				if p.accept("(") {
					for !p.accept(")") {
						if p.next().text == "" {
							return syntaxErr{near: "LISTENER_IP"}
						}
					}
				} else {
					return syntaxError(p.peek())
				}
			}
		default:
			return syntaxError(p.peek())
		}
		p.accept(",")
	}
	if err := p.expect("FOR"); err != nil {
		return err
	}
	if d.protocolFor, err = p.ident(); err != nil {
		return err
	}
	d.protocolFor = strings.ToUpper(d.protocolFor)
	if err := p.expect("("); err != nil {
		return err
	}
	for !p.accept(")") {
		switch {
		case p.accept("ROLE"):
			if err := p.expect("="); err != nil {
				return err
			}
			if d.role, err = p.ident(); err != nil {
				return err
			}
		case p.accept("AUTHENTICATION"):
			if err := p.expect("="); err != nil {
				return err
			}
			if p.accept("CERTIFICATE") {
				d.auth = "CERTIFICATE"
				if d.certName, err = p.ident(); err != nil {
					return err
				}
			} else {
				w, err := p.ident()
				if err != nil {
					return err
				}
				d.auth = strings.ToUpper(w)
			}
		case p.accept("ENCRYPTION"):
			if err := p.expect("="); err != nil {
				return err
			}
			w, err := p.ident()
			if err != nil {
				return err
			}
			d.encryption = strings.ToUpper(w)
			if p.accept("ALGORITHM") {
				if d.algorithm, err = p.ident(); err != nil {
					return err
				}
				d.algorithm = strings.ToUpper(d.algorithm)
			}
		default:
			return syntaxError(p.peek())
		}
		p.accept(",")
	}
	return nil
}
