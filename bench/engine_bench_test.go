package bench

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segd-db/segd/index"
)

// Engine benchmarks on the generated population. Sizes come from
// SEGD_BENCH_SIZES (comma-separated entity counts, default 1000000):
//
//	SEGD_BENCH_SIZES=1000000,10000000 go test ./bench -run '^$' -bench Engine -benchtime 2s -timeout 60m

var (
	enginesMu sync.Mutex
	engines   = map[int]*index.Engine{}
)

func benchSizes(b *testing.B) []int {
	spec := os.Getenv("SEGD_BENCH_SIZES")
	if spec == "" {
		spec = "1000000"
	}
	var out []int
	for _, s := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			b.Fatalf("SEGD_BENCH_SIZES: bad size %q", s)
		}
		out = append(out, n)
	}
	return out
}

// loadedEngine builds (once per size) an engine holding n customers.
func loadedEngine(b *testing.B, n int) *index.Engine {
	enginesMu.Lock()
	defer enginesMu.Unlock()
	if e := engines[n]; e != nil {
		return e
	}
	for k := range engines { // keep one population in memory at a time
		delete(engines, k)
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	e := index.New()
	p := NewPopulation(1)
	for i := 0; i < n; i++ {
		for _, m := range p.Customer(i).Mutations() {
			if _, err := e.Apply(m); err != nil {
				b.Fatal(err)
			}
		}
		if (i+1)%1000000 == 0 {
			fmt.Fprintf(os.Stderr, "loaded %d/%d customers (%.0fs)\n", i+1, n, time.Since(start).Seconds())
		}
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	fmt.Fprintf(os.Stderr, "engine with %d customers: %.1f heap bytes/entity, engine's own estimate %.1f bytes/entity, load %.1fs\n",
		n, float64(after.HeapAlloc-before.HeapAlloc)/float64(n), float64(e.SizeInBytes())/float64(n), time.Since(start).Seconds())
	engines[n] = e
	return e
}

func sizeName(n int) string {
	if n%1000000 == 0 {
		return strconv.Itoa(n/1000000) + "M"
	}
	return strconv.Itoa(n)
}

var benchExprs = []struct{ name, expr string }{
	{"3terms", "country:" + TopCountry + " AND gender:F AND interests:" + TopInterest},
	{"3termsNot", "tier:gold AND optins:email AND NOT device:ios"},
	{"3termsRange", "country:c2 AND age:[25 TO 34] AND interests:i3"},
	{"5terms", "country:(c1,c2,c3) AND gender:M AND age >= 30 AND income > 40000 AND NOT interests:i2"},
}

func BenchmarkEngineCount(b *testing.B) {
	for _, n := range benchSizes(b) {
		e := loadedEngine(b, n)
		for _, q := range benchExprs {
			b.Run(sizeName(n)+"/"+q.name, func(b *testing.B) {
				var c uint64
				for i := 0; i < b.N; i++ {
					var err error
					if c, err = e.Count(q.expr, time.Time{}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(c), "matches")
			})
		}
	}
}

func BenchmarkEngineIsMember(b *testing.B) {
	for _, n := range benchSizes(b) {
		e := loadedEngine(b, n)
		keys := make([]string, 4096)
		for i := range keys {
			keys[i] = Key((i * 7919) % n)
		}
		for _, q := range benchExprs {
			b.Run(sizeName(n)+"/"+q.name, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if _, err := e.IsMember(q.expr, keys[i%len(keys)], time.Time{}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkEngineSet(b *testing.B) {
	for _, n := range benchSizes(b) {
		e := loadedEngine(b, n)
		b.Run(sizeName(n), func(b *testing.B) {
			p := NewPopulation(2)
			for i := 0; i < b.N; i++ {
				c := p.Customer(i)
				c.Key = Key(i % n)
				if _, err := e.Apply(c.Mutations()[0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEngineTop(b *testing.B) {
	for _, n := range benchSizes(b) {
		e := loadedEngine(b, n)
		b.Run(sizeName(n)+"/income", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := e.Top(100, "income", "country:"+TopCountry, time.Time{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
