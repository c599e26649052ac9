package expr

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

var pxFuzzSeeds = []string{
	`country:US`,
	`country:(US,FR)`,
	`country:*`,
	`age:[20 TO 35]`,
	`age:[5 TO 1]`,
	`delta:[-10 TO 5]`,
	`age >= 30`,
	`age>=30`,
	`spend > -1`,
	`age != 3 OR age < 2 OR age <= 1 OR age = 0`,
	`country:IN`,
	`ref:utm:google`,
	`city:"New York"`,
	`q:"say \"hi\" \\"`,
	`q:("a b",c)`,
	`q:"*"`,
	`city:Zürich`,
	"raw:\xff\xfe AND x:\x00",
	`purchase:shirts >= 3 IN 90d`,
	`cart_add IN 7d AND NOT purchase IN 7d`,
	`purchase:(a,b) BETWEEN 2026-01-01 AND 2026-02-01`,
	`purchase BETWEEN 1767225600 AND 2026-02-01T10:00:00+02:00`,
	`purchase:* EVER`,
	`login IN 90m OR login IN 36h OR login IN 2w`,
	`TOP 10% BY spend:apparel IN 365d`,
	`TOP 100 BY lifetime_spend`,
	`SAMPLE 10% SEED 7`,
	`@vip AND SAMPLE 10% SEED 7`,
	`@vip`,
	`ALL`,
	`a:1 OR b:2 AND c:3 XOR d:4`,
	`NOT (a:1 AND b:2) XOR NOT NOT c:3`,
	`((a:1 OR b:2) OR (c:3)) AND e:5`,
	`country:US AND age:[20 TO 35] AND interests:fitness AND NOT @churned`,
	`gender:M and age:[20 to 35] and purchase:apparel >= 2 in 180d`,
	`country:`,
	`(country:US`,
	`AND:x`,
	`age => 3`,
	`x:"unterminated`,
	`TOP 101% BY x`,
	`SAMPLE 0%`,
	`p BETWEEN 2026-13-01 AND 2026-02-01`,
	`(((((a:b)))))`,
	`NOT NOT NOT NOT a:b`,
}

func FuzzParse(f *testing.F) {
	for _, s := range pxFuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n, err := Parse(in)
		if err != nil {
			if n != nil {
				t.Fatalf("Parse(%q) returned a node and an error", in)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q): error %T, want *SyntaxError", in, err)
			}
			if se.Pos < 1 || se.Pos > len(in)+1 {
				t.Fatalf("Parse(%q): position %d outside 1..%d", in, se.Pos, len(in)+1)
			}
			if strings.ContainsAny(se.Msg, "\r\n") {
				t.Fatalf("Parse(%q): line break in message %q", in, se.Msg)
			}
			return
		}
		text := Format(n)
		m, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q) ok, but Parse(Format) = Parse(%q): %v", in, text, err)
		}
		if !reflect.DeepEqual(pxZero(n), pxZero(m)) {
			t.Fatalf("round trip of %q through %q changed the tree:\n%#v\n%#v", in, text, pxZero(n), pxZero(m))
		}
		if again := Format(m); again != text {
			t.Fatalf("Format not stable for %q: %q then %q", in, text, again)
		}
	})
}

func FuzzParseMeasure(f *testing.F) {
	for _, s := range []string{
		`lifetime_spend`,
		`spend:apparel IN 365d`,
		`spend:(a,"b c") BETWEEN 2026-01-01 AND 1767225600`,
		`spend:* EVER`,
		`spend:IN`,
		`spend:[1 TO 2]`,
		`IN`,
		`spend >= 3`,
		`spend:"x`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		m, err := ParseMeasure(in)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("ParseMeasure(%q): error %T, want *SyntaxError", in, err)
			}
			if se.Pos < 1 || se.Pos > len(in)+1 {
				t.Fatalf("ParseMeasure(%q): position %d outside 1..%d", in, se.Pos, len(in)+1)
			}
			return
		}
		if m.Sel == SelRange {
			t.Fatalf("ParseMeasure(%q) returned a range", in)
		}
		text := FormatMeasure(m)
		back, err := ParseMeasure(text)
		if err != nil {
			t.Fatalf("ParseMeasure(%q) ok, but ParseMeasure(%q): %v", in, text, err)
		}
		if !reflect.DeepEqual(pxZero(m), pxZero(back)) {
			t.Fatalf("measure round trip of %q through %q changed it:\n%#v\n%#v", in, text, pxZero(m), pxZero(back))
		}
		// The same measure inside TOP parses to the same measure.
		n, err := Parse("TOP 1 BY " + text)
		if err != nil {
			t.Fatalf("Parse(TOP 1 BY %s): %v", text, err)
		}
		if got := pxZero(n).(*Top).Measure; !reflect.DeepEqual(&got, pxZero(m)) {
			t.Fatalf("measure %q differs inside TOP", text)
		}
	})
}
