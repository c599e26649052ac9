package protocol

import (
	"math"
	"strconv"
	"testing"
)

func TestEncGolden(t *testing.T) {
	cases := []struct {
		name         string
		f            func(e *Enc)
		resp2, resp3 string
	}{
		{"SimpleString", func(e *Enc) { e.SimpleString("OK") }, "+OK\r\n", "+OK\r\n"},
		{"SimpleStringCRLF", func(e *Enc) { e.SimpleString("a\r\nb") }, "+a  b\r\n", "+a  b\r\n"},
		{"OK", func(e *Enc) { e.OK() }, "+OK\r\n", "+OK\r\n"},
		{"Error", func(e *Enc) { e.Error("ERR unknown field 'contry'") }, "-ERR unknown field 'contry'\r\n", "-ERR unknown field 'contry'\r\n"},
		{"ErrorCRLF", func(e *Enc) { e.Error("ERR bad\r\nthing\n") }, "-ERR bad  thing \r\n", "-ERR bad  thing \r\n"},
		{"Int", func(e *Enc) { e.Int(42) }, ":42\r\n", ":42\r\n"},
		{"IntNeg", func(e *Enc) { e.Int(-7) }, ":-7\r\n", ":-7\r\n"},
		{"IntMin", func(e *Enc) { e.Int(math.MinInt64) }, ":-9223372036854775808\r\n", ":-9223372036854775808\r\n"},
		{"Bulk", func(e *Enc) { e.Bulk([]byte("u:42")) }, "$4\r\nu:42\r\n", "$4\r\nu:42\r\n"},
		{"BulkEmpty", func(e *Enc) { e.Bulk(nil) }, "$0\r\n\r\n", "$0\r\n\r\n"},
		{"BulkBinary", func(e *Enc) { e.Bulk([]byte("a\r\nb")) }, "$4\r\na\r\nb\r\n", "$4\r\na\r\nb\r\n"},
		{"BulkString", func(e *Enc) { e.BulkString("hello") }, "$5\r\nhello\r\n", "$5\r\nhello\r\n"},
		{"BulkInt", func(e *Enc) { e.BulkInt(0) }, "$1\r\n0\r\n", "$1\r\n0\r\n"},
		{"BulkIntBig", func(e *Enc) { e.BulkInt(-1234567) }, "$8\r\n-1234567\r\n", "$8\r\n-1234567\r\n"},
		{"Null", func(e *Enc) { e.Null() }, "$-1\r\n", "_\r\n"},
		{"NullArray", func(e *Enc) { e.NullArray() }, "*-1\r\n", "_\r\n"},
		{"Array", func(e *Enc) { e.Array(2); e.Int(1); e.BulkString("a") }, "*2\r\n:1\r\n$1\r\na\r\n", "*2\r\n:1\r\n$1\r\na\r\n"},
		{"ArrayEmpty", func(e *Enc) { e.Array(0) }, "*0\r\n", "*0\r\n"},
		{"Map", func(e *Enc) { e.Map(1); e.BulkString("k"); e.Int(1) }, "*2\r\n$1\r\nk\r\n:1\r\n", "%1\r\n$1\r\nk\r\n:1\r\n"},
		{"MapEmpty", func(e *Enc) { e.Map(0) }, "*0\r\n", "%0\r\n"},
		{"Set", func(e *Enc) { e.Set(2); e.SimpleString("a"); e.SimpleString("b") }, "*2\r\n+a\r\n+b\r\n", "~2\r\n+a\r\n+b\r\n"},
		{"Push", func(e *Enc) { e.Push(3); e.BulkString("message"); e.BulkString("c"); e.BulkString("m") },
			"*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n", ">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n"},
		{"Double", func(e *Enc) { e.Double(1.5) }, "$3\r\n1.5\r\n", ",1.5\r\n"},
		{"DoubleInt", func(e *Enc) { e.Double(1e6) }, "$7\r\n1000000\r\n", ",1000000\r\n"},
		{"DoubleTenth", func(e *Enc) { e.Double(0.1) }, "$3\r\n0.1\r\n", ",0.1\r\n"},
		{"DoubleZero", func(e *Enc) { e.Double(0) }, "$1\r\n0\r\n", ",0\r\n"},
		{"DoubleNegZero", func(e *Enc) { e.Double(math.Copysign(0, -1)) }, "$2\r\n-0\r\n", ",-0\r\n"},
		{"DoubleBig", func(e *Enc) { e.Double(1.5e300) }, "$8\r\n1.5e+300\r\n", ",1.5e+300\r\n"},
		{"DoubleSmall", func(e *Enc) { e.Double(-2.5e-7) }, "$8\r\n-2.5e-07\r\n", ",-2.5e-07\r\n"},
		{"DoubleInf", func(e *Enc) { e.Double(math.Inf(1)) }, "$3\r\ninf\r\n", ",inf\r\n"},
		{"DoubleNegInf", func(e *Enc) { e.Double(math.Inf(-1)) }, "$4\r\n-inf\r\n", ",-inf\r\n"},
		{"DoubleNaN", func(e *Enc) { e.Double(math.NaN()) }, "$3\r\nnan\r\n", ",nan\r\n"},
		{"BoolTrue", func(e *Enc) { e.Bool(true) }, ":1\r\n", "#t\r\n"},
		{"BoolFalse", func(e *Enc) { e.Bool(false) }, ":0\r\n", "#f\r\n"},
		{"BigNumber", func(e *Enc) { e.BigNumber("3492890328409238509324850943850943825024385") },
			"$43\r\n3492890328409238509324850943850943825024385\r\n", "(3492890328409238509324850943850943825024385\r\n"},
		{"Verbatim", func(e *Enc) { e.Verbatim("txt", "# Server\r\nredis_version:7.0.0\r\n") },
			"$31\r\n# Server\r\nredis_version:7.0.0\r\n\r\n", "=35\r\ntxt:# Server\r\nredis_version:7.0.0\r\n\r\n"},
		{"VerbatimShortFormat", func(e *Enc) { e.Verbatim("md", "x") }, "$1\r\nx\r\n", "=5\r\nmd :x\r\n"},
		{"Raw", func(e *Enc) { e.Raw([]byte("+PONG\r\n")) }, "+PONG\r\n", "+PONG\r\n"},
	}
	for _, c := range cases {
		for _, proto := range []int{2, 3} {
			e := &Enc{Proto: proto}
			c.f(e)
			want := c.resp2
			if proto == 3 {
				want = c.resp3
			}
			if string(e.B) != want {
				t.Errorf("%s RESP%d: got %q, want %q", c.name, proto, e.B, want)
			}
			// Every reply parses back as exactly one value.
			if _, rest, err := parseRV(e.B); err != nil || len(rest) != 0 {
				if c.name != "Array" && c.name != "Map" && c.name != "Set" && c.name != "Push" {
					t.Errorf("%s RESP%d: does not parse: %v (rest %q)", c.name, proto, err, rest)
				}
			}
		}
	}
}

