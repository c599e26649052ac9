package bsi

import (
	"sort"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
)

// Counting the entities per value range (PROFILE's INT buckets).

// brange is a range of biased values and the position of the range asked.
type brange struct {
	lo, hi uint64
	i      int
}

// biasedRanges clips ranges to the values b can represent and biases them;
// ranges outside it are left out.
func (b *BSI) biasedRanges(ranges [][2]int64) []brange {
	rlo, rhi := b.reprRange()
	var rs []brange
	for i, r := range ranges {
		lo, hi := max(r[0], rlo), min(r[1], rhi)
		if lo <= hi {
			rs = append(rs, brange{b.biased(lo), b.biased(hi), i})
		}
	}
	return rs
}

// BucketCounts counts the entities of exists ∧ filter (all when filter is
// nil) whose value lies in each range. The ranges must not overlap.
//
// The entities are split on the planes from the top: a group shares the
// bits above the current plane, so its values lie in one interval of the
// biased order. A group whose interval lies within one range is counted
// whole, one that meets no range is dropped, and only the groups across a
// range's edge are split further (at most two per range and plane).
func (b *BSI) BucketCounts(filter *roaring.Bitmap, ranges [][2]int64) []uint64 {
	out := make([]uint64, len(ranges))
	if len(b.planes) == 0 {
		return out
	}
	rs := b.biasedRanges(ranges)
	// place reports the range holding all of [a, z], and whether [a, z]
	// meets any range.
	place := func(a, z uint64) (int, bool) {
		meets := false
		for _, r := range rs {
			if r.lo <= a && z <= r.hi {
				return r.i, true
			}
			if r.lo <= z && a <= r.hi {
				meets = true
			}
		}
		return -1, meets
	}
	base, owned := b.base(filter)
	var split func(x *roaring.Bitmap, owned bool, card uint64, i int, a uint64)
	// split counts x (card entities sharing the biased bits above i, so
	// with values from a to a+2^(i+1)-1); it may modify x when owned.
	split = func(x *roaring.Bitmap, owned bool, card uint64, i int, a uint64) {
		z := ^uint64(0)
		if i < 63 {
			z = a + (uint64(1)<<uint(i+1) - 1)
		}
		r, meets := place(a, z)
		switch {
		case card == 0 || !meets:
			return
		case r >= 0:
			out[r] += card
			return
		case i < 0:
			return // a single value is in a range or not
		}
		one, oneOwned := b.narrow(x, false, i, true)
		c1 := one.GetCardinality()
		mid := a + uint64(1)<<uint(i)
		if c1 < card {
			var zero *roaring.Bitmap
			if c1 == 0 {
				zero = x
			} else {
				zero, owned = b.narrow(x, owned, i, false)
			}
			split(zero, owned, card-c1, i-1, a)
		}
		split(one, oneOwned, c1, i-1, mid)
	}
	split(base, owned, base.GetCardinality(), len(b.planes)-1, 0)
	return out
}

// MemberBuckets is BucketCounts over the members (m of them). When the
// members are many for the id span of the field (at least one per 4 words
// of its bitset), it reads every member's value instead: the planes are
// copied into dense bitsets (a copy of their bitmap containers), four at a
// time, and one pass over the members reads a bit of each; the values are
// then placed in the ranges by binary search. That is a few passes over memory instead of a bitmap
// operation per plane and range edge.
func (b *BSI) MemberBuckets(members *roaring.Bitmap, m uint64, ranges [][2]int64) []uint64 {
	words := b.exists.DenseSize()
	if len(b.planes) == 0 || len(b.planes) > 64 || m < words/4 || m > 1<<23 {
		return b.BucketCounts(members, ranges)
	}
	out := make([]uint64, len(ranges))
	rs := b.biasedRanges(ranges)
	sort.Slice(rs, func(i, j int) bool { return rs[i].lo < rs[j].lo })
	ids := roaring.And(b.exists, members).ToArray()
	vals := make([]uint64, len(ids))
	// Four planes at a time: one pass over the members reads a bit from
	// each of four dense copies.
	const batch = 4
	var bufs [batch][]uint64
	for j := range bufs {
		bw := getWords(int(words))
		defer wordPool.Put(bw)
		bufs[j] = *bw
	}
	top := len(b.planes) - 1
	for i := 0; i <= top; i += batch {
		n := min(batch, top+1-i)
		var flip uint64 // biased bits: the sign plane reads inverted
		for j := 0; j < n; j++ {
			clear(bufs[j])
			b.planes[i+j].WriteDenseTo(bufs[j])
			if i+j == top {
				flip = 1 << uint(j)
			}
		}
		b0, b1, b2, b3 := bufs[0], bufs[1], bufs[2], bufs[3]
		for k, id := range ids {
			w, sh := id>>6, id&63
			x := b0[w]>>sh&1 | (b1[w]>>sh&1)<<1 | (b2[w]>>sh&1)<<2 | (b3[w]>>sh&1)<<3
			vals[k] |= (x&(1<<uint(n)-1) ^ flip) << uint(i)
		}
	}
	for _, v := range vals {
		// The last range starting at or below v holds it, if any does.
		lo, hi := 0, len(rs)
		for lo < hi {
			if mid := (lo + hi) / 2; rs[mid].lo > v {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		if lo > 0 && v <= rs[lo-1].hi {
			out[rs[lo-1].i]++
		}
	}
	return out
}

// wordPool holds the dense bitsets MemberBuckets copies planes into.
var wordPool sync.Pool // *[]uint64

func getWords(n int) *[]uint64 {
	if p, ok := wordPool.Get().(*[]uint64); ok && cap(*p) >= n {
		*p = (*p)[:n]
		clear(*p)
		return p
	}
	s := make([]uint64, n)
	return &s
}
