package modeltest

import (
	"fmt"
	"math/big"
	"math/rand"
	"sort"
	"strconv"
	"time"

	"github.com/segd-db/segd/index"
)

// The model's expressions and measures over EVENT fields (events.go):
// random ones, and what they answer (members, TOP, stats, amounts), worked
// out by plain loops over the kept occurrences.

// evalCtx is one evaluation of an expression: its AT time and the TOP sets
// worked out so far.
type evalCtx struct {
	at   int64
	tops map[*topAtom]map[string]bool
}

type topAtom struct {
	k       int
	percent bool
	meas    *Measure
}

// Expr is a random expression and its meaning in the model.
type Expr struct {
	Text string
	Err  bool // the engine must reject it (a window of part of a bucket)
	eval func(c *evalCtx, key string) bool
}

// Measure is a random measure: an event sum with its window, or an INT field.
type Measure struct {
	Text string
	Err  bool
	sel  *evSel // nil: INT field
	intF string
}

// value is key's measure as of at, and whether key has it.
func (m *EventModel) value(ms *Measure, key string, at int64) (int64, bool) {
	if ms.sel == nil {
		v, ok := m.Ents[key].ints[ms.intF]
		return v, ok
	}
	n := m.sum(ms.sel, key, at)
	return n, n > 0
}

// RandomMeasure returns a measure over the fields that exist: mostly an
// event sum, sometimes an INT field.
func (m *EventModel) RandomMeasure(r *rand.Rand) *Measure {
	if r.Intn(8) == 0 {
		for _, f := range []string{"age", "score"} {
			if m.Kinds[f] == index.KindInt && r.Intn(2) == 0 {
				return &Measure{Text: f, intF: f}
			}
		}
	}
	fs := m.EventFields()
	s := m.randomSel(r, fs[r.Intn(len(fs))])
	s.win = m.randomWindow(r, s.field)
	return &Measure{Text: s.text + s.win.text, Err: !m.selValid(s), sel: s}
}

var evCmpOps = []struct {
	op string
	fn func(a, b int64) bool
}{
	{"=", func(a, b int64) bool { return a == b }},
	{"!=", func(a, b int64) bool { return a != b }},
	{"<", func(a, b int64) bool { return a < b }},
	{"<=", func(a, b int64) bool { return a <= b }},
	{">", func(a, b int64) bool { return a > b }},
	{">=", func(a, b int64) bool { return a >= b }},
}

func (m *EventModel) randomEventPred(r *rand.Rand) *Expr {
	fs := m.EventFields()
	s := m.randomSel(r, fs[r.Intn(len(fs))])
	text := s.text
	cmp := func(a, b int64) bool { return a >= b }
	var n int64 = 1
	if r.Intn(4) > 0 {
		c := evCmpOps[r.Intn(len(evCmpOps))]
		switch k := r.Intn(20); {
		case k < 4:
			n = 0
		case k < 8:
			n = 1
		case k < 14:
			n = int64(2 + r.Intn(5))
		case k < 15:
			n = -1
		case k < 17:
			n = int64(r.Intn(200000))
		default:
			n = index.MaxAmount + int64(r.Intn(3)) - 1
		}
		cmp = c.fn
		sp := []string{" ", ""}[r.Intn(2)]
		text += " " + c.op + sp + strconv.FormatInt(n, 10)
	}
	s.win = m.randomWindow(r, s.field)
	text += s.win.text
	return &Expr{Text: text, Err: !m.selValid(s), eval: func(c *evalCtx, key string) bool {
		return cmp(m.sum(s, key, c.at), n)
	}}
}

