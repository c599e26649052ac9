package bench

import (
	"context"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/segd-db/segd/index"
)

// Event benchmarks on the generated population with a year of events
// (purchase, spend, cart_add, coupon_redeem), the engine's clock fixed at
// EventClock. Sizes come from SEGD_BENCH_SIZES like the Engine benchmarks,
// the event fields from SEGD_BENCH_EVENT_FIELDS (default: purchase, spend,
// cart_add and coupon_redeem; see ParseEventFields):
//
//	SEGD_BENCH_SIZES=1000000 go test ./bench -run '^$' -bench Event -benchtime 2s -timeout 120m
//	SEGD_BENCH_SIZES=10000000 SEGD_BENCH_EVENT_FIELDS=purchase,cart_add,coupon_redeem go test ./bench -run '^$' -bench Event -benchtime 2s -timeout 240m
//
// The data set of each size is built once and cached as snapshot parts in
// EventCacheDir() (SEGD_BENCH_CACHE overrides it), so later runs load it in
// seconds; every run benchmarks an engine loaded from those parts, as a
// server is after a restart.

var (
	eventEnginesMu sync.Mutex
	eventEngines   = map[int]*LoadedEvents{}
)

func loadedEventEngine(b *testing.B, n int) *LoadedEvents {
	eventEnginesMu.Lock()
	defer eventEnginesMu.Unlock()
	if le := eventEngines[n]; le != nil {
		return le
	}
	for k := range eventEngines { // one data set in memory at a time
		delete(eventEngines, k)
	}
	runtime.GC()
	fields, err := ParseEventFields(os.Getenv("SEGD_BENCH_EVENT_FIELDS"))
	if err != nil {
		b.Fatalf("SEGD_BENCH_EVENT_FIELDS: %v", err)
	}
	le, err := LoadEventEngine(context.Background(), EventDataOptions{Entities: n, Seed: 1, Fields: fields, Progress: os.Stderr}, EventCacheDir())
	if err != nil {
		b.Fatal(err)
	}
	eventEngines[n] = le
	return le
}

// The standard event queries.
var eventCountExprs = []struct{ name, expr string }{
	{"purchaseTop>=3in90d", "purchase:" + TopCategory + " >= 3 IN 90d"},
	{"purchaseMedian>=3in90d", "purchase:" + MedianCategory + " >= 3 IN 90d"},
	{"cartNotPurchase7d", "cart_add IN 7d AND NOT purchase IN 7d"},
	{"spendTop>=10000in365d", "spend:" + TopCategory + " >= 10000 IN 365d"},
	{"profileAndEvent", "country:" + TopCountry + " AND gender:F AND purchase:" + TopCategory + " >= 2 IN 180d"},
}

// EventIsMemberExpr is the 3-predicate event expression of the point
// evaluation benchmark.
const EventIsMemberExpr = "purchase:" + TopCategory + " >= 2 IN 90d AND cart_add IN 30d AND NOT coupon_redeem IN 365d"

func BenchmarkEventCount(b *testing.B) {
	for _, n := range benchSizes(b) {
		le := loadedEventEngine(b, n)
		for _, q := range eventCountExprs {
			if !le.Info.checkable(q.expr) {
				continue // a field the data set does not track
			}
			b.Run(sizeName(n)+"/"+q.name, func(b *testing.B) {
				var c uint64
				stop := cpuPerOp(b)
				for i := 0; i < b.N; i++ {
					var err error
					if c, err = le.Engine.Count(q.expr, time.Time{}); err != nil {
						b.Fatal(err)
					}
				}
				stop()
				b.ReportMetric(float64(c), "matches")
			})
		}
	}
}

func BenchmarkEventIsMember(b *testing.B) {
	for _, n := range benchSizes(b) {
		le := loadedEventEngine(b, n)
		keys := make([]string, 4096)
		for i := range keys {
			keys[i] = Key((i * 7919) % n)
		}
		for _, q := range []struct{ name, expr string }{
			{"3preds", EventIsMemberExpr},
			{"profileAndEvent", eventCountExprs[4].expr},
		} {
			b.Run(sizeName(n)+"/"+q.name, func(b *testing.B) {
				members := 0
				for i := 0; i < b.N; i++ {
					ok, err := le.Engine.IsMember(q.expr, keys[i%len(keys)], time.Time{})
					if err != nil {
						b.Fatal(err)
					}
					if ok {
						members++
					}
				}
				b.ReportMetric(float64(members)/float64(b.N), "member-share")
			})
		}
	}
}

func BenchmarkEventTop(b *testing.B) {
	for _, n := range benchSizes(b) {
		le := loadedEventEngine(b, n)
		if !le.Info.Has(FieldSpend) {
			b.Skip("the data set tracks no spend (SEGD_BENCH_EVENT_FIELDS)")
		}
		b.Run(sizeName(n)+"/spendTop365d", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := le.Engine.Top(10, "spend:"+TopCategory+" IN 365d", "", time.Time{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEventMemory reports the data set's memory: the engine's own
// estimate of its event fields and of the profiles per entity, the Go heap
// the loaded engine holds, the records tracked, the time LoadSnapshot took
// and the build time (of this run, or of the run that cached the data).
func BenchmarkEventMemory(b *testing.B) {
	for _, n := range benchSizes(b) {
		le := loadedEventEngine(b, n)
		b.Run(sizeName(n), func(b *testing.B) {
			for range b.N {
			}
			inf := le.Info
			b.ReportMetric(perEntity(inf.TotalBytes-inf.BaseBytes, n), "event-B/entity")
			b.ReportMetric(perEntity(inf.BaseBytes, n), "profile-B/entity")
			b.ReportMetric(perEntity(le.Heap, n), "heap-B/entity")
			b.ReportMetric(float64(inf.TotalEvents())/float64(n), "events/entity")
			b.ReportMetric(le.LoadSecs, "load-s")
			b.ReportMetric(inf.BuildSecs, "build-s")
		})
	}
}

// BenchmarkEventTrack is one ENT.TRACK in the engine (the write path under
// the lock, without the server), into a loaded data set: a purchase today
// for a customer spread over the population. It runs last: it changes the
// data the other benchmarks read.
func BenchmarkEventTrack(b *testing.B) {
	for _, n := range benchSizes(b) {
		le := loadedEventEngine(b, n)
		b.Run(sizeName(n), func(b *testing.B) {
			at := le.Info.Clock.Add(-time.Hour)
			m := &index.Mutation{Op: index.OpTrack, Field: FieldPurchase, Values: []string{Categories[3]}, At: at}
			for i := 0; i < b.N; i++ {
				m.Key = Key((i * 7919) % n)
				m.At = at
				if _, err := le.Engine.Apply(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
