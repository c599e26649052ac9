package index

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"

	"github.com/RoaringBitmap/roaring/v2"
)

// Saved segments (SPEC §5): a named expression whose members are kept as a
// bitmap, exact after every write and every tick of time.
//
//   - A write re-evaluates, for each entity it touched, only the segments
//     that use a field it changed (and their dependents through @name), by
//     point evaluation; a new entity is also checked against the segments
//     an entity without values can match (NOT x, purchase = 0 IN 90d, ALL).
//   - Segments that read events are time-relative: at each bucket boundary
//     of the fields they use they are recomputed whole and diffed, before
//     any read or write sees the new bucket.
//   - Segments with TOP rank entities against each other, so a write to
//     their measure recomputes them whole.
//
// Every enter or exit bumps the segment's version and lands in its bounded
// change log and in the engine's outbox, in commit order, for notifications.

var segmentNameRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)

// DefaultChangeLog is how many changes a segment keeps for SEGMENT.CHANGES.
const DefaultChangeLog = 10000

// Change is one entity entering or leaving a saved segment.
type Change struct {
	Segment string
	Key     string
	Enter   bool
	Version uint64
	Time    int64 // Unix seconds
}

type segment struct {
	name    string
	text    string
	node    Node
	plan    plan
	schema  uint64 // schema version plan was compiled for
	members *roaring.Bitmap
	card    uint64 // members' cardinality, kept as they change (setMembers, record)
	version uint64
	created int64
	updated int64

	fields  map[string]bool            // fields read, directly
	deps    map[string]bool            // fields any change of which matters, directly or through references
	vdeps   map[string]map[string]bool // field -> values whose changes matter (f:v, f:(a,b)), likewise
	ints    map[string]*intPreds       // INT field -> the predicates reading it, likewise
	refs    []string                   // segments referenced, directly
	timeRel bool                       // reads events (directly or through refs)
	gran    int64                      // smallest bucket of the events read, seconds
	tickB   int64                      // the bucket (of gran) the members were computed in
	global  bool                       // uses TOP (directly or through refs)
	empty   tri                        // whether an entity without values matches

	log       changeRing
	history   []HistoryPoint // see segment_history.go
	histDirty bool
	sigGroup  int // see segment_sig.go
	// The membership maintenance just computed for an entity, valid while
	// evalSeq is the engine's (see maintain).
	evalSeq uint64
	evalIn  bool
	// Whether pointPlan, the plan it was computed for, is point-plain
	// (segment_point.go).
	pointPlan plan
	pointOK   bool
	prog      segProg // see segment_prog.go
}

// changeRing is a segment's bounded change log.
type changeRing struct {
	buf   []Change // oldest first once full: start marks the oldest
	start int
	max   int
}

func (r *changeRing) add(c Change) {
	if r.max <= 0 {
		return
	}
	if len(r.buf) < r.max {
		r.buf = append(r.buf, c)
		return
	}
	r.buf[r.start] = c
	r.start = (r.start + 1) % len(r.buf)
}

func (r *changeRing) at(i int) Change { return r.buf[(r.start+i)%len(r.buf)] }

