package expr

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// --- tree helpers ---

// zeroPos returns a copy of n with every position set to 0, for comparing
// trees whatever their spacing.
func pxZero(n Node) Node {
	switch n := n.(type) {
	case *And:
		return &And{Terms: pxZeroTerms(n.Terms)}
	case *Or:
		return &Or{Terms: pxZeroTerms(n.Terms)}
	case *Xor:
		return &Xor{Terms: pxZeroTerms(n.Terms)}
	case *Not:
		return &Not{X: pxZero(n.X)}
	case *All:
		return &All{}
	case *SegmentRef:
		return &SegmentRef{Name: n.Name}
	case *Pred:
		c := *n
		c.Pos, c.Window.Pos = 0, 0
		return &c
	case *Top:
		c := *n
		c.Pos, c.Measure.Pos, c.Measure.Window.Pos = 0, 0, 0
		return &c
	case *Sample:
		c := *n
		c.Pos = 0
		return &c
	case *Measure:
		c := *n
		c.Pos, c.Window.Pos = 0, 0
		return &c
	}
	return n
}

func pxZeroTerms(ts []Node) []Node {
	out := make([]Node, len(ts))
	for i, t := range ts {
		out[i] = pxZero(t)
	}
	return out
}

func pxAnd(ts ...Node) Node { return &And{Terms: ts} }
func pxOr(ts ...Node) Node  { return &Or{Terms: ts} }
func pxXor(ts ...Node) Node { return &Xor{Terms: ts} }
func pxNot(x Node) Node     { return &Not{X: x} }
func pxSeg(name string) Node {
	return &SegmentRef{Name: name}
}

// pv is field:v or field:(v1,v2,...).
func pxV(field string, vals ...string) *Pred {
	return &Pred{Field: field, Sel: SelValues, Values: vals}
}

func pxAny(field string) *Pred { return &Pred{Field: field, Sel: SelAny} }

func pxRange(field string, lo, hi int64) *Pred {
	return &Pred{Field: field, Sel: SelRange, Lo: lo, Hi: hi}
}

func pxCmp(field string, op CmpOp, n int64) *Pred {
	return &Pred{Field: field, Cmp: op, N: n}
}

func pxBare(field string) *Pred { return &Pred{Field: field} }

func (p *Pred) withCmp(op CmpOp, n int64) *Pred { p.Cmp, p.N = op, n; return p }
func (p *Pred) withWin(w Window) *Pred          { p.Window = w; return p }

func pxIn(d time.Duration) Window { return Window{Kind: WindowIn, Dur: d} }

var pxEver = Window{Kind: WindowEver}

func pxBetween(a, b time.Time) Window { return Window{Kind: WindowBetween, From: a, To: b} }

