package server

// Whole-server behaviour: authentication, health and metrics endpoints,
// client limits, CLIENT KILL, SHUTDOWN, concurrent writers.

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const testPassword = "s3cret pass"

func TestAuthRaw(t *testing.T) {
	t.Parallel()
	srv := startServer(t, func(c *Config) { c.Password = testPassword })
	rc := dialRESP(t, srv)

	// PING and QUIT need no password; everything else answers NOAUTH.
	expectEq(t, "PING", rc.do("PING"), respStatus("PONG"))
	for _, args := range [][]string{{"ENT.COUNT"}, {"ENT.SET", "u:1", "country", "US"}, {"QUERY.COUNT", "ALL"}, {"INFO"}, {"CLIENT", "LIST"}, {"SUBSCRIBE", "segment:x"}} {
		if e := rc.doErr(args...); !strings.HasPrefix(e, "NOAUTH ") {
			t.Errorf("%q before AUTH: %q", args, e)
		}
	}
	if e := rc.doErr("HELLO", "3"); !strings.HasPrefix(e, "NOAUTH ") {
		t.Errorf("HELLO 3 without AUTH: %q", e)
	}
	if e := rc.doErr("AUTH", "wrong"); !strings.HasPrefix(e, "WRONGPASS ") {
		t.Errorf("AUTH wrong: %q", e)
	}
	if e := rc.doErr("AUTH", "admin", testPassword); !strings.HasPrefix(e, "WRONGPASS ") {
		t.Errorf("AUTH with another user: %q", e)
	}
	if e := rc.doErr("HELLO", "3", "AUTH", "default", "wrong"); !strings.HasPrefix(e, "WRONGPASS ") {
		t.Errorf("HELLO AUTH wrong: %q", e)
	}
	if e := rc.doErr("ENT.COUNT"); !strings.HasPrefix(e, "NOAUTH ") {
		t.Errorf("ENT.COUNT after failed AUTH: %q", e)
	}
	expectEq(t, "AUTH right", rc.do("AUTH", testPassword), respStatus("OK"))
	expectEq(t, "ENT.SET after AUTH", rc.do("ENT.SET", "u:1", "country", "US"), int64(1))
	expectEq(t, "ENT.COUNT after AUTH", rc.do("ENT.COUNT"), int64(1))
	expectEq(t, "AUTH default pass", rc.do("AUTH", "default", testPassword), respStatus("OK"))

	// HELLO with AUTH authenticates and switches protocol at once.
	rc2 := dialRESP(t, srv)
	hello, ok := rc2.do("HELLO", "3", "AUTH", "default", testPassword, "SETNAME", "h3").(respMap)
	if !ok || len(hello) != 14 {
		t.Fatalf("HELLO 3 AUTH = %#v", hello)
	}
	expectEq(t, "ENT.GET via HELLO 3", rc2.do("ENT.GET", "u:1"), respMap{"country", "US"})
	expectEq(t, "CLIENT GETNAME", rc2.do("CLIENT", "GETNAME"), "h3")

	// RESET forgets the authentication.
	expectEq(t, "RESET", rc2.do("RESET"), respStatus("RESET"))
	if e := rc2.doErr("ENT.COUNT"); !strings.HasPrefix(e, "NOAUTH ") {
		t.Errorf("ENT.COUNT after RESET: %q", e)
	}

	// QUIT works unauthenticated and closes the connection.
	rc3 := dialRESP(t, srv)
	expectEq(t, "QUIT", rc3.do("QUIT"), respStatus("OK"))
	if !rc3.closedByServer() {
		t.Errorf("QUIT did not close the connection")
	}

	// Failures are counted.
	if v, ok := metricValue(scrapeMetrics(t, srv), "segd_auth_failures_total"); !ok || v < 2 {
		t.Errorf("segd_auth_failures_total = %v (found %v), want >= 2", v, ok)
	}
}

