package expr

import (
	"time"
)

// checkField validates a field name just read by ident, starting at start.
func (p *exprParser) checkField(start int, id string) *SyntaxError {
	if len(id) > maxFieldLen {
		return p.errAt(start, "field name longer than %d characters", maxFieldLen)
	}
	if p.i < len(p.s) {
		c := p.s[p.i]
		if !isExprSpace(c) && !isCmpChar(c) && c != ':' && c != ')' {
			return p.errAt(p.i, "unexpected %s after field name %s (field names match [A-Za-z_][A-Za-z0-9_]*)", showByteAt(p.s, p.i), showText(id))
		}
	}
	return nil
}

func (p *exprParser) parsePred(start int, field string) (Node, *SyntaxError) {
	if err := p.checkField(start, field); err != nil {
		return nil, err
	}
	// One allocation holds the node and the backing array of a single value.
	h := &struct {
		pred Pred
		one  [1]string
	}{pred: Pred{Pos: p.pos(start), Field: field}}
	pr := &h.pred
	if p.i < len(p.s) && p.s[p.i] == ':' {
		p.i++
		if err := p.parseSelector(&pr.Sel, &pr.Values, &pr.Lo, &pr.Hi, &h.one); err != nil {
			return nil, err
		}
	}
	afterSel := p.i
	p.skipSpace()
	if pr.Sel == SelRange {
		if p.i < len(p.s) && isCmpChar(p.s[p.i]) || p.peekWindow() {
			return nil, p.errAt(p.i, "a range [A TO B] takes no comparison or window")
		}
		return pr, nil
	}
	if pr.Sel == SelNone && p.i > afterSel && p.i < len(p.s) && p.s[p.i] == ':' {
		return nil, p.errAt(p.i, "unexpected ':': write field:value with no space before ':'")
	}
	if p.i < len(p.s) && isCmpChar(p.s[p.i]) {
		op, err := p.parseCmp()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		n, err := p.parseInt()
		if err != nil {
			return nil, err
		}
		pr.Cmp, pr.N = op, n
		p.skipSpace()
	}
	if err := p.parseWindow(&pr.Window); err != nil {
		return nil, err
	}
	return pr, nil
}

// parseSelector parses what follows "field:" (the ':' already read). A single
// value is stored in one; lo and hi are nil where a range is not allowed (in
// a measure).
func (p *exprParser) parseSelector(sel *Selector, values *[]string, lo, hi *int64, one *[1]string) *SyntaxError {
	if p.i == len(p.s) || isExprSpace(p.s[p.i]) {
		return p.errAt(p.i, "expected a value after ':'")
	}
	switch p.s[p.i] {
	case '(':
		p.i++
		vals := make([]string, 0, 4)
		for {
			p.skipSpace()
			v, err := p.parseValue(false)
			if err != nil {
				return err
			}
			vals = append(vals, v)
			p.skipSpace()
			if p.i < len(p.s) && p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.i < len(p.s) && p.s[p.i] == ')' {
				p.i++
				break
			}
			return p.errAt(p.i, "expected ',' or ')' in the value list but found %s", p.found())
		}
		*sel, *values = SelValues, vals
		return nil
	case '[':
		if lo == nil {
			return p.errAt(p.i, "a measure takes no range [A TO B]")
		}
		p.i++
		p.skipSpace()
		a, err := p.parseInt()
		if err != nil {
			return err
		}
		p.skipSpace()
		if !p.acceptKeyword("TO") {
			return p.errAt(p.i, "expected TO in the range but found %s", p.found())
		}
		p.skipSpace()
		b, err := p.parseInt()
		if err != nil {
			return err
		}
		p.skipSpace()
		if p.i == len(p.s) || p.s[p.i] != ']' {
			return p.errAt(p.i, "expected ']' but found %s", p.found())
		}
		p.i++
		*sel, *lo, *hi = SelRange, a, b
		return nil
	case ',', ')', ']':
		return p.errAt(p.i, "expected a value after ':' but found %s", p.found())
	}
	if p.s[p.i] == '*' && (p.i+1 == len(p.s) || isValueEnd(p.s[p.i+1])) {
		p.i++
		*sel = SelAny
		return nil
	}
	v, err := p.parseValue(true)
	if err != nil {
		return err
	}
	one[0] = v
	*sel, *values = SelValues, one[:]
	return nil
}

// peekWindow reports whether IN, BETWEEN or EVER comes next (after spaces
// have been skipped).
func (p *exprParser) peekWindow() bool {
	id := p.peekIdent()
	return asciiEqualFold(id, "IN") || asciiEqualFold(id, "BETWEEN") || asciiEqualFold(id, "EVER")
}

// parseWindow parses an optional window at p.i (spaces already skipped).
func (p *exprParser) parseWindow(w *Window) *SyntaxError {
	id := p.peekIdent()
	if id == "" {
		return nil
	}
	pos := p.pos(p.i)
	switch {
	case asciiEqualFold(id, "IN"):
		p.i += len(id)
		p.skipSpace()
		ws := p.i
		word := p.word()
		if word == "" {
			return p.errAt(ws, "expected a duration after IN but found %s", p.found())
		}
		d, err := ParseDuration(word)
		if err != nil {
			return p.errAt(ws, "%s", errText(err))
		}
		*w = Window{Pos: pos, Kind: WindowIn, Dur: d}
	case asciiEqualFold(id, "BETWEEN"):
		p.i += len(id)
		p.skipSpace()
		from, err := p.parseTimeWord("BETWEEN")
		if err != nil {
			return err
		}
		p.skipSpace()
		if !p.acceptKeyword("AND") {
			return p.errAt(p.i, "expected AND between the two times of BETWEEN but found %s", p.found())
		}
		p.skipSpace()
		to, err := p.parseTimeWord("BETWEEN ... AND")
		if err != nil {
			return err
		}
		*w = Window{Pos: pos, Kind: WindowBetween, From: from, To: to}
	case asciiEqualFold(id, "EVER"):
		p.i += len(id)
		*w = Window{Pos: pos, Kind: WindowEver}
	}
	return nil
}

func (p *exprParser) parseTimeWord(after string) (time.Time, *SyntaxError) {
	ws := p.i
	word := p.word()
	if word == "" {
		return time.Time{}, p.errAt(ws, "expected a time after %s but found %s", after, p.found())
	}
	t, err := ParseTime(word)
	if err != nil {
		return time.Time{}, p.errAt(ws, "%s", errText(err))
	}
	return t, nil
}
