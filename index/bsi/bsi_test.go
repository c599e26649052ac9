package bsi

import (
	"bytes"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/segd-db/segd/index/expr"
)

type bsiModel map[uint32]int64

func (m bsiModel) match(filter *roaring.Bitmap, pred func(int64) bool) *roaring.Bitmap {
	out := roaring.New()
	for id, v := range m {
		if (filter == nil || filter.Contains(id)) && pred(v) {
			out.Add(id)
		}
	}
	return out
}

func cmpHolds(op expr.CmpOp, v, n int64) bool {
	switch op {
	case expr.CmpEq:
		return v == n
	case expr.CmpNe:
		return v != n
	case expr.CmpLt:
		return v < n
	case expr.CmpLe:
		return v <= n
	case expr.CmpGt:
		return v > n
	case expr.CmpGe:
		return v >= n
	}
	return false
}

// valueGen draws values of several shapes; wide turns on the extremes.
func drawValue(r *rand.Rand, wide bool) int64 {
	switch k := r.IntN(10); {
	case k < 4:
		return int64(r.IntN(41)) - 20
	case k < 6:
		return int64(r.IntN(2001)) - 1000
	case !wide:
		return int64(r.IntN(300))
	case k == 6:
		return math.MaxInt64 - int64(r.IntN(3))
	case k == 7:
		return math.MinInt64 + int64(r.IntN(3))
	case k == 8:
		s := int64(1) << uint(r.IntN(63))
		return s + int64(r.IntN(3)) - 1
	default:
		return -(int64(1) << uint(r.IntN(63))) + int64(r.IntN(3)) - 1
	}
}

// drawBound draws a comparison operand near the model's values or the extremes.
func drawBound(r *rand.Rand, m bsiModel) int64 {
	switch r.IntN(6) {
	case 0:
		return math.MinInt64 + int64(r.IntN(2))
	case 1:
		return math.MaxInt64 - int64(r.IntN(2))
	case 2:
		if r.IntN(2) == 0 {
			return 1 << 62
		}
		return -(1 << 62) - 1
	}
	for _, v := range m { // a random existing value, nudged
		return v + int64(r.IntN(3)) - 1
	}
	return int64(r.IntN(100)) - 50
}

func drawID(r *rand.Rand) uint32 {
	if r.IntN(4) == 0 {
		return 1<<20 + uint32(r.IntN(300)) // a second container
	}
	return uint32(r.IntN(1500))
}

func drawFilter(r *rand.Rand) *roaring.Bitmap {
	switch r.IntN(4) {
	case 0:
		return nil
	case 1:
		return roaring.New()
	}
	f := roaring.New()
	for range r.IntN(600) {
		f.Add(drawID(r))
	}
	return f
}

func sameBitmap(t *testing.T, what string, got, want *roaring.Bitmap) {
	t.Helper()
	if !got.Equals(want) {
		t.Fatalf("%s: got %d entities %v, want %d %v", what, got.GetCardinality(), head(got), want.GetCardinality(), head(want))
	}
}

func head(b *roaring.Bitmap) []uint32 {
	a := b.ToArray()
	if len(a) > 12 {
		a = a[:12]
	}
	return a
}

