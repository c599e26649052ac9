package bench

import (
	"fmt"
	"math/rand"
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
