package bench

// The same population in a real Redis, modelled with Redis's own structures,
// and the query classes that segd-bench redis runs on both servers.
//
// Redis model: one SET per attribute value, named like segd's term
// ("country:c1", "gender:F", "interests:i1", …) and holding the customer keys
// ("u:N"); a sorted set per INT field ("age", "income") scored by the value;
// and, for the range class, one SET per age year ("age:25"). The age-year sets
// let an age range be answered without Lua and without writing a temporary
// key: country:c2 AND age:[25 TO 34] is the sum of the ten SINTERCARDs of
// country:c2 with age:25 … age:34 (the year sets are disjoint, so the sum is
// exact).

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RedisCommands are the Redis writes that load customer c: an SADD per SET
// the customer belongs to and a ZADD per INT field.
func (c Customer) RedisCommands() [][]string {
	out := [][]string{
		{"SADD", "country:" + c.Country, c.Key},
		{"SADD", "city:" + c.City, c.Key},
		{"SADD", "gender:" + c.Gender, c.Key},
		{"SADD", "tier:" + c.Tier, c.Key},
		{"SADD", "device:" + c.Device, c.Key},
		{"SADD", "lang:" + c.Lang, c.Key},
		{"SADD", "age:" + strconv.FormatInt(c.Age, 10), c.Key},
		{"ZADD", "age", strconv.FormatInt(c.Age, 10), c.Key},
		{"ZADD", "income", strconv.FormatInt(c.Income, 10), c.Key},
	}
	for _, v := range c.Interests {
		out = append(out, []string{"SADD", "interests:" + v, c.Key})
	}
	for _, v := range c.OptIns {
		out = append(out, []string{"SADD", "optins:" + v, c.Key})
	}
	return out
}

// RedisLoad writes customers 0..Entities-1 into Redis (RedisCommands, one
// customer after the other, pipelined like Load). Error replies are counted.
func RedisLoad(ctx context.Context, o LoadOptions) (LoadResult, error) {
	return loadPopulation(ctx, o, "redis load", Customer.RedisCommands)
}

// Kinds of query, by the shape of their answer.
const (
	KindIsMember = "ismember" // 1/0 for one key
	KindCount    = "count"    // a cardinality
	KindMembers  = "members"  // a list of keys
	KindList     = "list"     // a list of names, compared as a whole
)

// How the replies of a query's Redis commands make its answer.
const (
	CombineDefault = iota // sum the integers (AND them for a keyed query); count array elements
	CombineUnion          // count the distinct elements of every array reply
	CombineNames          // keyed: the Names of the commands that answered 1
)

// Query is one query of a class, as segd and Redis commands. When Keyed, the
// customer key is appended to the segd command and to every Redis command.
type Query struct {
	Expr  string     // the segd expression
	Segd  []string   // the segd command
	Redis [][]string // the Redis commands of the one logical operation
	Keyed bool
	// Combine says how the Redis replies make the answer; Names name the
	// Redis commands for CombineNames.
	Combine int
	Names   []string
}

// Class is a set of equivalent queries run on both servers.
type Class struct {
	Name    string
	Kind    string
	Segd    string // what segd is sent, for tables
	Redis   string // what Redis is sent
	Heavy   bool   // computes over whole sets: run with the query pipeline
	Needs   string // data beyond the profiles: NeedsSegments, NeedsEvents or ""
	Queries []Query
}

func terms(ts ...string) string { return strings.Join(ts, " AND ") }

func countQuery(ts ...string) Query {
	return Query{Expr: terms(ts...), Segd: []string{"QUERY.COUNT", terms(ts...)},
		Redis: [][]string{append([]string{"SINTERCARD", strconv.Itoa(len(ts))}, ts...)}}
}

// Values the multi-term classes draw from: the most common values.
var (
	qCountries = []string{"country:c1", "country:c2", "country:c3", "country:c4", "country:c5", "country:c6", "country:c7", "country:c8"}
	qGenders   = []string{"gender:F", "gender:M"}
	qInterests = []string{"interests:i1", "interests:i2", "interests:i3", "interests:i4"}
	qTiers     = []string{"tier:bronze", "tier:silver"}
	qDevices   = []string{"device:ios", "device:android"}
)

// RangeLo and RangeHi bound the age range of the range class.
const (
	RangeLo = 25
	RangeHi = 34
)

