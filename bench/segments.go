package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Saved segments over the generated population, for the segment benchmarks
// and for measuring writes with segments defined.

// SegmentCount is how many saved segments the segment benchmarks define.
const SegmentCount = 200

// SegmentExprs returns n deterministic segment expressions of 2 to 4 terms
// over the population's fields, some with ranges and NOT.
func SegmentExprs(n int) []string {
	r := rand.New(rand.NewSource(42))
	terms := []func() string{
		func() string { return fmt.Sprintf("country:c%d", 1+r.Intn(20)) },
		func() string { return fmt.Sprintf("tier:%s", tiers[r.Intn(len(tiers))]) },
		func() string { return fmt.Sprintf("gender:%s", genders[r.Intn(2)]) },
		func() string { return fmt.Sprintf("interests:i%d", 1+r.Intn(60)) },
		func() string { return fmt.Sprintf("device:%s", devices[r.Intn(len(devices))]) },
		func() string { a := 18 + r.Intn(40); return fmt.Sprintf("age:[%d TO %d]", a, a+5+r.Intn(20)) },
		func() string { return fmt.Sprintf("income >= %d", 20000+1000*r.Intn(80)) },
		func() string { return fmt.Sprintf("optins:%s", optIns[r.Intn(len(optIns))]) },
	}
	out := make([]string, n)
	for i := range out {
		k := 2 + r.Intn(3)
		seen := map[int]bool{}
		expr := ""
		for len(seen) < k {
			j := r.Intn(len(terms))
			if seen[j] {
				continue
			}
			seen[j] = true
			t := terms[j]()
			switch {
			case expr == "":
				expr = t
			case r.Intn(5) == 0:
				expr += " AND NOT " + t
			default:
				expr += " AND " + t
			}
		}
		out[i] = expr
	}
	return out
}

// SegmentName is the name of saved segment i of SegmentExprs.
func SegmentName(i int) string { return fmt.Sprintf("s%03d", i) }

// CreateSegments saves SegmentExprs(n) on segd as s000, s001, … (REPLACE, so
// it can run again) and returns the sum of their cardinalities.
func CreateSegments(ctx context.Context, addr, password string, n int) (int64, error) {
	c, err := DialAuth(ctx, addr, password)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	c.Timeout = 5 * time.Minute
	var sum int64
	for i, expr := range SegmentExprs(n) {
		card, err := c.Int("SEGMENT.CREATE", SegmentName(i), expr, "REPLACE")
		if err != nil {
			return sum, fmt.Errorf("SEGMENT.CREATE %s %q: %w", SegmentName(i), expr, err)
		}
		sum += card
	}
	return sum, nil
}

// segTerm is one term of a SegmentExprs expression, evaluated on a generated
// customer: field:value, age:[lo TO hi] or income >= lo, maybe negated.
type segTerm struct {
	not    bool
	field  string
	value  string
	lo, hi int64
	isInt  bool
}

// segmentMatcher evaluates a SegmentExprs expression (terms joined by AND,
// some with NOT) on a customer, the way segd does on the stored fields.
type segmentMatcher []segTerm

func parseSegment(expr string) (segmentMatcher, error) {
	var m segmentMatcher
	for _, t := range strings.Split(expr, " AND ") {
		var st segTerm
		if rest, ok := strings.CutPrefix(t, "NOT "); ok {
			st.not, t = true, rest
		}
		switch {
		case strings.HasPrefix(t, "income >= "):
			n, err := strconv.ParseInt(strings.TrimPrefix(t, "income >= "), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("segment %q: %w", expr, err)
			}
			st.field, st.isInt, st.lo, st.hi = "income", true, n, math.MaxInt64
		case strings.HasPrefix(t, "age:["):
			var lo, hi int64
			if _, err := fmt.Sscanf(t, "age:[%d TO %d]", &lo, &hi); err != nil {
				return nil, fmt.Errorf("segment %q: %w", expr, err)
			}
			st.field, st.isInt, st.lo, st.hi = "age", true, lo, hi
		default:
			f, v, ok := strings.Cut(t, ":")
			if !ok {
				return nil, fmt.Errorf("segment %q: term %q has no value", expr, t)
			}
			st.field, st.value = f, v
		}
		m = append(m, st)
	}
	return m, nil
}

func (m segmentMatcher) match(c *Customer) bool {
	for _, t := range m {
		if t.has(c) == t.not {
			return false
		}
	}
	return true
}

func (t segTerm) has(c *Customer) bool {
	if t.isInt {
		v := c.Age
		if t.field == "income" {
			v = c.Income
		}
		return v >= t.lo && v <= t.hi
	}
	switch t.field {
	case "country":
		return c.Country == t.value
	case "city":
		return c.City == t.value
	case "gender":
		return c.Gender == t.value
	case "tier":
		return c.Tier == t.value
	case "device":
		return c.Device == t.value
	case "lang":
		return c.Lang == t.value
	case "interests":
		return slices.Contains(c.Interests, t.value)
	case "optins":
		return slices.Contains(c.OptIns, t.value)
	}
	return false
}

// RedisSegmentKey is the Redis SET holding the members of saved segment i.
func RedisSegmentKey(i int) string { return "seg:" + SegmentName(i) }

// RedisLoadSegments builds, in Redis, one SET per saved segment of
// SegmentExprs(n): the client evaluates every expression on every customer
// (as an application maintaining its segments in Redis would at write time)
// and SADDs the customer to each segment it is in. LoadResult.Commands is
// the number of SADDs.
func RedisLoadSegments(ctx context.Context, o LoadOptions, n int) (LoadResult, error) {
	exprs := SegmentExprs(n)
	ms := make([]segmentMatcher, len(exprs))
	for i, e := range exprs {
		var err error
		if ms[i], err = parseSegment(e); err != nil {
			return LoadResult{}, err
		}
	}
	keys := make([]string, len(exprs))
	for i := range keys {
		keys[i] = RedisSegmentKey(i)
	}
	pop := NewPopulation(o.Seed)
	return loadCustomers(ctx, o, "redis segments", func() customerWriter {
		return func(c *Conn, i int) int {
			cu := pop.Customer(i)
			n := 0
			for j, m := range ms {
				if m.match(&cu) {
					c.Command("SADD", keys[j], cu.Key)
					n++
				}
			}
			return n
		}
	})
}
