package server

// Bad input: every bad command answers a clear error, keeps the connection
// and changes nothing (SPEC §2); limits protect the server (SPEC §7); keys
// and values are byte strings (SPEC §1).

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// badCase is one bad command and what its error must look like.
type badCase struct {
	name string
	args []any
	// want is a prefix of the error; contains, when set, must appear in it too.
	want     string
	contains string
}

func TestBadInputErrorsKeepConnectionAndChangeNothing(t *testing.T) {
	t.Parallel()
	const maxPage = 50
	const maxExpr = 64
	long := strings.Repeat("x", 513)
	longExpr := "country:US" + strings.Repeat(" OR country:US", (maxExpr/14)+1)

	cases := []badCase{
		// Commands and arity.
		{name: "unknown command", args: []any{"NOSUCH", "a", "b"}, want: "ERR unknown command 'NOSUCH'", contains: "'a'"},
		{name: "unknown subcommand", args: []any{"CLIENT", "NOSUCH"}, want: "ERR unknown subcommand"},
		{name: "arity ENT.GET", args: []any{"ENT.GET"}, want: "ERR wrong number of arguments for 'ENT.GET' command"},
		{name: "arity ENT.SET short", args: []any{"ENT.SET", "u:9", "country"}, want: "ERR wrong number of arguments for 'ENT.SET'"},
		{name: "arity ENT.SET odd pairs", args: []any{"ENT.SET", "u:9", "country", "US", "tier"}, want: "ERR wrong number of arguments for 'ENT.SET'"},
		{name: "arity FIELD.LIST", args: []any{"FIELD.LIST", "x"}, want: "ERR wrong number of arguments for 'FIELD.LIST' command"},
		{name: "arity QUERY.COUNT", args: []any{"QUERY.COUNT"}, want: "ERR wrong number of arguments for 'QUERY.COUNT' command"},
		{name: "arity ENT.EXISTS", args: []any{"ENT.EXISTS", "a", "b"}, want: "ERR wrong number of arguments for 'ENT.EXISTS' command"},

		// Unknown fields.
		{name: "unknown field in expression", args: []any{"QUERY.COUNT", "contry:US"}, want: "ERR unknown field 'contry'"},
		{name: "unknown field in WHERE", args: []any{"QUERY.GROUPBY", "country", "WHERE", "contry:US"}, want: "ERR unknown field 'contry'"},
		{name: "unknown field ENT.UNSET", args: []any{"ENT.UNSET", "u:1", "contry"}, want: "ERR unknown field 'contry'"},
		{name: "unknown field ENT.GET", args: []any{"ENT.GET", "u:1", "contry"}, want: "ERR unknown field 'contry'"},
		{name: "unknown field FIELD.INFO", args: []any{"FIELD.INFO", "contry"}, want: "ERR unknown field 'contry'"},

		// Wrong kinds.
		{name: "ENT.ADD on ENUM", args: []any{"ENT.ADD", "k", "country", "x"}, want: "WRONGTYPE", contains: "country"},
		{name: "ENT.REM on ENUM", args: []any{"ENT.REM", "u:1", "country", "US"}, want: "WRONGTYPE"},
		{name: "ENT.SET on TAGS", args: []any{"ENT.SET", "u:1", "interests", "x"}, want: "WRONGTYPE"},
		{name: "ENT.SET non-integer on INT", args: []any{"ENT.SET", "u:1", "age", "thirty"}, want: "WRONGTYPE", contains: "age"},
		{name: "ENT.SET non-canonical integer on INT", args: []any{"ENT.SET", "u:1", "age", "+30"}, want: "WRONGTYPE"},
		{name: "INT comparison on ENUM", args: []any{"QUERY.COUNT", "country >= 3"}, want: "WRONGTYPE", contains: "country"},
		{name: "FIELD.VALUES of INT", args: []any{"FIELD.VALUES", "age"}, want: "WRONGTYPE"},
		{name: "QUERY.STATS of ENUM", args: []any{"QUERY.STATS", "country"}, want: "WRONGTYPE"},
		{name: "QUERY.TOP of ENUM", args: []any{"QUERY.TOP", "3", "country"}, want: "WRONGTYPE"},
		{name: "QUERY.GROUPBY of INT", args: []any{"QUERY.GROUPBY", "age"}, want: "WRONGTYPE"},
		{name: "FIELD.CREATE other kind", args: []any{"FIELD.CREATE", "country", "TAGS"}, want: "ERR ", contains: "country"},

		// All or nothing: the good first pair is not applied, nothing is created.
		{name: "ENT.SET bad second pair (new key)", args: []any{"ENT.SET", "u:new", "tier", "gold", "age", "notanint"}, want: "WRONGTYPE"},
		{name: "ENT.SET bad second pair (existing key)", args: []any{"ENT.SET", "u:1", "country", "FR", "bad-name", "x"}, want: "ERR invalid field name 'bad-name'"},
		{name: "ENT.SET empty value in second pair", args: []any{"ENT.SET", "u:1", "country", "FR", "tier", ""}, want: "ERR empty value"},
		{name: "ENT.ADD empty second value", args: []any{"ENT.ADD", "u:new", "newtags", "a", ""}, want: "ERR empty value"},
		{name: "ENT.DEL with a bad key", args: []any{"ENT.DEL", "u:1", ""}, want: "ERR empty key"},

		// Syntax errors with their 1-based position.
		{name: "syntax unclosed paren", args: []any{"QUERY.COUNT", "country:US AND (age > 3"}, want: "ERR syntax error at 24: "},
		{name: "syntax missing value", args: []any{"QUERY.COUNT", "country:"}, want: "ERR syntax error at 9: "},
		{name: "syntax dangling AND", args: []any{"QUERY.COUNT", "country:US AND"}, want: "ERR syntax error at 15: "},
		{name: "syntax empty", args: []any{"QUERY.COUNT", ""}, want: "ERR syntax error at 1: "},
		{name: "syntax in WHERE", args: []any{"QUERY.STATS", "age", "WHERE", "(country:US"}, want: "ERR syntax error at "},

		// Limits.
		{name: "expression above --max-expr-bytes", args: []any{"QUERY.COUNT", longExpr}, want: "ERR expression of ", contains: "--max-expr-bytes"},
		{name: "WHERE above --max-expr-bytes", args: []any{"QUERY.GROUPBY", "country", "WHERE", longExpr}, want: "ERR expression of ", contains: "--max-expr-bytes"},
		{name: "ISMEMBER above --max-expr-bytes", args: []any{"QUERY.ISMEMBER", longExpr, "u:1"}, want: "ERR expression of "},
		{name: "COUNT 0", args: []any{"QUERY.MEMBERS", "ALL", "COUNT", "0"}, want: "ERR COUNT must be a positive integer"},
		{name: "COUNT negative", args: []any{"QUERY.MEMBERS", "ALL", "COUNT", "-1"}, want: "ERR COUNT must be a positive integer"},
		{name: "COUNT not a number", args: []any{"QUERY.MEMBERS", "ALL", "COUNT", "many"}, want: "ERR COUNT must be a positive integer"},
		{name: "COUNT above --max-page", args: []any{"QUERY.MEMBERS", "ALL", "COUNT", fmt.Sprint(maxPage + 1)}, want: "ERR COUNT 51 is above the largest page of 50", contains: "--max-page"},
		{name: "LIMIT 0", args: []any{"FIELD.VALUES", "country", "LIMIT", "0"}, want: "ERR LIMIT must be a positive integer"},
		{name: "LIMIT above --max-page", args: []any{"QUERY.GROUPBY", "country", "LIMIT", "1000"}, want: "ERR LIMIT 1000 is above the largest page"},
		{name: "TOP k 0", args: []any{"QUERY.TOP", "0", "age"}, want: "ERR k must be a positive integer"},
		{name: "TOP k above --max-page", args: []any{"QUERY.TOP", "51", "age"}, want: "ERR k 51 is above the largest page"},

		// Options.
		{name: "unknown option", args: []any{"QUERY.COUNT", "ALL", "FOO", "1"}, want: "ERR unknown option 'FOO' for 'QUERY.COUNT'"},
		{name: "unknown option MEMBERS", args: []any{"QUERY.MEMBERS", "ALL", "LIMIT", "3"}, want: "ERR unknown option 'LIMIT' for 'QUERY.MEMBERS'"},
		{name: "option without value", args: []any{"QUERY.MEMBERS", "ALL", "COUNT"}, want: "ERR option COUNT needs a value"},
		{name: "option twice", args: []any{"QUERY.MEMBERS", "ALL", "COUNT", "2", "COUNT", "3"}, want: "ERR option COUNT given twice"},
		{name: "bad cursor", args: []any{"QUERY.MEMBERS", "ALL", "CURSOR", "abc"}, want: "ERR invalid cursor 'abc'"},
		{name: "bad AT", args: []any{"QUERY.COUNT", "ALL", "AT", "yesterday"}, want: "ERR invalid time 'yesterday'"},
		{name: "FIELD.VALUES unknown option", args: []any{"FIELD.VALUES", "country", "LIMITS", "2"}, want: "ERR syntax error"},
		{name: "FIELD.CREATE unknown kind", args: []any{"FIELD.CREATE", "f", "WHAT"}, want: "ERR unknown field kind 'WHAT'"},
		{name: "FIELD.CREATE GRANULARITY on ENUM", args: []any{"FIELD.CREATE", "f", "ENUM", "GRANULARITY", "DAY"}, want: "ERR GRANULARITY and RETENTION apply to EVENT fields only"},
		{name: "FIELD.CREATE GRANULARITY on INT", args: []any{"FIELD.CREATE", "f", "INT", "GRANULARITY", "HOUR"}, want: "ERR GRANULARITY and RETENTION apply to EVENT fields only"},
		{name: "FIELD.CREATE GRANULARITY WEEK", args: []any{"FIELD.CREATE", "f", "EVENT", "GRANULARITY", "WEEK"}, want: "ERR GRANULARITY must be HOUR or DAY, not 'WEEK'"},
		{name: "FIELD.CREATE RETENTION 36h on DAY", args: []any{"FIELD.CREATE", "f", "EVENT", "RETENTION", "36h"}, want: "ERR RETENTION 36h is not a whole number of DAY buckets"},

		// Events (more in events_test.go).
		{name: "ENT.TRACK on ENUM", args: []any{"ENT.TRACK", "u:1", "country:US"}, want: "WRONGTYPE field 'country' is ENUM, use ENT.SET"},
		{name: "ENT.TRACK empty value", args: []any{"ENT.TRACK", "u:1", "newevents:"}, want: "ERR empty value after 'newevents:'"},
		{name: "ENT.TRACK AMOUNT 0", args: []any{"ENT.TRACK", "u:new", "newevents", "AMOUNT", "0"}, want: "ERR AMOUNT must be a whole number from 1"},
		{name: "ENT.TRACK AMOUNT abc", args: []any{"ENT.TRACK", "u:new", "newevents", "AMOUNT", "abc"}, want: "ERR AMOUNT must be a whole number from 1"},
		{name: "ENT.TRACK too old", args: []any{"ENT.TRACK", "u:new", "newevents", "AT", "2000-01-01"}, want: "ERR event time 2000-01-01T00:00:00Z is older than the 400d retention"},
		{name: "ENT.TRACK too far ahead", args: []any{"ENT.TRACK", "u:new", "newevents", "AT", "9999-01-01"}, want: "ERR event time 9999-01-01T00:00:00Z is in the future"},
		{name: "FLUSHALL bad option", args: []any{"FLUSHALL", "NOW"}, want: "ERR syntax error"},
		{name: "SHUTDOWN bad option", args: []any{"SHUTDOWN", "MAYBE"}, want: "ERR syntax error"},

		// Empty and oversized keys, values and field names.
		{name: "empty key", args: []any{"ENT.SET", "", "country", "US"}, want: "ERR empty key"},
		{name: "empty field", args: []any{"ENT.SET", "u:1", "", "US"}, want: "ERR invalid field name ''"},
		{name: "empty value", args: []any{"ENT.SET", "u:1", "country", ""}, want: "ERR empty value for field 'country'"},
		{name: "empty tag", args: []any{"ENT.ADD", "u:1", "interests", ""}, want: "ERR empty value"},
		{name: "513-byte key", args: []any{"ENT.SET", long, "country", "US"}, want: "ERR key of 513 bytes is too long"},
		{name: "513-byte key ENT.ADD", args: []any{"ENT.ADD", long, "interests", "x"}, want: "ERR key of 513 bytes is too long"},
		{name: "257-byte value", args: []any{"ENT.SET", "u:1", "country", strings.Repeat("v", 257)}, want: "ERR value of 257 bytes", contains: "too long"},
		{name: "field 1abc", args: []any{"FIELD.CREATE", "1abc", "ENUM"}, want: "ERR invalid field name '1abc'"},
		{name: "field AND", args: []any{"FIELD.CREATE", "AND", "ENUM"}, want: "ERR invalid field name 'AND'", contains: "keyword"},
		{name: "field and (any case)", args: []any{"FIELD.CREATE", "and", "TAGS"}, want: "ERR invalid field name 'and'", contains: "keyword"},
		{name: "field of 65 chars", args: []any{"FIELD.CREATE", strings.Repeat("a", 65), "INT"}, want: "ERR invalid field name"},
		{name: "field 1abc by ENT.SET", args: []any{"ENT.SET", "u:1", "1abc", "x"}, want: "ERR invalid field name '1abc'"},
		{name: "field OR by ENT.ADD", args: []any{"ENT.ADD", "u:1", "OR", "x"}, want: "ERR invalid field name 'OR'"},
		{name: "field with a dash", args: []any{"ENT.SET", "u:1", "first-name", "x"}, want: "ERR invalid field name 'first-name'"},

		// Server commands.
		{name: "SELECT 1", args: []any{"SELECT", "1"}, want: "ERR DB index is out of range"},
		{name: "AUTH without password", args: []any{"AUTH", "secret"}, want: "ERR AUTH <password> called without any password configured"},
		{name: "AUTH user pass without password", args: []any{"AUTH", "default", "secret"}, want: "ERR AUTH <password> called without any password configured"},
		{name: "HELLO 4", args: []any{"HELLO", "4"}, want: "NOPROTO"},
		{name: "HELLO bad option", args: []any{"HELLO", "2", "FOO"}, want: "ERR syntax error in HELLO option 'FOO'"},
	}

	forEachProto(t, func(t *testing.T, proto int) {
		srv := startServer(t, func(c *Config) {
			c.MaxPage = maxPage
			c.MaxExpr = maxExpr
		})
		c := newClient(t, srv, proto)
		conn := c.Conn()
		defer conn.Close()

		expectEq(t, "seed", doInt(t, conn, "ENT.SET", "u:1", "country", "US", "age", "30"), int64(2))
		expectEq(t, "seed tags", doInt(t, conn, "ENT.ADD", "u:1", "interests", "fitness"), int64(1))
		expectEq(t, "seed u:2", doInt(t, conn, "ENT.SET", "u:2", "country", "FR"), int64(1))
		id := doInt(t, conn, "CLIENT", "ID")
		before := stateOf(t, conn)
		u1 := fmt.Sprint(doMap(t, conn, proto, "ENT.GET", "u:1"))

		for _, tc := range cases {
			e := doErr(t, conn, tc.args...)
			if !strings.HasPrefix(e, tc.want) || !strings.Contains(e, tc.contains) {
				t.Errorf("%s: error %q, want prefix %q containing %q", tc.name, e, tc.want, tc.contains)
			}
			// The same connection keeps working and nothing changed.
			if got := doStr(t, conn, "PING"); got != "PONG" {
				t.Fatalf("%s: PING after the error = %q", tc.name, got)
			}
			if after := stateOf(t, conn); after != before {
				t.Errorf("%s: state changed from %+v to %+v", tc.name, before, after)
			}
			if got := fmt.Sprint(doMap(t, conn, proto, "ENT.GET", "u:1")); got != u1 {
				t.Errorf("%s: u:1 changed from %s to %s", tc.name, u1, got)
			}
		}
		expectEq(t, "CLIENT ID at the end", doInt(t, conn, "CLIENT", "ID"), id)
		expectEq(t, "u:new", doInt(t, conn, "ENT.EXISTS", "u:new"), int64(0))
		for _, f := range []string{"tier", "newtags", "newevents", "bad-name", "f", "1abc", "AND", "and"} {
			if e := doErr(t, conn, "FIELD.INFO", f); !strings.HasPrefix(e, "ERR unknown field") && !strings.HasPrefix(e, "ERR invalid field") {
				t.Errorf("FIELD.INFO %s after rejected writes: %q", f, e)
			}
		}
		// Errors are counted per command in the metrics.
		body := scrapeMetrics(t, srv)
		if v, ok := metricValue(body, `segd_command_errors_total{cmd="query.count"}`); !ok || v < 5 {
			t.Errorf(`segd_command_errors_total{cmd="query.count"} = %v (found %v), want >= 5`, v, ok)
		}
		if v, ok := metricValue(body, `segd_unknown_commands_total`); !ok || v < 1 {
			t.Errorf(`segd_unknown_commands_total = %v (found %v)`, v, ok)
		}
	})
}

