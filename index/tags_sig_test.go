package index

import (
	"fmt"
	"math/rand"
	"testing"
)

// TestTagWords: through adds, removes and clears, an entity's tag word has
// the bit of each of the field's first 63 values exactly when it holds the
// value, and bit 63 whenever it holds a later one (the field has more
// values than bits).
func TestTagWords(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	f := newField("interests", KindTags)
	for i := 0; i < 500; i++ {
		f.addTag(uint32(r.Intn(100)), fmt.Sprintf("v%d", r.Intn(70)))
	}
	f.buildTagWords(map[string]bool{"v65": true, "v3": true})
	check := func(step int) {
		t.Helper()
		for id := uint32(0); id < 120; id++ {
			var want uint64
			for i, bm := range f.bms {
				if bm.Contains(id) {
					want |= f.tagBit(uint32(i + 1))
				}
			}
			for i, bm := range f.bms {
				o, w := uint32(i+1), f.tagWord(id)
				if in, bit := bm.Contains(id), w&f.tagBit(o) != 0; (in && !bit) || (f.tagExact(o) && bit != in) {
					t.Fatalf("step %d: value %d (ordinal %d) held by %d: %v, bit %v (exact %v)", step, i, o, id, in, bit, f.tagExact(o))
				}
			}
			const later = uint64(1) << 63
			if got := f.tagWord(id); got&^later != want&^later || got&want&later != want&later {
				t.Fatalf("step %d: word of %d = %064b, want %064b (bit 63 may be set more)", step, id, got, want)
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
	// The values segments name have bits of their own, and a newly named
	// one gets its bit when the words are built again.
	named := map[string]bool{"v65": true, "v3": true}
	for _, v := range []string{"v65", "v3", "v88"} {
		if own := f.tagExact(f.ordinals[v]); own != named[v] {
			t.Fatalf("%s has a bit of its own: %v, want %v", v, own, named[v])
		}
	}
	// Every bit is taken: v88 takes the least common value's not named.
	named["v88"] = true
	f.buildTagWords(named)
	for _, v := range []string{"v65", "v3", "v88"} {
		if !f.tagExact(f.ordinals[v]) {
			t.Fatalf("%s, named, has no bit of its own", v)
		}
	}
	check(-1)

	// With fewer values than bits, a value created later and named takes
	// a free bit.
	g := newField("optins", KindTags)
	for i := 0; i < 300; i++ {
		g.addTag(uint32(r.Intn(100)), fmt.Sprintf("o%d", r.Intn(5)))
	}
	g.buildTagWords(nil)
	for i := 0; i < 300; i++ {
		g.addTag(uint32(r.Intn(100)), fmt.Sprintf("o%d", 5+r.Intn(5)))
	}
	if g.tagExact(g.ordinals["o7"]) {
		t.Fatal("o7, created after the words, has a bit of its own before it is named")
	}
	g.buildTagWords(map[string]bool{"o7": true})
	if !g.tagExact(g.ordinals["o7"]) || !g.tagExact(g.ordinals["o2"]) {
		t.Fatal("o7, named, took no free bit, or o2 lost its own")
	}
	f = g
	check(-2)
}
