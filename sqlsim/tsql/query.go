package tsql

import (
	"strconv"
	"strings"
)

// query parses a SELECT, a parenthesised query, and UNION [ALL] chains with a final
// ORDER BY.
func (p *parser) query() Query {
	p.enter()
	defer p.leave()
	q := p.queryTerm()
	for p.isWord("UNION") {
		p.next()
		all := p.accept("ALL")
		r := p.queryTerm()
		q = &Union{Left: q, Right: r, All: all}
	}
	if p.isWord("ORDER") {
		ob := p.orderBy()
		switch x := q.(type) {
		case *Union:
			x.OrderBy = ob
		case *Select:
			if x.OrderBy != nil {
				p.fail()
			}
			x.OrderBy = ob
		}
	}
	return q
}

func (p *parser) queryTerm() Query {
	if p.accept("(") {
		q := p.query()
		p.expect(")")
		return q
	}
	return p.selectCore()
}

func (p *parser) orderBy() []OrderItem {
	p.expect("ORDER", "BY")
	var out []OrderItem
	for {
		it := OrderItem{X: p.expr()}
		if p.accept("DESC") {
			it.Desc = true
		} else {
			p.accept("ASC")
		}
		out = append(out, it)
		if !p.accept(",") {
			return out
		}
	}
}

func (p *parser) selectCore() *Select {
	p.expect("SELECT")
	s := &Select{}
	if p.accept("DISTINCT") {
		s.Distinct = true
	} else {
		p.accept("ALL")
	}
	if p.accept("TOP") {
		if p.accept("(") {
			s.Top = p.expr()
			p.expect(")")
		} else {
			s.Top = p.primary()
		}
		p.accept("PERCENT")
		if p.accept("WITH") {
			p.expect("TIES")
		}
	}
	for {
		s.Items = append(s.Items, p.selectItem())
		if !p.accept(",") {
			break
		}
	}
	if p.isWord("INTO") {
		p.fail()
	}
	if p.accept("FROM") {
		for {
			s.From = append(s.From, p.tableRef())
			if !p.accept(",") {
				break
			}
		}
	}
	if p.accept("WHERE") {
		s.Where = p.expr()
	}
	if p.isWord("GROUP") {
		p.expect("GROUP", "BY")
		for {
			s.GroupBy = append(s.GroupBy, p.expr())
			if !p.accept(",") {
				break
			}
		}
	}
	if p.accept("HAVING") {
		s.Having = p.expr()
	}
	return s
}

func (p *parser) selectItem() SelectItem {
	t := p.peek()
	// *
	if t.Kind == Punct && t.Text == "*" {
		p.next()
		return SelectItem{Star: true}
	}
	// alias.*
	if (t.Kind == Word || t.Kind == QIdent) && p.peekAt(1).Kind == Punct && p.peekAt(1).Text == "." && p.peekAt(2).Kind == Punct && p.peekAt(2).Text == "*" {
		p.pos += 3
		return SelectItem{Star: true, Qualifier: t.Text}
	}
	// @v = expr
	if t.Kind == Var && p.peekAt(1).Kind == Punct && p.peekAt(1).Text == "=" {
		p.pos += 2
		return SelectItem{Var: t.Text[1:], X: p.expr()}
	}
	// alias = expr
	if (t.Kind == QIdent || t.Kind == String || (t.Kind == Word && !reserved[strings.ToUpper(t.Text)])) &&
		p.peekAt(1).Kind == Punct && p.peekAt(1).Text == "=" {
		p.pos += 2
		return SelectItem{Alias: t.Text, X: p.expr()}
	}
	it := SelectItem{X: p.expr()}
	if p.accept("AS") {
		a := p.peek()
		if a.Kind != String && a.Kind != QIdent && a.Kind != Word {
			p.fail()
		}
		p.next()
		it.Alias = a.Text
	} else if a := p.peek(); a.Kind == String || a.Kind == QIdent || (a.Kind == Word && !reserved[strings.ToUpper(a.Text)]) {
		p.next()
		it.Alias = a.Text
	}
	return it
}

func (p *parser) tableRef() TableRef {
	p.enter()
	defer p.leave()
	left := p.tablePrimary()
	for {
		kind := ""
		switch {
		case p.isWord("JOIN"):
			kind = "INNER"
		case p.isWord("INNER") && p.isWordAt(1, "JOIN"):
			p.next()
			kind = "INNER"
		case p.isWord("CROSS") && p.isWordAt(1, "JOIN"):
			p.next()
			kind = "CROSS"
		case (p.isWord("LEFT") || p.isWord("RIGHT") || p.isWord("FULL")):
			kind = strings.ToUpper(p.next().Text)
			p.accept("OUTER")
			if !p.isWord("JOIN") {
				p.fail()
			}
		default:
			return left
		}
		p.expect("JOIN")
		j := &Join{Left: left, Kind: kind, Right: p.tablePrimary()}
		if kind != "CROSS" {
			p.expect("ON")
			j.On = p.expr()
		}
		left = j
	}
}

