package explorer

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"segd/index"
)

// testTimeout bounds every wait of these tests.
const testTimeout = 10 * time.Second

// rig is an explorer over an engine with a small population, and a Write
// that stands in for the server's committer: it applies the mutation and
// publishes the changes it caused, as the committer does.
type rig struct {
	t      *testing.T
	eng    *index.Engine
	x      *Explorer
	srv    *httptest.Server
	mu     sync.Mutex
	writes []index.Op
	now    atomic.Int64 // the engine's clock, Unix seconds
}

func newRig(t *testing.T, mutate func(*Options)) *rig {
	t.Helper()
	r := &rig{t: t, eng: index.New()}
	r.now.Store(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC).Unix())
	r.eng.SetClock(func() time.Time { return time.Unix(r.now.Load(), 0) })
	r.eng.KeepChanges(true)
	countries := []string{"PT", "ES", "FR"}
	for i := 0; i < 300; i++ {
		key := "u:" + strconv.Itoa(i)
		tier := "bronze"
		if i%4 == 0 {
			tier = "gold"
		}
		r.apply(&index.Mutation{Op: index.OpSet, Key: key, Pairs: []index.Pair{
			{Field: "country", Value: countries[i%3]}, {Field: "age", Value: strconv.Itoa(18 + i%60)}, {Field: "tier", Value: tier}}})
		r.apply(&index.Mutation{Op: index.OpAdd, Key: key, Field: "interests", Values: []string{"i" + strconv.Itoa(i%5), "i" + strconv.Itoa(i%7)}})
	}
	r.apply(&index.Mutation{Op: index.OpSegmentCreate, Key: "gold", Values: []string{"tier:gold"}})
	r.apply(&index.Mutation{Op: index.OpSegmentCreate, Key: "pt", Values: []string{"country:PT"}})
	r.eng.DrainChanges()
	opts := Options{Engine: r.eng, Write: r.write, Version: "test"}
	if mutate != nil {
		mutate(&opts)
	}
	r.x = New(opts)
	r.srv = httptest.NewServer(r.x)
	t.Cleanup(func() {
		r.x.Close()
		r.srv.Close()
	})
	return r
}

func (r *rig) apply(m *index.Mutation) {
	r.t.Helper()
	if _, err := r.eng.Apply(m); err != nil {
		r.t.Fatalf("apply %v: %v", m.Op, err)
	}
}

// write is the rig's committer: one writer at a time, changes published
// in commit order.
func (r *rig) write(m *index.Mutation) (index.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, m.Op)
	res, err := r.eng.Apply(m)
	r.x.Publish(r.eng.DrainChanges())
	return res, err
}

func (r *rig) ops() []index.Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]index.Op(nil), r.writes...)
}

// get fetches path and decodes the JSON answer into v (when not nil),
// returning the status.
func (r *rig) get(path string, v any) int {
	r.t.Helper()
	return r.do(http.MethodGet, path, nil, nil, v)
}

