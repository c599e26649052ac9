package importer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/segd-db/segd/internal/testenv"
	"github.com/segd-db/segd/internal/testserver"
	"github.com/segd-db/segd/server"
)

// startServer runs a throw-away in-memory segd and returns its address and
// a client to check what the import wrote.
func startServer(t testing.TB) (string, *redis.Client) {
	t.Helper()
	srv := testserver.Start(t, func(c *server.Config) { c.InMemory = true })
	return srv.Addr(), testserver.Client(t, srv, &redis.Options{Protocol: 2, DisableIdentity: true})
}

func qcount(t *testing.T, rc *redis.Client, expr string) int64 {
	t.Helper()
	n, err := rc.Do(context.Background(), "QUERY.COUNT", expr).Int64()
	if err != nil {
		t.Fatalf("QUERY.COUNT %s: %v", expr, err)
	}
	return n
}

// get is ENT.GET as field → value (TAGS as []string, EVENT as
// map[string]int64 with "*" the total), nil for no entity.
func get(t *testing.T, rc *redis.Client, key string) map[string]any {
	t.Helper()
	v, err := rc.Do(context.Background(), "ENT.GET", key).Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		t.Fatalf("ENT.GET %s: %v", key, err)
	}
	flat := v.([]any)
	m := map[string]any{}
	for i := 0; i+1 < len(flat); i += 2 {
		val := flat[i+1]
		if arr, ok := val.([]any); ok {
			if len(arr) >= 2 && arr[0] == "*" {
				if _, isSum := arr[1].(int64); isSum { // EVENT, a flat map under RESP2
					sums := map[string]int64{}
					for j := 0; j+1 < len(arr); j += 2 {
						sums[arr[j].(string)] = arr[j+1].(int64)
					}
					m[flat[i].(string)] = sums
					continue
				}
			}
			var s []string
			for _, e := range arr {
				s = append(s, e.(string))
			}
			val = s
		}
		m[flat[i].(string)] = val
	}
	return m
}

func badLines(s Summary) map[int]string {
	m := map[int]string{}
	for _, b := range s.First {
		m[b.Line] = b.Reason
	}
	return m
}

