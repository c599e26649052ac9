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
//
// The file reads top down: TestHostile and its eight cases, the regression
// tests for bugs the cases found, then the machinery they share.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/segd-db/segd/internal/testenv"
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

// ---- case 1: huge declared lengths and counts, oversized requests ----

func hostileHugeLengths(t *testing.T) {
	const limit = 64 << 10
	e := newHostileEnv(t, func(c *Config) { c.MaxRequest = limit }, nil)
	w := e.watch()
	h := watchHeap()

	ping := string(encodeCommand("PING"))
	framing := []struct{ name, raw, want string }{
		{"bulk length MaxInt64", "*1\r\n$9223372036854775807\r\n", "invalid bulk length"},
		{"bulk length 2^63", "*1\r\n$9223372036854775808\r\n", "invalid bulk length"},
		{"bulk length 10^30", "*1\r\n$1000000000000000000000000000000\r\n", "invalid bulk length"},
		{"multibulk 4e9", "*4000000000\r\n", "too many arguments"},
		{"multibulk MaxInt64", "*9223372036854775807\r\n", "invalid multibulk length"},
		{"multibulk just over MaxArgs", "*1048577\r\n", "too many arguments"},
		{"negative bulk length", "*1\r\n$-5\r\nPING\r\n", "invalid bulk length"},
		{"bulk length -1", "*2\r\n$4\r\nECHO\r\n$-1\r\n", "invalid bulk length"},
		{"negative multibulk", "*-5\r\n", "invalid multibulk length"},
		{"multibulk MinInt64", "*-9223372036854775808\r\n", "invalid multibulk length"},
		{"non-numeric bulk length", "*1\r\n$abc\r\n", "invalid bulk length"},
		{"non-numeric multibulk", "*x1\r\n", "invalid multibulk length"},
		{"empty bulk length", "*1\r\n$\r\n", "invalid bulk length"},
		{"bulk length with plus", "*1\r\n$+4\r\nPING\r\n", "invalid bulk length"},
		{"bulk length hex", "*1\r\n$0x4\r\nPING\r\n", "invalid bulk length"},
		{"bulk length LF only", "*1\r\n$4\nPING\r\n", "invalid bulk length"},
		{"endless length digits", "*1\r\n$" + strings.Repeat("9", 100000), "invalid bulk length"},
		{"declared bulk above max-request", "*2\r\n$4\r\nECHO\r\n$104857600\r\n", "(limit"},
		{"declared bulk just above max-request", "*2\r\n$4\r\nECHO\r\n$" + strconv.Itoa(limit) + "\r\n", "(limit"},
	}
	for _, f := range framing {
		rc := attackConn(t, e.srv)
		// A command completed before the violation is answered first.
		rc.sendRaw([]byte(ping + f.raw))
		hostileTally.cmds.Add(2)
		if v := rc.mustRead(); v != respStatus("PONG") {
			t.Errorf("%s: PING before it answered %#v", f.name, v)
		}
		if f.name == "endless length digits" {
			// The rest of the 100000 digits is unread: the close may reset.
			expectClosedOrError(t, rc, f.name)
			continue
		}
		expectProtocolClose(t, rc, f.name, f.want)
	}
	// "$-5" at the start of a request is not RESP framing but an inline
	// command named "$-5", as in Redis: an error, and the connection stays.
	rc := attackConn(t, e.srv)
	rc.sendRaw([]byte("$-5\r\n"))
	hostileTally.cmds.Add(1)
	if v, ok := rc.mustRead().(respErr); !ok || !strings.HasPrefix(string(v), "ERR unknown command '$-5'") {
		t.Errorf("inline $-5: %#v", v)
	}
	expectEq(t, "PING after inline $-5", rc.do("PING"), respStatus("PONG"))
	rc.nc.Close()

	// Requests that really send more than --max-request-bytes: many small
	// arguments (each under the limit) adding up to 32 MiB, streamed while
	// the server refuses them. The server must stop reading early instead of
	// buffering the request.
	const streamed = 32 << 20
	var wg sync.WaitGroup
	written := make([]int64, 3)
	for i := range written {
		rc := attackConn(t, e.srv)
		arg := bytes.Repeat([]byte{'a' + byte(i)}, 1000)
		n := streamed / (len(arg) + 8)
		chunk := []byte(fmt.Sprintf("*%d\r\n", n))
		var body bytes.Buffer
		for body.Len() < 64<<10 {
			fmt.Fprintf(&body, "$%d\r\n%s\r\n", len(arg), arg)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc.nc.SetWriteDeadline(time.Now().Add(testTimeout))
			m, err := rc.nc.Write(chunk)
			written[i] += int64(m)
			for err == nil && written[i] < streamed {
				m, err = rc.nc.Write(body.Bytes())
				written[i] += int64(m)
			}
		}()
		hostileTally.cmds.Add(1)
		if r := expectClosedOrError(t, rc, "oversized request"); r != "" && !strings.Contains(r, "Protocol error: request too large") {
			t.Errorf("oversized request: reply %q", r)
		}
	}
	wg.Wait()
	for i, n := range written {
		if n >= streamed {
			t.Errorf("oversized request %d: the server read all %d bytes of it (limit %d)", i, n, limit)
		}
	}
	// An argument just under the limit still works on a fresh connection.
	ok := attackConn(t, e.srv)
	payload := strings.Repeat("z", limit-64)
	expectEq(t, "ECHO under the limit", ok.do("ECHO", payload), payload)
	ok.nc.Close()

	growth, allocated := h.stop()
	t.Logf("huge lengths: heap grew at most %.1f MiB, %.1f MiB allocated in all; oversized writers got %v bytes in", float64(growth)/mb, float64(allocated)/mb, written)
	if growth > 64*mb {
		t.Errorf("heap grew by %.1f MiB while refusing huge declared lengths (bound 64 MiB)", float64(growth)/mb)
	}
	if allocated > 256*mb {
		t.Errorf("%.1f MiB allocated while refusing huge declared lengths (bound 256 MiB)", float64(allocated)/mb)
	}
	w.stop()
	e.settle()
}

