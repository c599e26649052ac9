package index_test

import (
	"fmt"
	"math/rand"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/segd-db/segd/index"
	"github.com/segd-db/segd/index/modeltest"
)

// The brute-force model test of EVENT fields: a simulated year of random
// writes (ENT.TRACK at random times within and outside the retention, with
// random amounts, mixed with the other fields' writes, ENT.UNSET, ENT.DEL and
// a clock that moves forward so that buckets expire), checked after every
// batch against modeltest.EventModel, which keeps every event, with random
// expressions, measures and AT times (bucket edges included); then the same
// after a snapshot round trip and after replaying the write log.

// eventMembers pages through Members with a random page size.
func eventMembers(t *testing.T, r *rand.Rand, e *index.Engine, expr string, at time.Time) []string {
	t.Helper()
	var out []string
	cursor, page := uint64(0), []int{17, 60, 250, 1000}[r.Intn(4)]
	for {
		next, keys, err := e.Members(expr, cursor, page, at)
		if err != nil {
			t.Fatalf("Members(%q): %v", expr, err)
		}
		out = append(out, keys...)
		if next == 0 {
			break
		}
		if next <= cursor {
			t.Fatalf("Members(%q): cursor went from %d to %d", expr, cursor, next)
		}
		cursor = next
	}
	sort.Strings(out)
	return out
}

func evShowAt(m *modeltest.EventModel, at time.Time) string {
	if at.IsZero() {
		return fmt.Sprintf("AT zero (clock %s = %d)", m.Clock().Format(time.RFC3339), m.Now)
	}
	return fmt.Sprintf("AT %s = %d (clock %s = %d)", at.Format(time.RFC3339), at.Unix(), m.Clock().Format(time.RFC3339), m.Now)
}

