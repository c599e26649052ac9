package bench

import (
	"os"
	"strconv"
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