// TestBadInputSyntaxPosition checks that the position of a syntax error
// points into the expression as a person counts, from 1.
func TestBadInputSyntaxPosition(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	c := newClient(t, srv, 3)
	do(t, c, "ENT.SET", "u:1", "country", "US", "age", "30")
	re := regexp.MustCompile(`^ERR syntax error at (\d+): \S`)
	for expr, pos := range map[string]string{
		"country:US AND (age > 3": "24",
		"country:":                "9",
		"(country:US":             "12",
		"country:US )":            "12",
		"age >= ":                 "8",
		"country:US OR OR age:3":  "15",
	} {
		e := doErr(t, c, "QUERY.COUNT", expr)
		m := re.FindStringSubmatch(e)
		if m == nil {
			t.Errorf("QUERY.COUNT %q: %q is not a syntax error with a position", expr, e)
			continue
		}
		if m[1] != pos {
			t.Errorf("QUERY.COUNT %q: %q, want position %s", expr, e, pos)
		}
	}
}

// TestBadInputBinaryKeysAndValues: keys are any byte string of 1 to 512
// bytes, values any of 1 to 256 bytes; both round-trip exactly.
func TestBadInputBinaryKeysAndValues(t *testing.T) {
	t.Parallel()
	forEachProto(t, func(t *testing.T, proto int) {
		srv := startServer(t, nil)
		c := newClient(t, srv, proto)
		keys := []string{
			"\xff\xfe\x00k",                 // invalid UTF-8 with a NUL
			"\x80",                          // a lone continuation byte
			"key with spaces \r\n and CRLF", // RESP framing bytes inside
			"\"quoted\" 'key'",
			strings.Repeat("\xc3", 512), // 512 bytes, the largest key
			"日本語",
		}
		values := []string{"\x80\x81", "v\x00v", strings.Repeat("\xff", 256), "a b", "é"}
		for i, k := range keys {
			v := values[i%len(values)]
			expectEq(t, fmt.Sprintf("ENT.SET key %d", i), doInt(t, c, "ENT.SET", k, "tier", v), int64(1))
			expectEq(t, fmt.Sprintf("ENT.ADD key %d", i), doInt(t, c, "ENT.ADD", k, "tags", v, "t"), int64(2))
		}
		expectEq(t, "ENT.COUNT", doInt(t, c, "ENT.COUNT"), int64(len(keys)))
		for i, k := range keys {
			v := values[i%len(values)]
			expectEq(t, fmt.Sprintf("ENT.EXISTS key %d", i), doInt(t, c, "ENT.EXISTS", k), int64(1))
			got := doMap(t, c, proto, "ENT.GET", k)
			expectEq(t, fmt.Sprintf("ENT.GET key %d tier", i), got["tier"], v)
			tags, _ := got["tags"].([]any)
			sort.Slice(tags, func(a, b int) bool { return tags[a].(string) < tags[b].(string) })
			want := []any{v, "t"}
			sort.Slice(want, func(a, b int) bool { return want[a].(string) < want[b].(string) })
			expectEq(t, fmt.Sprintf("ENT.GET key %d tags", i), tags, want)
			expectEq(t, fmt.Sprintf("QUERY.ISMEMBER key %d", i), doInt(t, c, "QUERY.ISMEMBER", "tags:t", k), int64(1))
		}
		// QUERY.MEMBERS gives the keys back byte for byte.
		var got []string
		cursor := "0"
		for {
			page := doArr(t, c, "QUERY.MEMBERS", "ALL", "CURSOR", cursor, "COUNT", "2")
			for _, k := range page[1].([]any) {
				got = append(got, k.(string))
			}
			if cursor = page[0].(string); cursor == "0" {
				break
			}
		}
		want := append([]string(nil), keys...)
		sort.Strings(want)
		sort.Strings(got)
		expectEq(t, "QUERY.MEMBERS keys", got, want)

		// Binary values in expressions (quoted), FIELD.VALUES and GROUPBY.
		expectEq(t, "QUERY.COUNT binary value", doInt(t, c, "QUERY.COUNT", "tier:\x80\x81"), int64(2))
		expectEq(t, "QUERY.COUNT quoted value with space", doInt(t, c, "QUERY.COUNT", `tier:"a b"`), int64(1))
		vals := doArr(t, c, "FIELD.VALUES", "tier")
		seen := map[string]int64{}
		for _, row := range vals {
			r := row.([]any)
			seen[r[0].(string)] = r[1].(int64)
		}
		for i := range keys {
			if seen[values[i%len(values)]] == 0 {
				t.Errorf("FIELD.VALUES lacks %q: %v", values[i%len(values)], seen)
			}
		}
		// And ENT.DEL takes them.
		for i, k := range keys {
			expectEq(t, fmt.Sprintf("ENT.DEL key %d", i), doInt(t, c, "ENT.DEL", k), int64(1))
		}
		expectEq(t, "ENT.COUNT after DEL", doInt(t, c, "ENT.COUNT"), int64(0))
	})
}

