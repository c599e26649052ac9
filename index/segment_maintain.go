package index

import "math/bits"

// Segment maintenance: how a write updates the saved segments. The write
// notes what it changed (touch*, called by the mutators in mutation.go with
// the values from before the write); after it, maintain takes each entity
// it touched through three steps:
//
//   - candidates: the segments a change concerns (segIndex, built from
//     what each segment reads: segment.go), marked in a bitset over the
//     segments' positions and taken in order;
//   - oldMemberships: whether each held the entity before the write,
//     answered by the entity's signature word (segment_sig.go), by the
//     segment's program on the row as it was before the write
//     (segment_prog.go), or else by its members;
//   - newMemberships: whether each holds it now, by its program on the row
//     after the write, or else by point evaluation of its plan (plan.go,
//     through the memo of qctx.go); the differences are recorded.
//
// What maintaining one write reuses is in maintScratch
// (segment_scratch.go). Time-relative segments are refreshed by tick
// (segment_tick.go), ranking ones (TOP) recomputed whole (recomputeFrom).

// touch notes that a write changed value (or, value "", any value) of field
// of entity id, for segment maintenance after the write.
func (e *Engine) touch(id uint32, field, value string) {
	if len(e.segs) > 0 {
		e.touched = append(e.touched, touched{id: id, field: field, value: value})
	}
}

// touchEnum notes that a write changed value of ENUM field of entity id,
// which held the value of ordinal oldOrd (0: none) before.
func (e *Engine) touchEnum(id uint32, field, value string, oldOrd uint32) {
	if len(e.segs) > 0 {
		e.touched = append(e.touched, touched{id: id, field: field, value: value, oldKnown: true, oldOrd: oldOrd})
	}
}

// touchNew notes that a write created entity id.
func (e *Engine) touchNew(id uint32) {
	if len(e.segs) > 0 {
		e.touched = append(e.touched, touched{id: id, isNew: true})
	}
}

// touchInt notes that a write changed INT field of entity id.
func (e *Engine) touchInt(id uint32, field string, old int64, hadOld bool, new int64, hasNew bool) {
	if len(e.segs) > 0 {
		e.touched = append(e.touched, touched{id: id, field: field, isInt: true, old: old, hadOld: hadOld, new: new, hasNew: hasNew})
	}
}

// touched is one change a write made, as its mutator noted it: what
// maintenance needs to find the segments it concerns and, for programs
// (seedOld, segment_prog.go), the entity's value before the write.
type touched struct {
	id    uint32
	field string
	value string // "" for any value
	isNew bool
	// An ENUM change (oldKnown): the field's ordinal before the write, 0
	// for none.
	oldKnown bool
	oldOrd   uint32
	// An INT change: from old (when hadOld) to new (when hasNew).
	isInt          bool
	hadOld, hasNew bool
	old, new       int64
}

// verify is the package tests' seam (verify_test.go sets it): maintenance
// calls it with each membership it computes without reading the members,
// and want, which reads them (or evaluates the plan). nil in production.
var verify func(what string, s *segment, id uint32, got bool, want func() bool)

// maintain re-evaluates the segments the write's touches concern, entity by
// entity (the touches of one entity are adjacent: a write touches one
// entity, except ENT.DEL, which touches none), then recomputes whole the
// segments that rank entities (TOP) when a touch concerns one, or after a
// delete.
func (e *Engine) maintain(now int64) {
	if len(e.touched) == 0 && !e.globalsDue {
		return
	}
	sc := &e.maint
	clear(sc.globals)
	if e.globalsDue {
		e.globalsDue = false
		for _, s := range e.segOrder() {
			if s.global {
				sc.addGlobal(s)
			}
		}
	}
	q := &qctx{at: now, now: now, memo: &sc.memo}
	for ts := e.touched; len(ts) > 0; {
		n := 1
		for n < len(ts) && ts[n].id == ts[0].id {
			n++
		}
		e.maintainEntity(ts[:n], q)
		ts = ts[n:]
	}
	e.touched = e.touched[:0]
	if len(sc.globals) > 0 {
		e.recomputeFrom(sc.globals, q)
	}
}

