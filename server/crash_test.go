package server

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand"
	"os"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/segd-db/segd/storage"
)

// TestCrashCycles kills a segd child process with SIGKILL at random moments
// under a mixed write load, many times on one data directory, in both
// --fsync always and --fsync everysec (a process crash must lose nothing in
// either: Badger copies committed records into MAP_SHARED memory maps before
// Commit returns).
//
// Every writer owns its own keys, so its acknowledged writes define their
// state exactly and at most one of its writes is in flight at the kill. After
// each kill the data directory is reopened (in process, or in a child again)
// and every key must hold exactly its acknowledged state, except the keys of
// an in-flight write, which must show that write wholly applied or wholly
// absent. Writes are built so that both outcomes are distinguishable from
// each other and from any partial application: one ENT.SET writes a=g, b=-g
// and c="g<g>" for a fresh generation g; one ENT.ADD adds two fresh tags;
// ENT.UNSET removes a, b and c; ENT.DEL may delete two keys at once.
//
// SEGD_CRASH_CYCLES sets the cycles per fsync mode (default 4),
// SEGD_CRASH_SEED replays a run's choices (kill points, snapshots, writes;
// not its timing), SEGD_CRASH_MAX_WRITES caps the acknowledged
// writes before a kill (default 2000).
func TestCrashCycles(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	cycles := envInt(t, "SEGD_CRASH_CYCLES", 4)
	maxWrites := envInt(t, "SEGD_CRASH_MAX_WRITES", 2000)
	seed := time.Now().UnixNano()
	if v := os.Getenv("SEGD_CRASH_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseInt(v, 10, 64); err != nil {
			t.Fatalf("SEGD_CRASH_SEED: %v", err)
		}
	}
	t.Logf("seed %d (SEGD_CRASH_SEED=%d replays the choices), %d cycles per fsync mode", seed, seed, cycles)
	t.Logf("test process at the start: %s", soakMemory())

	var total crashTotals
	for i, mode := range []string{"always", "everysec"} {
		t.Run(mode, func(t *testing.T) {
			r := rand.New(rand.NewSource(seed + int64(i)))
			tot := runCrashCycles(t, r, mode, cycles, maxWrites)
			t.Logf("fsync %s: %s", mode, tot)
			total.add(tot)
		})
	}
	t.Logf("total: %s", total)
	t.Logf("test process at the end: %s", soakMemory())
	if !t.Failed() {
		fmt.Printf("crash cycles: %d, acknowledged writes checked: %d, lost: 0\n", total.cycles, total.acked)
	}
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

type crashTotals struct {
	cycles, acked, applied, absent, snapshots, childRestarts int
}

func (a *crashTotals) add(b crashTotals) {
	a.cycles += b.cycles
	a.acked += b.acked
	a.applied += b.applied
	a.absent += b.absent
	a.snapshots += b.snapshots
	a.childRestarts += b.childRestarts
}

func (a crashTotals) String() string {
	return fmt.Sprintf("%d cycles, %d acknowledged writes checked, in-flight writes at the kill: %d applied, %d absent; %d SAVE/BGSAVE requested, %d restarts verified in a child process",
		a.cycles, a.acked, a.applied, a.absent, a.snapshots, a.childRestarts)
}

// soakMemory is the test process's resident memory, its live heap (after
// GCs), and its resident memory once the runtime has returned freed pages
// to the OS: the first includes what recent restarts used and freed, the
// last what the process still holds.
func soakMemory() string {
	rss := vmRSS()
	heap := liveHeap()
	debug.FreeOSMemory()
	return fmt.Sprintf("VmRSS %s (%s with freed memory returned), live heap %d MiB", rss, vmRSS(), heap>>20)
}

// rssEvery: the soak logs the test process's resident memory every so many
// cycles (servers restarted in process must give theirs back).
const rssEvery = 50

const (
	crashWriters       = 4
	crashKeysPerWriter = 40
)

// crashEnt is the model of one entity: gen > 0 means a=gen, b=-gen,
// c="g<gen>"; tags are the values of the TAGS field t, sorted.
type crashEnt struct {
	gen  int64
	tags []string
}

