package index

import (
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd-db/segd/index/bsi"
)

// qctx is what one query evaluates against: the AT time of relative windows
// and the clock, which sets the retention. Both are Unix seconds.
type qctx struct {
	at, now int64
	memo    *pointMemo // nil but in saved segment maintenance
}

// pointMemo keeps, while saved segments are re-evaluated for one entity,
// what its plans have read: many segments test the same values (country:FR,
// the live set, an INT field), and each read of a large bitmap or BSI is a
// cache miss.
type pointMemo struct {
	id   uint32
	bms  []memoBit // few: a linear scan beats a map
	ints []memoInt
	ords []memoOrd
}

type memoOrd struct {
	f *field
	o uint64 // ENUM: the ordinal; TAGS: the tag word
}

// enumOrd is the entity's ordinal in ENUM field f, which has an ordinal
// array, remembered.
func (m *pointMemo) enumOrd(f *field) uint32 {
	for _, r := range m.ords {
		if r.f == f {
			return uint32(r.o)
		}
	}
	o := f.ord.get(m.id)
	m.ords = append(m.ords, memoOrd{f, uint64(o)})
	return o
}

// tagWord is the entity's tag word in TAGS field f, which keeps them,
// remembered (fields are ENUM or TAGS, so the list serves both).
func (m *pointMemo) tagWord(f *field) uint64 {
	for _, r := range m.ords {
		if r.f == f {
			return r.o
		}
	}
	w := f.tagWord(m.id)
	m.ords = append(m.ords, memoOrd{f, w})
	return w
}

type memoBit struct {
	bm *roaring.Bitmap
	in bool
}

type memoInt struct {
	b  *bsi.BSI
	v  int64
	ok bool
}

// reset starts the memo over for entity id.
func (m *pointMemo) reset(id uint32) {
	m.id = id
	m.bms = m.bms[:0]
	m.ints = m.ints[:0]
	m.ords = m.ords[:0]
}

func (m *pointMemo) bit(bm *roaring.Bitmap) (in, ok bool) {
	for i := range m.bms {
		if m.bms[i].bm == bm {
			return m.bms[i].in, true
		}
	}
	return false, false
}

func (m *pointMemo) setBit(bm *roaring.Bitmap, in bool) {
	for i := range m.bms {
		if m.bms[i].bm == bm {
			m.bms[i].in = in
			return
		}
	}
	m.bms = append(m.bms, memoBit{bm, in})
}

// forget drops what the memo holds of bm (a segment's members that changed).
func (m *pointMemo) forget(bm *roaring.Bitmap) {
	for i := range m.bms {
		if m.bms[i].bm == bm {
			m.bms[i] = m.bms[len(m.bms)-1]
			m.bms = m.bms[:len(m.bms)-1]
			return
		}
	}
}

func (m *pointMemo) intOf(b *bsi.BSI) (memoInt, bool) {
	for _, r := range m.ints {
		if r.b == b {
			return r, true
		}
	}
	return memoInt{}, false
}

func (m *pointMemo) setInt(b *bsi.BSI, v int64, ok bool) {
	for i := range m.ints {
		if m.ints[i].b == b {
			m.ints[i] = memoInt{b, v, ok}
			return
		}
	}
	m.ints = append(m.ints, memoInt{b, v, ok})
}

// contains is bm.Contains(id), remembered when q has a memo for id.
func (q *qctx) contains(bm *roaring.Bitmap, id uint32) bool {
	m := q.memo
	if m == nil || m.id != id {
		return bm.Contains(id)
	}
	in, ok := m.bit(bm)
	if !ok {
		in = bm.Contains(id)
		m.setBit(bm, in)
	}
	return in
}

// known answers t.contains for the memo's entity from what the memo holds,
// without reading anything; ok is false when it does not know.
func (q *qctx) known(t plan) (in, ok bool) {
	m := q.memo
	switch t := t.(type) {
	case *valuePlan:
		if t.f.ord != nil {
			for _, r := range m.ords {
				if r.f == t.f {
					o := t.ordinal()
					return o != 0 && r.o == uint64(o), true
				}
			}
			return false, false
		}
		if t.f.tagWords != nil {
			for _, r := range m.ords {
				if r.f == t.f {
					if o := t.ordinal(); o == 0 || r.o&t.f.tagBit(o) == 0 {
						return false, true
					}
				}
			}
		}
		in, ok = m.bit(t.bm())
	case *bitmapPlan:
		in, ok = m.bit(t.bm)
	case *intPlan:
		var r memoInt
		if r, ok = m.intOf(t.b); ok {
			in = r.ok && t.holds(r.v)
		}
	}
	return in, ok
}

// intValue is b.Get(id), remembered when q has a memo for id.
func (q *qctx) intValue(b *bsi.BSI, id uint32) (int64, bool) {
	m := q.memo
	if m == nil || m.id != id {
		return b.Get(id)
	}
	r, ok := m.intOf(b)
	if !ok {
		r.v, r.ok = b.Get(id)
		m.setInt(b, r.v, r.ok)
	}
	return r.v, r.ok
}

func (e *Engine) qctx(at time.Time) *qctx {
	now := e.now().Unix()
	q := &qctx{at: now, now: now}
	if !at.IsZero() {
		q.at = at.Unix()
	}
	return q
}