func TestAuthGoRedis(t *testing.T) {
	t.Parallel()
	srv := startServer(t, func(c *Config) { c.Password = testPassword })
	forEachProto(t, func(t *testing.T, proto int) {
		c := newClientOpts(t, srv, &redis.Options{Protocol: proto, Password: testPassword})
		key := "u:" + strconv.Itoa(proto)
		expectEq(t, "ENT.SET", doInt(t, c, "ENT.SET", key, "country", "US"), int64(1))
		expectEq(t, "QUERY.ISMEMBER", doInt(t, c, "QUERY.ISMEMBER", "country:US", key), int64(1))
		// Every pooled connection is authenticated.
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
				defer cancel()
				if err := c.Do(ctx, "ENT.COUNT").Err(); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("pooled ENT.COUNT: %v", err)
		}

		// Without the password, or with a wrong one, commands are refused.
		bad := redis.NewClient(&redis.Options{Addr: srv.Addr(), Protocol: proto, Password: "wrong", MaxRetries: -1})
		defer bad.Close()
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := bad.Do(ctx, "ENT.COUNT").Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
			t.Errorf("wrong password: %v", err)
		}
		none := redis.NewClient(&redis.Options{Addr: srv.Addr(), Protocol: proto, MaxRetries: -1})
		defer none.Close()
		if err := none.Do(ctx, "ENT.COUNT").Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
			t.Errorf("no password: %v", err)
		}
	})
}

func TestAuthRedisCLI(t *testing.T) {
	t.Parallel()
	redisCLIPath(t)
	srv := startServer(t, func(c *Config) { c.Password = testPassword })
	out, err := redisCLI(t, srv, "-a", testPassword, "--no-auth-warning", "ENT.SET", "u:1", "country", "US")
	if err != nil || out != "1\n" {
		t.Fatalf("redis-cli -a ENT.SET: %v %q", err, out)
	}
	out, err = redisCLI(t, srv, "-a", testPassword, "--no-auth-warning", "QUERY.COUNT", "country:US")
	if err != nil || out != "1\n" {
		t.Errorf("redis-cli -a QUERY.COUNT: %v %q", err, out)
	}
	out, err = redisCLI(t, srv, "-3", "-a", testPassword, "--no-auth-warning", "ENT.COUNT")
	if err != nil || out != "1\n" {
		t.Errorf("redis-cli -3 -a ENT.COUNT: %v %q", err, out)
	}
	out, _ = redisCLI(t, srv, "ENT.COUNT")
	if !strings.Contains(out, "NOAUTH") {
		t.Errorf("redis-cli without -a: %q", out)
	}
	out, _ = redisCLI(t, srv, "-a", "wrong", "--no-auth-warning", "ENT.COUNT")
	if !strings.Contains(out, "WRONGPASS") && !strings.Contains(out, "NOAUTH") {
		t.Errorf("redis-cli -a wrong: %q", out)
	}
	out, err = redisCLI(t, srv, "PING")
	if err != nil || out != "PONG\n" {
		t.Errorf("redis-cli PING without -a: %v %q", err, out)
	}
}

func TestHealthzAndMetrics(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	code, body := httpGet(t, "http://"+srv.MetricsAddr()+"/healthz")
	if code != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	c := newClient(t, srv, 3)
	doInt(t, c, "ENT.SET", "u:1", "country", "US")
	doInt(t, c, "ENT.SET", "u:2", "country", "FR")
	doInt(t, c, "QUERY.COUNT", "country:US")
	doErr(t, c, "QUERY.COUNT", "contry:US")

	m := scrapeMetrics(t, srv)
	for sample, min := range map[string]float64{
		`segd_commands_total{cmd="ent.set"}`:                            2,
		`segd_commands_total{cmd="query.count"}`:                        2,
		`segd_command_errors_total{cmd="query.count"}`:                  1,
		`segd_command_errors_total{cmd="ent.set"}`:                      0,
		`segd_connected_clients`:                                        1,
		`segd_entities`:                                                 2,
		`segd_fields`:                                                   1,
		`segd_loading`:                                                  0,
		`go_goroutines`:                                                 1,
		`process_resident_memory_bytes`:                                 1,
		`segd_command_duration_seconds_count{cmd="ent.set"}`:            2,
		`segd_pubsub_dropped_subscribers_total`:                         0,
		`segd_rejected_connections_total`:                               0,
		`segd_commit_duration_seconds_count`:                            1,
		`segd_command_duration_seconds_bucket{cmd="ent.set",le="+Inf"}`: 2,
	} {
		v, ok := metricValue(m, sample)
		if !ok {
			t.Errorf("/metrics lacks %s", sample)
		} else if v < min {
			t.Errorf("%s = %v, want >= %v", sample, v, min)
		}
	}
	expectEq(t, "segd_entities", mustMetric(t, m, "segd_entities"), 2.0)
	expectEq(t, "segd_errors ent.set", mustMetric(t, m, `segd_command_errors_total{cmd="ent.set"}`), 0.0)
	// Never labelled per entity, value or segment.
	for _, leak := range []string{`"u:1"`, `"US"`, `"country"`, `"contry:US"`} {
		if strings.Contains(m, leak) {
			t.Errorf("/metrics holds the label value %s", leak)
		}
	}
	// segd_connected_clients follows connections.
	rc := dialRESP(t, srv)
	expectEq(t, "PING", rc.do("PING"), respStatus("PONG"))
	n := mustMetric(t, scrapeMetrics(t, srv), "segd_connected_clients")
	rc.nc.Close()
	waitFor(t, "segd_connected_clients to go down", func() bool {
		return mustMetric(t, scrapeMetrics(t, srv), "segd_connected_clients") == n-1
	})
	// INFO agrees.
	info := doStr(t, c, "INFO", "clients")
	if !strings.Contains(info, fmt.Sprintf("connected_clients:%d", int(n-1))) {
		t.Errorf("INFO clients = %q, want connected_clients:%d", info, int(n-1))
	}
}

