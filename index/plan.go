package index

import (
	"sort"
	"strconv"
	"sync/atomic"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/segd-db/segd/index/bsi"
	"github.com/segd-db/segd/index/expr"
)

// plan is a compiled expression node. Every node answers both "which
// entities" (eval) and "is this one entity in" (contains), because saved
// segments re-evaluate one entity at a time. Plans read the engine's bitmaps
// and are only valid under the engine's read lock, for one schema version.
type plan interface {
	// eval returns the node's entities. The result may be one of the engine's
	// own bitmaps: callers must not modify it unless owned is true.
	eval(q *qctx, filter *roaring.Bitmap) (bm *roaring.Bitmap, owned bool)
	contains(q *qctx, id uint32) bool
	// estimate is an upper bound of the cardinality, for ordering AND terms.
	estimate() uint64
	label() string
	children() []plan
}

// compile turns a parsed expression into a plan against the current schema.
func (e *Engine) compile(n expr.Node) (plan, error) {
	switch n := n.(type) {
	case *expr.And:
		p := &andPlan{all: e.live}
		for _, t := range n.Terms {
			if nt, ok := t.(*expr.Not); ok {
				c, err := e.compile(nt.X)
				if err != nil {
					return nil, err
				}
				p.neg = append(p.neg, c)
				continue
			}
			c, err := e.compile(t)
			if err != nil {
				return nil, err
			}
			p.pos = append(p.pos, c)
		}
		p.point = p.ordered()
		return p, nil
	case *expr.Or:
		terms, err := e.compileAll(n.Terms)
		return &orPlan{terms: terms}, err
	case *expr.Xor:
		terms, err := e.compileAll(n.Terms)
		return &xorPlan{terms: terms}, err
	case *expr.Not:
		c, err := e.compile(n.X)
		if err != nil {
			return nil, err
		}
		return &notPlan{live: e.live, x: c}, nil
	case *expr.All:
		return &bitmapPlan{bm: e.live}, nil
	case *expr.SegmentRef:
		s, ok := e.segs[n.Name]
		if !ok {
			return nil, errorf("unknown segment '%s'", printable(n.Name))
		}
		return &segRefPlan{src: n, s: s}, nil
	case *expr.Top:
		m, err := e.compileMeasure(&n.Measure)
		if err != nil {
			return nil, err
		}
		return &topPlan{src: n, e: e, m: m}, nil
	case *expr.Sample:
		return &samplePlan{src: n, sample: e.sample, live: e.live}, nil
	case *expr.Pred:
		return e.compilePred(n)
	}
	return nil, errorf("unsupported expression node %T", n)
}

