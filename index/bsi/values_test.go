package bsi

import (
	"math/rand"
	"testing"
)

// TestBSIValuesArray: with the values array, Get, Set and Clear agree with
// a BSI without it, through growth, negatives, clears, a value too deep
// for the array (which drops it) and a rebuild.
func TestBSIValuesArray(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	plain, cached := New(), New()
	model := map[uint32]int64{}
	check := func(step int) {
		t.Helper()
		for id := uint32(0); id < 600; id++ {
			want, wok := model[id]
			for _, b := range []*BSI{plain, cached} {
				if v, ok := b.Get(id); ok != wok || v != want {
					t.Fatalf("step %d: Get(%d) = %d %v, want %d %v (cached %v)", step, id, v, ok, want, wok, b == cached)
				}
			}
		}
	}
	set := func(id uint32, v int64) {
		plain.Set(id, v)
		cached.Set(id, v)
		model[id] = v
	}
	for i := 0; i < 200; i++ {
		set(uint32(r.Intn(500)), int64(r.Intn(1000)))
	}
	if !cached.CacheValues() {
		t.Fatal("small values do not fit the array")
	}
	check(0)
	for step := 1; step <= 3000; step++ {
		id := uint32(r.Intn(600))
		switch r.Intn(4) {
		case 0:
			plain.Clear(id)
			cached.Clear(id)
			delete(model, id)
		case 1:
			set(id, -int64(r.Intn(1<<20)))
		default:
			set(id, int64(r.Intn(1<<(1+r.Intn(29)))))
		}
		if step%500 == 0 {
			check(step)
		}
	}
	if cached.vals == nil {
		t.Fatal("the array was dropped though every value fits")
	}
	set(7, 1<<40)
	if cached.vals != nil {
		t.Fatal("a 41-bit value kept the array")
	}
	check(-1)
	if cached.CacheValues() {
		t.Fatal("CacheValues with a 41-bit value")
	}
	plain.Clear(7)
	cached.Clear(7)
	delete(model, 7)
	check(-2)
}