func pxDay(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

const pxDayDur = 24 * time.Hour

func pxDump(n Node) string {
	if n == nil {
		return "<nil>"
	}
	return Format(n)
}

// --- valid input ---

func TestParseValid(t *testing.T) {
	tests := []struct {
		in   string
		want Node
	}{
		// simple predicates
		{`country:US`, pxV("country", "US")},
		{`country:(US,FR)`, pxV("country", "US", "FR")},
		{`country:( US , FR ,DE )`, pxV("country", "US", "FR", "DE")},
		{`country:(US)`, pxV("country", "US")},
		{`country:*`, pxAny("country")},
		{`age:[20 TO 35]`, pxRange("age", 20, 35)},
		{`age:[ 20 to 35 ]`, pxRange("age", 20, 35)},
		{`age:[5 TO 1]`, pxRange("age", 5, 1)},
		{`delta:[-10 TO 5]`, pxRange("delta", -10, 5)},
		{`age >= 30`, pxCmp("age", CmpGe, 30)},
		{`age>=30`, pxCmp("age", CmpGe, 30)},
		{`age= 30`, pxCmp("age", CmpEq, 30)},
		{`age != 30`, pxCmp("age", CmpNe, 30)},
		{`age < 30`, pxCmp("age", CmpLt, 30)},
		{`age <= 30`, pxCmp("age", CmpLe, 30)},
		{`age > 30`, pxCmp("age", CmpGt, 30)},
		{`spend > -1`, pxCmp("spend", CmpGt, -1)},
		{`spend>-1`, pxCmp("spend", CmpGt, -1)},
		{`n = -9223372036854775808`, pxCmp("n", CmpEq, -9223372036854775808)},
		{`n = 9223372036854775807`, pxCmp("n", CmpEq, 9223372036854775807)},
		{`age:30`, pxV("age", "30")},
		{`age:-5`, pxV("age", "-5")},
		{`  country:US  `, pxV("country", "US")},
		{"\tcountry:US\n", pxV("country", "US")},
		{`_f9:x`, pxV("_f9", "x")},
		{`a` + strings.Repeat("b", 63) + `:x`, pxV("a"+strings.Repeat("b", 63), "x")},

		// values
		{`country:IN`, pxV("country", "IN")},
		{`country:and`, pxV("country", "and")},
		{`ref:utm:google`, pxV("ref", "utm:google")},
		{`url:http://x.y/a?b=c&d=e`, pxV("url", "http://x.y/a?b=c&d=e")},
		{`city:"New York"`, pxV("city", "New York")},
		{`q:"say \"hi\""`, pxV("q", `say "hi"`)},
		{`q:"back\\slash"`, pxV("q", `back\slash`)},
		{`q:"a,b(c)[d]"`, pxV("q", "a,b(c)[d]")},
		{`q:"*"`, pxV("q", "*")},
		{`q:*x`, pxV("q", "*x")},
		{`q:a\b`, pxV("q", `a\b`)},
		{`q:("a b",c,"d\"e")`, pxV("q", "a b", "c", `d"e`)},
		{`city:Zürich`, pxV("city", "Zürich")},
		{"raw:\xff\xfe", pxV("raw", "\xff\xfe")},
		{`q:"` + "\xff\x00\n" + `"`, pxV("q", "\xff\x00\n")},
		{`v:` + strings.Repeat("x", 256), pxV("v", strings.Repeat("x", 256))},
		{`v:"` + strings.Repeat("x", 256) + `"`, pxV("v", strings.Repeat("x", 256))},
		{`v:a=b`, pxV("v", "a=b")},

		// field names are case-sensitive, keywords are not
		{`Country:US`, pxV("Country", "US")},
		{`a:x and b:y`, pxAnd(pxV("a", "x"), pxV("b", "y"))},
		{`a:x And b:y`, pxAnd(pxV("a", "x"), pxV("b", "y"))},
		{`Not a:x`, pxNot(pxV("a", "x"))},
		{`all`, &All{}},
		{`ALL`, &All{}},
		{`ANDROID:x`, pxV("ANDROID", "x")},
		{`index:x`, pxV("index", "x")},

		// events
		{`purchase`, pxBare("purchase")},
		{`purchase:shirts >= 3 IN 90d`, pxV("purchase", "shirts").withCmp(CmpGe, 3).withWin(pxIn(90 * pxDayDur))},
		{`purchase:shirts>=3 in 90d`, pxV("purchase", "shirts>=3").withWin(pxIn(90 * pxDayDur))}, // a bare value runs to the space
		{`purchase:shirts >=3 in 90d`, pxV("purchase", "shirts").withCmp(CmpGe, 3).withWin(pxIn(90 * pxDayDur))},
		{`cart_add IN 7d`, pxBare("cart_add").withWin(pxIn(7 * pxDayDur))},
		{`cart_add IN 7d AND NOT purchase IN 7d`, pxAnd(pxBare("cart_add").withWin(pxIn(7*pxDayDur)), pxNot(pxBare("purchase").withWin(pxIn(7*pxDayDur))))},
		{`purchase:(a,b) BETWEEN 2026-01-01 AND 2026-02-01`, pxV("purchase", "a", "b").withWin(pxBetween(pxDay(2026, 1, 1), pxDay(2026, 2, 1)))},
		{`purchase BETWEEN 1767225600 AND 2026-02-01T10:00:00Z`, pxBare("purchase").withWin(pxBetween(pxDay(2026, 1, 1), time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)))},
		{`purchase:* EVER`, pxAny("purchase").withWin(pxEver)},
		{`purchase:* >= 2 IN 36h`, pxAny("purchase").withCmp(CmpGe, 2).withWin(pxIn(36 * time.Hour))},
		{`purchase < 3 IN 90d`, pxCmp("purchase", CmpLt, 3).withWin(pxIn(90 * pxDayDur))},
		{`purchase ever`, pxBare("purchase").withWin(pxEver)},
		{`login IN 30m`, pxBare("login").withWin(pxIn(30 * time.Minute))},
		{`login IN 2w`, pxBare("login").withWin(pxIn(14 * pxDayDur))},
		{`purchase:IN IN 7d`, pxV("purchase", "IN").withWin(pxIn(7 * pxDayDur))},
		{`(purchase IN 7d)`, pxBare("purchase").withWin(pxIn(7 * pxDayDur))},
		{`purchase BETWEEN 2026-01-01 AND 2026-02-01 AND x:y`, pxAnd(pxBare("purchase").withWin(pxBetween(pxDay(2026, 1, 1), pxDay(2026, 2, 1))), pxV("x", "y"))},

		// TOP and SAMPLE
		{`TOP 10% BY spend:apparel IN 365d`, &Top{K: 10, Percent: true, Measure: Measure{Field: "spend", Sel: SelValues, Values: []string{"apparel"}, Window: pxIn(365 * pxDayDur)}}},
		{`TOP 100 BY lifetime_spend`, &Top{K: 100, Measure: Measure{Field: "lifetime_spend"}}},
		{`top 5 % by spend:* ever`, &Top{K: 5, Percent: true, Measure: Measure{Field: "spend", Sel: SelAny, Window: pxEver}}},
		{`TOP 100% BY x`, &Top{K: 100, Percent: true, Measure: Measure{Field: "x"}}},
		{`TOP 1000000 BY x`, &Top{K: 1000000, Measure: Measure{Field: "x"}}},
		{`TOP 3 BY spend:(a,b) IN 7d AND country:US`, pxAnd(&Top{K: 3, Measure: Measure{Field: "spend", Sel: SelValues, Values: []string{"a", "b"}, Window: pxIn(7 * pxDayDur)}}, pxV("country", "US"))},
		{`SAMPLE 10%`, &Sample{Percent: 10}},
		{`SAMPLE 10% SEED 7`, &Sample{Percent: 10, Seed: 7, HasSeed: true}},
		{`sample 100 % seed -7`, &Sample{Percent: 100, Seed: -7, HasSeed: true}},
		{`@vip AND SAMPLE 10% SEED 7`, pxAnd(pxSeg("vip"), &Sample{Percent: 10, Seed: 7, HasSeed: true})},
		{`NOT SAMPLE 10%`, pxNot(&Sample{Percent: 10})},

		// segments
		{`@vip`, pxSeg("vip")},
		{`@a.b:c-d_9`, pxSeg("a.b:c-d_9")},
		{`@` + strings.Repeat("s", 128), pxSeg(strings.Repeat("s", 128))},
		{`NOT @churned`, pxNot(pxSeg("churned"))},
		{`NOT@churned`, pxNot(pxSeg("churned"))},

		// precedence: NOT > AND > XOR > OR
		{`a:1 OR b:2 AND c:3`, pxOr(pxV("a", "1"), pxAnd(pxV("b", "2"), pxV("c", "3")))},
		{`a:1 AND b:2 OR c:3`, pxOr(pxAnd(pxV("a", "1"), pxV("b", "2")), pxV("c", "3"))},
		{`a:1 XOR b:2 AND c:3`, pxXor(pxV("a", "1"), pxAnd(pxV("b", "2"), pxV("c", "3")))},
		{`a:1 OR b:2 XOR c:3`, pxOr(pxV("a", "1"), pxXor(pxV("b", "2"), pxV("c", "3")))},
		{`a:1 XOR b:2 OR c:3 XOR d:4`, pxOr(pxXor(pxV("a", "1"), pxV("b", "2")), pxXor(pxV("c", "3"), pxV("d", "4")))},
		{`NOT a:1 AND b:2`, pxAnd(pxNot(pxV("a", "1")), pxV("b", "2"))},
		{`NOT (a:1 AND b:2)`, pxNot(pxAnd(pxV("a", "1"), pxV("b", "2")))},
		{`NOT NOT a:1`, pxNot(pxNot(pxV("a", "1")))},
		{`a:1 AND b:2 AND c:3`, pxAnd(pxV("a", "1"), pxV("b", "2"), pxV("c", "3"))},
		{`(a:1 AND b:2) AND c:3`, pxAnd(pxV("a", "1"), pxV("b", "2"), pxV("c", "3"))},
		{`a:1 AND (b:2 AND (c:3))`, pxAnd(pxV("a", "1"), pxV("b", "2"), pxV("c", "3"))},
		{`(a:1 OR b:2) AND c:3`, pxAnd(pxOr(pxV("a", "1"), pxV("b", "2")), pxV("c", "3"))},
		{`a:1 OR (b:2 OR c:3) OR d:4`, pxOr(pxV("a", "1"), pxV("b", "2"), pxV("c", "3"), pxV("d", "4"))},
		{`a:1 XOR (b:2 XOR c:3)`, pxXor(pxV("a", "1"), pxV("b", "2"), pxV("c", "3"))},
		{`(((a:1)))`, pxV("a", "1")},
		{`(a:1)AND(b:2)`, pxAnd(pxV("a", "1"), pxV("b", "2"))},
		{`country:US AND age:[20 TO 35] AND interests:fitness AND NOT @churned`, pxAnd(pxV("country", "US"), pxRange("age", 20, 35), pxV("interests", "fitness"), pxNot(pxSeg("churned")))},
		{`gender:M AND age:[20 TO 35] AND purchase:apparel >= 2 IN 180d`, pxAnd(pxV("gender", "M"), pxRange("age", 20, 35), pxV("purchase", "apparel").withCmp(CmpGe, 2).withWin(pxIn(180*pxDayDur)))},
		{`ALL AND NOT ALL`, pxAnd(&All{}, pxNot(&All{}))},
	}
	for _, tc := range tests {
		got, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if g := pxZero(got); !reflect.DeepEqual(g, tc.want) {
			t.Errorf("Parse(%q)\n got  %s %#v\n want %s %#v", tc.in, pxDump(got), g, pxDump(tc.want), tc.want)
		}
	}
}

