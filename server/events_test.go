package server

// EVENT fields over the wire: ENT.TRACK, FIELD.CREATE … EVENT, FIELD.INFO and
// ENT.GET of events, event predicates and windows, event measures, TOP and
// SAMPLE in expressions, persistence from the log and from a snapshot,
// pipelining, periodic expiry and bad input.

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

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
	t.Parallel()
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
	t.Parallel()
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

// TestEventsBadInput: each bad event command answers a clear error, keeps
// the connection and changes nothing.
func TestEventsBadInput(t *testing.T) {
	t.Parallel()
	now := eventsNow
	cases := []badCase{
		// ENT.TRACK times.
		{name: "AT too old", args: []any{"ENT.TRACK", "u:1", "purchase:shirts", "AT", unixArg(now.Add(-401 * day))}, want: "ERR event time ", contains: "older than the 400d retention of field 'purchase'"},
		{name: "AT too old (new key, new field)", args: []any{"ENT.TRACK", "u:new", "newfield", "AT", "2020-01-01"}, want: "ERR event time 2020-01-01T00:00:00Z is older than the 400d retention"},
		{name: "AT 0", args: []any{"ENT.TRACK", "u:1", "purchase", "AT", "0"}, want: "ERR event time ", contains: "older than"},
		{name: "AT too far ahead", args: []any{"ENT.TRACK", "u:1", "purchase:shirts", "AT", unixArg(now.Add(index.MaxFutureSkew + time.Second))}, want: "ERR event time ", contains: "in the future: at most 5m ahead"},
		{name: "AT next year", args: []any{"ENT.TRACK", "u:new", "newfield", "AT", "2027-06-01T00:00:00Z"}, want: "ERR event time ", contains: "in the future"},
		{name: "AT garbage", args: []any{"ENT.TRACK", "u:1", "purchase", "AT", "yesterday"}, want: "ERR invalid time 'yesterday'"},
		{name: "AT out of range", args: []any{"ENT.TRACK", "u:1", "purchase", "AT", "99999999999999"}, want: "ERR time '99999999999999' is out of range"},
		// AMOUNT.
		{name: "AMOUNT 0", args: []any{"ENT.TRACK", "u:1", "purchase", "AMOUNT", "0"}, want: "ERR AMOUNT must be a whole number from 1 to 1099511627776, not '0'"},
		{name: "AMOUNT -1", args: []any{"ENT.TRACK", "u:1", "purchase", "AMOUNT", "-1"}, want: "ERR AMOUNT must be a whole number from 1", contains: "'-1'"},
		{name: "AMOUNT abc", args: []any{"ENT.TRACK", "u:1", "purchase", "AMOUNT", "abc"}, want: "ERR AMOUNT must be a whole number from 1", contains: "'abc'"},
		{name: "AMOUNT 1.5", args: []any{"ENT.TRACK", "u:1", "purchase", "AMOUNT", "1.5"}, want: "ERR AMOUNT must be a whole number"},
		{name: "AMOUNT 2^40+1", args: []any{"ENT.TRACK", "u:1", "purchase", "AMOUNT", "1099511627777"}, want: "ERR AMOUNT must be a whole number from 1 to 1099511627776"},
		{name: "AMOUNT huge", args: []any{"ENT.TRACK", "u:new", "newfield", "AMOUNT", "99999999999999999999999"}, want: "ERR AMOUNT must be a whole number"},
		// Field and value.
		{name: "empty value", args: []any{"ENT.TRACK", "u:1", "purchase:"}, want: "ERR empty value after 'purchase:'"},
		{name: "empty value new field", args: []any{"ENT.TRACK", "u:new", "newfield:"}, want: "ERR empty value after 'newfield:'"},
		{name: "empty field", args: []any{"ENT.TRACK", "u:1", ":shirts"}, want: "ERR invalid field name ''"},
		{name: "bad field name", args: []any{"ENT.TRACK", "u:1", "bad-name:x"}, want: "ERR invalid field name 'bad-name'"},
		{name: "keyword field", args: []any{"ENT.TRACK", "u:1", "SEED"}, want: "ERR invalid field name 'SEED'", contains: "keyword"},
		{name: "value *", args: []any{"ENT.TRACK", "u:1", "purchase:*"}, want: "ERR '*' stands for every value"},
		{name: "257-byte value", args: []any{"ENT.TRACK", "u:1", "purchase:" + strings.Repeat("v", 257)}, want: "ERR value of 257 bytes"},
		{name: "empty key", args: []any{"ENT.TRACK", "", "purchase"}, want: "ERR empty key"},
		{name: "ENT.TRACK on ENUM", args: []any{"ENT.TRACK", "u:1", "country:US"}, want: "WRONGTYPE field 'country' is ENUM, use ENT.SET"},
		{name: "ENT.TRACK on INT", args: []any{"ENT.TRACK", "u:new", "age"}, want: "WRONGTYPE field 'age' is INT"},
		{name: "ENT.SET on EVENT", args: []any{"ENT.SET", "u:1", "purchase", "shirts"}, want: "WRONGTYPE field 'purchase' is EVENT, use ENT.TRACK"},
		{name: "ENT.ADD on EVENT", args: []any{"ENT.ADD", "u:1", "purchase", "shirts"}, want: "WRONGTYPE field 'purchase' is EVENT, use ENT.TRACK"},
		// Options and arity.
		{name: "arity", args: []any{"ENT.TRACK", "u:1"}, want: "ERR wrong number of arguments for 'ENT.TRACK' command"},
		{name: "unknown option", args: []any{"ENT.TRACK", "u:1", "purchase", "WHEN", "1"}, want: "ERR unknown option 'WHEN' for 'ENT.TRACK'"},
		{name: "second event", args: []any{"ENT.TRACK", "u:1", "purchase", "cart_add"}, want: "ERR unknown option 'cart_add' for 'ENT.TRACK'"},
		{name: "AT without value", args: []any{"ENT.TRACK", "u:1", "purchase", "AT"}, want: "ERR option AT needs a value"},
		{name: "AMOUNT twice", args: []any{"ENT.TRACK", "u:1", "purchase", "AMOUNT", "2", "AMOUNT", "3"}, want: "ERR option AMOUNT given twice"},
		// FIELD.CREATE.
		{name: "GRANULARITY WEEK", args: []any{"FIELD.CREATE", "x", "EVENT", "GRANULARITY", "WEEK"}, want: "ERR GRANULARITY must be HOUR or DAY, not 'WEEK'"},
		{name: "RETENTION 36h on DAY", args: []any{"FIELD.CREATE", "x", "EVENT", "RETENTION", "36h"}, want: "ERR RETENTION 36h is not a whole number of DAY buckets", contains: "1d"},
		{name: "RETENTION 90m on HOUR", args: []any{"FIELD.CREATE", "x", "EVENT", "GRANULARITY", "HOUR", "RETENTION", "90m"}, want: "ERR RETENTION 90m is not a whole number of HOUR buckets"},
		{name: "RETENTION 30m on HOUR", args: []any{"FIELD.CREATE", "x", "EVENT", "GRANULARITY", "HOUR", "RETENTION", "30m"}, want: "ERR RETENTION 30m is not a whole number of HOUR buckets"},
		{name: "RETENTION 0d", args: []any{"FIELD.CREATE", "x", "EVENT", "RETENTION", "0d"}, want: "ERR invalid duration '0d'"},
		{name: "RETENTION -1d", args: []any{"FIELD.CREATE", "x", "EVENT", "RETENTION", "-1d"}, want: "ERR invalid duration '-1d'"},
		{name: "RETENTION 10y", args: []any{"FIELD.CREATE", "x", "EVENT", "RETENTION", "10y"}, want: "ERR invalid duration '10y'"},
		{name: "RETENTION too long", args: []any{"FIELD.CREATE", "x", "EVENT", "GRANULARITY", "HOUR", "RETENTION", "1000w"}, want: "ERR RETENTION 1000w is too long"},
		{name: "GRANULARITY on INT", args: []any{"FIELD.CREATE", "x", "INT", "GRANULARITY", "HOUR"}, want: "ERR GRANULARITY and RETENTION apply to EVENT fields only"},
		{name: "RETENTION on TAGS", args: []any{"FIELD.CREATE", "x", "TAGS", "RETENTION", "30d"}, want: "ERR GRANULARITY and RETENTION apply to EVENT fields only"},
		{name: "GRANULARITY without value", args: []any{"FIELD.CREATE", "x", "EVENT", "GRANULARITY"}, want: "ERR option GRANULARITY needs a value"},
		{name: "FIELD.CREATE unknown option", args: []any{"FIELD.CREATE", "x", "EVENT", "BUCKET", "HOUR"}, want: "ERR unknown option 'BUCKET' for 'FIELD.CREATE'"},
		{name: "FIELD.CREATE other granularity", args: []any{"FIELD.CREATE", "purchase", "EVENT", "GRANULARITY", "HOUR"}, want: "ERR field 'purchase' exists as EVENT GRANULARITY DAY RETENTION 400d"},
		{name: "FIELD.CREATE other retention", args: []any{"FIELD.CREATE", "purchase", "EVENT", "RETENTION", "90d"}, want: "ERR field 'purchase' exists as EVENT"},
		{name: "FIELD.CREATE other kind", args: []any{"FIELD.CREATE", "purchase", "TAGS"}, want: "ERR field 'purchase' exists as EVENT"},
		// Queries.
		{name: "IN 36h on DAY", args: []any{"QUERY.COUNT", "purchase IN 36h"}, want: "ERR window IN 36h is not a whole number of buckets of field 'purchase', which is DAY", contains: "1d"},
		{name: "IN 30m on DAY", args: []any{"QUERY.COUNT", "purchase:shirts >= 2 IN 30m"}, want: "ERR window IN 30m"},
		{name: "IN 36h in a measure", args: []any{"QUERY.STATS", "purchase IN 36h"}, want: "ERR window IN 36h"},
		{name: "IN 36h in TOP", args: []any{"QUERY.COUNT", "TOP 3 BY purchase IN 36h"}, want: "ERR window IN 36h"},
		{name: "window on INT measure", args: []any{"QUERY.TOP", "3", "age IN 30d"}, want: "WRONGTYPE field 'age' is INT"},
		{name: "ENUM measure", args: []any{"QUERY.COUNT", "TOP 3 BY country"}, want: "WRONGTYPE field 'country' is ENUM"},
		{name: "range on EVENT", args: []any{"QUERY.COUNT", "purchase:[1 TO 3]"}, want: "WRONGTYPE field 'purchase' is EVENT"},
		{name: "window on ENUM", args: []any{"QUERY.COUNT", "country:US IN 7d"}, want: "WRONGTYPE field 'country' is ENUM; IN, BETWEEN and EVER windows apply to EVENT fields"},
		{name: "SAMPLE 0%", args: []any{"QUERY.COUNT", "SAMPLE 0%"}, want: "ERR syntax error at 8: SAMPLE p% needs p from 1 to 100"},
		{name: "SAMPLE without %", args: []any{"QUERY.COUNT", "SAMPLE 10"}, want: "ERR syntax error at 10: expected '%'"},
		{name: "TOP 0", args: []any{"QUERY.COUNT", "TOP 0 BY age"}, want: "ERR syntax error at 5: TOP needs a positive count"},
		{name: "TOP without BY", args: []any{"QUERY.COUNT", "TOP 3 age"}, want: "ERR syntax error at 7: expected BY"},
		{name: "BETWEEN bad time", args: []any{"QUERY.COUNT", "purchase BETWEEN soon AND later"}, want: "ERR syntax error at "},
		{name: "GROUPBY bad AT", args: []any{"QUERY.GROUPBY", "purchase", "AT", "soon"}, want: "ERR invalid time 'soon'"},
	}
	forEachProto(t, func(t *testing.T, proto int) {
		clock := newTestClock(now)
		srv := startServer(t, func(c *Config) { c.clock = clock.now })
		c := newClient(t, srv, proto)
		conn := c.Conn()
		defer conn.Close()
		expectEq(t, "seed", doInt(t, conn, "ENT.SET", "u:1", "country", "US", "age", "30"), int64(2))
		expectEq(t, "seed track", do(t, conn, "ENT.TRACK", "u:1", "purchase:shirts", "AMOUNT", "2"), "OK")
		id := doInt(t, conn, "CLIENT", "ID")
		before := stateOf(t, conn)
		u1 := fmt.Sprint(doMap(t, conn, proto, "ENT.GET", "u:1"))
		purchase := fmt.Sprint(doMap(t, conn, proto, "FIELD.INFO", "purchase"))
		for _, tc := range cases {
			e := doErr(t, conn, tc.args...)
			if !strings.HasPrefix(e, tc.want) || !strings.Contains(e, tc.contains) {
				t.Errorf("%s: error %q, want prefix %q containing %q", tc.name, e, tc.want, tc.contains)
			}
			if got := doStr(t, conn, "PING"); got != "PONG" {
				t.Fatalf("%s: PING after the error = %q", tc.name, got)
			}
			if after := stateOf(t, conn); after != before {
				t.Errorf("%s: state changed from %+v to %+v", tc.name, before, after)
			}
			if got := fmt.Sprint(doMap(t, conn, proto, "ENT.GET", "u:1")); got != u1 {
				t.Errorf("%s: u:1 changed from %s to %s", tc.name, u1, got)
			}
			if got := fmt.Sprint(doMap(t, conn, proto, "FIELD.INFO", "purchase")); got != purchase {
				t.Errorf("%s: purchase changed from %s to %s", tc.name, purchase, got)
			}
		}
		expectEq(t, "CLIENT ID at the end", doInt(t, conn, "CLIENT", "ID"), id)
		expectEq(t, "u:new", doInt(t, conn, "ENT.EXISTS", "u:new"), int64(0))
		for _, f := range []string{"x", "newfield", "bad-name"} {
			if e := doErr(t, conn, "FIELD.INFO", f); !strings.HasPrefix(e, "ERR unknown field") && !strings.HasPrefix(e, "ERR invalid field") {
				t.Errorf("FIELD.INFO %s after rejected writes: %q", f, e)
			}
		}
	})
}

