package bench

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

// TestRedisEquivalence loads the same 2,000 customers into segd and into a
// real redis-server, then checks that every query of every class gets the
// same answer from both (SINTERCARD = QUERY.COUNT, the summed age-year
// SINTERCARDs = the range count, SISMEMBERs = QUERY.ISMEMBER, SINTER's size =
// QUERY.COUNT), and that RunClass drives every class on both without errors.
func TestRedisEquivalence(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
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
	checked, err := CheckEquivalence(sc, rc, keys)
	if err != nil {
		t.Fatal(err)
	}
	if want := 200*2 + 16 + 64 + 256 + 8 + 16; checked != want {
		t.Fatalf("checked %d answers, want %d", checked, want)
	}
	// Not vacuous: the top 3-term expression matches someone.
	if cnt, err := sc.Int("QUERY.COUNT", IsMemberExpr); err != nil || cnt == 0 {
		t.Fatalf("QUERY.COUNT %s = %d, %v", IsMemberExpr, cnt, err)
	}

	for _, cl := range Classes() {
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
