package index

import (
	"testing"
	"unsafe"

	"github.com/RoaringBitmap/roaring/v2"
)

// TestPackedBitmapsAligned: packed bitmaps start at multiples of 8 from the
// start of the part, so a part at an aligned address is loaded without a
// copy, and the padded lengths read back exactly.
func TestPackedBitmapsAligned(t *testing.T) {
	var bms []*roaring.Bitmap
	for i := 0; i < 40; i++ {
		bm := roaring.New()
		for j := 0; j < i*i*7+i; j++ {
			bm.Add(uint32(j*(i+1) + i))
		}
		bms = append(bms, bm)
	}
	packed, err := packBitmaps(bms)
	if err != nil {
		t.Fatal(err)
	}
	words := make([]uint64, (len(packed)+7)/8) // an aligned part
	part := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(packed))
	copy(part, packed)
	r := reader{b: part}
	n := r.count()
	for i := 0; i < n; i++ {
		b := r.bytes()
		if r.err != nil {
			t.Fatal(r.err)
		}
		if len(b) > 0 && &aligned(b)[0] != &b[0] {
			t.Fatalf("bitmap %d at offset %d was copied", i, uintptr(unsafe.Pointer(&b[0]))-uintptr(unsafe.Pointer(&part[0])))
		}
	}
	if _, err := unpackBitmaps(part); err != nil {
		t.Fatal(err)
	}
	// An empty bitmap last, read from a copy of just the part's bytes (the
	// slack packBitmaps leaves keeps roaring's slices inside it; bench's
	// event data set exercises it under -race).
	bms = append(bms, roaring.New())
	if packed, err = packBitmaps(bms); err != nil {
		t.Fatal(err)
	}
	exact := make([]byte, len(packed))
	copy(exact, packed)
	if _, err := unpackBitmaps(exact); err != nil {
		t.Fatal(err)
	}
	got, err := unpackBitmaps(part)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(bms)-1 {
		t.Fatalf("%d bitmaps read back, want %d", len(got), len(bms)-1)
	}
	for i := range got {
		if !got[i].Equals(bms[i]) {
			t.Fatalf("bitmap %d differs after the round trip", i)
		}
	}
}

// TestEventPartAligned: the EVENT and segment parts keep their bitmaps
// aligned after their header.
func TestEventPartAligned(t *testing.T) {
	meta := []byte("some header bytes")
	for _, n := range []int{0, 1, 5, 7, 8, 13, 200, 1000} {
		out := appendAlignedLen(nil, uint64(n+len(meta)), n+len(meta))
		if (len(out)+n+len(meta))%8 != 0 {
			t.Fatalf("header of %d bytes: bitmaps at offset %d", n+len(meta), len(out)+n+len(meta))
		}
		r := reader{b: append(out, make([]byte, n+len(meta))...)}
		if b := r.bytes(); r.err != nil || len(b) != n+len(meta) {
			t.Fatalf("header of %d bytes read back as %d (%v)", n+len(meta), len(b), r.err)
		}
	}
}
