package index

import (
	"cmp"
	"slices"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/segd-db/segd/index/bsi"
	"github.com/segd-db/segd/index/expr"
)

// Segment programs: the point evaluation of the common saved segment, an AND
// of ENUM values, TAGS values, INT comparisons and their negations (or one
// such term), compiled into a flat list of terms over the entity's row: its
// ordinal in each ENUM field, its tag word in each TAGS field and its value
// in each INT field that saved segments read, each read once per entity on
// first use. Segment maintenance evaluates a write's candidate segments
// with it twice, against the row after the write and against the row before
// it (the row with the old values of the fields the write changed, from its
// touches), instead of walking the plan through the memo for the new
// membership and reading the members for the old one: a term is a load and
// a comparison, a members lookup a binary search in a roaring container
// (several cache misses at 10M entities).
//
// Only point-plain segments (segment_point.go) get a program, so that the
// program of the row before a write is exactly the membership before it;
// the other shapes keep the plan and the members.

type progTerm struct {
	slot int
	kind uint8
	neg  bool
	// termEnum, termTag: the value's ordinal and bitmap once it exists
	// (they stay until the schema changes, and with it the program), found
	// through vp.
	ord uint32
	bm  *roaring.Bitmap
	vp  *valuePlan
	// termInt: the comparison or range, copied from its intPlan.
	isRange   bool
	op        expr.CmpOp
	n, lo, hi int64
}

const (
	termAll  = iota // ALL: every live entity (maintenance sees only live ones)
	termEnum        // one ENUM value: the slot holds the ordinal
	termTag         // one TAGS value: the slot holds the tag word
	termInt         // an INT comparison or range: the slot holds the value
)

// segProg is a segment's program, for one plan and one segIndex (its slots).
type segProg struct {
	plan  plan
	ix    *segIndex
	terms []progTerm // nil: no program for this plan
}

// progSlot is a field programs read.
type progSlot struct {
	f *field
}

// progRow is what maintenance knows of the entity being maintained, in each
// slot: its value after the write (read on first use) and, for the slots of
// the fields the write changed, its value before.
type progRow struct {
	id     uint32
	cur    uint32   // generation of the entity: a slot is loaded when gen == cur
	gen    []uint32 // per slot
	val    []int64
	ok     []bool
	oldGen []uint32 // per slot: the old value differs when oldGen == cur
	oldVal []int64
	oldOk  []bool
	tags   []progTag // TAGS value lookups of the entity
}

// progTag is whether the entity holds a TAGS value (the value's bitmap),
// and whether that flipped with the write.
type progTag struct {
	bm          *roaring.Bitmap
	in, flipped bool
}

// slotOf returns f's slot, adding one.
func (ix *segIndex) slotOf(f *field) int {
	if s, ok := ix.slotIx[f]; ok {
		return s
	}
	if ix.slotIx == nil {
		ix.slotIx = map[*field]int{}
	}
	ix.slots = append(ix.slots, progSlot{f: f})
	ix.slotIx[f] = len(ix.slots) - 1
	return len(ix.slots) - 1
}

