package expr

import (
	"fmt"
	"unicode/utf8"
)

// The parser is a hand-written scanner (lexer.go) and recursive-descent
// parser (parse.go, parse_pred.go) over the raw bytes of the expression, plus
// Format (format.go), which prints a tree back as canonical text.
//
// Decisions a reader must know:
//
//   - The input is treated as bytes; it may hold anything, invalid UTF-8
//     included. Bare values may contain any byte except ASCII white space
//     (space, \t, \n, \v, \f, \r), '"', ',', '(', ')', '[' and ']'; quoted
//     values may contain any byte at all.
//   - Positions (Node.Pos, SyntaxError.Pos) are 1-based character counts: a
//     valid UTF-8 sequence counts as one character and every byte of invalid
//     UTF-8 counts as one character (the utf8.RuneCountInString rule). For
//     ASCII input this is the byte offset plus one. End of input is reported
//     one past the last character.
//   - "field:value" takes no space after ':' ("country: US" is an error);
//     comparisons may be written with or without spaces ("age>=30").
//   - A bare "*" after ':' means any value; a quoted "*" is the value '*'.
//   - And, Or and Xor are n-ary and flattened, through parentheses too:
//     "(a AND b) AND c" is one And of three terms. A single term is returned
//     as itself. NOT chains are kept as written.
//   - Nesting of parentheses and NOT is limited to MaxDepth.
//   - Only \" and \\ are escapes inside a quoted value; any other backslash
//     sequence is a syntax error. An empty value ("") is an error.
//   - The parser records what was written and leaves meaning to the planner:
//     "age IN 7d", "[5 TO 1]" or "country:US >= 2" parse fine. The only
//     combinations rejected here are a comparison or window after a range, and
//     a range in a measure.

// MaxDepth is the deepest nesting of parentheses and NOT an expression may
// have; deeper input is a syntax error, so hostile input cannot exhaust the
// stack.
const MaxDepth = 128

const (
	maxFieldLen   = 64
	maxSegmentLen = 128
	maxValueLen   = 256
)

var exprKeywords = [...]string{"AND", "OR", "NOT", "XOR", "IN", "BETWEEN", "TO", "ALL", "EVER", "TOP", "BY", "SAMPLE", "SEED"}

// IsKeyword reports whether s spells a keyword of the expression language, in
// any case. Field names may not.
func IsKeyword(s string) bool {
	if len(s) < 2 || len(s) > 7 {
		return false
	}
	for _, k := range exprKeywords {
		if asciiEqualFold(s, k) {
			return true
		}
	}
	return false
}

// Parse parses an expression (SPEC §4). Every error is a *SyntaxError.
func Parse(expr string) (Node, error) {
	p := exprParser{s: expr, ascii: isASCIIString(expr)}
	p.skipSpace()
	if p.i == len(p.s) {
		return nil, p.errAt(0, "empty expression")
	}
	n, err := p.parseLevel(levelOr)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.i < len(p.s) {
		return nil, p.errAt(p.i, "expected AND, OR, XOR or end of input but found %s", p.found())
	}
	return n, nil
}

// ParseMeasure parses a measure: an INT field alone ("lifetime_spend"), or an
// event field with an optional selector and window ("spend:apparel IN 365d",
// "purchase:(a,b) EVER", "spend:*"). Every error is a *SyntaxError.
func ParseMeasure(text string) (*Measure, error) {
	p := exprParser{s: text, ascii: isASCIIString(text)}
	p.skipSpace()
	if p.i == len(p.s) {
		return nil, p.errAt(0, "empty measure")
	}
	h := new(struct {
		m   Measure
		one [1]string
	})
	m := &h.m
	if err := p.parseMeasure(m, &h.one); err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.i < len(p.s) {
		return nil, p.errAt(p.i, "expected a window (IN, BETWEEN or EVER) or end of measure but found %s", p.found())
	}
	return m, nil
}

type exprParser struct {
	s     string
	i     int // byte offset of the next unread byte
	depth int // current nesting of parentheses and NOT
	ascii bool

	// Byte offset → character position cache, so that positions of
	// non-ASCII input cost amortised O(1) as the parser moves forward.
	cOff, cPos int
}

