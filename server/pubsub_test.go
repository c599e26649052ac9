package server

// Pub/sub with real clients: go-redis under RESP2 and RESP3 (push frames),
// raw connections for the exact frames, and a slow subscriber that must be
// dropped without ever stalling the publisher.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// receive reads the next pub/sub frame from go-redis within the test timeout.
func receive(t testing.TB, ps *redis.PubSub) any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	v, err := ps.Receive(ctx)
	if err != nil {
		t.Fatalf("pubsub receive: %v", err)
	}
	return v
}

func expectSubscription(t testing.TB, ps *redis.PubSub, kind, channel string, count int) {
	t.Helper()
	v := receive(t, ps)
	s, ok := v.(*redis.Subscription)
	if !ok || s.Kind != kind || s.Channel != channel || s.Count != count {
		t.Fatalf("got %#v, want %s %s %d", v, kind, channel, count)
	}
}

func expectMessage(t testing.TB, ps *redis.PubSub, pattern, channel, payload string) {
	t.Helper()
	v := receive(t, ps)
	m, ok := v.(*redis.Message)
	if !ok || m.Pattern != pattern || m.Channel != channel || m.Payload != payload {
		t.Fatalf("got %#v, want message pattern=%q channel=%q payload=%q", v, pattern, channel, payload)
	}
}

func TestPubSubGoRedis(t *testing.T) {
	t.Parallel()
	forEachProto(t, func(t *testing.T, proto int) {
		srv := startServer(t, nil)
		pub := newClient(t, srv, proto)
		subc := newClient(t, srv, proto)
		ctx := context.Background()

		ps := subc.Subscribe(ctx, "segment:vip", "segment:churn")
		defer ps.Close()
		expectSubscription(t, ps, "subscribe", "segment:vip", 1)
		expectSubscription(t, ps, "subscribe", "segment:churn", 2)

		pps := subc.PSubscribe(ctx, "segment:*")
		defer pps.Close()
		expectSubscription(t, pps, "psubscribe", "segment:*", 1)

		// PUBLISH answers how many subscribers received the message: the
		// channel subscriber and the pattern subscriber.
		msg := `{"segment":"vip","key":"u:42","change":"enter","version":18,"time":1763805600}`
		expectEq(t, "PUBLISH segment:vip", pub.Publish(ctx, "segment:vip", msg).Val(), int64(2))
		expectMessage(t, ps, "", "segment:vip", msg)
		expectMessage(t, pps, "segment:*", "segment:vip", msg)

		expectEq(t, "PUBLISH segment:other", pub.Publish(ctx, "segment:other", "x").Val(), int64(1))
		expectMessage(t, pps, "segment:*", "segment:other", "x")
		expectEq(t, "PUBLISH nobody", pub.Publish(ctx, "elsewhere", "x").Val(), int64(0))

		// UNSUBSCRIBE one channel: the count goes down, PUBLISH sees it.
		if err := ps.Unsubscribe(ctx, "segment:churn"); err != nil {
			t.Fatal(err)
		}
		expectSubscription(t, ps, "unsubscribe", "segment:churn", 1)
		expectEq(t, "PUBLISH segment:churn", pub.Publish(ctx, "segment:churn", "y").Val(), int64(1))
		expectMessage(t, pps, "segment:*", "segment:churn", "y")

		// PING while subscribed.
		if err := ps.Ping(ctx, "hi"); err != nil {
			t.Fatal(err)
		}
		switch v := receive(t, ps).(type) {
		case *redis.Pong:
			if proto == 2 && v.Payload != "hi" {
				t.Errorf("PING hi while subscribed: %#v", v)
			}
		default:
			t.Errorf("PING while subscribed: %#v", v)
		}

		if err := pps.PUnsubscribe(ctx, "segment:*"); err != nil {
			t.Fatal(err)
		}
		expectSubscription(t, pps, "punsubscribe", "segment:*", 0)
		expectEq(t, "PUBLISH after PUNSUBSCRIBE", pub.Publish(ctx, "segment:x", "z").Val(), int64(0))
		expectEq(t, "PUBLISH segment:vip at the end", pub.Publish(ctx, "segment:vip", "w").Val(), int64(1))
		expectMessage(t, ps, "", "segment:vip", "w")
	})
}