// segProgram returns s's program (nil when it has none).
func (e *Engine) segProgram(s *segment) []progTerm {
	p := e.segPlan(s)
	ix := e.segIx
	if s.prog.plan == p && s.prog.ix == ix {
		return s.prog.terms
	}
	s.prog = segProg{plan: p, ix: ix}
	if !e.segPointOK(s) {
		return nil
	}
	var terms []progTerm
	add := func(t plan, neg bool) bool {
		switch t := t.(type) {
		case *valuePlan:
			switch t.f.kind {
			case KindEnum:
				terms = append(terms, progTerm{slot: ix.slotOf(t.f), kind: termEnum, neg: neg, vp: t})
				return true
			case KindTags:
				terms = append(terms, progTerm{slot: ix.slotOf(t.f), kind: termTag, neg: neg, vp: t})
				return true
			}
		case *intPlan:
			if f := e.intField(t.b); f != nil {
				terms = append(terms, progTerm{slot: ix.slotOf(f), kind: termInt, neg: neg, isRange: t.isRange, op: t.op, n: t.n, lo: t.lo, hi: t.hi})
				return true
			}
		case *bitmapPlan:
			if t.bm == e.live {
				terms = append(terms, progTerm{kind: termAll, neg: neg})
				return true
			}
		}
		return false
	}
	switch p := p.(type) {
	case *andPlan:
		pos := p.point
		if len(pos) != len(p.pos) {
			pos = p.pos
		}
		for _, t := range pos {
			if !add(t, false) {
				return nil
			}
		}
		for _, t := range p.neg {
			if !add(t, true) {
				return nil
			}
		}
	case *notPlan:
		if !add(p.x, true) {
			return nil
		}
	default:
		if !add(p, false) {
			return nil
		}
	}
	if len(terms) == 0 {
		return nil
	}
	// TAGS terms last: a set bit 63 of a tag word (shared by the values
	// without a bit of their own) needs a lookup in the value's bitmap, which the other terms of the
	// AND mostly make unnecessary.
	slices.SortStableFunc(terms, func(a, b progTerm) int {
		return cmp.Compare(boolInt(a.kind == termTag), boolInt(b.kind == termTag))
	})
	s.prog.terms = terms
	return terms
}

// intField is the INT field of b (nil: none).
func (e *Engine) intField(b *bsi.BSI) *field {
	for _, f := range e.fields {
		if f.kind == KindInt && f.bsi == b {
			return f
		}
	}
	return nil
}

// start makes r the row of entity id, knowing nothing of it yet.
func (r *progRow) start(id uint32, slots int) {
	r.id = id
	r.cur++
	if r.cur == 0 { // wrapped: forget every generation
		clear(r.gen)
		clear(r.oldGen)
		r.cur = 1
	}
	r.fit(slots)
	r.tags = r.tags[:0]
}

