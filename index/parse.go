package index

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// This file is the expression parser of SPEC §4: a hand-written scanner and
// recursive-descent parser over the raw bytes of the expression, plus Format,
// which prints a tree back as canonical text.
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

// parseValue parses a bare or double-quoted value. A bare "*" is refused
// unless star is set (the caller handles "f:*" itself).
func (p *exprParser) parseValue(star bool) (string, *SyntaxError) {
	start := p.i
	if start == len(p.s) {
		return "", p.errAt(start, "expected a value but found end of input")
	}
	if p.s[start] == '"' {
		return p.parseQuoted()
	}
	j := start
	for j < len(p.s) && !isValueEnd(p.s[j]) {
		j++
	}
	if j == start {
		return "", p.errAt(start, "expected a value but found %s", p.found())
	}
	v := p.s[start:j]
	if v == "*" && !star {
		return "", p.errAt(start, "'*' is not a value here: use field:* alone, or quote it as \"*\"")
	}
	if len(v) > maxValueLen {
		return "", p.errAt(start, "value longer than %d bytes", maxValueLen)
	}
	p.i = j
	return v, nil
}

func (p *exprParser) parseQuoted() (string, *SyntaxError) {
	start := p.i // the opening quote
	j := start + 1
	escaped := false
	for ; j < len(p.s); j++ {
		c := p.s[j]
		if c == '"' {
			break
		}
		if c == '\\' {
			if j+1 < len(p.s) && (p.s[j+1] == '"' || p.s[j+1] == '\\') {
				escaped = true
				j++
				continue
			}
			if j+1 == len(p.s) {
				j = len(p.s) // unterminated
				break
			}
			_, w := utf8.DecodeRuneInString(p.s[j+1:])
			return "", p.errAt(j, "invalid escape %s in a quoted value (only \\\" and \\\\ are escapes)", showText(p.s[j:j+1+w]))
		}
	}
	if j >= len(p.s) {
		return "", p.errAt(start, "unterminated quoted value: expected a closing '\"'")
	}
	raw := p.s[start+1 : j]
	p.i = j + 1
	v := raw
	if escaped {
		b := make([]byte, 0, len(raw))
		for k := 0; k < len(raw); k++ {
			if raw[k] == '\\' {
				k++
			}
			b = append(b, raw[k])
		}
		v = string(b)
	}
	if v == "" {
		return "", p.errAt(start, "empty value: values are 1 to %d bytes", maxValueLen)
	}
	if len(v) > maxValueLen {
		return "", p.errAt(start, "value longer than %d bytes", maxValueLen)
	}
	return v, nil
}

func (p *exprParser) parseCmp() (CmpOp, *SyntaxError) {
	start := p.i
	j := start
	for j < len(p.s) && isCmpChar(p.s[j]) {
		j++
	}
	var op CmpOp
	switch p.s[start:j] {
	case "=":
		op = CmpEq
	case "!=":
		op = CmpNe
	case "<":
		op = CmpLt
	case "<=":
		op = CmpLe
	case ">":
		op = CmpGt
	case ">=":
		op = CmpGe
	default:
		return 0, p.errAt(start, "unknown operator %s (use = != < <= > >=)", showText(p.s[start:j]))
	}
	p.i = j
	return op, nil
}

// parseInt reads a signed decimal int64 that must end at white space, end of
// input or one of ( ) [ ] , " %.
func (p *exprParser) parseInt() (int64, *SyntaxError) {
	start := p.i
	j := start
	if j < len(p.s) && p.s[j] == '-' {
		j++
	}
	d := j
	for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
		j++
	}
	if j == d || (j < len(p.s) && !isIntEnd(p.s[j])) {
		return 0, p.errAt(start, "expected an integer but found %s", p.found())
	}
	n, err := strconv.ParseInt(p.s[start:j], 10, 64)
	if err != nil {
		return 0, p.errAt(start, "integer %s out of range (64-bit signed)", showText(p.s[start:j]))
	}
	p.i = j
	return n, nil
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

// --- scanning helpers ---

