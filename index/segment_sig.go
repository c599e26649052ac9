package index

import "math/bits"

// Membership signatures: every saved segment is given one of 64 groups, and
// every entity a 64-bit word with the bit of each group holding a segment it
// is in. SEGMENT.OF reads an entity's word (one memory access) and checks
// only the segments of its groups, and segment maintenance skips the
// membership lookup of a candidate segment whose group bit is clear. An
// entity in 7 segments of 200 has at most 7 bits set, so about 22 segments
// are checked instead of 200. The words cost 8 bytes per entity once a
// segment exists; a bit may stay set after its last segment in the group
// lost the entity only until the exit is recorded (exits recheck the group).

type sigIndex struct {
	words  []uint64 // entity id -> groups holding it
	groups [64][]*segment
}

// sigAdd gives s the least used group and marks its members.
func (e *Engine) sigAdd(s *segment) {
	e.dropHots()
	g := 0
	for i := range e.sig.groups {
		if len(e.sig.groups[i]) < len(e.sig.groups[g]) {
			g = i
		}
	}
	s.sigGroup = g
	e.sig.groups[g] = append(e.sig.groups[g], s)
	e.sigMark(s)
}

// sigMark sets s's group bit in the words of its members.
func (e *Engine) sigMark(s *segment) {
	if s.members.IsEmpty() {
		return
	}
	e.sigGrow(s.members.Maximum())
	bit := uint64(1) << s.sigGroup
	buf := make([]uint32, 4096)
	it := s.members.ManyIterator()
	for n := it.NextMany(buf); n > 0; n = it.NextMany(buf) {
		for _, id := range buf[:n] {
			e.sig.words[id] |= bit
		}
	}
}

// sigRemove takes s (being dropped) out of its group and clears the bit of
// its members that no other segment of the group holds.
func (e *Engine) sigRemove(s *segment) {
	e.dropHots()
	grp := e.sig.groups[s.sigGroup]
	for i, t := range grp {
		if t == s {
			e.sig.groups[s.sigGroup] = append(grp[:i:i], grp[i+1:]...)
			break
		}
	}
	it := s.members.Iterator()
	for it.HasNext() {
		e.sigRecheck(s.sigGroup, it.Next())
	}
}

// sigRebuild recomputes every word (after a load).
func (e *Engine) sigRebuild() {
	e.dropHots()
	e.sig = sigIndex{}
	for _, s := range e.segOrder() {
		e.sigAdd(s)
	}
}

func (e *Engine) sigGrow(id uint32) {
	if int(id) >= len(e.sig.words) {
		n := max(int(id)+1, len(e.sig.words)*5/4, 1024)
		e.sig.words = append(e.sig.words, make([]uint64, n-len(e.sig.words))...)
	}
}

// sigEnter notes that s now holds id.
func (e *Engine) sigEnter(s *segment, id uint32) {
	e.sigGrow(id)
	e.sig.words[id] |= 1 << s.sigGroup
}

// sigRecheck clears group g's bit of id unless a segment of g holds it.
func (e *Engine) sigRecheck(g int, id uint32) {
	if int(id) >= len(e.sig.words) {
		return
	}
	for _, t := range e.sig.groups[g] {
		if t.members.Contains(id) {
			return
		}
	}
	e.sig.words[id] &^= 1 << g
}

// sigRecheckPending rechecks the groups exits left pending for id during
// maintenance, taking the memberships maintenance just computed instead of
// reading them, and evaluating the point-plain segments of the group for id
// (row and q hold what is known of id's values after the write:
// segment_prog.go, segment_point.go).
func (e *Engine) sigRecheckPending(id uint32, q *qctx, row *progRow) {
	for w := e.sigPending; w != 0; w &= w - 1 {
		g := bits.TrailingZeros64(w)
		holds := false
		for _, t := range e.sig.groups[g] {
			switch {
			case t.evalSeq == e.evalSeq:
				holds = t.evalIn
			case row.id == id && e.segProgram(t) != nil:
				holds = row.run(e.segIx, e.segProgram(t), false)
			case e.segPointOK(t):
				holds = e.segPlan(t).contains(q, id)
			default:
				holds = t.members.Contains(id)
			}
			if verify != nil && t.evalSeq != e.evalSeq {
				verify("signature recheck", t, id, holds, func() bool { return t.members.Contains(id) })
			}
			if holds {
				break
			}
		}
		if !holds && int(id) < len(e.sig.words) {
			e.sig.words[id] &^= 1 << g
		}
	}
	e.sigPending = 0
}

// sigHolding returns the segments holding id.
func (e *Engine) sigHolding(id uint32, out []*segment) []*segment {
	if int(id) >= len(e.sig.words) {
		return out
	}
	for w := e.sig.words[id]; w != 0; w &= w - 1 {
		for _, s := range e.sig.groups[bits.TrailingZeros64(w)] {
			if s.members.Contains(id) {
				out = append(out, s)
			}
		}
	}
	return out
}
