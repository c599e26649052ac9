package explorer

import (
	"fmt"
	"math"
	"math/big"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"segd/index"
)

// The JSON API: one route per RESP command the page needs, with the same
// arguments as query parameters and the same answers as JSON
// (docs/explorer.md). Errors answer {"error": "CODE sentence", …} with a
// 4xx or 5xx status.

// ---- parameters ----

// exprParam reads a required expression parameter, within --max-expr-bytes.
func (x *Explorer) exprParam(w http.ResponseWriter, r *http.Request, name string, required bool) (string, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		if required {
			writeError(w, http.StatusBadRequest, "ERR", "the "+name+" parameter is missing: give an expression such as "+name+"=country:PT")
			return "", false
		}
		return "", true
	}
	return v, x.exprFits(w, v)
}

func (x *Explorer) exprFits(w http.ResponseWriter, expr string) bool {
	if len(expr) > x.opts.MaxExpr {
		writeError(w, http.StatusBadRequest, "ERR", "expression of "+strconv.Itoa(len(expr))+" bytes is longer than the limit of "+strconv.Itoa(x.opts.MaxExpr)+" (--max-expr-bytes)")
		return false
	}
	return true
}

// pageParam reads a positive page size (count, limit, k) of at most
// --max-page; def is used when it is absent (0: required).
func (x *Explorer) pageParam(w http.ResponseWriter, r *http.Request, name string, def int) (int, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		if def == 0 {
			writeError(w, http.StatusBadRequest, "ERR", "the "+name+" parameter is missing: give a positive integer")
			return 0, false
		}
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		writeError(w, http.StatusBadRequest, "ERR", name+" must be a positive integer, not '"+clip(v, 32)+"'")
		return 0, false
	}
	if n > x.opts.MaxPage {
		writeError(w, http.StatusBadRequest, "ERR", name+" "+v+" is above the limit of "+strconv.Itoa(x.opts.MaxPage)+" (--max-page): page through the results instead")
		return 0, false
	}
	return n, true
}

// optionalPage reads an optional positive page parameter: 0 when absent.
func (x *Explorer) optionalPage(w http.ResponseWriter, r *http.Request, name string) (int, bool) {
	if r.URL.Query().Get(name) == "" {
		return 0, true
	}
	return x.pageParam(w, r, name, 0)
}

// atParam reads the optional at parameter (Unix seconds, RFC 3339 or
// YYYY-MM-DD); the zero time means now.
func atParam(w http.ResponseWriter, r *http.Request, name string) (time.Time, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, true
	}
	t, err := index.ParseTime(v)
	if err != nil {
		fail(w, err)
		return time.Time{}, false
	}
	return t, true
}

// cursorParam reads a SCAN-like cursor ("0" or absent to start).
func cursorParam(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	v := r.URL.Query().Get("cursor")
	if v == "" {
		return 0, true
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "ERR", "invalid cursor '"+clip(v, 32)+"': use 0 to start, then the cursor each answer gives")
		return 0, false
	}
	return n, true
}

func micros(start time.Time) float64 {
	return float64(time.Since(start).Nanoseconds()/100) / 10
}

// ---- server and schema ----

// GET /api/info: the server's version, sizes and whether a password is set.
func (x *Explorer) info(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"server":   "segd",
		"version":  x.opts.Version,
		"entities": x.eng.Len(),
		"fields":   x.eng.FieldCount(),
		"segments": x.eng.SegmentCount(),
		"bytes":    x.eng.SizeInBytes(),
		"time":     x.eng.Now().Unix(),
		"auth":     x.auth.required(),
		"writable": x.opts.Write != nil,
		"max_page": x.opts.MaxPage,
		"max_expr": x.opts.MaxExpr,
	})
}

