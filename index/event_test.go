package index_test

import (
	"testing"
	"time"

	"github.com/segd-db/segd/index"
)

func mustApply(t *testing.T, e *index.Engine, m *index.Mutation) index.Result {
	t.Helper()
	r, err := e.Apply(m)
	if err != nil {
		t.Fatalf("%+v: %v", m, err)
	}
	return r
}

func TestEventBasics(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	e := index.New()
	e.SetClock(func() time.Time { return now })
	track := func(key, field, value string, at time.Time, amount int64) {
		var vals []string
		if value != "" {
			vals = []string{value}
		}
		mustApply(t, e, &index.Mutation{Op: index.OpTrack, Key: key, Field: field, Values: vals, At: at, Amount: amount})
	}
	day := 24 * time.Hour
	for i := 0; i < 3; i++ {
		track("u:1", "purchase", "shirts", now.Add(-time.Duration(i*20)*day), 0)
	}
	track("u:2", "purchase", "shirts", now.Add(-100*day), 0)
	track("u:2", "purchase", "shoes", now, 5)
	track("u:3", "cart_add", "", now.Add(-2*day), 0)
	track("u:1", "cart_add", "", now.Add(-3*day), 0)
	track("u:4", "spend", "apparel", now.Add(-10*day), 12000)
	track("u:1", "spend", "apparel", now.Add(-300*day), 5000)
	track("u:1", "spend", "apparel", now.Add(-30*day), 100)
	for expr, want := range map[string]uint64{
		"purchase:shirts >= 3 IN 90d":             1,
		"purchase:shirts >= 1 IN 90d":             1,
		"purchase:shirts EVER":                    2,
		"purchase:shirts < 3 IN 90d":              3,
		"purchase:shirts = 0 IN 90d":              3,
		"purchase >= 5 IN 1d":                     1,
		"purchase:(shirts,shoes) >= 2 IN 1d":      1,
		"purchase:(shirts,shoes,shoes) = 5 IN 1d": 1,
		"cart_add IN 7d AND NOT purchase IN 7d":   1,
		"cart_add IN 3d":                          1,
		"cart_add IN 4d":                          2,
		"spend:apparel >= 5000 IN 365d":           2,
		"TOP 1 BY spend:apparel IN 365d":          1,
		"TOP 50% BY spend:apparel IN 365d":        1,
		"SAMPLE 100%":                             4,
	} {
		n, err := e.Count(expr, time.Time{})
		if err != nil || n != want {
			t.Errorf("Count(%q) = %d, %v; want %d", expr, n, err, want)
		}
	}
	ok, err := e.IsMember("TOP 1 BY spend:apparel IN 365d", "u:4", time.Time{})
	if err != nil || !ok {
		t.Errorf("TOP 1 membership of u:4 = %v, %v", ok, err)
	}
	// AT moves the window back.
	n, err := e.Count("purchase:shirts >= 3 IN 90d", now.Add(-30*day))
	if err != nil || n != 0 {
		t.Errorf("AT -30d: %d %v", n, err)
	}
	st, err := e.Stats("spend:apparel IN 365d", "", time.Time{})
	if err != nil || st.Count != 2 || st.Sum.Int64() != 17100 || st.Max != 12000 || st.Min != 5100 {
		t.Errorf("stats %+v %v", st, err)
	}
	vals, _, err := e.Get("u:1", []string{"purchase"})
	if err != nil || len(vals) != 1 || len(vals[0].Events) != 2 || vals[0].Events[0].Amount != 3 {
		t.Errorf("get %+v %v", vals, err)
	}
	// Errors.
	for _, m := range []*index.Mutation{
		{Op: index.OpTrack, Key: "u:1", Field: "purchase", At: now.Add(-401 * day)},
		{Op: index.OpTrack, Key: "u:1", Field: "purchase", At: now.Add(time.Hour)},
		{Op: index.OpTrack, Key: "u:1", Field: "purchase", Amount: -1},
		{Op: index.OpTrack, Key: "u:1", Field: "purchase", Values: []string{"*"}},
	} {
		if _, err := e.Apply(m); err == nil {
			t.Errorf("%+v accepted", m)
		}
	}
	if _, err := e.Count("purchase IN 36h", time.Time{}); err == nil {
		t.Errorf("36h window accepted on a DAY field")
	}
	// Snapshot round trip.
	parts, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r := index.New()
	r.SetClock(func() time.Time { return now })
	if err := r.LoadSnapshot(parts); err != nil {
		t.Fatal(err)
	}
	for _, expr := range []string{"purchase:shirts >= 3 IN 90d", "spend:apparel >= 5000 IN 365d", "SAMPLE 30% SEED 4", "cart_add IN 4d"} {
		a, _ := e.Count(expr, time.Time{})
		b, err := r.Count(expr, time.Time{})
		if err != nil || a != b {
			t.Errorf("%s after snapshot: %d vs %d (%v)", expr, a, b, err)
		}
	}
}