// TestBadInputOversizedRequest: a request above --max-request-bytes is
// refused (an error, or that one connection closed) without harm to the
// server or other connections, and it changes nothing.
func TestBadInputOversizedRequest(t *testing.T) {
	t.Parallel()
	const limit = 64 << 10
	srv := startServer(t, func(c *Config) { c.MaxRequest = limit })
	c := newClient(t, srv, 3)
	do(t, c, "ENT.SET", "u:1", "country", "US")
	before := stateOf(t, c)

	for name, args := range map[string][]string{
		"ECHO":    {"ECHO", strings.Repeat("x", 2*limit)},
		"ENT.SET": {"ENT.SET", "u:big", "country", strings.Repeat("x", 2*limit)},
		"many":    append([]string{"ENT.DEL"}, strings.Fields(strings.Repeat("k ", limit/2))...),
	} {
		t.Run(name, func(t *testing.T) {
			rc := dialRESP(t, srv)
			expectEq(t, "PING first", rc.do("PING"), respStatus("PONG"))
			// The write may fail once the server has closed the connection.
			rc.nc.SetWriteDeadline(time.Now().Add(testTimeout))
			_, _ = rc.nc.Write(encodeCommand(args...))
			v, err := rc.read()
			switch {
			case err != nil:
				// Closed without a reply: acceptable.
			case isErr(v):
				// An error reply, then either the connection is closed or it
				// still answers.
				t.Logf("oversized %s: %q", name, v)
			default:
				t.Errorf("oversized %s (%d bytes, limit %d) was served: reply %.60q", name, len(encodeCommand(args...)), limit, fmt.Sprint(v))
			}
			// Other connections keep working, and nothing changed.
			expectEq(t, "PING on another connection", doStr(t, c, "PING"), "PONG")
			if after := stateOf(t, c); after != before {
				t.Errorf("state changed from %+v to %+v", before, after)
			}
		})
	}
	// A declared length above the limit is refused at once, from the header
	// alone: the server does not wait for (or buffer) the declared bytes.
	rc0 := dialRESP(t, srv)
	rc0.sendRaw([]byte("*2\r\n$4\r\nECHO\r\n$" + fmt.Sprint(100*limit) + "\r\n"))
	if v, err := rc0.read(); err == nil && !isErr(v) {
		t.Errorf("declared bulk of %d bytes: reply %#v", 100*limit, v)
	} else if err != nil && !rc0.closedByServer() {
		t.Errorf("declared bulk of %d bytes: %v", 100*limit, err)
	}
	// A request just under the limit is served.
	rc := dialRESP(t, srv)
	payload := strings.Repeat("y", limit-100)
	expectEq(t, "ECHO under the limit", rc.do("ECHO", payload), payload)
}