func checkBSIQueries(t *testing.T, b *BSI, m bsiModel, r *rand.Rand) {
	t.Helper()
	filter := drawFilter(r)
	var fcopy *roaring.Bitmap
	if filter != nil {
		fcopy = filter.Clone()
	}
	existsCopy := b.Exists().Clone()

	op := expr.CmpOp(r.IntN(7))
	n := drawBound(r, m)
	want := m.match(filter, func(v int64) bool { return cmpHolds(op, v, n) })
	sameBitmap(t, "Compare "+op.String(), b.Compare(op, n, filter), want)
	if got := b.CountCompare(op, n, filter); got != want.GetCardinality() {
		t.Fatalf("CountCompare %s %d = %d, want %d", op, n, got, want.GetCardinality())
	}

	lo, hi := drawBound(r, m), drawBound(r, m)
	if r.IntN(5) > 0 && lo > hi {
		lo, hi = hi, lo
	}
	want = m.match(filter, func(v int64) bool { return lo <= v && v <= hi })
	sameBitmap(t, "Range", b.Range(lo, hi, filter), want)
	if got := b.CountRange(lo, hi, filter); got != want.GetCardinality() {
		t.Fatalf("CountRange [%d, %d] = %d, want %d", lo, hi, got, want.GetCardinality())
	}

	var vals []int64
	wantSum := new(big.Int)
	for id, v := range m {
		if filter == nil || filter.Contains(id) {
			vals = append(vals, v)
			wantSum.Add(wantSum, big.NewInt(v))
		}
	}
	count, sum := b.Sum(filter)
	if count != uint64(len(vals)) || sum.Cmp(wantSum) != 0 {
		t.Fatalf("Sum = %d %v, want %d %v", count, sum, len(vals), wantSum)
	}

	mn, mx, ok := b.MinMax(filter)
	if ok != (len(vals) > 0) {
		t.Fatalf("MinMax ok = %v with %d values", ok, len(vals))
	}
	if ok && (mn != slices.Min(vals) || mx != slices.Max(vals)) {
		t.Fatalf("MinMax = %d %d, want %d %d", mn, mx, slices.Min(vals), slices.Max(vals))
	}

	slices.Sort(vals)
	slices.Reverse(vals)
	var k uint64
	switch r.IntN(5) {
	case 0:
		k = uint64(r.IntN(3))
	case 1:
		k = uint64(len(vals)) + uint64(r.IntN(3))
	default:
		k = uint64(r.IntN(len(vals) + 1))
	}
	above, atCut := b.TopCut(k, filter)
	if k == 0 || len(vals) == 0 {
		if !above.IsEmpty() || !atCut.IsEmpty() {
			t.Fatalf("TopCut(%d) of %d not empty", k, len(vals))
		}
	} else {
		cut := vals[min(k, uint64(len(vals)))-1]
		sameBitmap(t, "TopCut above", above, m.match(filter, func(v int64) bool { return v > cut }))
		sameBitmap(t, "TopCut atCut", atCut, m.match(filter, func(v int64) bool { return v == cut }))
	}

	if filter != nil && !filter.Equals(fcopy) {
		t.Fatal("a query modified its filter")
	}
	if !b.Exists().Equals(existsCopy) {
		t.Fatal("a query modified exists")
	}
}

func checkBSIValues(t *testing.T, b *BSI, m bsiModel) {
	t.Helper()
	if b.Count() != uint64(len(m)) {
		t.Fatalf("Count = %d, want %d", b.Count(), len(m))
	}
	for id, want := range m {
		if v, ok := b.Get(id); !ok || v != want {
			t.Fatalf("Get(%d) = %d %v, want %d", id, v, ok, want)
		}
	}
	for _, p := range b.planes {
		if p.AndCardinality(b.exists) != p.GetCardinality() {
			t.Fatal("a plane holds an entity without a value")
		}
	}
}

