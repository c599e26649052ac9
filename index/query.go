package index

import (
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd-db/segd/index/bsi"
	"github.com/segd-db/segd/index/expr"
)

// Relative windows (events) are evaluated as of the time each query passes as
// at; the zero time means now.

// prepare parses and compiles text, through the cache. Callers hold e.mu.
// Nothing prepare keeps or returns refers to text's memory, so callers may
// pass a string that aliases a reused buffer.
func (e *Engine) prepare(text string) (plan, error) {
	ce, ok := e.cache.get(text)
	if ok && ce.plan != nil && ce.schema == e.schema {
		return ce.plan, nil
	}
	text = strings.Clone(text) // parsed nodes keep parts of the text
	if !ok {
		n, err := expr.Parse(text)
		if err != nil {
			return nil, err
		}
		ce.node = n
	}
	p, err := e.compile(ce.node)
	if err != nil {
		return nil, err
	}
	e.cache.put(text, cachedExpr{node: ce.node, plan: p, schema: e.schema})
	return p, nil
}

// Eval returns the entities matching expr as a new bitmap the caller owns.
func (e *Engine) Eval(expr string, at time.Time) (*roaring.Bitmap, error) {
	e.rlock()
	defer e.mu.RUnlock()
	p, err := e.prepare(expr)
	if err != nil {
		return nil, err
	}
	bm, owned := p.eval(e.qctx(at), nil)
	if !owned {
		bm = bm.Clone()
	}
	return bm, nil
}

// Count is the number of entities matching expr.
func (e *Engine) Count(expr string, at time.Time) (uint64, error) {
	e.rlock()
	defer e.mu.RUnlock()
	p, err := e.prepare(expr)
	if err != nil {
		return 0, err
	}
	q := untimedQ
	if !untimed(p) {
		q = e.qctx(at)
	}
	switch p := p.(type) {
	case *andPlan:
		return p.count(q), nil
	case *xorPlan:
		return p.count(q), nil
	case *intPlan:
		return p.count(nil), nil
	}
	bm, _ := p.eval(q, nil)
	return bm.GetCardinality(), nil
}

// IsMember reports whether key matches expr, by evaluating the expression for
// that one entity (no bitmap is built). Unknown keys are never members.
func (e *Engine) IsMember(expr, key string, at time.Time) (bool, error) {
	e.rlock()
	defer e.mu.RUnlock()
	p, err := e.prepare(expr)
	if err != nil {
		return false, err
	}
	id, ok := e.dict.Lookup(key)
	if !ok {
		return false, nil
	}
	if untimed(p) {
		return p.contains(untimedQ, id), nil // no clock read, no allocation
	}
	return p.contains(e.qctx(at), id), nil
}

// untimedQ is the context of plans that read no time (see untimed); nothing
// writes it.
var untimedQ = &qctx{}

// untimed reports whether evaluating p never reads its context's times:
// it holds no event window and no TOP (plan kinds added later count as
// timed until listed here).
func untimed(p plan) bool {
	return everyNode(p, func(n plan) bool {
		switch n.(type) {
		case *bitmapPlan, *segRefPlan, *valuePlan, *intPlan, *samplePlan, *notPlan:
			return true
		}
		return false
	})
}

// everyNode reports whether ok holds for every node of p below its AND, OR
// and XOR nodes: each NOT (and then every node of its operand) and each
// leaf.
func everyNode(p plan, ok func(plan) bool) bool {
	all := func(ps []plan) bool {
		for _, t := range ps {
			if !everyNode(t, ok) {
				return false
			}
		}
		return true
	}
	switch p := p.(type) {
	case *andPlan:
		return all(p.pos) && all(p.neg)
	case *orPlan:
		return all(p.terms)
	case *xorPlan:
		return all(p.terms)
	case *notPlan:
		return ok(p) && everyNode(p.x, ok)
	}
	return ok(p)
}

// Members pages through the entities matching expr in id order, like SSCAN:
// cursor 0 starts, a returned cursor of 0 means done. count is a page size.
func (e *Engine) Members(expr string, cursor uint64, count int, at time.Time) (next uint64, keys []string, err error) {
	e.rlock()
	defer e.mu.RUnlock()
	p, err := e.prepare(expr)
	if err != nil {
		return 0, nil, err
	}
	bm, _ := p.eval(e.qctx(at), nil)
	return e.page(bm, cursor, count)
}

func (e *Engine) page(bm *roaring.Bitmap, cursor uint64, count int) (uint64, []string, error) {
	if count <= 0 {
		count = 100
	}
	if cursor > uint64(^uint32(0)) {
		return 0, nil, nil
	}
	it := bm.Iterator()
	it.AdvanceIfNeeded(uint32(cursor))
	keys := make([]string, 0, min(count, 1024))
	var last uint32
	for len(keys) < count && it.HasNext() {
		id := it.Next()
		if k, ok := e.dict.Key(id); ok {
			keys = append(keys, k)
		}
		last = id
	}
	if !it.HasNext() {
		return 0, keys, nil
	}
	return uint64(last) + 1, keys, nil
}

// ExplainNode is one node of a query plan, with the entities it matched and
// the time it took to evaluate alone.
type ExplainNode struct {
	Label       string
	Cardinality uint64
	Micros      float64
	Children    []*ExplainNode
}

