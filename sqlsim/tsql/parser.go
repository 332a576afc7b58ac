package tsql

import (
	"fmt"
	"strconv"
	"strings"
)

// reserved are the T-SQL reserved keywords the parser must not take as an alias or a
// column name (https://learn.microsoft.com/sql/t-sql/language-elements/reserved-keywords-transact-sql),
// plus the statement words a batch without semicolons relies on to end a statement.
var reserved = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`ADD ALL ALTER AND ANY AS ASC BACKUP BEGIN BETWEEN BREAK BY CASE CHECK CLOSE
	COMMIT CONTINUE CONVERT CREATE CROSS CURRENT_TIMESTAMP CURSOR DBCC DEALLOCATE DECLARE DEFAULT DELETE DENY DESC DISTINCT
	DROP ELSE END ESCAPE EXCEPT EXEC EXECUTE EXISTS FETCH FOR FROM FULL GOTO GRANT GROUP HAVING IF IN INNER INSERT INTERSECT
	INTO IS JOIN LEFT LIKE NOT NULL OF OFF ON OPEN OPTION OR ORDER OUTER OVER PIVOT PRINT PROC PROCEDURE RAISERROR
	RECONFIGURE RETURN REVOKE RIGHT ROLLBACK SAVE SELECT SET TABLE THEN TO TOP TRAN TRANSACTION UNION UNIQUE UNPIVOT
	UPDATE USE VALUES WAITFOR WHEN WHERE WHILE WITH THROW`) {
		reserved[w] = true
	}
}

// Parse parses one batch (the text between GO separators) into statements.
func Parse(src string) (stmts []Stmt, err error) {
	err = parseWith(src, func(p *parser) {
		for {
			p.skipSemis()
			if p.peek().Kind == EOF {
				return
			}
			stmts = append(stmts, p.stmt(len(stmts) == 0))
		}
	})
	if err != nil {
		return nil, err
	}
	return stmts, nil
}

// parseWith lexes src and runs parse over its tokens, turning the parser's panics
// with *Error (how it reports syntax errors) into the returned error.
func parseWith(src string, parse func(*parser)) (err error) {
	toks, err := Lex(src)
	if err != nil {
		return err
	}
	p := &parser{toks: toks}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(*Error)
			if !ok {
				panic(r)
			}
			err = e
		}
	}()
	parse(p)
	return nil
}

// ParseExpr parses a single expression (used by tests and by the evaluator for
// defaults given as text).
func ParseExpr(src string) (x Expr, err error) {
	err = parseWith(src, func(p *parser) {
		x = p.expr()
		if p.peek().Kind != EOF {
			p.fail()
		}
	})
	if err != nil {
		return nil, err
	}
	return x, nil
}

type parser struct {
	toks  []Token
	pos   int
	depth int
}

func (p *parser) peek() Token { return p.toks[p.pos] }

