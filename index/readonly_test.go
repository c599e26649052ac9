package index_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/segd-db/segd/index"
)

// TestQueriesLeaveDataAlone: queries never modify stored bitmaps, on data
// dense enough for roaring to mix array and bitmap containers (its in-place
// Xor of an array container with a bitmap container writes into the
// argument: RoaringBitmap/roaring#564).
func TestQueriesLeaveDataAlone(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	e := index.New()
	e.SetClock(func() time.Time { return now })
	var recs []index.EventRecord
	for i := 0; i < 150000; i++ {
		key := fmt.Sprintf("u:%d", i)
		pairs := []index.Pair{{Field: "gender", Value: []string{"F", "M"}[i%2]}}
		if i%37 == 0 {
			pairs = append(pairs, index.Pair{Field: "rare", Value: "x"})
		}
		mustApply(t, e, &index.Mutation{Op: index.OpSet, Key: key, Pairs: pairs})
		recs = append(recs, index.EventRecord{Key: key, Value: "apparel", At: now.Add(-time.Duration(i%90) * 24 * time.Hour), Amount: int64(1 + i%5000)})
		if i%3 == 0 {
			recs = append(recs, index.EventRecord{Key: key, Value: "apparel", At: now.Add(-time.Duration(i%60) * 24 * time.Hour), Amount: int64(1 + i%7)})
		}
	}
	if _, err := e.TrackMany("spend", recs); err != nil {
		t.Fatal(err)
	}
	snap := func() string {
		parts, err := e.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		out := ""
		for _, p := range parts {
			out += fmt.Sprintf("%s:%x;", p.Name, p.Data)
		}
		return out
	}
	before := snap()
	counts := map[string]uint64{}
	for round := 0; round < 3; round++ {
		for _, expr := range []string{"rare:x XOR gender:F", "gender:F XOR rare:x XOR gender:M", "spend:apparel >= 3000 IN 90d", "TOP 10% BY spend:apparel IN 365d", "gender:F"} {
			n, err := e.Count(expr, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if round > 0 && n != counts[expr] {
				t.Errorf("%s: %d, then %d", expr, counts[expr], n)
			}
			counts[expr] = n
		}
		if _, err := e.Stats("spend:apparel IN 90d", "gender:M", time.Time{}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Top(5, "spend:apparel IN 30d", "", time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if snap() != before {
		t.Errorf("queries changed the stored data")
	}
}
