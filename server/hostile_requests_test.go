package server

// The hostile cases 1 to 4 (see hostile_test.go for TestHostile and the
// shared machinery): what a single connection can send or refuse to read.

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

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
