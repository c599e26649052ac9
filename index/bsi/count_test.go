package bsi

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
)

// Counts over non-negative values with a dense filter take the path that
// never builds exists ∧ filter.
func TestBSICountRangeNonNegativeFilter(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	b, m := New(), bsiModel{}
	filter := roaring.New()
	for id := range uint32(300_000) {
		if id%5 != 0 { // some entities have no value
			v := int64(r.IntN(1001))
			b.Set(id, v)
			m[id] = v
		}
		if id%3 == 0 || id%7 == 0 {
			filter.Add(id)
		}
	}
	bounds := [][2]int64{{0, 1000}, {0, 0}, {1, 1}, {0, 511}, {512, 1000}, {25, 34}, {40, math.MaxInt64},
		{math.MinInt64, 40}, {-5, 10}, {999, 2000}, {1001, 5000}, {300, 299}}
	for range 20 {
		lo := int64(r.IntN(1100))
		bounds = append(bounds, [2]int64{lo, lo + int64(r.IntN(400))})
	}
	for _, lh := range bounds {
		lo, hi := lh[0], lh[1]
		want := m.match(filter, func(v int64) bool { return lo <= v && v <= hi }).GetCardinality()
		if got := b.CountRange(lo, hi, filter); got != want {
			t.Fatalf("CountRange [%d, %d] = %d, want %d", lo, hi, got, want)
		}
	}
}
