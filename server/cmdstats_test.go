package server

import (
	"math"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/segd-db/segd/protocol"
)

// The sharded command counters add up to what was observed, from many
// connections at once, into the same metrics a Prometheus counter and
// histogram would give.
func TestCmdStatsCollect(t *testing.T) {
	st := newCmdStats()
	reg := prometheus.NewRegistry()
	reg.MustRegister(st)
	set, count := protocol.Lookup([]byte("ent.set")), protocol.Lookup([]byte("query.count"))
	durations := []int64{0, 999, 1000, 1001, 3999, 4000, 4001, 70_000, 5e9, 1 << 40}
	var wg sync.WaitGroup
	for client := int64(1); client <= 20; client++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, d := range durations {
				st.observe(set, client, d, d == 1001)
			}
			st.failed(set, client)
		}()
	}
	wg.Wait()
	st.observe(count, 3, -5, false) // a clock step back counts as 0

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	var hist map[float64]uint64
	var histCount uint64
	var histSum float64
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			if m.Label[0].GetValue() != "ent.set" {
				if m.Label[0].GetValue() == "query.count" && mf.GetName() == "segd_commands_total" && m.Counter.GetValue() != 1 {
					t.Errorf("query.count calls = %v, want 1", m.Counter.GetValue())
				}
				continue
			}
			switch mf.GetName() {
			case "segd_commands_total", "segd_command_errors_total":
				got[mf.GetName()] = m.Counter.GetValue()
			case "segd_command_duration_seconds":
				h := m.Histogram
				histCount, histSum = h.GetSampleCount(), h.GetSampleSum()
				hist = map[float64]uint64{}
				for _, b := range h.Bucket {
					hist[b.GetUpperBound()] = b.GetCumulativeCount()
				}
			}
		}
	}
	if got["segd_commands_total"] != 200 || got["segd_command_errors_total"] != 40 {
		t.Errorf("calls %v errors %v, want 200 and 40", got["segd_commands_total"], got["segd_command_errors_total"])
	}
	if histCount != 200 {
		t.Errorf("histogram count %d, want 200", histCount)
	}
	var sum float64
	for _, d := range durations {
		sum += float64(d)
	}
	if want := 20 * sum / 1e9; math.Abs(histSum-want) > want*1e-9 {
		t.Errorf("histogram sum %v, want %v", histSum, want)
	}
	// Cumulative counts at 1 µs, 4 µs, 16 µs, 64 µs, 256 µs … 4^11 µs.
	want := map[float64]uint64{1e-6: 20 * 3, 4e-6: 20 * 6, 16e-6: 20 * 7, 64e-6: 20 * 7, 256e-6: 20 * 8, 4.194304: 20 * 8}
	for ub, n := range want {
		if hist[ub] != n {
			t.Errorf("bucket le=%v: %d, want %d (all: %v)", ub, hist[ub], n, hist)
		}
	}
	if len(hist) != statBuckets {
		t.Errorf("%d buckets, want %d", len(hist), statBuckets)
	}
}