// checkEvents compares the engine with the model: entity count, fields,
// random expressions at random AT times (Count, paged Members, IsMember),
// QUERY.STATS and QUERY.TOP of random measures, ENT.GET and FIELD.INFO of
// event fields (of random keys, and of the recent keys).
func checkEvents(t *testing.T, r *rand.Rand, e *index.Engine, m *modeltest.EventModel, exprs int, recent []string) {
	t.Helper()
	if got, want := e.Len(), uint64(len(m.Ents)); got != want {
		t.Fatalf("Len = %d, model has %d", got, want)
	}
	fields := e.Fields()
	if len(fields) != len(m.Kinds) {
		t.Fatalf("engine fields %v, model %v", fields, m.Kinds)
	}
	for _, f := range fields {
		if k, ok := m.Kinds[f.Name]; !ok || k != f.Kind {
			t.Fatalf("engine field %s is %v, model has %v (%v)", f.Name, f.Kind, k, ok)
		}
	}
	for _, f := range m.EventFields() {
		info, err := e.FieldInfo(f)
		if err != nil {
			t.Fatal(err)
		}
		if want := m.EventEntities(f); info.Entities != want {
			t.Fatalf("FieldInfo(%s).Entities = %d, model says %d (clock %s)", f, info.Entities, want, m.Clock().Format(time.RFC3339))
		}
	}

	keys := make([]string, 0, len(m.Ents))
	for k := range m.Ents {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	someKey := func() string {
		if len(keys) > 0 && r.Intn(3) > 0 {
			return keys[r.Intn(len(keys))]
		}
		return modeltest.RandomKey(r)
	}

	for i := 0; i < exprs; i++ {
		x := m.RandomEventExpr(r, 3)
		for j := 0; j < 3; j++ {
			at := m.RandomAt(r)
			if x.Err {
				if _, err := e.Count(x.Text, at); err == nil {
					t.Fatalf("Count(%q) accepted a window that is not whole buckets", x.Text)
				}
				if _, err := e.IsMember(x.Text, someKey(), at); err == nil && len(keys) > 0 {
					t.Fatalf("IsMember(%q) accepted a window that is not whole buckets", x.Text)
				}
				break
			}
			want := m.EventMembers(x, at)
			n, err := e.Count(x.Text, at)
			if err != nil {
				t.Fatalf("Count(%q): %v", x.Text, err)
			}
			if n != uint64(len(want)) {
				t.Fatalf("Count(%q) %s = %d, model says %d", x.Text, evShowAt(m, at), n, len(want))
			}
			if got := eventMembers(t, r, e, x.Text, at); !slices.Equal(got, want) {
				t.Fatalf("Members(%q) %s = %q, model says %q", x.Text, evShowAt(m, at), got, want)
			}
			for k := 0; k < 4; k++ {
				key := someKey()
				if k == 0 && len(want) > 0 {
					key = want[r.Intn(len(want))]
				}
				in, err := e.IsMember(x.Text, key, at)
				if err != nil {
					t.Fatalf("IsMember(%q): %v", x.Text, err)
				}
				if wantIn := m.IsMember(x, key, at); in != wantIn {
					t.Fatalf("IsMember(%q, %q) %s = %v, model says %v", x.Text, key, evShowAt(m, at), in, wantIn)
				}
			}
		}
	}

	for i := 0; i < 1+exprs/4; i++ {
		ms := m.RandomMeasure(r)
		at := m.RandomAt(r)
		var where *modeltest.Expr
		whereText := ""
		if r.Intn(2) == 0 {
			if where = m.RandomEventExpr(r, 1); where.Err {
				where = nil
			} else {
				whereText = where.Text
			}
		}
		st, err := e.Stats(ms.Text, whereText, at)
		if ms.Err {
			if err == nil {
				t.Fatalf("Stats(%q) accepted a window that is not whole buckets", ms.Text)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Stats(%q, %q): %v", ms.Text, whereText, err)
		}
		want := m.Stats(ms, where, at)
		if st.Count != want.Count || st.Sum.Cmp(want.Sum) != 0 || (want.Count > 0 && (st.Min != want.Min || st.Max != want.Max)) {
			t.Fatalf("Stats(%q WHERE %q) %s = {%d %s %d %d}, model says {%d %s %d %d}", ms.Text, whereText, evShowAt(m, at),
				st.Count, st.Sum, st.Min, st.Max, want.Count, want.Sum, want.Min, want.Max)
		}
		k := []int{1, 2, 5, 17, 1000}[r.Intn(5)]
		top, err := e.Top(k, ms.Text, whereText, at)
		if err != nil {
			t.Fatalf("Top(%d, %q, %q): %v", k, ms.Text, whereText, err)
		}
		if wantTop := m.Top(k, ms, where, at); !slices.Equal(top, wantTop) {
			t.Fatalf("Top(%d, %q WHERE %q) %s = %v, model says %v", k, ms.Text, whereText, evShowAt(m, at), top, wantTop)
		}
	}

	evFields := m.EventFields()
	if len(recent) > 15 {
		recent = recent[len(recent)-15:]
	}
	for i := 0; i < 10+len(recent); i++ {
		key := someKey()
		if i >= 10 {
			key = recent[i-10]
		}
		vals, found, err := e.Get(key, evFields)
		if err != nil {
			t.Fatalf("Get(%q): %v", key, err)
		}
		if found != (m.Ents[key] != nil) {
			t.Fatalf("Get(%q) found = %v, model has it: %v", key, found, m.Ents[key] != nil)
		}
		got := map[string][]index.EventAmount{}
		for _, v := range vals {
			if v.Kind != index.KindEvent || len(v.Events) == 0 {
				t.Fatalf("Get(%q) field %s: %+v", key, v.Field, v)
			}
			got[v.Field] = v.Events
		}
		for _, f := range evFields {
			if want := m.EventAmounts(key, f); !slices.Equal(got[f], want) {
				t.Fatalf("Get(%q) %s = %v, model says %v (clock %s)", key, f, got[f], want, m.Clock().Format(time.RFC3339))
			}
		}
	}
}

// eventApplier applies mutations to engines that must all agree with the
// model on acceptance, and logs the accepted ones.
type eventApplier struct {
	t   *testing.T
	m   *modeltest.EventModel
	log []*index.Mutation
	// recent holds the keys of the accepted ENT.TRACKs since the caller last cleared it.
	recent []string
}

func (a *eventApplier) apply(mu *index.Mutation, engines ...*index.Engine) {
	a.t.Helper()
	wantErr, known := a.m.WantErr(mu)
	var accepted bool
	for i, e := range engines {
		before := e.Len()
		_, err := e.Apply(mu)
		switch {
		case known && wantErr && err == nil:
			a.t.Fatalf("engine %d accepted %+v (clock %s)", i, mu, a.m.Clock().Format(time.RFC3339))
		case known && !wantErr && err != nil:
			a.t.Fatalf("engine %d rejected %+v (clock %s): %v", i, mu, a.m.Clock().Format(time.RFC3339), err)
		case !known && err != nil && !strings.Contains(err.Error(), "not a decimal integer") && !strings.Contains(err.Error(), "unknown field"):
			a.t.Fatalf("engine %d: Apply(%+v): %v", i, mu, err)
		}
		if err != nil && e.Len() != before {
			a.t.Fatalf("engine %d: rejected %+v changed the entity count: %d -> %d", i, mu, before, e.Len())
		}
		if i == 0 {
			accepted = err == nil
		} else if accepted != (err == nil) {
			a.t.Fatalf("engines disagree on %+v: %v", mu, err)
		}
	}
	if accepted {
		a.m.Apply(mu)
		a.log = append(a.log, mu)
		if mu.Op == index.OpTrack {
			a.recent = append(a.recent, mu.Key)
		}
	}
}

// evAdvance moves the model's clock (which the engines read) forward by an
// hour to weeks, sometimes to the first or last second of a bucket.
func evAdvance(r *rand.Rand, m *modeltest.EventModel) {
	switch n := r.Intn(10); {
	case n < 3:
		m.Now += int64(1+r.Intn(23))*3600 + int64(r.Intn(3600))
	case n < 6:
		m.Now += int64(1+r.Intn(6))*86400 + int64(r.Intn(86400))
	case n < 8:
		m.Now += int64(1+r.Intn(3)) * 7 * 86400
	case n < 9:
		m.Now = (m.Now/86400+1+int64(r.Intn(3)))*86400 - evBeforeEdge(r)
	default:
		m.Now = (m.Now/3600+1+int64(r.Intn(30)))*3600 - evBeforeEdge(r)
	}
}

// evBeforeEdge is how far before a bucket edge the clock lands: on it, on the
// bucket's last second, or within MaxFutureSkew of its end (so that events
// tracked a little ahead fall in the next bucket).
func evBeforeEdge(r *rand.Rand) int64 {
	switch r.Intn(3) {
	case 0:
		return 0
	case 1:
		return 1
	}
	return 1 + r.Int63n(int64(index.MaxFutureSkew/time.Second))
}

func TestEventModelRandom(t *testing.T) {
	seeds := 3
	if testing.Short() {
		seeds = 1
	}
	for seed := int64(1); seed <= int64(seeds); seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewSource(seed))
			start := time.Date(2025, 2, 3, 13, 47, 11, 0, time.UTC)
			m := modeltest.NewEvents(start)
			e := index.New()
			e.SetClock(m.Clock)
			a := &eventApplier{t: t, m: m}
			for _, mu := range modeltest.EventSetup() {
				a.apply(mu, e)
			}
			end := start.Add(365 * 24 * time.Hour).Unix()
			batches := 0
			for ; m.Now < end; batches++ {
				for i, n := 0, 30+r.Intn(90); i < n; i++ {
					a.apply(m.RandomEventWrite(r), e)
				}
				if r.Intn(3) == 0 {
					e.Expire()
				}
				checkEvents(t, r, e, m, 3, a.recent)
				a.recent = a.recent[:0]
				evAdvance(r, m)
				if r.Intn(4) == 0 {
					e.Expire()
				}
			}
			checkEvents(t, r, e, m, 15, nil)

			// A snapshot loaded into a new engine, and the write log replayed
			// into another, agree with the model too.
			parts, err := e.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			restored := index.New()
			restored.SetClock(m.Clock)
			if err := restored.LoadSnapshot(parts); err != nil {
				t.Fatal(err)
			}
			checkEvents(t, r, restored, m, 10, nil)
			// The log replays at each mutation's own clock (Mutation.Now)...
			replayed := index.New()
			replayed.SetClock(m.Clock)
			// ... and, without it, at the final clock: events that have left
			// the retention since are skipped, their entities and fields kept.
			late := index.New()
			late.SetClock(m.Clock)
			for _, mu := range a.log {
				enc := mu.AppendBinary(nil)
				for _, x := range []*index.Engine{replayed, late} {
					dec, err := index.UnmarshalMutation(enc)
					if err != nil {
						t.Fatal(err)
					}
					if x == late {
						dec.Now = time.Time{}
					}
					if _, err := x.Replay(dec); err != nil {
						t.Fatalf("replay %+v: %v", dec, err)
					}
				}
			}
			checkEvents(t, r, replayed, m, 10, nil)
			checkEvents(t, r, late, m, 10, nil)

			// All four keep agreeing as writes and time go on: the restored and
			// replayed engines accept and reject what the original does.
			for batch := 0; batch < 3; batch++ {
				for i, n := 0, 40+r.Intn(80); i < n; i++ {
					a.apply(m.RandomEventWrite(r), e, restored, replayed, late)
				}
				if r.Intn(2) == 0 {
					restored.Expire()
				}
				for _, x := range []*index.Engine{e, restored, replayed, late} {
					checkEvents(t, r, x, m, 2, a.recent)
				}
				a.recent = a.recent[:0]
				evAdvance(r, m)
			}
			t.Logf("%d batches, %d accepted writes, %d entities", batches, len(a.log), len(m.Ents))
		})
	}
}
