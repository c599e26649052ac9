// Package bench generates segd's synthetic retail population and drives load
// against a server. The generator is deterministic: customer i of a seed is
// the same on every machine and in every process, so loads can run in
// parallel and Redis and segd see the same data.
package bench

import (
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/segd-db/segd/index"
)

// Customer is one generated customer's profile.
type Customer struct {
	Key       string
	Country   string
	City      string
	Gender    string
	Tier      string
	Device    string
	Lang      string
	Interests []string
	OptIns    []string
	Age       int64
	Income    int64
}

// Population generates customers for one seed.
type Population struct {
	Seed      uint64
	countries *zipf
	cities    *zipf
	langs     *zipf
	devices   *zipf
	interests *zipf
}

var (
	genders = []string{"F", "M", "X"}
	tiers   = []string{"bronze", "silver", "gold", "platinum"}
	devices = []string{"ios", "android", "web", "desktop", "tablet", "tv"}
	optIns  = []string{"email", "sms", "push", "whatsapp", "post"}
)

// NewPopulation prepares the value distributions for a seed.
func NewPopulation(seed uint64) *Population {
	return &Population{
		Seed:      seed,
		countries: newZipf(50, 1.1, "c"),
		cities:    newZipf(5000, 1.05, "city"),
		langs:     newZipf(20, 1.2, "lang"),
		devices:   newZipfValues(devices, 0.8),
		interests: newZipf(200, 1.0, "i"),
	}
}

// Key is customer i's key.
func Key(i int) string { return "u:" + strconv.Itoa(i) }

// Customer generates customer i.
func (p *Population) Customer(i int) Customer {
	r := rng{s: p.Seed*0x9E3779B97F4A7C15 ^ uint64(i)*0xBF58476D1CE4E5B9}
	r.next()
	c := Customer{
		Key:     Key(i),
		Country: p.countries.sample(&r),
		City:    p.cities.sample(&r),
		Gender:  genders[weighted(&r, []float64{0.49, 0.49, 0.02})],
		Tier:    tiers[weighted(&r, []float64{0.6, 0.25, 0.12, 0.03})],
		Device:  p.devices.sample(&r),
		Lang:    p.langs.sample(&r),
		Age:     18 + int64(math.Min(72, math.Abs(r.norm()*14+20))),
		Income:  int64(math.Exp(10.3 + 0.6*r.norm())),
	}
	n := int(r.uint64() % 9) // 0–8 interests
	seen := map[string]bool{}
	for len(c.Interests) < n {
		v := p.interests.sample(&r)
		if !seen[v] {
			seen[v] = true
			c.Interests = append(c.Interests, v)
		}
	}
	for _, o := range optIns {
		if r.float() < 0.4 {
			c.OptIns = append(c.OptIns, o)
		}
	}
	return c
}

// Mutations are the writes that load customer c: one ENT.SET and an ENT.ADD
// per non-empty TAGS field.
func (c Customer) Mutations() []*index.Mutation {
	ms := []*index.Mutation{{Op: index.OpSet, Key: c.Key, Pairs: []index.Pair{
		{Field: "country", Value: c.Country}, {Field: "city", Value: c.City}, {Field: "gender", Value: c.Gender},
		{Field: "tier", Value: c.Tier}, {Field: "device", Value: c.Device}, {Field: "lang", Value: c.Lang},
		{Field: "age", Value: strconv.FormatInt(c.Age, 10)}, {Field: "income", Value: strconv.FormatInt(c.Income, 10)},
	}}}
	if len(c.Interests) > 0 {
		ms = append(ms, &index.Mutation{Op: index.OpAdd, Key: c.Key, Field: "interests", Values: c.Interests})
	}
	if len(c.OptIns) > 0 {
		ms = append(ms, &index.Mutation{Op: index.OpAdd, Key: c.Key, Field: "optins", Values: c.OptIns})
	}
	return ms
}

// Commands are the same writes as RESP commands.
func (c Customer) Commands() [][]string {
	var out [][]string
	for _, m := range c.Mutations() {
		switch m.Op {
		case index.OpSet:
			cmd := []string{"ENT.SET", m.Key}
			for _, p := range m.Pairs {
				cmd = append(cmd, p.Field, p.Value)
			}
			out = append(out, cmd)
		case index.OpAdd:
			out = append(out, append([]string{"ENT.ADD", m.Key, m.Field}, m.Values...))
		}
	}
	return out
}

// Values used by the standard queries: the most common value of each field.
const (
	TopCountry  = "c1"
	TopInterest = "i1"
)

// zipf samples ranked values with P(rank k) ∝ 1/k^s through a CDF table.
type zipf struct {
	values []string
	cdf    []float64
}

func newZipf(n int, s float64, prefix string) *zipf {
	vals := make([]string, n)
	for i := range vals {
		vals[i] = fmt.Sprintf("%s%d", prefix, i+1)
	}
	return newZipfValues(vals, s)
}

func newZipfValues(vals []string, s float64) *zipf {
	z := &zipf{values: vals, cdf: make([]float64, len(vals))}
	sum := 0.0
	for i := range vals {
		sum += 1 / math.Pow(float64(i+1), s)
		z.cdf[i] = sum
	}
	for i := range z.cdf {
		z.cdf[i] /= sum
	}
	return z
}

func (z *zipf) sample(r *rng) string {
	u := r.float()
	i := sort.SearchFloat64s(z.cdf, u)
	if i >= len(z.values) {
		i = len(z.values) - 1
	}
	return z.values[i]
}

func weighted(r *rng, w []float64) int {
	u := r.float()
	for i, p := range w {
		if u < p {
			return i
		}
		u -= p
	}
	return len(w) - 1
}

// rng is splitmix64: tiny, fast and the same everywhere.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9E3779B97F4A7C15
	z := r.s
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

func (r *rng) uint64() uint64 { return r.next() }
func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

// norm is a standard normal draw (Box–Muller).
func (r *rng) norm() float64 {
	u1 := r.float()
	if u1 < 1e-12 {
		u1 = 1e-12
	}
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*r.float())
}
