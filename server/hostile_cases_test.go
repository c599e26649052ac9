package server

// The hostile cases 5 to 8 (see hostile_test.go for TestHostile and the
// shared machinery), and the regressions these tests found.

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/segd-db/segd/internal/testenv"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// ---- case 5: half-closed, half-sent and idle connections ----

func hostileHalfClosed(t *testing.T) {
	e := newHostileEnv(t, nil, nil)
	w := e.watch()

	// Idle connections and a connection stuck in the middle of a command stay
	// open the whole time; none of them blocks anyone.
	var idle []*respConn
	for range 20 {
		idle = append(idle, attackConn(t, e.srv))
	}
	stuck := attackConn(t, e.srv)
	stuck.sendRaw(encodeCommand("ECHO", "never finished")[:15])
	hostileTally.cmds.Add(1)

	// A command then a write half-close: the replies still arrive, then EOF.
	for _, n := range []int{1, 2, 1000} {
		rc := attackConn(t, e.srv)
		var b bytes.Buffer
		for i := range n {
			b.Write(encodeCommand("ECHO", strconv.Itoa(i)))
		}
		rc.sendRaw(b.Bytes())
		if err := rc.nc.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatalf("CloseWrite: %v", err)
		}
		hostileTally.cmds.Add(int64(n))
		for i := range n {
			v, err := rc.read()
			if err != nil {
				t.Fatalf("half-closed after %d commands: reply %d: %v", n, i, err)
			}
			if v != strconv.Itoa(i) {
				t.Fatalf("half-closed after %d commands: reply %d = %#v", n, i, v)
			}
		}
		if _, err := rc.read(); !errors.Is(err, io.EOF) {
			t.Errorf("half-closed after %d commands: after the replies: %v, want EOF", n, err)
		}
		rc.nc.Close()
	}
	// A write that mutates, then a half-close: applied and acknowledged.
	rc := attackConn(t, e.srv)
	rc.sendRaw(encodeCommand("ENT.SET", "half:1", "country", "PT"))
	_ = rc.nc.(*net.TCPConn).CloseWrite()
	hostileTally.cmds.Add(1)
	expectEq(t, "ENT.SET before half-close", rc.mustRead(), int64(1))
	rc.nc.Close()
	expectEq(t, "half:1 was written", doInt(t, e.good, "ENT.EXISTS", "half:1"), int64(1))

	// Half a command, then a half-close: no reply, the server closes.
	for _, cut := range []int{1, 4, 9, 14} {
		rc := attackConn(t, e.srv)
		rc.sendRaw(encodeCommand("ECHO", "hello")[:cut])
		_ = rc.nc.(*net.TCPConn).CloseWrite()
		hostileTally.cmds.Add(1)
		if v, err := rc.read(); err == nil {
			t.Errorf("half a command (%d bytes) then half-close: reply %#v", cut, v)
		} else if !errors.Is(err, io.EOF) {
			t.Errorf("half a command (%d bytes) then half-close: %v, want EOF", cut, err)
		}
		rc.nc.Close()
	}
	// Half a command, then a full close; and connect-then-close.
	for range 20 {
		rc := attackConn(t, e.srv)
		rc.sendRaw(encodeCommand("QUERY.COUNT", "country:US")[:12])
		rc.nc.Close()
		hostileTally.cmds.Add(1)
		rc = attackConn(t, e.srv)
		rc.nc.Close()
	}
	// Everyone else is still served while the idle ones linger.
	for _, rc := range idle[:3] {
		expectEq(t, "idle connection wakes up", rc.do("PING"), respStatus("PONG"))
	}
	hostileTally.cmds.Add(3)
	// The stuck connection finishes its command late: it is answered.
	stuck.sendRaw(encodeCommand("ECHO", "never finished")[15:])
	expectEq(t, "stuck command finished", stuck.mustRead(), "never finished")
	w.stop()
	for _, rc := range idle {
		rc.nc.Close()
	}
	stuck.nc.Close()
	e.settle()
}

// ---- case 6: thousands of connections against --max-clients ----

