package client_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/segd-db/segd/client"
	"github.com/segd-db/segd/index"
	"github.com/segd-db/segd/internal/testserver"
	"github.com/segd-db/segd/server"
)

// clients returns the embedded client and remote clients over RESP2 and
// RESP3 against a real server, each on fresh data.
func clients(t *testing.T) map[string]client.Client {
	t.Helper()
	out := map[string]client.Client{"embedded": client.Embedded(index.New())}
	for _, proto := range []int{2, 3} {
		srv := testserver.Start(t, func(c *server.Config) { c.InMemory = true })
		c := client.Remote(&redis.Options{Addr: srv.Addr(), Protocol: proto})
		t.Cleanup(func() { c.Close() })
		out[fmt.Sprint("remote-resp", proto)] = c
	}
	return out
}

// TestClientsAgree runs the same calls on every client and expects the same
// answers: the embedded engine and the server behave alike.
func TestClientsAgree(t *testing.T) {
	ctx := context.Background()
	for name, c := range clients(t) {
		t.Run(name, func(t *testing.T) {
			must := func(n int64, err error) int64 {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			if err := c.CreateField(ctx, "tier", "ENUM"); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 30; i++ {
				tier := []string{"gold", "silver", "bronze"}[i%3]
				must(c.Set(ctx, fmt.Sprintf("u:%02d", i), client.Fields{"tier": tier, "age": 20 + i, "country": "PT"}))
				if i%2 == 0 {
					must(c.Add(ctx, fmt.Sprintf("u:%02d", i), "interests", "fitness", "travel"))
				}
			}
			if n := must(c.Set(ctx, "u:00", client.Fields{"tier": "gold", "age": 20})); n != 0 {
				t.Errorf("setting the same values changed %d fields", n)
			}
			if n := must(c.Rem(ctx, "u:00", "interests", "travel", "golf")); n != 1 {
				t.Errorf("Rem = %d", n)
			}
			if n := must(c.Unset(ctx, "u:01", "country")); n != 1 {
				t.Errorf("Unset = %d", n)
			}
			if n := must(c.Del(ctx, "u:29", "nobody")); n != 1 {
				t.Errorf("Del = %d", n)
			}
			e, err := c.Get(ctx, "u:00")
			if err != nil {
				t.Fatal(err)
			}
			want := client.Entity{"age": int64(20), "country": "PT", "interests": []string{"fitness"}, "tier": "gold"}
			if !reflect.DeepEqual(e, want) {
				t.Errorf("Get = %#v, want %#v", e, want)
			}
			if _, err := c.Get(ctx, "nobody"); !errors.Is(err, client.ErrNotFound) {
				t.Errorf("Get of an unknown key: %v", err)
			}
			n, err := c.Count(ctx, "tier:gold AND age >= 30 AND NOT interests:*")
			if err != nil || n != 3 {
				t.Errorf("Count = %d, %v", n, err)
			}
			in, err := c.IsMember(ctx, "country:PT", "u:01")
			if err != nil || in {
				t.Errorf("IsMember after Unset = %v, %v", in, err)
			}
			var keys []string
			if err := c.Members(ctx, "interests:fitness", func(k string) error { keys = append(keys, k); return nil }); err != nil {
				t.Fatal(err)
			}
			sort.Strings(keys)
			if len(keys) != 15 || keys[0] != "u:00" || keys[14] != "u:28" {
				t.Errorf("Members = %v", keys)
			}
			groups, err := c.GroupBy(ctx, "tier", "age < 26", 2)
			if err != nil || !reflect.DeepEqual(groups, []client.ValueCount{{"bronze", 2}, {"gold", 2}}) {
				t.Errorf("GroupBy = %v, %v", groups, err)
			}
			top, err := c.Top(ctx, 2, "age", "tier:silver")
			if err != nil || !reflect.DeepEqual(top, []client.Ranked{{"u:28", 48}, {"u:25", 45}}) {
				t.Errorf("Top = %v, %v", top, err)
			}
			if _, err := c.Add(ctx, "u:00", "tier", "x"); err == nil || !strings.HasPrefix(err.Error(), "WRONGTYPE") {
				t.Errorf("a wrong-kind write should be a WRONGTYPE error, got %v", err)
			}
			if _, err := c.Set(ctx, "u:00", client.Fields{"score": 1.5}); err == nil {
				t.Error("a float value should be refused by the client")
			}
		})
	}
}

// TestClientsAgreeOnEventsAndSegments tracks events and follows saved
// segments through every client: the answers must be the expected ones and
// every client's transcript (results and error messages) the same.
func TestClientsAgreeOnEventsAndSegments(t *testing.T) {
	ctx := context.Background()
	start := time.Now()
	now := start.UTC()
	day := 24 * time.Hour
	transcripts := map[string]string{}
	for name, c := range clients(t) {
		t.Run(name, func(t *testing.T) {
			var log strings.Builder
			note := func(what string, v ...any) { fmt.Fprintf(&log, "%s: %v\n", what, v) }
			track := func(key, event string, at time.Time, amount int64) {
				t.Helper()
				if err := c.Track(ctx, key, event, at, amount); err != nil {
					t.Fatalf("Track(%s, %s): %v", key, event, err)
				}
			}
			must := func(n uint64, err error) uint64 {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			if err := c.CreateField(ctx, "spend", "EVENT"); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Set(ctx, "u:1", client.Fields{"tier": "gold"}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Set(ctx, "u:2", client.Fields{"tier": "silver"}); err != nil {
				t.Fatal(err)
			}
			track("u:1", "purchase:shoes", now.Add(-2*day), 0)
			track("u:1", "purchase:shoes", now.Add(-day), 2)
			track("u:1", "purchase", time.Time{}, 0)
			track("u:1", "purchase:shoes:red", now.Add(-40*day), 1)
			track("u:1", "spend:apparel", time.Time{}, 4599)
			track("u:2", "purchase:shoes", now.Add(-3*day), 1)
			track("u:2", "purchase:shirts", now.Add(-100*day), 5)
			track("u:3", "cart_add", time.Time{}, 0) // a new entity, a new EVENT field

			// ENT.GET shows sums over the retention, "*" as Total.
			e, err := c.Get(ctx, "u:1")
			if err != nil {
				t.Fatal(err)
			}
			want := client.Entity{
				"tier":     "gold",
				"purchase": client.Events{Total: 5, Values: map[string]uint64{"shoes": 3, "shoes:red": 1}},
				"spend":    client.Events{Total: 4599, Values: map[string]uint64{"apparel": 4599}},
			}
			if !reflect.DeepEqual(e, want) {
				t.Errorf("Get u:1 = %#v, want %#v", e, want)
			}
			e, err = c.Get(ctx, "u:3", "cart_add", "tier")
			if err != nil || !reflect.DeepEqual(e, client.Entity{"cart_add": client.Events{Total: 1}}) {
				t.Errorf("Get u:3 = %#v, %v", e, err)
			}
			note("get u:2", mustGet(t, c, "u:2"))
			if n, err := c.Count(ctx, "purchase:shoes >= 2 IN 30d"); err != nil || n != 1 {
				t.Errorf("Count = %d, %v", n, err)
			}
			top, err := c.Top(ctx, 2, "purchase IN 365d", "")
			if err != nil || !reflect.DeepEqual(top, []client.Ranked{{"u:2", 6}, {"u:1", 5}}) {
				t.Errorf("Top = %v, %v", top, err)
			}

			// Track refuses what ENT.TRACK refuses, and changes nothing.
			for _, bad := range []struct {
				key, event string
				at         time.Time
				amount     int64
				want       string // error prefix
			}{
				{"u:1", "purchase:", time.Time{}, 0, "ERR empty value after 'purchase:'"},
				{"u:1", "purchase:*", time.Time{}, 0, "ERR '*' stands for every value"},
				{"u:1", "purchase", time.Time{}, -1, "ERR AMOUNT must be a whole number from 1 to 1099511627776"},
				{"u:1", "purchase", time.Time{}, 1<<40 + 1, "ERR AMOUNT must be a whole number from 1 to 1099511627776"},
				{"u:1", "purchase", now.Add(-500 * day), 0, "ERR event time"},
				{"u:1", "purchase", now.Add(time.Hour), 0, "ERR event time"},
				{"u:1", "tier:gold", time.Time{}, 0, "WRONGTYPE field 'tier' is ENUM"},
				{"u:1", "bad-name", time.Time{}, 0, "ERR invalid field name"},
				{"", "purchase", time.Time{}, 0, "ERR"},
			} {
				err := c.Track(ctx, bad.key, bad.event, bad.at, bad.amount)
				if err == nil || !strings.HasPrefix(err.Error(), bad.want) {
					t.Errorf("Track(%q, %q, amount %d) = %v, want %s…", bad.key, bad.event, bad.amount, err, bad.want)
				}
				if err != nil && bad.want != "ERR event time" {
					note("track error", err) // the time errors name the clock
				}
			}
			if e := mustGet(t, c, "u:1"); !reflect.DeepEqual(e, want) {
				t.Errorf("refused tracks changed u:1: %#v", e)
			}

			// Saved segments.
			if n := must(c.CreateSegment(ctx, "shoe_fans", "purchase:shoes >= 2 IN 30d", false)); n != 1 {
				t.Errorf("shoe_fans = %d", n)
			}
			if n := must(c.CreateSegment(ctx, "buyers", "purchase IN 365d", false)); n != 2 {
				t.Errorf("buyers = %d", n)
			}
			if n := must(c.CreateSegment(ctx, "gold_buyers", "@buyers AND tier:gold", false)); n != 1 {
				t.Errorf("gold_buyers = %d", n)
			}
			_, err = c.CreateSegment(ctx, "buyers", "ALL", false)
			note("create existing", err)
			if err == nil || !strings.HasPrefix(err.Error(), "ERR segment 'buyers' exists") {
				t.Errorf("creating an existing segment: %v", err)
			}
			_, err = c.CreateSegment(ctx, "x", "purchase:shoes >= ", false)
			note("create bad expr", err)
			if err == nil || !strings.HasPrefix(err.Error(), "ERR syntax error at") {
				t.Errorf("bad expression: %v", err)
			}
			if n := must(c.CreateSegment(ctx, "buyers", "purchase IN 365d AND NOT cart_add", true)); n != 2 {
				t.Errorf("replace buyers = %d", n)
			}
			names, err := c.Segments(ctx)
			if err != nil || !reflect.DeepEqual(names, []string{"buyers", "gold_buyers", "shoe_fans"}) {
				t.Errorf("Segments = %v, %v", names, err)
			}
			if n := must(c.SegmentCard(ctx, "buyers")); n != 2 {
				t.Errorf("SegmentCard = %d", n)
			}
			for key, want := range map[string]bool{"u:1": true, "u:2": false, "nobody": false} {
				if in, err := c.SegmentIsMember(ctx, "shoe_fans", key); err != nil || in != want {
					t.Errorf("SegmentIsMember(shoe_fans, %s) = %v, %v", key, in, err)
				}
			}
			of, err := c.SegmentsOf(ctx, "u:1")
			if err != nil || !reflect.DeepEqual(of, []string{"buyers", "gold_buyers", "shoe_fans"}) {
				t.Errorf("SegmentsOf u:1 = %v, %v", of, err)
			}
			of, err = c.SegmentsOf(ctx, "nobody")
			if err != nil || of == nil || len(of) != 0 {
				t.Errorf("SegmentsOf nobody = %#v, %v", of, err)
			}

			// Writes move the segments; the change log follows them.
			track("u:2", "purchase:shoes", time.Time{}, 0) // u:2 reaches 2 shoes: enters
			if _, err := c.Set(ctx, "u:1", client.Fields{"tier": "silver"}); err != nil {
				t.Fatal(err)
			}
			if n, err := c.Del(ctx, "u:2"); err != nil || n != 1 {
				t.Fatalf("Del = %d, %v", n, err)
			}
			next, changes, err := c.SegmentChanges(ctx, "shoe_fans", 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			for i, ch := range changes {
				if ch.Time.Before(start.Truncate(time.Second)) || ch.Time.After(time.Now().Add(time.Second)) || ch.Time.Location() != time.UTC {
					t.Errorf("change %d at %v, the test started at %v", i, ch.Time, start)
				}
				changes[i].Time = time.Time{}
			}
			wantChanges := []client.Change{
				{Segment: "shoe_fans", Version: 1, Key: "u:2", Enter: true},
				{Segment: "shoe_fans", Version: 2, Key: "u:2", Enter: false},
			}
			if next != 2 || !reflect.DeepEqual(changes, wantChanges) {
				t.Errorf("SegmentChanges(shoe_fans, 0) = %d, %+v", next, changes)
			}
			next, changes, err = c.SegmentChanges(ctx, "shoe_fans", 0, 1)
			if err != nil || next != 1 || len(changes) != 1 || changes[0].Version != 1 {
				t.Errorf("SegmentChanges(shoe_fans, 0, 1) = %d, %+v, %v", next, changes, err)
			}
			next, changes, err = c.SegmentChanges(ctx, "shoe_fans", 2, 10)
			if err != nil || next != 2 || changes == nil || len(changes) != 0 {
				t.Errorf("SegmentChanges(shoe_fans, 2) = %d, %#v, %v", next, changes, err)
			}
			next, changes, err = c.SegmentChanges(ctx, "gold_buyers", 0, 0)
			if err != nil || next != 1 || len(changes) != 1 || changes[0].Key != "u:1" || changes[0].Enter {
				t.Errorf("SegmentChanges(gold_buyers, 0) = %d, %+v, %v", next, changes, err)
			}
			if n := must(c.SegmentCard(ctx, "buyers")); n != 1 {
				t.Errorf("buyers after Del = %d", n)
			}

			// Drop: refused while referenced, then true, then false.
			_, err = c.DropSegment(ctx, "buyers")
			note("drop referenced", err)
			if err == nil || !strings.Contains(err.Error(), "referenced by segment 'gold_buyers'") {
				t.Errorf("dropping a referenced segment: %v", err)
			}
			for _, want := range []bool{true, false} {
				if ok, err := c.DropSegment(ctx, "gold_buyers"); err != nil || ok != want {
					t.Errorf("DropSegment(gold_buyers) = %v, %v, want %v", ok, err, want)
				}
			}
			for _, call := range []func() error{
				func() error { _, err := c.SegmentCard(ctx, "gold_buyers"); return err },
				func() error { _, err := c.SegmentIsMember(ctx, "gold_buyers", "u:1"); return err },
				func() error { return c.SegmentMembers(ctx, "gold_buyers", func(string) error { return nil }) },
				func() error { _, _, err := c.SegmentChanges(ctx, "gold_buyers", 0, 0); return err },
			} {
				err := call()
				note("unknown segment", err)
				if err == nil || err.Error() != "ERR unknown segment 'gold_buyers'" {
					t.Errorf("a dropped segment: %v", err)
				}
			}

			// SegmentMembers pages through a segment larger than a page.
			for i := range 2100 {
				if _, err := c.Add(ctx, fmt.Sprintf("m:%04d", i), "lists", "newsletter"); err != nil {
					t.Fatal(err)
				}
			}
			if n := must(c.CreateSegment(ctx, "newsletter", "lists:newsletter", false)); n != 2100 {
				t.Errorf("newsletter = %d", n)
			}
			var members []string
			if err := c.SegmentMembers(ctx, "newsletter", func(k string) error { members = append(members, k); return nil }); err != nil {
				t.Fatal(err)
			}
			sort.Strings(members)
			if len(members) != 2100 || members[0] != "m:0000" || members[2099] != "m:2099" || slicesHaveDup(members) {
				t.Errorf("SegmentMembers: %d keys", len(members))
			}
			stop := errors.New("stop")
			seen := 0
			if err := c.SegmentMembers(ctx, "newsletter", func(string) error { seen++; return stop }); err != stop || seen != 1 {
				t.Errorf("an error from fn: %v after %d keys", err, seen)
			}
			transcripts[name] = log.String()
		})
	}
	for name, tr := range transcripts {
		if tr != transcripts["embedded"] {
			t.Errorf("%s disagrees with embedded:\n%s\nembedded:\n%s", name, tr, transcripts["embedded"])
		}
	}
}

func mustGet(t *testing.T, c client.Client, key string) client.Entity {
	t.Helper()
	e, err := c.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get %s: %v", key, err)
	}
	return e
}

func slicesHaveDup(sorted []string) bool {
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			return true
		}
	}
	return false
}
