package server

// EVENT fields over the wire: ENT.TRACK, FIELD.CREATE … EVENT, FIELD.INFO and
// ENT.GET of events, event predicates and windows, event measures, TOP and
// SAMPLE in expressions, persistence from the log and from a snapshot,
// pipelining, periodic expiry and bad input.

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segd-db/segd/index"
)

// testClock is an engine clock a test moves by hand.
type testClock struct{ unix atomic.Int64 }

func newTestClock(t time.Time) *testClock {
	c := &testClock{}
	c.set(t)
	return c
}

func (c *testClock) set(t time.Time)     { c.unix.Store(t.Unix()) }
func (c *testClock) now() time.Time      { return time.Unix(c.unix.Load(), 0).UTC() }
func (c *testClock) add(d time.Duration) { c.set(c.now().Add(d)) }

const day = 24 * time.Hour

// eventsNow is the fixed "now" of the tests that use a test clock.
var eventsNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func unixArg(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// seedEvents tracks the events of the index package's TestEventBasics, with
// every form of AT, plus an entity without events.
func seedEvents(t *testing.T, c doer, now time.Time) {
	t.Helper()
	ok := func(args ...any) {
		t.Helper()
		expectEq(t, fmtArgs(args), do(t, c, args...), "OK")
	}
	ok("ENT.TRACK", "u:1", "purchase:shirts")                                                         // now, from the clock
	ok("ENT.TRACK", "u:1", "purchase:shirts", "AT", unixArg(now.Add(-20*day)))                        // Unix seconds
	ok("ENT.TRACK", "u:1", "purchase:shirts", "at", now.Add(-40*day).Format(time.RFC3339))            // RFC 3339, any case
	ok("ENT.TRACK", "u:2", "purchase:shirts", "AT", now.Add(-100*day).Format("2006-01-02"))           // a date
	ok("ENT.TRACK", "u:2", "purchase:shoes", "AMOUNT", "5")                                           // amount
	ok("ENT.TRACK", "u:2", "purchase:shoes:red", "AMOUNT", "1", "AT", unixArg(now.Add(-time.Minute))) // the first ':' splits
	ok("ENT.TRACK", "u:3", "cart_add", "AT", unixArg(now.Add(-2*day)))                                // no value
	ok("ENT.TRACK", "u:1", "cart_add", "AT", unixArg(now.Add(-3*day)))                                //
	ok("ENT.TRACK", "u:4", "spend:apparel", "AT", unixArg(now.Add(-10*day)), "AMOUNT", "12000")       //
	ok("ENT.TRACK", "u:1", "spend:apparel", "AMOUNT", "5000", "AT", unixArg(now.Add(-300*day)))       // options in any order
	ok("ENT.TRACK", "u:1", "spend:apparel", "AT", unixArg(now.Add(-30*day)), "AMOUNT", "100")         //
	expectEq(t, "ENT.SET u:5", doInt(t, c, "ENT.SET", "u:5", "country", "US", "age", "40"), int64(2)) // no events at all
}

func sortedKeys(a []any) []string {
	out := make([]string, len(a))
	for i, k := range a {
		out[i] = k.(string)
	}
	sort.Strings(out)
	return out
}

// members is every key of QUERY.MEMBERS expr [AT at], sorted.
func members(t *testing.T, c doer, expr string, extra ...any) []string {
	t.Helper()
	var out []string
	cursor := "0"
	for {
		args := append([]any{"QUERY.MEMBERS", expr, "CURSOR", cursor, "COUNT", 3}, extra...)
		page := doArr(t, c, args...)
		cursor = page[0].(string)
		out = append(out, sortedKeys(page[1].([]any))...)
		if cursor == "0" {
			break
		}
	}
	sort.Strings(out)
	return out
}

func TestEventsTrackAndQuery(t *testing.T) {
	forEachProto(t, func(t *testing.T, proto int) {
		now := eventsNow
		clock := newTestClock(now)
		srv := startServer(t, func(c *Config) { c.clock = clock.now })
		c := newClient(t, srv, proto)
		seedEvents(t, c, now)

		// The first ENT.TRACK made a DAY EVENT field with the default retention.
		info := doMap(t, c, proto, "FIELD.INFO", "purchase")
		for k, want := range map[string]any{"name": "purchase", "kind": "EVENT", "granularity": "DAY", "retention": "400d", "values": int64(3), "entities": int64(2)} {
			expectEq(t, "FIELD.INFO purchase "+k, info[k], want)
		}
		if b, _ := info["bytes"].(int64); b <= 0 {
			t.Errorf("FIELD.INFO purchase bytes = %v", info["bytes"])
		}
		expectEq(t, "FIELD.INFO cart_add values", doMap(t, c, proto, "FIELD.INFO", "cart_add")["values"], int64(0))
		expectEq(t, "FIELD.LIST", doArr(t, c, "FIELD.LIST"), []any{
			[]any{"age", "INT"}, []any{"cart_add", "EVENT"}, []any{"country", "ENUM"}, []any{"purchase", "EVENT"}, []any{"spend", "EVENT"},
		})
		country := doMap(t, c, proto, "FIELD.INFO", "country")
		expectEq(t, "FIELD.INFO country granularity", country["granularity"], nil)
		expectEq(t, "FIELD.INFO country retention", country["retention"], nil)
		if _, ok := country["retention"]; !ok {
			t.Errorf("FIELD.INFO country has no retention key: %v", country)
		}

		counts := map[string]int64{
			"purchase:shirts >= 3 IN 90d":           1,
			"purchase:shirts >= 1 IN 90d":           1,
			"purchase:shirts IN 90d":                1,
			"purchase:shirts EVER":                  2,
			"purchase:shirts":                       2,
			"purchase:shirts < 3 IN 90d":            4, // zero satisfies it: u:2..u:5
			"purchase:shirts = 0 IN 90d":            4,
			"purchase < 1 IN 7d":                    3, // u:3, u:4, u:5
			"purchase >= 5 IN 1d":                   1,
			"purchase:(shirts,shoes) >= 2 IN 1d":    1,
			"purchase:* >= 8":                       0,
			"purchase >= 7":                         1, // u:2: 1 + 5 + 1
			"purchase:shoes:red":                    1, // the value holds the second ':'
			"purchase:shoes":                        1,
			"cart_add IN 7d AND NOT purchase IN 7d": 1,
			"cart_add IN 3d":                        1,
			"cart_add IN 4d":                        2,
			"cart_add IN 1w":                        2,
			"spend:apparel >= 5000 IN 365d":         2,
			"spend:apparel > 12000 IN 365d":         0,
			"spend:apparel IN 365d AND age:*":       0,
			"TOP 1 BY spend:apparel IN 365d":        1,
			"TOP 50% BY spend:apparel IN 365d":      1,
			"TOP 10 BY spend:apparel IN 365d":       2, // only those that have the measure
			"TOP 1 BY age":                          1,
			"SAMPLE 100%":                           5,
			"purchase IN 1d AND country:US":         0,
			"NOT (purchase EVER OR cart_add EVER)":  2, // u:4, u:5
		}
		for expr, want := range counts {
			if got := doInt(t, c, "QUERY.COUNT", expr); got != want {
				t.Errorf("QUERY.COUNT %q = %d, want %d", expr, got, want)
			}
		}
		// AT moves relative windows back; BETWEEN is absolute.
		at := now.Add(-30 * day)
		for expr, want := range map[string]int64{
			"purchase:shirts >= 3 IN 90d": 0,
			"purchase:shirts IN 90d":      2, // u:1 40 days ago, u:2 100 days ago
			"purchase IN 1d":              0,
			"spend IN 1d":                 1, // u:1's 100 on that day
		} {
			for _, a := range []string{unixArg(at), at.Format(time.RFC3339), at.Format("2006-01-02")} {
				if got := doInt(t, c, "QUERY.COUNT", expr, "AT", a); got != want {
					t.Errorf("QUERY.COUNT %q AT %s = %d, want %d", expr, a, got, want)
				}
			}
		}
		between := fmt.Sprintf("purchase:shirts BETWEEN %s AND %s", now.Add(-45*day).Format("2006-01-02"), now.Add(-15*day).Format(time.RFC3339))
		expectEq(t, between, members(t, c, between), []string{"u:1"})
		// No window reaches past the AT time, BETWEEN included.
		expectEq(t, between+" AT -30d", doInt(t, c, "QUERY.COUNT", between, "AT", unixArg(at)), int64(1))
		expectEq(t, between+" AT -50d", doInt(t, c, "QUERY.COUNT", between, "AT", unixArg(now.Add(-50*day))), int64(0))

		expectEq(t, "MEMBERS cart_add and not purchase", members(t, c, "cart_add IN 7d AND NOT purchase IN 7d"), []string{"u:3"})
		expectEq(t, "MEMBERS zero rule", members(t, c, "purchase < 1 IN 7d"), []string{"u:3", "u:4", "u:5"})
		expectEq(t, "MEMBERS TOP 1", members(t, c, "TOP 1 BY spend:apparel IN 365d"), []string{"u:4"})
		expectEq(t, "MEMBERS TOP 1 AT", members(t, c, "TOP 1 BY spend:apparel IN 365d", "AT", unixArg(now.Add(-200*day))), []string{"u:1"})
		expectEq(t, "MEMBERS TOP 50% of purchases", members(t, c, "TOP 50% BY purchase"), []string{"u:2"})
		expectEq(t, "ISMEMBER TOP", doInt(t, c, "QUERY.ISMEMBER", "TOP 1 BY spend:apparel IN 365d", "u:4"), int64(1))
		expectEq(t, "ISMEMBER TOP other", doInt(t, c, "QUERY.ISMEMBER", "TOP 1 BY spend:apparel IN 365d", "u:1"), int64(0))
		expectEq(t, "ISMEMBER zero rule", doInt(t, c, "QUERY.ISMEMBER", "purchase < 1 IN 7d", "u:5"), int64(1))
		expectEq(t, "ISMEMBER zero rule, unknown key", doInt(t, c, "QUERY.ISMEMBER", "purchase < 1 IN 7d", "u:nobody"), int64(0))
		// As of 10 days ago, IN 31d reaches back to the bucket of 40 days ago, IN 30d does not.
		expectEq(t, "ISMEMBER AT", doInt(t, c, "QUERY.ISMEMBER", "purchase:shirts >= 2 IN 31d", "u:1", "AT", unixArg(now.Add(-10*day))), int64(1))
		expectEq(t, "ISMEMBER AT 30d", doInt(t, c, "QUERY.ISMEMBER", "purchase:shirts >= 2 IN 30d", "u:1", "AT", unixArg(now.Add(-10*day))), int64(0))
		if plan := doArr(t, c, "QUERY.EXPLAIN", "cart_add IN 7d AND NOT purchase IN 7d AND SAMPLE 50% SEED 2"); len(plan) != 4 {
			t.Errorf("QUERY.EXPLAIN = %#v", plan)
		}

		// SAMPLE is the hash of the key and the seed: the reference definition
		// is index.InSample, and a sample and its complement split everyone.
		all := members(t, c, "ALL")
		for _, p := range []int64{10, 40, 75} {
			for _, seed := range []int64{0, 7, -3} {
				expr := fmt.Sprintf("SAMPLE %d%% SEED %d", p, seed)
				var want []string
				for _, k := range all {
					if index.InSample(k, p, seed) {
						want = append(want, k)
					}
				}
				if got := members(t, c, expr); strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("%s = %v, want %v", expr, got, want)
				}
				in, out := doInt(t, c, "QUERY.COUNT", expr), doInt(t, c, "QUERY.COUNT", "NOT "+expr)
				if in+out != int64(len(all)) {
					t.Errorf("%s: %d in + %d out != %d", expr, in, out, len(all))
				}
			}
		}
		expectEq(t, "SAMPLE without SEED is SEED 0", doInt(t, c, "QUERY.COUNT", "SAMPLE 40% XOR SAMPLE 40% SEED 0"), int64(0))

		// Event measures.
		st := doMap(t, c, proto, "QUERY.STATS", "spend:apparel IN 365d")
		expectEq(t, "STATS count", st["count"], int64(2))
		expectEq(t, "STATS sum", st["sum"], int64(17100))
		expectEq(t, "STATS min", st["min"], int64(5100))
		expectEq(t, "STATS max", st["max"], int64(12000))
		if m := doubleReply(t, proto, st["mean"], "STATS mean"); m != 8550 {
			t.Errorf("STATS mean = %v", m)
		}
		st = doMap(t, c, proto, "QUERY.STATS", "spend IN 31d", "WHERE", "purchase EVER")
		expectEq(t, "STATS WHERE count", st["count"], int64(1))
		expectEq(t, "STATS WHERE sum", st["sum"], int64(100))
		st = doMap(t, c, proto, "QUERY.STATS", "spend:apparel IN 30d", "AT", unixArg(now.Add(-250*day)))
		expectEq(t, "STATS AT count", st["count"], int64(0))
		expectEq(t, "STATS AT min", st["min"], nil)
		expectEq(t, "TOP", doArr(t, c, "QUERY.TOP", "5", "spend:apparel IN 365d"), []any{[]any{"u:4", int64(12000)}, []any{"u:1", int64(5100)}})
		expectEq(t, "TOP AT", doArr(t, c, "QUERY.TOP", "5", "spend:apparel IN 365d", "AT", unixArg(now.Add(-200*day))), []any{[]any{"u:1", int64(5000)}})
		expectEq(t, "TOP WHERE", doArr(t, c, "QUERY.TOP", "5", "purchase", "WHERE", "cart_add"), []any{[]any{"u:1", int64(3)}})
		expectEq(t, "TOP ties by key", doArr(t, c, "QUERY.TOP", "5", "cart_add EVER"), []any{[]any{"u:1", int64(1)}, []any{"u:3", int64(1)}})

		// Values of EVENT fields: entities with an occurrence in the retention.
		expectEq(t, "FIELD.VALUES purchase", doArr(t, c, "FIELD.VALUES", "purchase"), []any{
			[]any{"shirts", int64(2)}, []any{"shoes", int64(1)}, []any{"shoes:red", int64(1)},
		})
		expectEq(t, "GROUPBY purchase WHERE", doArr(t, c, "QUERY.GROUPBY", "purchase", "WHERE", "cart_add"), []any{[]any{"shirts", int64(1)}})
		expectEq(t, "GROUPBY purchase AT", doArr(t, c, "QUERY.GROUPBY", "purchase", "AT", unixArg(now.Add(-50*day))), []any{[]any{"shirts", int64(1)}})

		// ENT.GET: value -> amount over the retention, "*" (every occurrence) first.
		u2 := []any{"*", int64(7), "shirts", int64(1), "shoes", int64(5), "shoes:red", int64(1)}
		u1purchase := []any{"*", int64(3), "shirts", int64(3)}
		u1spend := []any{"*", int64(5100), "apparel", int64(5100)}
		switch proto {
		case 2:
			expectEq(t, "ENT.GET u:2", do(t, c, "ENT.GET", "u:2"), []any{"purchase", u2})
			expectEq(t, "ENT.GET u:1", do(t, c, "ENT.GET", "u:1"), []any{"cart_add", []any{"*", int64(1)}, "purchase", u1purchase, "spend", u1spend})
			expectEq(t, "ENT.GET u:2 fields", do(t, c, "ENT.GET", "u:2", "spend", "purchase", "cart_add"), []any{"purchase", u2})
		case 3:
			asMap3 := func(flat []any) map[any]any {
				m := map[any]any{}
				for i := 0; i < len(flat); i += 2 {
					m[flat[i]] = flat[i+1]
				}
				return m
			}
			expectEq(t, "ENT.GET u:2", do(t, c, "ENT.GET", "u:2"), map[any]any{"purchase": asMap3(u2)})
			expectEq(t, "ENT.GET u:1", do(t, c, "ENT.GET", "u:1"), map[any]any{
				"cart_add": map[any]any{"*": int64(1)}, "purchase": asMap3(u1purchase), "spend": asMap3(u1spend),
			})
		}
		expectEq(t, "ENT.GET u:4 purchase", doMap(t, c, proto, "ENT.GET", "u:4", "purchase"), map[string]any{})
		expectEq(t, "ENT.GET unknown key", do(t, c, "ENT.GET", "u:nobody", "purchase"), nil)
		// The wire order of the event map: "*" first, then by value.
		rc := dialRESP(t, srv)
		if proto == 3 {
			rc.do("HELLO", "3")
		}
		got := rc.do("ENT.GET", "u:2", "purchase")
		var inner any
		switch v := got.(type) {
		case []any:
			inner = v[1]
		case respMap:
			inner = v[1]
		}
		var flat []any
		switch v := inner.(type) {
		case []any:
			flat = v
		case respMap:
			flat = v
		}
		if proto == 3 {
			if _, ok := inner.(respMap); !ok {
				t.Errorf("RESP3 ENT.GET event value is %T, want a map", inner)
			}
		}
		expectEq(t, "ENT.GET wire order", flat, u2)

		// An event a little ahead of the clock is accepted (skew) and shows
		// in ENT.GET and in windows that reach its bucket.
		expectEq(t, "ENT.TRACK ahead", do(t, c, "ENT.TRACK", "u:5", "spend:apparel", "AT", unixArg(now.Add(index.MaxFutureSkew-time.Second))), "OK")
		expectEq(t, "u:5 spend", doInt(t, c, "QUERY.COUNT", "spend:apparel = 1 IN 1d AND country:US"), int64(1))

		// The retention bounds what ENT.GET sums and what windows see: once
		// the clock is more than 400 days past u:1's 5000, it is gone, with
		// or without expiry having run.
		clock.add(101 * day)
		spend := doMap(t, c, proto, "ENT.GET", "u:1", "spend")["spend"]
		want := map[string]any{"*": int64(100), "apparel": int64(100)}
		if got := asMap(t, proto, spend, "ENT.GET u:1 spend"); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("ENT.GET u:1 spend after 101 days = %v, want %v", got, want)
		}
		expectEq(t, "spend EVER after 101 days", doInt(t, c, "QUERY.COUNT", "spend:apparel >= 5000"), int64(1))
	})
}

