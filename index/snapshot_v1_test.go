package index

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
)

// marshalV1 is the EVENT part of snapshot layout 1 (one part per field),
// as segd wrote it before layout 2: kept to check that such snapshots load.
func (ev *events) marshalV1() ([]byte, error) {
	var meta []byte
	meta = binary.AppendVarint(meta, ev.newest)
	meta = binary.AppendVarint(meta, ev.oldest)
	var bms []*roaring.Bitmap
	for _, s := range append([]*series{ev.any}, ev.ser...) {
		n := 0
		for _, m := range s.levels {
			n += len(m)
		}
		meta = binary.AppendUvarint(meta, uint64(n))
		for lvl, m := range s.levels {
			keys := make([]int64, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				c := m[k]
				meta = append(meta, byte(lvl))
				meta = binary.AppendVarint(meta, k)
				meta = binary.AppendUvarint(meta, uint64(len(c.extra)))
				bms = append(bms, c.has)
				bms = append(bms, c.extra...)
			}
		}
	}
	// The bitmaps start at a multiple of 8, as appendPacked keeps them.
	out := appendAlignedLen(make([]byte, 0, len(meta)+10+packedSize(bms)), uint64(len(meta)), len(meta))
	out = append(out, meta...)
	return appendPacked(out, bms)
}

// TestSnapshotLayout1Loads: a snapshot in layout 1 loads to the same
// engine, and the first FreezeChanges after it rewrites every part (layout
// 2 has other part names).
func TestSnapshotLayout1Loads(t *testing.T) {
	clock := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	e := New()
	e.SetClock(func() time.Time { return clock })
	freezeWorkload(t, e, rand.New(rand.NewSource(3)), 3000)
	var v1 []Part
	for _, p := range mustSnapshot(t, e) {
		switch {
		case strings.HasPrefix(p.Name, "e:"):
			continue
		case p.Name == "schema":
			p.Data = append([]byte{1}, p.Data[1:]...)
		case strings.HasPrefix(p.Name, "f:"):
			if f := e.fields[p.Name[2:]]; f.kind == KindEvent {
				data, err := f.ev.marshalV1()
				if err != nil {
					t.Fatal(err)
				}
				p.Data = data
			}
		}
		v1 = append(v1, p)
	}
	loaded := New()
	loaded.SetClock(func() time.Time { return clock })
	if err := loaded.LoadSnapshot(v1); err != nil {
		t.Fatal(err)
	}
	want, got := snapshotBytes(t, e), snapshotBytes(t, loaded)
	for name, w := range want {
		if !bytes.Equal(got[name], w) {
			t.Fatalf("part %s differs after loading layout 1", name)
		}
	}
	var same []string
	if err := loaded.FreezeChanges().Parts(func(p Part) error {
		if p.Same {
			same = append(same, p.Name)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(same) > 0 {
		t.Fatalf("after a layout 1 load, FreezeChanges carries over %v", same)
	}
}

func mustSnapshot(t *testing.T, e *Engine) []Part {
	t.Helper()
	parts, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	return parts
}