func hostileManyConnections(t *testing.T) {
	total, maxClients := 2000, 1000
	if testing.Short() {
		total, maxClients = 600, 300
	}
	// Each connection costs two descriptors here (both ends are in this
	// process): raise the soft limit to the hard one, or scale down.
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil {
		need := uint64(2*total + 256)
		if rl.Cur < need && rl.Max > rl.Cur {
			old := rl
			rl.Cur = min(rl.Max, need)
			if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl) == nil {
				t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
			} else {
				rl = old
			}
		}
		if rl.Cur < need {
			total = int(rl.Cur-256) / 2
			maxClients = total / 2
			t.Logf("fd limit %d: scaled down to %d connections, max-clients %d", rl.Cur, total, maxClients)
		}
	}
	if total < 20 {
		testenv.Skip(t, fmt.Sprintf("the open-file limit (%d) is too low for this test: raise ulimit -n", rl.Cur))
	}
	e := newHostileEnv(t, func(c *Config) { c.MaxClients = maxClients }, nil)
	rejected0 := mustMetric(t, scrapeMetrics(t, e.srv), "segd_rejected_connections_total")
	e.baseline()
	w := e.watch()

	conns := make([]*respConn, total)
	for i := range conns {
		conns[i] = attackConn(t, e.srv)
	}
	admitted := maxClients - e.clients0
	poll(t, "the server to admit up to max-clients", func() (bool, string) {
		n := e.srv.clients.count()
		return n == maxClients, fmt.Sprintf("%d clients", n)
	})
	poll(t, "the server to refuse the rest", func() (bool, string) {
		r := mustMetric(t, scrapeMetrics(t, e.srv), "segd_rejected_connections_total") - rejected0
		return int(r) == total-admitted, fmt.Sprintf("%v rejected, want %d", r, total-admitted)
	})
	in := map[string]bool{}
	for _, line := range strings.Split(doStr(t, e.good, "CLIENT", "LIST"), "\n") {
		for _, f := range strings.Fields(line) {
			if a, ok := strings.CutPrefix(f, "addr="); ok {
				in[a] = true
			}
		}
	}
	var nIn, nOut atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	var mu sync.Mutex
	var fails []string
	fail := func(format string, args ...any) {
		mu.Lock()
		fails = append(fails, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	for i, rc := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if !in[rc.nc.LocalAddr().String()] {
				nOut.Add(1)
				rc.nc.SetReadDeadline(time.Now().Add(testTimeout))
				v, err := readRESP(rc.r)
				if err != nil || v != respErr("ERR max number of clients reached") {
					fail("refused connection %d: %#v, %v", i, v, err)
					return
				}
				rc.nc.SetReadDeadline(time.Now().Add(testTimeout))
				if _, err := io.Copy(io.Discard, rc.r); err != nil {
					fail("refused connection %d not closed: %v", i, err)
				}
				return
			}
			nIn.Add(1)
			rc.nc.SetWriteDeadline(time.Now().Add(testTimeout))
			_, _ = rc.nc.Write(append(encodeCommand("PING"), encodeCommand("QUERY.COUNT", "country:US")...))
			rc.nc.SetReadDeadline(time.Now().Add(testTimeout))
			if v, err := readRESP(rc.r); err != nil || v != respStatus("PONG") {
				fail("admitted connection %d: PING %#v, %v", i, v, err)
				return
			}
			if v, err := readRESP(rc.r); err != nil || v != e.usEntries {
				fail("admitted connection %d: QUERY.COUNT %#v, %v", i, v, err)
			}
		}()
	}
	wg.Wait()
	hostileTally.cmds.Add(2 * nIn.Load())
	if len(fails) > 0 {
		t.Errorf("%d connections misbehaved; first: %s", len(fails), strings.Join(fails[:min(5, len(fails))], "; "))
	}
	if int(nIn.Load()) != admitted || int(nOut.Load()) != total-admitted {
		t.Errorf("%d admitted and %d refused, want %d and %d", nIn.Load(), nOut.Load(), admitted, total-admitted)
	}
	t.Logf("%d connections: %d admitted and served, %d refused (max-clients %d)", total, nIn.Load(), nOut.Load(), maxClients)
	for _, rc := range conns {
		rc.nc.Close()
	}
	w.stop()
	e.settle()
	poll(t, "segd_connected_clients back to its baseline", func() (bool, string) {
		v := mustMetric(t, scrapeMetrics(t, e.srv), "segd_connected_clients")
		return v == float64(e.clients0), fmt.Sprintf("segd_connected_clients %v, baseline %d", v, e.clients0)
	})
}

// ---- case 7: random bytes ----