func isErr(v any) bool { _, ok := v.(respErr); return ok }

// TestBadInputHostileFraming sends RESP that breaks the framing or its
// limits (lengths that overflow, absurd counts). Each may close that one
// connection; the server must stay up and keep serving everyone else.
func TestBadInputHostileFraming(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	c := newClient(t, srv, 2)
	do(t, c, "ENT.SET", "u:1", "country", "US")
	for name, raw := range map[string]string{
		"bulk length near MaxInt64":      "*1\r\n$9223372036854775807\r\n",
		"multibulk count near MaxInt64":  "*9223372036854775807\r\n",
		"huge multibulk count":           "*4000000000\r\n",
		"negative bulk length":           "*1\r\n$-5\r\nPING\r\n",
		"bulk length not a number":       "*1\r\n$abc\r\n",
		"missing $":                      "*1\r\nPING\r\n",
		"bulk length overflowing digits": "*1\r\n$99999999999999999999999\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			rc := dialRESP(t, srv)
			rc.sendRaw([]byte(raw))
			// Whatever this connection does (an error, a close, waiting for
			// more bytes), the server must stay responsive: check from
			// another connection while this one is still open.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := c.Ping(ctx).Err(); err != nil {
				t.Fatalf("server stopped answering after %q: %v", raw, err)
			}
			expectEq(t, "ENT.COUNT", doInt(t, c, "ENT.COUNT"), int64(1))
			rc.nc.Close()
		})
	}
	// The server is still alive and well at the end.
	expectEq(t, "QUERY.COUNT", doInt(t, c, "QUERY.COUNT", "country:US"), int64(1))
	fresh := newClient(t, srv, 3)
	expectEq(t, "fresh client", doInt(t, fresh, "ENT.COUNT"), int64(1))
}