func TestEncZeroValueIsResp2(t *testing.T) {
	var e Enc
	e.Map(1)
	e.Null()
	if string(e.B) != "*2\r\n$-1\r\n" {
		t.Fatalf("got %q", e.B)
	}
	if e.Resp3() {
		t.Fatal("zero Enc must be RESP2")
	}
}

func TestEncReset(t *testing.T) {
	e := &Enc{Proto: 3, B: make([]byte, 0, 64)}
	e.Int(1)
	c := cap(e.B)
	e.Reset()
	if len(e.B) != 0 || cap(e.B) != c || e.Proto != 3 {
		t.Fatalf("Reset: len %d cap %d proto %d", len(e.B), cap(e.B), e.Proto)
	}
}

func TestAppendDoubleRoundTrips(t *testing.T) {
	for _, f := range []float64{1, -1, 0.1, 1.0 / 3, 123456.789, 1e16, 9.999e16, 1e17, 1e-4, 9.99e-5, math.MaxFloat64, math.SmallestNonzeroFloat64, 2.5} {
		s := string(AppendDouble(nil, f))
		g, err := strconv.ParseFloat(s, 64)
		if err != nil || g != f {
			t.Errorf("%v -> %q -> %v (%v)", f, s, g, err)
		}
	}
}

func TestEncNoAllocs(t *testing.T) {
	e := &Enc{Proto: 3, B: make([]byte, 0, 4096)}
	val := []byte("some-value")
	for name, f := range map[string]func(){
		"Int":        func() { e.Int(1234567) },
		"Bulk":       func() { e.Bulk(val) },
		"BulkString": func() { e.BulkString("abc") },
		"BulkInt":    func() { e.BulkInt(99) },
		"Double":     func() { e.Double(3.25) },
		"Map":        func() { e.Map(3) },
		"Null":       func() { e.Null() },
		"Error":      func() { e.Error("ERR x") },
		"Verbatim":   func() { e.Verbatim("txt", "abc") },
	} {
		allocs := testing.AllocsPerRun(100, func() {
			e.Reset()
			f()
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations", name, allocs)
		}
	}
}

func BenchmarkEncInt(b *testing.B) {
	e := &Enc{Proto: 2, B: make([]byte, 0, 64)}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		e.Reset()
		e.Int(int64(i))
	}
}

func BenchmarkEncBulk(b *testing.B) {
	e := &Enc{Proto: 2, B: make([]byte, 0, 64)}
	v := []byte("customer:000042")
	b.ReportAllocs()
	b.SetBytes(int64(len(v)))
	for i := 0; i < b.N; i++ {
		e.Reset()
		e.Bulk(v)
	}
}

func BenchmarkEncDouble(b *testing.B) {
	e := &Enc{Proto: 3, B: make([]byte, 0, 64)}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		e.Reset()
		e.Double(1234.5678)
	}
}

// BenchmarkEncMembersPage encodes a QUERY.MEMBERS page of 100 keys.
func BenchmarkEncMembersPage(b *testing.B) {
	keys := make([][]byte, 100)
	for i := range keys {
		keys[i] = []byte("customer:" + string(rune('a'+i%26)) + "0000042")
	}
	e := &Enc{Proto: 3, B: make([]byte, 0, 4096)}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		e.Reset()
		e.Array(2)
		e.BulkInt(12345)
		e.Array(len(keys))
		for _, k := range keys {
			e.Bulk(k)
		}
	}
}

// BenchmarkEncMap encodes a FIELD.INFO-like map.
func BenchmarkEncMap(b *testing.B) {
	e := &Enc{Proto: 3, B: make([]byte, 0, 512)}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		e.Reset()
		e.Map(5)
		e.BulkString("name")
		e.BulkString("country")
		e.BulkString("kind")
		e.BulkString("ENUM")
		e.BulkString("values")
		e.Int(193)
		e.BulkString("entities")
		e.Int(9_800_000)
		e.BulkString("mean")
		e.Double(41.25)
	}
}