// TestEventsPersistence: events come back after a restart from the write
// log alone and from a snapshot, each at its own time: an ENT.TRACK without
// AT replays at the time it was accepted, not at the time of the restart.
func TestEventsPersistence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	t0 := eventsNow
	clock := newTestClock(t0)
	boot := func() (*Server, *redis.Client) {
		srv := bootServer(t, dir, func(c *Config) {
			c.clock = clock.now
			c.SaveEvery, c.SaveAfter = 0, 0
		})
		t.Cleanup(func() { srv.Close() })
		return srv, newClient(t, srv, 3)
	}
	date := func(t time.Time) string { return t.Format("2006-01-02") }
	srv, c := boot()
	expectEq(t, "track now", do(t, c, "ENT.TRACK", "u:1", "purchase:shirts"), "OK")
	expectEq(t, "track AT AMOUNT", do(t, c, "ENT.TRACK", "u:2", "spend:apparel", "AT", unixArg(t0.Add(-10*day)), "AMOUNT", "250"), "OK")
	expectEq(t, "track AT AMOUNT 2", do(t, c, "ENT.TRACK", "u:2", "spend", "AT", unixArg(t0.Add(-2*day)), "AMOUNT", "1099511627776"), "OK")
	expectEq(t, "create visits", do(t, c, "FIELD.CREATE", "visits", "EVENT", "GRANULARITY", "HOUR", "RETENTION", "48h"), "OK")
	expectEq(t, "track visit", do(t, c, "ENT.TRACK", "u:3", "visits:home"), "OK")
	expectEq(t, "create empty", do(t, c, "FIELD.CREATE", "empty", "EVENT", "GRANULARITY", "HOUR"), "OK")
	sample := members(t, c, "SAMPLE 50% SEED 1")

	check := func(how string, now time.Time) {
		t.Helper()
		days := int(now.Sub(t0) / day) // u:1's purchase is in the bucket of t0, whatever the clock says now
		for expr, want := range map[string]int64{
			fmt.Sprintf("purchase:shirts BETWEEN %s AND %s", date(t0), date(t0)): 1,
			fmt.Sprintf("purchase:shirts IN %dd", days):                          0,
			fmt.Sprintf("purchase:shirts IN %dd", days+1):                        1,
			"spend:apparel = 250 IN 30d":                                         1,
			"spend = 1099511627776 IN 30d":                                       0,
			"spend = 1099511628026 IN 30d":                                       1,
			"visits EVER":                                                        0, // t0 has left the 48h retention
		} {
			if got := doInt(t, c, "QUERY.COUNT", expr); got != want {
				t.Errorf("%s: QUERY.COUNT %q = %d, want %d", how, expr, got, want)
			}
		}
		// SAMPLE is stable across restarts (new entities aside).
		var inSample []string
		for _, k := range members(t, c, "SAMPLE 50% SEED 1") {
			if k <= "u:3" {
				inSample = append(inSample, k)
			}
		}
		expectEq(t, how+": sample", inSample, sample)
		expectEq(t, how+": u:3 still exists", doInt(t, c, "ENT.EXISTS", "u:3"), int64(1))
		expectEq(t, how+": visits", fmt.Sprintf("%v %v", doMap(t, c, 3, "FIELD.INFO", "visits")["granularity"], doMap(t, c, 3, "FIELD.INFO", "visits")["retention"]), "HOUR 2d")
		expectEq(t, how+": empty", fmt.Sprintf("%v %v", doMap(t, c, 3, "FIELD.INFO", "empty")["granularity"], doMap(t, c, 3, "FIELD.INFO", "empty")["retention"]), "HOUR 400d")
		expectEq(t, how+": ENT.GET u:2", do(t, c, "ENT.GET", "u:2"), map[any]any{
			"spend": map[any]any{"*": int64(1099511628026), "apparel": int64(250)},
		})
		// A new field of the same definition is OK, another is not.
		expectEq(t, how+": same definition", do(t, c, "FIELD.CREATE", "visits", "EVENT", "GRANULARITY", "HOUR", "RETENTION", "2d"), "OK")
	}

	// 1. From the log alone, three days later.
	if err := srv.shutdown(false); err != nil {
		t.Fatal(err)
	}
	clock.add(3 * day)
	srv, c = boot()
	if n := srv.dirty.Load(); n < 6 {
		t.Fatalf("restart from the log replayed %d writes", n)
	}
	check("from the log", clock.now())
	t3 := clock.now()
	expectEq(t, "track later", do(t, c, "ENT.TRACK", "u:4", "purchase:hats"), "OK")

	// 2. From a snapshot alone, two more days later.
	expectEq(t, "SAVE", do(t, c, "SAVE"), "OK")
	if err := srv.shutdown(false); err != nil {
		t.Fatal(err)
	}
	clock.add(2 * day)
	srv, c = boot()
	if n := srv.dirty.Load(); n != 0 {
		t.Fatalf("restart after SAVE replayed %d writes, want none", n)
	}
	check("from the snapshot", clock.now())
	expectEq(t, "u:4's purchase", doInt(t, c, "QUERY.COUNT", fmt.Sprintf("purchase:hats BETWEEN %s AND %s", date(t3), date(t3))), int64(1))
	expectEq(t, "u:4's purchase IN 2d", doInt(t, c, "QUERY.COUNT", "purchase:hats IN 2d"), int64(0))

	// 3. A snapshot plus writes logged after it.
	expectEq(t, "track after the snapshot", do(t, c, "ENT.TRACK", "u:5", "purchase:socks"), "OK")
	t5 := clock.now()
	if err := srv.shutdown(false); err != nil {
		t.Fatal(err)
	}
	clock.add(day)
	srv, c = boot()
	expectEq(t, "replayed after the snapshot", srv.dirty.Load(), int64(1))
	check("from the snapshot and the log", clock.now())
	expectEq(t, "u:5's purchase", doInt(t, c, "QUERY.COUNT", fmt.Sprintf("purchase:socks BETWEEN %s AND %s", date(t5), date(t5))), int64(1))
}

