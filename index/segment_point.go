package index

import "github.com/RoaringBitmap/roaring/v2"

// Memberships by point evaluation. A segment whose expression reads only
// ENUM and TAGS values, INT comparisons and ALL, combined by AND, OR, XOR and
// NOT (no events, f:*, SAMPLE, TOP or @name) is "point-plain": its members
// are exactly the live entities its plan's contains accepts, after every
// write. For such a segment, whether it holds an entity can be answered by
// evaluating its plan for the entity instead of reading its members: the
// reads are the entity's ordinals, tag words and INT values, one each per
// field and shared by every segment through the memo, where a roaring
// lookup in the members is a binary search over a container (several cache
// misses at 10M entities) for each segment.
//
// Maintenance uses it twice:
//
//   - the old membership of a candidate segment (the write has already been
//     applied) is its plan evaluated against the entity's values before the
//     write: a second memo is seeded with the old value of every field the
//     write changed (memoTouchedOld), and every other read is of a field the
//     write left alone;
//   - the recheck of a group's signature bit after an exit evaluates the
//     group's other point-plain segments against the values after the write
//     (the memo maintenance just filled), instead of reading their members.

// segPointOK reports whether s is point-plain for its current plan.
func (e *Engine) segPointOK(s *segment) bool {
	p := e.segPlan(s)
	if s.pointPlan != p {
		s.pointPlan, s.pointOK = p, pointPlain(p, e.live)
	}
	return s.pointOK
}

// pointPlain reports whether p reads only what memoTouchedOld can restore
// to its state before a write: ENUM/TAGS values, INT comparisons and the
// live set.
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

// memoTouchedOld starts m over for the entity of ts (its touches, the write
// already applied) with the values it held before the write in every field
// the write changed: the old ordinal of each ENUM field (and whether it held
// each value the write touched), the old value of each INT field, whether
// it held each TAGS value the write added or removed (and a tag word that
// keeps those values' bits, so that they are read from the memo). Fields
// the write did not change read the same before and after it. It reports
// false when it cannot (ENT.UNSET of a TAGS field: which values were lost is
// not recorded); the caller then reads the old memberships from the members.
func (e *Engine) memoTouchedOld(m *pointMemo, ts []touched) bool {
	m.reset(ts[0].id)
	for i := range ts {
		t := &ts[i]
		if t.isNew {
			continue
		}
		f := e.fields[t.field]
		if f == nil {
			continue
		}
		switch {
		case t.isInt:
			if f.bsi != nil && firstTouch(ts, i) {
				m.setInt(f.bsi, t.old, t.hadOld)
			}
		case f.kind == KindEnum:
			if !t.oldKnown {
				return false
			}
			// The first touch of the field carries the ordinal from before
			// the write (an ENT.SET may set a field twice).
			var old uint32
			for j := 0; j <= i; j++ {
				if ts[j].field == t.field && !ts[j].isInt && !ts[j].isNew {
					old = ts[j].oldOrd
					break
				}
			}
			if f.ord != nil && firstTouch(ts, i) {
				m.ords = append(m.ords, memoOrd{f, uint64(old)})
			}
			if t.value != "" {
				if o := f.ordinals[t.value]; o != 0 {
					m.setBit(f.bms[o-1], o == old)
				}
			}
		case f.kind == KindTags:
			if t.value == "" {
				return false // ENT.UNSET: the values lost are not known
			}
			for j := 0; j < i; j++ {
				if ts[j].field == t.field && ts[j].value == t.value {
					return false // touched twice: not one flip
				}
			}
			o := f.ordinals[t.value]
			if o == 0 {
				return false
			}
			bm := f.bms[o-1]
			// Each touch of a TAGS value flipped it: ENT.ADD touches a value
			// it added, ENT.REM one it removed.
			m.setBit(bm, !bm.Contains(t.id))
			if f.tagWords != nil {
				// The word now, with the touched values' bits set: a set bit
				// sends the term to the memo's answer above.
				k := -1
				for x := range m.ords {
					if m.ords[x].f == f {
						k = x
						break
					}
				}
				if k < 0 {
					m.ords = append(m.ords, memoOrd{f, f.tagWord(t.id)})
					k = len(m.ords) - 1
				}
				m.ords[k].o |= f.tagBit(o)
			}
		}
	}
	return true
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
