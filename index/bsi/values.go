package bsi

import "math"

// A BSI can keep, beside its planes, a plain array of its values, for point
// reads: Get is then one memory access instead of one per plane (17 for
// incomes up to 100,000), which is what saved segment maintenance pays
// for each INT predicate it re-evaluates. The array costs 4 bytes per
// entity id, so the engine asks for it (CacheValues) only for the INT fields
// saved segments compare, and it is kept only while every value fits in 31
// bits.

// valueAbsent marks an id without a value in BSI.vals.
const valueAbsent = math.MinInt32

// maxCachedDepth is the deepest BSI whose values the array holds: every
// value then lies in [-2^30, 2^30), so valueAbsent is never a value.
const maxCachedDepth = 31

// CacheValues starts keeping the values array, built from the planes; it
// reports whether the values fit (else nothing is kept).
func (b *BSI) CacheValues() bool {
	if b.vals != nil {
		return true
	}
	n := len(b.planes)
	if n > maxCachedDepth {
		return false
	}
	size := 0
	if !b.exists.IsEmpty() {
		size = int(b.exists.Maximum()) + 1
	}
	u := make([]uint32, size)
	buf := make([]uint32, 4096)
	for i, p := range b.planes {
		it := p.ManyIterator()
		for k := it.NextMany(buf); k > 0; k = it.NextMany(buf) {
			for _, id := range buf[:k] {
				u[id] |= 1 << uint(i)
			}
		}
	}
	vals := make([]int32, size)
	for i := range vals {
		vals[i] = valueAbsent
	}
	it := b.exists.ManyIterator()
	for k := it.NextMany(buf); k > 0; k = it.NextMany(buf) {
		for _, id := range buf[:k] {
			vals[id] = signExtend32(u[id], n)
		}
	}
	b.vals = vals
	return true
}

func signExtend32(u uint32, n int) int32 {
	if n == 0 {
		return 0
	}
	return int32(u<<(32-uint(n))) >> (32 - uint(n))
}

// cached is id's value from the array (b.vals != nil).
func (b *BSI) cached(id uint32) (int64, bool) {
	if int(id) >= len(b.vals) || b.vals[id] == valueAbsent {
		return 0, false
	}
	return int64(b.vals[id]), true
}

// cacheSet keeps the array up to date with a Set; a value that does not fit
// drops the array.
func (b *BSI) cacheSet(id uint32, v int64) {
	if len(b.planes) > maxCachedDepth {
		b.vals = nil
		return
	}
	for int(id) >= len(b.vals) {
		b.vals = append(b.vals, valueAbsent)
	}
	b.vals[id] = int32(v)
}

func (b *BSI) cacheClear(id uint32) {
	if int(id) < len(b.vals) {
		b.vals[id] = valueAbsent
	}
}
