package roaringpeek

import (
	"math/rand"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
)

// Held must read roaring's containers as they are (the layout check
// passes with the roaring this module builds with) and count exactly the
// bitmaps that Contains says hold an id, over array, bitmap and run
// containers, missing containers and empty bitmaps.
func TestHeld(t *testing.T) {
	if !peekLayoutOK {
		t.Fatal("roaring's container layout is not the one peek.go reads: update rbLayout (Held falls back to Contains meanwhile)")
	}
	r := rand.New(rand.NewSource(1))
	var bms []*roaring.Bitmap
	for i := 0; i < 60; i++ {
		bm := roaring.New()
		switch i % 6 {
		case 0: // sparse: array containers
			for j := 0; j < 3000; j++ {
				bm.Add(uint32(r.Intn(1 << 20)))
			}
		case 1: // dense: bitmap containers
			for j := 0; j < 200000; j++ {
				bm.Add(uint32(r.Intn(1 << 20)))
			}
		case 2: // runs
			for j := 0; j < 20; j++ {
				lo := uint64(r.Intn(1 << 20))
				bm.AddRange(lo, lo+uint64(r.Intn(100000)))
			}
			bm.RunOptimize()
		case 3: // a few values, some containers only
			for j := 0; j < 5; j++ {
				bm.Add(uint32(r.Intn(1 << 20)))
			}
		case 4: // empty
		case 5: // a mix of kinds
			for j := 0; j < 50000; j++ {
				bm.Add(uint32(r.Intn(1 << 18)))
			}
			bm.AddRange(1<<19, 1<<19+70000)
			bm.Add(1<<20 - 1)
			bm.RunOptimize()
		}
		bms = append(bms, bm)
	}
	var sr Searcher
	for n := 0; n < 20000; n++ {
		id := uint32(r.Intn(1<<20 + 1000))
		if n%7 == 0 {
			// An id some bitmap holds, so that hits are common.
			if s := bms[r.Intn(len(bms))]; !s.IsEmpty() {
				id = s.Minimum()
			}
		}
		pick := bms[:0:0]
		for _, k := range r.Perm(len(bms))[:1+r.Intn(12)] {
			pick = append(pick, bms[k])
		}
		want := 0
		for _, s := range pick {
			if s.Contains(id) {
				want++
			}
		}
		if got := sr.Held(len(pick), func(k int) *roaring.Bitmap { return pick[k] }, id); got != want {
			t.Fatalf("id %d over %d bitmaps: Held %d, Contains %d", id, len(pick), got, want)
		}
	}
}