// fieldJSON is FIELD.INFO, plus the top values (or an INT histogram) when asked.
type fieldJSON struct {
	Name        string       `json:"name"`
	Kind        string       `json:"kind"`
	Values      *int         `json:"values"` // null for INT
	Entities    uint64       `json:"entities"`
	Bytes       uint64       `json:"bytes"`
	Granularity *string      `json:"granularity"`
	Retention   *string      `json:"retention"`
	Top         []valueJSON  `json:"top,omitempty"`
	Histogram   []bucketJSON `json:"histogram,omitempty"`
	Error       string       `json:"error,omitempty"`
	info        index.FieldInfo
}

type valueJSON struct {
	Value    string `json:"value"`
	Entities uint64 `json:"entities"`
}

// bucketJSON is one bar of an INT field's histogram: the entities with a
// value in [lo, hi]; value reads "[lo TO hi]" as in an expression.
type bucketJSON struct {
	Value    string `json:"value"`
	Lo       int64  `json:"lo"`
	Hi       int64  `json:"hi"`
	Entities uint64 `json:"entities"`
}

func newFieldJSON(fi index.FieldInfo) fieldJSON {
	f := fieldJSON{Name: fi.Name, Kind: fi.Kind.String(), Entities: fi.Entities, Bytes: fi.Bytes, info: fi}
	if fi.Values >= 0 {
		v := fi.Values
		f.Values = &v
	}
	if fi.Kind == index.KindEvent {
		g := "DAY"
		if fi.Granularity == time.Hour {
			g = "HOUR"
		}
		ret := index.FormatDuration(fi.Retention)
		f.Granularity, f.Retention = &g, &ret
	}
	return f
}

// GET /api/fields[?top=n]: FIELD.LIST with each field's FIELD.INFO, and
// with top the n values holding most entities (FIELD.VALUES) of every
// ENUM, TAGS and EVENT field and a histogram of every INT field.
func (x *Explorer) fields(w http.ResponseWriter, r *http.Request) {
	top, ok := x.optionalPage(w, r, "top")
	if !ok {
		return
	}
	list := x.eng.Fields()
	out := make([]fieldJSON, 0, len(list))
	for _, f := range list {
		fi, err := x.eng.FieldInfo(f.Name)
		if err != nil {
			continue // dropped meanwhile
		}
		out = append(out, newFieldJSON(fi))
	}
	if top > 0 {
		x.addTops(out, top)
	}
	writeJSON(w, http.StatusOK, map[string]any{"entities": x.eng.Len(), "fields": out})
}

// addTops fills every field's top values or histogram, the fields on as
// many goroutines as there are CPUs: on a million customers they take
// 10 ms and more in all (most of it the INT fields' histograms, a count
// per bar), and the fields page waits for them.
func (x *Explorer) addTops(fields []fieldJSON, top int) {
	next := make(chan int, len(fields))
	for i := range fields {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(fields)) {
		wg.Go(func() {
			for i := range next {
				x.addTop(&fields[i], top)
			}
		})
	}
	wg.Wait()
}

// addTop fills a field's top values or histogram.
func (x *Explorer) addTop(fj *fieldJSON, top int) {
	var err error
	if fj.info.Kind == index.KindInt {
		fj.Histogram, err = x.intHistogram(fj.Name, 10)
	} else {
		var vals []index.ValueCount
		vals, err = x.eng.FieldValues(fj.Name, top)
		fj.Top = valuesJSON(vals)
	}
	if err != nil {
		_, fj.Error = splitCode(err)
	}
}

func valuesJSON(vals []index.ValueCount) []valueJSON {
	out := make([]valueJSON, len(vals))
	for i, v := range vals {
		out[i] = valueJSON{Value: v.Value, Entities: v.Entities}
	}
	return out
}