func TestCSV(t *testing.T) {
	addr, rc := startServer(t)
	in := strings.Join([]string{
		`key,country,age,interests[],note,bad-name`, // 1
		`u:1,PT,31,a;b,"hello, world",`,             // 2
		`u:2,ES,,c,"two`,                            // 3
		`lines",`,                                   // 4
		`u:3,FR,40`,                                 // 5: short row
		`u:4,DE,22,x; y ;,,`,                        // 6
		`u:5,IT,50,,,oops`,                          // 7: invalid field name, whole row refused
		`,IT,1,,,`,                                  // 8: empty key
		`u:6,IT,abc,,,`,                             // 9: age is INT
		`u:7,NL,5,t,"say ""hi""",`,                  // 10
		`u:8,PT,1,z,,oops`,                          // 11: invalid field name: nothing written, tags neither
		`u:9,,,,,`,                                  // 12: nothing to write
		`u:10,"PT","7",,,,extra`,                    // 13: long row
	}, "\n") + "\n"
	var errs bytes.Buffer
	// Four connections: the importer creates age as INT from u:1 (file
	// order), whichever connection's write arrives first.
	sum, err := Import(context.Background(), Options{Addr: addr, Connections: 4, Format: "csv", Errors: &errs}, strings.NewReader(in), 0)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rows != 11 || sum.Entities != 4 || sum.Bad != 6 || sum.Empty != 1 || sum.Commands != 8 || sum.Bytes != int64(len(in)) {
		t.Errorf("summary %+v", sum)
	}
	bad := badLines(sum)
	want := map[int]string{
		5:  "3 cells, the header has 6 columns",
		7:  "invalid field name 'bad-name'",
		8:  "empty key",
		9:  "age is INT and 'abc' is not an integer",
		11: "invalid field name 'bad-name'",
		13: "7 cells, the header has 6 columns",
	}
	if len(bad) != len(want) {
		t.Errorf("bad rows %v, want lines of %v", bad, want)
	}
	for line, prefix := range want {
		if !strings.HasPrefix(bad[line], prefix) {
			t.Errorf("line %d: %q, want %q…", line, bad[line], prefix)
		}
	}
	for _, line := range []int{7, 9, 11} {
		if !strings.HasSuffix(bad[line], "(nothing of the row was written)") {
			t.Errorf("line %d: %q should say nothing of it was written", line, bad[line])
		}
	}
	if got := strings.Count(errs.String(), "\n"); got != 6 || !strings.Contains(errs.String(), "line 9: age is INT") {
		t.Errorf("errors written:\n%s", errs.String())
	}

	if n := qcount(t, rc, "ALL"); n != 4 { // u:1 u:2 u:4 u:7 and nothing else
		t.Errorf("ALL = %d, want 4", n)
	}
	checks := map[string]map[string]any{
		"u:1": {"country": "PT", "age": int64(31), "interests": []string{"a", "b"}, "note": "hello, world"},
		"u:2": {"country": "ES", "interests": []string{"c"}, "note": "two\nlines"},
		"u:4": {"country": "DE", "age": int64(22), "interests": []string{"x", "y"}},
		"u:7": {"country": "NL", "age": int64(5), "interests": []string{"t"}, "note": `say "hi"`},
		"u:8": nil, "u:5": nil, "u:3": nil, "u:6": nil, "u:9": nil, "u:10": nil,
	}
	for key, want := range checks {
		got := get(t, rc, key)
		if want == nil {
			if got != nil {
				t.Errorf("%s: %v, want no entity", key, got)
			}
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %#v, want %#v", key, got, want)
		}
	}
	if n := qcount(t, rc, "age >= 22"); n != 2 {
		t.Errorf("age >= 22: %d", n)
	}
}

func TestCSVTagsFlagAndSeparator(t *testing.T) {
	addr, rc := startServer(t)
	in := "\ufeffkey,langs,plan\nk1,go|rust,pro\nk2,go,free\n"
	sum, err := Import(context.Background(), Options{Addr: addr, Tags: []string{"langs"}, TagsSep: "|"}, strings.NewReader(in), int64(len(in)))
	if err != nil || sum.Bad != 0 || sum.Entities != 2 || sum.Format != "csv" {
		t.Fatalf("%+v %v", sum, err)
	}
	if n := qcount(t, rc, "langs:go AND plan:pro"); n != 1 {
		t.Errorf("langs:go AND plan:pro = %d", n)
	}
	if n := qcount(t, rc, "langs:rust"); n != 1 {
		t.Errorf("langs:rust = %d", n)
	}
	_, err = Import(context.Background(), Options{Addr: addr, Tags: []string{"nope"}}, strings.NewReader(in), 0)
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("--tags of a missing column: %v", err)
	}
}

