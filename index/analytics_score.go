package index

import (
	"math"
	"math/bits"
	"runtime"
	"sort"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
)

// LOOKALIKE's scoring: each entity's score is the sum of the weights of the
// scoring values it holds. The sums are kept in a dense array indexed by
// entity id (2 bytes an entity; 4 if the weights could overflow 2), added to
// by walking each value's holders once. A histogram of the candidates'
// scores (the others' scores set to zero first) then gives the score of the
// count-th best, and a second pass collects those above it and the ties at
// it; the ties are broken by key as QUERY.TOP does. With two goroutines the
// values are split between two arrays, summed before the passes, and each
// pass splits the ids in two halves.

// scoreTerm is one scoring value: its holders and its weight.
type scoreTerm struct {
	bm *roaring.Bitmap
	w  uint64
}

// scoreParallelMin is the number of holders below which the scoring stays
// on one goroutine.
var scoreParallelMin uint64 = 1 << 19

type scoreWord interface{ ~uint16 | ~uint32 }

var (
	score16Pool sync.Pool // *[]uint16
	score32Pool sync.Pool // *[]uint32
)

func getScores[T scoreWord](pool *sync.Pool, n int) *[]T {
	if p, ok := pool.Get().(*[]T); ok && cap(*p) >= n {
		*p = (*p)[:n]
		clear(*p)
		return p
	}
	s := make([]T, n)
	return &s
}

// topScores ranks the candidates (not empty) by the sum of the weights of
// the terms they hold: the best count, best first, ties by key; candidates
// holding no term are left out.
func (e *Engine) topScores(terms []scoreTerm, candidates *roaring.Bitmap, count int) []Ranked {
	var total uint64
	for _, t := range terms {
		total += t.w
	}
	if total <= math.MaxUint16 {
		return topScoresOf[uint16](e, &score16Pool, terms, candidates, count, total)
	}
	return topScoresOf[uint32](e, &score32Pool, terms, candidates, count, total)
}

func topScoresOf[T scoreWord](e *Engine, pool *sync.Pool, terms []scoreTerm, candidates *roaring.Bitmap, count int, total uint64) []Ranked {
	n := int(candidates.Maximum()) + 1
	var holders uint64
	for _, t := range terms {
		holders += t.bm.GetCardinality()
	}
	workers := 1
	if holders >= scoreParallelMin && runtime.GOMAXPROCS(0) >= 2 && len(terms) >= 2 {
		workers = countWorkers
	}

	// The sums: the terms go to the array with the fewest holders so far,
	// the largest first (any split gives the same sums).
	order := make([]int, len(terms))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		return terms[order[a]].bm.GetCardinality() > terms[order[b]].bm.GetCardinality()
	})
	share := make([][]scoreTerm, workers)
	load := make([]uint64, workers)
	for _, i := range order {
		p := 0
		for q := range load {
			if load[q] < load[p] {
				p = q
			}
		}
		share[p] = append(share[p], terms[i])
		load[p] += terms[i].bm.GetCardinality()
	}
	arrays := make([][]T, workers)
	parallel(workers, func(p int) {
		s := getScores[T](pool, n)
		defer func() { arrays[p] = *s }()
		buf := make([]uint32, 4096)
		for _, t := range share[p] {
			addTerm(*s, t.bm, T(t.w), buf)
		}
	})
	defer func() {
		for _, a := range arrays {
			pool.Put(&a)
		}
	}()
	a := arrays[0]
	// The passes below split the ids into one part per goroutine, on word
	// boundaries.
	bounds := make([]int, workers+1)
	for p := 1; p < workers; p++ {
		bounds[p] = len(a) * p / workers &^ 63
	}
	bounds[workers] = len(a)
	halves := func(f func(p, lo, hi int)) {
		parallel(workers, func(p int) { f(p, bounds[p], bounds[p+1]) })
	}
	if workers > 1 {
		halves(func(_, lo, hi int) {
			for _, b := range arrays[1:] {
				for i, x := range b[lo:hi] {
					a[lo+i] += x
				}
			}
		})
	}

	// Only candidates are ranked: the others' scores drop to zero.
	cw := getWords(int(candidates.DenseSize()))
	defer wordPool.Put(cw)
	candidates.WriteDenseTo(*cw)
	words := *cw
	halves(func(_, lo, hi int) {
		for w := lo / 64; w < (hi+63)/64; w++ {
			for x := ^words[w]; x != 0; x &= x - 1 {
				if id := w<<6 + bits.TrailingZeros64(x); id < hi {
					a[id] = 0
				}
			}
		}
	})

	// The cut: the count-th best score, or the lowest if fewer score.
	hists := make([][]uint64, workers)
	halves(func(p, lo, hi int) {
		h := make([]uint64, total+1)
		for _, s := range a[lo:hi] {
			h[s]++
		}
		hists[p] = h
	})
	hist := hists[0]
	for _, h := range hists[1:] {
		for s, c := range h {
			hist[s] += c
		}
	}
	var cut T
	var seen uint64
	for s := int(total); s > 0; s-- {
		if hist[s] == 0 {
			continue
		}
		cut = T(s)
		seen += hist[s]
		if seen >= uint64(count) {
			break
		}
	}
	if cut == 0 {
		return []Ranked{}
	}

	// Those above the cut, and the ties at it, in id order.
	type hit struct {
		id uint32
		s  T
	}
	above := make([][]hit, workers)
	ties := make([][]uint32, workers)
	halves(func(p, lo, hi int) {
		for i, s := range a[lo:hi] {
			if s >= cut {
				if s > cut {
					above[p] = append(above[p], hit{uint32(lo + i), s})
				} else {
					ties[p] = append(ties[p], uint32(lo+i))
				}
			}
		}
	})
	out := make([]Ranked, 0, count)
	for _, hs := range above {
		for _, h := range hs {
			if k, ok := e.dict.Key(h.id); ok {
				out = append(out, Ranked{Key: k, Value: int64(h.s)})
			}
		}
	}
	sortRanked(out)
	if rest := count - len(out); rest > 0 {
		atCut := roaring.New()
		for _, t := range ties {
			atCut.AddMany(t)
		}
		for _, key := range e.smallestKeys(atCut, rest) {
			out = append(out, Ranked{Key: key, Value: int64(cut)})
		}
	}
	return out
}

// addTerm adds w to the score of every holder in bm below len(s).
func addTerm[T scoreWord](s []T, bm *roaring.Bitmap, w T, buf []uint32) {
	it := bm.ManyIterator()
	for k := it.NextMany(buf); k > 0; k = it.NextMany(buf) {
		ids := buf[:k]
		if int(ids[k-1]) >= len(s) {
			for _, id := range ids {
				if int(id) < len(s) {
					s[id] += w
				}
			}
			return
		}
		for _, id := range ids {
			s[id] += w
		}
	}
}

// parallel runs f(0) … f(n-1), on n goroutines when n > 1.
func parallel(n int, f func(p int)) {
	if n == 1 {
		f(0)
		return
	}
	var wg sync.WaitGroup
	for p := 1; p < n; p++ {
		wg.Go(func() { f(p) })
	}
	f(0)
	wg.Wait()
}
