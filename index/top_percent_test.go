package index_test

import (
	"fmt"
	"strings"
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

// A segment too small to profile says so instead of answering an empty
// array (the minimum support: 1% of the segment, at least 10 members).
func TestProfileOfSmallSegmentExplains(t *testing.T) {
	e := index.New()
	for i := range 30 {
		country := "PT"
		if i%3 == 0 {
			country = "ES"
		}
		mustApply(t, e, &index.Mutation{Op: index.OpSet, Key: fmt.Sprintf("u:%d", i), Pairs: []index.Pair{{Field: "country", Value: country}, {Field: "n", Value: fmt.Sprint(i)}}})
	}
	mustApply(t, e, &index.Mutation{Op: index.OpSegmentCreate, Key: "few", Values: []string{"n < 10"}})
	mustApply(t, e, &index.Mutation{Op: index.OpSegmentCreate, Key: "empty", Values: []string{"n > 100"}})
	const want = "segment 'few' has 10 members and no value is held by 10 of them"
	if _, err := e.Profile("few", 0, nil); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("PROFILE few: %v, want an error with %q", err, want)
	}
	if _, err := e.Lookalike("few", 5, ""); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("LOOKALIKE few: %v, want an error with %q", err, want)
	}
	if p, err := e.Profile("empty", 0, nil); err != nil || len(p) != 0 {
		t.Errorf("PROFILE of an empty segment: %v, %v; want an empty answer", p, err)
	}
}

// A value nobody holds that differs only in case from a held one is named
// in QUERY.EXPLAIN's label and in Hints.
func TestCaseOnlyValueHint(t *testing.T) {
	e := index.New()
	mustApply(t, e, &index.Mutation{Op: index.OpSet, Key: "u:1", Pairs: []index.Pair{{Field: "country", Value: "PT"}}})
	root, err := e.Explain("country:pt", time.Time{})
	if err != nil || root.Cardinality != 0 || !strings.Contains(root.Label, "'PT' differs only in case") {
		t.Errorf("EXPLAIN country:pt = %+v, %v", root, err)
	}
	hints, err := e.Hints("country:(pt,ES) OR country:PT")
	if err != nil || len(hints) != 1 {
		t.Errorf("hints %q, %v", hints, err)
	}
	if _, err := e.Count("country:PT", time.UnixMilli(0)); err != nil {
		t.Fatal(err)
	}
}
