package bench

// The event-window and SEGMENT.OF classes, and the Redis model of their
// data.
//
// Events in Redis: one SET per event term per UTC day, named term@YYYY-MM-DD
// and holding the keys of the customers with at least one such event that
// day ("purchase:apparel@2026-11-22"), plus one per field and day for the
// valued fields ("purchase@2026-11-22"), as segd keeps the whole field next
// to each value. segd's IN Nd is the N most recent UTC day buckets, the
// current one included, so a window is the same N day sets in Redis.
//
// Saved segments in Redis: one SET per segment ("seg:s000"), kept by the
// application, which evaluates the segment's expression on every customer it
// writes.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// What a class needs loaded beyond the profiles.
const (
	NeedsSegments = "segments" // the SegmentCount saved segments of SegmentExprs
	NeedsEvents   = "events"   // WindowFields' events of the last WindowDays days
)

// WindowDays is how many days of events the side-by-side loads (the widest
// window of the window classes), and WindowFields the fields it loads.
const WindowDays = 30

var WindowFields = []string{FieldPurchase, FieldCartAdd}

// RedisDayKey is the Redis SET of term's events on the UTC day starting at
// dayStart (Unix seconds).
func RedisDayKey(term string, dayStart int64) string {
	return term + "@" + time.Unix(dayStart, 0).UTC().Format("2006-01-02")
}

// RedisLoadEvents writes the events TrackOptions select (t.End must be set;
// Live is not supported) into Redis: for each event an SADD of the customer
// key to the term's day set, and for a valued event a second SADD to the
// field's day set, customer after customer, pipelined like Load.
// LoadResult.Commands is the number of SADDs.
func RedisLoadEvents(ctx context.Context, o LoadOptions, t TrackOptions) (LoadResult, error) {
	switch {
	case t.End.IsZero():
		return LoadResult{}, errors.New("redis events: give the end of the year")
	case t.Live:
		return LoadResult{}, errors.New("redis events: live events are not supported")
	case t.Spread > 0:
		return LoadResult{}, errors.New("redis events: spread is not supported")
	}
	pop := NewPopulation(o.Seed)
	keep := t.keeper()
	return loadCustomers(ctx, o, "redis events", func() customerWriter {
		var buf []Event
		days := map[int64]string{}
		return func(c *Conn, i int) int {
			buf = pop.Events(i, t.EventOptions, buf[:0])
			key := Key(i)
			n := 0
			for j := range buf {
				ev := &buf[j]
				if !keep(ev) {
					continue
				}
				d := floorDiv(ev.At, 86400) * 86400
				date, ok := days[d]
				if !ok {
					date = time.Unix(d, 0).UTC().Format("2006-01-02")
					days[d] = date
				}
				c.Command("SADD", ev.Term+"@"+date, key)
				n++
				if ev.Value != "" {
					c.Command("SADD", ev.Field+"@"+date, key)
					n++
				}
			}
			return n
		}
	})
}

// WindowNotDays are the windows of the window-not class.
var WindowNotDays = []int{3, 7, 14}

// windowClasses are the event-window classes, evaluated as of end.
func windowClasses(end time.Time) []Class {
	at := strconv.FormatInt(end.Unix(), 10)
	day := func(term string, back int) string { return RedisDayKey(term, DayStart(end, back)) }
	var not, in30 []Query
	for _, n := range WindowNotDays {
		expr := fmt.Sprintf("%s IN %dd AND NOT %s IN %dd", FieldCartAdd, n, FieldPurchase, n)
		q := Query{Expr: expr, Segd: []string{"QUERY.COUNT", expr, "AT", at}, Combine: CombineUnion}
		for d := 0; d < n; d++ {
			cmd := []string{"SDIFF", day(FieldCartAdd, d)}
			for e := 0; e < n; e++ {
				cmd = append(cmd, day(FieldPurchase, e))
			}
			q.Redis = append(q.Redis, cmd)
		}
		not = append(not, q)
	}
	for _, cat := range Categories[:8] {
		term := FieldPurchase + ":" + cat
		expr := term + " IN 30d"
		cmd := []string{"SUNION"}
		for d := 0; d < 30; d++ {
			cmd = append(cmd, day(term, d))
		}
		in30 = append(in30, Query{Expr: expr, Segd: []string{"QUERY.COUNT", expr, "AT", at},
			Redis: [][]string{cmd}, Combine: CombineUnion})
	}
	return []Class{
		{Name: "window-not", Kind: KindCount, Heavy: true, Needs: NeedsEvents,
			Segd:  `QUERY.COUNT "cart_add IN Nd AND NOT purchase IN Nd" AT t (N = 3, 7, 14)`,
			Redis: "N × SDIFF cart_add@day purchase@day1 … purchase@dayN, union in the client", Queries: not},
		{Name: "window-30d", Kind: KindCount, Heavy: true, Needs: NeedsEvents,
			Segd:  `QUERY.COUNT "purchase:<category> IN 30d" AT t`,
			Redis: "SUNION of 30 day sets, counted by the client", Queries: in30},
	}
}

// segmentOfClass asks which of the saved segments hold a customer.
func segmentOfClass() Class {
	q := Query{Expr: "SEGMENT.OF", Segd: []string{"SEGMENT.OF"}, Keyed: true, Combine: CombineNames}
	for i := 0; i < SegmentCount; i++ {
		q.Redis = append(q.Redis, []string{"SISMEMBER", RedisSegmentKey(i)})
		q.Names = append(q.Names, SegmentName(i))
	}
	return Class{Name: "segment-of", Kind: KindList, Needs: NeedsSegments, Segd: "SEGMENT.OF u:K",
		Redis: fmt.Sprintf("%d × SISMEMBER seg:sNNN u:K, pipelined", SegmentCount), Queries: []Query{q}}
}