func TestNDJSON(t *testing.T) {
	addr, rc := startServer(t)
	threeDaysAgo := time.Now().Add(-72 * time.Hour).Unix() // well inside the 400-day retention
	in := strings.Join([]string{
		`{"key":"p:1","country":"PT","age":31,"interests":["a","b"],"vip":null,"ok":true}`, // 1
		`{"key":"p:2","age":31.5}`,              // 2
		`{"key":"p:3","addr":{"city":"Porto"}}`, // 3
		`{"key":"p:4", "country":`,              // 4
		``,                                      // 5: blank, skipped
		fmt.Sprintf(`{"key":"p:5","event":"purchase","value":"shirts","at":%d,"amount":30}`, threeDaysAgo), // 6
		`{"key":"p:6","age":40.0,"interests":[],"score":-3}`,                                               // 7
		`[1,2]`,                              // 8
		`{"country":"PT"}`,                   // 9
		`{"key":"p:7","tags":["a",{"b":1}]}`, // 10
		`{"key":"p:8","n":1}{"key":"p:9"}`,   // 11
		`  {"key":42,"country":"ES"}  `,      // 12: an integer key is its decimal text
	}, "\r\n") + "\r\n"
	sum, err := Import(context.Background(), Options{Addr: addr}, strings.NewReader(in), 0)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Format != "ndjson" || sum.Rows != 11 || sum.Entities != 3 || sum.Events != 1 || sum.Bad != 7 {
		t.Errorf("summary %+v", sum)
	}
	want := map[int]string{
		2:  "age: 31.5 is not an integer",
		3:  "addr: nested objects are not supported",
		4:  "invalid JSON: unexpected end of line",
		8:  "not a JSON object",
		9:  `no "key" member`,
		10: "tags: a list may only hold strings and integers",
		11: "invalid JSON: more than one value on the line",
	}
	bad := badLines(sum)
	if len(bad) != len(want) {
		t.Errorf("bad rows %v", bad)
	}
	for line, prefix := range want {
		if !strings.HasPrefix(bad[line], prefix) {
			t.Errorf("line %d: %q, want %q…", line, bad[line], prefix)
		}
	}
	if got, want := get(t, rc, "p:1"), map[string]any{"country": "PT", "age": int64(31), "interests": []string{"a", "b"}, "ok": "true"}; !reflect.DeepEqual(got, want) {
		t.Errorf("p:1: %#v", got)
	}
	if got, want := get(t, rc, "p:6"), map[string]any{"age": int64(40), "score": int64(-3)}; !reflect.DeepEqual(got, want) {
		t.Errorf("p:6: %#v", got)
	}
	if got := get(t, rc, "42"); got["country"] != "ES" {
		t.Errorf("42: %#v", got)
	}
	if got, want := get(t, rc, "p:5"), map[string]any{"purchase": map[string]int64{"*": 30, "shirts": 30}}; !reflect.DeepEqual(got, want) {
		t.Errorf("p:5: %#v", got)
	}
	if n := qcount(t, rc, "ALL"); n != 4 {
		t.Errorf("ALL = %d", n)
	}
}