// crashState renders an entity (nil: no such key) the way crashActual
// renders ENT.GET, so that the two compare as strings.
func crashState(e *crashEnt) string {
	if e == nil {
		return "<no key>"
	}
	a, b, c := "-", "-", "-"
	if e.gen > 0 {
		a, b, c = strconv.FormatInt(e.gen, 10), strconv.FormatInt(-e.gen, 10), "g"+strconv.FormatInt(e.gen, 10)
	}
	return fmt.Sprintf("a=%s b=%s c=%s t=[%s]", a, b, c, strings.Join(e.tags, " "))
}

// crashActual reads a key over RESP2 and renders it like crashState.
func crashActual(ctx context.Context, c *redis.Client, key string) (string, error) {
	v, err := c.Do(ctx, "ENT.GET", key).Slice()
	if errors.Is(err, redis.Nil) {
		return "<no key>", nil
	}
	if err != nil {
		return "", err
	}
	f := map[string]string{"a": "-", "b": "-", "c": "-"}
	var tags []string
	var extra []string
	for i := 0; i+1 < len(v); i += 2 {
		name := fmt.Sprint(v[i])
		switch name {
		case "a", "b", "c":
			f[name] = fmt.Sprint(v[i+1])
		case "t":
			vals, _ := v[i+1].([]any)
			for _, x := range vals {
				tags = append(tags, fmt.Sprint(x))
			}
		default:
			extra = append(extra, fmt.Sprintf(" %s=%v", name, v[i+1]))
		}
	}
	sort.Strings(tags)
	return fmt.Sprintf("a=%s b=%s c=%s t=[%s]%s", f["a"], f["b"], f["c"], strings.Join(tags, " "), strings.Join(extra, "")), nil
}

// crashOp is one write of a writer.
type crashOp struct {
	kind string // set, add, unset, rem, del
	keys []string
	gen  int64
	tags []string
}

func (op crashOp) args() []any {
	k := op.keys[0]
	g := strconv.FormatInt(op.gen, 10)
	switch op.kind {
	case "set":
		return []any{"ENT.SET", k, "a", g, "b", "-" + g, "c", "g" + g}
	case "add":
		return []any{"ENT.ADD", k, "t", op.tags[0], op.tags[1]}
	case "unset":
		return []any{"ENT.UNSET", k, "a", "b", "c"}
	case "rem":
		return []any{"ENT.REM", k, "t", op.tags[0]}
	case "del":
		args := []any{"ENT.DEL"}
		for _, k := range op.keys {
			args = append(args, k)
		}
		return args
	}
	panic(op.kind)
}

// want is the reply an acknowledged op must have.
func (op crashOp) want() int64 {
	switch op.kind {
	case "set", "unset":
		return 3
	case "add":
		return 2
	case "rem":
		return 1
	case "del":
		return int64(len(op.keys))
	}
	panic(op.kind)
}

func (op crashOp) String() string { return fmt.Sprint(op.args()) }

// apply changes m as the op does; it never modifies a tags slice in place.
func (op crashOp) apply(m map[string]crashEnt) {
	k := op.keys[0]
	e := m[k]
	switch op.kind {
	case "set":
		e.gen = op.gen
	case "add":
		e.tags = append(slices.Clone(e.tags), op.tags...)
		sort.Strings(e.tags)
	case "unset":
		e.gen = 0
	case "rem":
		e.tags = slices.DeleteFunc(slices.Clone(e.tags), func(s string) bool { return s == op.tags[0] })
	case "del":
		for _, k := range op.keys {
			delete(m, k)
		}
		return
	}
	m[k] = e
}

// crashWriter owns the keys w<id>:<n> and the model of their acknowledged
// state, which carries over from cycle to cycle.
type crashWriter struct {
	id       int
	model    map[string]crashEnt
	inflight *crashOp // sent, no reply: applied or not
	acked    int      // in this cycle
	err      error    // an unexpected reply
}

func (w *crashWriter) key(n int) string { return fmt.Sprintf("w%d:%02d", w.id, n) }