// Classes are the query classes, in the order they run; the event-window
// classes evaluate their windows as of end (segd: AT end; Redis: the day sets
// of the days ending with end's UTC day).
func Classes(end time.Time) []Class {
	var c2, c3, c5, rng, mem []Query
	for _, c := range qCountries {
		for _, g := range qGenders {
			c2 = append(c2, countQuery(c, g))
			m := Query{Expr: terms(c, g), Segd: []string{"QUERY.MEMBERS", terms(c, g), "COUNT", "100"},
				Redis: [][]string{{"SINTER", c, g}}}
			mem = append(mem, m)
			for _, i := range qInterests {
				c3 = append(c3, countQuery(c, g, i))
				for _, t := range qTiers {
					for _, d := range qDevices {
						c5 = append(c5, countQuery(c, g, i, t, d))
					}
				}
			}
		}
		expr := fmt.Sprintf("%s AND age:[%d TO %d]", c, RangeLo, RangeHi)
		q := Query{Expr: expr, Segd: []string{"QUERY.COUNT", expr}}
		for y := RangeLo; y <= RangeHi; y++ {
			q.Redis = append(q.Redis, []string{"SINTERCARD", "2", c, "age:" + strconv.Itoa(y)})
		}
		rng = append(rng, q)
	}
	one := Query{Expr: "interests:" + TopInterest, Segd: []string{"QUERY.ISMEMBER", "interests:" + TopInterest},
		Redis: [][]string{{"SISMEMBER", "interests:" + TopInterest}}, Keyed: true}
	three := Query{Expr: IsMemberExpr, Segd: []string{"QUERY.ISMEMBER", IsMemberExpr}, Keyed: true,
		Redis: [][]string{{"SISMEMBER", "country:" + TopCountry}, {"SISMEMBER", "gender:F"}, {"SISMEMBER", "interests:" + TopInterest}}}
	return append([]Class{
		{Name: "ismember-1", Kind: KindIsMember, Segd: `QUERY.ISMEMBER "interests:i1" u:K`,
			Redis: "SISMEMBER interests:i1 u:K", Queries: []Query{one}},
		{Name: "ismember-3", Kind: KindIsMember, Segd: `QUERY.ISMEMBER "<3 terms>" u:K`,
			Redis: "3 × SISMEMBER, pipelined", Queries: []Query{three}},
		{Name: "count-2", Kind: KindCount, Heavy: true, Segd: "QUERY.COUNT country AND gender",
			Redis: "SINTERCARD 2 …", Queries: c2},
		{Name: "count-3", Kind: KindCount, Heavy: true, Segd: "QUERY.COUNT + interests",
			Redis: "SINTERCARD 3 …", Queries: c3},
		{Name: "count-5", Kind: KindCount, Heavy: true, Segd: "QUERY.COUNT + tier, device",
			Redis: "SINTERCARD 5 …", Queries: c5},
		{Name: "range", Kind: KindCount, Heavy: true, Segd: "QUERY.COUNT country AND age:[25 TO 34]",
			Redis: "10 × SINTERCARD 2 country age:Y", Queries: rng},
		{Name: "members", Kind: KindMembers, Heavy: true, Segd: "QUERY.MEMBERS country AND gender COUNT 100",
			Redis: "SINTER country gender (whole set)", Queries: mem},
		segmentOfClass(),
	}, windowClasses(end)...)
}

// ClassByName finds a class (see Classes for end).
func ClassByName(name string, end time.Time) (Class, bool) {
	for _, c := range Classes(end) {
		if c.Name == name {
			return c, true
		}
	}
	return Class{}, false
}

// pick draws a query and, for keyed classes, a customer; both servers see the
// same draws for the same seed and client.
func (c Class) pick(r *rand.Rand, entities int) (Query, int64) {
	q := c.Queries[0]
	if len(c.Queries) > 1 {
		q = c.Queries[r.IntN(len(c.Queries))]
	}
	var k int64
	if q.Keyed {
		k = r.Int64N(int64(max(entities, 1)))
	}
	return q, k
}

// writeCmd writes args, followed by the customer key when keyed.
func writeCmd(c *Conn, args []string, keyed bool, k int64) {
	n := len(args)
	if keyed {
		n++
	}
	c.Begin(n)
	for _, a := range args {
		c.Arg(a)
	}
	if keyed {
		c.ArgKey("u:", k)
	}
}

