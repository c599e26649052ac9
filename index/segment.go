package index

import (
	"regexp"
	"sort"
	"strconv"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd-db/segd/index/expr"
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
	node    expr.Node
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

// analyse walks a segment's expression for the fields and segments it reads.
func (e *Engine) analyse(s *segment, n expr.Node) {
	switch n := n.(type) {
	case *expr.And:
		for _, t := range n.Terms {
			e.analyse(s, t)
		}
	case *expr.Or:
		for _, t := range n.Terms {
			e.analyse(s, t)
		}
	case *expr.Xor:
		for _, t := range n.Terms {
			e.analyse(s, t)
		}
	case *expr.Not:
		e.analyse(s, n.X)
	case *expr.SegmentRef:
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
	case *expr.Pred:
		s.fields[n.Field] = true
		if f := e.fields[n.Field]; f != nil && f.kind != KindInt && n.Sel == expr.SelValues {
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
	case *expr.Top:
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
func (e *Engine) emptyMatch(n expr.Node) tri {
	switch n := n.(type) {
	case *expr.And:
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
	case *expr.Or:
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
	case *expr.Xor:
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
	case *expr.Not:
		switch e.emptyMatch(n.X) {
		case triYes:
			return triNo
		case triNo:
			return triYes
		}
		return triMaybe
	case *expr.All:
		return triYes
	case *expr.Sample:
		return triMaybe
	case *expr.SegmentRef:
		if r := e.segs[n.Name]; r != nil {
			return r.empty
		}
		return triNo
	case *expr.Pred:
		if f := e.fields[n.Field]; f != nil && f.kind == KindEvent {
			op, k := n.Cmp, n.N
			if op == expr.CmpNone {
				op, k = expr.CmpGe, 1
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
	preds  []*expr.Pred
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

func (s *segment) addIntPred(p *expr.Pred) {
	ip := s.intsOf(p.Field)
	ip.preds = append(ip.preds, p)
}

func (s *segment) intOpaque(field string) { s.intsOf(field).opaque = true }

// intPredHolds evaluates an INT predicate on a value (ok false: no value).
func intPredHolds(p *expr.Pred, v int64, ok bool) bool {
	switch p.Sel {
	case expr.SelAny:
		return ok
	case expr.SelRange:
		return ok && v >= p.Lo && v <= p.Hi
	case expr.SelValues:
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
// by position in the reference order, and holds what maintenance reads of
// each segment by position. It is rebuilt with the order; what one write's
// maintenance computes is in maintScratch (segment_scratch.go).
type segIndex struct {
	byField   map[string][]int            // field -> segments any change of it concerns
	ints      map[string][]*intPreds      // field -> parallel to byField: those segments' INT predicates on it (nil: none known)
	byValue   map[string]map[string][]int // field -> value -> segments its changes concern
	flips     map[string]*intFlips        // INT field -> which of byField a change concerns (segment_flips.go)
	empty     []int                       // segments an entity without values may match
	refs      [][]int                     // position -> positions of the segments it references
	global    []uint64                    // the positions of the segments recomputed whole (a bit per position)
	slots     []progSlot                  // fields segment programs read (segment_prog.go)
	slotIx    map[*field]int              // field -> its slot
	hot       []segHot                    // by position: what maintenance reads of a segment (segHots); nil: to build
	hotSchema uint64                      // the schema hot was built for
}

func (e *Engine) buildSegIndex() {
	pos := make(map[string]int, len(e.order))
	for i, s := range e.order {
		pos[s.name] = i
	}
	ix := &segIndex{byField: map[string][]int{}, ints: map[string][]*intPreds{}, byValue: map[string]map[string][]int{}, refs: make([][]int, len(e.order)),
		global: make([]uint64, (len(e.order)+63)/64)}
	named := map[*field]map[string]bool{} // TAGS values the segments name
	for i, s := range e.order {
		if s.global {
			ix.global[i/64] |= 1 << (i % 64)
		}
		// Point reads, for maintenance: the values of the INT fields the
		// segment compares, the ordinal of each entity in the ENUM fields
		// it reads (one read answers every value of the field).
		for f := range s.ints {
			if fl := e.fields[f]; fl != nil && fl.bsi != nil {
				fl.bsi.CacheValues()
			}
		}
		for f, vs := range s.vdeps {
			switch fl := e.fields[f]; {
			case fl == nil:
			case fl.kind == KindEnum && fl.ord == nil:
				fl.buildOrd()
			case fl.kind == KindTags:
				if named[fl] == nil {
					named[fl] = map[string]bool{}
				}
				for v := range vs {
					named[fl][v] = true
				}
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
	for f, vs := range named {
		f.buildTagWords(vs)
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
	s.log.add(key, now, enter)
	if e.keepChanges {
		if e.outbox == nil {
			e.outbox = make([]Change, 0, max(256, e.outboxHint)) // a batch of writes records hundreds: as many as the last
		}
		e.outbox = append(e.outbox, Change{Segment: s.name, Key: key, Enter: enter, Version: s.version, Time: now})
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