// intHistogram counts an INT field's entities in about n ranges of equal,
// round width between its minimum and maximum.
func (x *Explorer) intHistogram(name string, n int) ([]bucketJSON, error) {
	st, err := x.eng.Stats(name, "", time.Time{})
	if err != nil || st.Count == 0 {
		return nil, err
	}
	lo, hi := big.NewInt(st.Min), big.NewInt(st.Max)
	span := new(big.Int).Sub(hi, lo)
	width := niceWidth(new(big.Int).Add(new(big.Int).Quo(span, big.NewInt(int64(n))), big.NewInt(1)))
	start := new(big.Int).Mul(floorDivBig(lo, width), width) // round down to a multiple of width
	maxInt := big.NewInt(1<<63 - 1)
	minInt := big.NewInt(-1 << 63)
	var out []bucketJSON
	for b := start; b.Cmp(hi) <= 0 && len(out) <= n+1; b = new(big.Int).Add(b, width) {
		a := maxBig(b, minInt)
		e := new(big.Int).Sub(new(big.Int).Add(b, width), big.NewInt(1))
		if e.Cmp(maxInt) > 0 {
			e = maxInt
		}
		expr := fmt.Sprintf("%s:[%s TO %s]", name, a, e)
		c, err := x.eng.Count(expr, time.Time{})
		if err != nil {
			return nil, err
		}
		out = append(out, bucketJSON{Value: fmt.Sprintf("[%s TO %s]", a, e), Lo: a.Int64(), Hi: e.Int64(), Entities: c})
	}
	return out, nil
}

// niceWidth rounds w up to 1, 2 or 5 times a power of ten.
func niceWidth(w *big.Int) *big.Int {
	p := big.NewInt(1)
	for {
		for _, m := range []int64{1, 2, 5} {
			c := new(big.Int).Mul(p, big.NewInt(m))
			if c.Cmp(w) >= 0 {
				return c
			}
		}
		p.Mul(p, big.NewInt(10))
	}
}

func floorDivBig(a, b *big.Int) *big.Int {
	q, m := new(big.Int).DivMod(a, b, new(big.Int)) // Euclidean: m >= 0, so q is the floor for b > 0
	_ = m
	return q
}

func maxBig(a, b *big.Int) *big.Int {
	if a.Cmp(b) >= 0 {
		return a
	}
	return b
}

// GET /api/fields/{name}: FIELD.INFO.
func (x *Explorer) fieldInfo(w http.ResponseWriter, r *http.Request) {
	fi, err := x.eng.FieldInfo(r.PathValue("name"))
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, newFieldJSON(fi))
}

// GET /api/fields/{name}/values[?limit=n]: FIELD.VALUES, most entities first.
func (x *Explorer) fieldValues(w http.ResponseWriter, r *http.Request) {
	limit, ok := x.pageParam(w, r, "limit", 100)
	if !ok {
		return
	}
	vals, err := x.eng.FieldValues(r.PathValue("name"), limit)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"values": valuesJSON(vals)})
}

// ---- ad hoc queries ----

// GET /api/query/count?expr=…[&at=time]: QUERY.COUNT, with the time the
// engine took in microseconds.
func (x *Explorer) queryCount(w http.ResponseWriter, r *http.Request) {
	expr, ok := x.exprParam(w, r, "expr", true)
	if !ok {
		return
	}
	at, ok := atParam(w, r, "at")
	if !ok {
		return
	}
	start := time.Now()
	n, err := x.eng.Count(expr, at)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": n, "micros": micros(start)})
}

// GET /api/query/members?expr=…[&cursor=c][&count=n][&at=time]:
// QUERY.MEMBERS, one page: {"cursor": next, "keys": […]}; done when the
// cursor is "0".
func (x *Explorer) queryMembers(w http.ResponseWriter, r *http.Request) {
	expr, ok := x.exprParam(w, r, "expr", true)
	if !ok {
		return
	}
	cursor, ok := cursorParam(w, r)
	if !ok {
		return
	}
	count, ok := x.pageParam(w, r, "count", 100)
	if !ok {
		return
	}
	at, ok := atParam(w, r, "at")
	if !ok {
		return
	}
	next, keys, err := x.eng.Members(expr, cursor, count, at)
	if err != nil {
		fail(w, err)
		return
	}
	writePage(w, next, keys)
}

func writePage(w http.ResponseWriter, next uint64, keys []string) {
	if keys == nil {
		keys = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"cursor": strconv.FormatUint(next, 10), "keys": keys})
}

