package server

// Shared helpers of the server's integration tests: a real server on free
// loopback ports with a real Badger directory, real clients (go-redis under
// RESP2 and RESP3, the redis-cli binary, and a small raw RESP connection for
// what a client library hides), and pollers with deadlines instead of sleeps.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/segd-db/segd/internal/testenv"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// testTimeout bounds every single wait of these tests.
const testTimeout = 10 * time.Second

// testLogger discards the server's logs unless SEGD_TEST_LOG is set, in which
// case they go to stderr (t.Log cannot be used: background goroutines may log
// after a test has finished).
func testLogger() *slog.Logger {
	if os.Getenv("SEGD_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startServer starts a real server on free loopback ports with a fresh data
// directory, waits until it is ready, and closes it when the test ends.
// mutate, when not nil, changes the configuration before the server starts.
func startServer(t testing.TB, mutate func(*Config)) *Server {
	t.Helper()
	srv := bootServer(t, t.TempDir(), mutate)
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("server.Close: %v", err)
		}
	})
	return srv
}

// bootServer starts a server on free loopback ports with dir as its data
// directory and waits until it is ready; the caller closes it (restart and
// crash tests stop and start servers on one directory many times).
func bootServer(t testing.TB, dir string, mutate func(*Config)) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.MetricsAddr = "127.0.0.1:0"
	cfg.Dir = dir
	cfg.Logger = testLogger()
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("server.Start: %v", err)
	}
	// Longer than testTimeout: a restart replays its log first.
	ctx, cancel := context.WithTimeout(context.Background(), 3*testTimeout)
	defer cancel()
	if err := srv.WaitReady(ctx); err != nil {
		srv.Close()
		t.Fatalf("server.WaitReady: %v", err)
	}
	return srv
}

// newClient connects a go-redis client speaking RESP proto (2 or 3) and
// closes it when the test ends. It pings once so that connection errors show
// here rather than in the first command of the test.
func newClient(t testing.TB, srv *Server, proto int) *redis.Client {
	t.Helper()
	return newClientOpts(t, srv, &redis.Options{Protocol: proto})
}

// newClientOpts is newClient with options (Addr is filled in).
func newClientOpts(t testing.TB, srv *Server, opt *redis.Options) *redis.Client {
	t.Helper()
	opt.Addr = srv.Addr()
	if opt.DialTimeout == 0 {
		opt.DialTimeout = testTimeout
	}
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = testTimeout
	}
	if opt.WriteTimeout == 0 {
		opt.WriteTimeout = testTimeout
	}
	if opt.MaxRetries == 0 {
		opt.MaxRetries = -1 // a failed command must show, not be retried
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("go-redis RESP%d: PING: %v", opt.Protocol, err)
	}
	return c
}

// forEachProto runs f as a subtest under RESP2 and under RESP3.
func forEachProto(t *testing.T, f func(t *testing.T, proto int)) {
	for _, proto := range []int{2, 3} {
		t.Run("RESP"+strconv.Itoa(proto), func(t *testing.T) { f(t, proto) })
	}
}

// doer is what runs a command: a *redis.Client (any pooled connection) or a
// *redis.Conn (one connection, for connection state such as CLIENT SETNAME).
type doer interface {
	Do(ctx context.Context, args ...any) *redis.Cmd
}

// do runs a command through go-redis and returns its reply; redis.Nil (a
// null reply) is returned as nil, any other error fails the test.
func do(t testing.TB, c doer, args ...any) any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	v, err := c.Do(ctx, args...).Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", fmtArgs(args), err)
	}
	return v
}

// doErr runs a command that must fail and returns its error text.
func doErr(t testing.TB, c doer, args ...any) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	v, err := c.Do(ctx, args...).Result()
	if err == nil || errors.Is(err, redis.Nil) {
		t.Fatalf("%s: want an error, got %#v (err %v)", fmtArgs(args), v, err)
	}
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		t.Fatalf("%s: want a server error reply, got a client-side error: %v", fmtArgs(args), err)
	}
	return err.Error()
}

// doInt runs a command whose reply must be an integer.
func doInt(t testing.TB, c doer, args ...any) int64 {
	t.Helper()
	v := do(t, c, args...)
	n, ok := v.(int64)
	if !ok {
		t.Fatalf("%s: want an integer reply, got %T %#v", fmtArgs(args), v, v)
	}
	return n
}

