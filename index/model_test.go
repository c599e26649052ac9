package index

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"
)

// The brute-force model: plain Go maps that the engine must agree with.

type modelEntity struct {
	enum map[string]string
	ints map[string]int64
	tags map[string]map[string]bool
}

type model struct {
	ents  map[string]*modelEntity
	kinds map[string]Kind
}

func newModel() *model {
	return &model{ents: map[string]*modelEntity{}, kinds: map[string]Kind{}}
}

func (m *model) entity(key string) *modelEntity {
	e := m.ents[key]
	if e == nil {
		e = &modelEntity{enum: map[string]string{}, ints: map[string]int64{}, tags: map[string]map[string]bool{}}
		m.ents[key] = e
	}
	return e
}

var (
	modelCountries = []string{"US", "FR", "DE", "PT", "BR", "JP", "IN", "NOT"}
	modelTiers     = []string{"gold", "silver", "bronze"}
	modelInterests = []string{"fitness", "books", "travel", "food", "tech", "music", "golf", "art", "wine", "yoga", "kids", "pets"}
)

func modelCity(r *rand.Rand) string { return fmt.Sprintf("city%d", r.Intn(40)) }

func modelInt(r *rand.Rand, field string) int64 {
	if field == "age" {
		return int64(r.Intn(100))
	}
	switch r.Intn(10) {
	case 0:
		return -int64(r.Intn(1 << 40))
	case 1:
		return int64(r.Int63())
	}
	return int64(r.Intn(2001) - 1000)
}

func randomKey(r *rand.Rand) string {
	if r.Intn(50) == 0 {
		return string([]byte{'k', byte(r.Intn(256)), 0, byte(r.Intn(256))})
	}
	return fmt.Sprintf("u:%d", r.Intn(400))
}

// randomWrite makes a random mutation and applies it to the model the way
// the engine should; the model is told only of mutations the engine accepted.
func randomWrite(r *rand.Rand) *Mutation {
	key := randomKey(r)
	switch n := r.Intn(20); {
	case n < 8:
		m := &Mutation{Op: OpSet, Key: key}
		for i := 0; i <= r.Intn(3); i++ {
			switch r.Intn(5) {
			case 0:
				m.Pairs = append(m.Pairs, Pair{"country", modelCountries[r.Intn(len(modelCountries))]})
			case 1:
				m.Pairs = append(m.Pairs, Pair{"tier", modelTiers[r.Intn(len(modelTiers))]})
			case 2:
				m.Pairs = append(m.Pairs, Pair{"city", modelCity(r)})
			case 3:
				m.Pairs = append(m.Pairs, Pair{"age", fmt.Sprint(modelInt(r, "age"))})
			case 4:
				m.Pairs = append(m.Pairs, Pair{"score", fmt.Sprint(modelInt(r, "score"))})
			}
		}
		if r.Intn(30) == 0 { // a bad pair makes the whole SET fail
			m.Pairs = append(m.Pairs, Pair{"age", "old"})
		}
		return m
	case n < 13:
		m := &Mutation{Op: OpAdd, Key: key, Field: "interests"}
		if r.Intn(10) == 0 {
			m.Field = "aud"
		}
		for i := 0; i <= r.Intn(3); i++ {
			m.Values = append(m.Values, modelInterests[r.Intn(len(modelInterests))])
		}
		return m
	case n < 16:
		m := &Mutation{Op: OpRem, Key: key, Field: "interests"}
		for i := 0; i <= r.Intn(2); i++ {
			m.Values = append(m.Values, modelInterests[r.Intn(len(modelInterests))])
		}
		return m
	case n < 18:
		fields := []string{"country", "age", "interests", "city", "score", "tier"}
		return &Mutation{Op: OpUnset, Key: key, Fields: []string{fields[r.Intn(len(fields))]}}
	default:
		return &Mutation{Op: OpDel, Keys: []string{key, randomKey(r)}}
	}
}

