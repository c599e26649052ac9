package explorer

import (
	"encoding/json"
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

	"github.com/segd-db/segd/index"
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
	// A limit says how many values it left out.
	var first2 struct {
		Values []valueJSON
		More   *int
	}
	r.get("/api/query/groupby?field=interests&limit=2", &first2)
	every, _ := r.eng.GroupBy("interests", "", 0, time.Time{})
	if len(first2.Values) != 2 || first2.More == nil || *first2.More != len(every)-2 {
		t.Errorf("groupby limit 2 of %d values: %d values, more %v", len(every), len(first2.Values), first2.More)
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
		if _, err := r.write(&index.Mutation{Op: index.OpSet, Key: "n:" + strconv.Itoa(i), Pairs: []index.Pair{{Field: "tier", Value: "gold"}}}); err != nil {
			t.Fatal(err)
		}
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
	if _, err := r.write(&index.Mutation{Op: index.OpSet, Key: "n", Pairs: []index.Pair{{Field: "tier", Value: "gold"}, {Field: "country", Value: "PT"}}}); err != nil {
		t.Fatal(err)
	}
	r.get("/api/segments/gold/profile?limit=5", &a)
	want, _ := r.eng.Profile("gold", 5, nil)
	if a.Cached || a.Profile[0].InSegment != want[0].InSegment {
		t.Errorf("after a change: cached %v, %+v, want %+v", a.Cached, a.Profile[0], want[0])
	}
	// Dropped and made again, with another expression, at version 0 again.
	if _, err := r.write(&index.Mutation{Op: index.OpSegmentCreate, Key: "pt", Values: []string{"country:PT"}, Replace: true}); err != nil {
		t.Fatal(err)
	}
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
	if _, err := r.write(&index.Mutation{Op: index.OpSegmentDrop, Key: "pt"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.write(&index.Mutation{Op: index.OpSegmentCreate, Key: "pt", Values: []string{"country:ES"}}); err != nil {
		t.Fatal(err)
	}
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

// A value that matches nobody but differs only in case from a held one
// comes with a hint the builder shows.
func TestCountHintsCase(t *testing.T) {
	r := newRig(t, nil)
	var got struct {
		Count uint64
		Hints []string
	}
	if st := r.get("/api/query/count?expr="+q("country:pt AND tier:gold"), &got); st != 200 {
		t.Fatalf("status %d", st)
	}
	if got.Count != 0 || len(got.Hints) != 1 || got.Hints[0] != "nobody holds 'pt'; 'PT' differs only in case" {
		t.Errorf("count %d, hints %q", got.Count, got.Hints)
	}
	got.Hints = nil
	if st := r.get("/api/query/count?expr="+q("country:PT"), &got); st != 200 || got.Hints != nil {
		t.Errorf("country:PT: status %d, hints %q; want none", st, got.Hints)
	}
}
