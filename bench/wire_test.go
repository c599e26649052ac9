package bench

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/segd-db/segd/internal/testserver"
	"github.com/segd-db/segd/server"
)

// startServer runs an in-process segd on a free loopback port.
func startServer(t *testing.T) string { return startServerWith(t, nil) }

// startServerWith starts a server with the test defaults changed by edit.
func startServerWith(t *testing.T, edit func(*server.Config)) string {
	t.Helper()
	return testserver.Start(t, edit).Addr()
}

func dial(t *testing.T, addr string) *Conn {
	t.Helper()
	c, err := Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestConnAgainstServer(t *testing.T) {
	c := dial(t, startServer(t))

	r, err := c.Do("PING")
	if err != nil || r.Type != '+' || r.Str != "PONG" {
		t.Fatalf("PING = %+v, %v", r, err)
	}
	if n, err := c.Int("ENT.SET", "u:1", "country", "c1", "age", "42"); err != nil || n != 2 {
		t.Fatalf("ENT.SET = %d, %v", n, err)
	}
	if n, err := c.Int("ENT.ADD", "u:1", "interests", "i1", "i2"); err != nil || n != 2 {
		t.Fatalf("ENT.ADD = %d, %v", n, err)
	}
	r, err = c.Do("ENT.GET", "u:1")
	if err != nil || r.Type != '*' || len(r.Elems) != 6 {
		t.Fatalf("ENT.GET = %+v, %v", r, err)
	}
	r, err = c.Do("ENT.GET", "u:nobody")
	if err != nil || !r.Null {
		t.Fatalf("ENT.GET of an unknown key = %+v, %v", r, err)
	}
	// An error reply is a ReplyError and leaves the connection usable.
	_, err = c.Do("QUERY.COUNT", "country:")
	var re ReplyError
	if !errors.As(err, &re) || !strings.HasPrefix(string(re), "ERR") {
		t.Fatalf("bad expression: err = %v, want an ERR reply", err)
	}
	info, err := c.Info()
	if err != nil || info["entities"] != "1" || info["loading"] != "0" {
		t.Fatalf("INFO: entities=%q loading=%q err=%v", info["entities"], info["loading"], err)
	}
	if m := MemoryFromInfo(info); m.RSS <= 0 || m.Heap <= 0 || m.Entities != 1 {
		t.Fatalf("memory = %+v", m)
	}

	// A pipeline: write several commands, then read (or skip) every reply.
	for i := 0; i < 10; i++ {
		c.Begin(3)
		c.Arg("QUERY.ISMEMBER")
		c.Arg("country:c1 AND interests:i2")
		c.ArgKey("u:", int64(i%2))
	}
	c.Command("NOSUCHCOMMAND")
	c.Command("QUERY.MEMBERS", "country:c1", "COUNT", "10")
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		r, err := c.ReadReply()
		want := int64(i % 2) // u:1 matches, u:0 does not exist
		if err != nil || r.Type != ':' || r.Int != want {
			t.Fatalf("pipelined ISMEMBER %d = %+v, %v; want %d", i, r, err, want)
		}
	}
	if msg, err := c.SkipReply(); err != nil || !strings.Contains(msg, "unknown command") {
		t.Fatalf("skip of an error reply = %q, %v", msg, err)
	}
	if msg, err := c.SkipReply(); err != nil || msg != "" {
		t.Fatalf("skip of a nested array = %q, %v", msg, err)
	}
	if r, err := c.Do("ECHO", "still in step"); err != nil || r.Str != "still in step" {
		t.Fatalf("ECHO after the pipeline = %+v, %v", r, err)
	}
}

// replies parses canned RESP bytes with a Conn over a pipe.
func replies(t *testing.T, raw string) *Conn {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	go func() { _, _ = b.Write([]byte(raw)) }() // the reads report a short reply
	return &Conn{nc: a, r: bufio.NewReader(a), w: bufio.NewWriter(a), Timeout: 5 * time.Second}
}

func TestReadReplyRESP3(t *testing.T) {
	c := replies(t, "%2\r\n+a\r\n:1\r\n+b\r\n~2\r\n#t\r\n,1.5\r\n_\r\n=8\r\ntxt:abcd\r\n!5\r\nERR x\r\n$-1\r\n*-1\r\n(123\r\n")
	r, err := c.ReadReply()
	if err != nil || r.Type != '%' || len(r.Elems) != 4 || r.Elems[3].Elems[0].Int != 1 || r.Elems[3].Elems[1].Str != "1.5" {
		t.Fatalf("map = %+v, %v", r, err)
	}
	if r, _ := c.ReadReply(); !r.Null {
		t.Fatalf("null = %+v", r)
	}
	if r, _ := c.ReadReply(); r.Str != "abcd" {
		t.Fatalf("verbatim = %+v", r)
	}
	if r, _ := c.ReadReply(); r.Err() == nil || r.Str != "ERR x" {
		t.Fatalf("blob error = %+v", r)
	}
	for i := 0; i < 2; i++ {
		if r, _ := c.ReadReply(); !r.Null {
			t.Fatalf("RESP2 null %d = %+v", i, r)
		}
	}
	if r, _ := c.ReadReply(); r.Type != '(' || r.Str != "123" {
		t.Fatalf("big number = %+v", r)
	}
}

func TestReadReplyProtocolError(t *testing.T) {
	for _, raw := range []string{"?x\r\n", ":12a\r\n", "+no-cr\n"} {
		c := replies(t, raw)
		if _, err := c.ReadReply(); !errors.Is(err, ErrProtocol) {
			t.Errorf("%q: err = %v, want a protocol error", raw, err)
		}
	}
}

func TestParseInfo(t *testing.T) {
	m := ParseInfo("# Memory\r\nused_memory:100\r\nused_memory_rss:200\r\n\r\n# segd\r\nentities:3\r\n")
	if m["used_memory"] != "100" || m["used_memory_rss"] != "200" || m["entities"] != "3" || len(m) != 3 {
		t.Fatalf("ParseInfo = %v", m)
	}
}
