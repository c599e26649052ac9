package index

import "github.com/RoaringBitmap/roaring/v2"

// Memberships by point evaluation. A segment whose expression reads only
// ENUM and TAGS values, INT comparisons and ALL, combined by AND, OR, XOR and
// NOT (no events, f:*, SAMPLE, TOP or @name) is "point-plain": its members
// are exactly the live entities its plan's contains accepts, after every
// write. For such a segment, whether it holds an entity can be answered by
// evaluating its plan for the entity instead of reading its members: the
// reads are the entity's ordinals, tag words and INT values, one each per
// field and shared by every segment through the memo (qctx.go), where a
// roaring lookup in the members is a binary search over a container
// (several cache misses at 10M entities) for each segment.
//
// Maintenance uses it for the programs (segment_prog.go: only point-plain
// segments get one) and for the recheck of a group's signature bit after
// an exit, which evaluates the group's other point-plain segments against
// the values after the write (the memo maintenance just filled, seeded by
// memoTouched with what the write changed) instead of reading their
// members.

// segPointOK reports whether s is point-plain for its current plan.
func (e *Engine) segPointOK(s *segment) bool {
	p := e.segPlan(s)
	if s.pointPlan != p {
		s.pointPlan, s.pointOK = p, pointPlain(p, e.live)
	}
	return s.pointOK
}

// pointPlain reports whether p reads only the entity's own values: ENUM and
// TAGS values, INT comparisons and the live set.
func pointPlain(p plan, live *roaring.Bitmap) bool {
	return everyNode(p, func(n plan) bool {
		switch n := n.(type) {
		case *notPlan:
			return n.live == live
		case *valuePlan:
			return n.f.kind == KindEnum || n.f.kind == KindTags
		case *intPlan:
			return true
		case *bitmapPlan:
			return n.bm == live // ALL
		}
		return false
	})
}

// memoTouched starts the memo over for the entity of ts (its touches) with
// what the write changed: whether it now holds each ENUM or TAGS value it
// changed, and the new value of each INT field.
func (e *Engine) memoTouched(m *pointMemo, ts []touched) {
	m.reset(ts[0].id)
	for i := range ts {
		t := &ts[i]
		f := e.fields[t.field]
		switch {
		case f == nil || t.isNew:
		case t.isInt:
			if f.bsi != nil {
				m.setInt(f.bsi, t.new, t.hasNew)
			}
		case f.kind == KindEnum && f.ord != nil:
			m.enumOrd(f) // its value now
		case t.value != "" && (f.kind == KindEnum || f.kind == KindTags):
			if bm := f.valueBitmap(t.value); bm != nil {
				m.setBit(bm, bm.Contains(t.id))
			}
		}
	}
}

// firstTouch reports whether ts[i] is the first touch of its field in ts.
func firstTouch(ts []touched, i int) bool {
	for j := 0; j < i; j++ {
		if ts[j].field == ts[i].field && !ts[j].isNew {
			return false
		}
	}
	return true
}
