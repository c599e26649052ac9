package index

import (
	"bytes"
	"fmt"
	"math/rand"
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
		switch r.Intn(9) {
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