// fit makes room for slots slots (programs compiled since start add some).
func (r *progRow) fit(slots int) {
	for len(r.gen) < slots {
		r.gen = append(r.gen, 0)
		r.val = append(r.val, 0)
		r.ok = append(r.ok, false)
		r.oldGen = append(r.oldGen, 0)
		r.oldVal = append(r.oldVal, 0)
		r.oldOk = append(r.oldOk, false)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// load reads every slot of the row's entity after the write, in one loop:
// the reads are independent cache misses the processor overlaps, where
// reading each on first use would wait for them one after the other.
func (r *progRow) load(ix *segIndex) {
	r.fit(len(ix.slots))
	for slot := range ix.slots {
		if r.gen[slot] != r.cur {
			r.loadSlot(ix, slot)
		}
	}
}

// get is the slot's value after the write (old false) or before it.
func (r *progRow) get(ix *segIndex, slot int, old bool) (int64, bool) {
	if old && r.oldGen[slot] == r.cur {
		return r.oldVal[slot], r.oldOk[slot]
	}
	if r.gen[slot] != r.cur {
		r.loadSlot(ix, slot)
	}
	return r.val[slot], r.ok[slot]
}

// loadSlot reads the slot's value after the write.
func (r *progRow) loadSlot(ix *segIndex, slot int) {
	v, ok := ix.slots[slot].f.slotValue(r.id)
	r.gen[slot], r.val[slot], r.ok[slot] = r.cur, v, ok
}

// slotValue is what a program's slot of field f holds for entity id: its
// ordinal (ENUM), its tag word (TAGS) or its value (INT).
func (f *field) slotValue(id uint32) (int64, bool) {
	switch f.kind {
	case KindEnum:
		return int64(f.enumOrdinal(id)), true
	case KindTags:
		if f.tagWords != nil {
			return int64(f.tagWord(id)), true
		}
		return -1, true // no words: every value is looked up
	case KindInt:
		return f.bsi.Get(id)
	}
	return 0, true
}

// setOld records the slot's value before the write.
func (r *progRow) setOld(slot int, v int64, ok bool) {
	r.oldGen[slot], r.oldVal[slot], r.oldOk[slot] = r.cur, v, ok
}

// tagIn reports whether the entity holds the TAGS value of bm, after the
// write or before it.
func (r *progRow) tagIn(bm *roaring.Bitmap, old bool) bool {
	for i := range r.tags {
		if r.tags[i].bm == bm {
			return r.tags[i].in != (old && r.tags[i].flipped)
		}
	}
	in := bm.Contains(r.id)
	r.tags = append(r.tags, progTag{bm: bm, in: in})
	return in
}

// seedOld records, from the touches of the entity (the write applied), its
// values before the write in the slots of the fields the write changed. It
// reports false when it cannot (ENT.UNSET of a TAGS field: which values
// were lost is not recorded); the caller then reads the members.
func (e *Engine) seedOld(r *progRow, ts []touched) bool {
	ix := e.segIx
	for i := range ts {
		t := &ts[i]
		if t.isNew {
			continue
		}
		f := e.fields[t.field]
		if f == nil {
			continue
		}
		slot, ok := ix.slotIx[f]
		if !ok {
			continue // no program reads the field
		}
		switch {
		case t.isInt:
			if firstTouch(ts, i) {
				r.setOld(slot, t.old, t.hadOld)
			}
		case f.kind == KindEnum:
			if !t.oldKnown {
				return false
			}
			if firstTouch(ts, i) {
				r.setOld(slot, int64(t.oldOrd), true)
			}
		case f.kind == KindTags:
			if t.value == "" {
				return false
			}
			o := f.ordinals[t.value]
			if o == 0 {
				return false
			}
			bm := f.bms[o-1]
			for j := range r.tags {
				if r.tags[j].bm == bm {
					return false // touched twice: not one flip
				}
			}
			// Each touch of a TAGS value flipped it.
			r.tags = append(r.tags, progTag{bm: bm, in: bm.Contains(t.id), flipped: true})
			// A bit of the value's own is exact: the old word has it
			// flipped. Bit 63 is set, so that the term asks tagIn.
			w, _ := r.get(ix, slot, true)
			if f.tagWords != nil && f.tagExact(o) {
				w ^= int64(f.tagBit(o))
			} else {
				w |= int64(f.tagBit(o))
			}
			r.setOld(slot, w, true)
		}
	}
	return true
}

// run evaluates a program for the row's entity, after the write (old false)
// or before it.
func (r *progRow) run(ix *segIndex, terms []progTerm, old bool) bool {
	r.fit(len(ix.slots))
	for i := range terms {
		if t := &terms[i]; r.term(ix, t, old) == t.neg {
			return false
		}
	}
	return true
}

func (r *progRow) term(ix *segIndex, t *progTerm, old bool) bool {
	switch t.kind {
	case termAll:
		return true
	case termEnum:
		o := t.ordinal()
		v, _ := r.get(ix, t.slot, old)
		return o != 0 && uint32(v) == o
	case termTag:
		o := t.ordinal()
		if o == 0 {
			return false
		}
		f := t.vp.f
		if w, _ := r.get(ix, t.slot, old); uint64(w)&f.tagBit(o) == 0 {
			return false
		} else if f.tagWords != nil && f.tagExact(o) {
			return true // the bit is the value's alone
		}
		if t.bm == nil {
			t.bm = t.vp.bm()
		}
		return r.tagIn(t.bm, old)
	case termInt:
		v, ok := r.get(ix, t.slot, old)
		if !ok {
			return false
		}
		if t.isRange {
			return v >= t.lo && v <= t.hi
		}
		return cmpInt(t.op, t.n, v)
	}
	return false
}

// ordinal is the term's value's ordinal (0 while the value does not exist).
func (t *progTerm) ordinal() uint32 {
	if t.ord == 0 {
		t.ord = t.vp.ordinal()
	}
	return t.ord
}
