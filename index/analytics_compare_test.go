package index

import (
	"fmt"
	"math/rand"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
)

// randomAnalyticsEngine is a population with an ENUM of many values (kept
// as ordinals), small ENUMs, a skewed TAGS field, and INT fields with
// negative values, plus saved segments of several sizes.
func randomAnalyticsEngine(t testing.TB, seed int64, n int) (*Engine, []string) {
	t.Helper()
	e := New()
	r := rand.New(rand.NewSource(seed))
	apply := func(m *Mutation) {
		if _, err := e.Apply(m); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("k%d", r.Intn(3*n)) // some keys repeat
		apply(&Mutation{Op: OpSet, Key: key, Pairs: []Pair{
			{Field: "city", Value: fmt.Sprintf("c%d", int(r.ExpFloat64()*30))},
			{Field: "tier", Value: []string{"a", "b", "c"}[r.Intn(3)]},
			{Field: "score", Value: fmt.Sprint(int(r.NormFloat64()*40) - 10)},
			{Field: "big", Value: fmt.Sprint(r.Int63n(1 << 40))},
		}})
		var tags []string
		for j := r.Intn(6); j > 0; j-- {
			tags = append(tags, fmt.Sprintf("t%d", int(r.ExpFloat64()*15)))
		}
		if len(tags) > 0 {
			apply(&Mutation{Op: OpAdd, Key: key, Field: "tags", Values: tags})
		}
		if r.Intn(50) == 0 {
			apply(&Mutation{Op: OpDel, Keys: []string{fmt.Sprintf("k%d", r.Intn(3*n))}})
		}
	}
	segs := map[string]string{
		"tiny":  "city:c0 AND tier:a AND tags:t3",
		"small": "tags:t1 AND tier:b",
		"mid":   "tier:a AND score >= 0",
		"large": "NOT tags:t0",
		"none":  "tier:zz",
	}
	var names []string
	for name, expr := range segs {
		apply(&Mutation{Op: OpSegmentCreate, Key: name, Values: []string{expr}})
		names = append(names, name)
	}
	sort.Strings(names)
	return e, names
}

// TestAnalyticsMatchOld: PROFILE and LOOKALIKE give exactly what the
// bitmap-only implementation gave, on one goroutine and on two.
func TestAnalyticsMatchOld(t *testing.T) {
	defer func(c, s uint64) { countParallelMin, scoreParallelMin = c, s }(countParallelMin, scoreParallelMin)
	for seed := int64(1); seed <= 3; seed++ {
		e, names := randomAnalyticsEngine(t, seed, 6000)
		for _, par := range []uint64{1 << 62, 0} {
			countParallelMin, scoreParallelMin = par, par
			for _, name := range names {
				for _, fields := range [][]string{nil, {"tags"}, {"score", "city"}} {
					got, err := e.Profile(name, 0, fields)
					want, err2 := e.ProfileOld(name, 0, fields)
					if tooSmall(e, name, fields, err) {
						continue
					}
					if err != nil || err2 != nil || !reflect.DeepEqual(got, want) {
						t.Fatalf("seed %d parallel %v: PROFILE %s %v:\n got %+v %v\nwant %+v %v", seed, par == 0, name, fields, got, err, want, err2)
					}
				}
				for _, count := range []int{1, 7, 100, 1000, 100000} {
					for _, where := range []string{"", "tier:c", "city:c1 OR city:c2"} {
						got, err := e.Lookalike(name, count, where)
						want, err2 := e.LookalikeOld(name, count, where)
						if tooSmall(e, name, nil, err) && len(want) == 0 {
							continue
						}
						if err != nil || err2 != nil || !reflect.DeepEqual(got, want) {
							t.Fatalf("seed %d parallel %v: LOOKALIKE %s COUNT %d WHERE %q:\n got %v %v\nwant %v %v", seed, par == 0, name, count, where, got, err, want, err2)
						}
					}
				}
			}
		}
	}
}

// tooSmall tells whether err is the explanation of a profile that the old
// implementation answered empty for a segment with members: where it gave
// an empty answer, the new one explains why.
func tooSmall(e *Engine, name string, fields []string, err error) bool {
	if err == nil || !strings.Contains(err.Error(), "a profile needs at least") {
		return false
	}
	old, _ := e.ProfileOld(name, 0, fields)
	return len(old) == 0 && !e.segs[name].members.IsEmpty()
}

// TestCountValuesBruteForce: every value's count, whichever way it was
// counted, equals the members holding it, found one member at a time.
func TestCountValuesBruteForce(t *testing.T) {
	defer func(c uint64) { countParallelMin = c }(countParallelMin)
	e, names := randomAnalyticsEngine(t, 11, 5000)
	fs, err := e.profileFields(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, par := range []uint64{1 << 62, 0} {
		countParallelMin = par
		for _, name := range names {
			members := e.segs[name].members
			vals, in := e.countValues(fs, members)
			for i, v := range vals {
				var want uint64
				members.Iterate(func(id uint32) bool {
					if v.bm != nil {
						if v.bm.Contains(id) {
							want++
						}
					} else if x, ok := v.f.bsi.Get(id); ok && x >= v.lo && x <= v.hi {
						want++
					}
					return true
				})
				if in[i] != want {
					t.Fatalf("%s %s=%s: counted %d, want %d", name, v.field, v.value, in[i], want)
				}
			}
		}
	}
}

// TestTopScoresBruteForce: the dense scores rank as a sort of every
// candidate by score, then key.
func TestTopScoresBruteForce(t *testing.T) {
	defer func(s uint64) { scoreParallelMin = s }(scoreParallelMin)
	e := New()
	r := rand.New(rand.NewSource(9))
	for i := 0; i < 3000; i++ {
		if _, err := e.Apply(&Mutation{Op: OpSet, Key: fmt.Sprintf("k%d", r.Intn(100000)), Pairs: []Pair{{Field: "x", Value: "1"}}}); err != nil {
			t.Fatal(err)
		}
	}
	live := e.live.ToArray()
	for round := 0; round < 60; round++ {
		scoreParallelMin = uint64(r.Intn(2)) << 62
		var terms []scoreTerm
		for j := 0; j < 1+r.Intn(6); j++ {
			bm := roaring.New()
			for _, id := range live {
				if r.Intn(3) == 0 {
					bm.Add(id)
				}
			}
			w := uint64(1 + r.Intn(3))
			if round%10 == 9 {
				w = 70000 // sums beyond 16 bits
			}
			terms = append(terms, scoreTerm{bm: bm, w: w})
		}
		candidates := roaring.New()
		for _, id := range live {
			if r.Intn(4) != 0 {
				candidates.Add(id)
			}
		}
		count := 1 + r.Intn(len(live))
		var all []Ranked
		for _, id := range candidates.ToArray() {
			var s int64
			for _, tm := range terms {
				if tm.bm.Contains(id) {
					s += int64(tm.w)
				}
			}
			if s > 0 {
				k, _ := e.dict.Key(id)
				all = append(all, Ranked{Key: k, Value: s})
			}
		}
		sortRanked(all)
		want := all[:min(count, len(all))]
		got := e.topScores(terms, candidates, count)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d count %d: got %v\nwant %v", round, count, got, want)
		}
	}
}
