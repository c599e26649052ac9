package bench

import (
	"context"
	"github.com/segd-db/segd/internal/testenv"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// TestRedisEquivalence loads the same 2,000 customers into segd and into a
// real redis-server, then checks that every query of every class gets the
// same answer from both (SINTERCARD = QUERY.COUNT, the summed age-year
// SINTERCARDs = the range count, SISMEMBERs = QUERY.ISMEMBER, SINTER's size =
// QUERY.COUNT; with the saved segments and the last 30 days of events loaded
// into both, SEGMENT.OF = the names of the segment sets holding the key, and
// the windows = the unions and differences of the day sets), and that
// RunClass drives every class on both without errors.
func TestRedisEquivalence(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		testenv.Skip(t, "redis-server not installed (apt-get install redis-server; .ci/run does)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rs, err := StartRedis(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rs.Stop)
	segdAddr := startServer(t)

	const n = 2000
	lo := LoadOptions{Entities: n, Seed: 1, Clients: 4, Pipeline: 32}
	lo.Addr = segdAddr
	if r, err := Load(ctx, lo); err != nil || r.Errors > 0 {
		t.Fatalf("segd load: %+v %v", r, err)
	}
	lo.Addr = rs.Addr
	r, err := RedisLoad(ctx, lo)
	if err != nil || r.Errors > 0 || r.Entities != n {
		t.Fatalf("redis load: %+v %v", r, err)
	}
	sc, rc := dial(t, segdAddr), dial(t, rs.Addr)
	if got, err := rc.Int("ZCARD", "age"); err != nil || got != n {
		t.Fatalf("ZCARD age = %d, %v", got, err)
	}
	keys := make([]int64, 0, 200)
	for k := int64(0); k < n; k += 10 {
		keys = append(keys, k)
	}
	end := time.Now().UTC()
	var base, extra []Class
	for _, cl := range Classes(end) {
		if cl.Needs == "" {
			base = append(base, cl)
		} else {
			extra = append(extra, cl)
		}
	}
	checked, err := CheckEquivalence(sc, rc, base, keys)
	if err != nil {
		t.Fatal(err)
	}
	if want := 200*2 + 16 + 64 + 256 + 8 + 16; checked != want {
		t.Fatalf("checked %d answers, want %d", checked, want)
	}

	// Saved segments and events, in both.
	if sum, err := CreateSegments(ctx, segdAddr, "", SegmentCount); err != nil || sum == 0 {
		t.Fatalf("CreateSegments = %d, %v", sum, err)
	}
	lo.Addr = rs.Addr
	if r, err := RedisLoadSegments(ctx, lo, SegmentCount); err != nil || r.Errors > 0 || r.Commands == 0 {
		t.Fatalf("redis segments: %+v %v", r, err)
	}
	tr := TrackOptions{EventOptions: EventOptions{End: end}, Fields: WindowFields, Days: WindowDays}
	lo.Addr = segdAddr
	se, err := LoadEvents(ctx, lo, tr)
	if err != nil || se.Errors > 0 || se.Commands == 0 {
		t.Fatalf("segd events: %+v %v", se, err)
	}
	lo.Addr = rs.Addr
	re, err := RedisLoadEvents(ctx, lo, tr)
	if err != nil || re.Errors > 0 || re.Commands <= se.Commands {
		t.Fatalf("redis events: %+v %v (segd %d events)", re, err, se.Commands)
	}
	// Only the last 30 days were sent: nothing before them in segd.
	old := strconv.FormatInt(DayStart(end, WindowDays)-1, 10)
	if n, err := sc.Int("QUERY.COUNT", "purchase IN 1d", "AT", old); err != nil || n != 0 {
		t.Fatalf("purchases before the window = %d, %v", n, err)
	}
	checked, err = CheckEquivalence(sc, rc, extra, keys)
	if err != nil {
		t.Fatal(err)
	}
	if want := 200 + len(WindowNotDays) + 8; checked != want {
		t.Fatalf("checked %d answers, want %d", checked, want)
	}
	// Not vacuous: windows count someone, and customers are in segments.
	for _, cl := range extra {
		var sum int64
		for _, q := range cl.Queries {
			for _, k := range keys {
				a, _, err := q.Answer(rc, true, k)
				if err != nil {
					t.Fatal(err)
				}
				sum += a
				if !q.Keyed {
					break
				}
			}
		}
		if sum == 0 {
			t.Errorf("%s: every answer is 0", cl.Name)
		}
	}
	// Not vacuous: the top 3-term expression matches someone.
	if cnt, err := sc.Int("QUERY.COUNT", IsMemberExpr); err != nil || cnt == 0 {
		t.Fatalf("QUERY.COUNT %s = %d, %v", IsMemberExpr, cnt, err)
	}

	for _, cl := range Classes(end) {
		for _, redis := range []bool{false, true} {
			addr := segdAddr
			if redis {
				addr = rs.Addr
			}
			res, err := RunClass(ctx, ClassRunOptions{Addr: addr, Redis: redis, Class: cl, Entities: n,
				Clients: 2, Pipeline: 4, Requests: 40, Seed: 1})
			if err != nil || res.Total != 40 || res.Errors != 0 {
				t.Fatalf("%s (redis %v): %+v %v", cl.Name, redis, res, err)
			}
		}
	}
}
