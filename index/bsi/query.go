package bsi

import (
	"math"
	"math/big"
	"math/bits"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/segd-db/segd/index/expr"
)

// base returns exists ∧ filter and whether the caller owns it.
func (b *BSI) base(filter *roaring.Bitmap) (*roaring.Bitmap, bool) {
	if filter == nil {
		return b.exists, false
	}
	return roaring.And(b.exists, filter), true
}

// reprRange is the range of values the current depth represents.
func (b *BSI) reprRange() (lo, hi int64) {
	n := len(b.planes)
	if n >= 64 {
		return math.MinInt64, math.MaxInt64
	}
	return -1 << uint(n-1), 1<<uint(n-1) - 1
}

// biased maps v (within reprRange) to its unsigned-ordered bit pattern.
func (b *BSI) biased(v int64) uint64 {
	return (uint64(v) & b.depthMask()) ^ 1<<uint(len(b.planes)-1)
}

// Compare returns the entities of exists ∧ filter whose value satisfies
// "value op n". CmpNe is exists ∧ filter minus the equal ones. The result is
// new and owned by the caller.
func (b *BSI) Compare(op expr.CmpOp, n int64, filter *roaring.Bitmap) *roaring.Bitmap {
	switch op {
	case expr.CmpEq:
		return b.Range(n, n, filter)
	case expr.CmpNe:
		base, owned := b.base(filter)
		eq := b.rangeOn(base, false, n, n)
		if owned {
			base.AndNot(eq)
			return base
		}
		return roaring.AndNot(base, eq)
	case expr.CmpLt:
		if n == math.MinInt64 {
			return roaring.New()
		}
		return b.Range(math.MinInt64, n-1, filter)
	case expr.CmpLe:
		return b.Range(math.MinInt64, n, filter)
	case expr.CmpGt:
		if n == math.MaxInt64 {
			return roaring.New()
		}
		return b.Range(n+1, math.MaxInt64, filter)
	case expr.CmpGe:
		return b.Range(n, math.MaxInt64, filter)
	}
	return roaring.New()
}

// Range returns the entities of exists ∧ filter with lo <= value <= hi. The
// result is new and owned by the caller.
func (b *BSI) Range(lo, hi int64, filter *roaring.Bitmap) *roaring.Bitmap {
	if lo > hi || len(b.planes) == 0 {
		return roaring.New()
	}
	base, owned := b.base(filter)
	return b.rangeOn(base, owned, lo, hi)
}

// bsiParallelMin is the cardinality above which the two halves of a range run
// on two goroutines.
var bsiParallelMin uint64 = 1 << 18

// bsiDenseFraction: a candidate set filling at least 1/bsiDenseFraction of the
// id span it covers is treated as dense (roaring keeps it in bitmap
// containers), and ranges over it run bottom-up with in-place operations.
var (
	bsiDenseFraction uint64 = 16
	bsiDenseMinCard  uint64 = 1 << 16
)

// rangeOn is Range over base; it may modify base when owned.
//
// The planes above the first bit where lo and hi differ are walked from the
// top, keeping the entities that match the common prefix (the set shrinks at
// every step). Below it, a sparse set is split top-down (O'Neil & Quass): each
// step moves the entities decided by that bit out of the chain. A dense set is
// answered bottom-up instead, as ge(lo) minus ge(hi+1), where each ge is one
// copy and one in-place And or Or per plane: roaring's in-place operations on
// bitmap containers are an order of magnitude cheaper than the allocating
// ones the top-down split needs.
func (b *BSI) rangeOn(base *roaring.Bitmap, owned bool, lo, hi int64) *roaring.Bitmap {
	if lo > hi || len(b.planes) == 0 {
		return roaring.New()
	}
	rlo, rhi := b.reprRange()
	if hi < rlo || lo > rhi {
		return roaring.New()
	}
	lo, hi = max(lo, rlo), min(hi, rhi)
	if lo == rlo && hi == rhi {
		if owned {
			return base
		}
		return base.Clone()
	}
	blo, bhi := b.biased(lo), b.biased(hi)

	// The common prefix of lo and hi: keep the entities that match it.
	eq := base
	i := len(b.planes) - 1
	for ; i >= 0; i-- {
		lb, hb := blo>>uint(i)&1, bhi>>uint(i)&1
		if lb != hb {
			break
		}
		eq, owned = b.narrow(eq, owned, i, lb == 1)
		if eq.IsEmpty() {
			return eq
		}
	}
	if i < 0 {
		if owned {
			return eq
		}
		return eq.Clone()
	}
	if b.dense(eq) {
		return b.rangeDense(eq, blo, bhi, i)
	}
	// First differing bit: lo has biased 0, hi has 1. Entities with 0 there
	// need the rest >= lo's rest; those with 1 need the rest <= hi's rest.
	L, _ := b.narrow(eq, false, i, false)
	H, hOwned := b.narrow(eq, owned, i, true)
	if L == eq {
		L = L.Clone() // the plane was empty
	}
	if !hOwned {
		H = H.Clone()
	}
	if L.GetCardinality() >= bsiParallelMin && H.GetCardinality() >= bsiParallelMin {
		var hr *roaring.Bitmap
		var wg sync.WaitGroup
		wg.Go(func() { hr = b.leChain(H, bhi, i-1) })
		lr := b.geChain(L, blo, i-1)
		wg.Wait()
		return orOwned(lr, hr)
	}
	return orOwned(b.geChain(L, blo, i-1), b.leChain(H, bhi, i-1))
}

