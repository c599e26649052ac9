package server

// go-redis, a real client, under RESP2 and RESP3: every command of the core
// scope answers the right value with the right reply type, *map* replies are
// maps under RESP3 and flat arrays under RESP2.

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/segd-db/segd/protocol"
)

func expectEq(t testing.TB, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %T %#v, want %T %#v", what, got, got, want, want)
	}
}

// number reads a *double* reply: a float under RESP3, its text under RESP2.
func doubleReply(t testing.TB, proto int, v any, what string) float64 {
	t.Helper()
	switch proto {
	case 3:
		f, ok := v.(float64)
		if !ok {
			t.Fatalf("%s: RESP3 want a double, got %T %#v", what, v, v)
		}
		return f
	default:
		s, ok := v.(string)
		if !ok {
			t.Fatalf("%s: RESP2 want a bulk string, got %T %#v", what, v, v)
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("%s: %q is not a number", what, s)
		}
		return f
	}
}

func TestClientsDataCommands(t *testing.T) {
	t.Parallel()
	forEachProto(t, func(t *testing.T, proto int) {
		srv := startServer(t, nil)
		c := newClient(t, srv, proto)

		// ENT.SET creates INT fields for integers and ENUM for the rest.
		expectEq(t, "ENT.SET u:1", doInt(t, c, "ENT.SET", "u:1", "country", "US", "age", "30"), int64(2))
		expectEq(t, "ENT.SET u:2", doInt(t, c, "ENT.SET", "u:2", "country", "FR", "age", "40"), int64(2))
		expectEq(t, "ENT.SET u:3", doInt(t, c, "ENT.SET", "u:3", "country", "US", "age", "25"), int64(2))
		expectEq(t, "ENT.SET unchanged", doInt(t, c, "ENT.SET", "u:1", "country", "US"), int64(0))
		expectEq(t, "ENT.SET one changed", doInt(t, c, "ENT.SET", "u:1", "country", "US", "age", "31"), int64(1))
		expectEq(t, "ENT.SET back", doInt(t, c, "ENT.SET", "u:1", "age", "30"), int64(1))

		// TAGS.
		expectEq(t, "ENT.ADD", doInt(t, c, "ENT.ADD", "u:1", "interests", "fitness", "running"), int64(2))
		expectEq(t, "ENT.ADD again", doInt(t, c, "ENT.ADD", "u:1", "interests", "fitness"), int64(0))
		expectEq(t, "ENT.ADD u:2", doInt(t, c, "ENT.ADD", "u:2", "interests", "running"), int64(1))
		expectEq(t, "ENT.REM", doInt(t, c, "ENT.REM", "u:1", "interests", "running", "absent"), int64(1))
		expectEq(t, "ENT.REM unknown key", doInt(t, c, "ENT.REM", "nobody", "interests", "running"), int64(0))

		// ENT.GET is a map field -> value: ENUM string, INT integer, TAGS array.
		got := doMap(t, c, proto, "ENT.GET", "u:1")
		expectEq(t, "ENT.GET u:1", got, map[string]any{"age": int64(30), "country": "US", "interests": []any{"fitness"}})
		got = doMap(t, c, proto, "ENT.GET", "u:2", "country")
		expectEq(t, "ENT.GET u:2 country", got, map[string]any{"country": "FR"})
		expectEq(t, "ENT.GET unknown key", do(t, c, "ENT.GET", "nobody"), nil)
		ctx := context.Background()
		if err := c.Do(ctx, "ENT.GET", "nobody").Err(); err != redis.Nil {
			t.Errorf("ENT.GET unknown key: err = %v, want redis.Nil", err)
		}

		expectEq(t, "ENT.EXISTS u:1", doInt(t, c, "ENT.EXISTS", "u:1"), int64(1))
		expectEq(t, "ENT.EXISTS nobody", doInt(t, c, "ENT.EXISTS", "nobody"), int64(0))
		expectEq(t, "ENT.COUNT", doInt(t, c, "ENT.COUNT"), int64(3))
		expectEq(t, "DBSIZE", doInt(t, c, "DBSIZE"), int64(3))

		expectEq(t, "ENT.UNSET", doInt(t, c, "ENT.UNSET", "u:3", "age"), int64(1))
		expectEq(t, "ENT.UNSET again", doInt(t, c, "ENT.UNSET", "u:3", "age"), int64(0))
		expectEq(t, "ENT.GET after UNSET", doMap(t, c, proto, "ENT.GET", "u:3"), map[string]any{"country": "US"})

		// Schema.
		expectEq(t, "FIELD.CREATE", doStr(t, c, "FIELD.CREATE", "tier", "ENUM"), "OK")
		expectEq(t, "FIELD.CREATE same", doStr(t, c, "FIELD.CREATE", "tier", "ENUM"), "OK")
		if e := doErr(t, c, "FIELD.CREATE", "tier", "INT"); !strings.HasPrefix(e, "ERR ") {
			t.Errorf("FIELD.CREATE other kind: %q", e)
		}
		expectEq(t, "FIELD.LIST", doArr(t, c, "FIELD.LIST"), []any{
			[]any{"age", "INT"}, []any{"country", "ENUM"}, []any{"interests", "TAGS"}, []any{"tier", "ENUM"},
		})
		info := doMap(t, c, proto, "FIELD.INFO", "country")
		expectEq(t, "FIELD.INFO name", info["name"], "country")
		expectEq(t, "FIELD.INFO kind", info["kind"], "ENUM")
		expectEq(t, "FIELD.INFO values", info["values"], int64(2))
		expectEq(t, "FIELD.INFO entities", info["entities"], int64(3))
		if b, ok := info["bytes"].(int64); !ok || b <= 0 {
			t.Errorf("FIELD.INFO bytes = %#v, want a positive integer", info["bytes"])
		}
		for _, k := range []string{"granularity", "retention"} {
			if _, ok := info[k]; !ok {
				t.Errorf("FIELD.INFO has no %q: %#v", k, info)
			}
		}
		expectEq(t, "FIELD.INFO keys", len(info), 7)
		expectEq(t, "FIELD.VALUES", doArr(t, c, "FIELD.VALUES", "country"), []any{[]any{"US", int64(2)}, []any{"FR", int64(1)}})
		expectEq(t, "FIELD.VALUES LIMIT", doArr(t, c, "FIELD.VALUES", "country", "LIMIT", "1"), []any{[]any{"US", int64(2)}})
		expectEq(t, "FIELD.DROP", doInt(t, c, "FIELD.DROP", "tier"), int64(1))
		expectEq(t, "FIELD.DROP again", doInt(t, c, "FIELD.DROP", "tier"), int64(0))

		// Queries.
		expectEq(t, "QUERY.COUNT country:US", doInt(t, c, "QUERY.COUNT", "country:US"), int64(2))
		expectEq(t, "QUERY.COUNT age >= 30", doInt(t, c, "QUERY.COUNT", "age >= 30"), int64(2))
		expectEq(t, "QUERY.COUNT AND NOT", doInt(t, c, "QUERY.COUNT", "country:US AND NOT interests:fitness"), int64(1))
		expectEq(t, "QUERY.COUNT nobody's value", doInt(t, c, "QUERY.COUNT", "country:XX"), int64(0))
		expectEq(t, "QUERY.ISMEMBER yes", doInt(t, c, "QUERY.ISMEMBER", "country:US", "u:1"), int64(1))
		expectEq(t, "QUERY.ISMEMBER no", doInt(t, c, "QUERY.ISMEMBER", "country:US", "u:2"), int64(0))
		expectEq(t, "QUERY.ISMEMBER unknown", doInt(t, c, "QUERY.ISMEMBER", "ALL", "nobody"), int64(0))

		page := doArr(t, c, "QUERY.MEMBERS", "country:US")
		if len(page) != 2 {
			t.Fatalf("QUERY.MEMBERS = %#v, want [cursor, keys]", page)
		}
		expectEq(t, "QUERY.MEMBERS cursor", page[0], "0")
		keys := page[1].([]any)
		sort.Slice(keys, func(i, j int) bool { return keys[i].(string) < keys[j].(string) })
		expectEq(t, "QUERY.MEMBERS keys", keys, []any{"u:1", "u:3"})

		plan := doArr(t, c, "QUERY.EXPLAIN", "country:US AND age >= 30")
		checkExplain(t, proto, plan, 0)
		expectEq(t, "QUERY.EXPLAIN root cardinality", plan[1], int64(1))

		expectEq(t, "QUERY.GROUPBY", doArr(t, c, "QUERY.GROUPBY", "country"), []any{[]any{"US", int64(2)}, []any{"FR", int64(1)}})
		expectEq(t, "QUERY.GROUPBY WHERE", doArr(t, c, "QUERY.GROUPBY", "country", "WHERE", "age >= 30"), []any{[]any{"FR", int64(1)}, []any{"US", int64(1)}})
		expectEq(t, "QUERY.GROUPBY LIMIT", doArr(t, c, "QUERY.GROUPBY", "interests", "LIMIT", "5"), []any{[]any{"fitness", int64(1)}, []any{"running", int64(1)}})

		st := doMap(t, c, proto, "QUERY.STATS", "age")
		expectEq(t, "QUERY.STATS count", st["count"], int64(2))
		expectEq(t, "QUERY.STATS sum", st["sum"], int64(70))
		expectEq(t, "QUERY.STATS min", st["min"], int64(30))
		expectEq(t, "QUERY.STATS max", st["max"], int64(40))
		expectEq(t, "QUERY.STATS mean", doubleReply(t, proto, st["mean"], "QUERY.STATS mean"), 35.0)
		expectEq(t, "QUERY.STATS keys", len(st), 5)
		st = doMap(t, c, proto, "QUERY.STATS", "age", "WHERE", "country:US")
		expectEq(t, "QUERY.STATS WHERE count", st["count"], int64(1))
		expectEq(t, "QUERY.STATS WHERE sum", st["sum"], int64(30))

		expectEq(t, "QUERY.TOP", doArr(t, c, "QUERY.TOP", "2", "age"), []any{[]any{"u:2", int64(40)}, []any{"u:1", int64(30)}})
		expectEq(t, "QUERY.TOP WHERE", doArr(t, c, "QUERY.TOP", "5", "age", "WHERE", "country:US"), []any{[]any{"u:1", int64(30)}})

		// ENT.DEL forgets the entity everywhere.
		expectEq(t, "ENT.DEL", doInt(t, c, "ENT.DEL", "u:3", "nobody"), int64(1))
		expectEq(t, "ENT.DEL again", doInt(t, c, "ENT.DEL", "u:3"), int64(0))
		expectEq(t, "ENT.COUNT after DEL", doInt(t, c, "ENT.COUNT"), int64(2))
		expectEq(t, "QUERY.COUNT after DEL", doInt(t, c, "QUERY.COUNT", "country:US"), int64(1))
		expectEq(t, "ENT.GET deleted", do(t, c, "ENT.GET", "u:3"), nil)

		// Case-insensitive command names.
		expectEq(t, "ent.count lower case", doInt(t, c, "ent.count"), int64(2))
		expectEq(t, "Query.Count mixed case", doInt(t, c, "Query.Count", "ALL"), int64(2))
	})
}

