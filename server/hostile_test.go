package server

// Hostile clients: the server must survive what a malicious or broken client
// can send (absurd lengths, deep nesting, floods, never reading, half-closed
// sockets, too many connections, random bytes, password guessing), stay
// within its limits while doing so, and keep answering a well-behaved client
// throughout. Every case runs a "watchdog": a go-redis client that checks
// correct answers within a latency bound during the attack, and every case
// ends by checking that connections and goroutines return to their baseline.
//
// Counts are bounded by time budgets rather than fixed numbers where the
// cost depends on the build (-race is several times slower), so the whole of
// TestHostile stays well under 30 s under `go test -race`.

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// hostileLatency bounds every answer the watchdog client gets while an
// attack runs: 2 s, or 5 s under the race detector, which slows everything
// several times over on a small shared machine (starvation would show as
// waiting for the whole attack, or for ever).
var hostileLatency = func() time.Duration {
	if hostileRace() {
		return 5 * time.Second
	}
	return 2 * time.Second
}()

// hostileRace reports whether the test binary was built with -race.
func hostileRace() bool {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" {
				return s.Value == "true"
			}
		}
	}
	return false
}

// hostileTally counts what the attacks sent, for the summary line.
var hostileTally struct {
	cases, conns, cmds atomic.Int64
}

func TestHostile(t *testing.T) {
	start := time.Now()
	hostileTally.cases.Store(0)
	hostileTally.conns.Store(0)
	hostileTally.cmds.Store(0)
	cases := []struct {
		name string
		f    func(t *testing.T)
	}{
		{"1_HugeLengths", hostileHugeLengths},
		{"2_DeepNesting", hostileDeepNesting},
		{"3_PipelineFlood", hostilePipelineFlood},
		{"4_SlowReader", hostileSlowReader},
		{"5_HalfClosed", hostileHalfClosed},
		{"6_ThousandsOfConnections", hostileManyConnections},
		{"7_GarbageBytes", hostileGarbage},
		{"8_AuthBruteForce", hostileAuthBruteForce},
	}
	for _, c := range cases {
		if t.Run(c.name, c.f) {
			hostileTally.cases.Add(1)
		}
	}
	t.Logf("hostile summary: %d/%d hostile cases passed, %d attack connections, %d attack commands/requests, %v",
		hostileTally.cases.Load(), len(cases), hostileTally.conns.Load(), hostileTally.cmds.Load(), time.Since(start).Round(time.Millisecond))
}

// ---- shared machinery ----

// hostileEnv is one case's server, its well-behaved client and baselines.
type hostileEnv struct {
	t         *testing.T
	srv       *Server
	good      *redis.Client
	usEntries int64 // entities with country:US, for the watchdog's check
	clients0  int   // connected clients before the attack (the good client)
	gor0      int   // goroutines before the attack
}

// newHostileEnv starts an in-memory server, connects the good client, loads
// a few entities and records the baselines.
func newHostileEnv(t *testing.T, mutate func(*Config), opt *redis.Options) *hostileEnv {
	t.Helper()
	srv := startServer(t, func(c *Config) {
		c.InMemory = true
		if mutate != nil {
			mutate(c)
		}
	})
	if opt == nil {
		opt = &redis.Options{}
	}
	if opt.Protocol == 0 {
		opt.Protocol = 3
	}
	opt.PoolSize = 1 // one connection: the baseline is exact
	good := newClientOpts(t, srv, opt)
	e := &hostileEnv{t: t, srv: srv, good: good}
	for i := 0; i < 5; i++ {
		do(t, good, "ENT.SET", fmt.Sprintf("good:%d", i), "country", "US", "age", 30+i)
	}
	do(t, good, "ENT.SET", "good:x", "country", "PT")
	e.usEntries = 5
	e.baseline()
	return e
}

func (e *hostileEnv) baseline() {
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	// Only the good client (a pool of one) is connected; wait for the
	// server to see any set-up connection go.
	poll(e.t, "only the good client connected before the attack", func() (bool, string) {
		n := e.srv.clients.count()
		return n == 1, fmt.Sprintf("%d clients", n)
	})
	e.clients0 = e.srv.clients.count()
	e.gor0 = runtime.NumGoroutine()
}

// check is one round of the good client: a PING and a query whose answer is
// known, each within hostileLatency.
func (e *hostileEnv) check(ctx context.Context, i int) error {
	if i%2 == 0 {
		v, err := e.good.Ping(ctx).Result()
		if err != nil || v != "PONG" {
			return fmt.Errorf("PING = %q, %v", v, err)
		}
		return nil
	}
	n, err := e.good.Do(ctx, "QUERY.COUNT", "country:US").Int64()
	if err != nil || n != e.usEntries {
		return fmt.Errorf("QUERY.COUNT country:US = %d, %v; want %d", n, err, e.usEntries)
	}
	return nil
}

// watchdog runs the good client's checks in a loop until stopped.
type watchdog struct {
	e      *hostileEnv
	stopCh chan struct{}
	done   chan struct{}
	start  time.Time
	rounds atomic.Int64
	maxLat atomic.Int64
	lats   []time.Duration // written by the watchdog goroutine only
	mu     sync.Mutex
	errs   []string
}

