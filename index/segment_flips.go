package index

import (
	"math"
	"math/bits"
	"slices"
	"sort"
	"strconv"

	"github.com/segd-db/segd/index/expr"
)

// INT flip tables: which segments a change of an INT field from one value to
// another can concern. The predicates saved segments hold on the field cut
// the integers into intervals on each of which every predicate keeps its
// truth; the table keeps, per interval (and for "no value"), one bit per
// predicate with its truth there. A change then concerns the segments of
// the predicates whose bits differ between the interval of the old value
// and that of the new one: two binary searches and a few word XORs, instead
// of evaluating every predicate of every segment reading the field twice.

type intFlips struct {
	cuts   []int64  // sorted: interval i holds the values v with cuts[i-1] <= v < cuts[i]
	words  int      // words per row
	rows   []uint64 // row 0: no value; row 1+i: interval i
	predK  []int    // predicate bit -> position in the field's byField list
	always []int    // positions whose changes always count (TOP, or predicates not known)
}

// newIntFlips builds the table of a field from the INT predicates of the
// segments its byField list holds (nil: not known, always concerned).
func newIntFlips(ints []*intPreds) *intFlips {
	t := &intFlips{}
	var preds []*expr.Pred
	for k, ps := range ints {
		if ps == nil {
			t.always = append(t.always, k)
			continue
		}
		for _, p := range ps.preds {
			preds = append(preds, p)
			t.predK = append(t.predK, k)
		}
	}
	cut := func(v int64, next bool) {
		if next {
			if v == math.MaxInt64 {
				return
			}
			v++
		}
		t.cuts = append(t.cuts, v)
	}
	for _, p := range preds {
		switch p.Sel {
		case expr.SelAny:
		case expr.SelRange:
			cut(p.Lo, false)
			cut(p.Hi, true)
		case expr.SelValues:
			for _, x := range p.Values {
				if n, err := strconv.ParseInt(x, 10, 64); err == nil {
					cut(n, false)
					cut(n, true)
				}
			}
		default:
			cut(p.N, false)
			cut(p.N, true)
		}
	}
	slices.Sort(t.cuts)
	t.cuts = slices.Compact(t.cuts)
	t.words = (len(preds) + 63) / 64
	nrows := len(t.cuts) + 2
	t.rows = make([]uint64, nrows*t.words)
	for r := 0; r < nrows; r++ {
		v, ok := int64(0), false
		if r > 0 {
			ok = true
			v = math.MinInt64
			if r > 1 {
				v = t.cuts[r-2]
			}
		}
		row := t.rows[r*t.words : (r+1)*t.words]
		for j, p := range preds {
			if intPredHolds(p, v, ok) {
				row[j/64] |= 1 << (j % 64)
			}
		}
	}
	return t
}

// row returns the row of a value (ok false: no value).
func (t *intFlips) row(v int64, ok bool) []uint64 {
	r := 0
	if ok {
		r = 1 + sort.Search(len(t.cuts), func(i int) bool { return t.cuts[i] > v })
	}
	return t.rows[r*t.words : (r+1)*t.words]
}

// flipped appends to dst the positions (in the field's byField list) of the
// segments a change from (old, hadOld) to (new, hasNew) concerns; a position
// may repeat.
func (t *intFlips) flipped(dst []int, old int64, hadOld bool, new int64, hasNew bool) []int {
	dst = append(dst, t.always...)
	if t.words == 0 {
		return dst
	}
	a, b := t.row(old, hadOld), t.row(new, hasNew)
	for w := range a {
		for x := a[w] ^ b[w]; x != 0; x &= x - 1 {
			dst = append(dst, t.predK[w*64+bits.TrailingZeros64(x)])
		}
	}
	return dst
}