func (m *EventModel) randomTop(r *rand.Rand) *Expr {
	t := &topAtom{meas: m.RandomMeasure(r)}
	var text string
	if r.Intn(2) == 0 {
		t.percent, t.k = true, []int{1, 5, 10, 33, 50, 99, 100}[r.Intn(7)]
		text = fmt.Sprintf("%s %d%% %s %s", evKeyword(r, "TOP"), t.k, evKeyword(r, "BY"), t.meas.Text)
	} else {
		t.k = []int{1, 2, 3, 10, 25, 1000}[r.Intn(6)]
		text = fmt.Sprintf("%s %d %s %s", evKeyword(r, "TOP"), t.k, evKeyword(r, "BY"), t.meas.Text)
	}
	return &Expr{Text: text, Err: t.meas.Err, eval: func(c *evalCtx, key string) bool {
		set, ok := c.tops[t]
		if !ok {
			set = m.topSet(t, c.at)
			c.tops[t] = set
		}
		return set[key]
	}}
}

// ranked lists the live entities that match where (nil: all) and have the
// measure, highest first, ties by key.
func (m *EventModel) ranked(ms *Measure, at int64, where func(string) bool) []index.Ranked {
	var out []index.Ranked
	for k := range m.Ents {
		if where != nil && !where(k) {
			continue
		}
		if v, ok := m.value(ms, k, at); ok {
			out = append(out, index.Ranked{Key: k, Value: v})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Value != out[j].Value {
			return out[i].Value > out[j].Value
		}
		return out[i].Key < out[j].Key
	})
	return out
}

func (m *EventModel) topSet(t *topAtom, at int64) map[string]bool {
	rk := m.ranked(t.meas, at, nil)
	k := t.k
	if t.percent {
		k = (t.k*len(rk) + 99) / 100 // ceil(k·n/100), SPEC §4
	}
	set := map[string]bool{}
	for i := 0; i < k && i < len(rk); i++ {
		set[rk[i].Key] = true
	}
	return set
}

func (m *EventModel) randomSample(r *rand.Rand) *Expr {
	p := int64([]int{1, 10, 25, 50, 75, 99, 100}[r.Intn(7)])
	var seed int64
	text := fmt.Sprintf("%s %d%%", evKeyword(r, "SAMPLE"), p)
	if r.Intn(2) == 0 {
		seed = int64(r.Intn(20) - 5)
		text += fmt.Sprintf(" %s %d", evKeyword(r, "SEED"), seed)
	}
	return &Expr{Text: text, eval: func(_ *evalCtx, key string) bool { return index.InSample(key, p, seed) }}
}

func (m *EventModel) randomEventAtom(r *rand.Rand) *Expr {
	other := map[string]index.Kind{}
	for f, k := range m.Kinds {
		if k != index.KindEvent {
			other[f] = k
		}
	}
	switch n := r.Intn(20); {
	case n < 10:
		return m.randomEventPred(r)
	case n < 15 && len(other) > 0:
		text, fn := randomAtom(r, other)
		return &Expr{Text: text, eval: func(_ *evalCtx, key string) bool { return fn(m.Ents[key]) }}
	case n < 17:
		return m.randomTop(r)
	case n < 19:
		return m.randomSample(r)
	}
	return &Expr{Text: "ALL", eval: func(*evalCtx, string) bool { return true }}
}

// RandomEventExpr returns a random expression over the model's fields: event
// predicates, the other fields' predicates, TOP, SAMPLE and ALL under AND, OR,
// XOR and NOT.
func (m *EventModel) RandomEventExpr(r *rand.Rand, depth int) *Expr {
	if depth <= 0 || r.Intn(3) == 0 {
		return m.randomEventAtom(r)
	}
	a, b := m.RandomEventExpr(r, depth-1), m.RandomEventExpr(r, depth-1)
	bad := a.Err || b.Err
	switch r.Intn(5) {
	case 0:
		return &Expr{Text: "(" + a.Text + " " + evKeyword(r, "AND") + " " + b.Text + ")", Err: bad, eval: func(c *evalCtx, k string) bool { return a.eval(c, k) && b.eval(c, k) }}
	case 1:
		return &Expr{Text: "(" + a.Text + " " + evKeyword(r, "OR") + " " + b.Text + ")", Err: bad, eval: func(c *evalCtx, k string) bool { return a.eval(c, k) || b.eval(c, k) }}
	case 2:
		return &Expr{Text: "(" + a.Text + " " + evKeyword(r, "XOR") + " " + b.Text + ")", Err: bad, eval: func(c *evalCtx, k string) bool { return a.eval(c, k) != b.eval(c, k) }}
	case 3:
		return &Expr{Text: evKeyword(r, "NOT") + " " + a.Text, Err: a.Err, eval: func(c *evalCtx, k string) bool { return !a.eval(c, k) }}
	default:
		x := m.RandomEventExpr(r, depth-1)
		return &Expr{Text: "(" + a.Text + " AND " + b.Text + " AND NOT " + x.Text + ")", Err: bad || x.Err, eval: func(c *evalCtx, k string) bool {
			return a.eval(c, k) && b.eval(c, k) && !x.eval(c, k)
		}}
	}
}

