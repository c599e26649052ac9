package bsi

import (
	"math"
	"math/bits"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/segd-db/segd/index/expr"
)

// CountCompare is Compare's cardinality, without building the result where
// it can: |exists ∧ filter| whose value satisfies "value op n".
func (b *BSI) CountCompare(op expr.CmpOp, n int64, filter *roaring.Bitmap) uint64 {
	switch op {
	case expr.CmpEq:
		return b.CountRange(n, n, filter)
	case expr.CmpNe:
		return b.baseCard(filter) - b.CountRange(n, n, filter)
	case expr.CmpLt:
		if n == math.MinInt64 {
			return 0
		}
		return b.CountRange(math.MinInt64, n-1, filter)
	case expr.CmpLe:
		return b.CountRange(math.MinInt64, n, filter)
	case expr.CmpGt:
		if n == math.MaxInt64 {
			return 0
		}
		return b.CountRange(n+1, math.MaxInt64, filter)
	case expr.CmpGe:
		return b.CountRange(n, math.MaxInt64, filter)
	}
	return 0
}

func (b *BSI) baseCard(filter *roaring.Bitmap) uint64 {
	if filter == nil {
		return b.exists.GetCardinality()
	}
	return b.exists.AndCardinality(filter)
}

// CountRange is |Range(lo, hi, filter)|. Over a dense candidate set it is
// |ge(lo)| − |ge(hi+1)|, each walked bottom-up over every plane: no walk of
// the common prefix (in bitmap containers it saves no work) and no
// difference built.
func (b *BSI) CountRange(lo, hi int64, filter *roaring.Bitmap) uint64 {
	if lo > hi || len(b.planes) == 0 {
		return 0
	}
	rlo, rhi := b.reprRange()
	if hi < rlo || lo > rhi {
		return 0
	}
	lo, hi = max(lo, rlo), min(hi, rhi)
	if lo == rlo && hi == rhi {
		return b.baseCard(filter)
	}
	top := len(b.planes) - 1
	blo, bhi := b.biased(lo), b.biased(hi)
	ge := b.geLowCount
	if filter != nil && lo >= 0 && b.planes[top].IsEmpty() && lo != hi && b.dense(filter) {
		// Values and bounds non-negative: start from the filter itself,
		// no exists ∧ filter built (the first plane And drops the rest).
		ge = func(_ *roaring.Bitmap, c uint64, _ int) uint64 { return b.geFiltered(filter, c) }
	} else if base, owned := b.base(filter); lo == hi || !b.dense(base) {
		return b.rangeOn(base, owned, lo, hi).GetCardinality()
	} else {
		filter = base
	}
	// Serial: on two cores shared with the server's other work, the
	// parallel halves of rangeDense measured slower than one goroutine.
	if bhi == uint64(2)<<uint(top)-1 {
		return ge(filter, blo, top)
	}
	return ge(filter, blo, top) - ge(filter, bhi+1, top) // ge(hi+1) ⊆ ge(lo)
}

// geLowCount is |geLow(x, c, i)|.
func (b *BSI) geLowCount(x *roaring.Bitmap, c uint64, i int) uint64 {
	if c == 0 {
		return x.GetCardinality()
	}
	return b.geLow(x, c, i).GetCardinality()
}

// geFiltered is |exists ∧ filter| with biased value >= c, where c's sign
// bit is set (c >= 0) and no value is negative: the chain starts with an
// And of a plane (c's lowest set bit), which keeps only entities with a
// value, so exists ∧ filter is never built.
func (b *BSI) geFiltered(filter *roaring.Bitmap, c uint64) uint64 {
	top := len(b.planes) - 1
	if c&(uint64(1)<<uint(top)-1) == 0 {
		return b.baseCard(filter) // every non-negative value
	}
	r := filter.Clone()
	ored := false
	for j := bits.TrailingZeros64(c); j < top; j++ {
		if c>>uint(j)&1 == 1 {
			r.And(b.planes[j])
		} else {
			r.Or(b.planes[j])
			ored = true
		}
	}
	if ored {
		return r.AndCardinality(filter) // planes reach outside the filter
	}
	return r.GetCardinality()
}
