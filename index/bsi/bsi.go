package bsi

import (
	"errors"
	"fmt"
	"math"
	"math/bits"

	"github.com/RoaringBitmap/roaring/v2"
)

// BSI is a plane-wise bit-sliced index of signed int64 values, one per entity.
//
// Values are stored in two's complement with a variable bit depth B =
// len(planes): planes[i] holds the entities whose value has bit i set, and
// planes[B-1] is the sign. B starts at the smallest depth that fits the first
// value and grows by sign extension when a value that does not fit arrives:
// new top planes start as copies of the old sign plane. Non-negative data
// therefore keeps an empty sign plane, and values 0..100000 cost 18 planes.
// Only RunOptimize shrinks B, dropping top planes equal to the one below.
//
// Order: flipping the sign bit maps two's complement order onto unsigned order
// (the "biased" value v + 2^(B-1)), so comparisons, ranges, min/max and top-k
// walk the planes from the top, reading the sign plane inverted. Every query
// is a sequence of bitmap operations per plane (O'Neil & Quass; Rinfret,
// O'Neil & O'Neil), never a walk over rows, and begins from exists ∧ filter.
//
// Invariant: every plane is a subset of exists.
//
// A BSI is not safe for concurrent use by a writer and readers; queries may
// run concurrently with each other. Bitmaps returned by queries are new and
// owned by the caller, except Exists and Bitmaps.
type BSI struct {
	exists *roaring.Bitmap
	planes []*roaring.Bitmap
	vals   []int32 // nil, or every id's value (bsi_values.go)
}

// New returns an empty index.
func New() *BSI { return &BSI{exists: roaring.New()} }

// bitsFor is the two's complement depth that holds v.
func bitsFor(v int64) int {
	if v < 0 {
		v = ^v
	}
	return bits.Len64(uint64(v)) + 1
}

func (b *BSI) depthMask() uint64 {
	if len(b.planes) >= 64 {
		return math.MaxUint64
	}
	return 1<<uint(len(b.planes)) - 1
}

// grow sign-extends the index to depth n.
func (b *BSI) grow(n int) {
	for len(b.planes) < n {
		if len(b.planes) == 0 {
			b.planes = append(b.planes, roaring.New())
		} else {
			b.planes = append(b.planes, b.planes[len(b.planes)-1].Clone())
		}
	}
}

// Set stores v for id and reports whether anything changed.
func (b *BSI) Set(id uint32, v int64) (changed bool) {
	if n := bitsFor(v); n > len(b.planes) {
		b.grow(n)
	}
	nv := uint64(v) & b.depthMask()
	if b.exists.CheckedAdd(id) {
		for u := nv; u != 0; u &= u - 1 {
			b.planes[bits.TrailingZeros64(u)].Add(id)
		}
		if b.vals != nil {
			b.cacheSet(id, v)
		}
		return true
	}
	// Read the old bits (Contains is the cheapest visit, the values array
	// cheaper still), write only the planes that differ.
	var old uint64
	if b.vals != nil {
		o, _ := b.cached(id)
		old = uint64(o) & b.depthMask()
		b.cacheSet(id, v)
	} else {
		for i, p := range b.planes {
			if p.Contains(id) {
				old |= 1 << uint(i)
			}
		}
	}
	diff := old ^ nv
	for u := diff; u != 0; u &= u - 1 {
		i := bits.TrailingZeros64(u)
		if nv&(1<<uint(i)) != 0 {
			b.planes[i].Add(id)
		} else {
			b.planes[i].Remove(id)
		}
	}
	return diff != 0
}

// Get returns the value of id.
func (b *BSI) Get(id uint32) (int64, bool) {
	if b.vals != nil {
		return b.cached(id)
	}
	if !b.exists.Contains(id) {
		return 0, false
	}
	var u uint64
	for i, p := range b.planes {
		if p.Contains(id) {
			u |= 1 << uint(i)
		}
	}
	return b.signExtend(u), true
}

func (b *BSI) signExtend(u uint64) int64 {
	n := uint(len(b.planes))
	if n == 0 || n >= 64 {
		return int64(u)
	}
	return int64(u<<(64-n)) >> (64 - n)
}

// Clear removes id's value and reports whether it had one.
func (b *BSI) Clear(id uint32) bool {
	if !b.exists.CheckedRemove(id) {
		return false
	}
	for _, p := range b.planes {
		p.Remove(id)
	}
	if b.vals != nil {
		b.cacheClear(id)
	}
	return true
}

// Exists returns the entities that have a value. Callers must not modify it.
func (b *BSI) Exists() *roaring.Bitmap { return b.exists }

// Count returns the number of entities with a value.
func (b *BSI) Count() uint64 { return b.exists.GetCardinality() }

// SizeInBytes returns the serialized size of the bitmaps, close to the memory
// they hold.
func (b *BSI) SizeInBytes() uint64 {
	n := b.exists.GetSizeInBytes()
	for _, p := range b.planes {
		n += p.GetSizeInBytes()
	}
	n += 4 * uint64(cap(b.vals))
	return n
}

// Bitmaps returns [exists, plane0, plane1, ...] for snapshots. They are the
// index's own bitmaps: callers must not modify them.
func (b *BSI) Bitmaps() []*roaring.Bitmap {
	out := make([]*roaring.Bitmap, 0, 1+len(b.planes))
	out = append(out, b.exists)
	return append(out, b.planes...)
}

// FromBitmaps rebuilds a BSI from Bitmaps' output, taking ownership of the
// bitmaps. It rejects a malformed list.
func FromBitmaps(bms []*roaring.Bitmap) (*BSI, error) {
	if len(bms) == 0 {
		return nil, errors.New("bsi: BSI needs an existence bitmap")
	}
	if len(bms) > 65 {
		return nil, fmt.Errorf("bsi: BSI with %d planes (at most 64)", len(bms)-1)
	}
	for i, bm := range bms {
		if bm == nil {
			return nil, fmt.Errorf("bsi: BSI bitmap %d is missing", i)
		}
	}
	exists := bms[0]
	if len(bms) == 1 && !exists.IsEmpty() {
		return nil, errors.New("bsi: BSI has values but no planes")
	}
	for i, p := range bms[1:] {
		if p.AndCardinality(exists) != p.GetCardinality() {
			return nil, fmt.Errorf("bsi: BSI plane %d has entities without a value", i)
		}
	}
	return &BSI{exists: exists, planes: append([]*roaring.Bitmap(nil), bms[1:]...)}, nil
}

// RunOptimize compresses runs in every bitmap, and drops top planes that
// only repeat the sign (left by values that were since cleared or lowered).
func (b *BSI) RunOptimize() {
	for n := len(b.planes); n >= 2 && b.planes[n-1].Equals(b.planes[n-2]); n-- {
		b.planes[n-1] = nil
		b.planes = b.planes[:n-1]
	}
	b.exists.RunOptimize()
	for _, p := range b.planes {
		p.RunOptimize()
	}
}