// --- positions ---

func TestParsePositions(t *testing.T) {
	n, err := Parse(`country:US AND  NOT @vip OR purchase:x >= 3 IN 7d`)
	if err != nil {
		t.Fatal(err)
	}
	o := n.(*Or)
	a := o.Terms[0].(*And)
	if a.Pos != 1 || o.Pos != 1 || a.Terms[0].Position() != 1 {
		t.Errorf("and/or pos: %d %d", a.Pos, o.Pos)
	}
	nt := a.Terms[1].(*Not)
	if nt.Pos != 17 || nt.X.Position() != 21 {
		t.Errorf("not pos %d, segment pos %d", nt.Pos, nt.X.Position())
	}
	p := o.Terms[1].(*Pred)
	if p.Pos != 29 || p.Window.Pos != 45 {
		t.Errorf("pred pos %d window pos %d", p.Pos, p.Window.Pos)
	}

	// Characters, not bytes: "é" is one character.
	n, err = Parse(`city:Zürich AND x:é AND @s`)
	if err != nil {
		t.Fatal(err)
	}
	terms := n.(*And).Terms
	if terms[1].Position() != 17 || terms[2].Position() != 25 {
		t.Errorf("rune positions: %d %d", terms[1].Position(), terms[2].Position())
	}

	top, err := Parse(`TOP 5 BY spend IN 7d`)
	if err != nil {
		t.Fatal(err)
	}
	if tp := top.(*Top); tp.Pos != 1 || tp.Measure.Pos != 10 || tp.Measure.Window.Pos != 16 {
		t.Errorf("top positions %d %d %d", tp.Pos, tp.Measure.Pos, tp.Measure.Window.Pos)
	}
}