func (p *parser) tablePrimary() TableRef {
	if p.isPunct("(") {
		if p.isWordAt(1, "SELECT") || (p.peekAt(1).Kind == Punct && p.peekAt(1).Text == "(") {
			p.next()
			q := p.query()
			p.expect(")")
			d := &Derived{Q: q}
			d.Alias = p.alias(true)
			return d
		}
		p.next()
		t := p.tableRef()
		p.expect(")")
		return t
	}
	tn := &TableName{Name: p.name()}
	if p.accept("(") {
		tn.Args = []Expr{}
		if !p.isPunct(")") {
			for {
				tn.Args = append(tn.Args, p.expr())
				if !p.accept(",") {
					break
				}
			}
		}
		p.expect(")")
	}
	tn.Alias = p.alias(false)
	if p.accept("WITH") {
		p.expect("(")
		for !p.accept(")") {
			if p.next().Kind == EOF {
				p.fail()
			}
		}
	}
	return tn
}

func (p *parser) alias(required bool) string {
	if p.accept("AS") {
		return p.ident()
	}
	t := p.peek()
	if t.Kind == QIdent || (t.Kind == Word && !reserved[strings.ToUpper(t.Text)]) {
		p.next()
		return t.Text
	}
	if required {
		p.fail()
	}
	return ""
}

// ---- expressions, lowest precedence first ----

func (p *parser) expr() Expr {
	p.enter()
	defer p.leave()
	x := p.andExpr()
	for p.accept("OR") {
		x = &Binary{Op: "OR", L: x, R: p.andExpr()}
	}
	return x
}

func (p *parser) andExpr() Expr {
	x := p.notExpr()
	for p.accept("AND") {
		x = &Binary{Op: "AND", L: x, R: p.notExpr()}
	}
	return x
}

func (p *parser) notExpr() Expr {
	if p.accept("NOT") {
		p.enter()
		defer p.leave()
		return &Unary{Op: "NOT", X: p.notExpr()}
	}
	return p.predicate()
}

func (p *parser) predicate() Expr {
	if p.isWord("EXISTS") {
		p.next()
		p.expect("(")
		q := p.query()
		p.expect(")")
		return &Exists{Q: q}
	}
	x := p.additive()
	for {
		not := false
		if p.isWord("NOT") && (p.isWordAt(1, "LIKE") || p.isWordAt(1, "IN") || p.isWordAt(1, "BETWEEN")) {
			p.next()
			not = true
		}
		switch {
		case p.accept("LIKE"):
			l := &Like{X: x, Pattern: p.additive(), Not: not}
			if p.accept("ESCAPE") {
				l.Escape = p.additive()
			}
			x = l
		case p.accept("IN"):
			in := &In{X: x, Not: not}
			p.expect("(")
			if p.isWord("SELECT") {
				in.Q = p.query()
			} else {
				for {
					in.List = append(in.List, p.expr())
					if !p.accept(",") {
						break
					}
				}
			}
			p.expect(")")
			x = in
		case p.accept("BETWEEN"):
			lo := p.additive()
			p.expect("AND")
			x = &Between{X: x, Lo: lo, Hi: p.additive(), Not: not}
		case p.isWord("IS"):
			p.next()
			n := p.accept("NOT")
			p.expect("NULL")
			x = &IsNull{X: x, Not: n}
		default:
			if not {
				p.fail()
			}
			t := p.peek()
			if t.Kind == Punct {
				switch t.Text {
				case "=", "<>", "!=", "<", ">", "<=", ">=", "!<", "!>":
					p.next()
					op := t.Text
					switch op {
					case "!=":
						op = "<>"
					case "!<":
						op = ">="
					case "!>":
						op = "<="
					}
					x = &Binary{Op: op, L: x, R: p.additive()}
					continue
				}
			}
			return x
		}
	}
}

func (p *parser) additive() Expr {
	x := p.multiplicative()
	for {
		t := p.peek()
		if t.Kind == Punct && (t.Text == "+" || t.Text == "-" || t.Text == "&" || t.Text == "|" || t.Text == "^") {
			p.next()
			x = &Binary{Op: t.Text, L: x, R: p.multiplicative()}
			continue
		}
		return x
	}
}

func (p *parser) multiplicative() Expr {
	x := p.unary()
	for {
		t := p.peek()
		if t.Kind == Punct && (t.Text == "*" || t.Text == "/" || t.Text == "%") {
			p.next()
			x = &Binary{Op: t.Text, L: x, R: p.unary()}
			continue
		}
		return x
	}
}

