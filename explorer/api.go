package explorer

import (
	"fmt"
	"math/big"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/segd-db/segd/index"
	"github.com/segd-db/segd/index/expr"
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
	t, err := expr.ParseTime(v)
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
		ret := expr.FormatDuration(fi.Retention)
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
	out := map[string]any{"count": n, "micros": micros(start)}
	if hints, err := x.eng.Hints(expr); err == nil && len(hints) > 0 {
		out["hints"] = hints
	}
	writeJSON(w, http.StatusOK, out)
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
// QUERY.GROUPBY, most entities first; "more" is how many values held by
// a match the limit left out.
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
	vals, err := x.eng.GroupBy(field, where, 0, at) // every value is counted anyway
	if err != nil {
		fail(w, err)
		return
	}
	more := 0
	if limit > 0 && len(vals) > limit {
		vals, more = vals[:limit], len(vals)-limit
	}
	writeJSON(w, http.StatusOK, map[string]any{"values": valuesJSON(vals), "more": more, "micros": micros(start)})
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
