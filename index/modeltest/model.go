// Package modeltest is the brute-force model of the engine: plain Go maps
// and random writes and expressions, shared by the engine's tests and the
// server's wire tests.
package modeltest

import (
	"fmt"
	"math/rand"
	"sort"
	"strconv"

	"github.com/segd-db/segd/index"
)

// The brute-force model: plain Go maps that the engine must agree with.

type Entity struct {
	enum map[string]string
	ints map[string]int64
	tags map[string]map[string]bool
}

type Model struct {
	Ents  map[string]*Entity
	Kinds map[string]index.Kind
}

func New() *Model {
	return &Model{Ents: map[string]*Entity{}, Kinds: map[string]index.Kind{}}
}

func (m *Model) entity(key string) *Entity {
	e := m.Ents[key]
	if e == nil {
		e = &Entity{enum: map[string]string{}, ints: map[string]int64{}, tags: map[string]map[string]bool{}}
		m.Ents[key] = e
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

func RandomKey(r *rand.Rand) string {
	if r.Intn(50) == 0 {
		return string([]byte{'k', byte(r.Intn(256)), 0, byte(r.Intn(256))})
	}
	return fmt.Sprintf("u:%d", r.Intn(400))
}

// RandomWrite makes a random mutation and applies it to the model the way
// the engine should; the model is told only of mutations the engine accepted.
func RandomWrite(r *rand.Rand) *index.Mutation {
	key := RandomKey(r)
	switch n := r.Intn(20); {
	case n < 8:
		m := &index.Mutation{Op: index.OpSet, Key: key}
		for i := 0; i <= r.Intn(3); i++ {
			switch r.Intn(5) {
			case 0:
				m.Pairs = append(m.Pairs, index.Pair{Field: "country", Value: modelCountries[r.Intn(len(modelCountries))]})
			case 1:
				m.Pairs = append(m.Pairs, index.Pair{Field: "tier", Value: modelTiers[r.Intn(len(modelTiers))]})
			case 2:
				m.Pairs = append(m.Pairs, index.Pair{Field: "city", Value: modelCity(r)})
			case 3:
				m.Pairs = append(m.Pairs, index.Pair{Field: "age", Value: fmt.Sprint(modelInt(r, "age"))})
			case 4:
				m.Pairs = append(m.Pairs, index.Pair{Field: "score", Value: fmt.Sprint(modelInt(r, "score"))})
			}
		}
		if r.Intn(30) == 0 { // a bad pair makes the whole SET fail
			m.Pairs = append(m.Pairs, index.Pair{Field: "age", Value: "old"})
		}
		return m
	case n < 13:
		m := &index.Mutation{Op: index.OpAdd, Key: key, Field: "interests"}
		if r.Intn(10) == 0 {
			m.Field = "aud"
		}
		for i := 0; i <= r.Intn(3); i++ {
			m.Values = append(m.Values, modelInterests[r.Intn(len(modelInterests))])
		}
		return m
	case n < 16:
		m := &index.Mutation{Op: index.OpRem, Key: key, Field: "interests"}
		for i := 0; i <= r.Intn(2); i++ {
			m.Values = append(m.Values, modelInterests[r.Intn(len(modelInterests))])
		}
		return m
	case n < 18:
		fields := []string{"country", "age", "interests", "city", "score", "tier"}
		return &index.Mutation{Op: index.OpUnset, Key: key, Fields: []string{fields[r.Intn(len(fields))]}}
	default:
		return &index.Mutation{Op: index.OpDel, Keys: []string{key, RandomKey(r)}}
	}
}

func (m *Model) Apply(mu *index.Mutation) {
	switch mu.Op {
	case index.OpSet:
		e := m.entity(mu.Key)
		for _, p := range mu.Pairs {
			if _, ok := m.Kinds[p.Field]; !ok {
				if _, isInt := canonicalInt(p.Value); isInt {
					m.Kinds[p.Field] = index.KindInt
				} else {
					m.Kinds[p.Field] = index.KindEnum
				}
			}
			if m.Kinds[p.Field] == index.KindInt {
				n, _ := canonicalInt(p.Value)
				e.ints[p.Field] = n
			} else {
				e.enum[p.Field] = p.Value
			}
		}
	case index.OpAdd:
		m.Kinds[mu.Field] = index.KindTags
		e := m.entity(mu.Key)
		if e.tags[mu.Field] == nil {
			e.tags[mu.Field] = map[string]bool{}
		}
		for _, v := range mu.Values {
			e.tags[mu.Field][v] = true
		}
	case index.OpRem:
		if e := m.Ents[mu.Key]; e != nil {
			for _, v := range mu.Values {
				delete(e.tags[mu.Field], v)
			}
		}
	case index.OpUnset:
		if e := m.Ents[mu.Key]; e != nil {
			for _, f := range mu.Fields {
				delete(e.enum, f)
				delete(e.ints, f)
				delete(e.tags, f)
			}
		}
	case index.OpDel:
		for _, k := range mu.Keys {
			delete(m.Ents, k)
		}
	}
}

// RandomExpr returns an expression text and its meaning over model entities.
func RandomExpr(r *rand.Rand, kinds map[string]index.Kind, depth int) (string, func(*Entity) bool) {
	if depth <= 0 || r.Intn(3) == 0 {
		return randomAtom(r, kinds)
	}
	a, fa := RandomExpr(r, kinds, depth-1)
	b, fb := RandomExpr(r, kinds, depth-1)
	switch r.Intn(5) {
	case 0:
		return "(" + a + " AND " + b + ")", func(e *Entity) bool { return fa(e) && fb(e) }
	case 1:
		return "(" + a + " OR " + b + ")", func(e *Entity) bool { return fa(e) || fb(e) }
	case 2:
		return "(" + a + " XOR " + b + ")", func(e *Entity) bool { return fa(e) != fb(e) }
	case 3:
		return "NOT " + a, func(e *Entity) bool { return !fa(e) }
	default:
		c, fc := RandomExpr(r, kinds, depth-1)
		return "(" + a + " AND " + b + " AND NOT " + c + ")", func(e *Entity) bool { return fa(e) && fb(e) && !fc(e) }
	}
}

func randomAtom(r *rand.Rand, kinds map[string]index.Kind) (string, func(*Entity) bool) {
	var fields []string
	for f := range kinds {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	if len(fields) == 0 || r.Intn(15) == 0 {
		return "ALL", func(*Entity) bool { return true }
	}
	f := fields[r.Intn(len(fields))]
	switch kinds[f] {
	case index.KindInt:
		lo, hi := modelInt(r, f), modelInt(r, f)
		switch r.Intn(5) {
		case 0:
			return fmt.Sprintf("%s:[%d TO %d]", f, lo, hi), func(e *Entity) bool { v, ok := e.ints[f]; return ok && v >= lo && v <= hi }
		case 1:
			return f + ":*", func(e *Entity) bool { _, ok := e.ints[f]; return ok }
		case 2:
			return fmt.Sprintf("%s:%d", f, lo), func(e *Entity) bool { v, ok := e.ints[f]; return ok && v == lo }
		}
		ops := []string{"=", "!=", "<", "<=", ">", ">="}
		op := ops[r.Intn(len(ops))]
		cmp := map[string]func(a, b int64) bool{
			"=": func(a, b int64) bool { return a == b }, "!=": func(a, b int64) bool { return a != b },
			"<": func(a, b int64) bool { return a < b }, "<=": func(a, b int64) bool { return a <= b },
			">": func(a, b int64) bool { return a > b }, ">=": func(a, b int64) bool { return a >= b },
		}[op]
		return fmt.Sprintf("%s %s %d", f, op, lo), func(e *Entity) bool { v, ok := e.ints[f]; return ok && cmp(v, lo) }
	case index.KindTags:
		if r.Intn(6) == 0 {
			return f + ":*", func(e *Entity) bool { return len(e.tags[f]) > 0 }
		}
		a, b := modelInterests[r.Intn(len(modelInterests))], modelInterests[r.Intn(len(modelInterests))]
		if r.Intn(3) == 0 {
			return f + ":(" + a + "," + b + ")", func(e *Entity) bool { return e.tags[f][a] || e.tags[f][b] }
		}
		return f + ":" + a, func(e *Entity) bool { return e.tags[f][a] }
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
			return f + ":*", func(e *Entity) bool { _, ok := e.enum[f]; return ok }
		}
		a, b := vals[r.Intn(len(vals))], vals[r.Intn(len(vals))]
		if r.Intn(3) == 0 {
			return f + ":(" + a + "," + b + ")", func(e *Entity) bool { return e.enum[f] == a || e.enum[f] == b }
		}
		return f + ":" + a, func(e *Entity) bool { return e.enum[f] == a }
	}
}

func (m *Model) Members(fn func(*Entity) bool) []string {
	var out []string
	for k, e := range m.Ents {
		if fn(e) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// canonicalInt is the engine's rule for ENT.SET auto-typing: a canonical
// decimal int64 ("0", "-12"; not "+1", "007", "-0").
func canonicalInt(s string) (int64, bool) {
	if s == "" || s == "-0" || s[0] == '+' || (len(s) > 1 && s[0] == '0') || (len(s) > 2 && s[0] == '-' && s[1] == '0') {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// Args renders a mutation as the RESP command that performs it.
func Args(m *index.Mutation) []string {
	switch m.Op {
	case index.OpSet:
		out := []string{"ENT.SET", m.Key}
		for _, p := range m.Pairs {
			out = append(out, p.Field, p.Value)
		}
		return out
	case index.OpUnset:
		return append([]string{"ENT.UNSET", m.Key}, m.Fields...)
	case index.OpAdd:
		return append([]string{"ENT.ADD", m.Key, m.Field}, m.Values...)
	case index.OpRem:
		return append([]string{"ENT.REM", m.Key, m.Field}, m.Values...)
	case index.OpDel:
		return append([]string{"ENT.DEL"}, m.Keys...)
	}
	panic(fmt.Sprintf("modeltest: no command for op %d", m.Op))
}