// checkExplain checks a QUERY.EXPLAIN node: [label, cardinality, micros, [children…]].
func checkExplain(t testing.TB, proto int, node []any, depth int) {
	t.Helper()
	if len(node) != 4 {
		t.Fatalf("QUERY.EXPLAIN node = %#v, want [label, cardinality, micros, children]", node)
	}
	if s, ok := node[0].(string); !ok || s == "" {
		t.Errorf("QUERY.EXPLAIN label = %#v", node[0])
	}
	if _, ok := node[1].(int64); !ok {
		t.Errorf("QUERY.EXPLAIN cardinality = %T %#v, want integer", node[1], node[1])
	}
	if us := doubleReply(t, proto, node[2], "QUERY.EXPLAIN micros"); us < 0 {
		t.Errorf("QUERY.EXPLAIN micros = %v", us)
	}
	children, ok := node[3].([]any)
	if !ok {
		t.Fatalf("QUERY.EXPLAIN children = %T %#v", node[3], node[3])
	}
	if depth == 0 && len(children) == 0 {
		t.Errorf("QUERY.EXPLAIN of an AND has no children: %#v", node)
	}
	for _, ch := range children {
		checkExplain(t, proto, ch.([]any), depth+1)
	}
}

func TestClientsMembersPagination(t *testing.T) {
	t.Parallel()
	forEachProto(t, func(t *testing.T, proto int) {
		srv := startServer(t, nil)
		c := newClient(t, srv, proto)
		want := map[string]bool{}
		pipe := c.Pipeline()
		ctx := context.Background()
		for i := 0; i < 60; i++ {
			key := fmt.Sprintf("u:%03d", i)
			plan := "free"
			if i%6 != 0 {
				plan = "gold"
				want[key] = true
			}
			pipe.Do(ctx, "ENT.SET", key, "plan", plan)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatalf("pipeline: %v", err)
		}
		// A deleted member must not come back.
		expectEq(t, "ENT.DEL", doInt(t, c, "ENT.DEL", "u:001"), int64(1))
		delete(want, "u:001")
		expectEq(t, "QUERY.COUNT", doInt(t, c, "QUERY.COUNT", "plan:gold"), int64(len(want)))

		seen := map[string]int{}
		cursor := "0"
		for pages := 0; ; pages++ {
			if pages > 200 {
				t.Fatalf("QUERY.MEMBERS COUNT 3 did not finish after %d pages", pages)
			}
			page := doArr(t, c, "QUERY.MEMBERS", "plan:gold", "CURSOR", cursor, "COUNT", "3")
			if len(page) != 2 {
				t.Fatalf("QUERY.MEMBERS page = %#v", page)
			}
			next, ok := page[0].(string)
			if !ok {
				t.Fatalf("cursor %#v is %T, want a bulk string", page[0], page[0])
			}
			keys := page[1].([]any)
			if len(keys) > 3 {
				t.Errorf("page of %d keys with COUNT 3", len(keys))
			}
			for _, k := range keys {
				seen[k.(string)]++
			}
			if next == "0" {
				break
			}
			cursor = next
		}
		for k, n := range seen {
			if n != 1 || !want[k] {
				t.Errorf("member %q seen %d times (want member: %v)", k, n, want[k])
			}
		}
		if len(seen) != len(want) {
			t.Errorf("saw %d members, want %d", len(seen), len(want))
		}
	})
}