// TestEventsPipelined: 10k pipelined ENT.TRACK are answered in order, errors
// included, and all of them count.
func TestEventsPipelined(t *testing.T) {
	t.Parallel()
	forEachProto(t, func(t *testing.T, proto int) {
		srv := startServer(t, nil)
		c := newClient(t, srv, proto)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		const n, keys = 10000, 1000
		values := []string{"shirts", "shoes", "hats"}
		pipe := c.Pipeline()
		cmds := make([]*redis.Cmd, n)
		for i := 0; i < n; i++ {
			amount := "1"
			if i%keys == keys-1 && i/keys%2 == 1 {
				amount = "0" // five bad ones, all for u:999
			}
			cmds[i] = pipe.Do(ctx, "ENT.TRACK", fmt.Sprint("u:", i%keys), "purchase:"+values[i%3], "AMOUNT", amount)
		}
		if _, err := pipe.Exec(ctx); err != nil && !strings.Contains(err.Error(), "AMOUNT") {
			t.Fatalf("pipeline: %v", err)
		}
		for i, cmd := range cmds {
			v, err := cmd.Result()
			if i%keys == keys-1 && i/keys%2 == 1 {
				if err == nil || !strings.HasPrefix(err.Error(), "ERR AMOUNT must be") {
					t.Fatalf("reply %d = %v, %v; want the AMOUNT error", i, v, err)
				}
				continue
			}
			if err != nil || v != "OK" {
				t.Fatalf("reply %d = %v, %v; want OK", i, v, err)
			}
		}
		expectEq(t, "ENT.COUNT", doInt(t, c, "ENT.COUNT"), int64(keys))
		expectEq(t, "purchase = 10", doInt(t, c, "QUERY.COUNT", "purchase = 10"), int64(keys-1))
		expectEq(t, "purchase = 5", doInt(t, c, "QUERY.COUNT", "purchase = 5"), int64(1))
		expectEq(t, "purchase:shirts >= 3", doInt(t, c, "QUERY.COUNT", "purchase:shirts >= 3 EVER"), int64(keys-1)) // u:999 lost two
		st := doMap(t, c, proto, "QUERY.STATS", "purchase EVER")
		expectEq(t, "STATS sum", st["sum"], int64(n-5))
	})
}

