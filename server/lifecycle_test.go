package server

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/segd-db/segd/index"
	"github.com/segd-db/segd/storage"
)

// lifecycleCycles is how many times TestServerCloseReleases and
// TestEngineCloseReleases open and close in one process.
const lifecycleCycles = 50

// serverSlack bounds what 50 closed servers, kept referenced, may leave on
// the live heap: a closed server keeps only its small bookkeeping (command
// statistics, metric descriptors, channels: ~100 KiB), and the process its
// one-off package state (the snapshot compressor's ~6 MiB). Before Close
// released the engine and Badger, the 50 servers of this test kept 163 MiB
// (~3.3 MiB each); after, 8 MiB.
const serverSlack = 16 << 20

// engineSlack bounds what 50 dropped engines may leave: package-level caches
// keyed by an engine's fields kept 14.7 MiB of them before their keys were
// made weak; 0.2 MiB after.
const engineSlack = 4 << 20

// liveHeap collects garbage until the live heap stops shrinking and returns
// it (sync.Pools need two cycles to drop their contents).
func liveHeap() uint64 {
	var ms runtime.MemStats
	var last uint64
	for range 5 {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		if last != 0 && ms.HeapAlloc >= last {
			break
		}
		last = ms.HeapAlloc
	}
	return ms.HeapAlloc
}

// settleGoroutines waits until the goroutine count is at most limit, and
// returns the count (with a dump of the stacks if it stayed above).
func settleGoroutines(limit int) (int, string) {
	deadline := time.Now().Add(testTimeout)
	for {
		n := runtime.NumGoroutine()
		if n <= limit || time.Now().After(deadline) {
			if n <= limit {
				return n, ""
			}
			buf := make([]byte, 1<<20)
			return n, string(buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond) // polling, bounded by the deadline
	}
}

// heapProfile writes the live heap to $SEGD_LIFECYCLE_PROFILE-name.pprof
// when that is set (go tool pprof -sample_index=inuse_space shows what the
// closed servers or engines keep).
func heapProfile(t *testing.T, name string) {
	base := os.Getenv("SEGD_LIFECYCLE_PROFILE")
	if base == "" {
		return
	}
	f, err := os.Create(base + "-" + name + ".pprof")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		t.Fatal(err)
	}
}

// vmRSS is the process's resident set from /proc ("" where there is none).
func vmRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// lifecycleLoad writes n entities with an INT, an ENUM and a TAGS field
// through a real connection, saves a segment and profiles it (which fills
// the engine's per-field caches).
func lifecycleLoad(t *testing.T, srv *Server, n int) {
	t.Helper()
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), Protocol: 2, DisableIdentity: true, MaxRetries: -1})
	defer c.Close()
	for _, f := range [][]any{{"FIELD.CREATE", "age", "INT"}, {"FIELD.CREATE", "tier", "ENUM"}, {"FIELD.CREATE", "tags", "TAGS"}} {
		if err := c.Do(ctx, f...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	p := c.Pipeline()
	for i := range n {
		p.Do(ctx, "ENT.SET", fmt.Sprintf("c:%d", i), "age", 18+i%60, "tier", []string{"gold", "silver", "bronze"}[i%3])
		p.Do(ctx, "ENT.ADD", fmt.Sprintf("c:%d", i), "tags", fmt.Sprintf("t%d", i%50), fmt.Sprintf("u%d", i%7))
		if len(p.(*redis.Pipeline).Cmds()) >= 2000 {
			if _, err := p.Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, "SEGMENT.CREATE", "old", "age >= 60").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, "SEGMENT.PROFILE", "old").Err(); err != nil {
		t.Fatal(err)
	}
}

// TestServerCloseReleases opens a server (real listeners, real Badger in a
// temporary directory), writes to it, closes it, 50 times in one process,
// keeping every closed *Server referenced as an embedder or a test's
// cleanup might. The live heap and the goroutine count must come back to
// where they were after the first server.
func TestServerCloseReleases(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 50 servers")
	}
	var kept []*Server
	cycle := func() {
		srv := bootServer(t, t.TempDir(), nil)
		lifecycleLoad(t, srv, 20000)
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
		kept = append(kept, srv)
	}
	cycle() // warms package-level state: pools, the runtime's own
	heap0, g0 := liveHeap(), runtime.NumGoroutine()
	t.Logf("baseline after one server: heap %d KiB, %d goroutines, VmRSS %s", heap0>>10, g0, vmRSS())
	for range lifecycleCycles {
		cycle()
	}
	heap1 := liveHeap()
	heapProfile(t, "servers")
	g1, stacks := settleGoroutines(g0 + 2)
	t.Logf("after %d more servers: heap %d KiB (%+d KiB), %d goroutines, VmRSS %s",
		lifecycleCycles, heap1>>10, (int64(heap1)-int64(heap0))>>10, g1, vmRSS())
	if heap1 > heap0+serverSlack {
		t.Errorf("%d closed servers keep %d MiB of heap (bound %d MiB)", lifecycleCycles, (heap1-heap0)>>20, serverSlack>>20)
	}
	if stacks != "" {
		t.Errorf("%d goroutines after closing %d servers, %d before:\n%s", g1, lifecycleCycles, g0, stacks)
	}
	runtime.KeepAlive(kept)
}

