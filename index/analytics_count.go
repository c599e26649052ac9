package index

import (
	"fmt"
	"math/bits"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"weak"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd-db/segd/index/bsi"
)

// Counting a segment's members per value (PROFILE). Each value is counted
// the cheapest of three ways, from estimates of the work each takes:
//
//   - an ENUM with a per-entity ordinal array (more than a few values) is
//     counted for all its values at once by one walk over the members'
//     ordinals;
//   - a value spread thin (roaring keeps it in array containers), by
//     intersecting it with a mask of the members made of bitmap containers
//     (see memberMask): a bit test per holder;
//   - a value held densely, or by far more entities than the members, by
//     roaring's AndCardinality with the members (a bit test per member, or
//     a galloping search).
//
// INT buckets are counted by reading each member's value from dense copies
// of the bit planes (bsi.BSI.MemberBuckets), or, for few members, by
// splitting them on the planes from the top (bsi.BSI.BucketCounts). The counting tasks run on up to two goroutines; each writes its own
// slots, so the result does not depend on the schedule.

// countWorkers caps the goroutines of one PROFILE or LOOKALIKE.
const countWorkers = 2

// countParallelMin is the estimated work (in member or holder visits) below
// which the counting stays on the calling goroutine.
var countParallelMin uint64 = 1 << 18

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

// memberMask holds a set of entities as two bitmaps made of bitmap
// containers only, so that intersecting a value with them is one bit test
// per holder in an array container (and a popcount per word in a bitmap
// one), never a merge of two sorted arrays: per 2^16 ids, where the members
// are dense, pos holds them and neg every id; elsewhere pos is empty and neg
// holds the ids that are not members. Then for a value v within the ids
// covered, |v ∧ members| = |v| + |v ∧ pos| − |v ∧ neg|.
type memberMask struct {
	pos, neg *roaring.Bitmap
	release  func()
}

// arrayMax is the most ids of 2^16 that roaring keeps in an array
// container; FromDense makes a bitmap container above it.
const arrayMax = 4096

// newMemberMask builds the mask of members over the ids below chunks·2^16.
func newMemberMask(members *roaring.Bitmap, chunks int) *memberMask {
	const words = 1 << 10 // a container's words
	pw, nw := getWords(chunks*words), getWords(chunks*words)
	pos, neg := *pw, *nw
	members.WriteDenseTo(pos)
	for c := 0; c < chunks; c++ {
		p, n := pos[c*words:(c+1)*words], neg[c*words:(c+1)*words]
		if popcount(p) > arrayMax {
			for i := range n {
				n[i] = ^uint64(0)
			}
			continue
		}
		for i, x := range p {
			n[i] = ^x
		}
		clear(p)
	}
	m := &memberMask{pos: roaring.New(), neg: roaring.New()}
	m.pos.FromDense(pos, false)
	m.neg.FromDense(neg, false)
	m.release = func() { wordPool.Put(pw); wordPool.Put(nw) }
	return m
}

// count is |v ∧ members|, for v within the ids of the mask.
func (m *memberMask) count(v *roaring.Bitmap) uint64 {
	return v.GetCardinality() + v.AndCardinality(m.pos) - v.AndCardinality(m.neg)
}

func popcount(ws []uint64) int {
	n := 0
	for _, w := range ws {
		n += bits.OnesCount64(w)
	}
	return n
}

// countTask counts one value (mask or intersect), one ENUM's ordinals, or
// one INT field's buckets.
type countTask struct {
	cost  uint64
	kind  uint8
	f     *field
	first int   // INT: index of the field's first bucket in vals
	idx   []int // ordinal walk: ordinal-1 -> index in vals, -1 for none
	vi    int   // mask and intersect: index in vals
}

const (
	taskIntersect = iota
	taskMask
	taskOrdinals
	taskBuckets
)

