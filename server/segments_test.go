package server

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestSegmentCommands: every SEGMENT.* command over go-redis, RESP2 and
// RESP3, with the replies of the spec and the errors a user meets.
func TestSegmentCommands(t *testing.T) {
	t.Parallel()
	forEachProto(t, func(t *testing.T, proto int) {
		srv := startServer(t, nil)
		c := newClient(t, srv, proto)
		for i := 1; i <= 6; i++ {
			tier := "silver"
			if i%2 == 0 {
				tier = "gold"
			}
			do(t, c, "ENT.SET", fmt.Sprintf("u:%d", i), "country", "PT", "tier", tier, "age", 20+i)
		}
		expectEq(t, "create vip", doInt(t, c, "SEGMENT.CREATE", "vip", "tier:gold"), int64(3))
		expectEq(t, "create young", doInt(t, c, "SEGMENT.CREATE", "young", "age <= 23"), int64(3))
		expectEq(t, "create ref", doInt(t, c, "SEGMENT.CREATE", "young_vip", "@vip AND @young"), int64(1))
		expectEq(t, "list", do(t, c, "SEGMENT.LIST"), []any{"vip", "young", "young_vip"})
		expectEq(t, "card", doInt(t, c, "SEGMENT.CARD", "vip"), int64(3))
		expectEq(t, "card = count", doInt(t, c, "SEGMENT.CARD", "vip"), doInt(t, c, "QUERY.COUNT", "tier:gold"))
		expectEq(t, "ismember", doInt(t, c, "SEGMENT.ISMEMBER", "vip", "u:2"), int64(1))
		expectEq(t, "ismember unknown key", doInt(t, c, "SEGMENT.ISMEMBER", "vip", "nobody"), int64(0))
		expectEq(t, "mismember", do(t, c, "SEGMENT.MISMEMBER", "vip", "u:1", "u:2", "nobody"), []any{int64(0), int64(1), int64(0)})
		expectEq(t, "of", do(t, c, "SEGMENT.OF", "u:2"), []any{"vip", "young", "young_vip"})
		expectEq(t, "of unknown", do(t, c, "SEGMENT.OF", "nobody"), []any{})
		expectEq(t, "overlap", do(t, c, "SEGMENT.OVERLAP", "vip", "young"), []any{[]any{int64(3), int64(1)}, []any{int64(1), int64(3)}})
		page := doArr(t, c, "SEGMENT.MEMBERS", "vip", "COUNT", "2")
		expectEq(t, "members page size", len(page[1].([]any)), 2)
		info := doMap(t, c, proto, "SEGMENT.INFO", "young_vip")
		expectEq(t, "info expr", info["expr"], "@vip AND @young")
		expectEq(t, "info cardinality", info["cardinality"], int64(1))
		expectEq(t, "info version", info["version"], int64(0))
		expectEq(t, "info segments", info["segments"], []any{"vip", "young"})
		expectEq(t, "info time_relative", info["time_relative"], int64(0))

		// A write moves the segments and their dependents, with versions.
		do(t, c, "ENT.SET", "u:1", "tier", "gold")
		expectEq(t, "vip after write", doInt(t, c, "SEGMENT.CARD", "vip"), int64(4))
		expectEq(t, "young_vip after write", doInt(t, c, "SEGMENT.CARD", "young_vip"), int64(2))
		do(t, c, "ENT.DEL", "u:2")
		changes := doArr(t, c, "SEGMENT.CHANGES", "vip", "SINCE", "0")
		expectEq(t, "changes", changes, []any{int64(2), []any{
			[]any{int64(1), "u:1", "enter", changes[1].([]any)[0].([]any)[3]},
			[]any{int64(2), "u:2", "exit", changes[1].([]any)[1].([]any)[3]},
		}})
		expectEq(t, "changes since 1 count 1", doArr(t, c, "SEGMENT.CHANGES", "vip", "SINCE", "1", "COUNT", "1")[0], int64(2))
		expectEq(t, "changes since now", doArr(t, c, "SEGMENT.CHANGES", "vip", "SINCE", "2"), []any{int64(2), []any{}})

		// SEGMENT.HISTORY: one point per minute of change, the last one now.
		hist := doArr(t, c, "SEGMENT.HISTORY", "vip")
		if len(hist) == 0 || hist[len(hist)-1].([]any)[1] != doInt(t, c, "SEGMENT.CARD", "vip") {
			t.Errorf("SEGMENT.HISTORY vip = %v", hist)
		}
		expectEq(t, "history since the future", doArr(t, c, "SEGMENT.HISTORY", "vip", "SINCE", "4000000000"), []any{})

		// REPLACE records the difference.
		expectEq(t, "replace", doInt(t, c, "SEGMENT.CREATE", "vip", "tier:gold AND age >= 24", "REPLACE"), int64(2))
		expectEq(t, "dependent follows replace", doInt(t, c, "SEGMENT.CARD", "young_vip"), doInt(t, c, "QUERY.COUNT", "@vip AND @young"))

		// Errors: clear, and nothing changes.
		for _, e := range []struct {
			args []any
			want string
		}{
			{[]any{"SEGMENT.CREATE", "vip", "tier:gold"}, "ERR segment 'vip' exists"},
			{[]any{"SEGMENT.CREATE", "bad name!", "ALL"}, "ERR invalid segment name"},
			{[]any{"SEGMENT.CREATE", "x", "contry:US"}, "ERR unknown field 'contry'"},
			{[]any{"SEGMENT.CREATE", "x", "tier:gold AND"}, "ERR syntax error at"},
			{[]any{"SEGMENT.CREATE", "x", "@nosuch"}, "ERR unknown segment 'nosuch'"},
			{[]any{"SEGMENT.CREATE", "vip", "@young_vip", "REPLACE"}, "ERR segment 'vip' cannot reference"},
			{[]any{"SEGMENT.DROP", "vip"}, "ERR segment 'vip' is referenced by segment 'young_vip'"},
			{[]any{"FIELD.DROP", "tier"}, "ERR field 'tier' is used by segment 'vip'"},
			{[]any{"SEGMENT.CARD", "nosuch"}, "ERR unknown segment 'nosuch'"},
			{[]any{"SEGMENT.CHANGES", "vip"}, "ERR wrong number of arguments for 'SEGMENT.CHANGES'"},
			{[]any{"SEGMENT.CHANGES", "vip", "COUNT", "3"}, "ERR SEGMENT.CHANGES needs SINCE"},
			{[]any{"SEGMENT.CHANGES", "vip", "SINCE", "-1"}, "ERR SINCE must be a version"},
			{[]any{"SEGMENT.OVERLAP", "vip", "nosuch"}, "ERR unknown segment 'nosuch'"},
		} {
			if got := doErr(t, c, e.args...); !strings.HasPrefix(got, e.want) {
				t.Errorf("%v = %q, want %q…", e.args, got, e.want)
			}
		}
		expectEq(t, "list unchanged", do(t, c, "SEGMENT.LIST"), []any{"vip", "young", "young_vip"})
		expectEq(t, "drop dependent", doInt(t, c, "SEGMENT.DROP", "young_vip"), int64(1))
		expectEq(t, "drop", doInt(t, c, "SEGMENT.DROP", "vip"), int64(1))
		expectEq(t, "drop again", doInt(t, c, "SEGMENT.DROP", "vip"), int64(0))
	})
}