// pick chooses a write that changes the state of every key it names, so
// that an in-flight write's outcome is always visible.
func (w *crashWriter) pick(r *rand.Rand, gen *atomic.Int64) crashOp {
	k := w.key(r.Intn(crashKeysPerWriter))
	e, exists := w.model[k]
	roll := r.Intn(100)
	fresh := func() int64 { return gen.Add(1) }
	add := func() crashOp {
		g := fresh()
		return crashOp{kind: "add", keys: []string{k}, tags: []string{fmt.Sprintf("x%d", g), fmt.Sprintf("y%d", g)}}
	}
	switch {
	case !exists && roll < 30:
		return add()
	case !exists || roll < 40:
		return crashOp{kind: "set", keys: []string{k}, gen: fresh()}
	case roll < 60:
		return add()
	case roll < 72 && e.gen > 0:
		return crashOp{kind: "unset", keys: []string{k}}
	case roll < 78 && len(e.tags) > 0:
		return crashOp{kind: "rem", keys: []string{k}, tags: []string{e.tags[r.Intn(len(e.tags))]}}
	case roll < 92:
		keys := []string{k}
		if k2 := w.key(r.Intn(crashKeysPerWriter)); r.Intn(2) == 0 && k2 != k {
			if _, ok := w.model[k2]; ok {
				keys = append(keys, k2)
			}
		}
		return crashOp{kind: "del", keys: keys}
	}
	return crashOp{kind: "set", keys: []string{k}, gen: fresh()}
}

// run writes until the server goes away.
func (w *crashWriter) run(ctx context.Context, c *redis.Client, r *rand.Rand, gen *atomic.Int64, acked func()) {
	for {
		op := w.pick(r, gen)
		w.inflight = &op
		n, err := c.Do(ctx, op.args()...).Int64()
		if err != nil {
			var rerr redis.Error
			if errors.As(err, &rerr) {
				w.err = fmt.Errorf("%s: %v", op, err)
			}
			return // the server was killed: op stays in flight
		}
		if n != op.want() {
			w.err = fmt.Errorf("%s = %d, want %d", op, n, op.want())
			return
		}
		op.apply(w.model)
		w.inflight = nil
		w.acked++
		acked()
	}
}

