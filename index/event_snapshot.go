package index

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
)

// An EVENT field's snapshot part is a header, then every bitmap packed as
// packBitmaps does. The header holds the newest and oldest buckets and, per
// series (the field-wide one, then each value's in ordinal order), the number
// of stored counts and, for each, its level, key and number of extra planes.
// Bitmaps follow in the same order, each counts' has then its planes.

// freeze returns a copy of ev for a snapshot whose counts are frozen
// bitmaps (see freezeBitmap); the caller holds the write lock.
func (ev *events) freeze() *events {
	out := &events{spec: ev.spec, newest: ev.newest, oldest: ev.oldest, any: ev.any.freeze(),
		ser: make([]*series, len(ev.ser))}
	for i, s := range ev.ser {
		out.ser[i] = s.freeze()
	}
	return out
}

func (s *series) freeze() *series {
	out := &series{}
	for lvl, m := range s.levels {
		out.levels[lvl] = make(map[int64]*counts, len(m))
		for k, c := range m {
			out.levels[lvl][k] = &counts{has: freezeBitmap(c.has), extra: freezeAll(c.extra)}
		}
	}
	return out
}

func (ev *events) marshal() ([]byte, error) {
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

func unmarshalEvents(gran, retention time.Duration, nvalues int, data []byte) (*events, error) {
	ev := newEvents(gran, retention)
	r := reader{b: data}
	meta := reader{b: r.bytes()}
	if r.err != nil {
		return nil, r.err
	}
	bms, err := unpackBitmaps(r.b)
	if err != nil {
		return nil, err
	}
	ev.newest, ev.oldest = meta.varint(), meta.varint()
	next := 0
	take := func() *roaring.Bitmap {
		if next >= len(bms) {
			meta.err = fmt.Errorf("missing bitmaps")
			return roaring.New()
		}
		next++
		return bms[next-1]
	}
	for i := 0; i <= nvalues && meta.err == nil; i++ {
		s := newSeries()
		n := meta.count()
		for j := 0; j < n && meta.err == nil; j++ {
			if len(meta.b) == 0 {
				meta.err = fmt.Errorf("truncated series")
				break
			}
			lvl := int(meta.b[0])
			meta.b = meta.b[1:]
			k := meta.varint()
			nx := int(meta.uvarint())
			if lvl > 2 || nx > 64 {
				meta.err = fmt.Errorf("bad level %d", lvl)
				break
			}
			c := &counts{has: take()}
			for x := 0; x < nx; x++ {
				c.extra = append(c.extra, take())
			}
			s.levels[lvl][k] = c
		}
		if i == 0 {
			ev.any = s
		} else {
			ev.ser = append(ev.ser, s)
		}
	}
	if meta.err != nil {
		return nil, meta.err
	}
	return ev, nil
}

func restoreEventField(name string, values []string, gran, retention time.Duration, data []byte) (*field, error) {
	ev, err := unmarshalEvents(gran, retention, len(values), data)
	if err != nil {
		return nil, fmt.Errorf("field %s: %w", name, err)
	}
	f := newField(name, KindEvent)
	f.ev = ev
	f.values = values
	for i, v := range values {
		f.ordinals[strings.Clone(v)] = uint32(i + 1)
	}
	return f, nil
}
