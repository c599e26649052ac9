package index

import "testing"

// TestOrdinalsWiden: the per-entity ordinal array starts at 2 bytes an
// entity and widens to 4 when a field passes 65535 values, keeping every
// ordinal it held.
func TestOrdinalsWiden(t *testing.T) {
	var o ordinals
	want := map[uint32]uint32{}
	for id := uint32(0); id < 5000; id += 7 {
		o.set(id, id%65535+1)
		want[id] = id%65535 + 1
	}
	if o.o16 == nil || o.o32 != nil {
		t.Fatal("small ordinals should use 2 bytes")
	}
	o.set(9000, 70000)
	want[9000] = 70000
	o.set(14, 0)
	want[14] = 0
	if o.o32 == nil || o.o16 != nil {
		t.Fatal("an ordinal above 65535 should widen the array")
	}
	for id := uint32(0); id < 10000; id++ {
		if got := o.get(id); got != want[id] {
			t.Fatalf("get(%d) = %d, want %d", id, got, want[id])
		}
	}
	if o.get(1<<30) != 0 {
		t.Fatal("an id past the array has no ordinal")
	}
}

// TestEnumManyValues: an ENUM crossing the ordinal-array threshold keeps
// answering which value each entity holds, and replaces values correctly.
func TestEnumManyValues(t *testing.T) {
	f := newField("city", KindEnum)
	for id := uint32(0); id < 200; id++ {
		f.setEnum(id, string(rune('a'+id%40)))
	}
	if f.ord == nil {
		t.Fatal("40 values should build the ordinal array")
	}
	for id := uint32(0); id < 200; id += 3 {
		f.setEnum(id, "z")
	}
	for id := uint32(0); id < 200; id++ {
		want := string(rune('a' + id%40))
		if id%3 == 0 {
			want = "z"
		}
		if got := f.values[f.enumOrdinal(id)-1]; got != want {
			t.Fatalf("entity %d holds %q, want %q", id, got, want)
		}
		if n := f.valueBitmap(want); !n.Contains(id) {
			t.Fatalf("bitmap of %q lacks %d", want, id)
		}
	}
	if f.valueBitmap("a").Contains(0) {
		t.Fatal("the replaced value's bitmap still holds the entity")
	}
}