// --- errors ---

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in  string
		pos int
		msg string // exact message, or a prefix when it ends with "…"
	}{
		{``, 1, `empty expression`},
		{`   `, 1, `empty expression`},
		{`country:`, 9, `expected a value after ':'`},
		{`country: US`, 9, `expected a value after ':'`},
		{`country:US AND city:`, 21, `expected a value after ':'`},
		{`country :US`, 9, `unexpected ':': write field:value with no space before ':'`},
		{`country:)`, 9, `expected a value after ':' but found ')'`},
		{`country:,`, 9, `expected a value after ':' but found ','`},
		{`country:(`, 10, `expected a value but found end of input`},
		{`country:()`, 10, `expected a value but found ')'`},
		{`country:(US,)`, 13, `expected a value but found ')'`},
		{`country:(US FR)`, 13, `expected ',' or ')' in the value list but found 'FR'`},
		{`country:(US`, 12, `expected ',' or ')' in the value list but found end of input`},
		{`country:(US,*)`, 13, `'*' is not a value here: use field:* alone, or quote it as "*"`},
		{`country:""`, 9, `empty value: values are 1 to 256 bytes`},
		{`country:"US`, 9, `unterminated quoted value: expected a closing '"'`},
		{`country:"US\`, 9, `unterminated quoted value: expected a closing '"'`},
		{`country:"U\nS"`, 11, `invalid escape '\n' in a quoted value (only \" and \\ are escapes)`},
		{`v:` + strings.Repeat("x", 257), 3, `value longer than 256 bytes`},
		{`v:"` + strings.Repeat("x", 257) + `"`, 3, `value longer than 256 bytes`},
		{`country:US)`, 11, `expected AND, OR, XOR or end of input but found ')'`},
		{`country:US FR`, 12, `expected AND, OR, XOR or end of input but found 'FR'`},
		{`country:US"x"`, 11, `expected AND, OR, XOR or end of input but found '"'`},
		{`(country:US`, 12, `expected ')' but found end of input`},
		{`(country:US x`, 13, `expected AND, OR, XOR or ')' but found 'x'`},
		{`()`, 2, `expected a field, '(', '@', ALL, NOT, TOP or SAMPLE but found ')'`},
		{`AND:x`, 1, `'AND' is a keyword and cannot be a field name`},
		{`AND x:y`, 1, `expected a field, '(', '@', ALL, NOT, TOP or SAMPLE but found 'AND'`},
		{`in:x`, 1, `'in' is a keyword and cannot be a field name`},
		{`top:x`, 1, `'top' is a keyword and cannot be a field name`},
		{`x:y AND`, 8, `expected a field, '(', '@', ALL, NOT, TOP or SAMPLE but found end of input`},
		{`x:y AND OR z:w`, 9, `expected a field, '(', '@', ALL, NOT, TOP or SAMPLE but found 'OR'`},
		{`x:y ANDz:w`, 5, `expected AND, OR, XOR or end of input but found 'ANDz:w'`},
		{`NOT`, 4, `expected a field, '(', '@', ALL, NOT, TOP or SAMPLE but found end of input`},
		{`9lives:x`, 1, `expected a field, '(', '@', ALL, NOT, TOP or SAMPLE but found '9lives:x'`},
		{`country-code:x`, 8, `unexpected '-' after field name 'country' (field names match [A-Za-z_][A-Za-z0-9_]*)`},
		{`a` + strings.Repeat("b", 64) + `:x`, 1, `field name longer than 64 characters`},
		{`age => 3`, 5, `unknown operator '=>' (use = != < <= > >=)`},
		{`age == 3`, 5, `unknown operator '==' (use = != < <= > >=)`},
		{`age <> 3`, 5, `unknown operator '<>' (use = != < <= > >=)`},
		{`age >=`, 7, `expected an integer but found end of input`},
		{`age >= x`, 8, `expected an integer but found 'x'`},
		{`age >= 3x`, 8, `expected an integer but found '3x'`},
		{`age >= -`, 8, `expected an integer but found '-'`},
		{`age >= +3`, 8, `expected an integer but found '+3'`},
		{`age >= 9223372036854775808`, 8, `integer '9223372036854775808' out of range (64-bit signed)`},
		{`age:[1 TO 99999999999999999999]`, 11, `integer '99999999999999999999' out of range (64-bit signed)`},
		{`age:[1 5]`, 8, `expected TO in the range but found '5'`},
		{`age:[1 TO 5`, 12, `expected ']' but found end of input`},
		{`age:[1 TO 5 6]`, 13, `expected ']' but found '6'`},
		{`age:[a TO 5]`, 6, `expected an integer but found 'a'`},
		{`age:[1 TO 5] >= 3`, 14, `a range [A TO B] takes no comparison or window`},
		{`age:[1 TO 5] IN 7d`, 14, `a range [A TO B] takes no comparison or window`},
		{`p IN`, 5, `expected a duration after IN but found end of input`},
		{`p IN 7x`, 6, `invalid duration '7x': the unit must be m, h, d or w (e.g. 90d)`},
		{`p IN 0d`, 6, `invalid duration '0d': a duration must be positive`},
		{`p IN -1d`, 6, `invalid duration '-1d': a duration must be positive`},
		{`p IN d`, 6, `invalid duration 'd': use a positive number followed by m, h, d or w (e.g. 90d)`},
		{`p IN 99999999999w`, 6, `invalid duration '99999999999w': too long`},
		{`p IN 7d EVER`, 9, `expected AND, OR, XOR or end of input but found 'EVER'`},
		{`p BETWEEN 2026-13-01 AND 2026-02-01`, 11, `invalid time '2026-13-01': use Unix seconds, RFC 3339 or YYYY-MM-DD`},
		{`p BETWEEN 2026-01-01 2026-02-01`, 22, `expected AND between the two times of BETWEEN but found '2026-02-01'`},
		{`p BETWEEN 2026-01-01 AND`, 25, `expected a time after BETWEEN ... AND but found end of input`},
		{`p BETWEEN`, 10, `expected a time after BETWEEN but found end of input`},
		{`@`, 2, `expected a segment name after '@' but found end of input`},
		{`@ vip`, 2, `expected a segment name after '@' but found ' '`},
		{`@` + strings.Repeat("s", 129), 2, `segment name longer than 128 characters`},
		{`@vip!`, 5, `expected AND, OR, XOR or end of input but found '!'`},
		{`TOP`, 4, `expected an integer but found end of input`},
		{`TOP 0 BY x`, 5, `TOP needs a positive count, not 0`},
		{`TOP -3 BY x`, 5, `TOP needs a positive count, not -3`},
		{`TOP 101% BY x`, 5, `TOP k% needs k from 1 to 100, not 101`},
		{`TOP 10 x`, 8, `expected BY after TOP 10 but found 'x'`},
		{`TOP 10% x`, 9, `expected BY after TOP 10% but found 'x'`},
		{`TOP 10 BY`, 10, `expected a measure (an INT field, or an event field) but found end of input`},
		{`TOP 10 BY IN`, 11, `expected a measure field but found the keyword 'IN'`},
		{`TOP 10 BY x:[1 TO 2]`, 13, `a measure takes no range [A TO B]`},
		{`TOP 10 BY x >= 3`, 13, `expected AND, OR, XOR or end of input but found '>='`},
		{`SAMPLE 10`, 10, `expected '%' after SAMPLE 10 (SAMPLE takes a percentage) but found end of input`},
		{`SAMPLE 0%`, 8, `SAMPLE p% needs p from 1 to 100, not 0`},
		{`SAMPLE 101%`, 8, `SAMPLE p% needs p from 1 to 100, not 101`},
		{`SAMPLE 10% SEED`, 16, `expected an integer but found end of input`},
		{`SAMPLE 10% SEED x`, 17, `expected an integer but found 'x'`},
		{`x:y OR`, 7, `expected a field, '(', '@', ALL, NOT, TOP or SAMPLE but found end of input`},
		{`x:y XOR XOR`, 9, `expected a field, '(', '@', ALL, NOT, TOP or SAMPLE but found 'XOR'`},
		{"x:y AND \x00", 9, `expected a field, '(', '@', ALL, NOT, TOP or SAMPLE but found "\x00"`},
		{"x:y\r\nz", 6, `expected AND, OR, XOR or end of input but found 'z'`},
		// character positions with multi-byte and invalid UTF-8
		{`city:Zürich AND`, 16, `expected a field, '(', '@', ALL, NOT, TOP or SAMPLE but found end of input`},
		{"é", 1, `expected a field, '(', '@', ALL, NOT, TOP or SAMPLE but found 'é'`},
		{"x:\xff\xfe y", 6, `expected AND, OR, XOR or end of input but found 'y'`},
		{"x:\xff AND \xfe", 9, `expected a field, '(', '@', ALL, NOT, TOP or SAMPLE but found "\xfe"`},
	}
	for _, tc := range tests {
		n, err := Parse(tc.in)
		if err == nil {
			t.Errorf("Parse(%q) = %s, want error", tc.in, pxDump(n))
			continue
		}
		if n != nil {
			t.Errorf("Parse(%q) returned a node with an error", tc.in)
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) error %T %v, want *SyntaxError", tc.in, err, err)
			continue
		}
		if se.Pos != tc.pos || se.Msg != tc.msg {
			t.Errorf("Parse(%q)\n got  %d: %s\n want %d: %s", tc.in, se.Pos, se.Msg, tc.pos, tc.msg)
		}
		if strings.ContainsAny(se.Error(), "\r\n") {
			t.Errorf("Parse(%q): message has a line break: %q", tc.in, se.Error())
		}
	}
}