func runCrashCycles(t *testing.T, r *rand.Rand, mode string, cycles, maxWrites int) crashTotals {
	ctx := context.Background()
	dir := t.TempDir()
	fsync := "SEGD_HELPER_FSYNC=" + mode
	writers := make([]*crashWriter, crashWriters)
	for i := range writers {
		writers[i] = &crashWriter{id: i, model: map[string]crashEnt{}}
	}
	var gen atomic.Int64
	var tot crashTotals
	// live stops the server of the current cycle if the test ends inside
	// it: one cleanup for the whole run, not one a cycle, which would keep
	// every cycle's server referenced until the end.
	var live func()
	t.Cleanup(func() {
		if live != nil {
			live()
		}
	})
	for cycle := 0; cycle < cycles; cycle++ {
		// The child's own snapshots: sometimes after few writes, so that
		// the housekeeping tick (1 s) starts background saves of its own.
		env := []string{fsync}
		if r.Intn(2) == 0 {
			env = append(env, fmt.Sprintf("SEGD_HELPER_SAVE_AFTER=%d", 20+r.Intn(500)), "SEGD_HELPER_SAVE_EVERY=1s")
		}
		cmd, addr := spawnHelperProcess(t, dir, env...)
		live = func() { cmd.Process.Kill(); _ = cmd.Wait() }

		// The kill: after a random number of acknowledged writes, or after
		// a random time; sometimes a SAVE or BGSAVE first, or just before.
		killAt := int64(-1)
		var killAfter time.Duration
		if r.Intn(2) == 0 {
			killAt = int64(50 + r.Intn(max(1, maxWrites-49)))
		} else {
			killAfter = time.Duration(10+r.Intn(1000)) * time.Millisecond
		}
		snap := r.Intn(5) // 0, 1: none; 2: SAVE; 3: BGSAVE; 4: SAVE or BGSAVE, then kill at once or a few ms later
		saveAt := int64(-1)
		if snap >= 2 {
			if killAt > 0 {
				saveAt = 1 + r.Int63n(killAt)
			} else {
				saveAt = 1 + r.Int63n(200)
			}
		}
		killCh := make(chan struct{})
		var killOnce sync.Once
		kill := func() { killOnce.Do(func() { close(killCh) }) }
		saveCh := make(chan struct{})
		var acks atomic.Int64
		acked := func() {
			n := acks.Add(1)
			if n == saveAt {
				close(saveCh)
			}
			if n == killAt {
				kill()
			}
		}
		var wg sync.WaitGroup
		for _, w := range writers {
			c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true,
				MaxRetries: -1, PoolSize: 1, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second})
			wr := rand.New(rand.NewSource(r.Int63()))
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				w.run(ctx, c, wr, &gen, acked)
			}()
		}
		var timer *time.Timer
		if killAfter > 0 {
			timer = time.AfterFunc(killAfter, kill)
		}
		deadline := time.NewTimer(60 * time.Second)
		var saveCmd string
		var saveDone chan struct{}
		select {
		case <-saveCh:
			saveCmd = "SAVE"
			if r.Intn(2) == 0 {
				saveCmd = "BGSAVE"
			}
			tot.snapshots++
			sc := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true, MaxRetries: -1, ReadTimeout: 30 * time.Second})
			if snap == 4 {
				// Kill while the snapshot is being taken or written.
				saveDone = make(chan struct{})
				go func(name string) { defer close(saveDone); sc.Do(ctx, name); sc.Close() }(saveCmd)
				time.Sleep(time.Duration(r.Intn(30)) * time.Millisecond)
				kill()
				saveCmd += " (kill during it)"
			} else {
				err := sc.Do(ctx, saveCmd).Err()
				sc.Close()
				if err != nil && !strings.Contains(err.Error(), "already in progress") {
					t.Errorf("cycle %d: %s: %v", cycle, saveCmd, err)
				}
			}
		case <-killCh:
		case <-deadline.C:
		}
		select {
		case <-killCh:
		case <-deadline.C:
			t.Logf("cycle %d: kill point not reached in 60 s (%d writes acknowledged); killing now", cycle, acks.Load())
		}
		deadline.Stop()
		if timer != nil {
			timer.Stop() // not deferred: a defer a cycle would last the whole run
		}
		if err := cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		_ = cmd.Wait()
		wg.Wait()
		if saveDone != nil {
			<-saveDone
		}
		inflight := 0
		for _, w := range writers {
			if w.err != nil {
				t.Fatalf("cycle %d: writer %d: %v", cycle, w.id, w.err)
			}
			if w.inflight != nil {
				inflight++
			}
		}
		how := fmt.Sprintf("after %d acknowledged writes", acks.Load())
		if killAfter > 0 {
			how += fmt.Sprintf(" (%v timer)", killAfter)
		}
		if saveCmd != "" {
			how += ", " + saveCmd + " at write " + strconv.FormatInt(saveAt, 10)
		}

		// Restart on the same directory and check every key.
		var c *redis.Client
		var stop func()
		if r.Intn(3) == 0 {
			tot.childRestarts++
			how += "; restart in a child"
			cmd2, addr2 := spawnHelperProcess(t, dir, fsync)
			c = redis.NewClient(&redis.Options{Addr: addr2, Protocol: 2, DisableIdentity: true})
			stop = func() { cmd2.Process.Kill(); _ = cmd2.Wait() } // and one more crash, with nothing in flight
		} else {
			how += "; restart in process"
			fs, err := storage.ParseFsync(mode)
			if err != nil {
				t.Fatal(err)
			}
			srv := bootServer(t, dir, func(cfg *Config) { cfg.Fsync = fs; cfg.MetricsAddr = "" })
			live = func() { _ = srv.shutdown(false) }
			c = redis.NewClient(&redis.Options{Addr: srv.Addr(), Protocol: 2, DisableIdentity: true})
			save := r.Intn(2) == 0
			stop = func() {
				if err := srv.shutdown(save); err != nil {
					t.Fatal(err)
				}
			}
		}
		live = func() { c.Close(); stop() }
		applied, absent := verifyCrash(ctx, t, r, c, writers, cycle)
		c.Close()
		stop()
		live = nil
		n := 0
		for _, w := range writers {
			n += w.acked
			w.acked = 0
		}
		tot.cycles++
		tot.acked += n
		tot.applied += applied
		tot.absent += absent
		t.Logf("cycle %d: killed %s; %d acknowledged writes intact, %d in flight: %d applied, %d absent",
			cycle, how, n, inflight, applied, absent)
		if (cycle+1)%rssEvery == 0 {
			t.Logf("after %d cycles: test process %s", cycle+1, soakMemory())
		}
	}
	return tot
}