func (p *parser) peekAt(n int) Token {
	if p.pos+n < len(p.toks) {
		return p.toks[p.pos+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() Token {
	t := p.toks[p.pos]
	if t.Kind != EOF {
		p.pos++
	}
	return t
}

// fail raises Msg 102 at the current token.
func (p *parser) fail() {
	t := p.peek()
	near := t.Text
	switch t.Kind {
	case EOF:
		panic(&Error{Number: 102, Msg: "Incorrect syntax near the end of the batch.", Line: t.Line})
	case String:
		near = t.Text
	}
	panic(&Error{Number: 102, Msg: fmt.Sprintf("Incorrect syntax near '%s'.", near), Line: t.Line})
}

// isWord reports whether the current token is the keyword w (case-insensitive).
func (p *parser) isWord(w string) bool {
	t := p.peek()
	return t.Kind == Word && strings.EqualFold(t.Text, w)
}

func (p *parser) isWordAt(n int, w string) bool {
	t := p.peekAt(n)
	return t.Kind == Word && strings.EqualFold(t.Text, w)
}

func (p *parser) isPunct(s string) bool {
	t := p.peek()
	return t.Kind == Punct && t.Text == s
}

func (p *parser) accept(w string) bool {
	if p.isWord(w) || p.isPunct(w) {
		p.pos++
		return true
	}
	return false
}

func (p *parser) expect(ws ...string) {
	for _, w := range ws {
		if !p.accept(w) {
			p.fail()
		}
	}
}

func (p *parser) skipSemis() {
	for p.isPunct(";") {
		p.pos++
	}
}

// ident reads an identifier: a word that is not reserved, or a quoted identifier.
func (p *parser) ident() string {
	t := p.peek()
	if t.Kind == QIdent || (t.Kind == Word && !reserved[strings.ToUpper(t.Text)]) {
		p.pos++
		return t.Text
	}
	p.fail()
	return ""
}

// anyWord reads a word or quoted identifier, reserved or not (option values).
func (p *parser) anyWord() string {
	t := p.peek()
	if t.Kind == QIdent || t.Kind == Word {
		p.pos++
		return t.Text
	}
	p.fail()
	return ""
}

func (p *parser) str() string {
	t := p.peek()
	if t.Kind != String {
		p.fail()
	}
	p.pos++
	return t.Text
}

func (p *parser) num() int {
	t := p.peek()
	if t.Kind != Number {
		p.fail()
	}
	p.pos++
	n, err := strconv.Atoi(t.Text)
	if err != nil {
		panic(&Error{Number: 102, Msg: fmt.Sprintf("Incorrect syntax near '%s'.", t.Text), Line: t.Line})
	}
	return n
}

// name reads a multi-part object name: [server.][db.][schema.]object, allowing empty
// parts (master..x).
func (p *parser) name() Name {
	var parts []string
	parts = append(parts, p.ident())
	for p.isPunct(".") {
		p.pos++
		if p.isPunct(".") {
			parts = append(parts, "")
			continue
		}
		parts = append(parts, p.ident())
	}
	var n Name
	switch len(parts) {
	case 1:
		n.Object = parts[0]
	case 2:
		n.Schema, n.Object = parts[0], parts[1]
	case 3:
		n.Database, n.Schema, n.Object = parts[0], parts[1], parts[2]
	case 4:
		n.Server, n.Database, n.Schema, n.Object = parts[0], parts[1], parts[2], parts[3]
	default:
		p.fail()
	}
	return n
}

func (p *parser) enter() {
	p.depth++
	if p.depth > 200 {
		panic(&Error{Number: 191, Msg: "Some part of your SQL statement is nested too deeply. Rewrite the query or break it up into smaller queries.", Line: p.peek().Line})
	}
}

func (p *parser) leave() { p.depth-- }

// ---- statements ----

func (p *parser) stmt(first bool) Stmt {
	p.enter()
	defer p.leave()
	t := p.peek()
	pos := Pos{Line: t.Line}
	if t.Kind == Punct && t.Text == "(" {
		return &SelectStmt{Pos: pos, Q: p.query()}
	}
	if t.Kind != Word && t.Kind != QIdent {
		p.fail()
	}
	kw := strings.ToUpper(t.Text)
	if t.Kind == QIdent {
		kw = ""
	}
	switch kw {
	case "SELECT":
		return &SelectStmt{Pos: pos, Q: p.query()}
	case "DECLARE":
		p.next()
		d := &Declare{Pos: pos}
		for {
			v := p.next()
			if v.Kind != Var {
				p.pos--
				p.fail()
			}
			p.accept("AS")
			vd := VarDecl{Name: v.Text[1:], Type: p.typ()}
			if p.accept("=") {
				vd.Init = p.expr()
			}
			d.Vars = append(d.Vars, vd)
			if !p.accept(",") {
				break
			}
		}
		return d
	case "SET":
		p.next()
		if v := p.peek(); v.Kind == Var {
			p.next()
			op := p.next()
			if op.Kind != Punct || (op.Text != "=" && op.Text != "+=" && op.Text != "-=" && op.Text != "*=" && op.Text != "/=") {
				p.pos--
				p.fail()
			}
			return &SetVar{Pos: pos, Name: v.Text[1:], Op: op.Text, X: p.expr()}
		}
		var words []string
		for {
			t := p.peek()
			if t.Kind == EOF || (t.Kind == Punct && t.Text == ";") {
				break
			}
			if len(words) >= 2 && t.Kind == Word && reserved[strings.ToUpper(t.Text)] && !strings.EqualFold(t.Text, "ON") && !strings.EqualFold(t.Text, "OFF") {
				break
			}
			if len(words) >= 2 && t.Line != p.toks[p.pos-1].Line {
				break
			}
			words = append(words, strings.ToUpper(p.next().Text))
		}
		if len(words) < 2 {
			p.fail()
		}
		return &SetOption{Pos: pos, Words: words}
	case "IF":
		p.next()
		s := &If{Pos: pos, Cond: p.expr()}
		p.skipSemis()
		s.Then = p.stmt(false)
		p.skipSemis()
		if p.accept("ELSE") {
			p.skipSemis()
			s.Else = p.stmt(false)
		}
		return s
	case "WHILE":
		p.next()
		s := &While{Pos: pos, Cond: p.expr()}
		p.skipSemis()
		s.Body = p.stmt(false)
		return s
	case "BEGIN":
		p.next()
		switch {
		case p.isWord("TRAN") || p.isWord("TRANSACTION") || p.isWord("DISTRIBUTED"):
			p.accept("DISTRIBUTED")
			p.next()
			p.optTranName()
			return &Tran{Pos: pos, Op: "BEGIN"}
		case p.isWord("TRY"):
			p.next()
			tc := &TryCatch{Pos: pos}
			tc.Try = p.stmtsUntil("END")
			p.expect("END", "TRY")
			p.skipSemis()
			p.expect("BEGIN", "CATCH")
			tc.Catch = p.stmtsUntil("END")
			p.expect("END", "CATCH")
			return tc
		}
		b := &Block{Pos: pos, Body: p.stmtsUntil("END")}
		p.expect("END")
		return b
	case "BREAK":
		p.next()
		return &Break{Pos: pos}
	case "CONTINUE":
		p.next()
		return &Continue{Pos: pos}
	case "RETURN":
		p.next()
		r := &Return{Pos: pos}
		if p.startsExpr() {
			r.X = p.expr()
		}
		return r
	case "WAITFOR":
		p.next()
		w := &WaitFor{Pos: pos}
		if p.accept("TIME") {
			w.Time = true
		} else {
			p.expect("DELAY")
		}
		w.Delay = p.primary()
		return w
	case "EXEC", "EXECUTE":
		p.next()
		return p.exec(pos)
	case "THROW":
		p.next()
		th := &Throw{Pos: pos}
		if t := p.peek(); t.Kind == Number || t.Kind == Var || (t.Kind == Punct && t.Text == "-") {
			th.Num = p.expr()
			p.expect(",")
			th.Msg = p.expr()
			p.expect(",")
			th.State = p.expr()
		}
		return th
	case "RAISERROR":
		p.next()
		p.expect("(")
		r := &Raiserror{Pos: pos, Msg: p.expr()}
		p.expect(",")
		r.Severity = p.expr()
		p.expect(",")
		r.State = p.expr()
		for p.accept(",") {
			r.Args = append(r.Args, p.expr())
		}
		p.expect(")")
		if p.accept("WITH") {
			for {
				r.With = append(r.With, strings.ToUpper(p.anyWord()))
				if !p.accept(",") {
					break
				}
			}
		}
		return r
	case "PRINT":
		p.next()
		return &Print{Pos: pos, X: p.expr()}
	case "USE":
		p.next()
		return &Use{Pos: pos, DB: p.ident()}
	case "COMMIT", "ROLLBACK", "SAVE":
		p.next()
		if !p.accept("TRAN") && !p.accept("TRANSACTION") {
			p.accept("WORK")
		}
		p.optTranName()
		return &Tran{Pos: pos, Op: kw}
	case "CREATE":
		p.next()
		return p.create(pos)
	case "ALTER":
		p.next()
		return p.alter(pos)
	case "DROP":
		p.next()
		return p.drop(pos)
	case "BACKUP":
		p.next()
		return p.backup(pos)
	case "GRANT", "DENY", "REVOKE":
		p.next()
		return p.grant(pos, kw)
	case "DBCC":
		p.next()
		d := &Dbcc{Pos: pos, Command: strings.ToUpper(p.anyWord())}
		if p.accept("(") {
			if !p.isPunct(")") {
				for {
					d.Args = append(d.Args, p.expr())
					if !p.accept(",") {
						break
					}
				}
			}
			p.expect(")")
		}
		if p.accept("WITH") {
			for {
				d.With = append(d.With, strings.ToUpper(p.anyWord()))
				if !p.accept(",") {
					break
				}
			}
		}
		return d
	case "RECONFIGURE":
		p.next()
		r := &Reconfigure{Pos: pos}
		if p.accept("WITH") {
			p.expect("OVERRIDE")
			r.Override = true
		}
		return r
	case "GO":
		p.fail()
	case "INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE", "WITH":
		// Data modification is not modelled: the statement (up to ';' or the end of the
		// batch) becomes Unsupported, which the evaluator reports.
		p.next()
		depth := 0
		for t := p.peek(); t.Kind != EOF && !(depth == 0 && t.Kind == Punct && t.Text == ";"); t = p.peek() {
			if t.Kind == Punct && t.Text == "(" {
				depth++
			} else if t.Kind == Punct && t.Text == ")" {
				depth--
			}
			p.next()
		}
		return &Unsupported{Pos: pos, Text: kw}
	}
	if first && !reserved[kw] {
		// The first statement of a batch may call a procedure without EXEC.
		return p.exec(pos)
	}
	p.fail()
	return nil
}

func (p *parser) optTranName() {
	if t := p.peek(); t.Kind == Var || t.Kind == QIdent || (t.Kind == Word && !reserved[strings.ToUpper(t.Text)]) {
		p.next()
	}
}

// stmtsUntil parses statements until the keyword end (not consumed).
func (p *parser) stmtsUntil(end string) []Stmt {
	var out []Stmt
	for {
		p.skipSemis()
		if p.isWord(end) {
			return out
		}
		if p.peek().Kind == EOF {
			p.fail()
		}
		out = append(out, p.stmt(false))
	}
}

func (p *parser) startsExpr() bool {
	t := p.peek()
	switch t.Kind {
	case Number, String, Var, SysVar, Hex:
		return true
	case Punct:
		return t.Text == "(" || t.Text == "-" || t.Text == "+"
	case Word:
		return strings.EqualFold(t.Text, "NULL")
	}
	return false
}

func (p *parser) exec(pos Pos) Stmt {
	e := &Exec{Pos: pos}
	if p.isPunct("(") {
		p.next()
		e.Dynamic = p.expr()
		p.expect(")")
		return e
	}
	if t := p.peek(); t.Kind == Var {
		p.next()
		if p.accept("=") {
			e.Ret = t.Text[1:]
		} else {
			e.ProcVar = t.Text[1:]
			p.execArgs(e)
			return e
		}
	}
	if t := p.peek(); t.Kind == Var {
		p.next()
		e.ProcVar = t.Text[1:]
	} else {
		e.Proc = p.name()
	}
	p.execArgs(e)
	return e
}

func (p *parser) execArgs(e *Exec) {
	t := p.peek()
	if t.Kind == EOF || (t.Kind == Punct && t.Text == ";") || (t.Kind == Word && reserved[strings.ToUpper(t.Text)] && !strings.EqualFold(t.Text, "DEFAULT") && !strings.EqualFold(t.Text, "NULL")) {
		return
	}
	for {
		var a ExecArg
		if v := p.peek(); v.Kind == Var && p.peekAt(1).Kind == Punct && p.peekAt(1).Text == "=" {
			p.pos += 2
			a.Name = v.Text[1:]
		}
		switch t := p.peek(); {
		case p.isWord("DEFAULT"):
			p.next()
			a.Default = true
		case t.Kind == Word && !strings.EqualFold(t.Text, "NULL") && !reserved[strings.ToUpper(t.Text)]:
			// An unquoted word is a character string: EXEC sp_x abc.
			p.next()
			a.X = &Literal{Value: t.Text}
		case t.Kind == QIdent:
			p.next()
			a.X = &Literal{Value: t.Text}
		default:
			a.X = p.expr()
		}
		if p.accept("OUTPUT") || p.accept("OUT") {
			a.Output = true
		}
		e.Args = append(e.Args, a)
		if !p.accept(",") {
			return
		}
	}
}

func (p *parser) typ() Type {
	t := Type{Name: strings.ToLower(p.anyWord())}
	if t.Name == "double" && p.isWord("PRECISION") {
		p.next()
		t.Name = "float"
	}
	if p.accept("(") {
		if p.accept("MAX") {
			t.Len = -1
		} else {
			t.Len = p.num()
			if p.accept(",") {
				t.Scale = p.num()
			}
		}
		p.expect(")")
	}
	return t
}

// optWith reads "WITH a, b = c, …" options into upper-case words.
func (p *parser) withOptions() []string {
	var out []string
	for {
		w := strings.ToUpper(p.anyWord())
		if p.accept("=") {
			v := p.next()
			w += "=" + v.Text
		}
		out = append(out, w)
		if !p.accept(",") {
			return out
		}
	}
}

func (p *parser) create(pos Pos) Stmt {
	orAlter := false
	if p.accept("OR") {
		p.expect("ALTER")
		orAlter = true
	}
	switch {
	case p.accept("PROC") || p.accept("PROCEDURE"):
		return p.procBody(pos, orAlter, false)
	case p.accept("DATABASE"):
		if strings.EqualFold(p.peek().Text, "ENCRYPTION") && strings.EqualFold(p.peekAt(1).Text, "KEY") {
			p.expect("ENCRYPTION", "KEY", "WITH", "ALGORITHM", "=")
			k := &CreateDatabaseKey{Pos: pos, Algorithm: strings.ToUpper(p.anyWord())}
			p.expect("ENCRYPTION", "BY", "SERVER", "CERTIFICATE")
			k.Certificate = p.ident()
			return k
		}
		d := &CreateDatabase{Pos: pos, Name: p.ident()}
		p.skipClauseWords()
		return d
	case p.accept("ENDPOINT"):
		e := &Endpoint{Pos: pos, Name: p.ident()}
		p.endpointBody(e)
		return e
	case p.accept("CERTIFICATE"):
		c := &CreateCertificate{Pos: pos, Name: p.ident()}
		if p.accept("AUTHORIZATION") {
			p.ident()
		}
		if p.accept("ENCRYPTION") {
			p.expect("BY", "PASSWORD", "=")
			c.Password = p.str()
		}
		p.expect("WITH")
		for {
			switch {
			case p.accept("SUBJECT"):
				p.expect("=")
				c.Subject = p.str()
			case p.accept("START_DATE"):
				p.expect("=")
				c.StartDate = p.str()
			case p.accept("EXPIRY_DATE"):
				p.expect("=")
				c.ExpiryDate = p.str()
			default:
				p.fail()
			}
			if !p.accept(",") {
				break
			}
		}
		return c
	case p.accept("MASTER"):
		p.expect("KEY")
		k := &CreateMasterKey{Pos: pos}
		if p.accept("ENCRYPTION") {
			p.expect("BY", "PASSWORD", "=")
			k.Password = p.str()
		}
		return k
	case p.accept("LOGIN"):
		l := &CreateLogin{Pos: pos, Name: p.ident()}
		if p.accept("FROM") {
			l.Windows = p.accept("WINDOWS")
			p.skipClauseWords()
			return l
		}
		p.expect("WITH", "PASSWORD", "=")
		l.Password = p.str()
		for p.accept(",") {
			p.anyWord()
			p.expect("=")
			p.next()
		}
		return l
	case p.accept("USER"):
		u := &CreateUser{Pos: pos, Name: p.ident()}
		switch {
		case p.accept("FOR") || p.accept("FROM"):
			p.expect("LOGIN")
			u.Login = p.ident()
		case p.accept("WITHOUT"):
			p.expect("LOGIN")
		default:
			u.Login = u.Name
		}
		return u
	}
	return p.unsupported(pos, "CREATE")
}

// skipClauseWords skips the rest of a statement whose options the simulator ignores,
// up to ';' or a line break before a reserved word.
func (p *parser) skipClauseWords() {
	depth := 0
	for {
		t := p.peek()
		if t.Kind == EOF || (depth == 0 && t.Kind == Punct && t.Text == ";") {
			return
		}
		if depth == 0 && t.Kind == Word && reserved[strings.ToUpper(t.Text)] && !strings.EqualFold(t.Text, "ON") &&
			!strings.EqualFold(t.Text, "WITH") && !strings.EqualFold(t.Text, "FROM") && !strings.EqualFold(t.Text, "TO") &&
			!strings.EqualFold(t.Text, "FOR") && !strings.EqualFold(t.Text, "OFF") && !strings.EqualFold(t.Text, "SET") &&
			!strings.EqualFold(t.Text, "ADD") && !strings.EqualFold(t.Text, "DEFAULT") {
			return
		}
		if t.Kind == Punct && t.Text == "(" {
			depth++
		}
		if t.Kind == Punct && t.Text == ")" {
			depth--
		}
		p.next()
	}
}

func (p *parser) unsupported(pos Pos, verb string) Stmt {
	t := p.peek()
	if t.Kind != Word {
		p.fail()
	}
	p.next()
	u := &Unsupported{Pos: pos, Text: verb + " " + strings.ToUpper(t.Text)}
	p.skipClauseWords()
	return u
}

func (p *parser) procBody(pos Pos, orAlter, alter bool) Stmt {
	c := &CreateProc{Pos: pos, Name: p.name(), OrAlter: orAlter, Alter: alter}
	paren := p.accept("(")
	for p.peek().Kind == Var {
		v := p.next()
		p.accept("AS")
		pp := ProcParam{Name: v.Text[1:], Type: p.typ()}
		if p.accept("=") {
			pp.Default = p.primary()
		}
		if p.accept("OUTPUT") || p.accept("OUT") {
			pp.Output = true
		}
		p.accept("READONLY")
		c.Params = append(c.Params, pp)
		if !p.accept(",") {
			break
		}
	}
	if paren {
		p.expect(")")
	}
	if p.accept("WITH") {
		p.withOptions()
	}
	p.expect("AS")
	for {
		p.skipSemis()
		if p.peek().Kind == EOF {
			return c
		}
		c.Body = append(c.Body, p.stmt(false))
	}
}

func (p *parser) endpointBody(e *Endpoint) {
	if p.accept("AUTHORIZATION") {
		p.ident()
	}
	if p.accept("STATE") {
		p.expect("=")
		e.State = strings.ToUpper(p.anyWord())
	}
	if p.accept("AS") {
		e.HasAsClause = true
		p.expect("TCP", "(")
		for !p.accept(")") {
			switch {
			case p.accept("LISTENER_PORT"):
				p.expect("=")
				e.Port = p.num()
			case p.accept("LISTENER_IP"):
				p.expect("=")
				if !p.accept("ALL") {
					p.expect("(")
					for !p.accept(")") {
						if p.next().Kind == EOF {
							p.fail()
						}
					}
				}
			default:
				p.fail()
			}
			if !p.accept(",") && !p.isPunct(")") {
				p.fail()
			}
		}
	}
	if !p.accept("FOR") {
		return
	}
	e.Protocol = strings.ToUpper(p.anyWord())
	p.expect("(")
	for !p.accept(")") {
		switch {
		case p.accept("ROLE"):
			p.expect("=")
			e.Role = strings.ToUpper(p.anyWord())
		case p.accept("AUTHENTICATION"):
			p.expect("=")
			w := strings.ToUpper(p.anyWord())
			e.Auth = w
			if w == "CERTIFICATE" {
				e.CertName = p.ident()
			} else if t := p.peek(); t.Kind == Word && !strings.EqualFold(t.Text, "ENCRYPTION") && !strings.EqualFold(t.Text, "ROLE") {
				e.Auth += " " + strings.ToUpper(p.next().Text)
			}
		case p.accept("ENCRYPTION"):
			p.expect("=")
			e.Encryption = strings.ToUpper(p.anyWord())
			if p.accept("ALGORITHM") {
				e.Algorithm = strings.ToUpper(p.anyWord())
				if t := p.peek(); t.Kind == Word && (strings.EqualFold(t.Text, "AES") || strings.EqualFold(t.Text, "RC4")) {
					e.Algorithm += " " + strings.ToUpper(p.next().Text)
				}
			}
		default:
			p.anyWord()
			p.expect("=")
			p.next()
		}
		if !p.accept(",") && !p.isPunct(")") {
			p.fail()
		}
	}
}

// alterDatabaseAdd parses the rest of ALTER DATABASE name ADD FILEGROUP fg [CONTAINS
// FILESTREAM | MEMORY_OPTIMIZED_DATA] and ADD FILE <filespec> [,…] [TO FILEGROUP fg]
// (alter-database-transact-sql-file-and-filegroup-options). ADD LOG FILE and other
// options leave Option "?".
func (p *parser) alterDatabaseAdd(a *AlterDatabase) Stmt {
	switch {
	case p.accept("FILEGROUP"):
		a.Option, a.Filegroup = "ADD FILEGROUP", p.ident()
		if p.accept("CONTAINS") {
			a.Contains = strings.ToUpper(p.anyWord())
		}
		return a
	case p.accept("FILE"):
		a.Option = "ADD FILE"
		for {
			p.expect("(")
			var f FileSpec
			for !p.accept(")") {
				w := strings.ToUpper(p.anyWord())
				p.expect("=")
				switch w {
				case "NAME":
					if p.peek().Kind == String {
						f.Name = p.str()
					} else {
						f.Name = p.ident()
					}
				case "FILENAME":
					f.FileName = p.str()
				default:
					p.next() // SIZE = 8MB, MAXSIZE = UNLIMITED, FILEGROWTH = 10%: sizes are not modelled
					for t := p.peek(); t.Kind != EOF && !p.isPunct(",") && !p.isPunct(")"); t = p.peek() {
						p.next()
					}
				}
				if !p.accept(",") && !p.isPunct(")") {
					p.fail()
				}
			}
			a.Files = append(a.Files, f)
			if !p.accept(",") {
				break
			}
		}
		if p.accept("TO") {
			p.expect("FILEGROUP")
			a.Filegroup = p.ident()
		}
		return a
	}
	p.skipClauseWords()
	a.Option = "?"
	return a
}

func (p *parser) alter(pos Pos) Stmt {
	switch {
	case p.accept("PROC") || p.accept("PROCEDURE"):
		return p.procBody(pos, false, true)
	case p.accept("ENDPOINT"):
		e := &Endpoint{Pos: pos, Alter: true, Name: p.ident()}
		p.endpointBody(e)
		return e
	case p.accept("DATABASE"):
		a := &AlterDatabase{Pos: pos, Name: p.ident()}
		if p.accept("SET") {
			a.Option = strings.ToUpper(p.anyWord())
			if p.accept("=") {
				a.Value = strings.ToUpper(p.next().Text)
			} else if t := p.peek(); t.Kind == Word || t.Kind == Number {
				a.Value = strings.ToUpper(p.next().Text)
			}
			if p.accept("WITH") {
				p.withOptions()
			}
			return a
		}
		if p.accept("ADD") {
			return p.alterDatabaseAdd(a)
		}
		p.skipClauseWords()
		a.Option = "?"
		return a
	case p.accept("SERVER"):
		p.expect("ROLE")
		return p.alterRole(pos, true)
	case p.accept("ROLE"):
		return p.alterRole(pos, false)
	}
	return p.unsupported(pos, "ALTER")
}

func (p *parser) alterRole(pos Pos, server bool) Stmt {
	a := &AlterRole{Pos: pos, Server: server, Role: p.ident()}
	switch {
	case p.accept("ADD"):
		a.Add = true
	case p.accept("DROP"):
	default:
		p.fail()
	}
	p.expect("MEMBER")
	a.Member = p.ident()
	return a
}

func (p *parser) drop(pos Pos) Stmt {
	d := &Drop{Pos: pos}
	switch {
	case p.accept("PROC") || p.accept("PROCEDURE"):
		d.Kind = "PROCEDURE"
	case p.accept("MASTER"):
		p.expect("KEY")
		d.Kind = "MASTER KEY"
		return d
	default:
		w := strings.ToUpper(p.anyWord())
		switch w {
		case "DATABASE", "ENDPOINT", "CERTIFICATE", "LOGIN", "USER", "TABLE", "VIEW", "FUNCTION":
			d.Kind = w
		default:
			p.pos--
			p.fail()
		}
	}
	if p.accept("IF") {
		p.expect("EXISTS")
		d.IfExists = true
	}
	d.Name = p.name()
	return d
}

func (p *parser) backup(pos Pos) Stmt {
	b := &Backup{Pos: pos}
	switch {
	case p.accept("DATABASE"):
	case p.accept("LOG"):
		b.Log = true
	default:
		p.fail()
	}
	if p.peek().Kind == Var {
		b.DBVar = p.primary()
	} else {
		b.DB = p.ident()
	}
	p.expect("TO")
	switch {
	case p.accept("DISK"):
	case p.accept("URL"):
		b.URL = true
	default:
		p.fail()
	}
	p.expect("=")
	b.Disk = p.primary()
	for p.accept(",") {
		p.anyWord()
		p.expect("=")
		p.primary()
	}
	if p.accept("WITH") {
		b.With = p.withOptions()
		for _, w := range b.With {
			if w == "COPY_ONLY" {
				b.CopyOnly = true
			}
		}
	}
	return b
}

func (p *parser) grant(pos Pos, verb string) Stmt {
	g := &Grant{Pos: pos, Verb: verb}
	var words []string
	for !p.isWord("ON") && !p.isWord("TO") && !p.isWord("FROM") {
		t := p.peek()
		if t.Kind != Word {
			p.fail()
		}
		words = append(words, strings.ToUpper(p.next().Text))
	}
	if len(words) == 0 {
		p.fail()
	}
	g.Permission = strings.Join(words, " ")
	if p.accept("ON") {
		if p.peekAt(1).Kind == Punct && p.peekAt(1).Text == "::" {
			g.OnClass = strings.ToUpper(p.anyWord())
			p.next()
		}
		g.On = p.name()
	}
	if !p.accept("TO") && !p.accept("FROM") {
		p.fail()
	}
	for {
		g.To = append(g.To, p.ident())
		if !p.accept(",") {
			break
		}
	}
	if p.accept("WITH") {
		p.withOptions()
	}
	if p.accept("CASCADE") || p.accept("AS") {
		if !p.isPunct(";") && p.peek().Kind != EOF {
			p.ident()
		}
	}
	return g
}