// GET /api/query/ismember?expr=…&key=k[&at=time]: QUERY.ISMEMBER.
func (x *Explorer) queryIsMember(w http.ResponseWriter, r *http.Request) {
	expr, ok := x.exprParam(w, r, "expr", true)
	if !ok {
		return
	}
	at, ok := atParam(w, r, "at")
	if !ok {
		return
	}
	in, err := x.eng.IsMember(expr, r.URL.Query().Get("key"), at)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"member": in})
}

type explainJSON struct {
	Label       string         `json:"label"`
	Cardinality uint64         `json:"cardinality"`
	Micros      float64        `json:"micros"`
	Children    []*explainJSON `json:"children"`
}

func toExplainJSON(n *index.ExplainNode) *explainJSON {
	out := &explainJSON{Label: n.Label, Cardinality: n.Cardinality, Micros: n.Micros, Children: []*explainJSON{}}
	for _, c := range n.Children {
		out.Children = append(out.Children, toExplainJSON(c))
	}
	return out
}

// GET /api/query/explain?expr=…[&at=time]: QUERY.EXPLAIN as a tree of
// {label, cardinality, micros, children}.
func (x *Explorer) queryExplain(w http.ResponseWriter, r *http.Request) {
	expr, ok := x.exprParam(w, r, "expr", true)
	if !ok {
		return
	}
	at, ok := atParam(w, r, "at")
	if !ok {
		return
	}
	root, err := x.eng.Explain(expr, at)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"plan": toExplainJSON(root)})
}

// GET /api/query/groupby?field=f[&where=expr][&limit=n][&at=time]:
// QUERY.GROUPBY, most entities first.
func (x *Explorer) queryGroupBy(w http.ResponseWriter, r *http.Request) {
	where, ok := x.exprParam(w, r, "where", false)
	if !ok {
		return
	}
	limit, ok := x.optionalPage(w, r, "limit")
	if !ok {
		return
	}
	at, ok := atParam(w, r, "at")
	if !ok {
		return
	}
	field := r.URL.Query().Get("field")
	if field == "" {
		writeError(w, http.StatusBadRequest, "ERR", "the field parameter is missing: name an ENUM, TAGS or EVENT field")
		return
	}
	start := time.Now()
	vals, err := x.eng.GroupBy(field, where, limit, at)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"values": valuesJSON(vals), "micros": micros(start)})
}

// GET /api/query/stats?measure=m[&where=expr][&at=time]: QUERY.STATS;
// min, max and mean are null when count is 0, sum is a string when it does
// not fit 53 bits.
func (x *Explorer) queryStats(w http.ResponseWriter, r *http.Request) {
	measure, ok := x.exprParam(w, r, "measure", true)
	if !ok {
		return
	}
	where, ok := x.exprParam(w, r, "where", false)
	if !ok {
		return
	}
	at, ok := atParam(w, r, "at")
	if !ok {
		return
	}
	st, err := x.eng.Stats(measure, where, at)
	if err != nil {
		fail(w, err)
		return
	}
	out := map[string]any{"count": st.Count, "sum": st.Sum.String(), "min": nil, "max": nil, "mean": nil}
	if st.Sum.IsInt64() && st.Sum.Int64() < 1<<53 && st.Sum.Int64() > -(1<<53) {
		out["sum"] = st.Sum.Int64()
	}
	if st.Count > 0 {
		out["min"], out["max"], out["mean"] = st.Min, st.Max, st.Mean()
	}
	writeJSON(w, http.StatusOK, out)
}

type rankedJSON struct {
	Key   string `json:"key"`
	Value int64  `json:"value"`
}