// maintainEntity maintains the segments for one entity; ts are its touches,
// the write applied.
func (e *Engine) maintainEntity(ts []touched, q *qctx) {
	id := ts[0].id
	key, live := e.dict.Key(id)
	e.memoTouched(q.memo, ts)
	if !e.candidates(ts, live) {
		return
	}
	e.maint.row.start(id, len(e.segIx.slots))
	e.maint.row.load(e.segIx)
	e.oldMemberships(ts)
	e.newMemberships(id, key, q)
}

// candidates marks the segments the touches of one entity concern and takes
// them in order into the scratch's cand (with their programs and signature
// bits), leaving those recomputed whole (TOP) for the end of the writes. It
// reports whether there is any; there is none when the entity is gone
// (live false).
func (e *Engine) candidates(ts []touched, live bool) bool {
	sc, ix, order := &e.maint, e.segIx, e.segOrder()
	sc.fitMarks(len(order))
	for i := range ts {
		e.markTouch(&ts[i])
	}
	sc.cand, sc.progs, sc.sigs = sc.cand[:0], sc.progs[:0], sc.sigs[:0]
	for w, set := range sc.mark {
		if set == 0 {
			continue
		}
		sc.mark[w] = 0
		if !live {
			continue
		}
		for g := set & ix.global[w]; g != 0; g &= g - 1 {
			sc.addGlobal(order[w*64+bits.TrailingZeros64(g)])
		}
		set &^= ix.global[w]
		if set == 0 {
			continue
		}
		hot := e.segHots(ix, order)
		for ; set != 0; set &= set - 1 {
			p := w*64 + bits.TrailingZeros64(set)
			sc.cand = append(sc.cand, order[p])
			sc.progs = append(sc.progs, hot[p].terms)
			sc.sigs = append(sc.sigs, hot[p].sigBit)
		}
	}
	return len(sc.cand) > 0
}

// markTouch marks the segments one touch concerns: for a new entity, those
// an entity without values may match; for an INT field, those a predicate of
// which changes its truth (segment_flips.go); for another field, those
// reading any of its values, and those reading the value changed (every
// value, for a change of all of them: ENT.UNSET, a value-less event).
func (e *Engine) markTouch(t *touched) {
	sc, ix := &e.maint, e.segIx
	switch {
	case t.isNew:
		sc.markAll(ix.empty)
	case t.isInt:
		if fl := ix.flips[t.field]; fl != nil {
			list := ix.byField[t.field]
			sc.flipK = fl.flipped(sc.flipK[:0], t.old, t.hadOld, t.new, t.hasNew)
			for _, k := range sc.flipK {
				sc.setMark(list[k])
			}
		}
	default:
		sc.markAll(ix.byField[t.field])
		if t.value != "" {
			sc.markAll(ix.byValue[t.field][t.value])
		} else {
			for _, list := range ix.byValue[t.field] {
				sc.markAll(list)
			}
		}
	}
}

// oldMemberships fills the scratch's was with each candidate's membership
// before the write, reading its members only when nothing cheaper answers:
// a clear bit of the entity's signature word rules out every segment of
// the group (segment_sig.go), and a program runs on the row as it was
// before the write (segment_prog.go).
func (e *Engine) oldMemberships(ts []touched) {
	sc := &e.maint
	id := ts[0].id
	var sigw uint64
	if int(id) < len(e.sig.words) {
		sigw = e.sig.words[id]
	}
	seeded, rowOK := false, false
	sc.was = sc.was[:0]
	for k, s := range sc.cand {
		was := false
		if sigw&sc.sigs[k] != 0 {
			if sc.progs[k] != nil && !seeded {
				rowOK, seeded = e.seedOld(&sc.row, ts), true
			}
			if sc.progs[k] != nil && rowOK {
				was = sc.row.run(e.segIx, sc.progs[k], true)
			} else {
				was = s.members.Contains(id)
			}
		}
		if verify != nil {
			verify("old membership", s, id, was, func() bool { return s.members.Contains(id) })
		}
		sc.was = append(sc.was, was)
	}
}