// TestEngineCloseReleases builds an engine from a store 50 times in one
// process (write log, snapshot, load, profile, close the store) and checks
// that nothing package-level keeps the engines or the stores.
func TestEngineCloseReleases(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 50 stores")
	}
	cycle := func() {
		dir := t.TempDir()
		st, err := storage.Open(storage.Options{Dir: dir, Logger: testLogger()})
		if err != nil {
			t.Fatal(err)
		}
		e := index.New()
		var recs [][]byte
		apply := func(m *index.Mutation) {
			if _, err := e.Apply(m); err != nil {
				t.Fatal(err)
			}
			recs = append(recs, m.AppendBinary(nil))
		}
		apply(&index.Mutation{Op: index.OpCreateField, Field: "age", Kind: index.KindInt})
		apply(&index.Mutation{Op: index.OpCreateField, Field: "tier", Kind: index.KindEnum})
		for i := range 20000 {
			apply(&index.Mutation{Op: index.OpSet, Key: fmt.Sprintf("c:%d", i),
				Pairs: []index.Pair{{Field: "age", Value: fmt.Sprint(18 + i%60)}, {Field: "tier", Value: []string{"gold", "silver"}[i%2]}}})
		}
		apply(&index.Mutation{Op: index.OpSegmentCreate, Key: "old", Values: []string{"age >= 60"}})
		if _, err := st.Append(recs); err != nil {
			t.Fatal(err)
		}
		fz := e.FreezeChanges()
		err = st.WriteSnapshotFrom(st.LastSeq(), func(yield func(storage.Part) error) error {
			return fz.Parts(func(p index.Part) error { return yield(storage.Part{Name: p.Name, Data: p.Data, Same: p.Same}) })
		})
		if err != nil {
			t.Fatal(err)
		}
		// A second engine, loaded from the store as a restart does.
		var parts []index.Part
		if _, _, err := st.LoadSnapshot(func(name string, data []byte) error {
			parts = append(parts, index.Part{Name: name, Data: data})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		e2 := index.New()
		if err := e2.LoadSnapshot(parts); err != nil {
			t.Fatal(err)
		}
		for _, eng := range []*index.Engine{e, e2} {
			if _, err := eng.Profile("old", 10, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
	cycle()
	heap0, g0 := liveHeap(), runtime.NumGoroutine()
	t.Logf("baseline after one engine: heap %d KiB, %d goroutines", heap0>>10, g0)
	for range lifecycleCycles {
		cycle()
	}
	heap1 := liveHeap()
	heapProfile(t, "engines")
	g1, stacks := settleGoroutines(g0 + 2)
	t.Logf("after %d more engines: heap %d KiB (%+d KiB), %d goroutines",
		lifecycleCycles, heap1>>10, (int64(heap1)-int64(heap0))>>10, g1)
	if heap1 > heap0+engineSlack {
		t.Errorf("%d dropped engines and closed stores keep %d MiB of heap (bound %d MiB)", lifecycleCycles, (heap1-heap0)>>20, engineSlack>>20)
	}
	if stacks != "" {
		t.Errorf("%d goroutines after %d engines, %d before:\n%s", g1, lifecycleCycles, g0, stacks)
	}
}
