package bench

// Counts against plain roaring: each query class of the engine's QUERY.COUNT
// next to the cheapest plain github.com/RoaringBitmap/roaring/v2 operations
// that give the same number on bitmaps holding the same members. The raw
// side is rebuilt from the population (customer i is entity i, as in an
// engine loaded in order), so it is the library's cost with no engine around
// it: no parsing, no plan, no lock.

import (
	"fmt"
	"io"
	"math/bits"
	"slices"
	"strconv"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
)

// RawPopulation is the population's bitmaps in plain roaring: one per
// "field:value" of the ENUM and TAGS fields, and age as bit planes.
type RawPopulation struct {
	Values    map[string]*roaring.Bitmap
	AgeExists *roaring.Bitmap
	AgePlanes []*roaring.Bitmap // planes[i]: age has bit i (ages are positive)
}

// NewRawPopulation builds the bitmaps of customers 0..n-1 of seed.
func NewRawPopulation(seed uint64, n int) *RawPopulation {
	p := NewPopulation(seed)
	r := &RawPopulation{Values: map[string]*roaring.Bitmap{}, AgeExists: roaring.New()}
	add := func(field, value string, id uint32) {
		k := field + ":" + value
		bm := r.Values[k]
		if bm == nil {
			bm = roaring.New()
			r.Values[k] = bm
		}
		bm.Add(id)
	}
	for i := 0; i < n; i++ {
		c, id := p.Customer(i), uint32(i)
		add("country", c.Country, id)
		add("tier", c.Tier, id)
		add("gender", c.Gender, id)
		add("device", c.Device, id)
		for _, v := range c.Interests {
			add("interests", v, id)
		}
		for _, v := range c.OptIns {
			add("optins", v, id)
		}
		r.AgeExists.Add(id)
		for u := uint64(c.Age); u != 0; u &= u - 1 {
			j := bits.TrailingZeros64(u)
			for len(r.AgePlanes) <= j {
				r.AgePlanes = append(r.AgePlanes, roaring.New())
			}
			r.AgePlanes[j].Add(id)
		}
	}
	return r
}

// V is the bitmap of "field:value" (empty when nobody has it).
func (r *RawPopulation) V(k string) *roaring.Bitmap {
	if bm := r.Values[k]; bm != nil {
		return bm
	}
	return roaring.New()
}

// AgeEq counts the entities of filter (all when nil) aged v: the planes
// walked with in-place And and AndNot.
func (r *RawPopulation) AgeEq(v uint64, filter *roaring.Bitmap) uint64 {
	x := r.AgeExists.Clone()
	if filter != nil {
		x = roaring.And(r.AgeExists, filter)
	}
	for j, p := range r.AgePlanes {
		if v>>uint(j)&1 == 1 {
			x.And(p)
		} else {
			x.AndNot(p)
		}
	}
	return x.GetCardinality()
}

// AgeRange counts the entities of filter (all when nil) aged lo..hi, as
// |age >= lo| − |age >= hi+1|, each "≥" built bottom-up with in-place
// operations.
func (r *RawPopulation) AgeRange(lo, hi uint64, filter *roaring.Bitmap) uint64 {
	x := r.AgeExists
	if filter != nil {
		x = roaring.And(r.AgeExists, filter)
	}
	return r.ageGE(x, lo) - r.ageGE(x, hi+1)
}

func (r *RawPopulation) ageGE(x *roaring.Bitmap, c uint64) uint64 {
	if c == 0 {
		return x.GetCardinality()
	}
	if c>>uint(len(r.AgePlanes)) != 0 {
		return 0
	}
	ge := x.Clone()
	ored := false
	for j := bits.TrailingZeros64(c); j < len(r.AgePlanes); j++ {
		if c>>uint(j)&1 == 1 {
			ge.And(r.AgePlanes[j])
		} else {
			ge.Or(r.AgePlanes[j])
			ored = true
		}
	}
	if ored && x != r.AgeExists {
		return ge.AndCardinality(x)
	}
	return ge.GetCardinality()
}

// CountClass is one query class: the engine's expression and the plain
// roaring count of the same thing.
type CountClass struct {
	Name string
	Expr string
	Raw  func(r *RawPopulation) uint64
}

// CountSegment is the saved segment the @segment classes name.
const (
	CountSegment     = "cnt_top_gold"
	CountSegmentExpr = "country:" + TopCountry + " AND tier:gold"
)

