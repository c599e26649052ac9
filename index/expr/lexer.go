package expr

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

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
		return 0, p.errAt(start, "expected an integer but found %s%s", p.found(), p.valueHint(start))
	}
	n, err := strconv.ParseInt(p.s[start:j], 10, 64)
	if err != nil {
		return 0, p.errAt(start, "integer %s out of range (64-bit signed)", showText(p.s[start:j]))
	}
	p.i = j
	return n, nil
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

// valueHint suggests field:value where "field=value" was written with a
// value that is not a number (country=PT): a comparison takes integers.
func (p *exprParser) valueHint(start int) string {
	before := strings.TrimRight(p.s[:start], " ")
	if !strings.HasSuffix(before, "=") || strings.HasSuffix(before, "<=") || strings.HasSuffix(before, ">=") || strings.HasSuffix(before, "!=") {
		return ""
	}
	before = strings.TrimRight(before[:len(before)-1], " ")
	i := len(before)
	for i > 0 && (isWordByte(before[i-1])) {
		i--
	}
	end := start
	for end < len(p.s) && !isIntEnd(p.s[end]) {
		end++
	}
	if i == len(before) || end == start {
		return ""
	}
	return fmt.Sprintf(" (to match a value, write %s:%s)", before[i:], p.s[start:end])
}

func isWordByte(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}