func (m *model) apply(mu *Mutation) {
	switch mu.Op {
	case OpSet:
		e := m.entity(mu.Key)
		for _, p := range mu.Pairs {
			if _, ok := m.kinds[p.Field]; !ok {
				if _, isInt := canonicalInt(p.Value); isInt {
					m.kinds[p.Field] = KindInt
				} else {
					m.kinds[p.Field] = KindEnum
				}
			}
			if m.kinds[p.Field] == KindInt {
				n, _ := canonicalInt(p.Value)
				e.ints[p.Field] = n
			} else {
				e.enum[p.Field] = p.Value
			}
		}
	case OpAdd:
		m.kinds[mu.Field] = KindTags
		e := m.entity(mu.Key)
		if e.tags[mu.Field] == nil {
			e.tags[mu.Field] = map[string]bool{}
		}
		for _, v := range mu.Values {
			e.tags[mu.Field][v] = true
		}
	case OpRem:
		if e := m.ents[mu.Key]; e != nil {
			for _, v := range mu.Values {
				delete(e.tags[mu.Field], v)
			}
		}
	case OpUnset:
		if e := m.ents[mu.Key]; e != nil {
			for _, f := range mu.Fields {
				delete(e.enum, f)
				delete(e.ints, f)
				delete(e.tags, f)
			}
		}
	case OpDel:
		for _, k := range mu.Keys {
			delete(m.ents, k)
		}
	}
}

// randomExpr returns an expression text and its meaning over model entities.
func randomExpr(r *rand.Rand, kinds map[string]Kind, depth int) (string, func(*modelEntity) bool) {
	if depth <= 0 || r.Intn(3) == 0 {
		return randomAtom(r, kinds)
	}
	a, fa := randomExpr(r, kinds, depth-1)
	b, fb := randomExpr(r, kinds, depth-1)
	switch r.Intn(5) {
	case 0:
		return "(" + a + " AND " + b + ")", func(e *modelEntity) bool { return fa(e) && fb(e) }
	case 1:
		return "(" + a + " OR " + b + ")", func(e *modelEntity) bool { return fa(e) || fb(e) }
	case 2:
		return "(" + a + " XOR " + b + ")", func(e *modelEntity) bool { return fa(e) != fb(e) }
	case 3:
		return "NOT " + a, func(e *modelEntity) bool { return !fa(e) }
	default:
		c, fc := randomExpr(r, kinds, depth-1)
		return "(" + a + " AND " + b + " AND NOT " + c + ")", func(e *modelEntity) bool { return fa(e) && fb(e) && !fc(e) }
	}
}