func (p *exprParser) skipSpace() {
	for p.i < len(p.s) && isExprSpace(p.s[p.i]) {
		p.i++
	}
}

// peekIdent returns the run of [A-Za-z0-9_] at p.i without consuming it.
func (p *exprParser) peekIdent() string {
	j := p.i
	for j < len(p.s) && isIdentChar(p.s[j]) {
		j++
	}
	return p.s[p.i:j]
}

func (p *exprParser) ident() string {
	id := p.peekIdent()
	p.i += len(id)
	return id
}

// acceptKeyword consumes kw (any case) when it is the whole identifier at p.i.
func (p *exprParser) acceptKeyword(kw string) bool {
	id := p.peekIdent()
	if asciiEqualFold(id, kw) {
		p.i += len(id)
		return true
	}
	return false
}

// word consumes a run of bytes up to white space or one of ( ) [ ] , " —
// the shape of a duration or a time.
func (p *exprParser) word() string {
	j := p.i
	for j < len(p.s) && !isValueEnd(p.s[j]) {
		j++
	}
	w := p.s[p.i:j]
	p.i = j
	return w
}

// found describes the token at p.i for an error message.
func (p *exprParser) found() string {
	if p.i >= len(p.s) {
		return "end of input"
	}
	c := p.s[p.i]
	j := p.i + 1
	switch {
	case isValueEnd(c):
	case isCmpChar(c):
		for j < len(p.s) && isCmpChar(p.s[j]) {
			j++
		}
	default:
		for j < len(p.s) && !isValueEnd(p.s[j]) {
			j++
		}
	}
	return showText(p.s[p.i:j])
}

func isExprSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

func isSegmentChar(c byte) bool {
	return isIdentChar(c) || c == '.' || c == ':' || c == '-'
}

func isCmpChar(c byte) bool { return c == '=' || c == '!' || c == '<' || c == '>' }

// isValueEnd reports whether c ends a bare value (and a duration or time).
func isValueEnd(c byte) bool {
	switch c {
	case '"', ',', '(', ')', '[', ']':
		return true
	}
	return isExprSpace(c)
}

func isIntEnd(c byte) bool { return c == '%' || isValueEnd(c) }

func isASCIIString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// asciiEqualFold compares s with an upper-case ASCII keyword, ignoring case.
func asciiEqualFold(s, upper string) bool {
	if len(s) != len(upper) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != upper[i] {
			return false
		}
	}
	return true
}

// show quotes user text for an error message: 'text' when it is printable
// UTF-8, otherwise Go-quoted with escapes (so messages never carry CR, LF or
// invalid UTF-8 onto the wire). Long text is cut.
func showText(s string) string {
	const max = 40
	cut := false
	if len(s) > max {
		n := max
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s, cut = s[:n], true
	}
	plain := utf8.ValidString(s)
	if plain {
		for _, r := range s {
			if r == '\'' || !unicode.IsPrint(r) {
				plain = false
				break
			}
		}
	}
	var q string
	if plain {
		q = "'" + s + "'"
	} else {
		q = strconv.Quote(s)
	}
	if cut {
		q += "..."
	}
	return q
}

func showByteAt(s string, i int) string {
	_, w := utf8.DecodeRuneInString(s[i:])
	return showText(s[i : i+w])
}

func errText(err error) string {
	if e, ok := err.(*Error); ok {
		return e.Msg
	}
	return err.Error()
}

// --- Format ---

// Format prints n as canonical expression text: upper-case exprKeywords, single
// spaces, the fewest parentheses, values quoted only when they must be,
// durations in their largest exact unit (7d → 1w), times as dates when they
// are midnight UTC and as RFC 3339 otherwise. For any tree Parse returns,
// Parse(Format(n)) is an equal tree (positions aside) and Format is stable,
// so the text serves as a cache key and for EXPLAIN.
func Format(n Node) string {
	var b strings.Builder
	formatNode(&b, n, 0)
	return b.String()
}

// FormatMeasure prints a measure as canonical text that ParseMeasure reads back.
func FormatMeasure(m *Measure) string {
	var b strings.Builder
	formatMeasure(&b, m)
	return b.String()
}

