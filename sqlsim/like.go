package sqlsim

import "strings"

// likeToken is one element of a LIKE pattern.
type likeToken struct {
	kind byte // '%' any run, '_' any one, '[' set, 'c' literal
	r    rune
	set  []rune
	neg  bool
}

// parseLike splits a T-SQL LIKE pattern into tokens; a '[' without a closing ']' is a
// literal '['.
func parseLike(p []rune) []likeToken {
	var out []likeToken
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '%':
			if len(out) == 0 || out[len(out)-1].kind != '%' {
				out = append(out, likeToken{kind: '%'})
			}
		case '_':
			out = append(out, likeToken{kind: '_'})
		case '[':
			end := -1
			for k := i + 2; k < len(p); k++ {
				if p[k] == ']' {
					end = k
					break
				}
			}
			if end < 0 {
				out = append(out, likeToken{kind: 'c', r: '['})
				continue
			}
			set := p[i+1 : end]
			t := likeToken{kind: '['}
			if len(set) > 1 && set[0] == '^' {
				t.neg, set = true, set[1:]
			}
			t.set = set
			out = append(out, t)
			i = end
		default:
			out = append(out, likeToken{kind: 'c', r: p[i]})
		}
	}
	return out
}

func (t likeToken) matches(r rune) bool {
	switch t.kind {
	case '_':
		return true
	case '[':
		return matchSet(r, t.set) != t.neg
	case 'c':
		return t.r == r
	}
	return false
}

// like reports whether s matches the T-SQL LIKE pattern (%, _, [set], [^set]),
// case-insensitively as under the default SQL_Latin1_General_CP1_CI_AS collation. It
// runs in O(len(s)·len(pattern)) with the usual backtrack-to-last-% algorithm.
func like(s, pattern string) bool {
	str := []rune(strings.ToLower(s))
	toks := parseLike([]rune(strings.ToLower(pattern)))
	si, ti := 0, 0
	star, mark := -1, 0
	for si < len(str) {
		switch {
		case ti < len(toks) && toks[ti].kind == '%':
			star, mark = ti, si
			ti++
		case ti < len(toks) && toks[ti].matches(str[si]):
			si++
			ti++
		case star >= 0:
			mark++
			si, ti = mark, star+1
		default:
			return false
		}
	}
	for ti < len(toks) && toks[ti].kind == '%' {
		ti++
	}
	return ti == len(toks)
}

func matchSet(r rune, set []rune) bool {
	for i := 0; i < len(set); i++ {
		if i+2 < len(set) && set[i+1] == '-' {
			if r >= set[i] && r <= set[i+2] {
				return true
			}
			i += 2
			continue
		}
		if set[i] == r {
			return true
		}
	}
	return false
}