func hostileGarbage(t *testing.T) {
	e := newHostileEnv(t, nil, nil)
	w := e.watch()
	rng := rand.New(rand.NewPCG(20240607, 7))
	nConns := 64
	if testing.Short() {
		nConns = 16
	}
	var errReplies, closes, dropped atomic.Int64
	var wg, writers sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range nConns {
		blob := make([]byte, 1+rng.IntN(32<<10))
		for j := range blob {
			blob[j] = byte(rng.Uint32())
		}
		switch i % 4 {
		case 1: // looks like RESP at first
			blob = append([]byte("*3\r\n$"), blob...)
		case 2: // a valid command, then garbage
			blob = append(encodeCommand("PING"), blob...)
		case 3: // printable garbage, lines of words
			for j := range blob {
				const alphabet = " \"'\\\r\nabcXYZ09*$:-+"
				blob[j] = alphabet[int(blob[j])%len(alphabet)]
			}
		}
		rc := attackConn(t, e.srv)
		hostileTally.cmds.Add(1)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			writers.Add(1)
			go func() {
				defer writers.Done()
				rc.nc.SetWriteDeadline(time.Now().Add(testTimeout))
				_, _ = rc.nc.Write(blob)
				_ = rc.nc.(*net.TCPConn).CloseWrite()
			}()
			// Every reply must be well-formed RESP, and an error (no garbage
			// runs a command) except the PING's; then the server closes.
			for k := 0; ; k++ {
				rc.nc.SetReadDeadline(time.Now().Add(testTimeout))
				v, err := readRESP(rc.r)
				if err != nil {
					var ne net.Error
					switch {
					case errors.As(err, &ne) && ne.Timeout():
						t.Errorf("garbage %d: the connection stays open after the client's half-close", i)
					case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
						closes.Add(1)
					default:
						t.Errorf("garbage %d: reply %d is not well-formed RESP: %v", i, k, err)
					}
					return
				}
				if i%4 == 2 && k == 0 {
					switch v {
					case respStatus("PONG"):
					case respErr("ERR Protocol error: unbalanced quotes in request"):
						// The PING was dropped (see TestHostileCommandsBeforeBadInline).
						dropped.Add(1)
						errReplies.Add(1)
						t.Errorf("garbage %d: the PING before the garbage was dropped", i)
					default:
						t.Errorf("garbage %d: PING before the garbage answered %#v", i, v)
					}
					continue
				}
				if _, ok := v.(respErr); !ok {
					t.Errorf("garbage %d: reply %d to garbage is %#v, want an error", i, k, v)
				}
				errReplies.Add(1)
			}
		}()
	}
	wg.Wait()
	writers.Wait()
	t.Logf("garbage: %d connections, %d error replies, %d closed by the server, %d PINGs before the garbage dropped", nConns, errReplies.Load(), closes.Load(), dropped.Load())
	w.stop()
	e.settle()
}

// ---- case 8: password guessing ----