func TestEventsFieldCreate(t *testing.T) {
	forEachProto(t, func(t *testing.T, proto int) {
		now := eventsNow
		clock := newTestClock(now)
		srv := startServer(t, func(c *Config) { c.clock = clock.now })
		c := newClient(t, srv, proto)
		info := func(f string) map[string]any { return doMap(t, c, proto, "FIELD.INFO", f) }

		expectEq(t, "FIELD.CREATE visits HOUR 48h", do(t, c, "FIELD.CREATE", "visits", "EVENT", "GRANULARITY", "HOUR", "RETENTION", "48h"), "OK")
		v := info("visits")
		expectEq(t, "visits kind", v["kind"], "EVENT")
		expectEq(t, "visits granularity", v["granularity"], "HOUR")
		expectEq(t, "visits retention", v["retention"], "2d") // expr.FormatDuration: the largest exact unit
		expectEq(t, "visits values", v["values"], int64(0))
		expectEq(t, "visits entities", v["entities"], int64(0))
		// The same definition again, in any spelling, is OK.
		expectEq(t, "again", do(t, c, "FIELD.CREATE", "visits", "event", "retention", "2d", "granularity", "hour"), "OK")
		expectEq(t, "again 48h", do(t, c, "FIELD.CREATE", "visits", "EVENT", "GRANULARITY", "HOUR", "RETENTION", "48h"), "OK")

		expectEq(t, "FIELD.CREATE opens", do(t, c, "FIELD.CREATE", "opens", "EVENT"), "OK")
		o := info("opens")
		expectEq(t, "opens granularity", o["granularity"], "DAY")
		expectEq(t, "opens retention", o["retention"], "400d")
		expectEq(t, "opens again explicit", do(t, c, "FIELD.CREATE", "opens", "EVENT", "GRANULARITY", "DAY", "RETENTION", "400d"), "OK")
		expectEq(t, "FIELD.CREATE clicks 90d", do(t, c, "FIELD.CREATE", "clicks", "EVENT", "RETENTION", "90d"), "OK")
		expectEq(t, "clicks retention", info("clicks")["retention"], "90d")
		expectEq(t, "FIELD.CREATE weekly 2w", do(t, c, "FIELD.CREATE", "weekly", "EVENT", "RETENTION", "14d"), "OK")
		expectEq(t, "weekly retention", info("weekly")["retention"], "2w")

		// An HOUR field: windows in hours, retention of 48 hours.
		for _, h := range []int{0, 1, 30, 47} {
			expectEq(t, fmt.Sprint("track -", h, "h"), do(t, c, "ENT.TRACK", fmt.Sprint("u:", h), "visits:home", "AT", unixArg(now.Add(-time.Duration(h)*time.Hour))), "OK")
		}
		for expr, want := range map[string]int64{
			"visits IN 1h":  1,
			"visits IN 2h":  2,
			"visits IN 36h": 3,
			"visits IN 1d":  2,
			"visits IN 2d":  4,
			"visits IN 1w":  4, // clamped to the retention
			"visits EVER":   4,
		} {
			expectEq(t, "QUERY.COUNT "+expr, doInt(t, c, "QUERY.COUNT", expr), want)
		}
		e := doErr(t, c, "ENT.TRACK", "u:x", "visits", "AT", unixArg(now.Add(-49*time.Hour)))
		if !strings.HasPrefix(e, "ERR event time ") || !strings.Contains(e, "older than the 2d retention") {
			t.Errorf("ENT.TRACK 49h ago on a 48h field: %q", e)
		}
		expectEq(t, "u:x not created", doInt(t, c, "ENT.EXISTS", "u:x"), int64(0))
		// Two hours later the oldest visit has left the retention.
		clock.add(2 * time.Hour)
		expectEq(t, "visits EVER two hours later", doInt(t, c, "QUERY.COUNT", "visits EVER"), int64(3))
		expectEq(t, "visits entities two hours later", info("visits")["entities"], int64(3))
	})
}
