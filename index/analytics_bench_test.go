//go:build unix

package index_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segd-db/segd/bench"
	"github.com/segd-db/segd/index"
)

// BenchmarkAnalytics compares PROFILE and LOOKALIKE COUNT 1000 with the
// bitmap-only implementation on the bench population's first segment
// (SEGD_BENCH_SIZES customers, the first size given; 1M by default), side
// by side in one process, with the CPU time of each operation:
//
//	SEGD_BENCH_SIZES=10000000 go test ./index -run '^$' -bench Analytics -benchtime 2s -count 5
func BenchmarkAnalytics(b *testing.B) {
	n := 1000000
	if s := os.Getenv("SEGD_BENCH_SIZES"); s != "" {
		v, err := strconv.Atoi(strings.TrimSpace(strings.Split(s, ",")[0]))
		if err != nil {
			b.Fatal(err)
		}
		n = v
	}
	e := analyticsEngine(b, n)
	card, _ := e.SegmentCard("s0")
	b.Logf("s0 has %d members", card)
	b.Run("profile/old", func(b *testing.B) {
		defer cpuPerOp(b)()
		for b.Loop() {
			if _, err := e.ProfileOld("s0", 0, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("profile/new", func(b *testing.B) {
		defer cpuPerOp(b)()
		for b.Loop() {
			if _, err := e.Profile("s0", 0, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("lookalike1000/old", func(b *testing.B) {
		defer cpuPerOp(b)()
		for b.Loop() {
			if _, err := e.LookalikeOld("s0", 1000, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("lookalike1000/new", func(b *testing.B) {
		defer cpuPerOp(b)()
		for b.Loop() {
			if _, err := e.Lookalike("s0", 1000, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
}

var analyticsEngines = map[int]*index.Engine{}

func analyticsEngine(b *testing.B, n int) *index.Engine {
	if e := analyticsEngines[n]; e != nil {
		return e
	}
	e := index.New()
	p := bench.NewPopulation(1)
	for i := 0; i < n; i++ {
		for _, m := range p.Customer(i).Mutations() {
			if _, err := e.Apply(m); err != nil {
				b.Fatal(err)
			}
		}
	}
	expr := bench.SegmentExprs(1)[0]
	if _, err := e.Apply(&index.Mutation{Op: index.OpSegmentCreate, Key: "s0", Values: []string{expr}}); err != nil {
		b.Fatal(fmt.Errorf("segment %q: %w", expr, err))
	}
	analyticsEngines[n] = e
	return e
}

// cpuPerOp reports the process's CPU time per operation (user and system,
// all goroutines), which other work on the machine does not inflate.
func cpuPerOp(b *testing.B) func() {
	start := cpuTime()
	return func() { b.ReportMetric(float64((cpuTime()-start).Milliseconds())/float64(b.N), "cpu-ms/op") }
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
