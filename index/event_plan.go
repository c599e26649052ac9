package index

import (
	"sort"
	"sync"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd-db/segd/index/bsi"
	"github.com/segd-db/segd/index/expr"
)

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
// window is the bucket range values would sum for q (0, 0 for INT), without
// summing anything.
func (m *measure) window(q *qctx) (lo, hi int64) {
	if m.bsi != nil {
		return 0, 0
	}
	return m.ev.f.ev.window(&m.ev.win, m.ev.nb, q.at, q.now)
}

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
	lo, hi := p.m.window(q)
	key := [3]int64{lo, hi, 1}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cached != nil && p.gen == p.e.gen && p.key == key {
		return p.cached // before summing: the sum of a year of buckets is the cost
	}
	b, _, _ := p.m.values(q, nil)
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