func TestParseDepth(t *testing.T) {
	ok := strings.Repeat("(", MaxDepth) + "a:b" + strings.Repeat(")", MaxDepth)
	if _, err := Parse(ok); err != nil {
		t.Errorf("depth %d: %v", MaxDepth, err)
	}
	deep := strings.Repeat("(", MaxDepth+1) + "a:b" + strings.Repeat(")", MaxDepth+1)
	_, err := Parse(deep)
	var se *SyntaxError
	if !errors.As(err, &se) || se.Pos != MaxDepth+1 || !strings.Contains(se.Msg, "nested too deeply") {
		t.Errorf("depth %d: %v", MaxDepth+1, err)
	}
	if _, err := Parse(strings.Repeat("NOT ", MaxDepth) + "a:b"); err != nil {
		t.Errorf("NOT depth %d: %v", MaxDepth, err)
	}
	_, err = Parse(strings.Repeat("NOT ", MaxDepth+1) + "a:b")
	if !errors.As(err, &se) || se.Pos != 4*MaxDepth+1 {
		t.Errorf("NOT depth %d: %v", MaxDepth+1, err)
	}
	mixed := strings.Repeat("NOT (", MaxDepth/2) + "a:b" + strings.Repeat(")", MaxDepth/2)
	if _, err := Parse(mixed); err != nil {
		t.Errorf("mixed depth: %v", err)
	}
	if _, err := Parse("NOT " + mixed); err == nil {
		t.Errorf("mixed depth %d accepted", MaxDepth+1)
	}
	// Hostile input: a million open parentheses fails fast, without stack growth.
	if _, err := Parse(strings.Repeat("(", 1<<20)); err == nil {
		t.Error("1M parentheses accepted")
	}
	// Long flat chains are fine: they are not nesting.
	long := strings.Repeat("a:b OR ", 100000) + "a:b"
	n, err := Parse(long)
	if err != nil || len(n.(*Or).Terms) != 100001 {
		t.Errorf("long chain: %v", err)
	}
}