// ---- case 2: deep nesting ----

func hostileDeepNesting(t *testing.T) {
	const depth = 10000
	e := newHostileEnv(t, func(c *Config) { c.MaxExpr = 1 << 20 }, nil)
	w := e.watch()
	rc := attackConn(t, e.srv)

	tooDeep := regexp.MustCompile(`^ERR syntax error at (\d+): expression nested too deeply`)
	nested := []struct {
		name string
		expr string
		pos  int
	}{
		{"parentheses", strings.Repeat("(", depth) + "country:US" + strings.Repeat(")", depth), 129},
		{"unclosed parentheses", strings.Repeat("(", depth), 129},
		{"NOT chain", strings.Repeat("NOT ", depth) + "country:US", 128*4 + 1},
		{"NOT ( chain", strings.Repeat("NOT (", depth) + "country:US" + strings.Repeat(")", depth), 128/2*5 + 1},
		{"nested ORs", strings.Repeat("(country:US OR ", depth) + "ALL" + strings.Repeat(")", depth), 128*15 + 1},
		{"nested lowercase not", strings.Repeat("not(", depth) + "ALL" + strings.Repeat(")", depth), 128/2*4 + 1},
	}
	commands := [][]string{
		{"QUERY.COUNT", "%s"},
		{"QUERY.MEMBERS", "%s", "COUNT", "10"},
		{"QUERY.ISMEMBER", "%s", "good:1"},
		{"QUERY.EXPLAIN", "%s"},
		{"QUERY.GROUPBY", "country", "WHERE", "%s"},
		{"QUERY.STATS", "age", "WHERE", "%s"},
		{"QUERY.TOP", "3", "age", "WHERE", "%s"},
	}
	for _, n := range nested {
		for _, cmd := range commands {
			args := make([]string, len(cmd))
			for i, a := range cmd {
				args[i] = strings.Replace(a, "%s", n.expr, 1)
			}
			hostileTally.cmds.Add(1)
			v := rc.do(args...)
			re, _ := v.(respErr)
			m := tooDeep.FindStringSubmatch(string(re))
			if m == nil {
				t.Errorf("%s, %s: %.100q, want a nesting syntax error", n.name, cmd[0], fmt.Sprint(v))
				continue
			}
			if m[1] != strconv.Itoa(n.pos) {
				t.Errorf("%s, %s: error at %s, want at %d (%s)", n.name, cmd[0], m[1], n.pos, re)
			}
		}
	}
	// Exactly the limit is fine, and long flat chains are not nesting.
	expectEq(t, "128 parentheses", rc.do("QUERY.COUNT", strings.Repeat("(", 128)+"country:US"+strings.Repeat(")", 128)), e.usEntries)
	expectEq(t, "128 NOTs", rc.do("QUERY.COUNT", strings.Repeat("NOT ", 128)+"country:US"), e.usEntries)
	chain := func(op string) string {
		return strings.TrimSuffix(strings.Repeat("country:US "+op+" ", depth), " "+op+" ")
	}
	expectEq(t, "10k-term AND", rc.do("QUERY.COUNT", chain("AND")), e.usEntries)
	expectEq(t, "10k-term OR", rc.do("QUERY.COUNT", chain("OR")), e.usEntries)
	if _, ok := rc.do("QUERY.COUNT", chain("XOR")).(int64); !ok {
		t.Errorf("10k-term XOR did not answer an integer")
	}
	if _, ok := rc.do("QUERY.EXPLAIN", chain("OR")).([]any); !ok {
		t.Errorf("QUERY.EXPLAIN of a 10k-term OR did not answer a plan")
	}
	hostileTally.cmds.Add(6)
	expectEq(t, "connection still usable", rc.do("PING"), respStatus("PONG"))
	rc.nc.Close()

	// Nested RESP arrays inside a request are a protocol error.
	short := attackConn(t, e.srv)
	short.sendRaw([]byte("*1\r\n*1\r\n$4\r\nPING\r\n"))
	hostileTally.cmds.Add(1)
	expectProtocolClose(t, short, "nested RESP array", "expected '$', got '*'")
	deep := attackConn(t, e.srv)
	deep.sendRaw(append([]byte(strings.Repeat("*1\r\n", depth)), encodeCommand("PING")...))
	hostileTally.cmds.Add(1)
	if r := expectClosedOrError(t, deep, "10k nested RESP arrays"); r != "" && r != "ERR Protocol error: expected '$', got '*'" {
		t.Errorf("10k nested RESP arrays: %q", r)
	}
	w.stop()
	e.settle()
}