// precedence: OR 1, XOR 2, AND 3, everything else 4.
func exprPrecedence(n Node) int {
	switch n.(type) {
	case *Or:
		return 1
	case *Xor:
		return 2
	case *And:
		return 3
	}
	return 4
}

func formatNode(b *strings.Builder, n Node, parent int) {
	prec := exprPrecedence(n)
	if prec <= parent {
		b.WriteByte('(')
		defer b.WriteByte(')')
	}
	switch n := n.(type) {
	case *Or:
		formatTerms(b, n.Terms, " OR ", prec)
	case *Xor:
		formatTerms(b, n.Terms, " XOR ", prec)
	case *And:
		formatTerms(b, n.Terms, " AND ", prec)
	case *Not:
		b.WriteString("NOT ")
		formatNode(b, n.X, 3)
	case *All:
		b.WriteString("ALL")
	case *SegmentRef:
		b.WriteByte('@')
		b.WriteString(n.Name)
	case *Pred:
		formatPred(b, n)
	case *Top:
		b.WriteString("TOP ")
		b.WriteString(strconv.FormatInt(n.K, 10))
		if n.Percent {
			b.WriteByte('%')
		}
		b.WriteString(" BY ")
		formatMeasure(b, &n.Measure)
	case *Sample:
		b.WriteString("SAMPLE ")
		b.WriteString(strconv.FormatInt(n.Percent, 10))
		b.WriteByte('%')
		if n.HasSeed {
			b.WriteString(" SEED ")
			b.WriteString(strconv.FormatInt(n.Seed, 10))
		}
	case *Measure:
		formatMeasure(b, n)
	case nil:
		b.WriteString("<nil>")
	default:
		b.WriteString("<unknown node>")
	}
}

func formatTerms(b *strings.Builder, terms []Node, sep string, prec int) {
	for i, t := range terms {
		if i > 0 {
			b.WriteString(sep)
		}
		formatNode(b, t, prec)
	}
}

func formatPred(b *strings.Builder, p *Pred) {
	b.WriteString(p.Field)
	switch p.Sel {
	case SelValues:
		formatValues(b, p.Values)
	case SelAny:
		b.WriteString(":*")
	case SelRange:
		b.WriteString(":[")
		b.WriteString(strconv.FormatInt(p.Lo, 10))
		b.WriteString(" TO ")
		b.WriteString(strconv.FormatInt(p.Hi, 10))
		b.WriteByte(']')
	}
	if p.Cmp != CmpNone {
		b.WriteByte(' ')
		b.WriteString(p.Cmp.String())
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(p.N, 10))
	}
	formatWindow(b, &p.Window)
}

func formatMeasure(b *strings.Builder, m *Measure) {
	b.WriteString(m.Field)
	switch m.Sel {
	case SelValues:
		formatValues(b, m.Values)
	case SelAny:
		b.WriteString(":*")
	}
	formatWindow(b, &m.Window)
}

func formatValues(b *strings.Builder, vals []string) {
	b.WriteByte(':')
	if len(vals) == 1 {
		formatValue(b, vals[0])
		return
	}
	b.WriteByte('(')
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(',')
		}
		formatValue(b, v)
	}
	b.WriteByte(')')
}

// formatValue writes v bare when the exprParser would read it back as the same
// bare word, and double-quoted otherwise.
func formatValue(b *strings.Builder, v string) {
	bare := v != "" && v != "*"
	for i := 0; bare && i < len(v); i++ {
		if isValueEnd(v[i]) {
			bare = false
		}
	}
	if bare {
		b.WriteString(v)
		return
	}
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' || v[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('"')
}

func formatWindow(b *strings.Builder, w *Window) {
	switch w.Kind {
	case WindowEver:
		b.WriteString(" EVER")
	case WindowIn:
		b.WriteString(" IN ")
		b.WriteString(FormatDuration(w.Dur))
	case WindowBetween:
		b.WriteString(" BETWEEN ")
		b.WriteString(FormatTime(w.From))
		b.WriteString(" AND ")
		b.WriteString(FormatTime(w.To))
	}
}