func (p *parser) unary() Expr {
	t := p.peek()
	if t.Kind == Punct && (t.Text == "-" || t.Text == "+" || t.Text == "~") {
		p.next()
		p.enter()
		defer p.leave()
		x := p.unary()
		if l, ok := x.(*Literal); ok && t.Text == "-" {
			switch v := l.Value.(type) {
			case int64:
				return &Literal{Value: -v}
			case float64:
				return &Literal{Value: -v, Decimal: l.Decimal}
			}
		}
		return &Unary{Op: t.Text, X: x}
	}
	return p.primary()
}

func (p *parser) primary() Expr {
	p.enter()
	defer p.leave()
	t := p.next()
	switch t.Kind {
	case Number:
		if !strings.ContainsAny(t.Text, ".eE") {
			if n, err := strconv.ParseInt(t.Text, 10, 64); err == nil {
				return &Literal{Value: n}
			}
		}
		f, err := strconv.ParseFloat(t.Text, 64)
		if err != nil {
			p.pos--
			p.fail()
		}
		return &Literal{Value: f, Decimal: true}
	case String:
		return &Literal{Value: t.Text, Unicode: t.N}
	case Hex:
		h := t.Text[2:]
		if len(h)%2 == 1 {
			h = "0" + h
		}
		b := make([]byte, len(h)/2)
		for i := range b {
			v, _ := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
			b[i] = byte(v)
		}
		return &Literal{Value: b}
	case Var:
		return &VarRef{Name: t.Text[1:]}
	case SysVar:
		return &SysVarRef{Name: strings.ToUpper(t.Text[2:])}
	case Punct:
		if t.Text == "(" {
			if p.isWord("SELECT") {
				q := p.query()
				p.expect(")")
				return &Subquery{Q: q}
			}
			x := p.expr()
			p.expect(")")
			return x
		}
	case QIdent:
		return p.columnOrCall(t)
	case Word:
		switch strings.ToUpper(t.Text) {
		case "NULL":
			return &Literal{}
		case "CASE":
			return p.caseExpr()
		case "CAST", "TRY_CAST":
			p.expect("(")
			x := p.expr()
			p.expect("AS")
			c := &Cast{X: x, To: p.typ(), Try: strings.EqualFold(t.Text, "TRY_CAST")}
			p.expect(")")
			return c
		case "CONVERT", "TRY_CONVERT":
			p.expect("(")
			c := &Cast{To: p.typ(), Try: strings.EqualFold(t.Text, "TRY_CONVERT")}
			p.expect(",")
			c.X = p.expr()
			if p.accept(",") {
				c.Style = p.expr()
			}
			p.expect(")")
			return c
		case "CURRENT_TIMESTAMP":
			return &Call{Name: "GETDATE"}
		case "EXISTS":
			p.pos--
			return p.predicate()
		}
		if reserved[strings.ToUpper(t.Text)] && !(p.isPunct("(") && (strings.EqualFold(t.Text, "LEFT") || strings.EqualFold(t.Text, "RIGHT"))) {
			p.pos--
			p.fail()
		}
		return p.columnOrCall(t)
	}
	p.pos--
	p.fail()
	return nil
}

func (p *parser) columnOrCall(t Token) Expr {
	parts := []string{t.Text}
	for p.isPunct(".") {
		p.next()
		n := p.next()
		if n.Kind != Word && n.Kind != QIdent {
			p.pos--
			p.fail()
		}
		parts = append(parts, n.Text)
	}
	if p.isPunct("(") && t.Kind == Word {
		p.next()
		c := &Call{Name: strings.ToUpper(parts[len(parts)-1])}
		if len(parts) > 1 {
			c.Schema = strings.ToLower(strings.Join(parts[:len(parts)-1], "."))
		}
		if p.accept("*") {
			c.Star = true
			p.expect(")")
			return c
		}
		if p.accept("DISTINCT") {
			c.Distinct = true
		}
		if !p.isPunct(")") {
			for {
				c.Args = append(c.Args, p.expr())
				if !p.accept(",") {
					break
				}
			}
		}
		p.expect(")")
		if p.isWord("OVER") {
			p.fail()
		}
		return c
	}
	return &ColumnRef{Parts: parts}
}

func (p *parser) caseExpr() Expr {
	c := &Case{}
	if !p.isWord("WHEN") {
		c.Operand = p.expr()
	}
	for p.accept("WHEN") {
		w := When{Cond: p.expr()}
		p.expect("THEN")
		w.Result = p.expr()
		c.Whens = append(c.Whens, w)
	}
	if len(c.Whens) == 0 {
		p.fail()
	}
	if p.accept("ELSE") {
		c.Else = p.expr()
	}
	p.expect("END")
	return c
}