// analyse walks a segment's expression for the fields and segments it reads.
func (e *Engine) analyse(s *segment, n Node) {
	switch n := n.(type) {
	case *And:
		for _, t := range n.Terms {
			e.analyse(s, t)
		}
	case *Or:
		for _, t := range n.Terms {
			e.analyse(s, t)
		}
	case *Xor:
		for _, t := range n.Terms {
			e.analyse(s, t)
		}
	case *Not:
		e.analyse(s, n.X)
	case *SegmentRef:
		s.refs = append(s.refs, n.Name)
		if r := e.segs[n.Name]; r != nil {
			for f := range r.deps {
				s.deps[f] = true
			}
			for f, ps := range r.ints {
				ip := s.intsOf(f)
				ip.opaque = ip.opaque || ps.opaque
				ip.preds = append(ip.preds, ps.preds...)
			}
			for f, vs := range r.vdeps {
				for v := range vs {
					s.addValueDep(f, v)
				}
			}
			if r.timeRel {
				s.timeRel = true
				s.gran = minGran(s.gran, r.gran)
			}
			s.global = s.global || r.global
		}
	case *Pred:
		s.fields[n.Field] = true
		if f := e.fields[n.Field]; f != nil && f.kind != KindInt && n.Sel == SelValues {
			// Only a change of one of these values can change the predicate
			// (for events: an occurrence with one of them).
			for _, v := range n.Values {
				s.addValueDep(n.Field, v)
			}
		} else {
			s.deps[n.Field] = true
		}
		if f := e.fields[n.Field]; f != nil && f.kind == KindInt {
			s.addIntPred(n)
		}
		if f := e.fields[n.Field]; f != nil && f.kind == KindEvent {
			s.timeRel = true
			s.gran = minGran(s.gran, f.ev.spec.gran)
		}
	case *Top:
		s.global = true
		s.fields[n.Measure.Field] = true
		s.deps[n.Measure.Field] = true
		s.intOpaque(n.Measure.Field)
		if f := e.fields[n.Measure.Field]; f != nil && f.kind == KindEvent {
			s.timeRel = true
			s.gran = minGran(s.gran, f.ev.spec.gran)
		}
	}
}

func minGran(a, b int64) int64 {
	if a == 0 || b < a {
		return b
	}
	return a
}

// tri is a three-valued truth: whether an entity without any value matches
// an expression (maybe: it depends on the key, as SAMPLE does).
type tri int8

const (
	triNo tri = iota
	triYes
	triMaybe
)

// emptyMatch evaluates n for an entity that holds no value at all.
func (e *Engine) emptyMatch(n Node) tri {
	switch n := n.(type) {
	case *And:
		out := triYes
		for _, t := range n.Terms {
			switch e.emptyMatch(t) {
			case triNo:
				return triNo
			case triMaybe:
				out = triMaybe
			}
		}
		return out
	case *Or:
		out := triNo
		for _, t := range n.Terms {
			switch e.emptyMatch(t) {
			case triYes:
				return triYes
			case triMaybe:
				out = triMaybe
			}
		}
		return out
	case *Xor:
		in := false
		for _, t := range n.Terms {
			switch e.emptyMatch(t) {
			case triMaybe:
				return triMaybe
			case triYes:
				in = !in
			}
		}
		if in {
			return triYes
		}
		return triNo
	case *Not:
		switch e.emptyMatch(n.X) {
		case triYes:
			return triNo
		case triNo:
			return triYes
		}
		return triMaybe
	case *All:
		return triYes
	case *Sample:
		return triMaybe
	case *SegmentRef:
		if r := e.segs[n.Name]; r != nil {
			return r.empty
		}
		return triNo
	case *Pred:
		if f := e.fields[n.Field]; f != nil && f.kind == KindEvent {
			op, k := n.Cmp, n.N
			if op == CmpNone {
				op, k = CmpGe, 1
			}
			if eventCmpHolds(op, k, 0) {
				return triYes
			}
		}
		return triNo
	}
	return triNo // TOP: an entity without the measure is never ranked
}

// segPlan compiles (or reuses) a segment's plan for the current schema.
func (e *Engine) segPlan(s *segment) plan {
	if s.plan == nil || s.schema != e.schema {
		p, err := e.compile(s.node)
		if err != nil {
			// Fields a segment reads cannot be dropped, so this does not
			// happen; keep the old plan rather than lose the segment.
			return s.plan
		}
		s.plan, s.schema = p, e.schema
	}
	return s.plan
}

// reorder rebuilds the segment order and index after segments changed. It
// runs under the write lock, so that readers (SEGMENT.OF) find them built.
func (e *Engine) reorder() {
	e.order = nil
	e.segOrder()
}

