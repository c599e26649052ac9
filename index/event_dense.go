package index

import (
	"math/bits"
	"runtime"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/segd-db/segd/index/expr"
)

// Event comparisons ("purchase:shirts >= 3 IN 90d") are answered with
// word-parallel saturating counters: for every 64 entities, B words hold
// the bit planes of their counters (B = the bits of n) and one more word the
// entities whose sum already passed 2^B−1. Every stored plane of every piece
// of the window is added at its weight with a ripple carry through the B
// planes, 64 entities per instruction: dense planes are spread into words
// with WriteDenseTo and added a batch at a time, block by block of 1,024
// words (the counters of a block stay in the first-level cache while the
// batch is added), a sparse plane is added bit by bit. The comparison with n
// is then a bit-sliced compare of the planes against the constant. The work
// is a few streaming passes over the entity space instead of a random
// counter update per stored bit.

// denseMaxBits bounds the counter width: comparisons with n ≥ 2^31 use the
// bit-sliced sum instead.
const denseMaxBits = 31

type denseScratch struct {
	acc, sat, ex []uint64
	nb, wlo, whi int // counter planes, and the words counted

	batch []densePlane // dense planes waiting for a pass
	bufs  [][]uint64   // their words; all zero between passes
}

// densePlane is a stored plane to add at weight 2^w, or into the overflow
// plane when w = nb.
type densePlane struct {
	bm     *roaring.Bitmap
	w      int
	lo, hi int // its words
}

// denseBatch is how many dense planes one pass over the counters adds: the
// counters are read and written once per batch, not once per plane.
const denseBatch = 8

var densePool = sync.Pool{New: func() any { return new(denseScratch) }}

