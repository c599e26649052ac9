package index

import (
	"math/rand/v2"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/segd-db/segd/index/expr"
)

// TestCompareDense checks the word-parallel counters against a plain sum per
// entity: random pieces (sparse and dense planes, amounts that overflow the
// counters), every comparison, thresholds around the counter widths, with
// and without a filter.
func TestCompareDense(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	ops := []expr.CmpOp{expr.CmpEq, expr.CmpNe, expr.CmpLt, expr.CmpLe, expr.CmpGt, expr.CmpGe}
	defer func(w int) { denseParallelWords = w }(denseParallelWords)
	for round := 0; round < 18; round++ {
		denseParallelWords = []int{1 << 15, 1, 100}[round%3] // and shared out between cores
		span := uint32(1 + r.IntN(100_000))
		base := uint32(r.IntN(100_000))
		want := map[uint32]uint64{}
		var pcs []*counts
		for p := r.IntN(6); p >= 0; p-- {
			c := newCounts()
			density := []float64{0.0005, 0.01, 0.3, 0.9}[r.IntN(4)]
			for i := 0; i < int(float64(span)*density); i++ {
				id := base + uint32(r.IntN(int(span)))
				a := uint64(1 + r.IntN(4))
				if r.IntN(20) == 0 {
					a = uint64(r.IntN(5000))
				}
				if a == 0 {
					continue
				}
				c.add(id, a)
				want[id] += a
			}
			pcs = append(pcs, c)
		}
		var filter *roaring.Bitmap
		if r.IntN(2) == 0 {
			filter = roaring.New()
			for i := 0; i < int(span)/3; i++ {
				filter.Add(base + uint32(r.IntN(int(span)+1000)))
			}
		}
		type entity struct {
			id uint32
			v  uint64
		}
		var ents []entity // within the filter
		for id, v := range want {
			if filter == nil || filter.Contains(id) {
				ents = append(ents, entity{id, v})
			}
		}
		for _, op := range ops {
			for _, n := range []int64{0, 1, 2, 3, 4, 7, 8, int64(r.IntN(9000)), 1<<31 - 1} {
				sat, exists, ok := compareDense(pcs, filter, op, n, true)
				if !ok {
					t.Fatalf("n=%d: not ok", n)
				}
				wantSat, wantEx := roaring.New(), roaring.New()
				for _, e := range ents {
					wantEx.Add(e.id)
					if eventCmpHolds(op, n, e.v) {
						wantSat.Add(e.id)
					}
				}
				if !sat.Equals(wantSat) || !exists.Equals(wantEx) {
					t.Fatalf("round %d op %v n %d: sat %d want %d, exists %d want %d", round, op, n,
						sat.GetCardinality(), wantSat.GetCardinality(), exists.GetCardinality(), wantEx.GetCardinality())
				}
				if s2, e2, _ := compareDense(pcs, filter, op, n, false); !s2.Equals(wantSat) || e2 != nil {
					t.Fatalf("round %d op %v n %d without exists", round, op, n)
				}
			}
		}
	}
}