func (r *rig) do(method, path string, body any, hdr http.Header, v any) int {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, r.srv.URL+path, rd)
	if err != nil {
		r.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	resp, err := r.srv.Client().Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			r.t.Fatalf("%s %s: answer is not JSON (%v): %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

func q(s string) string { return url.QueryEscape(s) }

func TestCountMatchesEngine(t *testing.T) {
	r := newRig(t, nil)
	for _, expr := range []string{"country:PT", "country:PT AND age >= 40", "interests:i1 OR tier:gold", "NOT @gold AND interests:(i2,i3)"} {
		want, err := r.eng.Count(expr, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Count  uint64
			Micros float64
		}
		if st := r.get("/api/query/count?expr="+q(expr), &got); st != 200 {
			t.Fatalf("count %q: status %d", expr, st)
		}
		if got.Count != want || want == 0 {
			t.Errorf("count %q = %d, engine says %d", expr, got.Count, want)
		}
	}
}

func TestSyntaxErrorCarriesPosition(t *testing.T) {
	r := newRig(t, nil)
	var e apiError
	if st := r.get("/api/query/count?expr="+q("country:PT AND age >="), &e); st != 400 {
		t.Fatalf("status %d, want 400", st)
	}
	if e.Code != "ERR" || e.Pos != 22 || !strings.HasPrefix(e.Error, "ERR syntax error at 22: ") {
		t.Errorf("error = %+v, want ERR syntax error at 22 (the end of input)", e)
	}
	// Positions count characters, not bytes.
	if st := r.get("/api/query/count?expr="+q(`city:"Zürich" AND (`), &e); st != 400 || e.Pos != 20 {
		t.Errorf("after a non-ASCII value: status %d, position %d, want 400 at 20 (%s)", st, e.Pos, e.Error)
	}
	if st := r.get("/api/query/count", &e); st != 400 || !strings.Contains(e.Message, "expr parameter is missing") {
		t.Errorf("no expression: %d %+v", st, e)
	}
}

func TestUnknownNamesAre404(t *testing.T) {
	r := newRig(t, nil)
	var e apiError
	for _, p := range []string{"/api/segments/nope", "/api/segments/nope/profile", "/api/fields/nope", "/api/overlap?name=gold&name=nope"} {
		if st := r.get(p, &e); st != 404 || !strings.Contains(e.Message, "unknown") {
			t.Errorf("%s: %d %+v, want 404 unknown …", p, st, e)
		}
	}
	if st := r.get("/api/nothing", &e); st != 404 || !strings.Contains(e.Message, "docs/explorer.md") {
		t.Errorf("unknown route: %d %+v", st, e)
	}
	if st := r.get("/api/query/groupby?field=age", &e); st != 400 || e.Code != "WRONGTYPE" {
		t.Errorf("GROUPBY of an INT: %d %+v, want 400 WRONGTYPE", st, e)
	}
}

func TestFieldsWithTopValuesAndHistogram(t *testing.T) {
	r := newRig(t, nil)
	var got struct {
		Entities uint64
		Fields   []struct {
			Name, Kind string
			Values     *int
			Entities   uint64
			Bytes      uint64
			Top        []valueJSON
			Histogram  []bucketJSON
		}
	}
	if st := r.get("/api/fields?top=2", &got); st != 200 {
		t.Fatalf("status %d", st)
	}
	if got.Entities != 300 || len(got.Fields) != 4 {
		t.Fatalf("entities %d, %d fields; want 300 and 4", got.Entities, len(got.Fields))
	}
	for _, f := range got.Fields {
		switch f.Name {
		case "age":
			if f.Kind != "INT" || f.Values != nil || len(f.Histogram) == 0 {
				t.Errorf("age: %+v", f)
			}
			var sum uint64
			for _, b := range f.Histogram {
				n, _ := r.eng.Count("age:"+b.Value, time.Time{})
				if n != b.Entities {
					t.Errorf("age bucket %s: %d, engine says %d", b.Value, b.Entities, n)
				}
				sum += b.Entities
			}
			if sum != 300 {
				t.Errorf("age histogram holds %d entities, want 300", sum)
			}
		case "country":
			want, _ := r.eng.FieldValues("country", 2)
			if f.Kind != "ENUM" || *f.Values != 3 || !reflect.DeepEqual(f.Top, valuesJSON(want)) {
				t.Errorf("country: %+v, want top %v", f, want)
			}
		}
	}
}

func TestHistogramExtremes(t *testing.T) {
	r := newRig(t, nil)
	r.apply(&index.Mutation{Op: index.OpSet, Key: "lo", Pairs: []index.Pair{{Field: "big", Value: "-9223372036854775808"}}})
	r.apply(&index.Mutation{Op: index.OpSet, Key: "hi", Pairs: []index.Pair{{Field: "big", Value: "9223372036854775807"}}})
	h, err := r.x.intHistogram("big", 10)
	if err != nil {
		t.Fatal(err)
	}
	var sum uint64
	for _, b := range h {
		sum += b.Entities
	}
	if sum != 2 || len(h) > 12 {
		t.Errorf("histogram over the whole int64 range: %d buckets, %d entities: %+v", len(h), sum, h)
	}
}

func TestSaveSegmentGoesThroughWrite(t *testing.T) {
	r := newRig(t, nil)
	var got struct {
		Name        string
		Cardinality int64
	}
	body := map[string]any{"name": "pt40", "expr": "country:PT AND age >= 40"}
	if st := r.do("POST", "/api/segments", body, nil, &got); st != 200 {
		t.Fatalf("status %d", st)
	}
	want, _ := r.eng.Count("country:PT AND age >= 40", time.Time{})
	if got.Name != "pt40" || uint64(got.Cardinality) != want {
		t.Errorf("saved %+v, want pt40 with %d", got, want)
	}
	if ops := r.ops(); len(ops) != 1 || ops[0] != index.OpSegmentCreate {
		t.Errorf("writes %v, want one OpSegmentCreate through Write", ops)
	}
	var e apiError
	if st := r.do("POST", "/api/segments", body, nil, &e); st != 400 || !strings.Contains(e.Message, "REPLACE") {
		t.Errorf("saving again: %d %+v, want 400 naming REPLACE", st, e)
	}
	body["replace"] = true
	body["expr"] = "country:PT"
	if st := r.do("POST", "/api/segments", body, nil, &got); st != 200 || got.Cardinality != 100 {
		t.Errorf("replace: %d %+v", st, got)
	}
	if st := r.do("POST", "/api/segments", map[string]any{"name": "x", "expr": "country:"}, nil, &e); st != 400 || e.Pos != 9 {
		t.Errorf("saving a bad expression: %d %+v", st, e)
	}
	var dropped struct{ Dropped int }
	if st := r.do("DELETE", "/api/segments/pt40", nil, nil, &dropped); st != 200 || dropped.Dropped != 1 {
		t.Errorf("drop: %d %+v", st, dropped)
	}
}

func TestReadOnlyWithoutWrite(t *testing.T) {
	r := newRig(t, func(o *Options) { o.Write = nil })
	var e apiError
	if st := r.do("POST", "/api/segments", map[string]any{"name": "a", "expr": "ALL"}, nil, &e); st != 405 || !strings.Contains(e.Message, "read-only") {
		t.Errorf("%d %+v", st, e)
	}
	var info map[string]any
	r.get("/api/info", &info)
	if info["writable"] != false {
		t.Errorf("info %v, want writable false", info)
	}
}

func TestLimits(t *testing.T) {
	r := newRig(t, func(o *Options) { o.MaxExpr, o.MaxPage = 32, 50 })
	var e apiError
	if st := r.get("/api/query/count?expr="+q(strings.Repeat("country:PT OR ", 5)+"ALL"), &e); st != 400 || !strings.Contains(e.Message, "--max-expr-bytes") {
		t.Errorf("long expression: %d %+v", st, e)
	}
	if st := r.get("/api/query/members?expr=ALL&count=51", &e); st != 400 || !strings.Contains(e.Message, "--max-page") {
		t.Errorf("large page: %d %+v", st, e)
	}
	if st := r.get("/api/query/members?expr=ALL&count=0", &e); st != 400 {
		t.Errorf("count 0: %d %+v", st, e)
	}
	if st := r.do("POST", "/api/segments", map[string]any{"name": "a", "expr": strings.Repeat("x", 33)}, nil, &e); st != 400 || !strings.Contains(e.Message, "--max-expr-bytes") {
		t.Errorf("saving a long expression: %d %+v", st, e)
	}
}

func TestQueriesMirrorTheEngine(t *testing.T) {
	r := newRig(t, nil)
	var members struct {
		Cursor string
		Keys   []string
	}
	var all []string
	cursor := "0"
	for {
		r.get("/api/query/members?expr="+q("tier:gold")+"&count=20&cursor="+cursor, &members)
		all = append(all, members.Keys...)
		if cursor = members.Cursor; cursor == "0" {
			break
		}
	}
	if len(all) != 75 {
		t.Errorf("paged %d gold members, want 75", len(all))
	}
	var gb struct{ Values []valueJSON }
	r.get("/api/query/groupby?field=country&where="+q("tier:gold"), &gb)
	want, _ := r.eng.GroupBy("country", "tier:gold", 0, time.Time{})
	if !reflect.DeepEqual(gb.Values, valuesJSON(want)) {
		t.Errorf("groupby %v, want %v", gb.Values, want)
	}
	var ov struct {
		Names  []string
		Matrix [][]uint64
	}
	r.get("/api/overlap?name=gold&name=pt", &ov)
	wantOv, _ := r.eng.SegmentOverlap([]string{"gold", "pt"})
	if !reflect.DeepEqual(ov.Matrix, wantOv) || !reflect.DeepEqual(ov.Names, []string{"gold", "pt"}) {
		t.Errorf("overlap %+v, want %v", ov, wantOv)
	}
	// others=n: with the first n other segments, as the page asks first.
	r.get("/api/overlap?name=pt&others=3", &ov)
	if wantOv, _ := r.eng.SegmentOverlap([]string{"pt", "gold"}); !reflect.DeepEqual(ov.Names, []string{"pt", "gold"}) || !reflect.DeepEqual(ov.Matrix, wantOv) {
		t.Errorf("overlap with others %+v, want pt, gold: %v", ov, wantOv)
	}
	var prof struct{ Profile []profileJSON }
	r.get("/api/segments/gold/profile?limit=3", &prof)
	wantProf, _ := r.eng.Profile("gold", 3, nil)
	if len(prof.Profile) != len(wantProf) || len(wantProf) == 0 || prof.Profile[0].Field != wantProf[0].Field || prof.Profile[0].Value != wantProf[0].Value {
		t.Errorf("profile %+v, want %+v", prof.Profile, wantProf)
	}
	var look struct{ Lookalikes []scoredJSON }
	r.get("/api/segments/gold/lookalike?count=5", &look)
	wantLook, _ := r.eng.Lookalike("gold", 5, "")
	if len(look.Lookalikes) != len(wantLook) || (len(wantLook) > 0 && look.Lookalikes[0].Key != wantLook[0].Key) {
		t.Errorf("lookalike %+v, want %+v", look.Lookalikes, wantLook)
	}
	var sample struct{ Keys []string }
	r.get("/api/segments/gold/sample?count=5&seed=3", &sample)
	wantSample, _ := r.eng.SegmentSample("gold", 5, 3)
	if !reflect.DeepEqual(sample.Keys, wantSample) {
		t.Errorf("sample %v, want %v", sample.Keys, wantSample)
	}
	var stats map[string]any
	r.get("/api/query/stats?measure=age&where="+q("tier:gold"), &stats)
	if stats["count"] != float64(75) {
		t.Errorf("stats %v", stats)
	}
	var top struct{ Entities []rankedJSON }
	r.get("/api/query/top?k=2&measure=age", &top)
	if len(top.Entities) != 2 || top.Entities[0].Value != 77 {
		t.Errorf("top %+v", top)
	}
	var ex struct{ Plan explainJSON }
	r.get("/api/query/explain?expr="+q("tier:gold AND country:PT"), &ex)
	if ex.Plan.Cardinality != 25 || len(ex.Plan.Children) != 2 {
		t.Errorf("explain %+v", ex.Plan)
	}
}

func TestSegmentsListWithHistory(t *testing.T) {
	r := newRig(t, nil)
	for i := 0; i < 5; i++ {
		r.now.Add(3600)
		r.write(&index.Mutation{Op: index.OpSet, Key: "n:" + strconv.Itoa(i), Pairs: []index.Pair{{Field: "tier", Value: "gold"}}})
	}
	var got struct{ Segments []segmentJSON }
	r.get("/api/segments?history=3", &got)
	if len(got.Segments) != 2 || got.Segments[0].Name != "gold" || got.Segments[0].Cardinality != 80 || got.Segments[0].Version != 5 {
		t.Fatalf("segments %+v", got.Segments)
	}
	h := got.Segments[0].History
	if len(h) == 0 || len(h) > 4 || h[len(h)-1][1] != 80 {
		t.Errorf("thinned history %v: want at most 4 points ending at 80", h)
	}
	var full struct{ History [][2]int64 }
	r.get("/api/segments/gold/history", &full)
	want, _ := r.eng.SegmentHistory("gold", time.Time{})
	if !reflect.DeepEqual(full.History, historyJSON(want)) || len(want) != 6 {
		t.Errorf("history %v, want %v", full.History, want)
	}
	var ch struct {
		Version uint64
		Changes []changeJSON
	}
	r.get("/api/segments/gold/changes?since=3", &ch)
	if ch.Version != 5 || len(ch.Changes) != 2 || ch.Changes[0].Key != "n:3" || ch.Changes[0].Change != "enter" {
		t.Errorf("changes %+v", ch)
	}
}

func TestEntity(t *testing.T) {
	r := newRig(t, nil)
	r.apply(&index.Mutation{Op: index.OpTrack, Key: "u:0", Field: "purchase", Values: []string{"shoes"}, Amount: 2})
	var got struct {
		Key      string
		Found    bool
		Fields   []entityField
		Segments []string
	}
	r.get("/api/entity?key=u:0", &got)
	if !got.Found || !reflect.DeepEqual(got.Segments, []string{"gold", "pt"}) || len(got.Fields) != 5 {
		t.Fatalf("entity %+v", got)
	}
	byField := map[string]any{}
	for _, f := range got.Fields {
		byField[f.Field] = f.Value
	}
	if byField["country"] != "PT" || byField["age"] != float64(18) || !reflect.DeepEqual(byField["interests"], []any{"i0"}) {
		t.Errorf("fields %v", byField)
	}
	if !reflect.DeepEqual(byField["purchase"], []any{map[string]any{"value": "*", "amount": float64(2)}, map[string]any{"value": "shoes", "amount": float64(2)}}) {
		t.Errorf("purchase %v", byField["purchase"])
	}
	r.get("/api/entity?key=nobody", &got)
	if got.Found || len(got.Segments) != 0 || len(got.Fields) != 0 {
		t.Errorf("unknown key %+v", got)
	}
}

func TestPasswordIsAsked(t *testing.T) {
	r := newRig(t, func(o *Options) { o.Password = "s3cret" })
	var e apiError
	if st := r.get("/api/info", &e); st != 401 || e.Code != "NOAUTH" {
		t.Fatalf("without the password: %d %+v", st, e)
	}
	// The page itself loads (it shows the login form), and so do its assets.
	if st := r.do("GET", "/", nil, nil, nil); st != 200 {
		t.Errorf("page: %d", st)
	}
	if st := r.do("POST", "/api/login", map[string]string{"password": "wrong"}, nil, &e); st != 401 || e.Code != "WRONGPASS" {
		t.Errorf("wrong password: %d %+v", st, e)
	}
	// Log in: the cookie opens the API.
	b, _ := json.Marshal(map[string]string{"password": "s3cret"})
	resp, err := http.Post(r.srv.URL+"/api/login", "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			cookie = c
		}
	}
	if resp.StatusCode != 200 || cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("login: %d, cookie %+v", resp.StatusCode, cookie)
	}
	if st := r.do("GET", "/api/info", nil, http.Header{"Cookie": {cookie.Name + "=" + cookie.Value}}, nil); st != 200 {
		t.Errorf("with the session cookie: %d", st)
	}
	forged := cookie.Value[:len(cookie.Value)-2] + "xx"
	if st := r.do("GET", "/api/info", nil, http.Header{"Cookie": {cookie.Name + "=" + forged}}, nil); st != 401 {
		t.Errorf("with a forged cookie: %d", st)
	}
	if r.x.auth.tokenOK(cookie.Value, time.Now().Add(sessionTTL+time.Minute)) {
		t.Error("a session token is accepted after it expired")
	}
	// Scripts use Basic auth.
	req, _ := http.NewRequest("GET", r.srv.URL+"/api/info", nil)
	req.SetBasicAuth("", "s3cret")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("Basic auth: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	req.SetBasicAuth("default", "nope")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Errorf("Basic auth with a wrong password: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	// A session from another password (another process key) is refused.
	other := newAuthenticator("s3cret")
	if st := r.do("GET", "/api/info", nil, http.Header{"Cookie": {cookie.Name + "=" + other.token(time.Now())}}, nil); st != 401 {
		t.Errorf("a token signed by another process: %d", st)
	}
}

func TestHostAndOriginChecks(t *testing.T) {
	r := newRig(t, nil)
	var e apiError
	req, _ := http.NewRequest("GET", r.srv.URL+"/api/info", nil)
	req.Host = "evil.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("a host name without a password: %d, want 403", resp.StatusCode)
	}
	req.Host = "localhost:1234"
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("localhost: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	// With a password, host names are fine (the password protects).
	rp := newRig(t, func(o *Options) { o.Password = "pw" })
	req, _ = http.NewRequest("GET", rp.srv.URL+"/api/info", nil)
	req.Host = "segd.internal"
	req.SetBasicAuth("", "pw")
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("host name with a password: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	// Writes from another origin are refused; a form post is not JSON.
	body := map[string]any{"name": "x", "expr": "ALL"}
	if st := r.do("POST", "/api/segments", body, http.Header{"Origin": {"http://evil.example"}}, &e); st != 403 || !strings.Contains(e.Message, "cross-origin") {
		t.Errorf("cross-origin POST: %d %+v", st, e)
	}
	if st := r.do("POST", "/api/segments", body, http.Header{"Origin": {r.srv.URL}}, &e); st != 200 {
		t.Errorf("same-origin POST: %d %+v", st, e)
	}
	req, _ = http.NewRequest("POST", r.srv.URL+"/api/segments", strings.NewReader("name=x&expr=ALL"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != 415 {
		t.Errorf("form POST: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
}

func TestNotReadyAnswers503(t *testing.T) {
	var loading atomic.Bool
	loading.Store(true)
	r := newRig(t, func(o *Options) {
		o.Ready = func() error {
			if loading.Load() {
				return errors.New("LOADING segd is loading the data set in memory")
			}
			return nil
		}
	})
	var e apiError
	if st := r.get("/api/info", &e); st != 503 || e.Code != "LOADING" || e.Message != "segd is loading the data set in memory" {
		t.Errorf("loading: %d %+v", st, e)
	}
	loading.Store(false)
	if st := r.get("/api/info", nil); st != 200 {
		t.Errorf("loaded: %d", st)
	}
}

func TestDueRefreshGoesThroughWrite(t *testing.T) {
	r := newRig(t, nil)
	r.write(&index.Mutation{Op: index.OpTrack, Key: "u:1", Field: "cart_add"})
	r.write(&index.Mutation{Op: index.OpSegmentCreate, Key: "carts", Values: []string{"cart_add IN 1d"}})
	before := len(r.ops())
	r.now.Add(86400) // the next day: the cart ages out
	var info segmentJSON
	r.get("/api/segments/carts", &info)
	ops := r.ops()
	if len(ops) != before+1 || ops[before] != index.OpTick {
		t.Errorf("writes after a read past the boundary: %v, want one OpTick first", ops[before:])
	}
	if info.Cardinality != 0 || info.Version != 1 {
		t.Errorf("segment after the refresh: %+v", info)
	}
}

func TestAssets(t *testing.T) {
	r := newRig(t, nil)
	resp, err := http.Get(r.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `<main id="view"`) ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") || resp.Header.Get("ETag") == "" {
		t.Fatalf("page: %d %v", resp.StatusCode, resp.Header)
	}
	// boot.js is written into the page, allowed by its hash alone.
	boot, _ := webFS.ReadFile("web/boot.js")
	sum := sha256.Sum256(boot)
	if !strings.Contains(string(body), "<script>"+string(boot)+"</script>") ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self' 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"';") ||
		strings.Contains(resp.Header.Get("Content-Security-Policy"), "unsafe-inline") {
		t.Errorf("boot.js in the page and its hash in the policy: %s", resp.Header.Get("Content-Security-Policy"))
	}
	// The page names its assets under this build's version, kept for good.
	ref := "/assets/" + r.x.assetVersion + "/" + bundleName
	if !strings.Contains(string(body), `"`+ref+`"`) || strings.Contains(string(body), `"/assets/`+bundleName+`"`) {
		t.Errorf("the page does not name its assets under the version %s", r.x.assetVersion)
	}
	if css := "/assets/" + r.x.assetVersion + "/" + styleName; !strings.Contains(string(body), `"`+css+`"`) {
		t.Errorf("the page does not load its joined style sheet %s", css)
	}
	if resp, err := http.Get(r.srv.URL + ref); err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("%s: %v %v", ref, resp.Header, err)
	} else {
		resp.Body.Close()
	}
	if resp, err := http.Get(r.srv.URL + "/assets/0123456789ab/app.js"); err != nil || resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("another version's asset: %v %v", resp.Header, err)
	} else {
		resp.Body.Close()
	}
	req, _ := http.NewRequest("GET", r.srv.URL+"/", nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 304 {
		t.Errorf("revalidation: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	// Every asset the page names is served, gzipped when asked.
	for _, name := range []string{bundleName, styleName, "app.js", "lib.js", "charts.js", "fields.js", "builder.js", "segments.js", "segment.js", "customer.js", "style.css", "uPlot.iife.min.js", "uPlot.min.css", "favicon.svg"} {
		req, _ := http.NewRequest("GET", r.srv.URL+"/assets/"+name, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		tr := &http.Transport{DisableCompression: true}
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var rd io.Reader = resp.Body
		if resp.Header.Get("Content-Encoding") == "gzip" {
			if rd, err = gzip.NewReader(resp.Body); err != nil {
				t.Fatal(err)
			}
		}
		b, _ := io.ReadAll(rd)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(b) == 0 || !reflect.DeepEqual(b, r.x.assets[name].body) {
			t.Errorf("%s: %d, %d bytes", name, resp.StatusCode, len(b))
		}
		if strings.HasSuffix(name, ".js") && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
			t.Errorf("%s: content type %q", name, resp.Header.Get("Content-Type"))
		}
	}
	if st := r.do("GET", "/assets/nope.js", nil, nil, nil); st != 404 {
		t.Errorf("unknown asset: %d", st)
	}
	if st := r.do("GET", "/elsewhere", nil, nil, nil); st != 404 {
		t.Errorf("unknown page: %d", st)
	}
}

// The page's scripts are one file that starts with uPlot, run on first use
// (window.segdUPlot) with its start's Intl objects made lazily, and the
// page's style sheet is its own followed by uPlot's.
func TestBundledLibrary(t *testing.T) {
	a, _ := loadAssets()
	js := string(a[bundleName].body)
	lib := strings.TrimRight(string(a[bundleLib].body), "\n")
	if !strings.HasPrefix(js, compileHint) {
		t.Errorf("the bundle does not start with the compile hint: %.60q", js)
	}
	i, j := strings.Index(js, lib), strings.Index(js, "__m[\"lib.js\"]")
	if i < 0 || j < i || !strings.Contains(js[:i], "window.segdUPlot = () => {\n"+libIntl) || !strings.Contains(js[i:j], "window.segdUPlot = () => uPlot;") {
		t.Errorf("the bundle does not wrap uPlot before the modules (at %d, modules at %d)", i, j)
	}
	css := string(a[styleName].body)
	own, chart := strings.Index(css, string(a["style.css"].body)), strings.Index(css, strings.TrimRight(string(a["uPlot.min.css"].body), "\n"))
	if own < 0 || chart < own {
		t.Errorf("the joined style sheet: style.css at %d, uPlot.min.css at %d", own, chart)
	}
	for _, b := range []string{"uPlot.iife.min.js", "uPlot.min.css", "style.css"} {
		if strings.Contains(string(a["index.html"].body), b) {
			t.Errorf("the page names %s, which the bundles hold", b)
		}
	}
}

// sse reads server-sent events.
type sse struct {
	t    *testing.T
	body io.ReadCloser
	rd   *bufio.Reader
}

type sseEvent struct{ name, id, data string }

func openFeed(t *testing.T, r *rig, path string, hdr http.Header) *sse {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", r.srv.URL+path, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		cancel()
		t.Fatalf("feed %s: %d %s", path, resp.StatusCode, b)
	}
	t.Cleanup(func() {
		cancel()
		resp.Body.Close()
	})
	return &sse{t: t, body: resp.Body, rd: bufio.NewReader(resp.Body)}
}

// next reads the next event (comments skipped), failing after testTimeout.
func (s *sse) next() sseEvent {
	s.t.Helper()
	type res struct {
		ev  sseEvent
		err error
	}
	ch := make(chan res, 1)
	go func() {
		var ev sseEvent
		for {
			line, err := s.rd.ReadString('\n')
			if err != nil {
				ch <- res{err: err}
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case line == "":
				if ev.data != "" || ev.name != "" {
					ch <- res{ev: ev}
					return
				}
			case strings.HasPrefix(line, ":"):
			case strings.HasPrefix(line, "event: "):
				ev.name = line[7:]
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			s.t.Fatalf("feed ended: %v", r.err)
		}
		return r.ev
	case <-time.After(testTimeout):
		s.t.Fatal("no event within the timeout")
	}
	return sseEvent{}
}

func TestLiveFeed(t *testing.T) {
	r := newRig(t, nil)
	f := openFeed(t, r, "/api/segments/gold/events", nil)
	if ev := f.next(); ev.name != "ready" || ev.data != `{"version":0}` {
		t.Fatalf("first event %+v, want ready at version 0", ev)
	}
	r.write(&index.Mutation{Op: index.OpSet, Key: "new", Pairs: []index.Pair{{Field: "tier", Value: "gold"}}})
	r.write(&index.Mutation{Op: index.OpSet, Key: "u:1", Pairs: []index.Pair{{Field: "country", Value: "ES"}}}) // not a gold change
	r.write(&index.Mutation{Op: index.OpDel, Keys: []string{"u:0"}})
	ev := f.next()
	var c changeEvent
	if err := json.Unmarshal([]byte(ev.data), &c); err != nil || ev.id != "1" || ev.name != "" {
		t.Fatalf("event %+v: %v", ev, err)
	}
	if c != (changeEvent{Segment: "gold", Key: "new", Change: "enter", Version: 1, Time: r.now.Load()}) {
		t.Errorf("change %+v", c)
	}
	ev = f.next()
	json.Unmarshal([]byte(ev.data), &c)
	if c.Key != "u:0" || c.Change != "exit" || c.Version != 2 || ev.id != "2" {
		t.Errorf("second change %+v", c)
	}
	// A browser that reconnects with Last-Event-ID catches up first.
	g := openFeed(t, r, "/api/segments/gold/events", http.Header{"Last-Event-ID": {"1"}})
	if ev := g.next(); ev.id != "2" {
		t.Errorf("catch-up event %+v, want version 2", ev)
	}
	if ev := g.next(); ev.name != "ready" || ev.data != `{"version":2}` {
		t.Errorf("after the catch-up %+v", ev)
	}
	// A version ahead of the segment (dropped and created again) resets.
	h := openFeed(t, r, "/api/segments/gold/events?since=99", nil)
	if ev := h.next(); ev.name != "reset" || !strings.Contains(ev.data, "ahead") {
		t.Errorf("since ahead: %+v", ev)
	}
	// Closing the explorer ends the feeds, saying why.
	r.x.Close()
	if ev := f.next(); ev.name != "dropped" || !strings.Contains(ev.data, "shutting down") {
		t.Errorf("at close: %+v", ev)
	}
}

func TestLiveFeedErrors(t *testing.T) {
	r := newRig(t, func(o *Options) { o.MaxFeeds = 1 })
	var e apiError
	if st := r.get("/api/segments/nope/events", &e); st != 404 {
		t.Errorf("unknown segment: %d %+v", st, e)
	}
	if st := r.get("/api/segments/gold/events?since=x", &e); st != 400 {
		t.Errorf("bad since: %d %+v", st, e)
	}
	f := openFeed(t, r, "/api/segments/gold/events", nil)
	f.next()
	if st := r.get("/api/segments/pt/events", &e); st != 503 || !strings.Contains(e.Message, "too many live feeds") {
		t.Errorf("over MaxFeeds: %d %+v", st, e)
	}
}

// A slow feed is dropped; Publish never waits for it.
func TestSlowFeedIsDropped(t *testing.T) {
	f := newFeed(10, 2)
	slow, _ := f.subscribe("s")
	other, _ := f.subscribe("t")
	changes := make([]index.Change, 5)
	for i := range changes {
		changes[i] = index.Change{Segment: "s", Key: fmt.Sprint(i), Enter: true, Version: uint64(i + 1)}
	}
	done := make(chan struct{})
	go func() {
		f.publish(changes, testLogger())
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(testTimeout):
		t.Fatal("publish blocked on a full feed")
	}
	select {
	case <-slow.gone:
	default:
		t.Fatal("the full feed was not dropped")
	}
	if !strings.Contains(slow.why, "fell more than 2 changes behind") {
		t.Errorf("reason %q", slow.why)
	}
	if f.n.Load() != 1 {
		t.Errorf("%d feeds open, want 1", f.n.Load())
	}
	select {
	case <-other.gone:
		t.Error("a feed of another segment was dropped")
	default:
	}
	f.unsubscribe(slow) // after a drop: a no-op
	f.unsubscribe(other)
	if f.n.Load() != 0 {
		t.Errorf("%d feeds open, want 0", f.n.Load())
	}
}

func testLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestThin(t *testing.T) {
	var h []index.HistoryPoint
	for i := 0; i < 1000; i++ {
		h = append(h, index.HistoryPoint{Time: int64(i * 60), Cardinality: uint64(i)})
	}
	got := thin(h, 50)
	if len(got) > 51 || got[0] != h[0] || got[len(got)-1] != h[len(h)-1] {
		t.Errorf("thin: %d points, first %v last %v", len(got), got[0], got[len(got)-1])
	}
	for i := 1; i < len(got); i++ {
		if got[i].Time <= got[i-1].Time {
			t.Fatalf("not in order at %d", i)
		}
	}
	if short := thin(h[:10], 50); len(short) != 10 {
		t.Errorf("a short history is kept whole, got %d", len(short))
	}
}

// The persona and the lookalikes are kept while the segment is unchanged.
func TestAnalyticsAreKeptWhileTheSegmentIsUnchanged(t *testing.T) {
	r := newRig(t, nil)
	type answer struct {
		Profile []profileJSON
		Cached  bool
		AsOf    int64   `json:"as_of"`
		Version *uint64 `json:"version"`
	}
	var a answer
	r.get("/api/segments/gold/profile?limit=5", &a)
	if a.Cached || len(a.Profile) == 0 || a.AsOf == 0 {
		t.Fatalf("first answer %+v", a)
	}
	if info, _ := r.eng.SegmentInfo("gold"); a.Version == nil || *a.Version != info.Version {
		t.Errorf("answer for version %v, the segment is at %d", a.Version, info.Version)
	}
	r.get("/api/segments/gold/profile?limit=5", &a)
	if !a.Cached {
		t.Error("the same question again was computed again")
	}
	r.get("/api/segments/gold/profile?limit=5&fresh=1", &a)
	if a.Cached {
		t.Error("fresh=1 answered from the cache")
	}
	r.get("/api/segments/gold/profile?limit=6", &a)
	if a.Cached {
		t.Error("another limit answered from the cache")
	}
	// A member enters: the answer is computed again.
	r.write(&index.Mutation{Op: index.OpSet, Key: "n", Pairs: []index.Pair{{Field: "tier", Value: "gold"}, {Field: "country", Value: "PT"}}})
	r.get("/api/segments/gold/profile?limit=5", &a)
	want, _ := r.eng.Profile("gold", 5, nil)
	if a.Cached || a.Profile[0].InSegment != want[0].InSegment {
		t.Errorf("after a change: cached %v, %+v, want %+v", a.Cached, a.Profile[0], want[0])
	}
	// Dropped and made again, with another expression, at version 0 again.
	r.write(&index.Mutation{Op: index.OpSegmentCreate, Key: "pt", Values: []string{"country:PT"}, Replace: true})
	var l struct {
		Lookalikes []scoredJSON
		Cached     bool
	}
	r.get("/api/segments/pt/lookalike?count=3", &l)
	r.get("/api/segments/pt/lookalike?count=3", &l)
	if !l.Cached {
		t.Error("lookalikes asked twice were computed twice")
	}
	r.now.Add(1)
	r.write(&index.Mutation{Op: index.OpSegmentDrop, Key: "pt"})
	r.write(&index.Mutation{Op: index.OpSegmentCreate, Key: "pt", Values: []string{"country:ES"}})
	r.get("/api/segments/pt/lookalike?count=3", &l)
	if l.Cached {
		t.Error("a segment made again under the same name answered from the old one's cache")
	}
}

// A persona or lookalikes asked for again while being computed for the
// same segment state wait for that computation; computations run at most
// a slot at a time each.
func TestAnalyticsComputedOnce(t *testing.T) {
	var c analyticsCache
	info := index.SegmentInfo{Name: "s", Expr: "tier:gold", Version: 3}
	release := make(chan struct{})
	var runs, running, most atomic.Int64
	run := func() (map[string]any, error) {
		runs.Add(1)
		n := running.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		<-release
		running.Add(-1)
		return map[string]any{"profile": []profileJSON{}}, nil
	}
	type result struct {
		body map[string]any
		err  error
	}
	out := make(chan result, 8)
	ask := func(key string, info index.SegmentInfo, fresh bool) {
		go func() {
			b, err := c.compute(key, info, fresh, run, func() (index.SegmentInfo, error) { return info, nil })
			out <- result{b, err}
		}()
	}
	ask("k", info, false)
	deadline := time.Now().Add(testTimeout)
	for runs.Load() == 0 { // the first one computes
		if time.Now().After(deadline) {
			t.Fatal("the first computation did not start")
		}
		time.Sleep(time.Millisecond)
	}
	for i := 0; i < 4; i++ {
		ask("k", info, false) // join it
	}
	for joined := 0; joined < 4; {
		c.mu.Lock()
		joined = c.flights["k"].waiters
		c.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("%d of 4 requests joined the computation", joined)
		}
		time.Sleep(time.Millisecond)
	}
	other := info
	other.Version++
	ask("k", other, false) // another state of the segment: its own computation
	ask("k", info, true)   // fresh: its own
	close(release)
	var first map[string]any
	for i := 0; i < 7; i++ {
		select {
		case r := <-out:
			if r.err != nil || r.body["as_of"] == nil {
				t.Fatalf("answer %v, %v", r.body, r.err)
			}
			if first == nil {
				first = r.body
			}
		case <-time.After(testTimeout):
			t.Fatal("an answer never came")
		}
	}
	if n := runs.Load(); n != 3 {
		t.Errorf("%d computations for 7 requests (5 alike), want 3", n)
	}
	if m, slots := most.Load(), int64(cap(c.slots)); m > slots {
		t.Errorf("%d computations at once, more than the %d slots", m, slots)
	}
	_, kept := c.get("k", info, time.Now())
	_, keptOther := c.get("k", other, time.Now())
	if !kept && !keptOther {
		t.Error("no answer was kept")
	}
}

// Every API answer says in Server-Timing how long the server took.
func TestServerTiming(t *testing.T) {
	r := newRig(t, nil)
	resp, err := http.Get(r.srv.URL + "/api/segments/gold/profile?limit=3")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if st := resp.Header.Get("Server-Timing"); !strings.HasPrefix(st, "app;dur=") {
		t.Errorf("Server-Timing %q", st)
	} else if d, err := strconv.ParseFloat(strings.TrimPrefix(st, "app;dur="), 64); err != nil || d < 0 {
		t.Errorf("Server-Timing %q: %v", st, err)
	}
}
