package expr

import (
	"reflect"
	"testing"
)

var pxRoundTripInputs = []string{
	`country:US`,
	`country:(US,FR)`,
	`country:(US)`,
	`country:*`,
	`age:[20 TO 35]`,
	`age:[5 TO 1]`,
	`delta:[-10 TO 5]`,
	`age>=30`,
	`spend > -1`,
	`country:IN`,
	`ref:utm:google`,
	`city:"New York"`,
	`q:"say \"hi\" \\ now"`,
	`q:"*"`,
	`q:("a b",c,"d,e","(x)","[y]")`,
	"raw:\xff\x00",
	`purchase:shirts >= 3 IN 90d`,
	`cart_add IN 7d AND NOT purchase IN 7d`,
	`purchase:(a,b) BETWEEN 2026-01-01 AND 2026-02-01`,
	`purchase BETWEEN 1767225600 AND 2026-02-01T10:00:00.5+02:00 AND x:y`,
	`purchase:* EVER`,
	`p IN 60m OR p IN 48h OR p IN 14d OR p IN 1440m`,
	`TOP 10% BY spend:apparel IN 365d`,
	`TOP 100 BY lifetime_spend`,
	`TOP 3 BY spend:(a,"b c") BETWEEN 2026-01-01 AND 2026-01-02 AND @x`,
	`SAMPLE 10% SEED 7`,
	`SAMPLE 10%`,
	`NOT SAMPLE 50% SEED -3 AND @vip`,
	`@vip`,
	`@a.b:c-d`,
	`ALL`,
	`NOT ALL`,
	`a:1 OR b:2 AND c:3`,
	`(a:1 OR b:2) AND c:3`,
	`(a:1 XOR b:2) AND (c:3 OR d:4)`,
	`a:1 XOR (b:2 OR c:3) XOR d:4`,
	`NOT (a:1 AND b:2)`,
	`NOT (a:1 OR b:2) XOR NOT NOT c:3`,
	`NOT NOT NOT x:y`,
	`(a:1 AND b:2) AND (c:3 AND d:4)`,
	`((a:1 OR b:2) OR (c:3 OR d:4)) AND e:5`,
	`country:US AND age:[20 TO 35] AND interests:fitness AND NOT @churned`,
	`gender:M AND age:[20 TO 35] AND purchase:apparel >= 2 IN 180d`,
	`@campaign AND NOT SAMPLE 10% SEED 3`,
	`p:x EVER AND q`,
	`purchase:IN IN 7d`,
	`x:and OR y:NOT`,
}

func TestFormatRoundTrip(t *testing.T) {
	for _, in := range pxRoundTripInputs {
		n, err := Parse(in)
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		text := Format(n)
		m, err := Parse(text)
		if err != nil {
			t.Errorf("Parse(Format(Parse(%q))) = Parse(%q): %v", in, text, err)
			continue
		}
		if !reflect.DeepEqual(pxZero(n), pxZero(m)) {
			t.Errorf("round trip of %q through %q changed the tree:\n %#v\n %#v", in, text, pxZero(n), pxZero(m))
		}
		if again := Format(m); again != text {
			t.Errorf("Format not stable for %q: %q then %q", in, text, again)
		}
	}
}

func TestFormatCanonical(t *testing.T) {
	tests := []struct{ in, want string }{
		{`country:US`, `country:US`},
		{`  country:( US ,FR )`, `country:(US,FR)`},
		{`country:(US)`, `country:US`},
		{`age>=30`, `age >= 30`},
		{`age:[ 1 to 2 ]`, `age:[1 TO 2]`},
		{`a:x and not b:y or c:z xor d:w`, `a:x AND NOT b:y OR c:z XOR d:w`},
		{`(a:x or b:y) and c:z`, `(a:x OR b:y) AND c:z`},
		{`((a:x and b:y)) and c:z`, `a:x AND b:y AND c:z`},
		{`not (not a:x)`, `NOT NOT a:x`},
		{`q:"plain"`, `q:plain`},
		{`q:"a b"`, `q:"a b"`},
		{`q:"a\\b"`, `q:a\b`},
		{`q:"a \\b"`, `q:"a \\b"`},
		{`q:"*"`, `q:"*"`},
		{`p in 7d`, `p IN 1w`},
		{`p in 1440m`, `p IN 1d`},
		{`p in 90m`, `p IN 90m`},
		{`p in 36h`, `p IN 36h`},
		{`p ever`, `p EVER`},
		{`p between 1767225600 and 2026-01-02T00:00:00+01:00`, `p BETWEEN 2026-01-01 AND 2026-01-01T23:00:00Z`},
		{`top 10 % by spend:x in 365d`, `TOP 10% BY spend:x IN 365d`},
		{`sample 5 % seed 9`, `SAMPLE 5% SEED 9`},
		{`all`, `ALL`},
	}
	for _, tc := range tests {
		n, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got := Format(n); got != tc.want {
			t.Errorf("Format(Parse(%q)) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
