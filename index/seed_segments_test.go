package index_test

import (
	"sort"
	"testing"
	"time"

	"github.com/segd-db/segd/index"
)

// The seed segments of the README, each checked on planted customers whose
// membership is known by construction.
func TestSeedSegments(t *testing.T) {
	now := time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	ago := func(d int) time.Time { return now.Add(-time.Duration(d) * day) }
	e := index.New()
	e.SetClock(func() time.Time { return now })
	track := func(key, event, value string, at time.Time, amount int64) {
		t.Helper()
		var vals []string
		if value != "" {
			vals = []string{value}
		}
		mustApply(t, e, &index.Mutation{Op: index.OpTrack, Key: key, Field: event, Values: vals, At: at, Amount: amount})
	}
	buy := func(key, category string, at time.Time, cents int64) {
		track(key, "purchase", category, at, 0)
		track(key, "spend", category, at, cents)
	}
	for _, k := range []string{"u:alice", "u:bob", "u:carol", "u:dan", "u:erin", "u:frank", "u:gina", "u:hugo"} {
		mustApply(t, e, &index.Mutation{Op: index.OpSet, Key: k, Pairs: []index.Pair{{Field: "country", Value: "PT"}}})
	}
	// alice: 3 shirts in 90 days (one on the window's first day).
	buy("u:alice", "shirts", ago(89), 2500)
	buy("u:alice", "shirts", ago(30), 2500)
	buy("u:alice", "shirts", ago(0), 2500)
	// bob: 3 shirts, but one is 90 days ago: outside IN 90d.
	buy("u:bob", "shirts", ago(90), 2500)
	buy("u:bob", "shirts", ago(10), 2500)
	buy("u:bob", "shirts", ago(11), 2500)
	// carol: added to cart 2 days ago and bought nothing this week.
	track("u:carol", "cart_add", "", ago(2), 0)
	buy("u:carol", "shoes", ago(8), 9000)
	// dan: added to cart and bought the same week: not an abandoner.
	track("u:dan", "cart_add", "", ago(3), 0)
	buy("u:dan", "shoes", ago(1), 9000)
	// erin: redeemed coupons on 3 of her 4 purchases this half year.
	for i, d := range []int{20, 50, 80, 120} {
		buy("u:erin", "apparel", ago(d), 4000)
		if i < 3 {
			track("u:erin", "coupon_redeem", "", ago(d), 0)
		}
	}
	// frank: bought last year, nothing in the last 90 days.
	buy("u:frank", "apparel", ago(200), 120000)
	buy("u:frank", "apparel", ago(300), 80000)
	// gina: one coupon redemption 11 months ago, the top apparel spender.
	track("u:gina", "coupon_redeem", "", ago(330), 0)
	buy("u:gina", "apparel", ago(100), 500000)
	// hugo: nothing at all.

	for _, c := range []struct {
		name, expr string
		want       []string
	}{
		{"frequent buyers", "purchase:shirts >= 3 IN 90d", []string{"u:alice"}},
		{"cart abandoners", "cart_add IN 7d AND NOT purchase IN 7d", []string{"u:carol"}},
		{"coupon responders", "coupon_redeem IN 365d", []string{"u:erin", "u:gina"}},
		{"discount lovers", "coupon_redeem >= 3 IN 180d AND purchase >= 3 IN 180d", []string{"u:erin"}},
		{"lapsed customers", "purchase IN 365d AND NOT purchase IN 90d", []string{"u:frank", "u:gina"}},
		{"highest spend in a category", "TOP 2 BY spend:apparel IN 365d", []string{"u:frank", "u:gina"}},
		{"never bought", "purchase = 0 EVER", []string{"u:hugo"}},
	} {
		_, keys, err := e.Members(c.expr, 0, 100, time.Time{})
		if err != nil {
			t.Errorf("%s (%s): %v", c.name, c.expr, err)
			continue
		}
		sort.Strings(keys)
		if len(keys) != len(c.want) {
			t.Errorf("%s (%s) = %v, want %v", c.name, c.expr, keys, c.want)
			continue
		}
		for i := range keys {
			if keys[i] != c.want[i] {
				t.Errorf("%s (%s) = %v, want %v", c.name, c.expr, keys, c.want)
				break
			}
		}
		for _, k := range c.want {
			if ok, err := e.IsMember(c.expr, k, time.Time{}); err != nil || !ok {
				t.Errorf("%s: IsMember(%s) = %v, %v", c.name, k, ok, err)
			}
		}
	}
	top, err := e.Top(1, "spend:apparel IN 365d", "", time.Time{})
	if err != nil || len(top) != 1 || top[0].Key != "u:gina" || top[0].Value != 500000 {
		t.Errorf("QUERY.TOP 1 spend:apparel = %v, %v", top, err)
	}
}