// TestEventsExpiry: the server drops buckets past their retention on its
// own (every minute; here every few milliseconds), which frees memory;
// queries never saw them anyway.
func TestEventsExpiry(t *testing.T) {
	t.Parallel()
	clock := newTestClock(eventsNow)
	srv := startServer(t, func(c *Config) {
		c.clock = clock.now
		c.expireEvery = 5 * time.Millisecond
	})
	c := newClient(t, srv, 3)
	expectEq(t, "create", do(t, c, "FIELD.CREATE", "v", "EVENT", "GRANULARITY", "HOUR", "RETENTION", "2h"), "OK")
	for i := 0; i < 100; i++ {
		expectEq(t, "track", do(t, c, "ENT.TRACK", fmt.Sprint("u:", i), fmt.Sprint("v:page", i%10), "AMOUNT", fmt.Sprint(i+1)), "OK")
	}
	info := doMap(t, c, 3, "FIELD.INFO", "v")
	expectEq(t, "values", info["values"], int64(10))
	full := info["bytes"].(int64)
	clock.add(3 * time.Hour)
	expectEq(t, "v EVER after the retention", doInt(t, c, "QUERY.COUNT", "v EVER"), int64(0))
	waitFor(t, "the expiry to drop the buckets", func() bool {
		info := doMap(t, c, 3, "FIELD.INFO", "v")
		return info["values"] == int64(0) && info["bytes"].(int64) < full
	})
	expectEq(t, "entities stay", doInt(t, c, "ENT.COUNT"), int64(100))
}