// CountClasses are the classes timed by BenchmarkCountsVsRoaring and
// segd-bench counts. segMembers is the saved segment's members on the raw
// side (the AND of its expression, built once).
func CountClasses(segMembers func(r *RawPopulation) *roaring.Bitmap) []CountClass {
	c1 := "country:" + TopCountry
	v := func(r *RawPopulation, ks ...string) []*roaring.Bitmap {
		out := make([]*roaring.Bitmap, len(ks))
		for i, k := range ks {
			out[i] = r.V(k)
		}
		return out
	}
	andCount := func(bms []*roaring.Bitmap) uint64 {
		slices.SortFunc(bms, func(a, b *roaring.Bitmap) int { return int(a.GetCardinality()) - int(b.GetCardinality()) })
		acc := roaring.And(bms[0], bms[1])
		for _, b := range bms[2 : len(bms)-1] {
			acc.And(b)
		}
		if len(bms) == 2 {
			return acc.GetCardinality()
		}
		return acc.AndCardinality(bms[len(bms)-1])
	}
	return []CountClass{
		{"and2", c1 + " AND tier:gold", func(r *RawPopulation) uint64 {
			return r.V(c1).AndCardinality(r.V("tier:gold"))
		}},
		{"and3", c1 + " AND tier:gold AND gender:F", func(r *RawPopulation) uint64 {
			return andCount(v(r, c1, "tier:gold", "gender:F"))
		}},
		{"and5", c1 + " AND tier:gold AND gender:F AND device:ios AND optins:email", func(r *RawPopulation) uint64 {
			return andCount(v(r, c1, "tier:gold", "gender:F", "device:ios", "optins:email"))
		}},
		{"andnot", c1 + " AND NOT interests:" + TopInterest, func(r *RawPopulation) uint64 {
			a := r.V(c1)
			return a.GetCardinality() - a.AndCardinality(r.V("interests:"+TopInterest))
		}},
		{"or5", "interests:i1 OR interests:i2 OR interests:i3 OR interests:i4 OR interests:i5", func(r *RawPopulation) uint64 {
			return roaring.FastOr(v(r, "interests:i1", "interests:i2", "interests:i3", "interests:i4", "interests:i5")...).GetCardinality()
		}},
		{"xor", "interests:i1 XOR interests:i2", func(r *RawPopulation) uint64 {
			return roaring.Xor(r.V("interests:i1"), r.V("interests:i2")).GetCardinality()
		}},
		{"int-eq", "age:35", func(r *RawPopulation) uint64 { return r.AgeEq(35, nil) }},
		{"int-eq+filter", "country:c2 AND age:35", func(r *RawPopulation) uint64 { return r.AgeEq(35, r.V("country:c2")) }},
		{"int-range", "age:[25 TO 34]", func(r *RawPopulation) uint64 { return r.AgeRange(25, 34, nil) }},
		{"int-range+filter", "country:c2 AND age:[25 TO 34]", func(r *RawPopulation) uint64 {
			return r.AgeRange(25, 34, r.V("country:c2"))
		}},
		{"int-ge+filter", "country:c2 AND age >= 40", func(r *RawPopulation) uint64 {
			return r.AgeRange(40, 1<<uint(len(r.AgePlanes))-1, r.V("country:c2"))
		}},
		{"segment", "@" + CountSegment, func(r *RawPopulation) uint64 { return segMembers(r).GetCardinality() }},
		{"segment-and", "@" + CountSegment + " AND gender:F", func(r *RawPopulation) uint64 {
			return segMembers(r).AndCardinality(r.V("gender:F"))
		}},
	}
}

// SegmentMembersOnce returns a function giving the raw segment's members,
// built on first use.
func SegmentMembersOnce() func(r *RawPopulation) *roaring.Bitmap {
	var bm *roaring.Bitmap
	return func(r *RawPopulation) *roaring.Bitmap {
		if bm == nil {
			bm = roaring.And(r.V("country:"+TopCountry), r.V("tier:gold"))
		}
		return bm
	}
}

// TimeBoth runs a and b alternately, runs times each after a few warm-up
// rounds, and returns the median duration of each: interleaved, both see
// the same machine (other work, frequency, caches).
func TimeBoth(runs int, a, b func()) (time.Duration, time.Duration) {
	m := TimeEach(runs, a, b)
	return m[0], m[1]
}

// TimeEach is TimeBoth for any number of functions.
func TimeEach(runs int, fs ...func()) []time.Duration {
	for i := 0; i < 5; i++ {
		for _, f := range fs {
			f()
		}
	}
	ds := make([][]time.Duration, len(fs))
	for j := range ds {
		ds[j] = make([]time.Duration, runs)
	}
	for i := 0; i < runs; i++ {
		for j, f := range fs {
			start := time.Now()
			f()
			ds[j][i] = time.Since(start)
		}
	}
	out := make([]time.Duration, len(fs))
	for j := range ds {
		out[j] = median(ds[j])
	}
	return out
}

func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// CountRow is one class's figures.
type CountRow struct {
	Class     string
	Matches   uint64
	Segd, Raw time.Duration
	Ping      time.Duration // over the wire only
}

// Ratio is segd ÷ raw, or (segd − ping) ÷ raw over the wire.
func (r CountRow) Ratio() float64 {
	if r.Raw <= 0 {
		return 0
	}
	return float64(r.Segd-r.Ping) / float64(r.Raw)
}

// WriteCountTable prints rows as a Markdown table.
func WriteCountTable(w io.Writer, title string, rows []CountRow, wire bool) {
	fmt.Fprintf(w, "\n%s\n\n", title)
	if wire {
		fmt.Fprintln(w, "| class | matches | segd over the wire | PING | raw roaring | (segd − ping) ÷ raw |")
		fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|")
	} else {
		fmt.Fprintln(w, "| class | matches | engine Count | raw roaring | engine ÷ raw |")
		fmt.Fprintln(w, "|---|--:|--:|--:|--:|")
	}
	for _, r := range rows {
		if wire {
			fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %.2f |\n", r.Class, r.Matches, us(r.Segd), us(r.Ping), us(r.Raw), r.Ratio())
		} else {
			fmt.Fprintf(w, "| %s | %d | %s | %s | %.2f |\n", r.Class, r.Matches, us(r.Segd), us(r.Raw), r.Ratio())
		}
	}
}

func us(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Nanoseconds())/1e3, 'f', 1, 64) + " µs"
}