// TestBadInputInline: telnet-style inline commands work, and an inline line
// that never ends is bounded.
func TestBadInputInline(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	rc := dialRESP(t, srv)
	rc.sendRaw([]byte("PING\r\n"))
	expectEq(t, "inline PING", rc.mustRead(), respStatus("PONG"))
	rc.sendRaw([]byte("ENT.SET u:1 country US\r\n"))
	expectEq(t, "inline ENT.SET", rc.mustRead(), int64(1))
	rc.sendRaw([]byte("QUERY.COUNT country:US\n"))
	expectEq(t, "inline QUERY.COUNT", rc.mustRead(), int64(1))

	// 1 MiB on one line without a newline: refused, server fine.
	bad := dialRESP(t, srv)
	bad.nc.SetWriteDeadline(time.Now().Add(testTimeout))
	_, _ = bad.nc.Write([]byte(strings.Repeat("A", 1<<20)))
	c := newClient(t, srv, 2)
	expectEq(t, "PING after a long inline line", doStr(t, c, "PING"), "PONG")
	expectEq(t, "ENT.COUNT", doInt(t, c, "ENT.COUNT"), int64(1))
}

// TestBadInputPipelinedErrors: errors inside a pipeline answer in order and
// do not disturb the commands around them.
func TestBadInputPipelinedErrors(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	c := newClient(t, srv, 3)
	ctx := context.Background()
	pipe := c.Pipeline()
	set := pipe.Do(ctx, "ENT.SET", "u:1", "country", "US")
	bad := pipe.Do(ctx, "ENT.ADD", "u:1", "country", "x")
	unknown := pipe.Do(ctx, "NOSUCH")
	count := pipe.Do(ctx, "QUERY.COUNT", "country:US")
	syntax := pipe.Do(ctx, "QUERY.COUNT", "country:")
	get := pipe.Do(ctx, "ENT.GET", "u:1")
	// Errors an async write finds in its own arguments come after the
	// replies of the writes pipelined before it.
	set2 := pipe.Do(ctx, "ENT.SET", "u:2", "country", "FR")
	odd := pipe.Do(ctx, "ENT.SET", "u:2", "country", "FR", "tier")
	track := pipe.Do(ctx, "ENT.TRACK", "u:2", "purchase:shoes")
	amount := pipe.Do(ctx, "ENT.TRACK", "u:2", "purchase:shoes", "AMOUNT", "0")
	kind := pipe.Do(ctx, "FIELD.CREATE", "f", "WHAT")
	set3 := pipe.Do(ctx, "ENT.SET", "u:3", "country", "FR")
	gran := pipe.Do(ctx, "FIELD.CREATE", "g", "EVENT", "GRANULARITY", "WEEK")
	countFR := pipe.Do(ctx, "QUERY.COUNT", "country:FR AND purchase:shoes")
	_, _ = pipe.Exec(ctx) // some commands fail on purpose: each result is checked below
	expectEq(t, "set", set.Val(), int64(1))
	if err := bad.Err(); err == nil || !strings.HasPrefix(err.Error(), "WRONGTYPE") {
		t.Errorf("pipelined ENT.ADD on ENUM: %v", err)
	}
	if err := unknown.Err(); err == nil || !strings.HasPrefix(err.Error(), "ERR unknown command") {
		t.Errorf("pipelined unknown command: %v", err)
	}
	expectEq(t, "count", count.Val(), int64(1))
	if err := syntax.Err(); err == nil || !strings.HasPrefix(err.Error(), "ERR syntax error at 9") {
		t.Errorf("pipelined syntax error: %v", err)
	}
	expectEq(t, "get", get.Val(), map[any]any{"country": "US"})
	expectEq(t, "set2", set2.Val(), int64(1))
	if err := odd.Err(); err == nil || !strings.HasPrefix(err.Error(), "ERR wrong number of arguments for 'ENT.SET'") {
		t.Errorf("pipelined ENT.SET with odd pairs: %v", err)
	}
	expectEq(t, "track", track.Val(), "OK")
	if err := amount.Err(); err == nil || !strings.HasPrefix(err.Error(), "ERR AMOUNT must be") {
		t.Errorf("pipelined ENT.TRACK AMOUNT 0: %v", err)
	}
	if err := kind.Err(); err == nil || !strings.HasPrefix(err.Error(), "ERR unknown field kind 'WHAT'") {
		t.Errorf("pipelined FIELD.CREATE f WHAT: %v", err)
	}
	expectEq(t, "set3", set3.Val(), int64(1))
	if err := gran.Err(); err == nil || !strings.HasPrefix(err.Error(), "ERR GRANULARITY must be HOUR or DAY") {
		t.Errorf("pipelined FIELD.CREATE GRANULARITY WEEK: %v", err)
	}
	expectEq(t, "countFR", countFR.Val(), int64(1))
	// Those errors count in the metrics of their commands.
	body := scrapeMetrics(t, srv)
	for cmd, want := range map[string]float64{"ent.set": 1, "ent.track": 1, "field.create": 2, "ent.add": 1} {
		if v, _ := metricValue(body, `segd_command_errors_total{cmd="`+cmd+`"}`); v != want {
			t.Errorf(`segd_command_errors_total{cmd=%q} = %v, want %v`, cmd, v, want)
		}
	}
}