// countValues returns, per value, the members holding it.
func (e *Engine) countValues(fs []*field, members *roaring.Bitmap) (vals []profileValue, in []uint64) {
	m := members.GetCardinality()
	var tasks []countTask
	masks := false
	var top uint32 // the largest id of the members and of the values
	if !members.IsEmpty() {
		top = members.Maximum()
	}
	for _, f := range fs {
		switch f.kind {
		case KindEnum, KindTags:
			first := len(vals)
			for i, bm := range f.bms {
				if !bm.IsEmpty() {
					vals = append(vals, profileValue{field: f.name, value: f.values[i], bm: bm, f: f, ord: uint32(i + 1)})
				}
			}
			if f.ord != nil {
				// More than a few values: one lookup per member beats a
				// bitmap operation per value.
				idx := make([]int, len(f.bms))
				for i := range idx {
					idx[i] = -1
				}
				for j := first; j < len(vals); j++ {
					idx[vals[j].ord-1] = j
				}
				tasks = append(tasks, countTask{cost: 2 * m, kind: taskOrdinals, f: f, idx: idx})
				continue
			}
			for j := first; j < len(vals); j++ {
				t := valueTask(vals[j].bm, m, j)
				masks = masks || t.kind == taskMask
				top = max(top, vals[j].bm.Maximum())
				tasks = append(tasks, t)
			}
		case KindInt:
			first := len(vals)
			ranges := quantiles.ranges(f.bsi)
			for _, r := range ranges {
				vals = append(vals, profileValue{field: f.name, value: fmt.Sprintf("[%d TO %d]", r[0], r[1]), f: f, lo: r[0], hi: r[1],
					ranges: ranges, bucket: len(vals) - first})
			}
			if len(ranges) > 0 {
				tasks = append(tasks, countTask{cost: 8 * m, kind: taskBuckets, f: f, first: first})
			}
		}
	}
	in = make([]uint64, len(vals))
	if len(tasks) == 0 {
		return vals, in
	}
	var mask *memberMask
	if masks {
		mask = newMemberMask(members, int(top>>16)+1)
		defer mask.release()
	}
	run := func(t *countTask, buf []uint32) {
		switch t.kind {
		case taskIntersect:
			in[t.vi] = vals[t.vi].bm.AndCardinality(members)
		case taskMask:
			in[t.vi] = mask.count(vals[t.vi].bm)
		case taskOrdinals:
			countOrdinals(t.f.ord, members, t.idx, in, buf)
		case taskBuckets:
			copy(in[t.first:], t.f.bsi.MemberBuckets(members, m, vals[t.first].ranges))
		}
	}
	runTasks(tasks, run)
	return vals, in
}

// valueTask is the cheaper way to count the members (m of them) holding bm.
func valueTask(bm *roaring.Bitmap, m uint64, vi int) countTask {
	h := bm.GetCardinality()
	span := uint64(bm.Maximum()) - uint64(bm.Minimum()) + 1
	// Intersecting with the members tests each member against a dense
	// value, gallops over a much larger sparse one, or else merges two
	// sorted arrays. The mask tests each holder of a sparse value (half the
	// cost of a step of a merge), or ANDs and counts the words of a dense
	// one (about a bit test's cost per 128 ids).
	and, mask := 2*(h+m), h/2
	switch {
	case h*16 >= span:
		and, mask = m, span/128
	case h > 64*m:
		and = 8 * m
	}
	if mask < and {
		return countTask{cost: mask, kind: taskMask, vi: vi}
	}
	return countTask{cost: and, kind: taskIntersect, vi: vi}
}

// runTasks runs every task, on up to countWorkers goroutines when there is
// enough work, the costliest first.
func runTasks(tasks []countTask, run func(t *countTask, buf []uint32)) {
	var total uint64
	for _, t := range tasks {
		total += t.cost
	}
	workers := min(countWorkers, runtime.GOMAXPROCS(0), len(tasks))
	if total < countParallelMin || workers < 2 {
		buf := make([]uint32, 4096)
		for i := range tasks {
			run(&tasks[i], buf)
		}
		return
	}
	sort.SliceStable(tasks, func(i, j int) bool { return tasks[i].cost > tasks[j].cost })
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			buf := make([]uint32, 4096)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(tasks) {
					return
				}
				run(&tasks[i], buf)
			}
		})
	}
	wg.Wait()
}

// countOrdinals adds, for each member, one to in[idx[ordinal-1]].
func countOrdinals(o *ordinals, members *roaring.Bitmap, idx []int, in []uint64, buf []uint32) {
	by := make([]uint64, len(idx)+1)
	it := members.ManyIterator()
	for k := it.NextMany(buf); k > 0; k = it.NextMany(buf) {
		ids := buf[:k]
		if o.o16 != nil {
			o16 := o.o16
			for _, id := range ids {
				if int(id) < len(o16) {
					by[o16[id]]++
				}
			}
			continue
		}
		for _, id := range ids {
			by[o.get(id)]++
		}
	}
	for i, j := range idx {
		if j >= 0 && int(i+1) < len(by) {
			in[j] = by[i+1]
		}
	}
}

// holderCounts is BucketCounts over every entity, kept while the data does
// not change.
func (e *Engine) holderCounts(b *bsi.BSI, ranges [][2]int64) []uint64 {
	key := holdersKey{weak.Make(b), fmt.Sprint(ranges)}
	holders.mu.Lock()
	c, ok := holders.byKey[key]
	holders.mu.Unlock()
	if ok && c.gen == e.gen {
		return c.counts
	}
	counts := b.BucketCounts(nil, ranges)
	holders.mu.Lock()
	if holders.byKey == nil || len(holders.byKey) > 256 {
		holders.byKey = map[holdersKey]holdersEntry{}
	}
	holders.byKey[key] = holdersEntry{gen: e.gen, counts: counts}
	holders.mu.Unlock()
	return counts
}

// holdersKey's BSI is weak: the cache must not keep the fields of a dropped
// engine alive.
type holdersKey struct {
	b      weak.Pointer[bsi.BSI]
	ranges string
}

type holdersEntry struct {
	gen    uint64 // of the engine holding the BSI
	counts []uint64
}

var holders struct {
	mu    sync.Mutex
	byKey map[holdersKey]holdersEntry
}