func randomAtom(r *rand.Rand, kinds map[string]Kind) (string, func(*modelEntity) bool) {
	var fields []string
	for f := range kinds {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	if len(fields) == 0 || r.Intn(15) == 0 {
		return "ALL", func(*modelEntity) bool { return true }
	}
	f := fields[r.Intn(len(fields))]
	switch kinds[f] {
	case KindInt:
		lo, hi := modelInt(r, f), modelInt(r, f)
		switch r.Intn(5) {
		case 0:
			return fmt.Sprintf("%s:[%d TO %d]", f, lo, hi), func(e *modelEntity) bool { v, ok := e.ints[f]; return ok && v >= lo && v <= hi }
		case 1:
			return f + ":*", func(e *modelEntity) bool { _, ok := e.ints[f]; return ok }
		case 2:
			return fmt.Sprintf("%s:%d", f, lo), func(e *modelEntity) bool { v, ok := e.ints[f]; return ok && v == lo }
		}
		ops := []string{"=", "!=", "<", "<=", ">", ">="}
		op := ops[r.Intn(len(ops))]
		cmp := map[string]func(a, b int64) bool{
			"=": func(a, b int64) bool { return a == b }, "!=": func(a, b int64) bool { return a != b },
			"<": func(a, b int64) bool { return a < b }, "<=": func(a, b int64) bool { return a <= b },
			">": func(a, b int64) bool { return a > b }, ">=": func(a, b int64) bool { return a >= b },
		}[op]
		return fmt.Sprintf("%s %s %d", f, op, lo), func(e *modelEntity) bool { v, ok := e.ints[f]; return ok && cmp(v, lo) }
	case KindTags:
		if r.Intn(6) == 0 {
			return f + ":*", func(e *modelEntity) bool { return len(e.tags[f]) > 0 }
		}
		a, b := modelInterests[r.Intn(len(modelInterests))], modelInterests[r.Intn(len(modelInterests))]
		if r.Intn(3) == 0 {
			return f + ":(" + a + "," + b + ")", func(e *modelEntity) bool { return e.tags[f][a] || e.tags[f][b] }
		}
		return f + ":" + a, func(e *modelEntity) bool { return e.tags[f][a] }
	default:
		var vals []string
		switch f {
		case "country":
			vals = modelCountries
		case "tier":
			vals = modelTiers
		default:
			vals = []string{modelCity(r), modelCity(r), "nowhere"}
		}
		if r.Intn(6) == 0 {
			return f + ":*", func(e *modelEntity) bool { _, ok := e.enum[f]; return ok }
		}
		a, b := vals[r.Intn(len(vals))], vals[r.Intn(len(vals))]
		if r.Intn(3) == 0 {
			return f + ":(" + a + "," + b + ")", func(e *modelEntity) bool { return e.enum[f] == a || e.enum[f] == b }
		}
		return f + ":" + a, func(e *modelEntity) bool { return e.enum[f] == a }
	}
}

func (m *model) members(fn func(*modelEntity) bool) []string {
	var out []string
	for k, e := range m.ents {
		if fn(e) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func allMembers(t *testing.T, e *Engine, expr string) []string {
	t.Helper()
	var out []string
	cursor := uint64(0)
	for {
		next, keys, err := e.Members(expr, cursor, 37, time.Time{})
		if err != nil {
			t.Fatalf("Members(%q): %v", expr, err)
		}
		out = append(out, keys...)
		if next == 0 {
			break
		}
		cursor = next
	}
	sort.Strings(out)
	return out
}

// checkAgainstModel compares the engine with the model on random expressions.
func checkAgainstModel(t *testing.T, r *rand.Rand, e *Engine, m *model, exprs int) {
	t.Helper()
	if got, want := e.Len(), uint64(len(m.ents)); got != want {
		t.Fatalf("Len = %d, model has %d", got, want)
	}
	for i := 0; i < exprs; i++ {
		text, fn := randomExpr(r, m.kinds, 3)
		want := m.members(fn)
		n, err := e.Count(text, time.Time{})
		if err != nil {
			t.Fatalf("Count(%q): %v", text, err)
		}
		if n != uint64(len(want)) {
			t.Fatalf("Count(%q) = %d, model says %d", text, n, len(want))
		}
		if got := allMembers(t, e, text); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("Members(%q) = %q, model says %q", text, got, want)
		}
		for j := 0; j < 5; j++ {
			key := randomKey(r)
			in, err := e.IsMember(text, key, time.Time{})
			if err != nil {
				t.Fatalf("IsMember: %v", err)
			}
			ent := m.ents[key]
			if wantIn := ent != nil && fn(ent); in != wantIn {
				t.Fatalf("IsMember(%q, %q) = %v, model says %v", text, key, in, wantIn)
			}
		}
	}
}

func TestModelRandom(t *testing.T) {
	seeds := 6
	if testing.Short() {
		seeds = 2
	}
	for seed := int64(1); seed <= int64(seeds); seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewSource(seed))
			e, m := New(), newModel()
			var log []*Mutation
			for step := 0; step < 3000; step++ {
				mu := randomWrite(r)
				if _, err := e.Apply(mu); err == nil {
					m.apply(mu)
					log = append(log, mu)
				} else if !strings.Contains(err.Error(), "not a decimal integer") && !strings.Contains(err.Error(), "unknown field") {
					t.Fatalf("Apply(%+v): %v", mu, err)
				}
				if step%500 == 499 {
					checkAgainstModel(t, r, e, m, 60)
				}
			}
			checkAgainstModel(t, r, e, m, 200)

			// A snapshot loaded into a new engine, and the replayed log, agree too.
			parts, err := e.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			restored := New()
			if err := restored.LoadSnapshot(parts); err != nil {
				t.Fatal(err)
			}
			checkAgainstModel(t, r, restored, m, 100)
			replayed := New()
			for _, mu := range log {
				enc := mu.AppendBinary(nil)
				dec, err := UnmarshalMutation(enc)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := replayed.Apply(dec); err != nil {
					t.Fatalf("replay %+v: %v", dec, err)
				}
			}
			checkAgainstModel(t, r, replayed, m, 100)
			// Writes after a restore assign ids exactly as the original does.
			for step := 0; step < 500; step++ {
				mu := randomWrite(r)
				_, err1 := e.Apply(mu)
				_, err2 := restored.Apply(mu)
				if (err1 == nil) != (err2 == nil) {
					t.Fatalf("original and restored disagree on %+v: %v vs %v", mu, err1, err2)
				}
				if err1 == nil {
					m.apply(mu)
				}
			}
			checkAgainstModel(t, r, restored, m, 100)
			checkAgainstModel(t, r, e, m, 50)
		})
	}
}
