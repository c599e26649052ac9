package index

import (
	"sort"
	"sync"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/segd-db/segd/index/bsi"
	"github.com/segd-db/segd/index/expr"
)

// qctx is what one query evaluates against: the AT time of relative windows
// and the clock, which sets the retention. Both are Unix seconds.
type qctx struct {
	at, now int64
	memo    *pointMemo // nil but in saved segment maintenance
}

// pointMemo keeps, while saved segments are re-evaluated for one entity,
// what its plans have read: many segments test the same values (country:FR,
// the live set, an INT field), and each read of a large bitmap or BSI is a
// cache miss.
type pointMemo struct {
	id   uint32
	bms  []memoBit // few: a linear scan beats a map
	ints []memoInt
	ords []memoOrd
}

type memoOrd struct {
	f *field
	o uint64 // ENUM: the ordinal; TAGS: the tag word
}

// enumOrd is the entity's ordinal in ENUM field f, which has an ordinal
// array, remembered.
func (m *pointMemo) enumOrd(f *field) uint32 {
	for _, r := range m.ords {
		if r.f == f {
			return uint32(r.o)
		}
	}
	o := f.ord.get(m.id)
	m.ords = append(m.ords, memoOrd{f, uint64(o)})
	return o
}

// tagWord is the entity's tag word in TAGS field f, which keeps them,
// remembered (fields are ENUM or TAGS, so the list serves both).
func (m *pointMemo) tagWord(f *field) uint64 {
	for _, r := range m.ords {
		if r.f == f {
			return r.o
		}
	}
	w := f.tagWord(m.id)
	m.ords = append(m.ords, memoOrd{f, w})
	return w
}

type memoBit struct {
	bm *roaring.Bitmap
	in bool
}

type memoInt struct {
	b  *bsi.BSI
	v  int64
	ok bool
}

// reset starts the memo over for entity id.
func (m *pointMemo) reset(id uint32) {
	m.id = id
	m.bms = m.bms[:0]
	m.ints = m.ints[:0]
	m.ords = m.ords[:0]
}

func (m *pointMemo) bit(bm *roaring.Bitmap) (in, ok bool) {
	for i := range m.bms {
		if m.bms[i].bm == bm {
			return m.bms[i].in, true
		}
	}
	return false, false
}

func (m *pointMemo) setBit(bm *roaring.Bitmap, in bool) {
	for i := range m.bms {
		if m.bms[i].bm == bm {
			m.bms[i].in = in
			return
		}
	}
	m.bms = append(m.bms, memoBit{bm, in})
}

// forget drops what the memo holds of bm (a segment's members that changed).
func (m *pointMemo) forget(bm *roaring.Bitmap) {
	for i := range m.bms {
		if m.bms[i].bm == bm {
			m.bms[i] = m.bms[len(m.bms)-1]
			m.bms = m.bms[:len(m.bms)-1]
			return
		}
	}
}

func (m *pointMemo) intOf(b *bsi.BSI) (memoInt, bool) {
	for _, r := range m.ints {
		if r.b == b {
			return r, true
		}
	}
	return memoInt{}, false
}

func (m *pointMemo) setInt(b *bsi.BSI, v int64, ok bool) {
	for i := range m.ints {
		if m.ints[i].b == b {
			m.ints[i] = memoInt{b, v, ok}
			return
		}
	}
	m.ints = append(m.ints, memoInt{b, v, ok})
}

// contains is bm.Contains(id), remembered when q has a memo for id.
func (q *qctx) contains(bm *roaring.Bitmap, id uint32) bool {
	m := q.memo
	if m == nil || m.id != id {
		return bm.Contains(id)
	}
	in, ok := m.bit(bm)
	if !ok {
		in = bm.Contains(id)
		m.setBit(bm, in)
	}
	return in
}

// known answers t.contains for the memo's entity from what the memo holds,
// without reading anything; ok is false when it does not know.
func (q *qctx) known(t plan) (in, ok bool) {
	m := q.memo
	switch t := t.(type) {
	case *valuePlan:
		if t.f.ord != nil {
			for _, r := range m.ords {
				if r.f == t.f {
					o := t.ordinal()
					return o != 0 && r.o == uint64(o), true
				}
			}
			return false, false
		}
		if t.f.tagWords != nil {
			for _, r := range m.ords {
				if r.f == t.f {
					if o := t.ordinal(); o == 0 || r.o&t.f.tagBit(o) == 0 {
						return false, true
					}
				}
			}
		}
		in, ok = m.bit(t.bm())
	case *bitmapPlan:
		in, ok = m.bit(t.bm)
	case *intPlan:
		var r memoInt
		if r, ok = m.intOf(t.b); ok {
			in = r.ok && t.holds(r.v)
		}
	}
	return in, ok
}

