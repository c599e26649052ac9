package index

import (
	"bytes"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"
)

// freezeWorkload applies n random writes of every kind to e: profile
// fields, tags, events now and in the past, deletes, new keys, segments.
func freezeWorkload(t *testing.T, e *Engine, r *rand.Rand, n int) {
	t.Helper()
	now := e.Now()
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("u%d", r.Intn(3000))
		var m Mutation
		switch r.Intn(10) {
		case 0, 1:
			m = Mutation{Op: OpSet, Key: key, Pairs: []Pair{{"country", fmt.Sprintf("c%d", r.Intn(20))}, {"age", fmt.Sprint(18 + r.Intn(60))}}}
		case 2:
			m = Mutation{Op: OpAdd, Key: key, Field: "tags", Values: []string{fmt.Sprintf("t%d", r.Intn(30))}}
		case 3:
			m = Mutation{Op: OpRem, Key: key, Field: "tags", Values: []string{fmt.Sprintf("t%d", r.Intn(30))}}
		case 4, 5:
			m = Mutation{Op: OpTrack, Key: key, Field: "purchase", Values: []string{fmt.Sprintf("cat%d", r.Intn(8))},
				At: now.Add(-time.Duration(r.Intn(200*24)) * time.Hour), Amount: int64(1 + r.Intn(40))}
		case 6:
			m = Mutation{Op: OpTrack, Key: key, Field: "visit", At: now}
		case 7:
			m = Mutation{Op: OpDel, Keys: []string{key}}
		case 8:
			m = Mutation{Op: OpUnset, Key: key, Fields: []string{"age"}}
		case 9:
			m = Mutation{Op: OpTrack, Key: key, Field: "click", Values: []string{fmt.Sprintf("p%d", r.Intn(4))},
				At: now.Add(-time.Duration(r.Intn(9*24)) * time.Hour)}
		}
		if _, err := e.Apply(&m); err != nil && m.Op != OpRem && m.Op != OpUnset {
			t.Fatalf("%+v: %v", m, err)
		}
	}
}

func snapshotBytes(t *testing.T, e *Engine) map[string][]byte {
	t.Helper()
	parts, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, p := range parts {
		out[p.Name] = p.Data
	}
	return out
}

// TestFreezeIsolation: a frozen image serialises to exactly the snapshot of
// the instant it was taken, however the engine changes meanwhile, even
// while it changes (under -race, concurrently), and the engine's own data
// is not disturbed by the containers it shares with the image.
func TestFreezeIsolation(t *testing.T) {
	clock := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	e := New()
	e.SetClock(func() time.Time { return clock })
	r := rand.New(rand.NewSource(1))
	freezeWorkload(t, e, r, 6000)
	for _, s := range []string{"vip:country:c1 AND age >= 40", "buyers:purchase:cat1 >= 2 IN 90d"} {
		name, expr, _ := strings.Cut(s, ":")
		if _, err := e.Apply(&Mutation{Op: OpSegmentCreate, Key: name, Values: []string{expr}}); err != nil {
			t.Fatal(err)
		}
	}

	for round := 0; round < 3; round++ {
		want := snapshotBytes(t, e)
		fz := e.Freeze()
		// A twin engine gets the same writes without ever being frozen.
		twin := New()
		twin.SetClock(func() time.Time { return clock })
		loadParts(t, twin, want)

		done := make(chan map[string][]byte)
		go func() {
			got := map[string][]byte{}
			err := fz.Parts(func(p Part) error { got[p.Name] = p.Data; return nil })
			if err != nil {
				t.Error(err)
			}
			done <- got
		}()
		seed := r.Int63()
		freezeWorkload(t, e, rand.New(rand.NewSource(seed)), 3000)
		got := <-done
		if len(got) != len(want) {
			t.Fatalf("round %d: %d parts, want %d", round, len(got), len(want))
		}
		for name, w := range want {
			if !bytes.Equal(got[name], w) {
				t.Fatalf("round %d: part %s differs from the snapshot at the freeze (%d bytes, want %d)", round, name, len(got[name]), len(w))
			}
		}
		freezeWorkload(t, twin, rand.New(rand.NewSource(seed)), 3000)
		now, ref := snapshotBytes(t, e), snapshotBytes(t, twin)
		for name, w := range ref {
			if !bytes.Equal(now[name], w) {
				t.Fatalf("round %d: after the writes, part %s differs from an engine that was never frozen", round, name)
			}
		}
	}
}

func loadParts(t *testing.T, e *Engine, m map[string][]byte) {
	t.Helper()
	var parts []Part
	for name, data := range m {
		parts = append(parts, Part{Name: name, Data: bytes.Clone(data)})
	}
	if err := e.LoadSnapshot(parts); err != nil {
		t.Fatal(err)
	}
}

