// Package tsql is sqlsim's Transact-SQL front end: a lexer, a recursive-descent parser
// and the syntax tree for the subset of T-SQL that milink and the scripts of
// Microsoft's "Prepare your environment for a link" page use (SELECT with joins,
// subqueries and UNION, batches with variables and control flow, EXEC, and the DDL and
// server commands a DBA uses to set up a link).
//
// The grammar follows the Transact-SQL reference
// (https://learn.microsoft.com/sql/t-sql/language-reference). Syntax errors are
// reported as SQL Server reports them: Msg 102 "Incorrect syntax near '…'." (or
// Msg 105 for an unclosed quotation mark), with the line number of the token.
package tsql

import (
	"fmt"
	"strings"
	"unicode"
)

// Kind is the lexical class of a Token.
type Kind int

// Token kinds.
const (
	EOF    Kind = iota
	Word        // an unquoted identifier or keyword
	QIdent      // a [bracketed] or "double-quoted" identifier (quotes removed)
	String      // a 'string' or N'string' literal (quotes removed, '' undoubled)
	Number      // an integer or decimal literal
	Hex         // a 0x… literal (text keeps the 0x)
	Var         // @name (text keeps the @)
	SysVar      // @@name (text keeps the @@)
	Punct       // an operator or punctuation: ( ) , . ; = <> != < > <= >= + - * / % ::
)

// Token is one lexical token.
type Token struct {
	Kind Kind
	Text string
	Line int  // 1-based line of the token's first character
	N    bool // String: an N'…' (Unicode) literal
}

// Error is a syntax error in SQL Server's terms: Number 102 (incorrect syntax), 105
// (unclosed quotation mark) or 113 (missing end comment mark), Msg the message text
// and Line the 1-based line of the batch it refers to.
type Error struct {
	Number int32
	Msg    string
	Line   int
}

// Error returns the message text.
func (e *Error) Error() string { return e.Msg }

// Lex splits a batch into tokens, dropping white space and comments (-- to end of
// line and nested /* … */ blocks, as SQL Server nests them).
func Lex(src string) ([]Token, error) {
	var out []Token
	r := []rune(src)
	line := 1
	for i := 0; i < len(r); {
		c := r[i]
		switch {
		case c == '\n':
			line++
			i++
		case unicode.IsSpace(c):
			i++
		case c == '-' && i+1 < len(r) && r[i+1] == '-':
			for i < len(r) && r[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(r) && r[i+1] == '*':
			depth := 0
			for {
				if i+1 >= len(r) {
					return nil, &Error{Number: 113, Msg: "Missing end comment mark '*/'.", Line: line}
				}
				if r[i] == '/' && r[i+1] == '*' {
					depth++
					i += 2
					continue
				}
				if r[i] == '*' && r[i+1] == '/' {
					depth--
					i += 2
					if depth == 0 {
						break
					}
					continue
				}
				if r[i] == '\n' {
					line++
				}
				i++
			}
		case c == '[':
			start := line
			s, n, nl, ok := quoted(r[i+1:], ']')
			if !ok {
				return nil, &Error{Number: 105, Msg: fmt.Sprintf("Unclosed quotation mark after the character string '%s'.", s), Line: start}
			}
			out = append(out, Token{Kind: QIdent, Text: s, Line: start})
			line += nl
			i += 1 + n
		case c == '"':
			start := line
			s, n, nl, ok := quoted(r[i+1:], '"')
			if !ok {
				return nil, &Error{Number: 105, Msg: fmt.Sprintf("Unclosed quotation mark after the character string '%s'.", s), Line: start}
			}
			out = append(out, Token{Kind: QIdent, Text: s, Line: start})
			line += nl
			i += 1 + n
		case c == '\'' || ((c == 'N' || c == 'n') && i+1 < len(r) && r[i+1] == '\''):
			isN := c != '\''
			if isN {
				i++
			}
			start := line
			s, n, nl, ok := quoted(r[i+1:], '\'')
			if !ok {
				return nil, &Error{Number: 105, Msg: fmt.Sprintf("Unclosed quotation mark after the character string '%s'.", s), Line: start}
			}
			out = append(out, Token{Kind: String, Text: s, Line: start, N: isN})
			line += nl
			i += 1 + n
		case c == '0' && i+1 < len(r) && (r[i+1] == 'x' || r[i+1] == 'X'):
			j := i + 2
			for j < len(r) && isHex(r[j]) {
				j++
			}
			out = append(out, Token{Kind: Hex, Text: string(r[i:j]), Line: line})
			i = j
		case unicode.IsDigit(c) || (c == '.' && i+1 < len(r) && unicode.IsDigit(r[i+1])):
			j := i
			for j < len(r) && (unicode.IsDigit(r[j]) || r[j] == '.') {
				j++
			}
			if j < len(r) && (r[j] == 'e' || r[j] == 'E') {
				k := j + 1
				if k < len(r) && (r[k] == '+' || r[k] == '-') {
					k++
				}
				if k < len(r) && unicode.IsDigit(r[k]) {
					for k < len(r) && unicode.IsDigit(r[k]) {
						k++
					}
					j = k
				}
			}
			out = append(out, Token{Kind: Number, Text: string(r[i:j]), Line: line})
			i = j
		case c == '@':
			j := i + 1
			kind := Var
			if j < len(r) && r[j] == '@' {
				kind = SysVar
				j++
			}
			for j < len(r) && isIdentRune(r[j]) {
				j++
			}
			out = append(out, Token{Kind: kind, Text: string(r[i:j]), Line: line})
			i = j
		case unicode.IsLetter(c) || c == '_' || c == '#':
			j := i
			for j < len(r) && isIdentRune(r[j]) {
				j++
			}
			out = append(out, Token{Kind: Word, Text: string(r[i:j]), Line: line})
			i = j
		default:
			t := string(c)
			if i+1 < len(r) {
				two := string(r[i : i+2])
				switch two {
				case "<>", "!=", "<=", ">=", "!<", "!>", "::", "+=", "-=", "*=", "/=":
					t = two
				}
			}
			out = append(out, Token{Kind: Punct, Text: t, Line: line})
			i += len([]rune(t))
		}
	}
	out = append(out, Token{Kind: EOF, Line: line})
	return out, nil
}

func isHex(r rune) bool {
	return unicode.IsDigit(r) || (r >= 'a' && r <= 'f') || (r >= 'A' && r <= 'F')
}

func isIdentRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '@' || r == '#' || r == '$'
}

// quoted reads up to the closing quote q (a doubled q is one literal q); it returns the
// text, the runes consumed including the closing quote, the newlines seen, and ok.
func quoted(r []rune, q rune) (string, int, int, bool) {
	var b strings.Builder
	nl := 0
	for i := 0; i < len(r); i++ {
		if r[i] == q {
			if i+1 < len(r) && r[i+1] == q {
				b.WriteRune(q)
				i++
				continue
			}
			return b.String(), i + 1, nl, true
		}
		if r[i] == '\n' {
			nl++
		}
		b.WriteRune(r[i])
	}
	return b.String(), len(r), nl, false
}
