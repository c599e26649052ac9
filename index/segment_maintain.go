package index

import (
	"fmt"
	"math/bits"
)

// Segment maintenance: what a write touched, the re-evaluation of the
// segments it may have moved for the entity (maintain), and the refresh of
// time-relative segments at their bucket boundaries (tick). See segment.go
// for the segments themselves.

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

type touched struct {
	id    uint32
	field string
	value string // "" for any value
	isNew bool
	// An ENUM change (oldKnown): the field's ordinal before the write, 0
	// for none (segment_point.go).
	oldKnown bool
	oldOrd   uint32
	// An INT change: from old (when hadOld) to new (when hasNew).
	isInt          bool
	hadOld, hasNew bool
	old, new       int64
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

// touchInt notes that a write changed INT field of entity id.
func (e *Engine) touchInt(id uint32, field string, old int64, hadOld bool, new int64, hasNew bool) {
	if len(e.segs) > 0 {
		e.touched = append(e.touched, touched{id: id, field: field, isInt: true, old: old, hadOld: hadOld, new: new, hasNew: hasNew})
	}
}

// checkMaintain makes maintenance check the memberships it computes without
// reading the members against the members, and panic on a difference (set
// by the package's tests).
var checkMaintain bool

// maintain re-evaluates the segments a write touched: for each entity, only
// the segments that read a field it changed (or that an entity without values
// may match, for a new entity), by point evaluation, references first.
func (e *Engine) maintain(now int64) {
	if len(e.touched) == 0 && !e.globalsDue {
		return
	}
	q := &qctx{at: now, now: now, memo: &e.memo}
	order := e.segOrder()
	ix := e.segIx
	var globals map[*segment]bool
	if e.globalsDue {
		globals = map[*segment]bool{}
		for _, s := range order {
			if s.global {
				globals[s] = true
			}
		}
		e.globalsDue = false
	}
	touched := e.touched
	var hot []segHot // built on the first candidate
	for start := 0; start < len(touched); {
		// The touches of one entity are adjacent: writes touch one entity,
		// except ENT.DEL, which touches none.
		id := touched[start].id
		start0, end := start, start
		mark := func(list []int) {
			for _, i := range list {
				ix.setMark(i)
			}
		}
		for ; end < len(touched) && touched[end].id == id; end++ {
			t := &touched[end]
			if t.isNew {
				mark(ix.empty)
				continue
			}
			if t.isInt {
				// Only the segments a predicate of which changes its truth.
				list := ix.byField[t.field]
				if fl := ix.flips[t.field]; fl != nil {
					ix.flipK = fl.flipped(ix.flipK[:0], t.old, t.hadOld, t.new, t.hasNew)
					for _, k := range ix.flipK {
						ix.setMark(list[k])
					}
					continue
				}
				ints := ix.ints[t.field]
				for k, i := range list {
					if !ix.marked(i) && ints[k].flips(t.old, t.hadOld, t.new, t.hasNew) {
						ix.setMark(i)
					}
				}
				continue
			}
			mark(ix.byField[t.field])
			if t.value != "" {
				mark(ix.byValue[t.field][t.value])
			} else {
				for _, list := range ix.byValue[t.field] {
					mark(list) // a change of every value (ENT.UNSET, a value-less event)
				}
			}
		}
		start = end
		key, ok := e.dict.Key(id)
		e.memoTouched(q.memo, touched[start0:end])
		// The marked segments in order: the ones recomputed whole wait
		// for the end of the writes.
		cand, progs, sigs := ix.cand[:0], ix.progs[:0], ix.sigs[:0]
		for w, set := range ix.mark {
			if set == 0 {
				continue
			}
			ix.mark[w] = 0
			if !ok {
				continue
			}
			if g := set & ix.global[w]; g != 0 {
				if globals == nil {
					globals = map[*segment]bool{}
				}
				for ; g != 0; g &= g - 1 {
					globals[order[w*64+bits.TrailingZeros64(g)]] = true
				}
				set &^= ix.global[w]
			}
			if hot == nil {
				hot = e.segHots(ix, order)
			}
			for ; set != 0; set &= set - 1 {
				p := w*64 + bits.TrailingZeros64(set)
				cand = append(cand, order[p])
				progs = append(progs, hot[p].terms)
				sigs = append(sigs, hot[p].sigBit)
			}
		}
		if len(cand) == 0 {
			continue
		}
		// The candidates' programs (segment_prog.go), and the entity's row.
		row := &ix.row
		row.start(id, len(ix.slots))
		if len(progs) > 0 {
			row.load(ix)
		}
		// The old memberships first. Where the signature allows one, a
		// segment with a program runs it on the row before the write, and
		// another point-plain segment evaluates its plan against the values
		// from before the write (reads shared with the other segments);
		// the other segments read their members.
		was := ix.was[:0]
		rowSeeded, rowOK := false, false
		seeded, oldOK, qOld := false, false, qctx{at: now, now: now, memo: &ix.old}
		var sigw uint64 // the entity's signature (segment_sig.go)
		if int(id) < len(e.sig.words) {
			sigw = e.sig.words[id]
		}
		for k, s := range cand {
			if sigw&sigs[k] == 0 {
				was = append(was, false)
				continue
			}
			if progs[k] != nil {
				if !rowSeeded {
					rowOK, rowSeeded = e.seedOld(row, touched[start0:end]), true
				}
				if rowOK {
					was = append(was, row.run(ix, progs[k], true))
					continue
				}
			}
			if !seeded && e.segPointOK(s) {
				oldOK, seeded = e.memoTouchedOld(qOld.memo, touched[start0:end]), true
			}
			if oldOK && e.segPointOK(s) {
				was = append(was, e.segPlan(s).contains(&qOld, id))
			} else {
				was = append(was, s.members.Contains(id))
			}
		}
		if checkMaintain {
			for k, s := range cand {
				if was[k] != s.members.Contains(id) {
					panic(fmt.Sprintf("segment %s (%s): old membership of %d computed %v, members say %v (program %v)", s.name, s.text, id, was[k], !was[k], progs[k] != nil))
				}
			}
		}
		// Exits leave their signature bit to be rechecked once the new
		// memberships are all known: the other segments of the group are
		// then mostly answered without a read.
		e.evalSeq++
		e.sigDefer = true
		pend := ix.pend[:0]
		for k, s := range cand {
			var in bool
			if progs[k] != nil {
				in = row.run(ix, progs[k], false)
				if checkMaintain && in != e.segPlan(s).contains(&qctx{at: now, now: now}, id) {
					panic(fmt.Sprintf("segment %s (%s): program says %v for %d, plan %v", s.name, s.text, in, id, !in))
				}
			} else {
				// Its plan may read the members of a segment it refers
				// to: record what changed so far first.
				pend = e.recordPending(pend, id, key, now, q)
				in = e.segPlan(s).contains(q, id)
			}
			s.evalSeq, s.evalIn = e.evalSeq, in
			if in != was[k] {
				pend = append(pend, s)
			}
		}
		ix.pend = e.recordPending(pend, id, key, now, q)
		e.sigDefer = false
		e.sigRecheckPending(id, q, row)
		ix.cand, ix.was, ix.progs, ix.sigs = cand, was, progs, sigs
	}
	e.touched = e.touched[:0]
	if len(globals) > 0 {
		e.recomputeFrom(globals, q)
	}
}

// setMark marks the segment at position i a candidate of the entity being
// maintained.
func (ix *segIndex) setMark(i int) { ix.mark[i/64] |= 1 << (i % 64) }

// marked reports whether the segment at position i is marked.
func (ix *segIndex) marked(i int) bool { return ix.mark[i/64]&(1<<(i%64)) != 0 }

// recordPending records the membership changes of entity id in the pending
// segments (each the opposite of what it was: s.evalIn is the new one) and
// returns pend emptied. It first reads each one's members for id, all at
// once (touchMembers): at millions of entities a roaring container each,
// missed, and the updates that follow find them in the cache instead of
// waiting for each miss in turn.
func (e *Engine) recordPending(pend []*segment, id uint32, key string, now int64, q *qctx) []*segment {
	if len(pend) == 0 {
		return pend
	}
	ix := e.segIx
	if len(pend) > 1 {
		held := ix.touchMembers(pend, id)
		if checkMaintain {
			n := 0
			for _, s := range pend {
				if s.members.Contains(id) {
					n++
				}
			}
			if n != held {
				panic(fmt.Sprintf("touchMembers says %d of %d segments hold %d, Contains %d", held, len(pend), id, n))
			}
		}
		ix.sink += uint32(held)
	}
	for _, s := range pend {
		e.record(s, id, key, s.evalIn, now)
		q.memo.forget(s.members) // read by the segments that refer to s
	}
	return pend[:0]
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

// tick refreshes the time-relative segments whose bucket has passed.
func (e *Engine) tick(now int64) {
	if now < e.nextTick.Load() {
		return
	}
	due := map[*segment]bool{}
	next := int64(1<<63 - 1)
	for _, s := range e.segs {
		if !s.timeRel {
			continue
		}
		if b := floorDiv(now, s.gran); b != s.tickB {
			due[s] = true
			s.tickB = b
		}
		next = min(next, (s.tickB+1)*s.gran)
	}
	e.nextTick.Store(next)
	if len(due) > 0 {
		e.recomputeFrom(due, &qctx{at: now, now: now})
	}
}

// resetTick recomputes when the next time-relative refresh is due.
func (e *Engine) resetTick() {
	next := int64(1<<63 - 1)
	for _, s := range e.segs {
		if s.timeRel {
			next = min(next, (s.tickB+1)*s.gran)
		}
	}
	e.nextTick.Store(next)
}

// tickDue reports, under the read lock, whether a refresh is due.
func (e *Engine) tickDue() bool {
	next := e.nextTick.Load()
	return next != 1<<63-1 && e.now().Unix() >= next
}

// rlock takes the read lock after running any due time-relative refresh, so
// that no reader sees a segment from a bucket that has passed.
func (e *Engine) rlock() {
	e.mu.RLock()
	if !e.tickDue() {
		return
	}
	e.mu.RUnlock()
	e.mu.Lock()
	now := e.now().Unix()
	e.tick(now)
	e.noteHistory(now)
	e.mu.Unlock()
	e.mu.RLock()
}

// TickDue reports whether a time-relative segment is due for a refresh. A
// server applies an OpTick mutation then (and on a timer), through its
// write log, so that a replay refreshes at the same moments; readers that
// find a refresh due run it themselves (see rlock), which a replay repeats
// with the next write.
func (e *Engine) TickDue() bool {
	if e.nextTick.Load() == 1<<63-1 {
		return false // no time-relative segment: nothing is ever due (no lock taken)
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.tickDue()
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