// doStr runs a command whose reply must be a string (simple, bulk or verbatim).
func doStr(t testing.TB, c doer, args ...any) string {
	t.Helper()
	v := do(t, c, args...)
	s, ok := v.(string)
	if !ok {
		t.Fatalf("%s: want a string reply, got %T %#v", fmtArgs(args), v, v)
	}
	return s
}

// doArr runs a command whose reply must be an array.
func doArr(t testing.TB, c doer, args ...any) []any {
	t.Helper()
	v := do(t, c, args...)
	a, ok := v.([]any)
	if !ok {
		t.Fatalf("%s: want an array reply, got %T %#v", fmtArgs(args), v, v)
	}
	return a
}

// doMap runs a command whose reply is a *map*: a RESP3 map under RESP3 and a
// flat [k, v, ...] array under RESP2. It checks that very shape and returns
// the pairs as a Go map with string keys.
func doMap(t testing.TB, c doer, proto int, args ...any) map[string]any {
	t.Helper()
	v := do(t, c, args...)
	return asMap(t, proto, v, fmtArgs(args))
}

func asMap(t testing.TB, proto int, v any, what string) map[string]any {
	t.Helper()
	out := map[string]any{}
	switch proto {
	case 3:
		m, ok := v.(map[any]any)
		if !ok {
			t.Fatalf("%s: RESP3 want a map reply, got %T %#v", what, v, v)
		}
		for k, val := range m {
			ks, ok := k.(string)
			if !ok {
				t.Fatalf("%s: map key %#v is %T, want string", what, k, k)
			}
			out[ks] = val
		}
	default:
		a, ok := v.([]any)
		if !ok || len(a)%2 != 0 {
			t.Fatalf("%s: RESP2 want a flat [k, v, ...] array, got %T %#v", what, v, v)
		}
		for i := 0; i < len(a); i += 2 {
			ks, ok := a[i].(string)
			if !ok {
				t.Fatalf("%s: key %#v at %d is %T, want string", what, a[i], i, a[i])
			}
			out[ks] = a[i+1]
		}
	}
	return out
}

func fmtArgs(args []any) string {
	parts := make([]string, len(args))
	for i, a := range args {
		s := fmt.Sprint(a)
		if b, ok := a.([]byte); ok {
			s = string(b)
		}
		if len(s) > 40 {
			s = s[:37] + "..."
		}
		parts[i] = strconv.Quote(s)
	}
	return strings.Join(parts, " ")
}

// redisCLIPath is the real redis-cli binary; tests that need it skip when it
// is not installed (CI installs it).
func redisCLIPath(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("redis-cli")
	if err != nil {
		testenv.Skip(t, "redis-cli is not installed (apt-get install redis-tools; .ci/run does)")
	}
	return p
}