// TestEventsSample: SAMPLE over a few thousand entities is about p%, nested
// within a seed, the same as index.InSample, and unchanged by deleting and
// recreating entities.
func TestEventsSample(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	c := newClient(t, srv, 3)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	const n = 4000
	pipe := c.Pipeline()
	for i := 0; i < n; i++ {
		pipe.Do(ctx, "ENT.SET", fmt.Sprint("c:", i), "n", i)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	count := func(expr string) int64 { return doInt(t, c, "QUERY.COUNT", expr) }
	for _, p := range []int64{1, 10, 25, 50, 99} {
		got := count(fmt.Sprintf("SAMPLE %d%% SEED 11", p))
		if want := n * p / 100; got < want*7/10-20 || got > want*13/10+20 {
			t.Errorf("SAMPLE %d%% = %d of %d", p, got, n)
		}
	}
	expectEq(t, "nested", count("SAMPLE 10% SEED 5 AND NOT SAMPLE 20% SEED 5"), int64(0))
	second := "SAMPLE 20% SEED 5 AND NOT SAMPLE 10% SEED 5"
	expectEq(t, "second cell is disjoint", count("SAMPLE 10% SEED 5 AND ("+second+")"), int64(0))
	if k := count(second); k < n/20 || k > n*3/20 {
		t.Errorf("second 10%% cell = %d of %d", k, n)
	}
	before := members(t, c, "SAMPLE 30% SEED 9 AND n < 400")
	var want []string
	for i := 0; i < 400; i++ {
		if k := fmt.Sprint("c:", i); index.InSample(k, 30, 9) {
			want = append(want, k)
		}
	}
	sort.Strings(want)
	expectEq(t, "SAMPLE = index.InSample", before, want)
	// Deleting entities and writing them again (new internal numbers)
	// changes no membership.
	for i := 0; i < 400; i += 3 {
		doInt(t, c, "ENT.DEL", fmt.Sprint("c:", i))
	}
	for i := 0; i < 400; i += 3 {
		doInt(t, c, "ENT.SET", fmt.Sprint("c:", i), "n", i)
	}
	expectEq(t, "SAMPLE after delete and recreate", members(t, c, "SAMPLE 30% SEED 9 AND n < 400"), before)
}