// verifyCrash checks the restarted server against the writers' models and
// resolves each in-flight write as applied or absent (failing the test if it
// is neither). Afterwards the models hold the server's state.
func verifyCrash(ctx context.Context, t *testing.T, r *rand.Rand, c *redis.Client, writers []*crashWriter, cycle int) (applied, absent int) {
	t.Helper()
	for _, w := range writers {
		after := w.model
		touched := map[string]bool{}
		if w.inflight != nil {
			after = maps.Clone(w.model)
			w.inflight.apply(after)
			for _, k := range w.inflight.keys {
				touched[k] = true
			}
		}
		var sawBefore, sawAfter []string
		for n := 0; n < crashKeysPerWriter; n++ {
			k := w.key(n)
			got, err := crashActual(ctx, c, k)
			if err != nil {
				t.Fatalf("cycle %d: ENT.GET %s: %v", cycle, k, err)
			}
			want := crashState(entPtr(w.model, k))
			if !touched[k] {
				if got != want {
					t.Fatalf("cycle %d: %s = %s after the restart, acknowledged state %s (in flight: %v)", cycle, k, got, want, w.inflight)
				}
				continue
			}
			wantAfter := crashState(entPtr(after, k))
			if want == wantAfter {
				t.Fatalf("test bug: in-flight %s leaves %s unchanged", w.inflight, k)
			}
			switch got {
			case want:
				sawBefore = append(sawBefore, k)
			case wantAfter:
				sawAfter = append(sawAfter, k)
			default:
				t.Fatalf("cycle %d: %s = %s after the restart: neither the acknowledged state %s nor the in-flight %s applied (%s)",
					cycle, k, got, want, w.inflight, wantAfter)
			}
		}
		if w.inflight == nil {
			continue
		}
		switch {
		case len(sawBefore) > 0 && len(sawAfter) > 0:
			t.Fatalf("cycle %d: in-flight %s half applied: applied to %v, not to %v", cycle, w.inflight, sawAfter, sawBefore)
		case len(sawAfter) > 0:
			applied++
			w.model = after
		default:
			absent++
		}
		w.inflight = nil
	}

	// Nothing else: the whole population and the bitmaps agree.
	var all, withABC, withTags []string
	var gens []int64
	for _, w := range writers {
		for k, e := range w.model {
			all = append(all, k)
			if e.gen > 0 {
				withABC = append(withABC, k)
				gens = append(gens, e.gen)
			}
			if len(e.tags) > 0 {
				withTags = append(withTags, k)
			}
		}
	}
	sort.Strings(all)
	sort.Strings(withABC)
	sort.Strings(withTags)
	if n, err := c.Do(ctx, "ENT.COUNT").Int64(); err != nil || n != int64(len(all)) {
		t.Fatalf("cycle %d: ENT.COUNT = %d (%v), want %d", cycle, n, err, len(all))
	}
	for _, q := range []struct {
		expr string
		want []string
	}{
		{"ALL", all},
		{"a:*", withABC},
		{"b:*", withABC},
		{"c:*", withABC},
		{"a:* AND b:* AND c:*", withABC},
		{"t:*", withTags},
	} {
		if got := wireMembers(ctx, t, c, q.expr); !slices.Equal(got, q.want) {
			t.Fatalf("cycle %d: QUERY.MEMBERS %s = %v, want %v", cycle, q.expr, got, q.want)
		}
	}
	if len(gens) > 0 {
		x := gens[r.Intn(len(gens))]
		want := 0
		for _, g := range gens {
			if g >= x {
				want++
			}
		}
		for _, expr := range []string{fmt.Sprintf("a >= %d", x), fmt.Sprintf("b <= %d", -x)} {
			if n, err := c.Do(ctx, "QUERY.COUNT", expr).Int64(); err != nil || n != int64(want) {
				t.Fatalf("cycle %d: QUERY.COUNT %s = %d (%v), want %d", cycle, expr, n, err, want)
			}
		}
		if n, err := c.Do(ctx, "QUERY.COUNT", fmt.Sprintf("c:g%d", x)).Int64(); err != nil || n != 1 {
			t.Fatalf("cycle %d: QUERY.COUNT c:g%d = %d (%v), want 1", cycle, x, n, err)
		}
	}
	return applied, absent
}

func entPtr(m map[string]crashEnt, k string) *crashEnt {
	if e, ok := m[k]; ok {
		return &e
	}
	return nil
}