func roundTripBSI(t *testing.T, b *BSI) *BSI {
	t.Helper()
	var copies []*roaring.Bitmap
	for _, bm := range b.Bitmaps() {
		data, err := bm.ToBytes()
		if err != nil {
			t.Fatal(err)
		}
		c := roaring.New()
		if _, err := c.ReadFrom(bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		copies = append(copies, c)
	}
	nb, err := FromBitmaps(copies)
	if err != nil {
		t.Fatal(err)
	}
	return nb
}

func TestBSIModel(t *testing.T) {
	defer func(p, f, c uint64) { bsiParallelMin, bsiDenseFraction, bsiDenseMinCard = p, f, c }(
		bsiParallelMin, bsiDenseFraction, bsiDenseMinCard)
	configs := []struct{ parallel, dense bool }{{false, false}, {false, true}, {true, true}, {true, false}}
	for seed, cfg := range configs {
		// Force the two-goroutine paths and the dense (bottom-up) or sparse
		// (top-down) range algorithm on these small sets.
		bsiParallelMin = 1 << 62
		if cfg.parallel {
			bsiParallelMin = 1
		}
		bsiDenseMinCard, bsiDenseFraction = 1<<62, 16
		if cfg.dense {
			bsiDenseMinCard, bsiDenseFraction = 1, 1<<40
		}
		r := rand.New(rand.NewPCG(uint64(seed), 99))
		b, m := New(), bsiModel{}
		steps := 6000
		if testing.Short() {
			steps = 2000
		}
		for step := range steps {
			// Narrow values first; the extremes arrive once many values exist,
			// so the depth grows under data.
			wide := step > steps/3
			id := drawID(r)
			switch k := r.IntN(10); {
			case k < 6:
				v := drawValue(r, wide)
				old, had := m[id]
				if changed := b.Set(id, v); changed != (!had || old != v) {
					t.Fatalf("Set(%d, %d) changed = %v (had %v %d)", id, v, changed, had, old)
				}
				m[id] = v
			case k < 8:
				_, had := m[id]
				if b.Clear(id) != had {
					t.Fatalf("Clear(%d) != %v", id, had)
				}
				delete(m, id)
			default:
				v, ok := b.Get(id)
				want, had := m[id]
				if ok != had || v != want {
					t.Fatalf("Get(%d) = %d %v, want %d %v", id, v, ok, want, had)
				}
			}
			if step%10 == 0 {
				checkBSIQueries(t, b, m, r)
			}
			if step%1000 == 999 {
				checkBSIValues(t, b, m)
				if r.IntN(2) == 0 {
					b.RunOptimize()
				}
				b = roundTripBSI(t, b)
				checkBSIValues(t, b, m)
				for range 20 {
					checkBSIQueries(t, b, m, r)
				}
			}
		}
	}
}

// TestBSIDense covers bitmap containers and the parallel range path.
func TestBSIDense(t *testing.T) {
	if testing.Short() {
		t.Skip("dense")
	}
	r := rand.New(rand.NewPCG(5, 5))
	b, m := New(), bsiModel{}
	for id := range uint32(600_000) {
		v := int64(r.IntN(100001))
		if id%7 == 0 {
			v = -v
		}
		b.Set(id, v)
		m[id] = v
	}
	for range 4 {
		lo := int64(r.IntN(200001)) - 100000
		hi := lo + int64(r.IntN(100000))
		want := m.match(nil, func(v int64) bool { return lo <= v && v <= hi })
		sameBitmap(t, "dense Range", b.Range(lo, hi, nil), want)
		if got := b.CountRange(lo, hi, nil); got != want.GetCardinality() {
			t.Fatalf("dense CountRange [%d, %d] = %d, want %d", lo, hi, got, want.GetCardinality())
		}
	}
	checkBSIQueries(t, b, m, r)
}

func TestBSIEdges(t *testing.T) {
	b := New()
	if got := b.Range(math.MinInt64, math.MaxInt64, nil); !got.IsEmpty() {
		t.Fatal("empty BSI range")
	}
	if _, _, ok := b.MinMax(nil); ok {
		t.Fatal("MinMax of empty")
	}
	if c, s := b.Sum(nil); c != 0 || s.Sign() != 0 {
		t.Fatal("Sum of empty")
	}
	b.Set(1, 5)
	b.Set(2, -3)
	if len(b.planes) != 4 {
		t.Fatalf("depth %d, want 4", len(b.planes))
	}
	if got := b.Compare(expr.CmpGt, 1<<62, nil); !got.IsEmpty() {
		t.Fatal("> 2^62")
	}
	if got := b.Compare(expr.CmpLt, 1<<62, nil); got.GetCardinality() != 2 {
		t.Fatal("< 2^62")
	}
	if got := b.Compare(expr.CmpGe, -(1 << 62), nil); got.GetCardinality() != 2 {
		t.Fatal(">= -2^62")
	}
	if got := b.Compare(expr.CmpNe, 100, nil); got.GetCardinality() != 2 {
		t.Fatal("!= 100")
	}
	if got := b.Compare(expr.CmpNone, 0, nil); !got.IsEmpty() {
		t.Fatal("CmpNone")
	}
	if got := b.Range(3, 2, nil); !got.IsEmpty() {
		t.Fatal("lo > hi")
	}
	b.Set(3, math.MinInt64)
	b.Set(4, math.MaxInt64)
	if len(b.planes) != 64 {
		t.Fatalf("depth %d, want 64", len(b.planes))
	}
	c, s := b.Sum(nil)
	want := new(big.Int).Add(big.NewInt(math.MinInt64), big.NewInt(math.MaxInt64))
	want.Add(want, big.NewInt(2))
	if c != 4 || s.Cmp(want) != 0 {
		t.Fatalf("Sum = %d %v", c, s)
	}
	b.Set(5, math.MaxInt64)
	_, s = b.Sum(roaring.BitmapOf(4, 5))
	want = new(big.Int).Mul(big.NewInt(math.MaxInt64), big.NewInt(2))
	if s.Cmp(want) != 0 {
		t.Fatalf("overflowing Sum = %v", s)
	}
	if b.Set(5, math.MaxInt64) {
		t.Fatal("Set of the same value changed")
	}
	// Once the extremes are gone, RunOptimize trims the depth back.
	b.Clear(3)
	b.Clear(4)
	b.Set(5, -4)
	b.RunOptimize()
	if len(b.planes) != 4 {
		t.Fatalf("depth %d after trimming, want 4", len(b.planes))
	}
	for id, want := range map[uint32]int64{1: 5, 2: -3, 5: -4} {
		if v, ok := b.Get(id); !ok || v != want {
			t.Fatalf("Get(%d) = %d after trimming, want %d", id, v, want)
		}
	}
	if mn, mx, _ := b.MinMax(nil); mn != -4 || mx != 5 {
		t.Fatalf("MinMax = %d %d after trimming", mn, mx)
	}
}

func TestBSIFromBitmapsErrors(t *testing.T) {
	cases := map[string][]*roaring.Bitmap{
		"none":         nil,
		"nil":          {roaring.New(), nil},
		"no planes":    {roaring.BitmapOf(1)},
		"not a subset": {roaring.BitmapOf(1), roaring.BitmapOf(2)},
		"too deep":     make([]*roaring.Bitmap, 66),
	}
	for i := range cases["too deep"] {
		cases["too deep"][i] = roaring.New()
	}
	for name, bms := range cases {
		if _, err := FromBitmaps(bms); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if b, err := FromBitmaps([]*roaring.Bitmap{roaring.New()}); err != nil || b.Count() != 0 {
		t.Fatal("empty BSI rejected", err)
	}
}

// The 10M-entity benchmark fixture: values 0..100000 from a fixed seed.
var (
	benchBSIOnce   sync.Once
	benchBSIIndex  *BSI
	benchBSIFilter *roaring.Bitmap
)

const benchBSIN = 10_000_000

func benchBSI(b *testing.B) (*BSI, *roaring.Bitmap) {
	benchBSIOnce.Do(func() {
		r := rand.New(rand.NewPCG(42, 42))
		x := New()
		for id := range uint32(benchBSIN) {
			x.Set(id, int64(r.IntN(100001)))
		}
		x.RunOptimize()
		f := roaring.New()
		for range benchBSIN / 100 {
			f.Add(uint32(r.IntN(benchBSIN)))
		}
		benchBSIIndex, benchBSIFilter = x, f
	})
	b.ResetTimer()
	startCPU := processCPU()
	b.Cleanup(func() {
		// CPU time per op (all threads, GC included) is steadier than wall
		// time on a shared machine.
		b.ReportMetric(float64(processCPU()-startCPU)/float64(b.N), "cpu-ns/op")
	})
	return benchBSIIndex, benchBSIFilter
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkBSIRangeAll(b *testing.B) {
	x, _ := benchBSI(b)
	for range b.N {
		x.Range(25000, 75000, nil)
	}
}

func BenchmarkBSIRangeNarrow(b *testing.B) {
	x, _ := benchBSI(b)
	for range b.N {
		x.Range(50000, 50999, nil)
	}
}

func BenchmarkBSICompareGtAll(b *testing.B) {
	x, _ := benchBSI(b)
	for range b.N {
		x.Compare(expr.CmpGt, 31337, nil)
	}
}

func BenchmarkBSIRangeFilter1pct(b *testing.B) {
	x, f := benchBSI(b)
	for range b.N {
		x.Range(25000, 75000, f)
	}
}

func BenchmarkBSISum(b *testing.B) {
	x, _ := benchBSI(b)
	for range b.N {
		x.Sum(nil)
	}
}

func BenchmarkBSISumFilter1pct(b *testing.B) {
	x, f := benchBSI(b)
	for range b.N {
		x.Sum(f)
	}
}

func BenchmarkBSIMinMax(b *testing.B) {
	x, _ := benchBSI(b)
	for range b.N {
		x.MinMax(nil)
	}
}

func BenchmarkBSITopCut100(b *testing.B) {
	x, _ := benchBSI(b)
	for range b.N {
		x.TopCut(100, nil)
	}
}

func BenchmarkBSITopCut100Filter1pct(b *testing.B) {
	x, f := benchBSI(b)
	for range b.N {
		x.TopCut(100, f)
	}
}

func BenchmarkBSISet(b *testing.B) {
	x, _ := benchBSI(b)
	r := rand.New(rand.NewPCG(7, 7))
	ids := make([]uint32, 1<<16)
	vals := make([]int64, 1<<16)
	for i := range ids {
		ids[i] = uint32(r.IntN(benchBSIN))
		vals[i] = int64(r.IntN(100001))
	}
	b.ResetTimer()
	for i := range b.N {
		x.Set(ids[i&(1<<16-1)], vals[i&(1<<16-1)])
	}
}

func BenchmarkBSISize(b *testing.B) {
	x, _ := benchBSI(b)
	for range b.N {
		b.ReportMetric(float64(x.SizeInBytes())/benchBSIN, "B/entity")
	}
}

// TestBSIConcurrentQueries runs queries on one index from several goroutines
// (run it with -race): queries must only read the index.
func TestBSIConcurrentQueries(t *testing.T) {
	defer func(p uint64) { bsiParallelMin = p }(bsiParallelMin)
	bsiParallelMin = 1 << 12
	r := rand.New(rand.NewPCG(11, 11))
	b := New()
	for id := range uint32(200_000) {
		b.Set(id, int64(r.IntN(20001))-5000)
	}
	b.RunOptimize()
	filter := roaring.New()
	for range 5000 {
		filter.Add(uint32(r.IntN(200_000)))
	}
	query := func() []uint64 {
		var out []uint64
		for _, f := range []*roaring.Bitmap{nil, filter} {
			out = append(out, b.Range(-100, 7000, f).GetCardinality(), b.Compare(expr.CmpLt, 3, f).GetCardinality())
			mn, mx, _ := b.MinMax(f)
			c, s := b.Sum(f)
			above, atCut := b.TopCut(1000, f)
			out = append(out, uint64(mn), uint64(mx), c, s.Uint64(), above.GetCardinality(), atCut.GetCardinality())
		}
		return out
	}
	want := query()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 3 {
				if got := query(); !slices.Equal(got, want) {
					t.Errorf("concurrent query = %v, want %v", got, want)
				}
			}
		})
	}
	wg.Wait()
}
