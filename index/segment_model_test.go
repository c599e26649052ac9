package index_test

import (
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segd-db/segd/index"
	"github.com/segd-db/segd/index/modeltest"
)

// segReplica follows a segment through its changes only, as a subscriber
// would, and must always equal the segment's members.
type segReplica struct {
	members map[string]bool
	version uint64
}

// TestSegmentsModel: random writes, events and clock moves with many random
// saved segments (with @ references, time windows, TOP and SAMPLE). After
// every step each SEGMENT.CARD equals QUERY.COUNT of its expression,
// membership agrees for sampled keys, and the changes drained from the
// engine replay to the same membership with consecutive versions. Restarts
// from a snapshot plus a replay of the writes after it change nothing, and
// the replay reproduces the very same versions.
func TestSegmentsModel(t *testing.T) {
	seeds := int64(3)
	if n, err := strconv.Atoi(os.Getenv("SEGD_MODEL_SEEDS")); err == nil && n > 0 {
		seeds = int64(n) // a longer soak: SEGD_MODEL_SEEDS=200
	}
	for seed := int64(1); seed <= seeds; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { segmentsModel(t, seed) })
	}
}

func randomEventAtom(r *rand.Rand) string {
	field := []string{"purchase", "visit"}[r.Intn(2)]
	sel := []string{"", ":*", ":a", ":b", ":(a,c)"}[r.Intn(5)]
	cmp := []string{"", ">= 2", "< 2", "= 0", "!= 1", "> 3"}[r.Intn(6)]
	win := []string{"IN 1d", "IN 7d", "IN 20d", "EVER", ""}[r.Intn(5)]
	if field == "visit" {
		win = []string{"IN 1h", "IN 6h", "IN 48h", "EVER", ""}[r.Intn(5)]
	}
	return strings.TrimSpace(fmt.Sprintf("%s%s %s %s", field, sel, cmp, win))
}

