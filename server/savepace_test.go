package server

import (
	"testing"
	"time"
)

func TestSaveDuePaced(t *testing.T) {
	cfg := &Config{SaveAfter: 1000, SaveEvery: time.Minute}
	for _, c := range []struct {
		dirty       int64
		since, cost time.Duration
		want        bool
	}{
		{0, time.Hour, 0, false},                         // nothing changed
		{999, 30 * time.Second, 0, false},                // neither trigger
		{1000, time.Second, 0, true},                     // enough writes
		{1, time.Minute, 0, true},                        // old enough
		{5000, 20 * time.Second, 3 * time.Second, false}, // due, but the last one took 3 s: not before 30 s
		{5000, 30 * time.Second, 3 * time.Second, true},  // paced
		{1, 2 * time.Minute, 20 * time.Second, false},    // a 20 s snapshot: not before 200 s
		{1, 200 * time.Second, 20 * time.Second, true},
	} {
		if got := saveDue(cfg, c.dirty, c.since, c.cost); got != c.want {
			t.Errorf("saveDue(dirty %d, since %v, cost %v) = %v, want %v", c.dirty, c.since, c.cost, got, c.want)
		}
	}
	if saveDue(&Config{}, 1<<40, time.Hour, 0) {
		t.Error("periodic snapshots disabled, yet due")
	}
}
