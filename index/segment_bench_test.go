package index_test

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/segd-db/segd/index"
)

// segBenchEngine is n entities with a few fields and nseg saved segments of
// 2–4 terms over them.
func segBenchEngine(b *testing.B, n, nseg int) *index.Engine {
	b.Helper()
	e := index.New()
	r := rand.New(rand.NewSource(1))
	for i := 0; i < n; i++ {
		m := &index.Mutation{Op: index.OpSet, Key: fmt.Sprintf("u:%d", i), Pairs: []index.Pair{
			{Field: "country", Value: fmt.Sprintf("c%d", r.Intn(50))},
			{Field: "tier", Value: fmt.Sprintf("t%d", r.Intn(4))},
			{Field: "gender", Value: []string{"F", "M"}[r.Intn(2)]},
			{Field: "age", Value: fmt.Sprint(18 + r.Intn(70))},
		}}
		if _, err := e.Apply(m); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < nseg; i++ {
		expr := fmt.Sprintf("country:c%d AND tier:t%d", r.Intn(50), r.Intn(4))
		switch i % 3 {
		case 1:
			expr += fmt.Sprintf(" AND age:[%d TO %d]", 18+r.Intn(30), 50+r.Intn(30))
		case 2:
			expr += " AND NOT gender:M"
		}
		if _, err := e.Apply(&index.Mutation{Op: index.OpSegmentCreate, Key: fmt.Sprintf("s%d", i), Values: []string{expr}}); err != nil {
			b.Fatal(err)
		}
	}
	return e
}

// BenchmarkSegmentWrite: ENT.SET of two fields of an existing entity, with
// 0 and 200 saved segments reading those fields.
func BenchmarkSegmentWrite(b *testing.B) {
	for _, nseg := range []int{0, 200} {
		b.Run(fmt.Sprintf("segments=%d", nseg), func(b *testing.B) {
			e := segBenchEngine(b, 100_000, nseg)
			r := rand.New(rand.NewSource(2))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m := &index.Mutation{Op: index.OpSet, Key: fmt.Sprintf("u:%d", r.Intn(100_000)), Pairs: []index.Pair{
					{Field: "country", Value: fmt.Sprintf("c%d", r.Intn(50))}, {Field: "tier", Value: fmt.Sprintf("t%d", r.Intn(4))}}}
				if _, err := e.Apply(m); err != nil {
					b.Fatal(err)
				}
				if i%1024 == 0 {
					e.DrainChanges()
				}
			}
		})
	}
}

func BenchmarkSegmentReads(b *testing.B) {
	e := segBenchEngine(b, 100_000, 200)
	b.Run("ismember", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			_, _ = e.SegmentIsMember("s7", fmt.Sprintf("u:%d", i%100_000))
		}
	})
	b.Run("card", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			_, _ = e.SegmentCard("s7")
		}
	})
	b.Run("of", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			e.SegmentsOf(fmt.Sprintf("u:%d", i%100_000))
		}
	})
	_ = time.Second
}
