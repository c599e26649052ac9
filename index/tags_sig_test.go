package index

import (
	"fmt"
	"math/rand"
	"testing"
)

// TestTagWords: an entity's tag word always has the bit of every value it
// holds, and no bit no value of its residue explains, through adds,
// removes and clears, with more values than bits.
func TestTagWords(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	f := newField("interests", KindTags)
	for i := 0; i < 500; i++ {
		f.addTag(uint32(r.Intn(100)), fmt.Sprintf("v%d", r.Intn(70)))
	}
	f.buildTagWords()
	check := func(step int) {
		t.Helper()
		for id := uint32(0); id < 120; id++ {
			var want uint64
			for i, bm := range f.bms {
				if bm.Contains(id) {
					want |= tagBit(uint32(i + 1))
				}
			}
			if got := f.tagWord(id); got != want {
				t.Fatalf("step %d: word of %d = %064b, want %064b", step, id, got, want)
			}
		}
	}
	check(0)
	for step := 1; step <= 4000; step++ {
		id := uint32(r.Intn(120))
		switch r.Intn(5) {
		case 0, 1:
			f.addTag(id, fmt.Sprintf("v%d", r.Intn(90)))
		case 2, 3:
			f.remTag(id, fmt.Sprintf("v%d", r.Intn(90)))
		case 4:
			if r.Intn(10) == 0 {
				f.clear(id)
			}
		}
		if step%400 == 0 {
			check(step)
		}
	}
}