// segOrder returns the segments with every segment after those it
// references. Writers keep it built (reorder); readers only read it.
func (e *Engine) segOrder() []*segment {
	if e.order != nil {
		return e.order
	}
	names := make([]string, 0, len(e.segs))
	for n := range e.segs {
		names = append(names, n)
	}
	sort.Strings(names)
	seen := map[string]bool{}
	out := make([]*segment, 0, len(names))
	var visit func(n string)
	visit = func(n string) {
		if seen[n] {
			return
		}
		seen[n] = true
		s := e.segs[n]
		for _, r := range s.refs {
			visit(r)
		}
		out = append(out, s)
	}
	for _, n := range names {
		visit(n)
	}
	e.order = out
	e.buildSegIndex()
	return out
}

// intPreds are the predicates of a segment on one INT field: a change of
// the field can change the segment's membership only if one of them changes
// its truth for the entity (opaque: the field is read otherwise, by TOP).
type intPreds struct {
	preds  []*Pred
	opaque bool
}

// intsOf returns (making it) the predicates of s on an INT field.
func (s *segment) intsOf(field string) *intPreds {
	if s.ints == nil {
		s.ints = map[string]*intPreds{}
	}
	if s.ints[field] == nil {
		s.ints[field] = &intPreds{}
	}
	return s.ints[field]
}

func (s *segment) addIntPred(p *Pred) {
	ip := s.intsOf(p.Field)
	ip.preds = append(ip.preds, p)
}

func (s *segment) intOpaque(field string) { s.intsOf(field).opaque = true }

// intPredHolds evaluates an INT predicate on a value (ok false: no value).
func intPredHolds(p *Pred, v int64, ok bool) bool {
	switch p.Sel {
	case SelAny:
		return ok
	case SelRange:
		return ok && v >= p.Lo && v <= p.Hi
	case SelValues:
		if !ok {
			return false
		}
		for _, x := range p.Values {
			if n, err := strconv.ParseInt(x, 10, 64); err == nil && n == v {
				return true
			}
		}
		return false
	}
	return ok && cmpInt(p.Cmp, p.N, v)
}

// flips reports whether a change of the field from (old, hadOld) to (new,
// hasNew) can change the segment: whether one of its predicates on the
// field changes. nil (no predicates known, opaque, or a TOP segment) always
// can.
func (ps *intPreds) flips(old int64, hadOld bool, new int64, hasNew bool) bool {
	if ps == nil {
		return true
	}
	for _, p := range ps.preds {
		if intPredHolds(p, old, hadOld) != intPredHolds(p, new, hasNew) {
			return true
		}
	}
	return false
}

func (s *segment) addValueDep(field, value string) {
	if s.vdeps == nil {
		s.vdeps = map[string]map[string]bool{}
	}
	if s.vdeps[field] == nil {
		s.vdeps[field] = map[string]bool{}
	}
	s.vdeps[field][value] = true
}

// segIndex answers "which segments does a change of this field concern",
// by position in the reference order.
type segIndex struct {
	byField map[string][]int            // field -> segments any change of it concerns
	ints    map[string][]*intPreds      // field -> parallel to byField: those segments' INT predicates on it (nil: none known)
	byValue map[string]map[string][]int // field -> value -> segments its changes concern
	empty   []int                       // segments an entity without values may match
	refs    [][]int                     // position -> positions of the segments it references
	mark    []bool                      // scratch: candidates of the entity being maintained
	changed []bool                      // scratch: segments whose membership just changed
	cand    []*segment                  // scratch: the candidates, in order
	was     []bool                      // scratch: their memberships before the write
	old     pointMemo                   // scratch: the entity's values before the write (segment_point.go)
	flips   map[string]*intFlips        // INT field -> which of byField a change concerns (segment_flips.go)
	flipK   []int                       // scratch: positions in byField a change concerns
	slots   []progSlot                  // fields segment programs read (segment_prog.go)
	slotIx  map[*field]int              // field -> its slot
	row     progRow                     // scratch: the entity being maintained, by slot
	progs   [][]progTerm                // scratch: the candidates' programs
}