// write sends the query to one server and returns how many replies follow.
func (q Query) write(c *Conn, redis bool, k int64) int {
	if !redis {
		writeCmd(c, q.Segd, q.Keyed, k)
		return 1
	}
	for _, cmd := range q.Redis {
		writeCmd(c, cmd, q.Keyed, k)
	}
	return len(q.Redis)
}

// Answer runs q once on a server and reduces its reply to a number: 1/0 for
// membership, the count, or the number of keys (for QUERY.MEMBERS, those of
// the first page; for SINTER, all of them). The keys are returned too.
func (q Query) Answer(c *Conn, redis bool, key int64) (int64, []string, error) {
	n := q.write(c, redis, key)
	if err := c.Flush(); err != nil {
		return 0, nil, err
	}
	var total int64
	var keys []string
	all := int64(1)
	distinct := map[string]bool{}
	for i := 0; i < n; i++ {
		r, err := c.ReadReply()
		if err == nil {
			err = r.Err()
		}
		if err != nil {
			return 0, nil, err
		}
		switch {
		case redis && q.Combine == CombineNames:
			if r.Type != ':' {
				return 0, nil, fmt.Errorf("unexpected reply type %q", r.Type)
			}
			if r.Int == 1 {
				keys = append(keys, q.Names[i])
				total++
			}
		case redis && q.Combine == CombineUnion:
			if r.Type != '*' && r.Type != '~' {
				return 0, nil, fmt.Errorf("unexpected reply type %q", r.Type)
			}
			for _, e := range r.Elems {
				distinct[e.Str] = true
			}
			total = int64(len(distinct))
		case r.Type == ':':
			total += r.Int
			all &= r.Int
		case !redis && q.Segd[0] == "QUERY.MEMBERS" && len(r.Elems) == 2: // [cursor, [keys]]
			keys = strs(r.Elems[1].Elems)
			total += int64(len(keys))
		case r.Type == '*' || r.Type == '~':
			keys = strs(r.Elems)
			total += int64(len(keys))
		default:
			return 0, nil, fmt.Errorf("unexpected reply type %q", r.Type)
		}
	}
	if q.Keyed && redis && q.Combine == CombineDefault {
		return all, nil, nil
	}
	return total, keys, nil
}

func strs(rs []Reply) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Str
	}
	return out
}

// ErrNotEquivalent is returned by CheckEquivalence when the servers disagree.
var ErrNotEquivalent = errors.New("segd and Redis disagree")

// CheckEquivalence asks both servers every query of the classes (keyed ones
// for the given customers) and fails on the first differing answer. For the
// members class segd's QUERY.COUNT is compared with the size of SINTER and
// every key of segd's first page must be in it; for SEGMENT.OF the lists of
// segment names must be equal.
func CheckEquivalence(segd, redis *Conn, classes []Class, keys []int64) (checked int, err error) {
	for _, cl := range classes {
		for _, q := range cl.Queries {
			ks := []int64{0}
			if q.Keyed {
				ks = keys
			}
			for _, k := range ks {
				sq := q
				if cl.Kind == KindMembers {
					sq = Query{Segd: []string{"QUERY.COUNT", q.Expr}}
				}
				a, skeys, err := sq.Answer(segd, false, k)
				if err != nil {
					return checked, fmt.Errorf("segd %s: %w", q.Expr, err)
				}
				b, rkeys, err := q.Answer(redis, true, k)
				if err != nil {
					return checked, fmt.Errorf("redis %v: %w", q.Redis, err)
				}
				if a != b {
					return checked, fmt.Errorf("%w on %s (key u:%d): segd %d, Redis %d", ErrNotEquivalent, q.Expr, k, a, b)
				}
				if cl.Kind == KindList {
					if !slices.Equal(skeys, rkeys) {
						return checked, fmt.Errorf("%w on %s u:%d: segd %v, Redis %v", ErrNotEquivalent, q.Expr, k, skeys, rkeys)
					}
				}
				if cl.Kind == KindMembers {
					_, page, err := q.Answer(segd, false, 0)
					if err != nil {
						return checked, err
					}
					in := make(map[string]bool, len(rkeys))
					for _, k := range rkeys {
						in[k] = true
					}
					for _, k := range page {
						if !in[k] {
							return checked, fmt.Errorf("%w: %s is on segd's page of %s but not in SINTER", ErrNotEquivalent, k, q.Expr)
						}
					}
				}
				checked++
			}
		}
	}
	return checked, nil
}
