package index

import (
	"math/bits"
	"runtime"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
)

// overlap returns the k×k matrix of intersection sizes of bms (the diagonal
// holds each cardinality). Pairs of dense bitmaps are counted with their
// words side by side: every dense bitmap is spread into words once
// (WriteDenseTo), then each block of 1,024 words is intersected pair by pair
// with popcounts while the block's words of all of them sit in cache, where
// one roaring AndCardinality per pair would walk both bitmaps again. Pairs
// with a sparse bitmap use AndCardinality, which only visits the sparse
// one's values. The work is shared out between the cores.
func overlap(bms []*roaring.Bitmap) [][]uint64 {
	k := len(bms)
	out := make([][]uint64, k)
	cards := make([]uint64, k)
	maxID := uint32(0)
	for i, bm := range bms {
		out[i] = make([]uint64, k)
		cards[i] = bm.GetCardinality()
		out[i][i] = cards[i]
		if cards[i] > 0 {
			maxID = max(maxID, bm.Maximum())
		}
	}
	words := int(maxID>>6) + 1
	var dense []int // positions of the bitmaps counted word by word
	for i := range bms {
		if cards[i]*overlapDenseRatio >= uint64(words) {
			dense = append(dense, i)
		}
	}
	if len(dense) < 2 || words < 1<<denseBlockBits {
		dense = nil
	}
	isDense := make([]bool, k)
	for _, i := range dense {
		isDense[i] = true
	}
	type pair struct{ i, j int }
	var sparse []pair
	for i := 0; i < k; i++ {
		for j := i + 1; j < k; j++ {
			if !isDense[i] || !isDense[j] {
				sparse = append(sparse, pair{i, j})
			}
		}
	}
	workers := min(runtime.GOMAXPROCS(0), denseMaxWorkers)
	if len(sparse)+len(dense)*words/(1<<denseBlockBits) < 8 {
		workers = 1
	}
	var wg sync.WaitGroup
	// Sparse pairs: AndCardinality, shared out by turns.
	sparseCounts := make([]uint64, len(sparse))
	// Dense bitmaps spread into words, shared out by turns.
	var bufs [][]uint64
	if dense != nil {
		bufs = make([][]uint64, len(dense))
	}
	for g := 0; g < workers; g++ {
		wg.Go(func() {
			for n := g; n < len(sparse); n += workers {
				sparseCounts[n] = bms[sparse[n].i].AndCardinality(bms[sparse[n].j])
			}
			for n := g; n < len(bufs); n += workers {
				bufs[n] = make([]uint64, words)
				bms[dense[n]].WriteDenseTo(bufs[n])
			}
		})
	}
	wg.Wait()
	for n, p := range sparse {
		out[p.i][p.j], out[p.j][p.i] = sparseCounts[n], sparseCounts[n]
	}
	if dense == nil {
		return out
	}
	// Dense pairs: blocks of words shared out by turns, counts summed.
	d := len(dense)
	partial := make([][]uint64, workers) // per worker, d×d upper triangle
	blocks := (words + 1<<denseBlockBits - 1) >> denseBlockBits
	for g := 0; g < workers; g++ {
		partial[g] = make([]uint64, d*d)
		wg.Go(func() {
			cnt := partial[g]
			for b := g; b < blocks; b += workers {
				lo, hi := b<<denseBlockBits, min(words, (b+1)<<denseBlockBits)
				for a := 0; a < d; a++ {
					x := bufs[a][lo:hi]
					for c := a + 1; c < d; c++ {
						y := bufs[c][lo:hi]
						y = y[:len(x)]
						var n int
						for w, v := range x {
							n += bits.OnesCount64(v & y[w])
						}
						cnt[a*d+c] += uint64(n)
					}
				}
			}
		})
	}
	wg.Wait()
	for a := 0; a < d; a++ {
		for c := a + 1; c < d; c++ {
			var n uint64
			for g := range partial {
				n += partial[g][a*d+c]
			}
			i, j := dense[a], dense[c]
			out[i][j], out[j][i] = n, n
		}
	}
	return out
}

// overlapDenseRatio: a bitmap with at least one member per this many words
// of the id space is counted word by word.
const overlapDenseRatio = 4