func mustMetric(t testing.TB, body, sample string) float64 {
	t.Helper()
	v, ok := metricValue(body, sample)
	if !ok {
		t.Fatalf("/metrics lacks %s", sample)
	}
	return v
}

func TestMaxClients(t *testing.T) {
	t.Parallel()
	srv := startServer(t, func(c *Config) { c.MaxClients = 2 })
	a := dialRESP(t, srv)
	b := dialRESP(t, srv)
	expectEq(t, "PING a", a.do("PING"), respStatus("PONG"))
	expectEq(t, "PING b", b.do("PING"), respStatus("PONG"))

	third := dialRESP(t, srv)
	v, err := third.read()
	if err != nil {
		t.Fatalf("third connection: %v, want the error reply first", err)
	}
	expectEq(t, "third connection", v, respErr("ERR max number of clients reached"))
	if !third.closedByServer() {
		t.Errorf("the refused connection stays open")
	}
	// The admitted ones keep working.
	expectEq(t, "ENT.SET on a", a.do("ENT.SET", "u:1", "country", "US"), int64(1))
	expectEq(t, "ENT.COUNT on b", b.do("ENT.COUNT"), int64(1))
	if v := mustMetric(t, scrapeMetrics(t, srv), "segd_rejected_connections_total"); v < 1 {
		t.Errorf("segd_rejected_connections_total = %v", v)
	}
	// Once one leaves, a new one is admitted.
	b.nc.Close()
	waitFor(t, "a new connection to be admitted", func() bool {
		rc := dialRESP(t, srv)
		defer rc.nc.Close()
		v, err := rc.read2("PING")
		return err == nil && v == respStatus("PONG")
	})
}

// read2 sends a command and reads one reply, returning I/O errors instead
// of failing the test.
func (rc *respConn) read2(args ...string) (any, error) {
	rc.nc.SetWriteDeadline(time.Now().Add(testTimeout))
	if _, err := rc.nc.Write(encodeCommand(args...)); err != nil {
		return nil, err
	}
	return rc.read()
}

func TestClientKillRaw(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	admin := dialRESP(t, srv)
	victim := dialRESP(t, srv)
	id, ok := victim.do("CLIENT", "ID").(int64)
	if !ok {
		t.Fatal("CLIENT ID")
	}
	expectEq(t, "CLIENT KILL ID", admin.do("CLIENT", "KILL", "ID", strconv.FormatInt(id, 10)), int64(1))
	if !victim.closedByServer() {
		t.Fatalf("killed client still connected")
	}
	// The old form by address.
	victim2 := dialRESP(t, srv)
	expectEq(t, "PING", victim2.do("PING"), respStatus("PONG"))
	addr := victim2.nc.LocalAddr().String()
	expectEq(t, "CLIENT KILL addr", admin.do("CLIENT", "KILL", addr), respStatus("OK"))
	if !victim2.closedByServer() {
		t.Fatalf("client killed by address still connected")
	}
	// Killing oneself answers, then closes.
	self, _ := admin.do("CLIENT", "ID").(int64)
	expectEq(t, "CLIENT KILL self", admin.do("CLIENT", "KILL", "ID", strconv.FormatInt(self, 10)), int64(1))
	if !admin.closedByServer() {
		t.Fatalf("self-killed client still connected")
	}
}

