package bench

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segd-db/segd/index"
)

func TestEventsDeterministicAndShaped(t *testing.T) {
	p := NewPopulation(1)
	o := EventOptions{End: EventClock, PageViews: true}
	end := EventClock.Unix()
	oldest := floorDiv(end, 86400)*86400 - 364*86400
	const n = 20000
	per := map[string]int{}
	dormant, heavy := 0, 0
	var buf []Event
	for i := 0; i < n; i++ {
		buf = p.Events(i, o, buf[:0])
		if i < 50 {
			if again := p.Events(i, o, nil); !slices.Equal(again, buf) {
				t.Fatalf("customer %d: events differ between two calls", i)
			}
			// Page views come last: asking for them changes nothing else.
			without := p.Events(i, EventOptions{End: EventClock}, nil)
			if !slices.Equal(without, buf[:len(without)]) {
				t.Fatalf("customer %d: page views change the other events", i)
			}
		}
		if len(buf) == 0 {
			dormant++
		}
		purchases, spends := 0, 0
		for k, ev := range buf {
			per[ev.Field]++
			if ev.At < oldest || ev.At > end {
				t.Fatalf("customer %d: %s at %d outside [%d, %d]", i, ev.Term, ev.At, oldest, end)
			}
			want := ev.Field
			if ev.Value != "" {
				want += ":" + ev.Value
			}
			if ev.Term != want {
				t.Fatalf("term %q for %s/%s", ev.Term, ev.Field, ev.Value)
			}
			switch ev.Field {
			case FieldPurchase:
				purchases++
			case FieldSpend:
				// Purchases come first, then their spends in the same order.
				if pu := buf[k-purchases]; pu.Field != FieldPurchase || pu.Value != ev.Value || pu.At != ev.At {
					t.Fatalf("customer %d: spend %+v without its purchase (%+v)", i, ev, pu)
				}
				if ev.Amount < 99 {
					t.Fatalf("spend of %d cents", ev.Amount)
				}
				spends++
			}
		}
		if spends != purchases {
			t.Fatalf("customer %d: %d purchases, %d spends", i, purchases, spends)
		}
		if purchases >= 100 {
			heavy++
		}
	}
	for f, want := range map[string]float64{FieldPurchase: 30, FieldSpend: 30, FieldCartAdd: 10, FieldCoupon: 2, FieldPageView: 40} {
		got := float64(per[f]) / n
		if got < want*0.9 || got > want*1.1 {
			t.Errorf("%s: %.2f per customer, want ~%.0f", f, got, want)
		}
	}
	if share := float64(dormant) / n; share < 0.13 || share > 0.17 {
		t.Errorf("dormant share %.3f, want ~0.15", share)
	}
	if heavy == 0 || heavy > n/10 {
		t.Errorf("%d customers with 100+ purchases out of %d", heavy, n)
	}
	if NewPopulation(2).Events(3, o, nil)[0] == p.Events(3, o, nil)[0] {
		t.Errorf("seeds 1 and 2 give the same first event")
	}
}

// bruteCount counts the customers whose events satisfy pred, straight from
// the generator.
func bruteCount(p *Population, n int, end time.Time, pred func(evs []Event, day func(int64) int64) bool) uint64 {
	endDay := floorDiv(end.Unix(), 86400)
	day := func(at int64) int64 { return endDay - floorDiv(at, 86400) } // 0 is today
	var c uint64
	var buf []Event
	for i := 0; i < n; i++ {
		buf = p.Events(i, EventOptions{End: end}, buf[:0])
		if pred(buf, day) {
			c++
		}
	}
	return c
}

func sumOf(evs []Event, day func(int64) int64, field, value string, days int64) int64 {
	var s int64
	for _, ev := range evs {
		if ev.Field == field && (value == "" || ev.Value == value) && day(ev.At) < days {
			s += max(ev.Amount, 1)
		}
	}
	return s
}