// Explain evaluates expr node by node and reports each node's cardinality and time.
func (e *Engine) Explain(expr string, at time.Time) (*ExplainNode, error) {
	e.rlock()
	defer e.mu.RUnlock()
	p, err := e.prepare(expr)
	if err != nil {
		return nil, err
	}
	q := e.qctx(at)
	var walk func(p plan) *ExplainNode
	walk = func(p plan) *ExplainNode {
		start := time.Now()
		bm, _ := p.eval(q, nil)
		n := &ExplainNode{Label: p.label(), Cardinality: bm.GetCardinality()}
		if h := planHint(p); h != "" {
			n.Label += " (" + h + ")"
		}
		n.Micros = float64(time.Since(start).Nanoseconds()) / 1e3
		for _, c := range p.children() {
			n.Children = append(n.Children, walk(c))
		}
		return n
	}
	return walk(p), nil
}

// where evaluates an optional WHERE expression; nil means every entity.
func (e *Engine) where(q *qctx, expr string) (*roaring.Bitmap, error) {
	if expr == "" {
		return nil, nil
	}
	p, err := e.prepare(expr)
	if err != nil {
		return nil, err
	}
	bm, _ := p.eval(q, nil)
	return bm, nil
}

// GroupBy counts, per value of an ENUM or TAGS field, the entities matching
// where (all entities when where is empty), most first, ties by value.
func (e *Engine) GroupBy(name, where string, limit int, at time.Time) ([]ValueCount, error) {
	e.rlock()
	defer e.mu.RUnlock()
	f, err := e.valuesField(name)
	if err != nil {
		return nil, err
	}
	q := e.qctx(at)
	filter, err := e.where(q, where)
	if err != nil {
		return nil, err
	}
	return e.groupCounts(q, f, filter, limit), nil
}

// Stats summarises a measure over the entities that match where and have it.
type Stats struct {
	Count    uint64
	Sum      *big.Int
	Min, Max int64 // valid when Count > 0
}

// Mean is Sum/Count as a float (0 when Count is 0).
func (s Stats) Mean() float64 {
	if s.Count == 0 {
		return 0
	}
	f, _ := new(big.Float).Quo(new(big.Float).SetInt(s.Sum), new(big.Float).SetUint64(s.Count)).Float64()
	return f
}

// measure parses and compiles a measure.
func (e *Engine) measure(text string) (*measure, error) {
	m, err := expr.ParseMeasure(text)
	if err != nil {
		return nil, err
	}
	return e.compileMeasure(m)
}

// Stats computes count, sum, min and max of a measure over where.
func (e *Engine) Stats(measure, where string, at time.Time) (Stats, error) {
	e.rlock()
	defer e.mu.RUnlock()
	m, err := e.measure(measure)
	if err != nil {
		return Stats{}, err
	}
	q := e.qctx(at)
	filter, err := e.where(q, where)
	if err != nil {
		return Stats{}, err
	}
	b, _, _ := m.values(q, filter)
	var s Stats
	s.Count, s.Sum = b.Sum(filter)
	if s.Count > 0 {
		s.Min, s.Max, _ = b.MinMax(filter)
	}
	return s, nil
}

// Ranked is one entity and its measure.
type Ranked struct {
	Key   string
	Value int64
}

// Top lists the k entities with the highest measure among those matching
// where, highest first, ties by key in ascending byte order.
func (e *Engine) Top(k int, measure, where string, at time.Time) ([]Ranked, error) {
	e.rlock()
	defer e.mu.RUnlock()
	m, err := e.measure(measure)
	if err != nil {
		return nil, err
	}
	q := e.qctx(at)
	filter, err := e.where(q, where)
	if err != nil {
		return nil, err
	}
	b, _, _ := m.values(q, filter)
	if k <= 0 {
		return nil, nil
	}
	above, atCut := b.TopCut(uint64(k), filter)
	out := e.ranked(b, above)
	sortRanked(out)
	if rest := k - len(out); rest > 0 && !atCut.IsEmpty() {
		v, _ := b.Get(atCut.Minimum())
		for _, key := range e.smallestKeys(atCut, rest) {
			out = append(out, Ranked{Key: key, Value: v})
		}
	}
	return out, nil
}

// smallestKeys returns the n smallest keys (byte order) of the entities in bm,
// sorted, without materialising every key when bm is large.
func (e *Engine) smallestKeys(bm *roaring.Bitmap, n int) []string {
	best := make([]string, 0, n)
	var scratch []byte
	it := bm.Iterator()
	for it.HasNext() {
		var ok bool
		scratch, ok = e.dict.AppendKey(scratch[:0], it.Next())
		if !ok || (len(best) == n && string(scratch) >= best[n-1]) {
			continue
		}
		i := sort.SearchStrings(best, string(scratch))
		if len(best) < n {
			best = append(best, "")
		}
		copy(best[i+1:], best[i:])
		best[i] = string(scratch)
	}
	return best
}

func (e *Engine) ranked(b *bsi.BSI, bm *roaring.Bitmap) []Ranked {
	out := make([]Ranked, 0, bm.GetCardinality())
	it := bm.Iterator()
	for it.HasNext() {
		id := it.Next()
		k, ok := e.dict.Key(id)
		if !ok {
			continue
		}
		v, _ := b.Get(id)
		out = append(out, Ranked{Key: k, Value: v})
	}
	return out
}