// TestSegmentNotifications: SUBSCRIBE segment:vip and PSUBSCRIBE segment:*
// receive one JSON message per enter and exit, in commit order, under RESP2
// and RESP3, including the exits of a time-relative segment when a bucket
// boundary passes with no command at all.
func TestSegmentNotifications(t *testing.T) {
	t.Parallel()
	forEachProto(t, func(t *testing.T, proto int) {
		clock := newTestClock(eventsNow)
		srv := startServer(t, func(c *Config) { c.clock = clock.now })
		c := newClient(t, srv, proto)
		do(t, c, "SEGMENT.CREATE", "vip", "ALL") // fields do not exist yet: ALL is fine
		do(t, c, "FIELD.CREATE", "tier", "ENUM")
		do(t, c, "SEGMENT.CREATE", "vip", "tier:gold", "REPLACE")
		do(t, c, "ENT.TRACK", "u:0", "cart_add")
		do(t, c, "SEGMENT.CREATE", "carts", "cart_add IN 1d")

		sub := newClientOpts(t, srv, &redis.Options{Protocol: proto})
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		ps := sub.Subscribe(ctx, "segment:vip")
		defer ps.Close()
		pps := sub.PSubscribe(ctx, "segment:*")
		defer pps.Close()
		for _, p := range []*redis.PubSub{ps, pps} {
			if _, err := p.Receive(ctx); err != nil {
				t.Fatal(err)
			}
		}
		var want []string
		for i := 0; i < 50; i++ {
			key := fmt.Sprintf("u:%d", i%7)
			if i%3 == 2 {
				do(t, c, "ENT.SET", key, "tier", "silver")
			} else {
				do(t, c, "ENT.SET", key, "tier", "gold")
			}
		}
		// The expected stream is the change log itself.
		for _, ch := range doArr(t, c, "SEGMENT.CHANGES", "vip", "SINCE", "0")[1].([]any) {
			ch := ch.([]any)
			want = append(want, fmt.Sprintf("%s %s v%d", ch[1], ch[2], ch[0]))
		}
		if len(want) < 10 {
			t.Fatalf("only %d changes", len(want))
		}
		read := func(p *redis.PubSub, n int, channel string) []string {
			var got []string
			for len(got) < n {
				msg, err := p.ReceiveMessage(ctx)
				if err != nil {
					t.Fatalf("after %d messages: %v", len(got), err)
				}
				var ev segmentEvent
				if err := json.Unmarshal([]byte(msg.Payload), &ev); err != nil {
					t.Fatalf("%q: %v", msg.Payload, err)
				}
				if msg.Channel != "segment:"+ev.Segment || (channel != "" && ev.Segment != channel) {
					continue
				}
				got = append(got, fmt.Sprintf("%s %s v%d", ev.Key, ev.Change, ev.Version))
			}
			return got
		}
		expectEq(t, "SUBSCRIBE stream", read(ps, len(want), "vip"), want)
		expectEq(t, "PSUBSCRIBE stream", read(pps, len(want), "vip"), want)

		// A bucket boundary passes with no command: u:0's cart_add ages out
		// and the exit arrives on its own.
		clock.add(day)
		got := read(pps, 1, "carts")
		expectEq(t, "time exit", got, []string{"u:0 exit v1"})
		expectEq(t, "carts card", doInt(t, c, "SEGMENT.CARD", "carts"), int64(0))
	})
}