// dense reports whether x fills enough of its id span to sit in bitmap
// containers.
func (b *BSI) dense(x *roaring.Bitmap) bool {
	card := x.GetCardinality()
	if card < bsiDenseMinCard {
		return false
	}
	span := uint64(x.Maximum()>>16-x.Minimum()>>16+1) << 16
	return card*bsiDenseFraction >= span
}

// rangeDense returns the entities of x (not modified) whose biased bits i..0
// lie within lo's and hi's bits i..0 (lo's below hi's).
func (b *BSI) rangeDense(x *roaring.Bitmap, lo, hi uint64, i int) *roaring.Bitmap {
	m := uint64(2)<<uint(i) - 1
	lo, hi = lo&m, hi&m
	if hi == m {
		return b.geLow(x, lo, i)
	}
	var ge, gt *roaring.Bitmap
	if x.GetCardinality() >= bsiParallelMin {
		var wg sync.WaitGroup
		wg.Go(func() { gt = b.geLow(x, hi+1, i) })
		ge = b.geLow(x, lo, i)
		wg.Wait()
	} else {
		ge, gt = b.geLow(x, lo, i), b.geLow(x, hi+1, i)
	}
	ge.AndNot(gt)
	return ge
}

// geLow returns a new bitmap of the entities of x (not modified) whose biased
// bits i..0 are >= c, computed from the lowest bit up: over bits 0..j,
// v >= c iff (bit j of c is 1 and v has bit j and v >= c over 0..j-1) or
// (bit j of c is 0 and (v has bit j or v >= c over 0..j-1)).
func (b *BSI) geLow(x *roaring.Bitmap, c uint64, i int) *roaring.Bitmap {
	r := x.Clone()
	if c == 0 {
		return r
	}
	top := len(b.planes) - 1
	last := i // highest non-sign plane in the chain
	if i == top {
		last = i - 1
	}
	ored := false
	for j := bits.TrailingZeros64(c); j <= last; j++ {
		if c>>uint(j)&1 == 1 {
			r.And(b.planes[j])
		} else {
			r.Or(b.planes[j])
			ored = true
		}
	}
	if ored && x != b.exists {
		r.And(x) // planes reach outside x
	}
	if i == top {
		// The sign bit, read biased: ge among non-negatives needs bit 1 of c
		// to keep only them; bit 0 lets every non-negative in.
		s := b.planes[top]
		if c>>uint(top)&1 == 1 {
			r.AndNot(s)
		} else if !s.IsEmpty() {
			fail := roaring.AndNot(s, r) // negatives that fail the low bits
			r.Or(x)
			r.AndNot(fail)
		} else {
			r.Or(x)
		}
	}
	return r
}

// narrow keeps the entities of x whose biased bit i is one (or zero), in
// place when owned. It returns the result and whether the caller owns it.
func (b *BSI) narrow(x *roaring.Bitmap, owned bool, i int, one bool) (*roaring.Bitmap, bool) {
	p := b.planes[i]
	if i == len(b.planes)-1 {
		one = !one // sign plane: biased bit 1 = not negative
	}
	if p.IsEmpty() {
		if one {
			return roaring.New(), true
		}
		return x, owned
	}
	switch {
	case owned && one:
		x.And(p)
	case owned:
		x.AndNot(p)
	case one:
		x = roaring.And(x, p)
	default:
		x = roaring.AndNot(x, p)
	}
	return x, true
}

// orOwned returns a ∪ b, reusing one of them.
func orOwned(a, b *roaring.Bitmap) *roaring.Bitmap {
	if a == nil || a.IsEmpty() {
		if b == nil {
			return roaring.New()
		}
		return b
	}
	if b != nil && !b.IsEmpty() {
		if b.GetSizeInBytes() > a.GetSizeInBytes() {
			a, b = b, a
		}
		a.Or(b)
	}
	return a
}

// geChain returns the entities of x (owned) whose bits j..0 are >= lo's.
// Bits j and below are never the sign plane.
func (b *BSI) geChain(x *roaring.Bitmap, lo uint64, j int) *roaring.Bitmap {
	var res *roaring.Bitmap
	for ; j >= 0; j-- {
		if lo&(uint64(2)<<uint(j)-1) == 0 || x.IsEmpty() {
			break // every remaining pattern is >= 0...0
		}
		p := b.planes[j]
		if lo>>uint(j)&1 == 1 {
			x.And(p)
		} else {
			t := roaring.And(x, p) // bit 1 where lo has 0: greater
			x.AndNot(p)
			res = orOwned(res, t)
		}
	}
	return orOwned(res, x)
}

