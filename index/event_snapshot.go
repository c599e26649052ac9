package index

import (
	"fmt"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
)

// In snapshot layout 1 (still read; layout 2 is in snapshot_changes.go),
// an EVENT field's snapshot part is a header, then every bitmap packed as
// packBitmaps does. The header holds the newest and oldest buckets and, per
// series (the field-wide one, then each value's in ordinal order), the number
// of stored counts and, for each, its level, key and number of extra planes.
// Bitmaps follow in the same order, each counts' has then its planes.

func unmarshalEvents(gran, retention time.Duration, nvalues int, data []byte) (*events, error) {
	ev := newEvents(gran, retention)
	meta, bms, err := unpackMeta(data)
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
	return newEventField(name, values, ev), nil
}

// newEventField makes an EVENT field of values and ev, with a series per
// value (ev.ser is filled out to one per value).
func newEventField(name string, values []string, ev *events) *field {
	f := newField(name, KindEvent)
	f.ev = ev
	f.values = values
	for i, v := range values {
		f.ordinals[strings.Clone(v)] = uint32(i + 1)
	}
	for len(ev.ser) < len(values) {
		ev.ser = append(ev.ser, newSeries())
	}
	return f
}