// ---- case 3: a flood of tiny pipelined commands ----

func hostilePipelineFlood(t *testing.T) {
	e := newHostileEnv(t, nil, nil)
	// As many as fit in the budget, at most a million, with at most window
	// commands unanswered so that the replies follow close behind.
	budget, maxCmds, window := 3*time.Second, 1_000_000, int64(50000)
	if hostileRace() {
		budget = 2 * time.Second
	}
	if testing.Short() {
		budget = time.Second
	}
	w := e.watch()
	rc := attackConn(t, e.srv)

	var sent, answered atomic.Int64
	writerDone := make(chan error, 1)
	go func() {
		buf := make([]byte, 0, 128<<10)
		var num []byte
		start := time.Now()
		i := 0
		for i < maxCmds && time.Since(start) < budget {
			for int64(i)-answered.Load() > window && time.Since(start) < budget+testTimeout {
				time.Sleep(100 * time.Microsecond)
			}
			buf = buf[:0]
			for len(buf) < 64<<10 && i < maxCmds {
				num = strconv.AppendInt(num[:0], int64(i), 10)
				buf = append(buf, "*2\r\n$4\r\nPING\r\n$"...)
				buf = strconv.AppendInt(buf, int64(len(num)), 10)
				buf = append(buf, "\r\n"...)
				buf = append(buf, num...)
				buf = append(buf, "\r\n"...)
				i++
			}
			rc.nc.SetWriteDeadline(time.Now().Add(testTimeout))
			if _, err := rc.nc.Write(buf); err != nil {
				writerDone <- err
				return
			}
			sent.Store(int64(i))
		}
		writerDone <- nil
	}()

	// Read every reply, in order: PING n answers n.
	br := bufio.NewReaderSize(rc.nc, 1<<20)
	var got int64
	var werr error
	writing := true
	for {
		if writing {
			select {
			case werr = <-writerDone:
				writing = false
			default:
			}
		}
		if !writing && got == sent.Load() {
			break
		}
		if got == sent.Load() {
			time.Sleep(time.Millisecond) // nothing sent yet that is unanswered
			continue
		}
		rc.nc.SetReadDeadline(time.Now().Add(testTimeout))
		line, err := br.ReadSlice('\n')
		if err != nil {
			t.Fatalf("reply %d: %v", got, err)
		}
		if len(line) < 4 || line[0] != '$' {
			t.Fatalf("reply %d: %q, want a bulk string", got, line)
		}
		n, err := strconv.Atoi(string(line[1 : len(line)-2]))
		if err != nil {
			t.Fatalf("reply %d: bad length %q", got, line)
		}
		body, err := br.ReadSlice('\n')
		if err != nil || len(body) != n+2 {
			t.Fatalf("reply %d: body %q, %v", got, body, err)
		}
		v, err := strconv.ParseInt(string(body[:n]), 10, 64)
		if err != nil || v != got {
			t.Fatalf("reply %d out of order: PING answered %q", got, body[:n])
		}
		got++
		answered.Store(got)
	}
	if werr != nil {
		t.Fatalf("writer: %v", werr)
	}
	hostileTally.cmds.Add(got)
	t.Logf("pipeline flood: %d PINGs on one connection, every reply in order", got)
	if got < 10000 {
		t.Errorf("only %d commands fitted in %v", got, budget)
	}
	expectEq(t, "PING after the flood", rc.do("PING"), respStatus("PONG"))
	rc.nc.Close()
	w.stop()
	e.settle()
}