func TestShutdownCommand(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	c := newClient(t, srv, 2)
	doInt(t, c, "ENT.SET", "u:1", "country", "US")
	rc := dialRESP(t, srv)
	if e := rc.doErr("SHUTDOWN", "LATER"); !strings.HasPrefix(e, "ERR syntax error") {
		t.Errorf("SHUTDOWN LATER: %q", e)
	}
	rc.send("SHUTDOWN", "NOSAVE")
	if !rc.closedByServer() {
		t.Errorf("SHUTDOWN did not close the connection")
	}
	select {
	case <-srv.Done():
	case <-time.After(testTimeout):
		t.Fatalf("the server did not stop after SHUTDOWN")
	}
	// Health says so while the HTTP side is going, and the RESP port is closed.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Errorf("PING answered after SHUTDOWN")
	}
}

// TestConcurrentWriters: many connections write at once (group commit);
// every acknowledged write is visible to every connection right after.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	const writers, per = 8, 100
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := redis.NewClient(&redis.Options{Addr: srv.Addr(), Protocol: 2 + w%2, MaxRetries: -1})
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 2*testTimeout)
			defer cancel()
			reader := redis.NewClient(&redis.Options{Addr: srv.Addr(), Protocol: 3, MaxRetries: -1})
			defer reader.Close()
			for i := 0; i < per; i++ {
				key := fmt.Sprintf("w%d:%d", w, i)
				n, err := c.Do(ctx, "ENT.SET", key, "writer", "w"+strconv.Itoa(w), "seq", strconv.Itoa(i)).Int64()
				if err != nil || n != 2 {
					errs <- fmt.Errorf("ENT.SET %s: %d %v", key, n, err)
					return
				}
				// Visible at once on another connection.
				in, err := reader.Do(ctx, "QUERY.ISMEMBER", "writer:w"+strconv.Itoa(w), key).Int64()
				if err != nil || in != 1 {
					errs <- fmt.Errorf("QUERY.ISMEMBER %s right after its write: %d %v", key, in, err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	c := newClient(t, srv, 3)
	expectEq(t, "ENT.COUNT", doInt(t, c, "ENT.COUNT"), int64(writers*per))
	expectEq(t, "QUERY.COUNT seq < 10", doInt(t, c, "QUERY.COUNT", "seq < 10"), int64(writers*10))
	st := doMap(t, c, 3, "QUERY.STATS", "seq")
	expectEq(t, "QUERY.STATS sum", st["sum"], int64(writers*per*(per-1)/2))
	groups := doArr(t, c, "QUERY.GROUPBY", "writer")
	expectEq(t, "QUERY.GROUPBY groups", len(groups), writers)
}

// TestLastsaveBeforeFirstSave: LASTSAVE is a Unix time even before the first
// snapshot (Redis answers the start-up time then).
func TestLastsaveBeforeFirstSave(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	c := newClient(t, srv, 2)
	last := doInt(t, c, "LASTSAVE")
	if now := time.Now().Unix(); last > now+1 || last < now-60 {
		t.Errorf("LASTSAVE = %d, now %d", last, now)
	}
}

// TestLoadingState: while the data set loads, commands that need data
// answer LOADING, connection commands still work, INFO says loading:1 and
// /healthz answers 503. Loading a real data set is too quick to catch
// deterministically, so the test holds the server's loading flag (the one
// Start sets until load finishes) for the duration of the checks.
func TestLoadingState(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	c := newClient(t, srv, 3)
	doInt(t, c, "ENT.SET", "u:1", "country", "US")
	srv.loading.Store(true)
	defer srv.loading.Store(false)

	for _, args := range [][]any{{"ENT.COUNT"}, {"ENT.SET", "u:2", "country", "FR"}, {"QUERY.COUNT", "ALL"}, {"FIELD.LIST"}} {
		if e := doErr(t, c, args...); !strings.HasPrefix(e, "LOADING ") {
			t.Errorf("%v while loading: %q", args, e)
		}
	}
	expectEq(t, "PING while loading", doStr(t, c, "PING"), "PONG")
	if info := doStr(t, c, "INFO", "persistence"); !strings.Contains(info, "loading:1") {
		t.Errorf("INFO while loading: %q", info)
	}
	if code, body := httpGet(t, "http://"+srv.MetricsAddr()+"/healthz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "loading") {
		t.Errorf("/healthz while loading = %d %q", code, body)
	}
	expectEq(t, "segd_loading", mustMetric(t, scrapeMetrics(t, srv), "segd_loading"), 1.0)

	srv.loading.Store(false)
	expectEq(t, "ENT.COUNT after loading", doInt(t, c, "ENT.COUNT"), int64(1))
	if code, _ := httpGet(t, "http://"+srv.MetricsAddr()+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz after loading = %d", code)
	}
}
