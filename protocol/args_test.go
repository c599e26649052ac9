package protocol

import (
	"math"
	"strconv"
	"testing"
)

func TestParseInt(t *testing.T) {
	good := map[string]int64{
		"0": 0, "1": 1, "-1": -1, "42": 42, "1000": 1000,
		"9223372036854775807":  math.MaxInt64,
		"-9223372036854775808": math.MinInt64,
	}
	for s, want := range good {
		got, err := ParseInt([]byte(s))
		if err != nil || got != want {
			t.Errorf("ParseInt(%q) = %d, %v; want %d", s, got, err, want)
		}
		if !IsCanonicalInt([]byte(s)) {
			t.Errorf("IsCanonicalInt(%q) = false", s)
		}
	}
	bad := []string{
		"", "-", "+1", " 1", "1 ", "01", "00", "-0", "-01", "1.0", "1e3", "0x10", "abc", "1a",
		"9223372036854775808", "-9223372036854775809", "18446744073709551616",
		"99999999999999999999", "-99999999999999999999", "123456789012345678901",
		"１", "\x00",
	}
	for _, s := range bad {
		if n, err := ParseInt([]byte(s)); err == nil {
			t.Errorf("ParseInt(%q) = %d, want error", s, n)
		} else if err != ErrNotInteger {
			t.Errorf("ParseInt(%q): error %v", s, err)
		}
		if IsCanonicalInt([]byte(s)) {
			t.Errorf("IsCanonicalInt(%q) = true", s)
		}
	}
	// Agrees with strconv on canonical forms.
	for _, n := range []int64{7, -7, 1 << 40, -(1 << 62), 999999999999} {
		s := strconv.FormatInt(n, 10)
		if got, err := ParseInt([]byte(s)); err != nil || got != n {
			t.Errorf("ParseInt(%q) = %d, %v", s, got, err)
		}
	}
	b := []byte("-1234567")
	if a := testing.AllocsPerRun(100, func() { _, _ = ParseInt(b) }); a != 0 {
		t.Errorf("ParseInt allocates %v", a)
	}
}

func FuzzParseInt(f *testing.F) {
	for _, s := range []string{"0", "-0", "01", "9223372036854775807", "-9223372036854775808", "+5", "12a"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := ParseInt(b)
		if err != nil {
			return
		}
		// Accepted exactly when it is strconv's canonical form.
		if strconv.FormatInt(n, 10) != string(b) {
			t.Fatalf("ParseInt(%q) = %d, not canonical", b, n)
		}
	})
}

func TestEqualFold(t *testing.T) {
	cases := []struct {
		b, s string
		want bool
	}{
		{"count", "COUNT", true},
		{"CoUnT", "COUNT", true},
		{"COUNT", "count", true},
		{"COUNTS", "COUNT", false},
		{"", "", true},
		{"a", "", false},
		{"[", "{", false}, // '[' + 32 is '{': must not fold
		{"@", "`", false},
		{"é", "É", false},
		{"query.count", "QUERY.COUNT", true},
	}
	for _, c := range cases {
		if got := EqualFold([]byte(c.b), c.s); got != c.want {
			t.Errorf("EqualFold(%q, %q) = %v", c.b, c.s, got)
		}
	}
	b := []byte("WhErE")
	if a := testing.AllocsPerRun(100, func() { EqualFold(b, "WHERE") }); a != 0 {
		t.Errorf("EqualFold allocates %v", a)
	}
}

func bs(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

var membersOpts = []Option{{"CURSOR", 1}, {"COUNT", 1}, {"AT", 1}, {"REPLACE", 0}, {"PAIR", 2}}

func TestParseOptions(t *testing.T) {
	if _, err := ParseOptions("QUERY.MEMBERS", bs("count", "10", "COUNT", "20"), membersOpts); err == nil || err.Error() != "option COUNT given twice" {
		t.Errorf("an option given twice: %v", err)
	}
	o, err := ParseOptions("QUERY.MEMBERS", bs("Cursor", "abc", "REPLACE", "pair", "x", "y", "COUNT", "20"), membersOpts)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Has("COUNT") || !o.Has("cursor") || !o.Has("REPLACE") || o.Has("AT") {
		t.Error("Has")
	}
	if string(o.Value("CURSOR")) != "abc" || o.Value("AT") != nil || o.Value("REPLACE") != nil {
		t.Error("Value")
	}
	if n, err := o.Int("COUNT", 100); err != nil || n != 20 {
		t.Errorf("Int COUNT = %d, %v", n, err)
	}
	if n, err := o.Int("AT", 7); err != nil || n != 7 {
		t.Errorf("Int default = %d, %v", n, err)
	}
	if v := o.Values("PAIR"); len(v) != 2 || string(v[0]) != "x" || string(v[1]) != "y" {
		t.Errorf("Values PAIR = %q", v)
	}
	if o.Values("NOSUCH") != nil || o.Has("NOSUCH") {
		t.Error("unknown token found")
	}

	o, err = ParseOptions("QUERY.COUNT", nil, membersOpts)
	if err != nil || o.Has("COUNT") {
		t.Errorf("empty: %v", err)
	}

	errs := map[string][][]byte{
		"unknown option 'FOO' for 'QUERY.COUNT'": bs("FOO"),
		"unknown option 'bar' for 'QUERY.COUNT'": bs("COUNT", "1", "bar", "2"),
		"option COUNT needs a value":             bs("count"),
		"option PAIR needs 2 values":             bs("PAIR", "x"),
	}
	for want, args := range errs {
		if _, err := ParseOptions("QUERY.COUNT", args, membersOpts); err == nil || err.Error() != want {
			t.Errorf("%q: error %v, want %q", args, err, want)
		}
	}
	o, _ = ParseOptions("QUERY.COUNT", bs("COUNT", "ten"), membersOpts)
	if _, err := o.Int("COUNT", 0); err == nil || err.Error() != "COUNT is not an integer or out of range" {
		t.Errorf("Int error %v", err)
	}

	args := bs("COUNT", "10", "AT", "2026-11-22", "REPLACE")
	if a := testing.AllocsPerRun(100, func() {
		o, _ := ParseOptions("QUERY.MEMBERS", args, membersOpts)
		_, _ = o.Int("COUNT", 100)
		o.Value("AT")
	}); a != 0 {
		t.Errorf("ParseOptions allocates %v", a)
	}
}

func TestParseOptionsTooManyPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for a spec over MaxOptions")
		}
	}()
	_, _ = ParseOptions("X", nil, make([]Option, MaxOptions+1))
}

func BenchmarkParseOptions(b *testing.B) {
	args := bs("CURSOR", "1234", "COUNT", "100", "AT", "1763805600")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		o, _ := ParseOptions("QUERY.MEMBERS", args, membersOpts)
		_, _ = o.Int("COUNT", 100)
	}
}

func BenchmarkLookup(b *testing.B) {
	name := []byte("QUERY.COUNT")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Lookup(name)
	}
}