// intValue is b.Get(id), remembered when q has a memo for id.
func (q *qctx) intValue(b *bsi.BSI, id uint32) (int64, bool) {
	m := q.memo
	if m == nil || m.id != id {
		return b.Get(id)
	}
	r, ok := m.intOf(b)
	if !ok {
		r.v, r.ok = b.Get(id)
		m.setInt(b, r.v, r.ok)
	}
	return r.v, r.ok
}

func (e *Engine) qctx(at time.Time) *qctx {
	now := e.now().Unix()
	q := &qctx{at: now, now: now}
	if !at.IsZero() {
		q.at = at.Unix()
	}
	return q
}

// eventCmpHolds applies a comparison to an event sum.
func eventCmpHolds(op expr.CmpOp, n int64, v uint64) bool {
	if v > 1<<62 {
		v = 1 << 62
	}
	return cmpInt(op, n, int64(v))
}

// cmpInt applies a comparison "x op n" to an integer.
func cmpInt(op expr.CmpOp, n, x int64) bool {
	switch op {
	case expr.CmpEq:
		return x == n
	case expr.CmpNe:
		return x != n
	case expr.CmpLt:
		return x < n
	case expr.CmpLe:
		return x <= n
	case expr.CmpGt:
		return x > n
	case expr.CmpGe:
		return x >= n
	}
	return false
}

// eventSel is the series an event predicate or measure reads: one or more
// values, or the whole field; and its window.
type eventSel struct {
	f      *field
	values []string // nil: every occurrence
	win    expr.Window
	nb     int64 // buckets of an IN window
}

func newEventSel(f *field, sel expr.Selector, values []string, w expr.Window) (eventSel, error) {
	s := eventSel{f: f, win: w}
	switch sel {
	case expr.SelNone, expr.SelAny:
	case expr.SelValues:
		seen := map[string]bool{}
		for _, v := range values {
			if !seen[v] {
				seen[v] = true
				s.values = append(s.values, v)
			}
		}
	default:
		return s, wrongTypef("field '%s' is EVENT, use %s:value >= N IN 90d, %s:(a,b), %s:* or %s", f.name, f.name, f.name, f.name, f.name)
	}
	if w.Kind == expr.WindowIn {
		g := f.ev.spec.granularity()
		if w.Dur < g || w.Dur%g != 0 {
			return s, errorf("window IN %s is not a whole number of buckets of field '%s', which is %s: use a multiple of %s", expr.FormatDuration(w.Dur), f.name, granularityName(g), expr.FormatDuration(g))
		}
		s.nb = int64(w.Dur / g)
	}
	return s, nil
}

func granularityName(g time.Duration) string {
	if g == time.Hour {
		return "HOUR"
	}
	return "DAY"
}

// pieces resolves the window and returns the stored counts it covers, and
// the bucket range (for caching).
func (s *eventSel) pieces(q *qctx) (pcs []*counts, lo, hi int64) {
	ev := s.f.ev
	lo, hi = ev.window(&s.win, s.nb, q.at, q.now)
	if lo > hi {
		return nil, lo, hi
	}
	if s.values == nil {
		return ev.any.pieces(&ev.spec, lo, hi, nil), lo, hi
	}
	for _, v := range s.values {
		if o, ok := s.f.ordinals[v]; ok {
			pcs = ev.ser[o-1].pieces(&ev.spec, lo, hi, pcs)
		}
	}
	return pcs, lo, hi
}

// eventPlan is "event [cmp n] [window]": the entities whose sum of amounts
// in the window satisfies the comparison (>= 1 when none is written).
type eventPlan struct {
	src        *expr.Pred
	sel        eventSel
	live       *roaring.Bitmap
	op         expr.CmpOp
	n          int64
	atLeastOne bool // the comparison is "sum >= 1": no sums needed
	zeroSat    bool // 0 satisfies the comparison: entities without events match
}

func compileEventPred(f *field, p *expr.Pred, live *roaring.Bitmap) (plan, error) {
	sel, err := newEventSel(f, p.Sel, p.Values, p.Window)
	if err != nil {
		return nil, err
	}
	ep := &eventPlan{src: p, sel: sel, live: live, op: p.Cmp, n: p.N}
	if ep.op == expr.CmpNone {
		ep.op, ep.n = expr.CmpGe, 1
	}
	ep.zeroSat = eventCmpHolds(ep.op, ep.n, 0)
	ep.atLeastOne = !ep.zeroSat && eventCmpHolds(ep.op, ep.n, 1) && eventCmpHolds(ep.op, ep.n, 1<<62)
	return ep, nil
}