func (e *Engine) buildSegIndex() {
	pos := make(map[string]int, len(e.order))
	for i, s := range e.order {
		pos[s.name] = i
	}
	ix := &segIndex{byField: map[string][]int{}, ints: map[string][]*intPreds{}, byValue: map[string]map[string][]int{}, refs: make([][]int, len(e.order)),
		mark: make([]bool, len(e.order)), changed: make([]bool, len(e.order))}
	for i, s := range e.order {
		// Point reads, for maintenance: the values of the INT fields the
		// segment compares, the ordinal of each entity in the ENUM fields
		// it reads (one read answers every value of the field).
		for f := range s.ints {
			if fl := e.fields[f]; fl != nil && fl.bsi != nil {
				fl.bsi.CacheValues()
			}
		}
		for f := range s.vdeps {
			switch fl := e.fields[f]; {
			case fl == nil:
			case fl.kind == KindEnum && fl.ord == nil:
				fl.buildOrd()
			case fl.kind == KindTags:
				fl.buildTagWords()
			}
		}
		for f := range s.deps {
			ix.byField[f] = append(ix.byField[f], i)
			ip := s.ints[f]
			if ip != nil && (ip.opaque || s.global) {
				ip = nil
			}
			ix.ints[f] = append(ix.ints[f], ip)
		}
		for f, vs := range s.vdeps {
			if s.deps[f] {
				continue
			}
			if ix.byValue[f] == nil {
				ix.byValue[f] = map[string][]int{}
			}
			for v := range vs {
				ix.byValue[f][v] = append(ix.byValue[f][v], i)
			}
		}
		if s.empty != triNo {
			ix.empty = append(ix.empty, i)
		}
		for _, r := range s.refs {
			ix.refs[i] = append(ix.refs[i], pos[r])
		}
	}
	ix.flips = make(map[string]*intFlips, len(ix.ints))
	for f, ints := range ix.ints {
		if fl := e.fields[f]; fl != nil && fl.kind == KindInt {
			ix.flips[f] = newIntFlips(ints)
		}
	}
	e.segIx = ix
}

// dependsOn reports whether s references t, directly or not.
func (e *Engine) dependsOn(s *segment, t string) bool {
	for _, r := range s.refs {
		if r == t || e.dependsOn(e.segs[r], t) {
			return true
		}
	}
	return false
}

// record applies one membership change to s and logs it.
func (e *Engine) record(s *segment, id uint32, key string, enter bool, now int64) {
	if enter {
		if s.members.CheckedAdd(id) {
			s.card++
		}
		e.sigEnter(s, id)
	} else {
		if s.members.CheckedRemove(id) {
			s.card--
		}
		if e.sigDefer {
			e.sigPending |= 1 << s.sigGroup
		} else {
			e.sigRecheck(s.sigGroup, id)
		}
	}
	s.version++
	s.updated = now
	e.nchanges++
	if !s.histDirty {
		s.histDirty = true
		e.histDirty = append(e.histDirty, s)
	}
	c := Change{Segment: s.name, Key: key, Enter: enter, Version: s.version, Time: now}
	s.log.add(c)
	if e.keepChanges {
		if e.outbox == nil {
			e.outbox = make([]Change, 0, 256) // a batch of writes records hundreds
		}
		e.outbox = append(e.outbox, c)
	}
}

// recompute evaluates s whole and records the difference with its members.
// It reports whether anything changed.
func (e *Engine) recompute(s *segment, q *qctx) bool {
	p := e.segPlan(s)
	bm, owned := p.eval(q, nil)
	if !owned {
		bm = bm.Clone()
	}
	enters := roaring.AndNot(bm, s.members)
	exits := roaring.AndNot(s.members, bm)
	if enters.IsEmpty() && exits.IsEmpty() {
		return false
	}
	for _, x := range []struct {
		bm    *roaring.Bitmap
		enter bool
	}{{exits, false}, {enters, true}} {
		it := x.bm.Iterator()
		for it.HasNext() {
			id := it.Next()
			key, _ := e.dict.Key(id)
			e.record(s, id, key, x.enter, q.now)
		}
	}
	s.setMembers(bm)
	return true
}

