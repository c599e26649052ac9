package index_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/segd-db/segd/index"
)

// TestSegmentHistory: the cardinality is sampled on change, one point per
// minute while recent, down-sampled to hours and days as points age, and
// kept across a snapshot.
func TestSegmentHistory(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := index.New()
	e.SetClock(func() time.Time { return now })
	mustApply(t, e, &index.Mutation{Op: index.OpCreateField, Field: "tier", Kind: index.KindEnum})
	mustApply(t, e, &index.Mutation{Op: index.OpSegmentCreate, Key: "vip", Values: []string{"tier:gold"}})
	// Three days of writes, one every 10 minutes: 432 changes.
	n := 0
	for i := 0; i < 432; i++ {
		now = now.Add(10 * time.Minute)
		mustApply(t, e, &index.Mutation{Op: index.OpSet, Key: fmt.Sprintf("u:%d", i), Pairs: []index.Pair{{Field: "tier", Value: "gold"}}})
		n++
	}
	// Two writes in the same minute make one point.
	now = now.Add(time.Minute)
	mustApply(t, e, &index.Mutation{Op: index.OpSet, Key: "x:1", Pairs: []index.Pair{{Field: "tier", Value: "gold"}}})
	mustApply(t, e, &index.Mutation{Op: index.OpSet, Key: "x:2", Pairs: []index.Pair{{Field: "tier", Value: "gold"}}})
	// A write that changes no membership adds no point.
	mustApply(t, e, &index.Mutation{Op: index.OpSet, Key: "x:3", Pairs: []index.Pair{{Field: "tier", Value: "silver"}}})
	hist, err := e.SegmentHistory("vip", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	last := hist[len(hist)-1]
	if last.Cardinality != 434 || last.Time != now.Unix() {
		t.Fatalf("last point %+v, want 434 at %d", last, now.Unix())
	}
	if start := now.Add(-3 * 24 * time.Hour).Unix(); hist[0].Time < start || hist[0].Time > start+86400 {
		t.Errorf("first point %+v, want one in the first day", hist[0])
	}
	for i := 1; i < len(hist); i++ {
		p, q := hist[i-1], hist[i]
		if q.Time <= p.Time || q.Cardinality < p.Cardinality {
			t.Fatalf("points %d and %d out of order: %+v %+v", i-1, i, p, q)
		}
		age := now.Unix() - q.Time
		if age >= 86400+3600 && q.Time/3600 == p.Time/3600 {
			t.Errorf("two points in one hour older than a day: %+v %+v", p, q)
		}
	}
	// The last day keeps every 10-minute point; the two days before, one an hour.
	if len(hist) < 144 || len(hist) > 144+48+4 {
		t.Errorf("%d points, want about 144 + 48", len(hist))
	}
	recent, _ := e.SegmentHistory("vip", now.Add(-time.Hour))
	if len(recent) != 7 {
		t.Errorf("SINCE an hour ago: %d points, want 7: %+v", len(recent), recent)
	}
	parts, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r := index.New()
	r.SetClock(func() time.Time { return now })
	if err := r.LoadSnapshot(parts); err != nil {
		t.Fatal(err)
	}
	again, _ := r.SegmentHistory("vip", time.Time{})
	if fmt.Sprint(again) != fmt.Sprint(hist) {
		t.Errorf("history after a snapshot differs")
	}
	if _, err := e.SegmentHistory("nosuch", time.Time{}); err == nil {
		t.Errorf("unknown segment accepted")
	}
}