// TestFreezeChanges: snapshots written with FreezeChanges, carrying the
// parts marked Same over from the previous one, always equal a full
// snapshot of the engine, through writes of every kind, expiry, dropped and
// recreated fields, FLUSHALL, reloads and lost snapshots; and unchanged
// parts are indeed carried over.
func TestFreezeChanges(t *testing.T) {
	clock := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	e := New()
	e.SetClock(now)
	r := rand.New(rand.NewSource(7))
	createClick := func() {
		_, _ = e.Apply(&Mutation{Op: OpCreateField, Field: "click", Kind: KindEvent, Granularity: time.Hour, Retention: 10 * 24 * time.Hour})
	}
	createClick()
	store := map[string][]byte{}
	write := func(fz *Frozen) (written []string) {
		next := map[string][]byte{}
		err := fz.Parts(func(p Part) error {
			if p.Same {
				d, ok := store[p.Name]
				if !ok {
					t.Fatalf("part %s is marked Same but the previous snapshot has no such part", p.Name)
				}
				next[p.Name] = d
				return nil
			}
			next[p.Name] = p.Data
			written = append(written, p.Name)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		store = next
		return written
	}
	check := func(step string) {
		t.Helper()
		full := snapshotBytes(t, e)
		for name, data := range full {
			if got, ok := store[name]; !ok || !bytes.Equal(got, data) {
				t.Fatalf("%s: part %s of the incremental snapshot differs from a full one (%d bytes, want %d)", step, name, len(got), len(data))
			}
		}
		if len(store) != len(full) {
			t.Fatalf("%s: %d parts, a full snapshot has %d", step, len(store), len(full))
		}
	}
	write(e.FreezeChanges())
	check("empty")
	for round := 0; round < 60; round++ {
		step := ""
		switch k := r.Intn(10); {
		case k < 5:
			n := 1 + r.Intn(300)
			freezeWorkload(t, e, r, n)
			step = fmt.Sprintf("%d writes", n)
		case k == 5:
			clock = clock.Add(time.Duration(r.Intn(6*24)) * time.Hour)
			e.Expire()
			step = "clock moved, expired"
		case k == 6:
			_, _ = e.Apply(&Mutation{Op: OpDropField, Field: "tags"})
			_, _ = e.Apply(&Mutation{Op: OpDropField, Field: "visit"})
			step = "fields dropped"
		case k == 7 && r.Intn(3) == 0:
			_, _ = e.Apply(&Mutation{Op: OpFlush})
			createClick()
			step = "flushed"
		case k == 8:
			// Restart: a new engine loaded from the store goes on.
			var parts []Part
			for name, data := range store {
				parts = append(parts, Part{Name: name, Data: bytes.Clone(data)})
			}
			e = New()
			e.SetClock(now)
			if err := e.LoadSnapshot(parts); err != nil {
				t.Fatal(err)
			}
			step = "reloaded"
		case k == 9:
			// A snapshot that was never written.
			freezeWorkload(t, e, r, 50)
			e.FreezeChanges()
			e.ChangesLost()
			freezeWorkload(t, e, r, 20)
			step = "snapshot lost"
		default:
			step = "idle"
		}
		written := write(e.FreezeChanges())
		check(fmt.Sprintf("round %d (%s)", round, step))
		if step == "idle" || step == "reloaded" {
			if !slices.Equal(written, []string{"schema", "segments"}) {
				t.Fatalf("round %d (%s): wrote %v, want only the schema and segments", round, step, written)
			}
		}
	}
	// Live events rewrite only the newest block of their field.
	freezeWorkload(t, e, r, 200)
	for i := 0; i < 50; i++ {
		if _, err := e.Apply(&Mutation{Op: OpSet, Key: fmt.Sprintf("u%d", i), Pairs: []Pair{{"country", "c1"}}}); err != nil {
			t.Fatal(err)
		}
	}
	write(e.FreezeChanges())
	for i := 0; i < 50; i++ {
		if _, err := e.Apply(&Mutation{Op: OpTrack, Key: fmt.Sprintf("u%d", i), Field: "purchase", Values: []string{"cat1"}}); err != nil {
			t.Fatal(err)
		}
	}
	b := e.fields["purchase"].ev.spec.blockOf(0, e.fields["purchase"].ev.spec.bucket(clock.Unix()))
	written := write(e.FreezeChanges())
	want := []string{"f:purchase", blockPartName("purchase", b), "schema", "segments"}
	if !slices.Equal(written, want) {
		t.Fatalf("after live events wrote %v, want %v", written, want)
	}
	check("live events")
}