func hostileAuthBruteForce(t *testing.T) {
	const pass = "correct horse battery staple"
	e := newHostileEnv(t, func(c *Config) { c.Password = pass }, &redis.Options{Password: pass})
	failures0 := mustMetric(t, scrapeMetrics(t, e.srv), "segd_auth_failures_total")
	e.baseline()
	w := e.watch()
	const guesses, nConns, chunk = 10000, 4, 500
	const wrongpass = "WRONGPASS invalid username-password pair or user is disabled."
	var wg sync.WaitGroup
	var answered atomic.Int64
	conns := make([]*respConn, nConns)
	for c := range conns {
		conns[c] = attackConn(t, e.srv)
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc := conns[c]
			for off := c * guesses / nConns; off < (c+1)*guesses/nConns; off += chunk {
				var b bytes.Buffer
				for g := off; g < off+chunk; g++ {
					guess := fmt.Sprintf("guess-%06d", g)
					switch g % 3 {
					case 0:
						b.Write(encodeCommand("AUTH", guess))
					case 1:
						b.Write(encodeCommand("AUTH", "default", guess))
					default:
						b.Write(encodeCommand("AUTH", "admin", pass)) // right password, no such user
					}
				}
				rc.nc.SetWriteDeadline(time.Now().Add(testTimeout))
				if _, err := rc.nc.Write(b.Bytes()); err != nil {
					t.Errorf("guesser %d: %v", c, err)
					return
				}
				for g := off; g < off+chunk; g++ {
					v, err := rc.read()
					if err != nil || v != respErr(wrongpass) {
						t.Errorf("guess %d: %#v, %v; want %s", g, v, err, wrongpass)
						return
					}
					answered.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	hostileTally.cmds.Add(guesses)
	expectEq(t, "guesses answered WRONGPASS", answered.Load(), int64(guesses))
	expectEq(t, "segd_auth_failures_total increase", mustMetric(t, scrapeMetrics(t, e.srv), "segd_auth_failures_total")-failures0, float64(guesses))
	// The guessers are still unauthenticated; the right password works.
	rc := conns[0]
	if v, _ := rc.do("QUERY.COUNT", "country:US").(respErr); !strings.HasPrefix(string(v), "NOAUTH") {
		t.Errorf("guesser after 10k wrong passwords: QUERY.COUNT answered %q, want NOAUTH", v)
	}
	expectEq(t, "AUTH with the password", rc.do("AUTH", pass), respStatus("OK"))
	expectEq(t, "QUERY.COUNT after AUTH", rc.do("QUERY.COUNT", "country:US"), e.usEntries)
	expectEq(t, "AUTH default with the password", conns[1].do("AUTH", "default", pass), respStatus("OK"))
	hostileTally.cmds.Add(4)
	for _, rc := range conns {
		rc.nc.Close()
	}
	w.stop()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	// settle's fresh client needs the password.
	poll(t, "connected_clients back to its baseline", func() (bool, string) {
		n := e.srv.clients.count()
		return n == e.clients0, fmt.Sprintf("connected_clients %d, baseline %d", n, e.clients0)
	})
	poll(t, "goroutines back to their baseline", func() (bool, string) {
		n := runtime.NumGoroutine()
		return n <= e.gor0+4, fmt.Sprintf("%d goroutines, baseline %d", n, e.gor0)
	})
	fresh := newClientOpts(t, e.srv, &redis.Options{Protocol: 2, Password: pass})
	expectEq(t, "fresh client QUERY.COUNT", doInt(t, fresh, "QUERY.COUNT", "country:US"), e.usEntries)
	unauth := newClientOpts(t, e.srv, &redis.Options{Protocol: 2})
	if msg := doErr(t, unauth, "QUERY.COUNT", "country:US"); !strings.HasPrefix(msg, "NOAUTH") {
		t.Errorf("client without password: %q", msg)
	}
}

// ---- regressions for bugs these tests found ----

// TestHostileCommandsBeforeBadInline: complete commands that arrive in the
// same read as an inline line with unbalanced quotes are answered, then the
// protocol error, as Redis does. (redcon alone drops the commands it had
// parsed from that buffer; the guard now rejects the line itself.)
func TestHostileCommandsBeforeBadInline(t *testing.T) {
	srv := startServer(t, func(c *Config) { c.InMemory = true })
	rc := dialRESP(t, srv)
	var b bytes.Buffer
	b.Write(encodeCommand("ENT.SET", "u:1", "country", "US"))
	b.Write(encodeCommand("PING"))
	b.WriteString("ECHO \"unbalanced\r\n")
	rc.sendRaw(b.Bytes())
	expectEq(t, "ENT.SET before the bad line", rc.mustRead(), int64(1))
	expectEq(t, "PING before the bad line", rc.mustRead(), respStatus("PONG"))
	expectProtocolClose(t, rc, "unbalanced quotes", "unbalanced quotes")
	c := newClient(t, srv, 2)
	expectEq(t, "u:1 written", doInt(t, c, "ENT.EXISTS", "u:1"), int64(1))
}

// TestHostilePipelinedRepliesBounded: redcon writes the replies to a whole
// read of pipelined requests at its end, so a few kilobytes of pipelined
// QUERY.MEMBERS could make the server hold hundreds of megabytes per
// connection; segd writes replies out once they pass 256 KiB.
func TestHostilePipelinedRepliesBounded(t *testing.T) {
	srv := startServer(t, func(c *Config) { c.InMemory = true })
	const entities = 2000
	loadEntities(t, srv, entities, "%0500d", "tier", "gold")
	line := "QUERY.MEMBERS ALL COUNT " + strconv.Itoa(entities) + "\n"
	packet := strings.Repeat(line, 4096/len(line))
	h := watchHeap()
	rc := dialRESP(t, srv)
	rc.sendRaw([]byte(packet))
	// Do not read for a while: that is when a server that buffers the whole
	// batch's replies grows. The heap is measured before this test's own
	// reading (in the same process) allocates anything.
	time.Sleep(500 * time.Millisecond)
	growth, _ := h.stop()
	for i := 0; i < 4096/len(line); i++ {
		if _, err := rc.read(); err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
	}
	t.Logf("%d bytes of requests: heap grew by %.1f MiB", len(packet), float64(growth)/mb)
	if growth > 32*mb {
		t.Errorf("one %d-byte packet of pipelined QUERY.MEMBERS made the heap grow by %.1f MiB (bound 32 MiB)", len(packet), float64(growth)/mb)
	}
}
