package bsi

import (
	"math/rand"
	"reflect"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
)

// TestBucketCounts: the plane-wise split counts each range exactly, for
// signed values, ranges beyond the data, gaps between ranges and filters.
func TestBucketCounts(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	for round := 0; round < 200; round++ {
		b := New()
		vals := map[uint32]int64{}
		spread := int64(1) << uint(r.Intn(40))
		for i := 0; i < 1+r.Intn(3000); i++ {
			id := uint32(r.Intn(200000))
			v := r.Int63n(spread) - spread/3
			if r.Intn(20) == 0 {
				v = spread
			}
			b.Set(id, v)
			vals[id] = v
		}
		var ranges [][2]int64
		at := -spread - r.Int63n(spread/2+1)
		for len(ranges) < 1+r.Intn(12) {
			lo := at + r.Int63n(spread/4+1)
			hi := lo + r.Int63n(spread/3+1)
			if r.Intn(4) == 0 {
				hi = lo
			}
			ranges = append(ranges, [2]int64{lo, hi})
			at = hi + 1
		}
		var filter *roaring.Bitmap
		if r.Intn(2) == 0 {
			filter = roaring.New()
			for i := 0; i < r.Intn(100000); i++ {
				filter.Add(uint32(r.Intn(200000)))
			}
		}
		got := b.BucketCounts(filter, ranges)
		want := make([]uint64, len(ranges))
		for id, v := range vals {
			if filter != nil && !filter.Contains(id) {
				continue
			}
			for i, rg := range ranges {
				if v >= rg[0] && v <= rg[1] {
					want[i]++
				}
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d ranges %v: got %v, want %v", round, ranges, got, want)
		}
		if filter != nil {
			// Reading each member's value gives the same.
			if got := b.MemberBuckets(filter, filter.GetCardinality(), ranges); !reflect.DeepEqual(got, want) {
				t.Fatalf("round %d ranges %v, %d members: read one by one %v, want %v", round, ranges, filter.GetCardinality(), got, want)
			}
		}
		// The BSI is unchanged.
		for id, v := range vals {
			if x, ok := b.Get(id); !ok || x != v {
				t.Fatalf("round %d: entity %d reads %d %v, want %d", round, id, x, ok, v)
			}
		}
	}
}