// --- measures ---

func TestParseMeasure(t *testing.T) {
	tests := []struct {
		in   string
		want Measure
	}{
		{`lifetime_spend`, Measure{Field: "lifetime_spend"}},
		{` spend:apparel IN 365d `, Measure{Field: "spend", Sel: SelValues, Values: []string{"apparel"}, Window: pxIn(365 * pxDayDur)}},
		{`spend:(a,"b c")`, Measure{Field: "spend", Sel: SelValues, Values: []string{"a", "b c"}}},
		{`spend:*`, Measure{Field: "spend", Sel: SelAny}},
		{`spend:* ever`, Measure{Field: "spend", Sel: SelAny, Window: pxEver}},
		{`spend BETWEEN 2026-01-01 AND 2026-02-01`, Measure{Field: "spend", Window: pxBetween(pxDay(2026, 1, 1), pxDay(2026, 2, 1))}},
		{`spend:IN IN 7d`, Measure{Field: "spend", Sel: SelValues, Values: []string{"IN"}, Window: pxIn(7 * pxDayDur)}},
	}
	for _, tc := range tests {
		m, err := ParseMeasure(tc.in)
		if err != nil {
			t.Errorf("ParseMeasure(%q): %v", tc.in, err)
			continue
		}
		if got := pxZero(m); !reflect.DeepEqual(got, &tc.want) {
			t.Errorf("ParseMeasure(%q) = %#v, want %#v", tc.in, got, tc.want)
		}
		back, err := ParseMeasure(FormatMeasure(m))
		if err != nil || !reflect.DeepEqual(pxZero(back), pxZero(m)) {
			t.Errorf("measure round trip of %q via %q: %v", tc.in, FormatMeasure(m), err)
		}
	}

	errs := []struct {
		in  string
		pos int
		msg string
	}{
		{``, 1, `empty measure`},
		{`IN`, 1, `expected a measure field but found the keyword 'IN'`},
		{`9x`, 1, `expected a measure (an INT field, or an event field) but found '9x'`},
		{`spend:[1 TO 2]`, 7, `a measure takes no range [A TO B]`},
		{`spend >= 3`, 7, `expected a window (IN, BETWEEN or EVER) or end of measure but found '>='`},
		{`spend IN 7d AND x:y`, 13, `expected a window (IN, BETWEEN or EVER) or end of measure but found 'AND'`},
		{`spend:`, 7, `expected a value after ':'`},
		{`spend IN 7q`, 10, `invalid duration '7q': the unit must be m, h, d or w (e.g. 90d)`},
		{`spend x`, 7, `expected a window (IN, BETWEEN or EVER) or end of measure but found 'x'`},
	}
	for _, tc := range errs {
		_, err := ParseMeasure(tc.in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("ParseMeasure(%q) = %v, want a syntax error", tc.in, err)
			continue
		}
		if se.Pos != tc.pos || se.Msg != tc.msg {
			t.Errorf("ParseMeasure(%q)\n got  %d: %s\n want %d: %s", tc.in, se.Pos, se.Msg, tc.pos, tc.msg)
		}
	}
}

