package bench

import (
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"testing"

	"github.com/segd-db/segd/index"
	"github.com/segd-db/segd/internal/hugepages"
)

// BenchmarkSegmentWireWrite is the write of `segd-bench run --mix set` in
// the engine: ENT.SET of a random customer's tier (uniform) and age (18 to
// 90, uniform), with the changes kept and drained every 64 writes as the
// server's committer does, without and then with SegmentCount segments,
// after as many such writes as there are customers (the state a server
// reaches after a few rounds of the mix). Like segd (--huge-pages), it
// backs the engine with transparent huge pages; SEGD_BENCH_HUGEPAGES=0
// keeps 4 KiB pages.
//
//	SEGD_BENCH_SIZES=1000000 go test ./bench -run '^$' -bench SegmentWireWrite -benchtime 200000x
func BenchmarkSegmentWireWrite(b *testing.B) {
	for _, n := range benchSizes(b) {
		for _, withSegs := range []bool{false, true} {
			e := loadedEngine(b, n)
			if !withSegs {
				// The steady state of repeated runs: most customers have
				// been written with uniform tiers and ages.
				r := rand.New(rand.NewSource(9))
				for i := 0; i < n; i++ {
					wireWrite(b, e, r, n)
				}
			}
			if withSegs {
				defineSegments(b, e)
			} else if len(e.Segments()) > 0 {
				b.Skip("the cached engine already has segments")
			}
			if os.Getenv("SEGD_BENCH_HUGEPAGES") != "0" {
				// As segd does by default (--huge-pages).
				if _, err := hugepages.Collapse(); err != nil {
					b.Fatal(err)
				}
			}
			e.KeepChanges(true)
			name := fmt.Sprintf("%s/segments=%d", sizeName(n), map[bool]int{false: 0, true: SegmentCount}[withSegs])
			b.Run(name, func(b *testing.B) {
				// Not the keys and values of the other run, nor of the
				// previous one (-count): writes that change nothing skip
				// segment maintenance.
				wireRuns++
				r := rand.New(rand.NewSource(int64(5 + len(e.Segments()) + 1000*wireRuns)))
				changes := 0
				defer cpuPerOp(b)()
				for i := 0; i < b.N; i++ {
					wireWrite(b, e, r, n)
					if i%64 == 63 {
						changes += len(e.DrainChanges())
					}
				}
				changes += len(e.DrainChanges())
				b.ReportMetric(float64(changes)/float64(b.N), "changes/op")
			})
			e.KeepChanges(false)
		}
	}
}

// wireRuns counts the runs of BenchmarkSegmentWireWrite, for their seeds.
var wireRuns int

// wireWrite applies the write of the set mix to a random customer.
func wireWrite(b *testing.B, e *index.Engine, r *rand.Rand, n int) {
	m := &index.Mutation{Op: index.OpSet, Key: Key(r.Intn(n)), Pairs: []index.Pair{
		{Field: "tier", Value: tiers[r.Intn(len(tiers))]}, {Field: "age", Value: strconv.Itoa(18 + r.Intn(73))}}}
	if _, err := e.Apply(m); err != nil {
		b.Fatal(err)
	}
}