// ---- case 4: a client that pipelines big replies and never reads ----

func hostileSlowReader(t *testing.T) {
	e := newHostileEnv(t, nil, nil)
	const entities = 10000
	loadEntities(t, e.srv, entities, "customer:%015d", "tier", "gold")
	expectEq(t, "entities", doInt(t, e.good, "ENT.COUNT"), int64(entities+6))
	e.baseline()

	h := watchHeap()
	w := e.watch()
	cmd := encodeCommand("QUERY.MEMBERS", "tier:gold", "COUNT", "10000")
	replySize := 10000 * len("$24\r\ncustomer:000000000000000\r\n")
	batch := bytes.Repeat(cmd, (64<<10)/len(cmd))
	const readers = 2
	attackFor := 2 * time.Second
	if testing.Short() || hostileRace() {
		attackFor = time.Second
	}
	conns := make([]*respConn, readers)
	written := make([]int64, readers)
	var wg sync.WaitGroup
	for i := range conns {
		conns[i] = attackConn(t, e.srv)
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc := conns[i]
			rc.nc.SetWriteDeadline(time.Now().Add(attackFor)) // writes block once the server stops reading
			for {
				n, err := rc.nc.Write(batch)
				written[i] += int64(n)
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	growth, _ := h.stop()
	var cmds int64
	for _, n := range written {
		cmds += n / int64(len(cmd))
	}
	hostileTally.cmds.Add(cmds)
	t.Logf("slow readers: %d QUERY.MEMBERS pipelined (%.0f MiB of replies if all were served), server heap grew at most %.1f MiB", cmds, float64(cmds)*float64(replySize)/mb, float64(growth)/mb)
	if growth > 200*mb {
		t.Errorf("heap grew by %.1f MiB for %d clients that never read (bound 200 MiB)", float64(growth)/mb, readers)
	}
	// The well-behaved client still pages through the members meanwhile.
	page := doArr(t, e.good, "QUERY.MEMBERS", "tier:gold", "COUNT", "10000")
	if keys, _ := page[1].([]any); len(keys) != 10000 {
		t.Errorf("good client's QUERY.MEMBERS page has %d keys", len(keys))
	}
	// Kill one with CLIENT KILL, close the other.
	expectEq(t, "CLIENT KILL ADDR", doInt(t, e.good, "CLIENT", "KILL", "ADDR", conns[0].nc.LocalAddr().String()), int64(1))
	conns[1].nc.Close()
	if !conns[0].closedByServer() {
		t.Errorf("the killed slow reader's connection stays open")
	}
	w.stop()
	e.settle()
	live := heapAfterGC()
	if base := h.base.Load(); live > base+32*mb {
		t.Errorf("live heap %.1f MiB after the slow readers left, %.1f MiB before", float64(live)/mb, float64(base)/mb)
	}
}

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

// loadEntities writes n entities named by keyFmt (with their number) with
// field=value, pipelined on one raw connection.
func loadEntities(t *testing.T, srv *Server, n int, keyFmt, field, value string) {
	t.Helper()
	rc := dialRESP(t, srv)
	defer rc.nc.Close()
	var b bytes.Buffer
	for i := range n {
		b.Write(encodeCommand("ENT.SET", fmt.Sprintf(keyFmt, i), field, value))
	}
	go func() {
		rc.nc.SetWriteDeadline(time.Now().Add(testTimeout))
		_, _ = rc.nc.Write(b.Bytes())
	}()
	for i := range n {
		if v, err := rc.read(); err != nil || v != int64(1) {
			t.Fatalf("load entity %d: %#v, %v", i, v, err)
		}
	}
}