// TestPubSubOrder: 1000 messages arrive complete and in publish order.
func TestPubSubOrder(t *testing.T) {
	t.Parallel()
	forEachProto(t, func(t *testing.T, proto int) {
		srv := startServer(t, nil)
		pub := newClient(t, srv, proto)
		subc := newClient(t, srv, proto)
		ctx := context.Background()
		ps := subc.PSubscribe(ctx, "segment:*")
		defer ps.Close()
		expectSubscription(t, ps, "psubscribe", "segment:*", 1)

		const n = 1000
		done := make(chan error, 1)
		go func() {
			pipe := pub.Pipeline()
			cmds := make([]*redis.IntCmd, 0, 100)
			for i := 0; i < n; i++ {
				cmds = append(cmds, pipe.Publish(ctx, "segment:order", "m"+strconv.Itoa(i)))
				if len(cmds) == 100 {
					if _, err := pipe.Exec(ctx); err != nil {
						done <- err
						return
					}
					for _, c := range cmds {
						if c.Val() != 1 {
							done <- fmt.Errorf("PUBLISH answered %d, want 1", c.Val())
							return
						}
					}
					cmds = cmds[:0]
				}
			}
			done <- nil
		}()
		for i := 0; i < n; i++ {
			ctx, cancel := context.WithTimeout(ctx, testTimeout)
			m, err := ps.ReceiveMessage(ctx)
			cancel()
			if err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			if want := "m" + strconv.Itoa(i); m.Payload != want || m.Channel != "segment:order" || m.Pattern != "segment:*" {
				t.Fatalf("message %d = %+v, want payload %s", i, m, want)
			}
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// TestPubSubFramesRESP2: the exact RESP2 frames, PING as ["pong", msg], and
// only pub/sub commands (and PING, QUIT, RESET) in subscribed mode.
func TestPubSubFramesRESP2(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	c := newClient(t, srv, 2)
	rc := dialRESP(t, srv)

	rc.send("SUBSCRIBE", "segment:a", "segment:b")
	expectEq(t, "subscribe a", rc.mustRead(), []any{"subscribe", "segment:a", int64(1)})
	expectEq(t, "subscribe b", rc.mustRead(), []any{"subscribe", "segment:b", int64(2)})
	expectEq(t, "PSUBSCRIBE", rc.do("PSUBSCRIBE", "segment:*"), []any{"psubscribe", "segment:*", int64(3)})

	expectEq(t, "PING", rc.do("PING"), []any{"pong", ""})
	expectEq(t, "PING msg", rc.do("PING", "hello"), []any{"pong", "hello"})
	if e := rc.doErr("ENT.COUNT"); !strings.HasPrefix(e, "ERR Can't execute 'ent.count'") {
		t.Errorf("ENT.COUNT while subscribed: %q", e)
	}
	if e := rc.doErr("QUERY.COUNT", "ALL"); !strings.HasPrefix(e, "ERR Can't execute") {
		t.Errorf("QUERY.COUNT while subscribed: %q", e)
	}

	expectEq(t, "PUBLISH", doInt(t, c, "PUBLISH", "segment:a", "hello"), int64(2))
	got := []any{rc.mustRead(), rc.mustRead()}
	wantMsg := []any{"message", "segment:a", "hello"}
	wantPmsg := []any{"pmessage", "segment:*", "segment:a", "hello"}
	if fmt.Sprint(got) != fmt.Sprint([]any{wantMsg, wantPmsg}) && fmt.Sprint(got) != fmt.Sprint([]any{wantPmsg, wantMsg}) {
		t.Errorf("messages = %#v", got)
	}

	// UNSUBSCRIBE without arguments leaves every channel, one frame each.
	rc.send("UNSUBSCRIBE")
	left := map[string]int64{}
	for i := 0; i < 2; i++ {
		f, ok := rc.mustRead().([]any)
		if !ok || len(f) != 3 || f[0] != "unsubscribe" {
			t.Fatalf("UNSUBSCRIBE frame %#v", f)
		}
		left[f[1].(string)] = f[2].(int64)
	}
	if len(left) != 2 || left["segment:a"]+left["segment:b"] != 1+2 {
		t.Errorf("UNSUBSCRIBE frames: %v", left)
	}
	// Still subscribed to the pattern: regular commands still refused.
	if e := rc.doErr("ENT.COUNT"); !strings.HasPrefix(e, "ERR Can't execute") {
		t.Errorf("ENT.COUNT with a pattern left: %q", e)
	}
	expectEq(t, "PUNSUBSCRIBE", rc.do("PUNSUBSCRIBE", "segment:*"), []any{"punsubscribe", "segment:*", int64(0)})
	expectEq(t, "UNSUBSCRIBE with none", rc.do("UNSUBSCRIBE"), []any{"unsubscribe", nil, int64(0)})
	// Out of subscribed mode, every command works again on the same connection.
	expectEq(t, "ENT.COUNT after leaving", rc.do("ENT.COUNT"), int64(0))
	expectEq(t, "PING after leaving", rc.do("PING"), respStatus("PONG"))
	expectEq(t, "PUBLISH to nobody", doInt(t, c, "PUBLISH", "segment:a", "x"), int64(0))
	expectEq(t, "QUIT", rc.do("QUIT"), respStatus("OK"))
	if !rc.closedByServer() {
		t.Errorf("QUIT did not close the connection")
	}
}

// TestPubSubFramesRESP3: push frames, and regular commands keep working
// while subscribed, their replies interleaved with the pushes.
func TestPubSubFramesRESP3(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	c := newClient(t, srv, 3)
	rc := dialRESP(t, srv)
	hello, ok := rc.do("HELLO", "3").(respMap)
	if !ok || len(hello) != 14 {
		t.Fatalf("HELLO 3 = %#v", hello)
	}

	expectEq(t, "SUBSCRIBE", rc.do("SUBSCRIBE", "segment:vip"), respPush{"subscribe", "segment:vip", int64(1)})
	expectEq(t, "PSUBSCRIBE", rc.do("PSUBSCRIBE", "segment:*"), respPush{"psubscribe", "segment:*", int64(2)})
	expectEq(t, "PING", rc.do("PING"), respStatus("PONG"))
	expectEq(t, "ENT.SET while subscribed", rc.do("ENT.SET", "u:1", "country", "US"), int64(1))
	expectEq(t, "ENT.GET while subscribed", rc.do("ENT.GET", "u:1"), respMap{"country", "US"})
	expectEq(t, "QUERY.COUNT while subscribed", rc.do("QUERY.COUNT", "country:US"), int64(1))

	expectEq(t, "PUBLISH", doInt(t, c, "PUBLISH", "segment:vip", "m1"), int64(2))
	// Push frames and a regular reply on the same connection. The pushes
	// are queued when PUBLISH answers and written by the subscriber's own
	// writer, so they may come before or after the reply.
	rc.send("ENT.COUNT")
	var pushes []any
	var reply any
	for reply == nil || len(pushes) < 2 {
		switch v := rc.mustRead().(type) {
		case respPush:
			pushes = append(pushes, v)
		default:
			if reply != nil {
				t.Fatalf("a second reply %#v after %#v", v, reply)
			}
			reply = v
		}
	}
	expectEq(t, "ENT.COUNT among pushes", reply, int64(1))
	if len(pushes) != 2 {
		t.Fatalf("pushes = %#v", pushes)
	}
	for _, p := range pushes {
		p := p.(respPush)
		switch p[0] {
		case "message":
			expectEq(t, "message", p, respPush{"message", "segment:vip", "m1"})
		case "pmessage":
			expectEq(t, "pmessage", p, respPush{"pmessage", "segment:*", "segment:vip", "m1"})
		default:
			t.Errorf("push %#v", p)
		}
	}
	expectEq(t, "UNSUBSCRIBE", rc.do("UNSUBSCRIBE", "segment:vip"), respPush{"unsubscribe", "segment:vip", int64(1)})
	expectEq(t, "PUNSUBSCRIBE", rc.do("PUNSUBSCRIBE"), respPush{"punsubscribe", "segment:*", int64(0)})
	expectEq(t, "ENT.COUNT after", rc.do("ENT.COUNT"), int64(1))
}

// TestPubSubSlowSubscriberDropped: a subscriber that never reads, with a
// small queue, is disconnected; the publisher never blocks; the drop is
// counted in segd_pubsub_dropped_subscribers_total; the server goes on.
func TestPubSubSlowSubscriberDropped(t *testing.T) {
	t.Parallel()
	srv := startServer(t, func(c *Config) { c.PubSubQueue = 16 })
	pub := newClient(t, srv, 2)
	ctx := context.Background()

	// The slow subscriber: subscribes, then never reads again (until the
	// end, to see the connection closed).
	slow := dialRESP(t, srv)
	expectEq(t, "slow SUBSCRIBE", slow.do("SUBSCRIBE", "segment:big"), []any{"subscribe", "segment:big", int64(1)})
	slowID := int64(0)
	for _, line := range strings.Split(doStr(t, pub, "CLIENT", "LIST"), "\n") {
		if strings.Contains(line, " sub=1 ") {
			slowID, _ = strconv.ParseInt(strings.TrimPrefix(strings.Fields(line)[0], "id="), 10, 64)
		}
	}
	if slowID == 0 {
		t.Fatalf("the subscriber is not in CLIENT LIST")
	}

	// A well-behaved subscriber on another channel is not affected.
	good := newClient(t, srv, 3)
	gps := good.Subscribe(ctx, "segment:small")
	defer gps.Close()
	expectSubscription(t, gps, "subscribe", "segment:small", 1)

	payload := strings.Repeat("p", 32<<10)
	const n = 1000 // 32 MB offered to a reader of 0 bytes; a few MB fill the socket buffers
	start := time.Now()
	var slowest time.Duration
	dropped := -1
	for i := 0; i < n; i++ {
		t0 := time.Now()
		got := pub.Publish(ctx, "segment:big", payload).Val()
		if d := time.Since(t0); d > slowest {
			slowest = d
		}
		if got == 0 && dropped < 0 {
			dropped = i
		}
		if time.Since(start) > 2*testTimeout {
			t.Fatalf("publisher blocked: %d of %d messages in %v", i, n, time.Since(start))
		}
	}
	t.Logf("published %d × %d bytes in %v (slowest %v); the subscriber was dropped at message %d", n, len(payload), time.Since(start), slowest, dropped)
	if dropped < 0 {
		t.Fatalf("the slow subscriber still received message %d of %d", n, n)
	}
	if slowest > testTimeout/2 {
		t.Errorf("a PUBLISH took %v: the publisher waited for the slow subscriber", slowest)
	}

	// Counted in the metrics.
	body := scrapeMetrics(t, srv)
	if v, ok := metricValue(body, "segd_pubsub_dropped_subscribers_total"); !ok || v < 1 {
		t.Errorf("segd_pubsub_dropped_subscribers_total = %v (found %v), want >= 1", v, ok)
	} else {
		t.Logf("segd_pubsub_dropped_subscribers_total = %v", v)
	}
	// The slow connection is closed and forgotten.
	if !slow.closedByServer() {
		t.Errorf("the slow subscriber's connection is still open")
	}
	waitFor(t, "the dropped subscriber to leave CLIENT LIST", func() bool {
		return clientLineOf(doStr(t, pub, "CLIENT", "LIST"), slowID) == ""
	})

	// The good subscriber still gets its messages; the server still serves.
	expectEq(t, "PUBLISH small", pub.Publish(ctx, "segment:small", "hi").Val(), int64(1))
	expectMessage(t, gps, "", "segment:small", "hi")
	expectEq(t, "PUBLISH big to nobody", pub.Publish(ctx, "segment:big", "x").Val(), int64(0))
	expectEq(t, "ENT.SET", doInt(t, pub, "ENT.SET", "u:1", "country", "US"), int64(1))
}

// TestPubSubKillSubscriber: CLIENT KILL closes a subscribed connection too.
func TestPubSubKillSubscriber(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	c := newClient(t, srv, 2)
	rc := dialRESP(t, srv)
	id, ok := rc.do("CLIENT", "ID").(int64)
	if !ok {
		t.Fatal("CLIENT ID")
	}
	expectEq(t, "SUBSCRIBE", rc.do("SUBSCRIBE", "segment:k"), []any{"subscribe", "segment:k", int64(1)})
	expectEq(t, "CLIENT KILL ID", doInt(t, c, "CLIENT", "KILL", "ID", strconv.FormatInt(id, 10)), int64(1))
	if !rc.closedByServer() {
		t.Fatalf("killed subscriber still connected")
	}
	waitFor(t, "PUBLISH to count no subscriber", func() bool { return doInt(t, c, "PUBLISH", "segment:k", "x") == 0 })
	waitFor(t, "the killed subscriber to leave CLIENT LIST", func() bool {
		return clientLineOf(doStr(t, c, "CLIENT", "LIST"), id) == ""
	})
}

// TestPubSubPipelinedAfterSubscribe: commands pipelined right behind the
// first SUBSCRIBE (in the same TCP segment) are answered once each, in
// order. The connection switches to its subscriber goroutines in the middle
// of redcon's loop; nothing of the old loop may touch the connection's reply
// buffer after that (under -race this used to report a data race, and a
// reply could be written twice).
func TestPubSubPipelinedAfterSubscribe(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	for i := 0; i < 50; i++ {
		rc := dialRESP(t, srv)
		var b []byte
		b = append(b, encodeCommand("SUBSCRIBE", "segment:p")...)
		b = append(b, encodeCommand("PING", "one")...)
		b = append(b, encodeCommand("PING", "two")...)
		rc.sendRaw(b)
		expectEq(t, "SUBSCRIBE", rc.mustRead(), []any{"subscribe", "segment:p", int64(1)})
		expectEq(t, "PING one", rc.mustRead(), []any{"pong", "one"})
		expectEq(t, "PING two", rc.mustRead(), []any{"pong", "two"})
		expectEq(t, "PING three", rc.do("PING", "three"), []any{"pong", "three"})
		rc.nc.Close()
	}
}