// The engine's answers on a built (and cached, and reloaded) data set are
// the generator's.
func TestEventDataMatchesGenerator(t *testing.T) {
	const n = 2000
	dir := t.TempDir()
	var log strings.Builder
	o := EventDataOptions{Entities: n, Seed: 1, Progress: &log}
	le, err := LoadEventEngine(context.Background(), o, dir)
	if err != nil {
		t.Fatal(err)
	}
	if le.Info.TotalEvents() < 50*n || le.Info.Events[FieldSpend] != le.Info.Events[FieldPurchase] || len(le.Info.Checks) != 4 {
		t.Fatalf("info %+v", le.Info)
	}
	p := NewPopulation(1)
	for _, c := range []struct {
		expr string
		pred func([]Event, func(int64) int64) bool
	}{
		{"purchase:" + TopCategory + " >= 3 IN 90d", func(e []Event, d func(int64) int64) bool {
			return sumOf(e, d, FieldPurchase, TopCategory, 90) >= 3
		}},
		{"cart_add IN 7d AND NOT purchase IN 7d", func(e []Event, d func(int64) int64) bool {
			return sumOf(e, d, FieldCartAdd, "", 7) >= 1 && sumOf(e, d, FieldPurchase, "", 7) == 0
		}},
		{"spend:" + TopCategory + " >= 10000 IN 365d", func(e []Event, d func(int64) int64) bool {
			return sumOf(e, d, FieldSpend, TopCategory, 365) >= 10000
		}},
		{EventIsMemberExpr, func(e []Event, d func(int64) int64) bool {
			return sumOf(e, d, FieldPurchase, TopCategory, 90) >= 2 && sumOf(e, d, FieldCartAdd, "", 30) >= 1 &&
				sumOf(e, d, FieldCoupon, "", 365) == 0
		}},
	} {
		want := bruteCount(p, n, EventClock, c.pred)
		got, err := le.Engine.Count(c.expr, time.Time{})
		if err != nil || got != want {
			t.Errorf("%s: engine %d (%v), generator %d", c.expr, got, err, want)
		}
		if want == 0 {
			t.Errorf("%s: nobody matches, the query measures nothing", c.expr)
		}
	}
	// The second load comes from the cache.
	log.Reset()
	again, err := LoadEventEngine(context.Background(), o, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "from the cache") || !reflect.DeepEqual(again.Info, le.Info) {
		t.Errorf("second load: %s", log.String())
	}
	// A damaged cache is rebuilt.
	part := filepath.Join(dir, le.Info.Key, partFile(0))
	if err := os.WriteFile(part, []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	log.Reset()
	if _, err := LoadEventEngine(context.Background(), o, dir); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "building it again") {
		t.Errorf("damaged cache not rebuilt: %s", log.String())
	}
}

func TestLoadEventsOverTheWire(t *testing.T) {
	addr := startServer(t)
	const n = 300
	end := time.Now()
	res, err := LoadEvents(context.Background(), LoadOptions{Addr: addr, Entities: n, Seed: 1, Clients: 4, Pipeline: 64},
		TrackOptions{EventOptions: EventOptions{End: end}})
	if err != nil {
		t.Fatal(err)
	}
	p := NewPopulation(1)
	var want int64
	for i := 0; i < n; i++ {
		want += int64(len(p.Events(i, EventOptions{End: end}, nil)))
	}
	if res.Errors != 0 || res.Commands != want || res.Entities != n {
		t.Fatalf("load = %+v, want %d events", res, want)
	}
	c := dial(t, addr)
	// The server's engine, built through ENT.TRACK, answers as one built in
	// process from the same events.
	e := index.New()
	e.SetClock(func() time.Time { return end })
	for i := 0; i < n; i++ {
		for _, ev := range p.Events(i, EventOptions{End: end}, nil) {
			m := &index.Mutation{Op: index.OpTrack, Key: Key(i), Field: ev.Field, At: time.Unix(ev.At, 0), Amount: ev.Amount}
			if ev.Value != "" {
				m.Values = []string{ev.Value}
			}
			if _, err := e.Apply(m); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, q := range []string{"purchase:" + TopCategory + " >= 2 IN 90d", "spend >= 20000 IN 365d", "coupon_redeem EVER", "cart_add IN 30d"} {
		at := strconv.FormatInt(end.Unix(), 10)
		got, err := c.Int("QUERY.COUNT", q, "AT", at)
		wantN, _ := e.Count(q, end)
		if err != nil || uint64(got) != wantN {
			t.Errorf("%s: server %d (%v), engine %d", q, got, err, wantN)
		}
	}
	if cmds := p.TrackCommands(1, EventOptions{End: end}); len(cmds) > 0 && cmds[0][0] != "ENT.TRACK" {
		t.Errorf("TrackCommands: %q", cmds[0])
	}
}