// newMemberships evaluates each candidate for the entity after the write
// (its program on the row, or its plan through q's memo) and records those
// whose membership changed. Exits leave their signature bit to be rechecked
// once the new memberships are all known (sigRecheckPending): the other
// segments of the group are then mostly answered without a read.
func (e *Engine) newMemberships(id uint32, key string, q *qctx) {
	sc := &e.maint
	e.evalSeq++
	e.sigDefer = true
	pend := sc.pend[:0]
	for k, s := range sc.cand {
		var in bool
		if sc.progs[k] != nil {
			in = sc.row.run(e.segIx, sc.progs[k], false)
			if verify != nil {
				verify("program", s, id, in, func() bool { return e.segPlan(s).contains(&qctx{at: q.now, now: q.now}, id) })
			}
		} else {
			// Its plan may read the members of a segment it refers
			// to: record what changed so far first.
			pend = e.recordPending(pend, id, key, q)
			in = e.segPlan(s).contains(q, id)
		}
		s.evalSeq, s.evalIn = e.evalSeq, in
		if in != sc.was[k] {
			pend = append(pend, s)
		}
	}
	sc.pend = e.recordPending(pend, id, key, q)
	e.sigDefer = false
	e.sigRecheckPending(id, q, &sc.row)
}

// recordPending records the membership changes of entity id in the pending
// segments (each the opposite of what it was: s.evalIn is the new one) and
// returns pend emptied. It first reads each one's members for id, all at
// once (touchMembers): at millions of entities a roaring container each,
// missed, and the updates that follow find them in the cache instead of
// waiting for each miss in turn.
func (e *Engine) recordPending(pend []*segment, id uint32, key string, q *qctx) []*segment {
	if len(pend) == 0 {
		return pend
	}
	sc := &e.maint
	if len(pend) > 1 {
		held := sc.touchMembers(pend, id)
		if verify != nil {
			verify("members read in lockstep", pend[0], id, true, func() bool { return countHolding(pend, id) == held })
		}
		sc.sink += uint32(held)
	}
	for _, s := range pend {
		e.record(s, id, key, s.evalIn, q.now)
		q.memo.forget(s.members) // read by the segments that refer to s
	}
	return pend[:0]
}

// countHolding is how many of segs hold id, by their members.
func countHolding(segs []*segment, id uint32) int {
	n := 0
	for _, s := range segs {
		if s.members.Contains(id) {
			n++
		}
	}
	return n
}

// recomputeFrom recomputes the given segments whole, and every segment that
// depends on one that changed.
func (e *Engine) recomputeFrom(set map[*segment]bool, q *qctx) {
	changed := map[string]bool{}
	for _, s := range e.segOrder() {
		do := set[s]
		for _, r := range s.refs {
			do = do || changed[r]
		}
		if do && e.recompute(s, q) {
			changed[s.name] = true
		}
	}
}

// segHot is what maintenance reads of a candidate segment, kept by position
// in one array: a write has about 50 candidates at 200 segments, and
// reading each one's program and signature group from its segment struct
// cost a few cache misses each.
type segHot struct {
	terms  []progTerm // its program (segment_prog.go), nil for none
	sigBit uint64     // its signature group's bit (segment_sig.go)
}

// segHots returns the segments' hot entries by position in order (ix's),
// building them again when the schema changed since (the programs follow
// the plans) or the signature groups did (sigAdd, sigRemove, sigRebuild
// drop them).
func (e *Engine) segHots(ix *segIndex, order []*segment) []segHot {
	if ix.hot != nil && ix.hotSchema == e.schema {
		return ix.hot
	}
	ix.hot = make([]segHot, 0, len(order))
	for _, s := range order {
		ix.hot = append(ix.hot, segHot{terms: e.segProgram(s), sigBit: 1 << s.sigGroup})
	}
	ix.hotSchema = e.schema
	return ix.hot
}

// dropHots makes the next maintenance build the hot entries again.
func (e *Engine) dropHots() {
	if e.segIx != nil {
		e.segIx.hot = nil
	}
}