func TestIsKeyword(t *testing.T) {
	for _, k := range []string{"AND", "or", "Not", "xor", "IN", "between", "TO", "all", "EVER", "top", "BY", "sample", "SEED"} {
		if !IsKeyword(k) {
			t.Errorf("IsKeyword(%q) = false", k)
		}
	}
	for _, k := range []string{"", "A", "ANDY", "index", "tops", "sampled", "ALLX"} {
		if IsKeyword(k) {
			t.Errorf("IsKeyword(%q) = true", k)
		}
	}
}

// --- allocation budget ---

func TestParseAllocs(t *testing.T) {
	const expr = `country:US AND age:[20 TO 35] AND purchase:shirts >= 3 IN 90d AND NOT @churned`
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Parse(expr); err != nil {
			t.Fatal(err)
		}
	})
	// 4 predicates/nodes + 1 Not + 1 And + terms slice + 2 value slices.
	if allocs > 10 {
		t.Errorf("Parse allocates %v times, want at most 10", allocs)
	}
}

func BenchmarkParse(b *testing.B) {
	const expr = `country:US AND age:[20 TO 35] AND interests:fitness AND purchase:shirts >= 3 IN 90d AND NOT @churned`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(expr); err != nil {
			b.Fatal(err)
		}
	}
}

// The commonest mistakes get a hint: field=value for field:value, and a
// year in a window.
func TestMistakeHints(t *testing.T) {
	for in, want := range map[string]string{
		"country=PT":     "(to match a value, write country:PT)",
		"country = gold": "(to match a value, write country:gold)",
		"p IN 1y":        "(a year: write 365d)",
		"p IN 2y":        "(a year: write 730d)",
	} {
		_, err := Parse(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want a hint %q", in, err, want)
		}
	}
	if _, err := Parse("age >= x"); err == nil || strings.Contains(err.Error(), "to match a value") {
		t.Errorf("age >= x: %v: no value hint for a comparison", err)
	}
}

// A time in milliseconds is out of range, and the error says so.
func TestMillisecondsHint(t *testing.T) {
	_, err := ParseTime("1763805600000")
	if err == nil || !strings.Contains(err.Error(), "it looks like milliseconds") {
		t.Errorf("ParseTime(ms) = %v", err)
	}
}