func segmentsModel(t *testing.T, seed int64) {
	r := rand.New(rand.NewSource(seed))
	now := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	e := index.New()
	e.SetClock(clock)
	e.SetChangeLog(1 << 20)
	e.KeepChanges(true)
	apply := func(m *index.Mutation) (index.Result, error) { return e.Apply(m) }
	var log []*index.Mutation // accepted writes since the last snapshot
	var parts []index.Part
	do := func(m *index.Mutation) {
		if _, err := apply(m); err == nil {
			log = append(log, m)
		}
	}
	for _, m := range []*index.Mutation{
		{Op: index.OpCreateField, Field: "purchase", Kind: index.KindEvent, Retention: 30 * 24 * time.Hour},
		{Op: index.OpCreateField, Field: "visit", Kind: index.KindEvent, Granularity: time.Hour, Retention: 72 * time.Hour},
		{Op: index.OpCreateField, Field: "country", Kind: index.KindEnum},
		{Op: index.OpCreateField, Field: "tier", Kind: index.KindEnum},
		{Op: index.OpCreateField, Field: "city", Kind: index.KindEnum},
		{Op: index.OpCreateField, Field: "age", Kind: index.KindInt},
		{Op: index.OpCreateField, Field: "score", Kind: index.KindInt},
		{Op: index.OpCreateField, Field: "interests", Kind: index.KindTags},
		{Op: index.OpCreateField, Field: "aud", Kind: index.KindTags},
	} {
		do(m)
	}
	kinds := map[string]index.Kind{"country": index.KindEnum, "tier": index.KindEnum, "city": index.KindEnum,
		"age": index.KindInt, "score": index.KindInt, "interests": index.KindTags}
	replicas := map[string]*segReplica{}
	var names []string
	newSegment := func(i int) {
		name := fmt.Sprintf("s%d", i)
		var expr string
		switch k := r.Intn(10); {
		case k < 3:
			expr, _ = modeltest.RandomExpr(r, kinds, 2)
		case k < 6:
			a, _ := modeltest.RandomExpr(r, kinds, 1)
			expr = fmt.Sprintf("(%s) %s %s", a, []string{"AND", "OR", "AND NOT"}[r.Intn(3)], randomEventAtom(r))
		case k < 7:
			expr = randomEventAtom(r) + " AND NOT " + randomEventAtom(r)
		case k < 8 && len(names) > 0:
			expr = fmt.Sprintf("@%s %s %s", names[r.Intn(len(names))], []string{"AND", "OR", "AND NOT"}[r.Intn(3)], randomEventAtom(r))
		case k < 9 && len(names) > 1:
			expr = fmt.Sprintf("@%s OR NOT @%s", names[r.Intn(len(names))], names[r.Intn(len(names))])
		default:
			expr = []string{"TOP 5 BY purchase IN 7d", "TOP 10% BY score", "SAMPLE 30% SEED 3 AND country:*", "ALL"}[r.Intn(4)]
		}
		m := &index.Mutation{Op: index.OpSegmentCreate, Key: name, Values: []string{expr}}
		res, err := apply(m)
		if err != nil {
			t.Fatalf("SEGMENT.CREATE %s %q: %v", name, expr, err)
		}
		log = append(log, m)
		rep := &segReplica{members: map[string]bool{}}
		for _, k := range segMembers(t, e, name) {
			rep.members[k] = true
		}
		if uint64(len(rep.members)) != uint64(res.N) {
			t.Fatalf("SEGMENT.CREATE %s replied %d, has %d members", name, res.N, len(rep.members))
		}
		replicas[name] = rep
		names = append(names, name)
	}
	follow := func(changes []index.Change) {
		for _, c := range changes {
			rep := replicas[c.Segment]
			if c.Version <= rep.version {
				continue // a replay after a restart repeats what was seen
			}
			if c.Version != rep.version+1 {
				t.Fatalf("%s: version %d after %d", c.Segment, c.Version, rep.version)
			}
			if c.Enter == rep.members[c.Key] {
				t.Fatalf("%s v%d: %s enter=%v but replica membership is %v", c.Segment, c.Version, c.Key, c.Enter, rep.members[c.Key])
			}
			rep.version = c.Version
			if c.Enter {
				rep.members[c.Key] = true
			} else {
				delete(rep.members, c.Key)
			}
		}
	}
	seen := map[string]index.Change{} // segment/version -> change, to check replays repeat history
	curStep := 0
	seenStep := map[string]int{}
	remember := func(changes []index.Change) {
		for _, c := range changes {
			id := fmt.Sprintf("%s/%d", c.Segment, c.Version)
			if old, ok := seen[id]; ok && (old.Key != c.Key || old.Enter != c.Enter) {
				info, _ := e.SegmentInfo(c.Segment)
				t.Fatalf("replayed %s (%s) is %s enter=%v at %d, first time it was %s enter=%v at %d (step %d)", id, info.Expr, c.Key, c.Enter, c.Time, old.Key, old.Enter, old.Time, seenStep[id])
			}
			if _, ok := seen[id]; !ok {
				seenStep[id] = curStep
			}
			seen[id] = c
		}
	}
	check := func(step int) {
		if e.TickDue() { // as the server does before any read
			do(&index.Mutation{Op: index.OpTick})
		}
		changes := e.DrainChanges()
		remember(changes)
		follow(changes)
		for _, name := range names {
			info, err := e.SegmentInfo(name)
			if err != nil {
				t.Fatal(err)
			}
			want, err := e.Count(info.Expr, time.Time{})
			if err != nil {
				t.Fatalf("step %d: Count(%q): %v", step, info.Expr, err)
			}
			card, _ := e.SegmentCard(name)
			if card != want {
				for _, n := range info.Segments {
					ri, _ := e.SegmentInfo(n)
					t.Logf("%s = %q", n, ri.Expr)
				}
				if len(log) > 0 {
					t.Logf("last write %+v", log[len(log)-1])
				}
				got := segMembers(t, e, name)
				wantKeys := allMembers(t, e, info.Expr)
				sort.Strings(got)
				t.Logf("segment %v\nquery   %v", got, wantKeys)
				t.Fatalf("step %d: SEGMENT.CARD %s = %d, QUERY.COUNT %q = %d", step, name, card, info.Expr, want)
			}
			rep := replicas[name]
			if uint64(len(rep.members)) != card || rep.version != info.Version {
				_, ch, _ := e.SegmentChanges(name, 0, 0)
				t.Fatalf("step %d: %s (%s) replica has %d members at v%d, segment %d at v%d; log %+v", step, name, info.Expr, len(rep.members), rep.version, card, info.Version, ch)
			}
			for j := 0; j < 4; j++ {
				key := modeltest.RandomKey(r)
				a, _ := e.SegmentIsMember(name, key)
				b, err := e.IsMember(info.Expr, key, time.Time{})
				if err != nil || a != b || a != rep.members[key] {
					t.Fatalf("step %d: %s ISMEMBER %s = %v, QUERY.ISMEMBER %v (%v), replica %v", step, name, key, a, b, err, rep.members[key])
				}
				of := e.SegmentsOf(key)
				if in := sort.SearchStrings(of, name); (in < len(of) && of[in] == name) != a {
					t.Fatalf("step %d: SEGMENT.OF %s = %v disagrees with ISMEMBER %s = %v", step, key, of, name, a)
				}
			}
		}
	}
	for i := 0; i < 12; i++ {
		newSegment(i)
	}
	for step := 0; step < 700; step++ {
		k := r.Intn(40)
		curStep = step
		switch {
		case k < 22:
			do(modeltest.RandomWrite(r))
		case k < 32:
			m := &index.Mutation{Op: index.OpTrack, Key: modeltest.RandomKey(r), Field: []string{"purchase", "visit"}[r.Intn(2)],
				At: now.Add(-time.Duration(r.Intn(3*24*3600)) * time.Second), Amount: int64(1 + r.Intn(3))}
			if r.Intn(2) == 0 {
				m.Values = []string{[]string{"a", "b", "c"}[r.Intn(3)]}
			}
			do(m)
		case k < 36:
			now = now.Add(time.Duration(r.Intn(20*3600)) * time.Second)
			// The server's timer (or a reader) applies a tick through the
			// log when one is due.
			if e.TickDue() {
				do(&index.Mutation{Op: index.OpTick})
			}
			if r.Intn(4) == 0 {
				e.Expire()
			}
		case k < 37 && len(names) < 30:
			newSegment(len(names) + 100)
		case k < 38:
			// REPLACE one segment with another random definition.
			name := names[r.Intn(len(names))]
			expr := randomEventAtom(r)
			m := &index.Mutation{Op: index.OpSegmentCreate, Key: name, Values: []string{expr}, Replace: true}
			if _, err := apply(m); err != nil {
				t.Fatalf("REPLACE %s: %v", name, err)
			}
			log = append(log, m)
		default:
			// Restart: from the last snapshot and the writes after it.
			if parts == nil || r.Intn(2) == 0 {
				remember(e.DrainChanges())
				var err error
				if parts, err = e.Snapshot(); err != nil {
					t.Fatal(err)
				}
				log = nil
			}
			check(step)
			restored := index.New()
			restored.SetClock(clock)
			restored.SetChangeLog(1 << 20)
			restored.KeepChanges(true)
			if err := restored.LoadSnapshot(parts); err != nil {
				t.Fatal(err)
			}
			for _, m := range log {
				if _, err := restored.Replay(m); err != nil {
					t.Fatalf("replay %+v: %v", m, err)
				}
			}
			e = restored
		}
		check(step)
	}
}

func segMembers(t *testing.T, e *index.Engine, name string) []string {
	t.Helper()
	var out []string
	cursor := uint64(0)
	for {
		next, keys, err := e.SegmentMembers(name, cursor, 50)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, keys...)
		if next == 0 {
			return out
		}
		cursor = next
	}
}