// leChain returns the entities of x (owned) whose bits j..0 are <= hi's.
func (b *BSI) leChain(x *roaring.Bitmap, hi uint64, j int) *roaring.Bitmap {
	var res *roaring.Bitmap
	for ; j >= 0; j-- {
		m := uint64(2)<<uint(j) - 1
		if hi&m == m || x.IsEmpty() {
			break // every remaining pattern is <= 1...1
		}
		p := b.planes[j]
		if hi>>uint(j)&1 == 0 {
			x.AndNot(p)
		} else {
			t := roaring.AndNot(x, p) // bit 0 where hi has 1: less
			x.And(p)
			res = orOwned(res, t)
		}
	}
	return orOwned(res, x)
}

// Sum returns the number of entities of exists ∧ filter and the exact sum of
// their values.
func (b *BSI) Sum(filter *roaring.Bitmap) (count uint64, sum *big.Int) {
	sum = new(big.Int)
	if filter == nil {
		count = b.exists.GetCardinality()
	} else {
		count = b.exists.AndCardinality(filter)
	}
	if count == 0 {
		return count, sum
	}
	top := len(b.planes) - 1
	var t big.Int
	for i, p := range b.planes {
		var c uint64
		if filter == nil {
			c = p.GetCardinality()
		} else {
			c = p.AndCardinality(filter) // planes ⊆ exists
		}
		if c == 0 {
			continue
		}
		t.SetUint64(c)
		t.Lsh(&t, uint(i))
		if i == top {
			sum.Sub(sum, &t)
		} else {
			sum.Add(sum, &t)
		}
	}
	return count, sum
}

// MinMax returns the smallest and largest values in exists ∧ filter, walking
// the planes from the top.
func (b *BSI) MinMax(filter *roaring.Bitmap) (min, max int64, ok bool) {
	base, owned := b.base(filter)
	card := base.GetCardinality()
	if card == 0 || len(b.planes) == 0 {
		return 0, 0, false
	}
	if card >= bsiParallelMin {
		var wg sync.WaitGroup
		wg.Go(func() { min = b.extreme(base, card, false, false) })
		max = b.extreme(base, card, false, true)
		wg.Wait()
	} else {
		min = b.extreme(base, card, false, false)
		max = b.extreme(base, card, owned, true)
	}
	return min, max, true
}

// extreme returns the largest (or smallest) value among x, of cardinality
// card. x is modified when owned.
func (b *BSI) extreme(x *roaring.Bitmap, card uint64, owned, largest bool) int64 {
	var u uint64
	for i := len(b.planes) - 1; i >= 0; i-- {
		if card == 1 {
			v, _ := b.Get(x.Minimum())
			return v
		}
		c := x.AndCardinality(b.planes[i]) // raw bit 1
		ones, sign := c, uint64(0)
		if i == len(b.planes)-1 {
			ones, sign = card-c, 1 // biased 1 = raw 0 on the sign plane
		}
		// Keep biased bit 1 for the max (if any has it), biased 0 for the min
		// (if any has it).
		keepOne := ones > 0
		keep := ones
		if !largest {
			keepOne = ones == card
		}
		if !keepOne {
			keep = card - ones
		}
		if keepOne {
			u |= (1 ^ sign) << uint(i)
		} else {
			u |= sign << uint(i)
		}
		if keep != card {
			x, owned = b.narrow(x, owned, i, keepOne)
			card = keep
		}
	}
	return b.signExtend(u)
}

// TopCut ranks the entities of exists ∧ filter by value, descending, and
// returns those strictly above the k-th largest value (|above| < k) and those
// equal to it (atCut); the caller breaks ties in atCut. k = 0 gives two empty
// bitmaps; k >= the count gives atCut = the holders of the minimum and above =
// the rest. Both results are new and owned by the caller.
func (b *BSI) TopCut(k uint64, filter *roaring.Bitmap) (above, atCut *roaring.Bitmap) {
	base, owned := b.base(filter)
	card := base.GetCardinality()
	if k == 0 || card == 0 || len(b.planes) == 0 {
		return roaring.New(), roaring.New()
	}
	k = min(k, card)
	var g *roaring.Bitmap
	var gCard uint64
	e, eCard := base, card
	top := len(b.planes) - 1
	for i := top; i >= 0; i-- {
		c := e.AndCardinality(b.planes[i])
		ones := c
		if i == top {
			ones = eCard - c
		}
		if gCard+ones >= k {
			// The k-th largest has biased bit 1 here.
			if ones != eCard {
				e, owned = b.narrow(e, owned, i, true)
				eCard = ones
			}
		} else if ones > 0 {
			// Everything with bit 1 ranks above the cut.
			x, xOwned := b.narrow(e, false, i, true)
			if !xOwned {
				x = x.Clone()
			}
			e, owned = b.narrow(e, owned, i, false)
			eCard -= ones
			g = orOwned(g, x)
			gCard += ones
		}
	}
	if g == nil {
		g = roaring.New()
	}
	if !owned {
		e = e.Clone()
	}
	return g, e
}