func grow(s []uint64, n int) []uint64 {
	if cap(s) < n {
		return make([]uint64, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// compareDense returns the entities (within filter when it is not nil)
// whose sum over pcs satisfies op n, and when wantExists those with any
// occurrence. It
// reports false when n is outside what the counters compare exactly.
func compareDense(pcs []*counts, filter *roaring.Bitmap, op expr.CmpOp, n int64, wantExists bool) (sat, exists *roaring.Bitmap, ok bool) {
	if n < 0 || n >= 1<<denseMaxBits {
		return nil, nil, false
	}
	lo, hi := uint32(1<<32-1), uint32(0)
	for _, c := range pcs {
		if c.has.IsEmpty() {
			continue
		}
		lo, hi = min(lo, c.has.Minimum()), max(hi, c.has.Maximum())
	}
	if lo > hi {
		return roaring.New(), roaring.New(), true
	}
	if filter != nil {
		if filter.IsEmpty() {
			return roaring.New(), roaring.New(), true
		}
		lo, hi = max(lo, filter.Minimum()), min(hi, filter.Maximum())
		if lo > hi {
			return roaring.New(), roaring.New(), true
		}
	}
	nb := max(1, bits.Len64(uint64(n))) // counters hold 0 … 2^nb−1, then overflow
	st := nb + 1                        // the planes, then the overflow plane
	wlo, whi := int(lo>>6), int(hi>>6)
	words := whi + 1

	s := densePool.Get().(*denseScratch)
	defer densePool.Put(s)
	s.acc = grow(s.acc, (whi>>denseBlockBits+1)*st<<denseBlockBits)
	acc := s.acc
	s.nb, s.wlo, s.whi = nb, wlo, whi
	for _, c := range pcs {
		s.add(c.has, 0)
		for i, plane := range c.extra {
			s.add(plane, min(i, nb)) // planes worth 2^nb or more: straight to overflow
		}
	}
	s.flush()

	s.sat = grow(s.sat, words)
	if wantExists {
		s.ex = grow(s.ex, words)
	}
	un := uint64(n)
	for wi := wlo; wi <= whi; wi++ {
		o := acc[s.at(wi, nb)]
		ex := o
		var gt uint64
		eq := ^uint64(0)
		for j := nb - 1; j >= 0; j-- {
			aj := acc[s.at(wi, j)]
			ex |= aj
			if un>>uint(j)&1 == 1 {
				eq &= aj
			} else {
				gt |= eq & aj
				eq &^= aj
			}
		}
		gt |= o
		eq &^= o
		var r uint64
		switch op {
		case expr.CmpGe:
			r = gt | eq
		case expr.CmpGt:
			r = gt
		case expr.CmpLe:
			r = ^gt
		case expr.CmpLt:
			r = ^(gt | eq)
		case expr.CmpEq:
			r = eq
		case expr.CmpNe:
			r = ^eq
		}
		s.sat[wi] = r & ex
		if wantExists {
			s.ex[wi] = ex
		}
	}
	sat = roaring.FromDense(s.sat, true)
	if wantExists {
		exists = roaring.FromDense(s.ex, true)
	}
	if filter != nil {
		sat.And(filter)
		if exists != nil {
			exists.And(filter)
		}
	}
	return sat, exists, true
}

// add adds x·2^w to the counters: a sparse plane at once, bit by bit; a
// dense one in the next batched pass.
func (s *denseScratch) add(x *roaring.Bitmap, w int) {
	if x.IsEmpty() {
		return
	}
	xlo, xhi := int(x.Minimum()>>6), int(x.Maximum()>>6)
	if max(xlo, s.wlo) > min(xhi, s.whi) {
		return
	}
	if x.GetCardinality()*8 >= uint64(xhi-xlo+1) {
		s.batch = append(s.batch, densePlane{bm: x, w: w, lo: xlo, hi: xhi})
		if len(s.batch) == denseBatch {
			s.flush()
		}
		return
	}
	nb, acc := s.nb, s.acc
	it := x.Iterator()
	for it.HasNext() {
		id := it.Next()
		wi := int(id >> 6)
		if wi < s.wlo || wi > s.whi {
			continue
		}
		carry := uint64(1) << (id & 63)
		for j := w; j < nb && carry != 0; j++ {
			a := &acc[s.at(wi, j)]
			t := *a & carry
			*a ^= carry
			carry = t
		}
		acc[s.at(wi, nb)] |= carry
	}
}

// flush adds the batched dense planes: each is spread into words with
// WriteDenseTo, then one pass over the counters adds them all, 64 entities
// per instruction. Both steps are shared out between the cores when the
// counters are large.
func (s *denseScratch) flush() {
	if len(s.batch) == 0 {
		return
	}
	from, to := s.whi, s.wlo
	for _, p := range s.batch {
		from, to = min(from, max(p.lo, s.wlo)), max(to, min(p.hi, s.whi))
	}
	for len(s.bufs) < len(s.batch) {
		s.bufs = append(s.bufs, nil)
	}
	workers := 1
	if to-from >= denseParallelWords {
		workers = min(runtime.GOMAXPROCS(0), denseMaxWorkers)
	}
	spread := func(i int) {
		p := s.batch[i]
		n := max(p.hi, to) + 1
		if cap(s.bufs[i]) < n {
			s.bufs[i] = make([]uint64, n)
		}
		s.bufs[i] = s.bufs[i][:n]
		p.bm.WriteDenseTo(s.bufs[i]) // the buffer is all zero
	}
	if workers == 1 {
		for i := range s.batch {
			spread(i)
		}
		s.pass(from, to)
	} else {
		var wg sync.WaitGroup
		for g := 0; g < workers; g++ {
			wg.Go(func() {
				for i := g; i < len(s.batch); i += workers {
					spread(i)
				}
			})
		}
		wg.Wait()
		step := ((to-from+1)/workers + denseBlockMask) &^ denseBlockMask // whole blocks
		for g := 0; g < workers; g++ {
			lo, hi := from+g*step, min(to, from+(g+1)*step-1)
			if lo > hi {
				continue
			}
			wg.Go(func() { s.pass(lo, hi) })
		}
		wg.Wait()
	}
	for i, p := range s.batch {
		// The pass zeroed from…to; words of the plane outside the counted
		// range are zeroed here, keeping the buffer all zero.
		if p.lo < from {
			clear(s.bufs[i][p.lo:from])
		}
		if p.hi > to {
			clear(s.bufs[i][to+1 : p.hi+1])
		}
		s.batch[i] = densePlane{}
	}
	s.batch = s.batch[:0]
}

// pass adds the batched planes to the counters of words from…to, block by
// block, and zeroes the batch's words as it reads them (the buffers are kept
// all zero between flushes, so spreading a plane needs no clearing).
func (s *denseScratch) pass(from, to int) {
	nb, st, acc := s.nb, s.nb+1, s.acc
	var carry [1 << denseBlockBits]uint64
	for b := from; b <= to; b = (b | denseBlockMask) + 1 {
		e := min(to, b|denseBlockMask)
		base := (b >> denseBlockBits) * st << denseBlockBits
		off, n := b&denseBlockMask, e-b+1
		plane := func(j int) []uint64 { return acc[base+j<<denseBlockBits+off:][:n] }
		o := plane(nb)
		for i, p := range s.batch {
			c := s.bufs[i][b : e+1]
			switch nb - p.w {
			case 0:
				for k, x := range c {
					o[k] |= x
					c[k] = 0
				}
			case 1:
				a0 := plane(p.w)
				for k, x := range c {
					t := a0[k] & x
					a0[k] ^= x
					o[k] |= t
					c[k] = 0
				}
			case 2:
				a0, a1 := plane(p.w), plane(p.w+1)
				for k, x := range c {
					t := a0[k] & x
					a0[k] ^= x
					u := a1[k] & t
					a1[k] ^= t
					o[k] |= u
					c[k] = 0
				}
			case 3:
				a0, a1, a2 := plane(p.w), plane(p.w+1), plane(p.w+2)
				for k, x := range c {
					t := a0[k] & x
					a0[k] ^= x
					u := a1[k] & t
					a1[k] ^= t
					v := a2[k] & u
					a2[k] ^= u
					o[k] |= v
					c[k] = 0
				}
			default:
				cr := carry[:n]
				copy(cr, c)
				clear(c)
				for j := p.w; j < nb; j++ {
					a := plane(j)
					for k, x := range cr {
						t := a[k] & x
						a[k] ^= x
						cr[k] = t
					}
				}
				for k, x := range cr {
					o[k] |= x
				}
			}
		}
	}
}

// Counters are kept by blocks of 1,024 words (65,536 entities): a block's
// first plane, its second … its overflow plane.
const (
	denseBlockBits = 10
	denseBlockMask = 1<<denseBlockBits - 1
)

// at is the index in acc of plane j (nb: the overflow plane) of word wi.
func (s *denseScratch) at(wi, j int) int {
	return ((wi>>denseBlockBits)*(s.nb+1)+j)<<denseBlockBits | wi&denseBlockMask
}

// denseParallelWords is the fewest counted words (of 64 entities) shared
// out between cores: below 2M entities one core is quicker. Tests lower it.
var denseParallelWords = 1 << 15

const denseMaxWorkers = 4