func (e *hostileEnv) watch() *watchdog {
	w := &watchdog{e: e, stopCh: make(chan struct{}), done: make(chan struct{}), start: time.Now()}
	go func() {
		defer close(w.done)
		for i := 0; ; i++ {
			select {
			case <-w.stopCh:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			t0 := time.Now()
			err := e.check(ctx, i)
			lat := time.Since(t0)
			cancel()
			w.rounds.Add(1)
			w.lats = append(w.lats, lat)
			if int64(lat) > w.maxLat.Load() {
				w.maxLat.Store(int64(lat))
			}
			if err == nil && lat > hostileLatency {
				err = fmt.Errorf("answer took %v (bound %v), %v after the watchdog started", lat.Round(time.Millisecond), hostileLatency, t0.Sub(w.start).Round(time.Millisecond))
			}
			if err != nil {
				w.mu.Lock()
				w.errs = append(w.errs, fmt.Sprintf("round %d: %v", i, err))
				w.mu.Unlock()
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return w
}

// stop ends the watchdog and fails the test if any round failed.
func (w *watchdog) stop() {
	t := w.e.t
	t.Helper()
	close(w.stopCh)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.errs) > 0 {
		t.Errorf("the well-behaved client failed %d of %d rounds during the attack; first: %s", len(w.errs), w.rounds.Load(), strings.Join(w.errs[:min(5, len(w.errs))], "; "))
	}
	if w.rounds.Load() == 0 {
		t.Errorf("the well-behaved client never got a round in")
	}
	slices.Sort(w.lats)
	p99 := time.Duration(0)
	if len(w.lats) > 0 {
		p99 = w.lats[len(w.lats)*99/100]
	}
	t.Logf("well-behaved client: %d rounds, p99 %v, slowest %v", w.rounds.Load(), p99.Round(time.Microsecond), time.Duration(w.maxLat.Load()).Round(time.Microsecond))
}

// settle checks, with deadlines, that the server is back to its baseline:
// connected clients, goroutines, and a good client (the old one and a fresh
// one) getting correct answers.
func (e *hostileEnv) settle() {
	t := e.t
	t.Helper()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	poll(t, "connected_clients back to its baseline", func() (bool, string) {
		n := e.srv.clients.count()
		return n == e.clients0, fmt.Sprintf("connected_clients %d, baseline %d", n, e.clients0)
	})
	info := doStr(t, e.good, "INFO", "clients")
	if want := fmt.Sprintf("connected_clients:%d\r\n", e.clients0); !strings.Contains(info, want) {
		t.Errorf("INFO clients = %q, want %q", info, want)
	}
	const slack = 4 // timers, an HTTP keep-alive, go-redis internals
	poll(t, "goroutines back to their baseline", func() (bool, string) {
		n := runtime.NumGoroutine()
		return n <= e.gor0+slack, fmt.Sprintf("%d goroutines, baseline %d (+%d slack)", n, e.gor0, slack)
	})
	ctx, cancel := context.WithTimeout(context.Background(), hostileLatency)
	defer cancel()
	for i := range 4 {
		if err := e.check(ctx, i); err != nil {
			t.Fatalf("after the attack: %v", err)
		}
	}
	fresh := newClient(t, e.srv, 2)
	expectEq(t, "fresh client QUERY.COUNT", doInt(t, fresh, "QUERY.COUNT", "country:US"), e.usEntries)
	fresh.Close()
}

// poll waits for cond with the test deadline and reports its last state.
func poll(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s: %s", testTimeout, what, state)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// heapWatch samples the process heap (the server is in-process) while an
// attack runs.
type heapWatch struct {
	base, peak atomic.Uint64
	total0     uint64
	stopCh     chan struct{}
	done       chan struct{}
}

func watchHeap() *heapWatch {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h := &heapWatch{stopCh: make(chan struct{}), done: make(chan struct{}), total0: ms.TotalAlloc}
	h.base.Store(ms.HeapAlloc)
	h.peak.Store(ms.HeapAlloc)
	go func() {
		defer close(h.done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > h.peak.Load() {
				h.peak.Store(ms.HeapAlloc)
			}
			select {
			case <-h.stopCh:
				return
			case <-tick.C:
			}
		}
	}()
	return h
}

// stop returns the peak heap growth over the baseline and the bytes
// allocated in all (garbage included) since the start.
func (h *heapWatch) stop() (growth, allocated uint64) {
	close(h.stopCh)
	<-h.done
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.HeapAlloc > h.peak.Load() {
		h.peak.Store(ms.HeapAlloc)
	}
	peak, base := h.peak.Load(), h.base.Load()
	if peak > base {
		growth = peak - base
	}
	return growth, ms.TotalAlloc - h.total0
}

// heapAfterGC is the live heap now.
func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

const mb = 1 << 20

// attackConn dials a raw connection and counts it.
func attackConn(t *testing.T, srv *Server) *respConn {
	t.Helper()
	hostileTally.conns.Add(1)
	return dialRESP(t, srv)
}

// expectProtocolClose reads the reply to a request that breaks the protocol:
// a "-ERR Protocol error: ..." (matching want) and then a closed connection.
func expectProtocolClose(t *testing.T, rc *respConn, what string, want string) {
	t.Helper()
	v, err := rc.read()
	if err != nil {
		t.Errorf("%s: read: %v, want an error reply first", what, err)
		return
	}
	e, ok := v.(respErr)
	if !ok || !strings.HasPrefix(string(e), "ERR Protocol error: ") || !strings.Contains(string(e), want) {
		t.Errorf("%s: reply %#v, want ERR Protocol error: ...%s...", what, v, want)
	}
	if !rc.closedByServer() {
		t.Errorf("%s: the connection stays open after a protocol error", what)
	}
}

// expectClosedOrError accepts an error reply or a reset (the server closed a
// connection with unread bytes), and requires the connection to end.
func expectClosedOrError(t *testing.T, rc *respConn, what string) (reply string) {
	t.Helper()
	v, err := rc.read()
	if err == nil {
		e, ok := v.(respErr)
		if !ok {
			t.Errorf("%s: reply %#v, want an error or a closed connection", what, v)
		}
		reply = string(e)
	}
	if !rc.closedByServer() {
		t.Errorf("%s: the connection stays open", what)
	}
	return reply
}
