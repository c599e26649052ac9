package index_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/segd-db/segd/index"
)

// TOP k% keeps ceil(k·n/100) entities (SPEC §4): the top 10% of 6 spenders
// is 1, not 0, for event and INT measures alike.
func TestTopPercentRoundsUp(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	e := index.New()
	e.SetClock(func() time.Time { return now })
	for i := 1; i <= 6; i++ {
		key := fmt.Sprintf("u:%d", i)
		mustApply(t, e, &index.Mutation{Op: index.OpTrack, Key: key, Field: "spend", Values: []string{"apparel"}, At: now.Add(-time.Hour), Amount: int64(100 * i)})
		mustApply(t, e, &index.Mutation{Op: index.OpSet, Key: key, Pairs: []index.Pair{{Field: "age", Value: fmt.Sprint(20 + i)}}})
	}
	for expr, want := range map[string]uint64{
		"TOP 10% BY spend:apparel IN 365d":  1,
		"TOP 1% BY spend:apparel IN 365d":   1,
		"TOP 34% BY spend:apparel IN 365d":  3, // 2.04 rounds up
		"TOP 100% BY spend:apparel IN 365d": 6,
		"TOP 10% BY age":                    1,
		"TOP 50% BY age":                    3,
	} {
		if n, err := e.Count(expr, time.Time{}); err != nil || n != want {
			t.Errorf("Count(%q) = %d, %v; want %d", expr, n, err, want)
		}
	}
	if ok, err := e.IsMember("TOP 10% BY spend:apparel IN 365d", "u:6", time.Time{}); err != nil || !ok {
		t.Errorf("the top 10%% of 6 should be u:6: %v, %v", ok, err)
	}
}
