package index_test

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/segd-db/segd/index"
)

// BenchmarkTopPercentRepeat asks the same TOP 10% BY an event sum over a
// year again and again with no write between: the answer is cached, and
// asking again should cost no summing of the year's buckets.
func BenchmarkTopPercentRepeat(b *testing.B) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	e := index.New()
	e.SetClock(func() time.Time { return now })
	r := rand.New(rand.NewSource(1))
	for i := range 20000 {
		for range 10 {
			at := now.Add(-time.Duration(r.Intn(360*24)) * time.Hour)
			if _, err := e.Apply(&index.Mutation{Op: index.OpTrack, Key: fmt.Sprintf("u:%d", i), Field: "spend", Values: []string{"apparel"}, At: at, Amount: int64(1 + r.Intn(10000))}); err != nil {
				b.Fatal(err)
			}
		}
	}
	const q = "TOP 10% BY spend:apparel IN 365d"
	if _, err := e.Count(q, time.Time{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := e.Count(q, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
}