func (m *EventModel) ctx(at time.Time) *evalCtx {
	return &evalCtx{at: m.atUnix(at), tops: map[*topAtom]map[string]bool{}}
}

// EventMembers is the sorted keys of the live entities matching x as of at
// (zero: the clock).
func (m *EventModel) EventMembers(x *Expr, at time.Time) []string {
	c := m.ctx(at)
	var out []string
	for k := range m.Ents {
		if x.eval(c, k) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// IsMember says whether key is a live entity matching x as of at.
func (m *EventModel) IsMember(x *Expr, key string, at time.Time) bool {
	return m.Ents[key] != nil && x.eval(m.ctx(at), key)
}

// whereFn is x as a key predicate (nil for no WHERE).
func (m *EventModel) whereFn(x *Expr, at time.Time) func(string) bool {
	if x == nil {
		return nil
	}
	c := m.ctx(at)
	return func(k string) bool { return x.eval(c, k) }
}

// Stats is QUERY.STATS of ms over the entities matching where (nil: all).
func (m *EventModel) Stats(ms *Measure, where *Expr, at time.Time) index.Stats {
	st := index.Stats{Sum: new(big.Int)}
	for i, x := range m.ranked(ms, m.atUnix(at), m.whereFn(where, at)) {
		st.Count++
		st.Sum.Add(st.Sum, big.NewInt(x.Value))
		if i == 0 {
			st.Max = x.Value
		}
		st.Min = x.Value
	}
	return st
}

// Top is QUERY.TOP k ms over the entities matching where (nil: all).
func (m *EventModel) Top(k int, ms *Measure, where *Expr, at time.Time) []index.Ranked {
	rk := m.ranked(ms, m.atUnix(at), m.whereFn(where, at))
	if len(rk) > k {
		rk = rk[:k]
	}
	return rk
}

// EventAmounts is what ENT.GET shows of key's EVENT field: the sum over the
// retention of every occurrence ("*") then of each value, by value; nil
// when there is none.
func (m *EventModel) EventAmounts(key, field string) []index.EventAmount {
	spec := m.spec(field)
	start := spec.RetStart(m.Now)
	var total int64
	per := map[string]int64{}
	for _, o := range m.Events[key] {
		if o.Field != field || spec.Bucket(o.At) < start {
			continue
		}
		total += o.Amount
		if o.Value != "" {
			per[o.Value] += o.Amount
		}
	}
	if total == 0 {
		return nil
	}
	out := []index.EventAmount{{Value: "*", Amount: uint64(total)}}
	var vals []string
	for v := range per {
		vals = append(vals, v)
	}
	sort.Strings(vals)
	for _, v := range vals {
		out = append(out, index.EventAmount{Value: v, Amount: uint64(per[v])})
	}
	return out
}

// EventEntities is the number of entities with an occurrence of field in
// its retention (FIELD.INFO's entities).
func (m *EventModel) EventEntities(field string) uint64 {
	var n uint64
	for k := range m.Ents {
		if m.EventAmounts(k, field) != nil {
			n++
		}
	}
	return n
}