// TestEventArguments: what each event object sends (ENT.TRACK's arguments
// after the command) or why it is refused before anything is sent.
func TestEventArguments(t *testing.T) {
	var rec record
	for _, c := range []struct{ in, want string }{
		{`{"key":"u","event":"purchase:shoes","time":"2026-11-01T10:00:00Z","amount":1299}`, "u purchase:shoes AT 2026-11-01T10:00:00Z AMOUNT 1299"},
		{`{"key":"u","event":"purchase","value":"shirts","at":"2024-05-01","amount":"30"}`, "u purchase:shirts AT 2024-05-01 AMOUNT 30"},
		{`{"key":"u","event":"login"}`, "u login"},
		{`{"key":"u","event":"login","time":null,"amount":null,"value":null}`, "u login"},
		{`{"key":"u","event":"login","value":""}`, "u login"},
		{`{"key":"u","event":"purchase:shoes:red"}`, "u purchase:shoes:red"},
		{`{"key":"u","event":"purchase","value":42}`, "u purchase:42"},
		{`{"key":7,"event":"visit","time":1763805600}`, "7 visit AT 1763805600"},
		{`{"key":"u","event":"visit","time":1763805600.75}`, "u visit AT 1763805600"},
		{`{"key":"u","event":"visit","time":1.7638056e9}`, "u visit AT 1763805600"},
		{`{"key":"u","event":"visit","time":"1763805600"}`, "u visit AT 1763805600"},
		{`{"key":"u","event":"visit","time":" 1763805600.5 "}`, "u visit AT 1763805600"},
		{`{"key":"u","event":"visit","time":"2026-11-22T10:00:00.5+01:00"}`, "u visit AT 2026-11-22T10:00:00.5+01:00"},
		{`{"key":"u","event":"spend","amount":1e3}`, "u spend AMOUNT 1000"},
		{`{"key":"u","event":"spend","amount":0}`, "u spend AMOUNT 0"}, // the server refuses it, with its reason
		{`{"key":"u","event":"buy","amount":1.5}`, "amount: 1.5 is not an integer"},
		{`{"key":"u","event":"buy","amount":"many"}`, "amount: many is not a number"},
		{`{"key":"u","event":"buy","amount":[1]}`, "amount: must be a whole number"},
		{`{"key":"u","event":"buy","country":"PT"}`, `event objects hold key, event, value, time (or at) and amount; "country" is not one of them`},
		{`{"key":"u","event":""}`, `event: must be a non-empty string, "field" or "field:value"`},
		{`{"key":"u","event":7}`, `event: must be a non-empty string, "field" or "field:value"`},
		{`{"key":"u","event":null}`, `event: must be a non-empty string, "field" or "field:value"`},
		{`{"key":"u","event":"purchase:shoes","value":"red"}`, `value: the event "purchase:shoes" already has a value; give it in event (field:value) or in value, not both`},
		{`{"key":"u","event":"purchase","value":["a"]}`, "value: must be a string"},
		{`{"key":"u","event":"visit","time":1763805600000}`, "time: 1763805600000 is too large for Unix seconds (milliseconds? divide by 1000)"},
		{`{"key":"u","event":"visit","time":-5}`, "time: -5 is before 1970"},
		{`{"key":"u","event":"visit","at":""}`, "at: empty: leave it out (or null) for the time of the import"},
		{`{"key":"u","event":"visit","time":true}`, "time: must be Unix seconds, an RFC 3339 time or a YYYY-MM-DD date"},
		{`{"key":"u","event":"visit","time":"2026-11-01","at":1763805600}`, `time and at: give the time once ("at" is another name for "time")`},
		{`{"event":"visit"}`, `no "key" member`},
	} {
		p := newNDJSONParser(bufioReader(c.in + "\n"))
		if err := p.next(&rec); err != nil {
			t.Fatal(err)
		}
		got := rec.bad
		if got == "" {
			got = strings.Join(rec.track, " ")
			if len(rec.sets) > 0 || len(rec.adds) > 0 {
				t.Errorf("%s: an event row with profile commands %v %v", c.in, rec.sets, rec.adds)
			}
		}
		if got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

// TestNDJSONEvents imports event objects mixed with profiles: the good ones
// are tracked at their times with their amounts, each bad one is reported
// with its line and reason (from the parser or from the server), and none
// stops the others.
func TestNDJSONEvents(t *testing.T) {
	addr, rc := startServer(t)
	now := time.Now().UTC()
	day := 24 * time.Hour
	in := strings.Join([]string{
		fmt.Sprintf(`{"key":"e:1","event":"purchase:shoes","time":%q,"amount":1299}`, now.Add(-2*day).Format(time.RFC3339)), // 1
		fmt.Sprintf(`{"key":"e:1","event":"purchase","value":"shoes","at":%d}`, now.Add(-day).Unix()),                       // 2
		`{"key":"e:1","event":"purchase:shoes:red"}`,                                                                        // 3: now
		fmt.Sprintf(`{"key":"e:2","event":"cart_add","time":%d.75}`, now.Add(-time.Hour).Unix()),                            // 4
		fmt.Sprintf(`{"key":"e:2","event":"purchase:shoes","time":%q,"amount":"2"}`, now.Add(-10*day).Format("2006-01-02")), // 5
		fmt.Sprintf(`{"key":"e:3","event":"purchase","time":%d}`, now.Add(-500*day).Unix()),                                 // 6: server: retention
		`{"key":"e:3","event":"purchase","time":1700000000000}`,                                                             // 7: milliseconds
		`{"key":"e:3","event":"purchase:","amount":1}`,                                                                      // 8: server: empty value
		`{"key":"e:3","event":"purchase:shoes","value":"red"}`,                                                              // 9
		`{"key":"e:3","event":"purchase","amount":0}`,                                                                       // 10: server: amount
		`{"key":"e:3","event":"purchase","time":"yesterday"}`,                                                               // 11: server: time
		`{"key":"e:4","country":"PT"}`,                                                                                      // 12: a profile
		`{"key":"e:4","event":"country"}`,                                                                                   // 13: server: WRONGTYPE
		fmt.Sprintf(`{"key":"e:5","event":"purchase","time":%d}`, now.Add(time.Hour).Unix()),                                // 14: server: future
		`{"key":"e:5","event":"visit","country":"PT"}`,                                                                      // 15
		`{"key":"e:5","event":"bad-name"}`,                                                                                  // 16: server: field name
	}, "\n") + "\n"
	var errs bytes.Buffer
	sum, err := Import(context.Background(), Options{Addr: addr, Errors: &errs, Connections: 3, Batch: 4}, strings.NewReader(in), 0)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Format != "ndjson" || sum.Rows != 16 || sum.Events != 5 || sum.Entities != 1 || sum.Bad != 10 || sum.Commands != 13 {
		t.Errorf("summary %+v", sum)
	}
	want := map[int]string{
		6:  "ENT.TRACK: ERR event time ",
		7:  "time: 1700000000000 is too large for Unix seconds",
		8:  "ENT.TRACK: ERR empty value after 'purchase:'",
		9:  `value: the event "purchase:shoes" already has a value`,
		10: "ENT.TRACK: ERR AMOUNT must be a whole number from 1 to",
		11: "ENT.TRACK: ERR invalid time 'yesterday'",
		13: "ENT.TRACK: WRONGTYPE field 'country' is ENUM",
		14: "ENT.TRACK: ERR event time ",
		15: `event objects hold key, event, value, time (or at) and amount; "country" is not one of them`,
		16: "ENT.TRACK: ERR invalid field name 'bad-name'",
	}
	bad := badLines(sum)
	if len(bad) != len(want) {
		t.Errorf("bad rows %v", bad)
	}
	for line, prefix := range want {
		if !strings.HasPrefix(bad[line], prefix) {
			t.Errorf("line %d: %q, want %q…", line, bad[line], prefix)
		}
	}
	if !strings.Contains(bad[6], "older than the 400d retention") || !strings.Contains(bad[14], "in the future") {
		t.Errorf("time errors: %q, %q", bad[6], bad[14])
	}
	if got := strings.Count(errs.String(), "\n"); got != 10 || !strings.Contains(errs.String(), "line 13: ENT.TRACK: WRONGTYPE") {
		t.Errorf("errors written:\n%s", errs.String())
	}

	if got, want := get(t, rc, "e:1"), map[string]any{"purchase": map[string]int64{"*": 1301, "shoes": 1300, "shoes:red": 1}}; !reflect.DeepEqual(got, want) {
		t.Errorf("e:1: %#v", got)
	}
	if got, want := get(t, rc, "e:2"), map[string]any{"cart_add": map[string]int64{"*": 1}, "purchase": map[string]int64{"*": 2, "shoes": 2}}; !reflect.DeepEqual(got, want) {
		t.Errorf("e:2: %#v", got)
	}
	if got, want := get(t, rc, "e:4"), map[string]any{"country": "PT"}; !reflect.DeepEqual(got, want) {
		t.Errorf("e:4: %#v", got)
	}
	for _, key := range []string{"e:3", "e:5"} {
		if got := get(t, rc, key); got != nil {
			t.Errorf("%s: %#v, want no entity: every row of it was refused", key, got)
		}
	}
	// The times went in as given: in their buckets, not at the import's.
	for expr, want := range map[string]int64{
		"purchase:shoes >= 1300 IN 3d": 1, // e:1's two days ago and yesterday
		"purchase:shoes >= 1 IN 1d":    0, // nobody bought shoes (the value) today
		"purchase:shoes:red IN 1d":     1,
		"cart_add IN 2d":               1,
		"purchase:shoes = 2 BETWEEN 2000-01-01 AND " + now.Add(-9*day).Format("2006-01-02"): 1,
	} {
		if n := qcount(t, rc, expr); n != want {
			t.Errorf("%s = %d, want %d", expr, n, want)
		}
	}
}

// TestEventsBatched: many event rows over several connections and small
// pipelines all arrive, with every key's rows in order.
func TestEventsBatched(t *testing.T) {
	addr, rc := startServer(t)
	now := time.Now().Unix()
	var b strings.Builder
	const keys, visits = 97, 31
	for v := range visits {
		for k := range keys {
			// Hours ago, so that the rows of a key span several days.
			fmt.Fprintf(&b, `{"key":"b:%d","event":"visit:page%d","time":%d,"amount":%d}`+"\n", k, v%3, now-int64(v)*3600*5, k+1)
		}
		if v == visits/2 {
			for k := range keys {
				fmt.Fprintf(&b, `{"key":"b:%d","plan":"p%d"}`+"\n", k, k%2)
			}
		}
	}
	var out, errOut bytes.Buffer
	code := RunCLI([]string{"-", "--quiet", "--batch", "50", "--connections", "3"}, []string{"SEGD_ADDR=" + addr}, strings.NewReader(b.String()), &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), fmt.Sprintf("events tracked    %d", keys*visits)) ||
		!strings.Contains(out.String(), fmt.Sprintf("entities written  %d", keys)) {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if n := qcount(t, rc, fmt.Sprintf("visit >= %d", visits)); n != keys {
		t.Errorf("visit >= %d: %d", visits, n)
	}
	// b:k tracked amount k+1 on each of its 31 visits.
	if n := qcount(t, rc, fmt.Sprintf("visit = %d", 50*visits)); n != 1 {
		t.Errorf("visit = %d: %d", 50*visits, n)
	}
	if got := get(t, rc, "b:0"); !reflect.DeepEqual(got["visit"], map[string]int64{"*": visits, "page0": 11, "page1": 10, "page2": 10}) || got["plan"] != "p0" {
		t.Errorf("b:0: %#v", got)
	}
}

func TestMissingKeyColumnIsFatal(t *testing.T) {
	addr, rc := startServer(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "c.csv")
	if err := os.WriteFile(path, []byte("id,country\n1,PT\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := RunCLI([]string{path, "--addr", addr, "--quiet"}, nil, nil, &out, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), `no "key" column`) {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
	if n := qcount(t, rc, "ALL"); n != 0 {
		t.Errorf("%d entities written", n)
	}
	// Unreadable file, nothing listening: fatal too.
	if code := RunCLI([]string{filepath.Join(dir, "nope.csv"), "--addr", addr}, nil, nil, &out, &errOut); code != 2 {
		t.Errorf("missing file: exit %d", code)
	}
	errOut.Reset()
	code = RunCLI([]string{path, "--quiet"}, []string{"SEGD_ADDR=127.0.0.1:1"}, nil, &out, &errOut)
	if code != 2 {
		t.Errorf("no server: exit %d, %s", code, errOut.String())
	}
	if err := os.WriteFile(path, []byte("key,country\n1,PT\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	errOut.Reset()
	code = RunCLI([]string{path, "--quiet", "--addr", "127.0.0.1:1"}, nil, nil, &out, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), "cannot connect") {
		t.Errorf("no server: exit %d, %s", code, errOut.String())
	}
}

func TestStdinAndCLI(t *testing.T) {
	addr, rc := startServer(t)
	var out, errOut bytes.Buffer
	env := []string{"SEGD_ADDR=" + addr}
	code := RunCLI([]string{"-", "--quiet"}, env, strings.NewReader("key,plan\ns1,pro\ns2,free\n"), &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), "rows read         2") || !strings.Contains(out.String(), "entities written  2") {
		t.Errorf("csv on stdin: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	out.Reset()
	code = RunCLI([]string{"--quiet", "-"}, env, strings.NewReader(`{"key":"s3","plan":"pro"}`+"\n"+`{"key":"s4","plan":1.5}`), &out, &errOut)
	if code != 1 || !strings.Contains(out.String(), "(ndjson,") || !strings.Contains(out.String(), "line 2: plan: 1.5 is not an integer") {
		t.Errorf("ndjson on stdin: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if n := qcount(t, rc, "plan:pro"); n != 2 {
		t.Errorf("plan:pro = %d", n)
	}

	// 30 bad rows: 20 in the summary, all in --errors-file; --max-errors stops.
	var b strings.Builder
	b.WriteString("key,n\n")
	for i := range 40 {
		if i%4 == 0 {
			fmt.Fprintf(&b, "e%d,1,extra\n", i)
		} else {
			fmt.Fprintf(&b, ",%d\n", i)
		}
	}
	errFile := filepath.Join(t.TempDir(), "errors.txt")
	out.Reset()
	code = RunCLI([]string{"-", "--errors-file", errFile}, env, strings.NewReader(b.String()), &out, &errOut)
	data, _ := os.ReadFile(errFile)
	if code != 1 || strings.Count(string(data), "\n") != 40 || strings.Count(out.String(), "  line ") != 20 ||
		!strings.Contains(out.String(), "  line 2: 3 cells, the header has 2 columns") || !strings.Contains(out.String(), "and 20 more, all of them in") {
		t.Errorf("exit %d\n%s\nerrors file:\n%s", code, out.String(), data)
	}
	out.Reset()
	errOut.Reset()
	code = RunCLI([]string{"-", "--max-errors", "5", "--quiet"}, env, strings.NewReader(b.String()), &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "stopped after 5 bad rows") {
		t.Errorf("--max-errors: exit %d\n%s%s", code, out.String(), errOut.String())
	}

	// A progress display that is not a terminal: plain lines, and the
	// summary on stdout either way.
	code = RunCLI([]string{"-", "--format", "jsonl"}, env, strings.NewReader(`{"key":"s5","plan":"pro"}`), &out, &errOut)
	if code != 0 {
		t.Errorf("exit %d: %s", code, errOut.String())
	}
}

// gen writes n CSV rows into w, then waits for ready before closing: the
// import must have written most of them before it ever sees the end.
func genCSV(w *io.PipeWriter, n int, ready func() bool) {
	bw := &bytes.Buffer{}
	bw.WriteString("key,country,age,interests[]\n")
	countries := []string{"PT", "ES", "FR", "DE", "IT"}
	for i := range n {
		fmt.Fprintf(bw, "c:%d,%s,%d,t%d;t%d\n", i, countries[i%5], i%90, i%7, i%3)
		if bw.Len() > 32<<10 {
			if _, err := w.Write(bw.Bytes()); err != nil {
				return
			}
			bw.Reset()
		}
	}
	if _, err := w.Write(bw.Bytes()); err != nil {
		return
	}
	deadline := time.Now().Add(10 * time.Second)
	for !ready() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	w.Close()
}

func TestStreaming50k(t *testing.T) {
	addr, rc := startServer(t)
	const n = 50_000
	pr, pw := io.Pipe()
	streamed := false
	go genCSV(pw, n, func() bool {
		// Everything but what sits in the read buffer and the batches
		// being filled must be in the server before the input ends.
		c, _ := rc.Do(context.Background(), "ENT.COUNT").Int64()
		streamed = c >= n-12_000
		return streamed
	})
	sum, err := Import(context.Background(), Options{Addr: addr, Format: "csv"}, pr, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !streamed {
		t.Error("the import did not write rows before the end of its input")
	}
	if sum.Rows != n || sum.Entities != n || sum.Bad != 0 || sum.Commands != 2*n {
		t.Errorf("summary %+v", sum)
	}
	if c := qcount(t, rc, "ALL"); c != n {
		t.Errorf("ALL = %d", c)
	}
	if c := qcount(t, rc, "country:PT"); c != n/5 {
		t.Errorf("country:PT = %d", c)
	}
	if c := qcount(t, rc, "interests:t0"); c != (n+6)/7+(n+2)/3-(n+20)/21 {
		t.Errorf("interests:t0 = %d", c)
	}
}

func TestInteger(t *testing.T) {
	for in, want := range map[string]string{"31": "31", "-3": "-3", "31.0": "31", "3.1e1": "31", "1e3": "1000",
		"31.5": "31.5 is not an integer", "1e30": "1e30 does not fit in 64 bits", "9223372036854775807": "9223372036854775807"} {
		got, err := integer(jsonNumber(in))
		if err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("integer(%s) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkImportCSV imports 100k CSV rows (ENT.SET of three fields and one
// ENT.ADD each) into an in-process server.
func BenchmarkImportCSV(b *testing.B) {
	addr, _ := startServer(b)
	var buf bytes.Buffer
	buf.WriteString("key,country,age,plan,interests[]\n")
	for i := range 100_000 {
		fmt.Fprintf(&buf, "b:%d,C%d,%d,p%d,t%d;t%d\n", i, i%50, i%90, i%4, i%7, i%11)
	}
	b.SetBytes(int64(buf.Len()))
	b.ResetTimer()
	for range b.N {
		sum, err := Import(context.Background(), Options{Addr: addr}, bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil || sum.Entities != 100_000 {
			b.Fatal(sum, err)
		}
		b.ReportMetric(float64(sum.Rows)/sum.Took.Seconds(), "rows/s")
	}
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }

func jsonNumber(s string) json.Number { return json.Number(s) }

// A server with a password: without it, or with a wrong one, the import is
// fatal (exit 2) before a row is read, with one line naming the fix; with it
// every row goes in.
func TestCLIPassword(t *testing.T) {
	srv := testserver.Start(t, func(c *server.Config) { c.InMemory, c.Password = true, "s3cret" })
	path := filepath.Join(t.TempDir(), "people.csv")
	if err := os.WriteFile(path, []byte("key,country\nu:1,PT\nu:2,ES\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "needs a password: give --password or set SEGD_PASSWORD"},
		{[]string{"--password", "wrong"}, "refused the password"},
	} {
		var out, errOut bytes.Buffer
		code := RunCLI(append([]string{path, "--addr", srv.Addr()}, c.args...), nil, nil, &out, &errOut)
		lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
		if code != 2 || len(lines) != 1 || !strings.Contains(lines[0], c.want) || out.Len() != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", c.args, code, out.String(), errOut.String(), c.want)
		}
	}
	var out, errOut bytes.Buffer
	if code := RunCLI([]string{path, "--addr", srv.Addr(), "--password", "s3cret", "--quiet"}, nil, nil, &out, &errOut); code != 0 {
		t.Fatalf("with the password: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "entities written  2") {
		t.Errorf("summary:\n%s", out.String())
	}
}

// --tls-ca connects to a server that serves TLS; without it the import is
// fatal before a row is read.
func TestCLITLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := testenv.SelfSigned(t, dir)
	srv := testserver.Start(t, func(c *server.Config) {
		c.InMemory, c.TLSCert, c.TLSKey = true, certFile, keyFile
	})
	path := filepath.Join(dir, "people.csv")
	if err := os.WriteFile(path, []byte("key,country\nu:1,PT\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := RunCLI([]string{path, "--addr", srv.Addr(), "--tls-ca", certFile, "--quiet"}, nil, nil, &out, &errOut); code != 0 {
		t.Fatalf("with --tls-ca: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "entities written  1") {
		t.Errorf("summary:\n%s", out.String())
	}
	errOut.Reset()
	if code := RunCLI([]string{path, "--addr", srv.Addr(), "--quiet"}, nil, nil, &out, &errOut); code != 2 {
		t.Errorf("plain TCP to a TLS server: exit %d: %s", code, errOut.String())
	}
}