func (e *Engine) compileAll(nodes []expr.Node) ([]plan, error) {
	out := make([]plan, len(nodes))
	for i, n := range nodes {
		var err error
		if out[i], err = e.compile(n); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (e *Engine) compilePred(p *expr.Pred) (plan, error) {
	f, err := e.field(p.Field)
	if err != nil {
		return nil, err
	}
	if p.Window.Kind != expr.WindowNone && f.kind != KindEvent {
		return nil, wrongTypef("field '%s' is %s; IN, BETWEEN and EVER windows apply to EVENT fields", f.name, f.kind)
	}
	switch f.kind {
	case KindEnum, KindTags:
		switch {
		case p.Sel == expr.SelAny && p.Cmp == expr.CmpNone:
			return &bitmapPlan{src: p, bm: f.has}, nil
		case p.Sel == expr.SelValues && p.Cmp == expr.CmpNone:
			if len(p.Values) == 1 {
				return &valuePlan{src: p, f: f, value: p.Values[0]}, nil
			}
			or := &orPlan{src: p}
			for _, v := range p.Values {
				or.terms = append(or.terms, &valuePlan{f: f, value: v})
			}
			return or, nil
		}
		return nil, wrongTypef("field '%s' is %s, use %s:value, %s:(a,b) or %s:*", f.name, f.kind, f.name, f.name, f.name)
	case KindInt:
		return compileIntPred(f, p)
	}
	return compileEventPred(f, p, e.live)
}

func compileIntPred(f *field, p *expr.Pred) (plan, error) {
	usage := func() error {
		return wrongTypef("field '%s' is INT, use %s >= N, %s:N or %s:[A TO B]", f.name, f.name, f.name, f.name)
	}
	switch p.Sel {
	case expr.SelAny:
		if p.Cmp != expr.CmpNone {
			return nil, usage()
		}
		return &bitmapPlan{src: p, bm: f.bsi.Exists()}, nil
	case expr.SelRange:
		if p.Cmp != expr.CmpNone {
			return nil, usage()
		}
		return &intPlan{src: p, b: f.bsi, lo: p.Lo, hi: p.Hi, isRange: true}, nil
	case expr.SelValues:
		if p.Cmp != expr.CmpNone {
			return nil, usage()
		}
		or := &orPlan{src: p}
		for _, v := range p.Values {
			n, ok := canonicalInt(v)
			if !ok {
				if n2, err := strconv.ParseInt(v, 10, 64); err == nil {
					n, ok = n2, true
				}
			}
			if !ok {
				return nil, errorf("'%s' is not an integer, and field '%s' is INT", printable(v), f.name)
			}
			or.terms = append(or.terms, &intPlan{src: &expr.Pred{Field: f.name, Sel: expr.SelValues, Values: []string{v}}, b: f.bsi, op: expr.CmpEq, n: n})
		}
		if len(or.terms) == 1 {
			or.terms[0].(*intPlan).src = p
			return or.terms[0], nil
		}
		return or, nil
	case expr.SelNone:
		if p.Cmp == expr.CmpNone {
			return nil, usage()
		}
		return &intPlan{src: p, b: f.bsi, op: p.Cmp, n: p.N}, nil
	}
	return nil, usage()
}

// label renders a plan node's source for EXPLAIN; it is only computed there.
func label(src expr.Node) string {
	if src == nil {
		return "ALL"
	}
	return expr.Format(src)
}

// bitmapPlan is a stored bitmap: ALL (src nil), f:*.
type bitmapPlan struct {
	src expr.Node
	bm  *roaring.Bitmap
}

func (p *bitmapPlan) eval(*qctx, *roaring.Bitmap) (*roaring.Bitmap, bool) { return p.bm, false }
func (p *bitmapPlan) contains(q *qctx, id uint32) bool                    { return q.contains(p.bm, id) }
func (p *bitmapPlan) estimate() uint64                                    { return p.bm.GetCardinality() }
func (p *bitmapPlan) label() string                                       { return label(p.src) }
func (p *bitmapPlan) children() []plan                                    { return nil }

// segRefPlan is "@name": a saved segment's members.
type segRefPlan struct {
	src *expr.SegmentRef
	s   *segment
}

func (p *segRefPlan) eval(*qctx, *roaring.Bitmap) (*roaring.Bitmap, bool) { return p.s.members, false }
func (p *segRefPlan) contains(_ *qctx, id uint32) bool                    { return p.s.members.Contains(id) }
func (p *segRefPlan) estimate() uint64                                    { return p.s.members.GetCardinality() }
func (p *segRefPlan) label() string                                       { return expr.Format(p.src) }
func (p *segRefPlan) children() []plan                                    { return nil }

// valuePlan is one ENUM/TAGS value, looked up when evaluated so that a value
// that appears after compilation is seen.
type valuePlan struct {
	src   expr.Node // nil inside f:(a,b)
	f     *field
	value string
	found atomic.Pointer[roaring.Bitmap] // the value's bitmap once it exists
	ord   atomic.Uint32                  // the value's ordinal once it exists
}

var emptyBitmap = roaring.New()

// bm is the value's bitmap. A value that exists keeps its bitmap until the
// schema changes (and plans are recompiled), so it is looked up once.
func (p *valuePlan) bm() *roaring.Bitmap {
	if bm := p.found.Load(); bm != nil {
		return bm
	}
	if bm := p.f.valueBitmap(p.value); bm != nil {
		p.found.Store(bm)
		return bm
	}
	return emptyBitmap
}
func (p *valuePlan) eval(*qctx, *roaring.Bitmap) (*roaring.Bitmap, bool) { return p.bm(), false }
func (p *valuePlan) contains(q *qctx, id uint32) bool {
	if m := q.memo; m != nil && m.id == id {
		switch {
		case p.f.ord != nil:
			// An ENUM with an ordinal array: one read of the entity's
			// ordinal answers every value of the field, for every segment.
			o := p.ordinal()
			return o != 0 && m.enumOrd(p.f) == o
		case p.f.tagWords != nil:
			// TAGS with tag words: a clear bit says no at once.
			o := p.ordinal()
			if o == 0 || m.tagWord(p.f)&p.f.tagBit(o) == 0 {
				return false
			}
		}
	}
	return q.contains(p.bm(), id)
}

// ordinal is the value's ordinal, 0 while it does not exist.
func (p *valuePlan) ordinal() uint32 {
	if o := p.ord.Load(); o != 0 {
		return o
	}
	o := p.f.ordinals[p.value]
	p.ord.Store(o)
	return o
}
func (p *valuePlan) estimate() uint64 { return p.bm().GetCardinality() }
func (p *valuePlan) label() string {
	if p.src == nil {
		return expr.Format(&expr.Pred{Field: p.f.name, Sel: expr.SelValues, Values: []string{p.value}})
	}
	return expr.Format(p.src)
}
func (p *valuePlan) children() []plan { return nil }

// intPlan is an INT comparison or range, answered plane-wise by the BSI.
type intPlan struct {
	src     expr.Node
	b       *bsi.BSI
	op      expr.CmpOp
	n       int64
	isRange bool
	lo, hi  int64
}

func (p *intPlan) eval(q *qctx, filter *roaring.Bitmap) (*roaring.Bitmap, bool) {
	if p.isRange {
		return p.b.Range(p.lo, p.hi, filter), true
	}
	return p.b.Compare(p.op, p.n, filter), true
}

// count is |eval(filter)|, without building the result where the BSI can.
func (p *intPlan) count(filter *roaring.Bitmap) uint64 {
	if p.isRange {
		return p.b.CountRange(p.lo, p.hi, filter)
	}
	return p.b.CountCompare(p.op, p.n, filter)
}

func (p *intPlan) contains(q *qctx, id uint32) bool {
	v, ok := q.intValue(p.b, id)
	return ok && p.holds(v)
}

// holds applies the comparison or range to a value.
func (p *intPlan) holds(v int64) bool {
	if p.isRange {
		return v >= p.lo && v <= p.hi
	}
	return cmpInt(p.op, p.n, v)
}

func (p *intPlan) estimate() uint64 {
	if !p.isRange && p.op == expr.CmpEq {
		return p.b.Count() / 2 // equality is usually selective; still evaluated after plain bitmaps
	}
	return p.b.Count()
}
func (p *intPlan) label() string    { return expr.Format(p.src) }
func (p *intPlan) children() []plan { return nil }

// computed reports whether a plan computes its result (rather than reading a
// stored bitmap), so it should run late in an AND with the running
// intersection as its filter.
func computed(p plan) bool {
	switch p.(type) {
	case *intPlan, *eventPlan, *topPlan, *samplePlan:
		return true
	}
	return false
}

// andPlan intersects its positive terms, smallest first, then subtracts its
// negated terms (NOT pushed into AND NOT). Terms that compute (INT ranges)
// get the running intersection as a filter, so they only touch candidates.
type andPlan struct {
	all      *roaring.Bitmap // the live entities, for an AND of NOT terms alone
	pos, neg []plan
	// point is pos for point evaluation: stored bitmaps before computed
	// terms, the most selective first (as estimated at compile time), so
	// that most entities fail at the first Contains.
	point []plan
}

func (p *andPlan) ordered() []plan {
	terms := append([]plan(nil), p.pos...)
	sort.SliceStable(terms, func(i, j int) bool {
		ci, cj := computed(terms[i]), computed(terms[j])
		if ci != cj {
			return !ci // stored bitmaps before computed ranges
		}
		return terms[i].estimate() < terms[j].estimate()
	})
	return terms
}

func (p *andPlan) eval(q *qctx, filter *roaring.Bitmap) (*roaring.Bitmap, bool) {
	acc, owned := p.intersect(q, filter)
	for _, n := range p.neg {
		if acc.IsEmpty() {
			break
		}
		bm, _ := n.eval(q, acc)
		if !owned {
			acc, owned = acc.Clone(), true
		}
		acc.AndNot(bm)
	}
	return acc, owned
}

// intersect computes the positive terms (all live entities when there are none).
func (p *andPlan) intersect(q *qctx, filter *roaring.Bitmap) (*roaring.Bitmap, bool) {
	terms := p.ordered()
	if len(terms) == 0 {
		if filter != nil {
			return filter, false
		}
		return p.all, false
	}
	acc, owned := terms[0].eval(q, filter)
	for _, t := range terms[1:] {
		if acc.IsEmpty() {
			break
		}
		bm, bmOwned := t.eval(q, acc)
		switch {
		case bmOwned:
			bm.And(acc)
			acc, owned = bm, true
		case owned:
			acc.And(bm)
		default:
			acc, owned = roaring.And(acc, bm), true
		}
	}
	return acc, owned
}

// count answers |AND| without building its last step: the last NOT term is
// counted as |acc| − |acc ∧ x|, the last positive term as |acc ∧ x|. An
// INT term last is counted by the BSI with acc as its filter.
func (p *andPlan) count(q *qctx) uint64 {
	if n := len(p.neg); n > 0 {
		head := &andPlan{all: p.all, pos: p.pos, neg: p.neg[:n-1]}
		acc, _ := head.eval(q, nil)
		return acc.GetCardinality() - andCount(q, acc, p.neg[n-1])
	}
	terms := p.ordered()
	if len(terms) < 2 {
		bm, _ := p.eval(q, nil)
		return bm.GetCardinality()
	}
	head := &andPlan{all: p.all, pos: terms[:len(terms)-1]}
	acc, _ := head.eval(q, nil)
	return andCount(q, acc, terms[len(terms)-1])
}

// andCount is |acc ∧ t|.
func andCount(q *qctx, acc *roaring.Bitmap, t plan) uint64 {
	if ip, ok := t.(*intPlan); ok {
		return ip.count(acc) // its entities are a subset of its filter
	}
	x, _ := t.eval(q, acc)
	return acc.AndCardinality(x)
}

func (p *andPlan) contains(q *qctx, id uint32) bool {
	terms := p.point
	if len(terms) != len(p.pos) {
		terms = p.pos
	}
	if q.memo != nil && q.memo.id == id {
		// What is already known of the entity first (the values a write
		// just changed, the reads of earlier segments): most candidates
		// of a write fail on the value it changed, and need no other read.
		for _, t := range terms {
			if v, ok := q.known(t); ok && !v {
				return false
			}
		}
		for _, t := range p.neg {
			if v, ok := q.known(t); ok && v {
				return false
			}
		}
	}
	for _, t := range terms {
		if !t.contains(q, id) {
			return false
		}
	}
	for _, t := range p.neg {
		if t.contains(q, id) {
			return false
		}
	}
	return true
}

func (p *andPlan) estimate() uint64 {
	if len(p.pos) == 0 {
		return p.all.GetCardinality()
	}
	min := uint64(1<<63 - 1)
	for _, t := range p.pos {
		if e := t.estimate(); e < min {
			min = e
		}
	}
	return min
}
func (p *andPlan) label() string { return "AND" }
func (p *andPlan) children() []plan {
	out := p.ordered()
	for _, n := range p.neg {
		out = append(out, &notPlan{x: n, live: p.all})
	}
	return out
}

type orPlan struct {
	src   expr.Node // the predicate f:(a,b) this OR stands for; nil for an expression OR
	terms []plan
}

func (p *orPlan) eval(q *qctx, _ *roaring.Bitmap) (*roaring.Bitmap, bool) {
	bms := make([]*roaring.Bitmap, len(p.terms))
	for i, t := range p.terms {
		bms[i], _ = t.eval(q, nil)
	}
	return roaring.FastOr(bms...), true
}
func (p *orPlan) contains(q *qctx, id uint32) bool {
	for _, t := range p.terms {
		if t.contains(q, id) {
			return true
		}
	}
	return false
}
func (p *orPlan) estimate() uint64 {
	var n uint64
	for _, t := range p.terms {
		n += t.estimate()
	}
	return n
}
func (p *orPlan) label() string {
	if p.src != nil {
		return expr.Format(p.src)
	}
	return "OR"
}
func (p *orPlan) children() []plan {
	if p.src != nil {
		return nil
	}
	return p.terms
}

type xorPlan struct{ terms []plan }

func (p *xorPlan) eval(q *qctx, _ *roaring.Bitmap) (*roaring.Bitmap, bool) {
	acc, owned := p.terms[0].eval(q, nil)
	for _, t := range p.terms[1:] {
		bm, _ := t.eval(q, nil)
		owned = true
		// Never acc.Xor(bm): roaring v2.30's in-place Xor can write into
		// its argument, a stored bitmap (RoaringBitmap/roaring#564).
		acc = roaring.Xor(acc, bm)
	}
	return acc, owned
}

// count is |XOR|; of two terms, |a| + |b| − 2|a ∧ b|, with no bitmap built.
func (p *xorPlan) count(q *qctx) uint64 {
	if len(p.terms) != 2 {
		bm, _ := p.eval(q, nil)
		return bm.GetCardinality()
	}
	a, _ := p.terms[0].eval(q, nil)
	b, _ := p.terms[1].eval(q, nil)
	return a.GetCardinality() + b.GetCardinality() - 2*a.AndCardinality(b)
}

func (p *xorPlan) contains(q *qctx, id uint32) bool {
	in := false
	for _, t := range p.terms {
		if t.contains(q, id) {
			in = !in
		}
	}
	return in
}
func (p *xorPlan) estimate() uint64 {
	var n uint64
	for _, t := range p.terms {
		n += t.estimate()
	}
	return n
}
func (p *xorPlan) label() string    { return "XOR" }
func (p *xorPlan) children() []plan { return p.terms }

type notPlan struct {
	live *roaring.Bitmap
	x    plan
}

func (p *notPlan) eval(q *qctx, filter *roaring.Bitmap) (*roaring.Bitmap, bool) {
	base := p.live
	if filter != nil {
		base = filter
	}
	bm, _ := p.x.eval(q, base)
	return roaring.AndNot(base, bm), true
}
func (p *notPlan) contains(q *qctx, id uint32) bool {
	return q.contains(p.live, id) && !p.x.contains(q, id)
}
func (p *notPlan) estimate() uint64 { return p.live.GetCardinality() }
func (p *notPlan) label() string    { return "NOT" }
func (p *notPlan) children() []plan { return []plan{p.x} }