// setMembers replaces s's members.
func (s *segment) setMembers(bm *roaring.Bitmap) {
	s.members, s.card = bm, bm.GetCardinality()
}

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
	for start := 0; start < len(touched); {
		// The touches of one entity are adjacent: writes touch one entity,
		// except ENT.DEL, which touches none.
		id := touched[start].id
		start0, end := start, start
		lo, hi := len(order), -1
		mark := func(list []int) {
			for _, i := range list {
				ix.mark[i] = true
				lo, hi = min(lo, i), max(hi, i)
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
						i := list[k]
						ix.mark[i] = true
						lo, hi = min(lo, i), max(hi, i)
					}
					continue
				}
				ints := ix.ints[t.field]
				for k, i := range list {
					if !ix.mark[i] && ints[k].flips(t.old, t.hadOld, t.new, t.hasNew) {
						ix.mark[i] = true
						lo, hi = min(lo, i), max(hi, i)
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
		if hi < 0 {
			continue
		}
		key, ok := e.dict.Key(id)
		e.memoTouched(q.memo, touched[start0:end])
		cand := ix.cand[:0]
		for i := lo; i <= hi; i++ {
			if !ix.mark[i] {
				continue
			}
			ix.mark[i] = false
			s := order[i]
			if !ok {
				continue
			}
			if s.global {
				if globals == nil {
					globals = map[*segment]bool{}
				}
				globals[s] = true
				continue
			}
			cand = append(cand, s)
		}
		// The candidates' programs (segment_prog.go), and the entity's row.
		progs := ix.progs[:0]
		for _, s := range cand {
			progs = append(progs, e.segProgram(s))
		}
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
		for k, s := range cand {
			if !e.sigMay(s, id) {
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
		for k, s := range cand {
			var in bool
			if progs[k] != nil {
				in = row.run(ix, progs[k], false)
				if checkMaintain && in != e.segPlan(s).contains(&qctx{at: now, now: now}, id) {
					panic(fmt.Sprintf("segment %s (%s): program says %v for %d, plan %v", s.name, s.text, in, id, !in))
				}
			} else {
				in = e.segPlan(s).contains(q, id)
			}
			s.evalSeq, s.evalIn = e.evalSeq, in
			if in != was[k] {
				e.record(s, id, key, in, now)
				q.memo.forget(s.members) // read by the segments that refer to s
			}
		}
		e.sigDefer = false
		e.sigRecheckPending(id, q, row)
		ix.cand, ix.was, ix.progs = cand, was, progs
	}
	e.touched = e.touched[:0]
	if len(globals) > 0 {
		e.recomputeFrom(globals, q)
	}
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

// KeepChanges makes the engine keep every segment change for DrainChanges
// (off by default, so that an engine nobody drains does not grow; each
// segment's bounded change log is kept either way).
func (e *Engine) KeepChanges(on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.keepChanges = on
	if !on {
		e.outbox = nil
	}
}

// DrainChanges returns and forgets the segment changes recorded since the
// last call, in commit order. (Run a due refresh first, as an OpTick
// mutation, to include the exits of entities that aged out.)
func (e *Engine) DrainChanges() []Change {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.outbox) == 0 {
		return nil
	}
	out := e.outbox
	e.outbox = nil
	return out
}

// SetChangeLog sets how many changes each segment keeps for SEGMENT.CHANGES.
func (e *Engine) SetChangeLog(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.changeLog = n
	for _, s := range e.segs {
		s.log.resize(n)
	}
}

func (r *changeRing) resize(n int) {
	var all []Change
	for i := range r.buf {
		all = append(all, r.at(i))
	}
	if len(all) > n {
		all = all[len(all)-n:]
	}
	r.buf, r.start, r.max = all, 0, n
}

// createSegment applies SEGMENT.CREATE.
func (e *Engine) createSegment(name, text string, replace bool, now int64) (Result, error) {
	if !segmentNameRE.MatchString(name) {
		return Result{}, errorf("invalid segment name '%s': use 1 to 128 letters, digits, '_', '.', ':' or '-'", printable(name))
	}
	old := e.segs[name]
	if old != nil && !replace {
		return Result{}, errorf("segment '%s' exists: drop it first or use SEGMENT.CREATE %s expr REPLACE", name, name)
	}
	node, err := Parse(text)
	if err != nil {
		return Result{}, err
	}
	s := &segment{name: name, text: text, node: node, fields: map[string]bool{}, deps: map[string]bool{}, created: now, updated: now}
	e.analyse(s, node)
	for _, r := range s.refs {
		if r == name || (e.segs[r] != nil && e.dependsOn(e.segs[r], name)) {
			return Result{}, errorf("segment '%s' cannot reference '@%s': the references would form a cycle", name, r)
		}
	}
	p, err := e.compile(node)
	if err != nil {
		return Result{}, err
	}
	s.plan, s.schema = p, e.schema
	s.empty = e.emptyMatch(node)
	if s.timeRel {
		s.tickB = floorDiv(now, s.gran)
	}
	q := &qctx{at: now, now: now}
	if old == nil {
		bm, owned := p.eval(q, nil)
		if !owned {
			bm = bm.Clone()
		}
		s.setMembers(bm)
		s.log.max = e.changeLog
		s.note(now)
		e.segs[name] = s
		e.sigAdd(s)
	} else {
		// REPLACE keeps the segment (plans that reference it stay valid),
		// its version and change log, and records the difference as
		// changes; dependents follow.
		old.text, old.node, old.fields, old.deps, old.vdeps, old.ints, old.refs = s.text, s.node, s.fields, s.deps, s.vdeps, s.ints, s.refs
		old.timeRel, old.gran, old.tickB, old.global, old.empty = s.timeRel, s.gran, s.tickB, s.global, s.empty
		old.plan, old.schema = p, e.schema
		s = old
		e.order = nil
		for _, d := range e.segOrder() { // references first: flags flow up
			if d != s && e.dependsOn(d, name) {
				e.reanalyse(d)
			}
		}
		e.recomputeFrom(map[*segment]bool{s: true}, q)
	}
	e.reorder()
	e.resetTick()
	return Result{N: int64(s.card), Changed: true}, nil
}

// reanalyse refreshes what a segment reads after a segment it references
// was replaced. Callers reorder afterwards.
func (e *Engine) reanalyse(s *segment) {
	s.fields, s.deps, s.vdeps, s.ints, s.refs, s.timeRel, s.gran, s.global = map[string]bool{}, map[string]bool{}, nil, nil, nil, false, 0, false
	e.analyse(s, s.node)
	s.empty = e.emptyMatch(s.node)
	s.plan = nil
	if s.timeRel {
		s.tickB = floorDiv(e.now().Unix(), s.gran)
	}
}

func (e *Engine) dropSegment(name string) (Result, error) {
	if _, ok := e.segs[name]; !ok {
		return Result{}, nil
	}
	var users []string
	for _, s := range e.segs {
		for _, r := range s.refs {
			if r == name {
				users = append(users, s.name)
			}
		}
	}
	if len(users) > 0 {
		sort.Strings(users)
		return Result{}, errorf("segment '%s' is referenced by segment '%s': drop or replace that first", name, users[0])
	}
	e.sigRemove(e.segs[name])
	delete(e.segs, name)
	e.reorder()
	e.resetTick()
	e.schema++ // plans holding @name must be recompiled
	return Result{N: 1, Changed: true}, nil
}

// segmentsUsing lists the segments that read field, sorted.
func (e *Engine) segmentsUsing(field string) []string {
	var out []string
	for _, s := range e.segs {
		if s.fields[field] {
			out = append(out, s.name)
		}
	}
	sort.Strings(out)
	return out
}

// segExit removes a deleted entity from every segment holding it.
func (e *Engine) segExit(id uint32, key string, now int64) {
	for _, s := range e.segOrder() {
		if s.members.Contains(id) {
			e.record(s, id, key, false, now)
		}
		e.globalsDue = e.globalsDue || s.global
	}
}
