package index_test

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/segd-db/segd/index"
)

// TestSegmentMaintenanceModel checks segment maintenance against a brute-force
// model: random ENUM, TAGS and INT writes (several pairs of one field in one
// ENT.SET, ENT.UNSET, ENT.ADD and ENT.REM of several values, deletes, new and
// reused ids) on saved segments of every shape maintenance treats apart
// (ANDs of values, ranges and their negations, which run as programs; ORs and
// XORs, evaluated as plans; f:* and @references, read from the members).
// After every write each segment's members equal the model's evaluation of
// its expression, and the changes drained replay to them in version order;
// restarts from a snapshot change nothing. The package's tests also check,
// on every write, each membership maintenance computes without reading the
// members (the verify seam, verify_test.go).
func TestSegmentMaintenanceModel(t *testing.T) {
	for seed := int64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { segmentMaintenanceModel(t, seed) })
	}
}

type mEntity struct {
	enums map[string]string
	tags  map[string]map[string]bool
	ints  map[string]int64
}

type mExpr struct {
	text string
	eval func(key string, e *mEntity) bool
}

var (
	mEnumVals = map[string][]string{"c": nil, "t": {"bronze", "silver", "gold", "platinum"}}
	mTagVals  = map[string][]string{"g": nil, "o": {"email", "sms", "push", "post", "fax"}}
	mIntField = []string{"a", "b"}
)

func init() {
	for i := 0; i < 40; i++ {
		mEnumVals["c"] = append(mEnumVals["c"], fmt.Sprintf("c%d", i))
	}
	for i := 0; i < 70; i++ { // more than 32: tag words collide
		mTagVals["g"] = append(mTagVals["g"], fmt.Sprintf("i%d", i))
	}
}

func mIntValue(r *rand.Rand, f string) int64 {
	if f == "a" {
		return int64(r.Intn(60))
	}
	switch r.Intn(6) {
	case 0:
		return int64(r.Intn(1<<20)) << 20 // beyond the values array's 31 bits
	case 1:
		return -int64(r.Intn(1000))
	}
	return int64(r.Intn(2000))
}

