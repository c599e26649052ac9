package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/segd-db/segd/server"
)

func TestLoadAndRunMixes(t *testing.T) {
	addr := startServer(t)
	ctx := context.Background()
	const n = 2000
	var progress bytes.Buffer
	res, err := Load(ctx, LoadOptions{Addr: addr, Entities: n, Seed: 1, Clients: 8, Pipeline: 32, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	if res.Entities != n || res.Errors != 0 || res.Commands < n || res.EntitiesPerSec() <= 0 {
		t.Fatalf("load = %+v", res)
	}
	if !strings.Contains(progress.String(), "2000/2000 entities") {
		t.Errorf("final progress line missing: %q", progress.String())
	}
	want := int64(0)
	pop := NewPopulation(1)
	for i := 0; i < n; i++ {
		want += int64(len(pop.Customer(i).Commands()))
	}
	if res.Commands != want {
		t.Errorf("load sent %d commands, the population has %d", res.Commands, want)
	}
	c := dial(t, addr)
	if got, err := c.Int("ENT.COUNT"); err != nil || got != n {
		t.Fatalf("ENT.COUNT = %d, %v; want %d", got, err, n)
	}
	// The data is the population's: customer 7's country is what the generator says.
	r, err := c.Do("ENT.GET", Key(7), "country")
	if err != nil || len(r.Elems) != 2 || r.Elems[1].Str != pop.Customer(7).Country {
		t.Fatalf("ENT.GET u:7 country = %+v, %v", r, err)
	}
	if m, err := ReadMemory(c); err != nil || m.Entities != n || m.RSS <= 0 {
		t.Fatalf("memory = %+v, %v", m, err)
	}

	// The segment-of and window mixes need the saved segments and events.
	if sum, err := CreateSegments(ctx, addr, "", SegmentCount); err != nil || sum == 0 {
		t.Fatalf("CreateSegments = %d, %v", sum, err)
	}
	ev, err := LoadEvents(ctx, LoadOptions{Addr: addr, Entities: n, Seed: 1, Clients: 8, Pipeline: 64},
		TrackOptions{Fields: WindowFields, Days: WindowDays})
	if err != nil || ev.Errors != 0 || ev.Commands == 0 {
		t.Fatalf("events: %+v %v", ev, err)
	}
	for _, mix := range MixNames {
		t.Run(mix, func(t *testing.T) {
			const requests = 1000
			rr, err := Run(ctx, RunOptions{Addr: addr, Entities: n, Clients: 4, Pipeline: 8, Requests: requests, Mix: mix, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			if rr.Total != requests || rr.Errors != 0 || rr.PerSec <= 0 {
				t.Fatalf("run = %+v", rr)
			}
			for _, o := range rr.Ops {
				l := o.Latency
				if o.Count == 0 {
					t.Errorf("%s: no commands sent", o.Command)
					continue
				}
				if !(l.P50 >= 1 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max && l.Max < 10e6) {
					t.Errorf("%s: percentiles not sane: %+v", o.Command, l)
				}
			}
			var table bytes.Buffer
			rr.WriteTable(&table)
			if !strings.Contains(table.String(), "p99.9") || !strings.Contains(table.String(), rr.Ops[0].Command) {
				t.Errorf("table:\n%s", table.String())
			}
		})
	}
	if got, err := c.Int("ENT.COUNT"); err != nil || got != n {
		t.Fatalf("ENT.COUNT after the mixes = %d, %v; want %d (set must only touch existing keys)", got, err, n)
	}
}

func TestRunDuration(t *testing.T) {
	addr := startServer(t)
	ctx := context.Background()
	lo := LoadOptions{Addr: addr, Entities: 100, Seed: 1, Clients: 2, Pipeline: 4}
	if _, err := Load(ctx, lo); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadEvents(ctx, lo, TrackOptions{Fields: WindowFields, Days: WindowDays}); err != nil {
		t.Fatal(err)
	}
	if _, err := CreateSegments(ctx, addr, "", 10); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	rr, err := Run(ctx, RunOptions{Addr: addr, Entities: 100, Clients: 2, Pipeline: 4, Duration: 300 * time.Millisecond, Mix: "all", Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("a 300ms run took %s", el)
	}
	if rr.Total == 0 || rr.Errors != 0 || len(rr.Ops) != len(Mixes["all"]) {
		t.Fatalf("run = %+v", rr)
	}
}

func TestRunOptionErrors(t *testing.T) {
	for _, o := range []RunOptions{
		{Mix: "nope", Entities: 1, Clients: 1, Pipeline: 1, Requests: 1},
		{Mix: "set", Entities: 0, Clients: 1, Pipeline: 1, Requests: 1},
		{Mix: "set", Entities: 1, Clients: 0, Pipeline: 1, Requests: 1},
		{Mix: "set", Entities: 1, Clients: 1, Pipeline: 1},
	} {
		if _, err := Run(context.Background(), o); err == nil {
			t.Errorf("Run(%+v) succeeded", o)
		}
	}
}

// Against a server with a password, load and run give it; without it every
// command is refused, and a wrong one is an error at once.
func TestLoadAndRunWithPassword(t *testing.T) {
	addr := startServerWith(t, func(c *server.Config) { c.Password = "pw" })
	ctx := context.Background()
	if r, _ := Load(ctx, LoadOptions{Addr: addr, Entities: 10, Seed: 1, Clients: 2, Pipeline: 8}); r.Errors == 0 || len(r.FirstErrors) == 0 || !strings.Contains(r.FirstErrors[0], "NOAUTH") {
		t.Fatalf("load without the password: %+v", r)
	}
	if _, err := Load(ctx, LoadOptions{Addr: addr, Password: "nope", Entities: 10, Seed: 1, Clients: 2, Pipeline: 8}); err == nil || !strings.Contains(err.Error(), "AUTH") {
		t.Fatalf("load with a wrong password: %v", err)
	}
	res, err := Load(ctx, LoadOptions{Addr: addr, Password: "pw", Entities: 100, Seed: 1, Clients: 2, Pipeline: 8})
	if err != nil || res.Entities != 100 || res.Errors != 0 {
		t.Fatalf("load with the password: %+v, %v", res, err)
	}
	rr, err := Run(ctx, RunOptions{Addr: addr, Password: "pw", Entities: 100, Clients: 2, Pipeline: 4, Requests: 200, Mix: "ismember", Seed: 1})
	if err != nil || rr.Errors != 0 {
		t.Fatalf("run with the password: %+v, %v", rr, err)
	}
}