func (p *eventPlan) eval(q *qctx, filter *roaring.Bitmap) (*roaring.Bitmap, bool) {
	pcs, _, _ := p.sel.pieces(q)
	if p.atLeastOne {
		return anyOf(pcs, filter)
	}
	sat, exists, ok := compareDense(pcs, filter, p.op, p.n, p.zeroSat)
	if !ok {
		sum := sumPieces(pcs, filter)
		sat, exists = sum.Compare(p.op, p.n, nil), sum.Exists()
	}
	if !p.zeroSat {
		return sat, true
	}
	base := p.live
	if filter != nil {
		base = filter
	}
	fail := roaring.AndNot(exists, sat) // entities with events that fail the comparison
	return roaring.AndNot(base, fail), true
}

func (p *eventPlan) contains(q *qctx, id uint32) bool {
	pcs, _, _ := p.sel.pieces(q)
	return eventCmpHolds(p.op, p.n, sumAt(pcs, id))
}

func (p *eventPlan) estimate() uint64 {
	if p.zeroSat {
		return p.live.GetCardinality()
	}
	return p.live.GetCardinality() / 4
}
func (p *eventPlan) label() string    { return expr.Format(p.src) }
func (p *eventPlan) children() []plan { return nil }

// measure is a per-entity number: an INT field, or an event sum over a window.
type measure struct {
	bsi *bsi.BSI // INT
	ev  eventSel
}

func (e *Engine) compileMeasure(m *expr.Measure) (*measure, error) {
	f, err := e.field(m.Field)
	if err != nil {
		return nil, err
	}
	switch f.kind {
	case KindInt:
		if m.Sel != expr.SelNone || m.Window.Kind != expr.WindowNone {
			return nil, wrongTypef("field '%s' is INT: its measure is the field name alone", f.name)
		}
		return &measure{bsi: f.bsi}, nil
	case KindEvent:
		sel, err := newEventSel(f, m.Sel, m.Values, m.Window)
		if err != nil {
			return nil, err
		}
		return &measure{ev: sel}, nil
	}
	return nil, wrongTypef("field '%s' is %s: a measure is an INT field or an event sum like 'spend:apparel IN 365d'", f.name, f.kind)
}

// values returns the measure as a BSI over the entities that have it (sum
// above zero for events), restricted to filter when it is not nil, and a key
// that changes when the window does.
func (m *measure) values(q *qctx, filter *roaring.Bitmap) (b *bsi.BSI, lo, hi int64) {
	if m.bsi != nil {
		return m.bsi, 0, 0
	}
	pcs, lo, hi := m.ev.pieces(q)
	return sumPieces(pcs, filter), lo, hi
}

// topPlan is "TOP k [%] BY measure": the k entities with the highest measure
// among all that have it, ties at the cut broken by key. The set is computed
// whole and kept until the data or the window changes.
type topPlan struct {
	src *expr.Top
	e   *Engine
	m   *measure

	mu     sync.Mutex
	key    [3]int64
	gen    uint64
	cached *roaring.Bitmap
}

func (p *topPlan) set(q *qctx) *roaring.Bitmap {
	b, lo, hi := p.m.values(q, nil)
	key := [3]int64{lo, hi, 1}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cached != nil && p.gen == p.e.gen && p.key == key {
		return p.cached
	}
	k := uint64(p.src.K)
	if p.src.Percent {
		k = (uint64(p.src.K)*b.Count() + 99) / 100 // ceil(k·n/100): the top 10% of 6 is 1
	}
	out := roaring.New()
	if k > 0 {
		above, atCut := b.TopCut(k, nil)
		out.Or(above)
		if rest := int(k - above.GetCardinality()); rest > 0 && !atCut.IsEmpty() {
			for _, key := range p.e.smallestKeys(atCut, rest) {
				if id, ok := p.e.dict.Lookup(key); ok {
					out.Add(id)
				}
			}
		}
	}
	p.cached, p.gen, p.key = out, p.e.gen, key
	return out
}

func (p *topPlan) eval(q *qctx, _ *roaring.Bitmap) (*roaring.Bitmap, bool) { return p.set(q), false }
func (p *topPlan) contains(q *qctx, id uint32) bool                        { return p.set(q).Contains(id) }
func (p *topPlan) estimate() uint64 {
	if p.src.Percent {
		return p.e.live.GetCardinality() * uint64(min(p.src.K, 100)) / 100
	}
	return uint64(p.src.K)
}
func (p *topPlan) label() string    { return expr.Format(p.src) }
func (p *topPlan) children() []plan { return nil }

// Ranked lists for QUERY.TOP.
func sortRanked(out []Ranked) {
	sort.Slice(out, func(i, j int) bool {
		if out[i].Value != out[j].Value {
			return out[i].Value > out[j].Value
		}
		return out[i].Key < out[j].Key
	})
}