func TestClientsServerCommands(t *testing.T) {
	t.Parallel()
	forEachProto(t, func(t *testing.T, proto int) {
		srv := startServer(t, nil)
		c := newClient(t, srv, proto)
		ctx := context.Background()

		expectEq(t, "PING", doStr(t, c, "PING"), "PONG")
		expectEq(t, "PING msg", doStr(t, c, "PING", "hello"), "hello")
		expectEq(t, "ECHO", doStr(t, c, "ECHO", "a b\r\nc"), "a b\r\nc")
		expectEq(t, "SELECT 0", doStr(t, c, "SELECT", "0"), "OK")
		if e := doErr(t, c, "SELECT", "1"); !strings.HasPrefix(e, "ERR ") {
			t.Errorf("SELECT 1: %q", e)
		}

		tm := doArr(t, c, "TIME")
		if len(tm) != 2 {
			t.Fatalf("TIME = %#v", tm)
		}
		secs, err1 := strconv.ParseInt(tm[0].(string), 10, 64)
		us, err2 := strconv.ParseInt(tm[1].(string), 10, 64)
		if err1 != nil || err2 != nil || us < 0 || us >= 1e6 {
			t.Errorf("TIME = %#v", tm)
		}
		if d := time.Now().Unix() - secs; d < -2 || d > 2 {
			t.Errorf("TIME is %d s off", d)
		}

		info := doStr(t, c, "INFO")
		for _, want := range []string{"redis_version:", "loading:0", "# segd", "connected_clients:", "uptime_in_seconds:", "role:master", "\r\n"} {
			if !strings.Contains(info, want) {
				t.Errorf("INFO lacks %q:\n%s", want, info)
			}
		}
		server := doStr(t, c, "INFO", "server")
		if !strings.Contains(server, "redis_version:") || strings.Contains(server, "# segd") {
			t.Errorf("INFO server:\n%s", server)
		}
		if s := doStr(t, c, "INFO", "segd"); !strings.Contains(s, "entities:0") {
			t.Errorf("INFO segd:\n%s", s)
		}

		cfg := doMap(t, c, proto, "CONFIG", "GET", "maxclients")
		expectEq(t, "CONFIG GET maxclients", cfg, map[string]any{"maxclients": "10000"})
		cfg = doMap(t, c, proto, "CONFIG", "GET", "*")
		expectEq(t, "CONFIG GET port", cfg["port"], portOf(srv.Addr()))
		expectEq(t, "CONFIG GET databases", cfg["databases"], "1")
		expectEq(t, "CONFIG GET nothing", len(doMap(t, c, proto, "CONFIG", "GET", "no-such-parameter")), 0)

		// HELLO on the connection's own protocol answers a *map*.
		hello := doMap(t, c, proto, "HELLO", strconv.Itoa(proto))
		expectEq(t, "HELLO server", hello["server"], "segd")
		expectEq(t, "HELLO proto", hello["proto"], int64(proto))
		expectEq(t, "HELLO role", hello["role"], "master")
		if _, ok := hello["id"].(int64); !ok {
			t.Errorf("HELLO id = %#v", hello["id"])
		}

		// COMMAND, from the one command table.
		n := doInt(t, c, "COMMAND", "COUNT")
		expectEq(t, "COMMAND COUNT", n, int64(len(protocol.All())))
		expectEq(t, "COMMAND length", int64(len(doArr(t, c, "COMMAND"))), n)
		ci := doArr(t, c, "COMMAND", "INFO", "ent.set", "no.such")
		if len(ci) != 2 {
			t.Fatalf("COMMAND INFO = %#v", ci)
		}
		entry, ok := ci[0].([]any)
		if !ok || len(entry) < 6 {
			t.Fatalf("COMMAND INFO ent.set = %#v", ci[0])
		}
		expectEq(t, "COMMAND INFO name", entry[0], "ent.set")
		expectEq(t, "COMMAND INFO arity", entry[1], int64(-4))
		expectEq(t, "COMMAND INFO unknown", ci[1], nil)
		docs := doMap(t, c, proto, "COMMAND", "DOCS", "query.count")
		qc, ok := docs["query.count"]
		if !ok || len(docs) != 1 {
			t.Fatalf("COMMAND DOCS query.count = %#v", docs)
		}
		doc := asMap(t, proto, qc, "COMMAND DOCS query.count")
		if s, _ := doc["summary"].(string); s == "" {
			t.Errorf("COMMAND DOCS query.count summary = %#v", doc["summary"])
		}
		if _, ok := doc["arguments"].([]any); !ok {
			t.Errorf("COMMAND DOCS query.count arguments = %#v", doc["arguments"])
		}
		all := doMap(t, c, proto, "COMMAND", "DOCS")
		expectEq(t, "COMMAND DOCS count", int64(len(all)), n)

		// Persistence: BGSAVE moves LASTSAVE, SAVE too; FLUSHALL empties.
		doInt(t, c, "ENT.SET", "u:1", "country", "US")
		before := doInt(t, c, "LASTSAVE")
		expectEq(t, "BGSAVE", doStr(t, c, "BGSAVE"), "Background saving started")
		waitFor(t, "BGSAVE to write its snapshot", func() bool {
			info := doStr(t, c, "INFO", "persistence")
			return strings.Contains(info, "rdb_changes_since_last_save:0") && strings.Contains(info, "rdb_bgsave_in_progress:0")
		})
		if after := doInt(t, c, "LASTSAVE"); after < before {
			t.Errorf("LASTSAVE went back from %d to %d after BGSAVE", before, after)
		}
		last := doInt(t, c, "LASTSAVE")
		if d := time.Now().Unix() - last; d < -2 || d > 5 {
			t.Errorf("LASTSAVE after BGSAVE = %d, %d s from now", last, d)
		}
		// A second BGSAVE right after may find the first still writing; wait for it.
		waitFor(t, "the background save to finish", func() bool {
			return strings.Contains(doStr(t, c, "INFO", "persistence"), "rdb_bgsave_in_progress:0")
		})
		doInt(t, c, "ENT.SET", "u:2", "country", "FR")
		expectEq(t, "SAVE", doStr(t, c, "SAVE"), "OK")
		if got := doInt(t, c, "LASTSAVE"); got < last {
			t.Errorf("LASTSAVE went back from %d to %d after SAVE", last, got)
		}
		expectEq(t, "FLUSHALL", doStr(t, c, "FLUSHALL"), "OK")
		expectEq(t, "ENT.COUNT after FLUSHALL", doInt(t, c, "ENT.COUNT"), int64(0))
		expectEq(t, "FIELD.LIST after FLUSHALL", len(doArr(t, c, "FIELD.LIST")), 0)
		expectEq(t, "QUERY.COUNT after FLUSHALL", doInt(t, c, "QUERY.COUNT", "ALL"), int64(0))
		expectEq(t, "ENT.GET after FLUSHALL", do(t, c, "ENT.GET", "u:1"), nil)
		// The server keeps working after FLUSHALL.
		expectEq(t, "ENT.SET after FLUSHALL", doInt(t, c, "ENT.SET", "u:3", "country", "DE"), int64(1))
		expectEq(t, "QUERY.COUNT country:DE", doInt(t, c, "QUERY.COUNT", "country:DE"), int64(1))

		if err := c.Ping(ctx).Err(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestClientsConnectionCommands(t *testing.T) {
	t.Parallel()
	forEachProto(t, func(t *testing.T, proto int) {
		srv := startServer(t, nil)
		c := newClient(t, srv, proto)
		ctx := context.Background()

		// Connection state needs one connection, not the pool.
		a := c.Conn()
		defer a.Close()
		b := c.Conn()
		defer b.Close()

		idA := doInt(t, a, "CLIENT", "ID")
		idB := doInt(t, b, "CLIENT", "ID")
		if idA <= 0 || idB <= 0 || idA == idB {
			t.Fatalf("CLIENT ID: %d and %d", idA, idB)
		}
		expectEq(t, "CLIENT GETNAME unset", do(t, a, "CLIENT", "GETNAME"), nil)
		expectEq(t, "CLIENT SETNAME", doStr(t, a, "CLIENT", "SETNAME", "alice"), "OK")
		expectEq(t, "CLIENT GETNAME", doStr(t, a, "CLIENT", "GETNAME"), "alice")
		if e := doErr(t, a, "CLIENT", "SETNAME", "has space"); !strings.HasPrefix(e, "ERR ") {
			t.Errorf("CLIENT SETNAME with a space: %q", e)
		}
		expectEq(t, "CLIENT GETNAME kept", doStr(t, a, "CLIENT", "GETNAME"), "alice")

		list := doStr(t, a, "CLIENT", "LIST")
		lineA := clientLineOf(list, idA)
		if lineA == "" || clientLineOf(list, idB) == "" {
			t.Fatalf("CLIENT LIST lacks %d or %d:\n%s", idA, idB, list)
		}
		for _, want := range []string{" name=alice ", " resp=" + strconv.Itoa(proto), " lib-name=go-redis", " cmd=client|list", " db=0 "} {
			if !strings.Contains(lineA, want) {
				t.Errorf("CLIENT LIST line lacks %q: %s", want, lineA)
			}
		}

		// CLIENT KILL ID closes the other client, not this one.
		expectEq(t, "CLIENT KILL ID", doInt(t, a, "CLIENT", "KILL", "ID", strconv.FormatInt(idB, 10)), int64(1))
		if err := b.Do(ctx, "PING").Err(); err == nil {
			t.Errorf("killed client still answers PING")
		}
		waitFor(t, "the killed client to leave CLIENT LIST", func() bool {
			return clientLineOf(doStr(t, a, "CLIENT", "LIST"), idB) == ""
		})
		expectEq(t, "CLIENT KILL ID unknown", doInt(t, a, "CLIENT", "KILL", "ID", "999999"), int64(0))
		if e := doErr(t, a, "CLIENT", "KILL", "127.0.0.1:1"); !strings.Contains(e, "No such client") {
			t.Errorf("CLIENT KILL unknown addr: %q", e)
		}
		expectEq(t, "PING after KILL", doStr(t, a, "PING"), "PONG")
		expectEq(t, "CLIENT ID after KILL", doInt(t, a, "CLIENT", "ID"), idA)
	})
}

// clientLineOf finds a client's line in CLIENT LIST output.
func clientLineOf(list string, id int64) string {
	prefix := "id=" + strconv.FormatInt(id, 10) + " "
	for _, line := range strings.Split(list, "\n") {
		if strings.HasPrefix(line, prefix) {
			return line
		}
	}
	return ""
}

// TestClientsClientInfo: CLIENT INFO describes the calling connection, as
// CLIENT LIST does. server/cmd_server.go registers a handler for it, but the
// command table (protocol/table.go) has no client|info subcommand, so
// dispatch answers "unknown subcommand" before reaching the handler.
func TestClientsClientInfo(t *testing.T) {
	t.Parallel()
	forEachProto(t, func(t *testing.T, proto int) {
		srv := startServer(t, nil)
		c := newClient(t, srv, proto)
		conn := c.Conn()
		defer conn.Close()
		id := doInt(t, conn, "CLIENT", "ID")
		doStr(t, conn, "CLIENT", "SETNAME", "alice")
		v, err := conn.Do(context.Background(), "CLIENT", "INFO").Result()
		if err != nil {
			t.Fatalf("CLIENT INFO: %v", err)
		}
		ci, _ := v.(string)
		if !strings.HasPrefix(ci, "id="+strconv.FormatInt(id, 10)+" ") || !strings.Contains(ci, " name=alice ") || !strings.HasSuffix(ci, "\n") {
			t.Errorf("CLIENT INFO = %q", ci)
		}
		if list := doStr(t, conn, "CLIENT", "LIST"); !strings.Contains(list, strings.TrimSuffix(strings.SplitN(ci, " age=", 2)[0], "\n")) {
			t.Errorf("CLIENT INFO %q not in CLIENT LIST %q", ci, list)
		}
	})
}