// pos converts a byte offset to a 1-based character position.
func (p *exprParser) pos(off int) int {
	if p.ascii {
		return off + 1
	}
	if off > len(p.s) {
		off = len(p.s)
	}
	if off < p.cOff {
		p.cOff, p.cPos = 0, 0
	}
	p.cPos += utf8.RuneCountInString(p.s[p.cOff:off])
	p.cOff = off
	return p.cPos + 1
}

func (p *exprParser) errAt(off int, format string, args ...any) *SyntaxError {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &SyntaxError{Pos: p.pos(off), Msg: msg}
}

const (
	levelOr = iota
	levelXor
	levelAnd
	levelUnary
)

var levelKeyword = [...]string{levelOr: "OR", levelXor: "XOR", levelAnd: "AND"}

// parseLevel parses one precedence level: OR (lowest), XOR, AND, then unary.
func (p *exprParser) parseLevel(level int) (Node, *SyntaxError) {
	if level == levelUnary {
		return p.parseUnary()
	}
	first, err := p.parseLevel(level + 1)
	if err != nil {
		return nil, err
	}
	var terms []Node
	for {
		p.skipSpace()
		if !p.acceptKeyword(levelKeyword[level]) {
			break
		}
		next, err := p.parseLevel(level + 1)
		if err != nil {
			return nil, err
		}
		if terms == nil {
			terms = appendFlat(level, make([]Node, 0, 4), first)
		}
		terms = appendFlat(level, terms, next)
	}
	if terms == nil {
		return first, nil
	}
	pos := first.Position()
	switch level {
	case levelOr:
		return &Or{Pos: pos, Terms: terms}, nil
	case levelXor:
		return &Xor{Pos: pos, Terms: terms}, nil
	default:
		return &And{Pos: pos, Terms: terms}, nil
	}
}

// appendFlat appends n to terms, splicing in its terms when n is itself a node
// of the same n-ary operator (written in parentheses).
func appendFlat(level int, terms []Node, n Node) []Node {
	switch level {
	case levelOr:
		if o, ok := n.(*Or); ok {
			return append(terms, o.Terms...)
		}
	case levelXor:
		if x, ok := n.(*Xor); ok {
			return append(terms, x.Terms...)
		}
	case levelAnd:
		if a, ok := n.(*And); ok {
			return append(terms, a.Terms...)
		}
	}
	return append(terms, n)
}

func (p *exprParser) enter(off int) *SyntaxError {
	p.depth++
	if p.depth > MaxDepth {
		return p.errAt(off, "expression nested too deeply (more than %d levels of parentheses and NOT)", MaxDepth)
	}
	return nil
}

func (p *exprParser) parseUnary() (Node, *SyntaxError) {
	p.skipSpace()
	start := p.i
	if !p.acceptKeyword("NOT") {
		return p.parseAtom()
	}
	pos := p.pos(start)
	if err := p.enter(start); err != nil {
		return nil, err
	}
	x, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	p.depth--
	return &Not{Pos: pos, X: x}, nil
}

const expectedAtom = "expected a field, '(', '@', ALL, NOT, TOP or SAMPLE but found %s"

func (p *exprParser) parseAtom() (Node, *SyntaxError) {
	p.skipSpace()
	start := p.i
	if start == len(p.s) {
		return nil, p.errAt(start, expectedAtom, p.found())
	}
	switch c := p.s[start]; {
	case c == '(':
		if err := p.enter(start); err != nil {
			return nil, err
		}
		p.i++
		n, err := p.parseLevel(levelOr)
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.i == len(p.s) {
			return nil, p.errAt(p.i, "expected ')' but found end of input")
		}
		if p.s[p.i] != ')' {
			return nil, p.errAt(p.i, "expected AND, OR, XOR or ')' but found %s", p.found())
		}
		p.i++
		p.depth--
		return n, nil
	case c == '@':
		return p.parseSegmentRef()
	case isIdentStart(c):
		id := p.ident()
		if IsKeyword(id) {
			if p.i < len(p.s) && p.s[p.i] == ':' {
				return nil, p.errAt(start, "%s is a keyword and cannot be a field name", showText(id))
			}
			switch {
			case asciiEqualFold(id, "ALL"):
				return &All{Pos: p.pos(start)}, nil
			case asciiEqualFold(id, "TOP"):
				return p.parseTop(start)
			case asciiEqualFold(id, "SAMPLE"):
				return p.parseSample(start)
			}
			p.i = start
			return nil, p.errAt(start, expectedAtom, p.found())
		}
		return p.parsePred(start, id)
	default:
		return nil, p.errAt(start, expectedAtom, p.found())
	}
}