// GET /api/query/top?k=n&measure=m[&where=expr][&at=time]: QUERY.TOP,
// highest first.
func (x *Explorer) queryTop(w http.ResponseWriter, r *http.Request) {
	k, ok := x.pageParam(w, r, "k", 0)
	if !ok {
		return
	}
	measure, ok := x.exprParam(w, r, "measure", true)
	if !ok {
		return
	}
	where, ok := x.exprParam(w, r, "where", false)
	if !ok {
		return
	}
	at, ok := atParam(w, r, "at")
	if !ok {
		return
	}
	top, err := x.eng.Top(k, measure, where, at)
	if err != nil {
		fail(w, err)
		return
	}
	out := make([]rankedJSON, len(top))
	for i, t := range top {
		out[i] = rankedJSON{Key: t.Key, Value: t.Value}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entities": out})
}

// ---- saved segments ----

type segmentJSON struct {
	Name         string     `json:"name"`
	Expr         string     `json:"expr"`
	Cardinality  uint64     `json:"cardinality"`
	Version      uint64     `json:"version"`
	Created      int64      `json:"created"`
	Updated      int64      `json:"updated"`
	Bytes        uint64     `json:"bytes"`
	Fields       []string   `json:"fields"`
	Segments     []string   `json:"segments"`
	TimeRelative bool       `json:"time_relative"`
	History      [][2]int64 `json:"history,omitempty"`
}

func newSegmentJSON(i index.SegmentInfo) segmentJSON {
	s := segmentJSON{Name: i.Name, Expr: i.Expr, Cardinality: i.Cardinality, Version: i.Version, Created: i.Created.Unix(),
		Updated: i.Updated.Unix(), Bytes: i.Bytes, Fields: i.Fields, Segments: i.Segments, TimeRelative: i.TimeRelative}
	if s.Fields == nil {
		s.Fields = []string{}
	}
	if s.Segments == nil {
		s.Segments = []string{}
	}
	return s
}

func historyJSON(h []index.HistoryPoint) [][2]int64 {
	out := make([][2]int64, len(h))
	for i, p := range h {
		out[i] = [2]int64{p.Time, int64(p.Cardinality)}
	}
	return out
}

// thin keeps at most n points of a history: the last point of each of n
// equal slices of its time span, so that a sparkline stays small.
func thin(h []index.HistoryPoint, n int) []index.HistoryPoint {
	if len(h) <= n || n < 2 {
		return h
	}
	first, last := h[0].Time, h[len(h)-1].Time
	span := last - first + 1
	out := make([]index.HistoryPoint, 0, n+1)
	out = append(out, h[0])
	slice := int64(-1)
	for _, p := range h[1:] {
		s := (p.Time - first) * int64(n-1) / span
		if s == slice {
			out[len(out)-1] = p
			continue
		}
		slice = s
		out = append(out, p)
	}
	return out
}

// GET /api/segments[?history=n]: SEGMENT.LIST with each segment's
// SEGMENT.INFO and, with history, up to n points of its SEGMENT.HISTORY.
func (x *Explorer) segments(w http.ResponseWriter, r *http.Request) {
	points, ok := x.optionalPage(w, r, "history")
	if !ok {
		return
	}
	names := x.eng.Segments()
	out := make([]segmentJSON, 0, len(names))
	for _, n := range names {
		info, err := x.eng.SegmentInfo(n)
		if err != nil {
			continue // dropped meanwhile
		}
		s := newSegmentJSON(info)
		if points > 0 {
			h, err := x.eng.SegmentHistory(n, time.Time{})
			if err == nil {
				s.History = historyJSON(thin(h, points))
			}
		}
		out = append(out, s)
	}
	writeJSON(w, http.StatusOK, map[string]any{"segments": out, "time": x.eng.Now().Unix()})
}

// POST /api/segments {"name": n, "expr": e, "replace": false}:
// SEGMENT.CREATE through the server's write path; answers the cardinality.
func (x *Explorer) segmentCreate(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name    string `json:"name"`
		Expr    string `json:"expr"`
		Replace bool   `json:"replace"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	if x.opts.Write == nil {
		writeError(w, http.StatusMethodNotAllowed, "ERR", "this explorer is read-only: save segments with SEGMENT.CREATE")
		return
	}
	if body.Expr == "" {
		writeError(w, http.StatusBadRequest, "ERR", "the expression is empty: write one, such as country:PT AND age >= 30")
		return
	}
	if !x.exprFits(w, body.Expr) {
		return
	}
	res, err := x.opts.Write(&index.Mutation{Op: index.OpSegmentCreate, Key: body.Name, Values: []string{body.Expr}, Replace: body.Replace})
	if err != nil {
		fail(w, err)
		return
	}
	x.log.Info("explorer: segment saved", "segment", body.Name, "replace", body.Replace, "cardinality", res.N, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, map[string]any{"name": body.Name, "cardinality": res.N})
}

// DELETE /api/segments/{name}: SEGMENT.DROP; {"dropped": 1} or 0.
func (x *Explorer) segmentDrop(w http.ResponseWriter, r *http.Request) {
	if x.opts.Write == nil {
		writeError(w, http.StatusMethodNotAllowed, "ERR", "this explorer is read-only: drop segments with SEGMENT.DROP")
		return
	}
	res, err := x.opts.Write(&index.Mutation{Op: index.OpSegmentDrop, Key: r.PathValue("name")})
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"dropped": res.N})
}

// GET /api/segments/{name}: SEGMENT.INFO.
func (x *Explorer) segmentInfo(w http.ResponseWriter, r *http.Request) {
	info, err := x.eng.SegmentInfo(r.PathValue("name"))
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, newSegmentJSON(info))
}

// GET /api/segments/{name}/members[?cursor=c][&count=n]: SEGMENT.MEMBERS.
func (x *Explorer) segmentMembers(w http.ResponseWriter, r *http.Request) {
	cursor, ok := cursorParam(w, r)
	if !ok {
		return
	}
	count, ok := x.pageParam(w, r, "count", 100)
	if !ok {
		return
	}
	next, keys, err := x.eng.SegmentMembers(r.PathValue("name"), cursor, count)
	if err != nil {
		fail(w, err)
		return
	}
	writePage(w, next, keys)
}

// GET /api/segments/{name}/ismember?key=k: SEGMENT.ISMEMBER.
func (x *Explorer) segmentIsMember(w http.ResponseWriter, r *http.Request) {
	in, err := x.eng.SegmentIsMember(r.PathValue("name"), r.URL.Query().Get("key"))
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"member": in})
}

// GET /api/segments/{name}/history[?since=time][&points=n]:
// SEGMENT.HISTORY as [[time, cardinality] …], oldest first; points keeps
// at most n of them.
func (x *Explorer) segmentHistory(w http.ResponseWriter, r *http.Request) {
	since, ok := atParam(w, r, "since")
	if !ok {
		return
	}
	points, ok := x.optionalPage(w, r, "points")
	if !ok {
		return
	}
	h, err := x.eng.SegmentHistory(r.PathValue("name"), since)
	if err != nil {
		fail(w, err)
		return
	}
	if points > 0 {
		h = thin(h, points)
	}
	writeJSON(w, http.StatusOK, map[string]any{"history": historyJSON(h), "time": x.eng.Now().Unix()})
}

type changeJSON struct {
	Version uint64 `json:"version"`
	Key     string `json:"key"`
	Change  string `json:"change"`
	Time    int64  `json:"time"`
}

// GET /api/segments/{name}/changes?since=v[&count=n]: SEGMENT.CHANGES,
// {"version": next since, "changes": […]}.
func (x *Explorer) segmentChanges(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query().Get("since")
	since, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "ERR", "since must be a version: 0 for every kept change, else the last version you read")
		return
	}
	count, ok := x.pageParam(w, r, "count", x.opts.MaxPage)
	if !ok {
		return
	}
	next, changes, err := x.eng.SegmentChanges(r.PathValue("name"), since, count)
	if err != nil {
		fail(w, err)
		return
	}
	out := make([]changeJSON, len(changes))
	for i, c := range changes {
		out[i] = changeJSON{Version: c.Version, Key: c.Key, Change: changeWord(c.Enter), Time: c.Time}
	}
	writeJSON(w, http.StatusOK, map[string]any{"version": next, "changes": out})
}

type profileJSON struct {
	Field          string  `json:"field"`
	Value          string  `json:"value"`
	InSegment      uint64  `json:"in_segment"`
	ShareInSegment float64 `json:"share_in_segment"`
	ShareOverall   float64 `json:"share_overall"`
	Lift           float64 `json:"lift"`
}

// round4 keeps shares and lifts to 4 decimals, as SEGMENT.PROFILE does.
func round4(f float64) float64 { return math.Round(f*1e4) / 1e4 }

// GET /api/segments/{name}/profile[?limit=n][&fields=f,g][&fresh=1]:
// SEGMENT.PROFILE, the persona, highest lift first. The answer is kept a
// little while the segment is unchanged (see cache.go); fresh=1 computes it
// again. "as_of" is when it was computed, "cached" whether it was kept.
func (x *Explorer) segmentProfile(w http.ResponseWriter, r *http.Request) {
	limit, ok := x.optionalPage(w, r, "limit")
	if !ok {
		return
	}
	var fields []string
	for _, v := range r.URL.Query()["fields"] {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				fields = append(fields, f)
			}
		}
	}
	name := r.PathValue("name")
	key := "profile\x00" + name + "\x00" + strconv.Itoa(limit) + "\x00" + strings.Join(fields, ",")
	x.analyticsAnswer(w, r, name, key, func() (map[string]any, error) {
		prof, err := x.eng.Profile(name, limit, fields)
		if err != nil {
			return nil, err
		}
		out := make([]profileJSON, len(prof))
		for i, p := range prof {
			out[i] = profileJSON{Field: p.Field, Value: p.Value, InSegment: p.InSegment,
				ShareInSegment: round4(p.ShareInSegment), ShareOverall: round4(p.ShareOverall), Lift: round4(p.Lift)}
		}
		return map[string]any{"profile": out}, nil
	})
}

// analyticsAnswer answers from the cache when it can, else computes,
// answers and keeps the answer.
func (x *Explorer) analyticsAnswer(w http.ResponseWriter, r *http.Request, name, key string, compute func() (map[string]any, error)) {
	info, err := x.eng.SegmentInfo(name)
	if err != nil {
		fail(w, err)
		return
	}
	now := time.Now()
	if r.URL.Query().Get("fresh") == "" {
		if body, ok := x.analytics.get(key, info, now); ok {
			out := make(map[string]any, len(body)+1)
			for k, v := range body {
				out[k] = v
			}
			out["cached"] = true
			writeJSON(w, http.StatusOK, out)
			return
		}
	}
	body, err := x.analytics.compute(key, info, r.URL.Query().Get("fresh") != "", compute, func() (index.SegmentInfo, error) { return x.eng.SegmentInfo(name) })
	if err != nil {
		fail(w, err)
		return
	}
	out := make(map[string]any, len(body)+1)
	for k, v := range body {
		out[k] = v
	}
	out["cached"] = false
	writeJSON(w, http.StatusOK, out)
}

type scoredJSON struct {
	Key   string  `json:"key"`
	Score float64 `json:"score"`
}

// GET /api/segments/{name}/lookalike[?count=n][&where=expr][&fresh=1]:
// SEGMENT.LOOKALIKE (count 20 unless given), best first; kept a little
// while the segment is unchanged, as the profile is.
func (x *Explorer) segmentLookalike(w http.ResponseWriter, r *http.Request) {
	count, ok := x.pageParam(w, r, "count", 20)
	if !ok {
		return
	}
	where, ok := x.exprParam(w, r, "where", false)
	if !ok {
		return
	}
	name := r.PathValue("name")
	key := "lookalike\x00" + name + "\x00" + strconv.Itoa(count) + "\x00" + where
	x.analyticsAnswer(w, r, name, key, func() (map[string]any, error) {
		ranked, err := x.eng.Lookalike(name, count, where)
		if err != nil {
			return nil, err
		}
		out := make([]scoredJSON, len(ranked))
		for i, k := range ranked {
			out[i] = scoredJSON{Key: k.Key, Score: float64(k.Value) / index.LookalikeScale}
		}
		return map[string]any{"lookalikes": out}, nil
	})
}

// GET /api/segments/{name}/sample[?count=n][&seed=s]: SEGMENT.SAMPLE
// (count 20 unless given).
func (x *Explorer) segmentSample(w http.ResponseWriter, r *http.Request) {
	count, ok := x.pageParam(w, r, "count", 20)
	if !ok {
		return
	}
	var seed int64
	if v := r.URL.Query().Get("seed"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "ERR", "seed must be an integer")
			return
		}
		seed = n
	}
	keys, err := x.eng.SegmentSample(r.PathValue("name"), count, uint64(seed))
	if err != nil {
		fail(w, err)
		return
	}
	if keys == nil {
		keys = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

// maxOverlap bounds the segments of one overlap matrix (k² intersections).
const maxOverlap = 64

// GET /api/overlap?name=a&name=b[…]: SEGMENT.OVERLAP, the k×k matrix of
// intersection sizes in the order of the names (the diagonal holds each
// cardinality).
//
// others=n adds the first n other segments (in SEGMENT.LIST order) to the
// names: the page's default choice, so that it can be asked for before the
// list is read.
func (x *Explorer) overlap(w http.ResponseWriter, r *http.Request) {
	names := r.URL.Query()["name"]
	if len(names) == 0 {
		writeError(w, http.StatusBadRequest, "ERR", "name at least one segment: /api/overlap?name=a&name=b")
		return
	}
	others, ok := x.optionalPage(w, r, "others")
	if !ok {
		return
	}
	if others > 0 {
		named := map[string]bool{}
		for _, n := range names {
			named[n] = true
		}
		for _, n := range x.eng.Segments() {
			if others == 0 || len(names) >= maxOverlap {
				break
			}
			if !named[n] {
				names = append(names, n)
				others--
			}
		}
	}
	if len(names) > maxOverlap {
		writeError(w, http.StatusBadRequest, "ERR", "at most "+strconv.Itoa(maxOverlap)+" segments in one overlap, not "+strconv.Itoa(len(names)))
		return
	}
	m, err := x.eng.SegmentOverlap(names)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"names": names, "matrix": m})
}

// ---- one customer ----

type entityField struct {
	Field string `json:"field"`
	Kind  string `json:"kind"`
	Value any    `json:"value"` // ENUM: string, INT: number, TAGS: [string], EVENT: [{value, amount}]
}

type eventAmountJSON struct {
	Value  string `json:"value"`
	Amount uint64 `json:"amount"`
}

// GET /api/entity?key=k: ENT.GET and SEGMENT.OF of one customer:
// {"key", "found", "fields": [{field, kind, value}], "segments": […]}.
func (x *Explorer) entity(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("key")
	if key == "" {
		writeError(w, http.StatusBadRequest, "ERR", "the key parameter is missing: give a customer's key, such as key=u:42")
		return
	}
	vals, found, err := x.eng.Get(key, nil)
	if err != nil {
		fail(w, err)
		return
	}
	fields := make([]entityField, 0, len(vals))
	for _, v := range vals {
		f := entityField{Field: v.Field, Kind: v.Kind.String()}
		switch v.Kind {
		case index.KindEnum:
			f.Value = v.Str
		case index.KindInt:
			f.Value = v.Int
		case index.KindTags:
			f.Value = v.Tags
		case index.KindEvent:
			ev := make([]eventAmountJSON, len(v.Events))
			for i, e := range v.Events {
				ev[i] = eventAmountJSON{Value: e.Value, Amount: e.Amount}
			}
			f.Value = ev
		}
		fields = append(fields, f)
	}
	writeJSON(w, http.StatusOK, map[string]any{"key": key, "found": found, "fields": fields, "segments": x.eng.SegmentsOf(key)})
}
