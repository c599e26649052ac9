package index

import (
	"math/rand/v2"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
)

// TestOverlap checks the matrix against pairwise AndCardinality on bitmaps
// of mixed densities (dense ones counted word by word, sparse ones and empty
// ones by AndCardinality).
func TestOverlap(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	for round := 0; round < 20; round++ {
		span := 1 + r.IntN(600_000)
		k := 1 + r.IntN(12)
		bms := make([]*roaring.Bitmap, k)
		for i := range bms {
			bms[i] = roaring.New()
			density := []float64{0, 0.0001, 0.01, 0.2, 0.6, 1}[r.IntN(6)]
			for n := 0; n < int(float64(span)*density); n++ {
				bms[i].Add(uint32(r.IntN(span)))
			}
			if r.IntN(4) == 0 {
				bms[i].RunOptimize()
			}
		}
		got := overlap(bms)
		for i := range bms {
			for j := range bms {
				want := bms[i].AndCardinality(bms[j])
				if got[i][j] != want {
					t.Fatalf("round %d: [%d][%d] = %d, want %d", round, i, j, got[i][j], want)
				}
			}
		}
	}
}