func (p *exprParser) parseSegmentRef() (Node, *SyntaxError) {
	start := p.i
	p.i++ // '@'
	j := p.i
	for j < len(p.s) && isSegmentChar(p.s[j]) {
		j++
	}
	if j == p.i {
		return nil, p.errAt(p.i, "expected a segment name after '@' but found %s", p.found())
	}
	if j-p.i > maxSegmentLen {
		return nil, p.errAt(p.i, "segment name longer than %d characters", maxSegmentLen)
	}
	name := p.s[p.i:j]
	p.i = j
	return &SegmentRef{Pos: p.pos(start), Name: name}, nil
}

func (p *exprParser) parseTop(start int) (Node, *SyntaxError) {
	h := &struct {
		top Top
		one [1]string
	}{top: Top{Pos: p.pos(start)}}
	t := &h.top
	p.skipSpace()
	ks := p.i
	k, err := p.parseInt()
	if err != nil {
		return nil, err
	}
	if k <= 0 {
		return nil, p.errAt(ks, "TOP needs a positive count, not %d", k)
	}
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == '%' {
		p.i++
		if k > 100 {
			return nil, p.errAt(ks, "TOP k%% needs k from 1 to 100, not %d", k)
		}
		t.Percent = true
	}
	t.K = k
	p.skipSpace()
	if !p.acceptKeyword("BY") {
		return nil, p.errAt(p.i, "expected BY after TOP %d%s but found %s", k, pctSuffix(t.Percent), p.found())
	}
	p.skipSpace()
	if err := p.parseMeasure(&t.Measure, &h.one); err != nil {
		return nil, err
	}
	return t, nil
}

func pctSuffix(b bool) string {
	if b {
		return "%"
	}
	return ""
}

func (p *exprParser) parseMeasure(m *Measure, one *[1]string) *SyntaxError {
	start := p.i
	if start == len(p.s) || !isIdentStart(p.s[start]) {
		return p.errAt(start, "expected a measure (an INT field, or an event field) but found %s", p.found())
	}
	id := p.ident()
	if IsKeyword(id) {
		return p.errAt(start, "expected a measure field but found the keyword %s", showText(id))
	}
	if err := p.checkField(start, id); err != nil {
		return err
	}
	m.Pos, m.Field = p.pos(start), id
	if p.i < len(p.s) && p.s[p.i] == ':' {
		p.i++
		if err := p.parseSelector(&m.Sel, &m.Values, nil, nil, one); err != nil {
			return err
		}
	}
	p.skipSpace()
	return p.parseWindow(&m.Window)
}

func (p *exprParser) parseSample(start int) (Node, *SyntaxError) {
	s := &Sample{Pos: p.pos(start)}
	p.skipSpace()
	ns := p.i
	n, err := p.parseInt()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.i == len(p.s) || p.s[p.i] != '%' {
		return nil, p.errAt(p.i, "expected '%%' after SAMPLE %d (SAMPLE takes a percentage) but found %s", n, p.found())
	}
	if n <= 0 || n > 100 {
		return nil, p.errAt(ns, "SAMPLE p%% needs p from 1 to 100, not %d", n)
	}
	p.i++
	s.Percent = n
	save := p.i
	p.skipSpace()
	if p.acceptKeyword("SEED") {
		p.skipSpace()
		seed, err := p.parseInt()
		if err != nil {
			return nil, err
		}
		s.Seed, s.HasSeed = seed, true
	} else {
		p.i = save
	}
	return s, nil
}