// redisCLI runs `redis-cli -h 127.0.0.1 -p PORT args...` once and returns
// what it printed on stdout (and stderr, after it, when it failed).
func redisCLI(t testing.TB, srv *Server, args ...string) (string, error) {
	t.Helper()
	bin := redisCLIPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	full := append([]string{"-h", "127.0.0.1", "-p", portOf(srv.Addr())}, args...)
	cmd := exec.CommandContext(ctx, bin, full...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Stdin = strings.NewReader("")
	err := cmd.Run()
	out := stdout.String()
	if err != nil {
		return out + stderr.String(), fmt.Errorf("redis-cli %s: %w (stderr: %s)", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", testTimeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// ---- HTTP: /metrics and /healthz ----

func httpGet(t testing.TB, url string) (int, string) {
	t.Helper()
	hc := &http.Client{Timeout: testTimeout}
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// scrapeMetrics returns the Prometheus text of srv's /metrics.
func scrapeMetrics(t testing.TB, srv *Server) string {
	t.Helper()
	code, body := httpGet(t, "http://"+srv.MetricsAddr()+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: status %d: %s", code, body)
	}
	return body
}

// metricValue finds one sample, named with its labels exactly as the text
// format writes them (`segd_commands_total{cmd="ent.set"}`), in a scrape.
// ok is false when there is no such sample.
func metricValue(body, sample string) (float64, bool) {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` ([^ \n]+)`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	return v, err == nil
}

// ---- a raw RESP connection ----

// respConn is a bare RESP connection for what client libraries hide: exact
// reply types, errors and push frames, protocol abuse, never reading.
type respConn struct {
	t  testing.TB
	nc net.Conn
	r  *bufio.Reader
}

// Reply types of respConn.read beyond the obvious Go ones (string for bulk
// and verbatim strings, int64, float64, bool, nil, []any for arrays and sets).
type (
	respStatus string // +simple string
	respErr    string // -error
	respMap    []any  // %map, as its flat key/value list in wire order
	respPush   []any  // >push
	respBig    string // (big number
)

func dialRESP(t testing.TB, srv *Server) *respConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", srv.Addr(), testTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", srv.Addr(), err)
	}
	t.Cleanup(func() { nc.Close() })
	return &respConn{t: t, nc: nc, r: bufio.NewReaderSize(nc, 64<<10)}
}

// encodeCommand is a RESP array of bulk strings.
func encodeCommand(args ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.Bytes()
}

func (rc *respConn) send(args ...string) {
	rc.t.Helper()
	rc.sendRaw(encodeCommand(args...))
}

func (rc *respConn) sendRaw(b []byte) {
	rc.t.Helper()
	rc.nc.SetWriteDeadline(time.Now().Add(testTimeout))
	if _, err := rc.nc.Write(b); err != nil {
		rc.t.Fatalf("write to server: %v", err)
	}
}

// read reads one reply (push frames included) within the test timeout.
func (rc *respConn) read() (any, error) {
	rc.nc.SetReadDeadline(time.Now().Add(testTimeout))
	return readRESP(rc.r)
}

// mustRead is read that fails the test on an I/O or framing error.
func (rc *respConn) mustRead() any {
	rc.t.Helper()
	v, err := rc.read()
	if err != nil {
		rc.t.Fatalf("read reply: %v", err)
	}
	return v
}

// do sends a command and reads its reply; an error reply comes back as respErr.
func (rc *respConn) do(args ...string) any {
	rc.t.Helper()
	rc.send(args...)
	return rc.mustRead()
}

// doErr sends a command whose reply must be an error and returns its text.
func (rc *respConn) doErr(args ...string) string {
	rc.t.Helper()
	v := rc.do(args...)
	e, ok := v.(respErr)
	if !ok {
		rc.t.Fatalf("%q: want an error reply, got %T %#v", args, v, v)
	}
	return string(e)
}

// closedByServer reports whether the server closed the connection (a read
// ends in EOF or a reset) within the test timeout, skipping any replies.
func (rc *respConn) closedByServer() bool {
	rc.nc.SetReadDeadline(time.Now().Add(testTimeout))
	_, err := io.Copy(io.Discard, rc.r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return true
}

func readRESP(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("bad RESP line %q", line)
	}
	typ, body := line[0], line[1:len(line)-2]
	readN := func() (int, error) { return strconv.Atoi(body) }
	readAgg := func(n int) ([]any, error) {
		out := make([]any, 0, n)
		for i := 0; i < n; i++ {
			v, err := readRESP(r)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	switch typ {
	case '+':
		return respStatus(body), nil
	case '-':
		return respErr(body), nil
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case ',':
		return strconv.ParseFloat(strings.NewReplacer("inf", "Inf", "nan", "NaN").Replace(body), 64)
	case '#':
		return body == "t", nil
	case '(':
		return respBig(body), nil
	case '_':
		return nil, nil
	case '$', '=':
		n, err := readN()
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, nil
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		s := string(b[:n])
		if typ == '=' && len(s) >= 4 {
			s = s[4:] // "txt:"
		}
		return s, nil
	case '*', '~', '>':
		n, err := readN()
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, nil
		}
		a, err := readAgg(n)
		if typ == '>' {
			return respPush(a), err
		}
		return a, err
	case '%':
		n, err := readN()
		if err != nil {
			return nil, err
		}
		a, err := readAgg(2 * n)
		return respMap(a), err
	}
	return nil, fmt.Errorf("unknown RESP type %q in %q", typ, line)
}

// ---- state checks for "a bad command changes nothing" ----

// dbState is what a rejected command must leave unchanged.
type dbState struct {
	entities int64
	fields   string
}

func stateOf(t testing.TB, c doer) dbState {
	t.Helper()
	return dbState{entities: doInt(t, c, "ENT.COUNT"), fields: fmt.Sprint(doArr(t, c, "FIELD.LIST"))}
}
