package bench

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/segd-db/segd/index"
)

// Saved segment and analytics benchmarks on the generated population, with
// SegmentCount saved segments defined (SEGD_BENCH_SIZES as for Engine):
//
//	SEGD_BENCH_SIZES=10000000 go test ./bench -run '^$' -bench Segment -benchtime 2s -timeout 60m

// defineSegments saves SegmentCount segments on e (once).
func defineSegments(b *testing.B, e *index.Engine) {
	if len(e.Segments()) >= SegmentCount {
		return
	}
	start := time.Now()
	for i, expr := range SegmentExprs(SegmentCount) {
		m := &index.Mutation{Op: index.OpSegmentCreate, Key: fmt.Sprintf("s%d", i), Values: []string{expr}}
		if _, err := e.Apply(m); err != nil {
			b.Fatalf("segment %d %q: %v", i, expr, err)
		}
	}
	b.Logf("%d segments saved in %.1fs", SegmentCount, time.Since(start).Seconds())
}

// BenchmarkSegmentWrite: ENT.SET of an existing customer's country, tier
// and interests-free fields in the engine, with no saved segment and with
// SegmentCount of them (separate engines of the same population).
func BenchmarkSegmentWrite(b *testing.B) {
	for _, n := range benchSizes(b) {
		for _, withSegs := range []bool{false, true} {
			e := loadedEngine(b, n)
			if withSegs {
				defineSegments(b, e)
			} else if len(e.Segments()) > 0 {
				b.Skip("the cached engine already has segments (BenchmarkSegmentWrite runs first in this file)")
			}
			name := fmt.Sprintf("%s/segments=%d", sizeName(n), map[bool]int{false: 0, true: SegmentCount}[withSegs])
			b.Run(name, func(b *testing.B) {
				p := NewPopulation(7)
				// Other draws than the run without segments before it on the
				// same engine: writes of values a customer already holds
				// change nothing and skip segment maintenance.
				r := rand.New(rand.NewSource(3 + int64(len(e.Segments()))))
				defer cpuPerOp(b)()
				for i := 0; i < b.N; i++ {
					c := p.Customer(r.Intn(n))
					m := &index.Mutation{Op: index.OpSet, Key: Key(r.Intn(n)), Pairs: []index.Pair{
						{Field: "country", Value: c.Country}, {Field: "tier", Value: c.Tier}, {Field: "age", Value: fmt.Sprint(c.Age)}}}
					if _, err := e.Apply(m); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkSegment(b *testing.B) {
	for _, n := range benchSizes(b) {
		e := loadedEngine(b, n)
		defineSegments(b, e)
		keys := make([]string, 4096)
		r := rand.New(rand.NewSource(1))
		for i := range keys {
			keys[i] = Key(r.Intn(n))
		}
		b.Run(sizeName(n)+"/ismember", func(b *testing.B) {
			defer cpuPerOp(b)()
			for i := 0; i < b.N; i++ {
				if _, err := e.SegmentIsMember("s7", keys[i%len(keys)]); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(sizeName(n)+"/card", func(b *testing.B) {
			defer cpuPerOp(b)()
			for i := 0; i < b.N; i++ {
				if _, err := e.SegmentCard("s7"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(sizeName(n)+"/of200", func(b *testing.B) {
			defer cpuPerOp(b)()
			for i := 0; i < b.N; i++ {
				e.SegmentsOf(keys[i%len(keys)])
			}
		})
		names := make([]string, 10)
		for i := range names {
			names[i] = fmt.Sprintf("s%d", i)
		}
		b.Run(sizeName(n)+"/overlap10", func(b *testing.B) {
			defer cpuPerOp(b)()
			for i := 0; i < b.N; i++ {
				if _, err := e.SegmentOverlap(names); err != nil {
					b.Fatal(err)
				}
			}
		})
		card, _ := e.SegmentCard("s0")
		b.Run(sizeName(n)+"/profile", func(b *testing.B) {
			b.ReportMetric(float64(card), "members")
			for i := 0; i < b.N; i++ {
				if _, err := e.Profile("s0", 0, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(sizeName(n)+"/lookalike1000", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := e.Lookalike("s0", 1000, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
