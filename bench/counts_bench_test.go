package bench

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segd-db/segd/index"
)

// BenchmarkCountsVsRoaring times each query class both ways in one run, the
// engine's Count and the plain roaring operations on bitmaps holding the
// same members, and prints the medians and their ratio:
//
//	SEGD_BENCH_SIZES=1000000,10000000 go test ./bench -run '^$' -bench CountsVsRoaring -benchtime 1x -timeout 60m
//
// SEGD_COUNT_RUNS sets the iterations per class (default 200).
func BenchmarkCountsVsRoaring(b *testing.B) {
	runs := 200
	if s := os.Getenv("SEGD_COUNT_RUNS"); s != "" {
		var err error
		if runs, err = strconv.Atoi(s); err != nil || runs <= 0 {
			b.Fatalf("SEGD_COUNT_RUNS: bad count %q", s)
		}
	}
	for _, n := range benchSizes(b) {
		e := loadedEngine(b, n)
		if _, err := e.Apply(&index.Mutation{Op: index.OpSegmentCreate, Key: CountSegment,
			Values: []string{CountSegmentExpr}, Replace: true}); err != nil {
			b.Fatal(err)
		}
		raw := NewRawPopulation(1, n)
		var rows []CountRow
		for _, c := range CountClasses(SegmentMembersOnce()) {
			want := c.Raw(raw)
			got, err := e.Count(c.Expr, time.Time{})
			if err != nil {
				b.Fatal(err)
			}
			if got != want {
				b.Fatalf("%s: engine counts %d, raw roaring %d", c.Name, got, want)
			}
			segd, rawT := TimeBoth(runs, func() {
				if _, err := e.Count(c.Expr, time.Time{}); err != nil {
					b.Fatal(err)
				}
			}, func() { c.Raw(raw) })
			rows = append(rows, CountRow{Class: c.Name, Matches: got, Segd: segd, Raw: rawT})
		}
		WriteCountTable(os.Stdout, "counts at "+sizeName(n)+", median of "+strconv.Itoa(runs)+" (engine in process)", rows, false)
	}
}

// BenchmarkCountsBusy times the count classes idle, then while one goroutine
// applies ENT.SET of existing customers and another freezes the engine and
// serialises the image (what a snapshot does), and prints busy ÷ idle:
//
//	go test ./bench -run '^$' -bench CountsBusy -benchtime 1x -cpuprofile busy.prof
func BenchmarkCountsBusy(b *testing.B) {
	n := benchSizes(b)[0]
	e := loadedEngine(b, n)
	if _, err := e.Apply(&index.Mutation{Op: index.OpSegmentCreate, Key: CountSegment,
		Values: []string{CountSegmentExpr}, Replace: true}); err != nil {
		b.Fatal(err)
	}
	classes := CountClasses(SegmentMembersOnce())
	timeAll := func() []time.Duration {
		out := make([]time.Duration, len(classes))
		for i, c := range classes {
			out[i], _ = TimeBoth(100, func() { _, _ = e.Count(c.Expr, time.Time{}) }, func() {})
		}
		return out
	}
	idle := timeAll()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writes, snaps atomic.Int64
	wg.Go(func() {
		p := NewPopulation(2)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			m := p.Customer(i).Mutations()[0]
			m.Key = Key(i * 7919 % n)
			if _, err := e.Apply(m); err != nil {
				b.Error(err)
				return
			}
			writes.Add(1)
		}
	})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := e.FreezeChanges().Parts(func(index.Part) error { return nil }); err != nil {
				b.Error(err)
				return
			}
			snaps.Add(1)
		}
	})
	busy := timeAll()
	close(stop)
	wg.Wait()
	fmt.Printf("\ncounts at %s idle and while writes and snapshots run (%d writes, %d snapshots)\n\n", sizeName(n), writes.Load(), snaps.Load())
	fmt.Println("| class | idle | busy | busy ÷ idle |\n|---|--:|--:|--:|")
	for i, c := range classes {
		fmt.Printf("| %s | %s | %s | %.2f |\n", c.Name, us(idle[i]), us(busy[i]), float64(busy[i])/float64(idle[i]))
	}
}
