package index

import "github.com/segd-db/segd/internal/roaringpeek"

// maintScratch is what segment maintenance reuses from one write to the
// next, so that a write allocates nothing: the candidates of the entity
// being maintained and what is computed about each. None of it outlives
// the maintenance of one entity, except the buffers' capacity. The index
// it reads (segIndex: which segments a change concerns) is rebuilt only
// when segments or the schema change.
type maintScratch struct {
	mark   []uint64             // the candidates, a bit per position in the segment order
	flipK  []int                // positions in a field's byField list an INT change concerns
	cand   []*segment           // the candidates, in order
	progs  [][]progTerm         // parallel to cand: their programs (nil: none)
	sigs   []uint64             // parallel to cand: their signature groups' bits
	was    []bool               // parallel to cand: their memberships before the write
	pend   []*segment           // candidates whose membership changes, not yet recorded
	row    progRow              // the entity, by program slot (segment_prog.go)
	memo   pointMemo            // the entity's point reads after the write (qctx.go)
	probes roaringpeek.Searcher // touchMembers's searches (members_touch.go)
	sink   uint32               // keeps touchMembers's reads alive
	// The segments recomputed whole once the writes are maintained (TOP).
	globals map[*segment]bool
}

// fitMarks makes room for a mark bit per segment position.
func (sc *maintScratch) fitMarks(n int) {
	if w := (n + 63) / 64; len(sc.mark) < w {
		sc.mark = make([]uint64, w)
	}
}

// setMark marks the segment at position i a candidate.
func (sc *maintScratch) setMark(i int) { sc.mark[i/64] |= 1 << (i % 64) }

// markAll marks the segments at the positions of list.
func (sc *maintScratch) markAll(list []int) {
	for _, i := range list {
		sc.setMark(i)
	}
}

// addGlobal notes that s is to be recomputed whole once the writes are
// maintained.
func (sc *maintScratch) addGlobal(s *segment) {
	if sc.globals == nil {
		sc.globals = map[*segment]bool{}
	}
	sc.globals[s] = true
}