// TestSegmentsPersist: definitions, members, versions and change logs come
// back after a restart from the log alone and from a snapshot, and versions
// go on from where they were.
func TestSegmentsPersist(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	clock := newTestClock(eventsNow)
	var srv *Server
	boot := func() *redis.Client {
		srv = bootServer(t, dir, func(c *Config) {
			c.clock = clock.now
			c.SaveEvery, c.SaveAfter = 0, 0
		})
		s := srv
		t.Cleanup(func() { s.Close() })
		return newClient(t, srv, 3)
	}
	c := boot()
	for i := 0; i < 20; i++ {
		do(t, c, "ENT.SET", fmt.Sprintf("u:%d", i), "tier", []string{"gold", "silver"}[i%2])
		do(t, c, "ENT.TRACK", fmt.Sprintf("u:%d", i), "visit", "AT", unixArg(eventsNow.Add(-time.Duration(i)*time.Hour)))
	}
	do(t, c, "SEGMENT.CREATE", "vip", "tier:gold")
	do(t, c, "SEGMENT.CREATE", "recent", "visit IN 1d AND NOT @vip")
	for i := 0; i < 6; i++ {
		do(t, c, "ENT.SET", fmt.Sprintf("u:%d", i), "tier", "silver")
	}
	state := func() string {
		var b strings.Builder
		for _, name := range []string{"vip", "recent"} {
			info := doMap(t, c, 3, "SEGMENT.INFO", name)
			ms := members(t, c, "@"+name)
			sort.Strings(ms)
			fmt.Fprintf(&b, "%s v%v card %v %v changes %v\n", name, info["version"], info["cardinality"], ms,
				doArr(t, c, "SEGMENT.CHANGES", name, "SINCE", "0"))
		}
		return b.String()
	}
	before := state()
	for _, how := range []string{"log", "snapshot"} {
		if how == "snapshot" {
			do(t, c, "SAVE")
		}
		version := doMap(t, c, 3, "SEGMENT.INFO", "vip")["version"].(int64)
		// Close through the cleanup of the current server, then boot again.
		c.Do(context.Background(), "SHUTDOWN", "NOSAVE")
		select { // fully stopped: the data directory is free again
		case <-srv.Done():
		case <-time.After(testTimeout):
			t.Fatal("segd did not stop after SHUTDOWN NOSAVE")
		}
		c = boot()
		expectEq(t, how+": state after restart", state(), before)
		do(t, c, "ENT.SET", "u:1", "tier", "gold")
		expectEq(t, how+": version goes on", doMap(t, c, 3, "SEGMENT.INFO", "vip")["version"], version+1)
		do(t, c, "ENT.SET", "u:1", "tier", "silver")
		before = state()
	}
}