func segmentMaintenanceModel(t *testing.T, seed int64) {
	r := rand.New(rand.NewSource(seed))
	now := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	newEngine := func() *index.Engine {
		e := index.New()
		e.SetClock(func() time.Time { return now })
		e.SetChangeLog(1 << 20)
		e.KeepChanges(true)
		return e
	}
	e := newEngine()
	mustApply := func(m *index.Mutation) {
		t.Helper()
		if _, err := e.Apply(m); err != nil {
			t.Fatalf("%+v: %v", m, err)
		}
	}
	for f := range mEnumVals {
		mustApply(&index.Mutation{Op: index.OpCreateField, Field: f, Kind: index.KindEnum})
	}
	for f := range mTagVals {
		mustApply(&index.Mutation{Op: index.OpCreateField, Field: f, Kind: index.KindTags})
	}
	for _, f := range mIntField {
		mustApply(&index.Mutation{Op: index.OpCreateField, Field: f, Kind: index.KindInt})
	}
	model := map[string]*mEntity{}
	segs := map[string]mExpr{}
	var names []string

	pick := func(vals []string) string { return vals[r.Intn(len(vals))] }
	sortedKeys := func(m map[string][]string) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	atom := func() mExpr {
		switch k := r.Intn(20); {
		case k < 5:
			f := pick(sortedKeys(mEnumVals))
			v := pick(mEnumVals[f])
			if r.Intn(8) == 0 {
				v = "never" // a value no one holds (yet)
			}
			return mExpr{f + ":" + v, func(_ string, e *mEntity) bool { return e.enums[f] == v }}
		case k < 9:
			f := pick(sortedKeys(mTagVals))
			v := pick(mTagVals[f])
			return mExpr{f + ":" + v, func(_ string, e *mEntity) bool { return e.tags[f][v] }}
		case k < 15:
			f := mIntField[r.Intn(2)]
			lo, hi := mIntValue(r, f), mIntValue(r, f)
			switch r.Intn(4) {
			case 0:
				return mExpr{fmt.Sprintf("%s:[%d TO %d]", f, lo, hi), func(_ string, e *mEntity) bool { v, ok := e.ints[f]; return ok && v >= lo && v <= hi }}
			case 1:
				return mExpr{fmt.Sprintf("%s:%d", f, lo), func(_ string, e *mEntity) bool { v, ok := e.ints[f]; return ok && v == lo }}
			}
			ops := []string{"=", "!=", "<", "<=", ">", ">="}
			op := pick(ops)
			cmp := map[string]func(a, b int64) bool{
				"=": func(a, b int64) bool { return a == b }, "!=": func(a, b int64) bool { return a != b },
				"<": func(a, b int64) bool { return a < b }, "<=": func(a, b int64) bool { return a <= b },
				">": func(a, b int64) bool { return a > b }, ">=": func(a, b int64) bool { return a >= b },
			}[op]
			return mExpr{fmt.Sprintf("%s %s %d", f, op, lo), func(_ string, e *mEntity) bool { v, ok := e.ints[f]; return ok && cmp(v, lo) }}
		case k < 16:
			f := pick(sortedKeys(mEnumVals))
			a, b := pick(mEnumVals[f]), pick(mEnumVals[f])
			return mExpr{f + ":(" + a + "," + b + ")", func(_ string, e *mEntity) bool { return e.enums[f] == a || e.enums[f] == b }}
		case k < 17:
			f := pick(sortedKeys(mTagVals))
			return mExpr{f + ":*", func(_ string, e *mEntity) bool { return len(e.tags[f]) > 0 }}
		case k < 18 && len(names) > 0:
			n := pick(names)
			return mExpr{"@" + n, func(k string, e *mEntity) bool { return segs[n].eval(k, e) }}
		}
		return mExpr{"ALL", func(string, *mEntity) bool { return true }}
	}
	newExpr := func() mExpr {
		switch r.Intn(8) {
		case 0:
			x := atom()
			return mExpr{"NOT " + x.text, func(k string, e *mEntity) bool { return !x.eval(k, e) }}
		case 1:
			a, b, c := atom(), atom(), atom()
			op := pick([]string{"OR", "XOR"})
			return mExpr{"(" + a.text + " " + op + " " + b.text + ") AND " + c.text, func(k string, e *mEntity) bool {
				x, y := a.eval(k, e), b.eval(k, e)
				if op == "OR" {
					return (x || y) && c.eval(k, e)
				}
				return x != y && c.eval(k, e)
			}}
		}
		// The common shape: an AND of terms, some negated.
		n := 1 + r.Intn(4)
		var texts []string
		var evals []func(string, *mEntity) bool
		var negs []bool
		for i := 0; i < n; i++ {
			x := atom()
			neg := i > 0 && r.Intn(4) == 0
			if neg {
				texts = append(texts, "NOT "+x.text)
			} else {
				texts = append(texts, x.text)
			}
			evals = append(evals, x.eval)
			negs = append(negs, neg)
		}
		return mExpr{strings.Join(texts, " AND "), func(k string, e *mEntity) bool {
			for i, f := range evals {
				if f(k, e) == negs[i] {
					return false
				}
			}
			return true
		}}
	}
	createSeg := func(name string, replace bool) {
		x := newExpr()
		if _, err := e.Apply(&index.Mutation{Op: index.OpSegmentCreate, Key: name, Values: []string{x.text}, Replace: replace}); err != nil {
			if replace && strings.Contains(err.Error(), "cycle") {
				return
			}
			t.Fatalf("SEGMENT.CREATE %s %q: %v", name, x.text, err)
		}
		if _, ok := segs[name]; !ok {
			names = append(names, name)
		}
		segs[name] = x
	}

	key := func() string { return fmt.Sprintf("k%d", r.Intn(150)) }
	ent := func(k string) *mEntity {
		if model[k] == nil {
			model[k] = &mEntity{enums: map[string]string{}, tags: map[string]map[string]bool{}, ints: map[string]int64{}}
		}
		return model[k]
	}
	write := func() {
		k := key()
		switch n := r.Intn(20); {
		case n < 9:
			m := &index.Mutation{Op: index.OpSet, Key: k}
			for i := 0; i <= r.Intn(4); i++ {
				if r.Intn(2) == 0 {
					f := pick(sortedKeys(mEnumVals))
					m.Pairs = append(m.Pairs, index.Pair{Field: f, Value: pick(mEnumVals[f])})
				} else {
					f := mIntField[r.Intn(2)]
					m.Pairs = append(m.Pairs, index.Pair{Field: f, Value: fmt.Sprint(mIntValue(r, f))})
				}
			}
			mustApply(m)
			x := ent(k)
			for _, p := range m.Pairs {
				if p.Field == "a" || p.Field == "b" {
					var v int64
					if _, err := fmt.Sscan(p.Value, &v); err != nil {
						t.Fatal(err)
					}
					x.ints[p.Field] = v
				} else {
					x.enums[p.Field] = p.Value
				}
			}
		case n < 14:
			f := pick(sortedKeys(mTagVals))
			op := index.OpAdd
			if n >= 12 {
				op = index.OpRem
			}
			m := &index.Mutation{Op: op, Key: k, Field: f}
			for i := 0; i <= r.Intn(3); i++ {
				m.Values = append(m.Values, pick(mTagVals[f]))
			}
			if op == index.OpRem && model[k] == nil {
				mustApply(m)
				return
			}
			mustApply(m)
			x := ent(k)
			for _, v := range m.Values {
				if x.tags[f] == nil {
					x.tags[f] = map[string]bool{}
				}
				if op == index.OpAdd {
					x.tags[f][v] = true
				} else {
					delete(x.tags[f], v)
				}
			}
		case n < 17:
			fields := []string{"c", "t", "g", "o", "a", "b"}
			m := &index.Mutation{Op: index.OpUnset, Key: k, Fields: []string{pick(fields)}}
			if r.Intn(2) == 0 {
				m.Fields = append(m.Fields, pick(fields))
			}
			mustApply(m)
			if x := model[k]; x != nil {
				for _, f := range m.Fields {
					delete(x.enums, f)
					delete(x.tags, f)
					delete(x.ints, f)
				}
			}
		default:
			m := &index.Mutation{Op: index.OpDel, Keys: []string{k}}
			if r.Intn(3) == 0 {
				m.Keys = append(m.Keys, key())
			}
			mustApply(m)
			for _, k := range m.Keys {
				delete(model, k)
			}
		}
	}

	type replica struct {
		members map[string]bool
		version uint64
	}
	reps := map[string]*replica{}
	follow := func() {
		for _, c := range e.DrainChanges() {
			rep := reps[c.Segment]
			if rep == nil {
				t.Fatalf("a change of %s before it was followed", c.Segment)
			}
			if c.Version != rep.version+1 {
				t.Fatalf("%s: version %d after %d", c.Segment, c.Version, rep.version)
			}
			if c.Enter == rep.members[c.Key] {
				t.Fatalf("%s v%d: %s enter=%v, replica membership %v", c.Segment, c.Version, c.Key, c.Enter, rep.members[c.Key])
			}
			rep.version = c.Version
			if c.Enter {
				rep.members[c.Key] = true
			} else {
				delete(rep.members, c.Key)
			}
		}
	}
	startFollowing := func(name string) {
		info, err := e.SegmentInfo(name)
		if err != nil {
			t.Fatal(err)
		}
		rep := &replica{members: map[string]bool{}, version: info.Version}
		for _, k := range segMembers(t, e, name) {
			rep.members[k] = true
		}
		reps[name] = rep
	}
	check := func(step int) {
		follow()
		for _, name := range names {
			x := segs[name]
			var want []string
			for k, ent := range model {
				if x.eval(k, ent) {
					want = append(want, k)
				}
			}
			sort.Strings(want)
			got := segMembers(t, e, name)
			sort.Strings(got)
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("step %d: segment %s (%s)\nhas   %v\nmodel %v", step, name, x.text, got, want)
			}
			if card, _ := e.SegmentCard(name); card != uint64(len(want)) {
				t.Fatalf("step %d: SEGMENT.CARD %s = %d, model %d", step, name, card, len(want))
			}
			rep := reps[name]
			if len(rep.members) != len(want) {
				t.Fatalf("step %d: %s: the changes replay to %d members, the model has %d", step, name, len(rep.members), len(want))
			}
			for _, k := range want {
				if !rep.members[k] {
					t.Fatalf("step %d: %s: the changes miss %s", step, name, k)
				}
			}
		}
	}

	for i := 0; i < 400; i++ { // a population first
		write()
	}
	for i := 0; i < 40; i++ {
		createSeg(fmt.Sprintf("s%d", i), false)
		follow()
		startFollowing(fmt.Sprintf("s%d", i))
	}
	check(-1)
	for step := 0; step < 1500; step++ {
		switch k := r.Intn(100); {
		case k < 96:
			write()
		case k < 98:
			// REPLACE with a new definition (references follow).
			createSeg(pick(names), true)
			follow()
		default:
			// Restart from a snapshot.
			follow()
			parts, err := e.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			e = newEngine()
			if err := e.LoadSnapshot(parts); err != nil {
				t.Fatal(err)
			}
		}
		check(step)
	}
}
