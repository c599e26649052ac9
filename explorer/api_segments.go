package explorer

// The JSON API's saved-segment routes (api.go has the rest): the list with
// history, create and drop, members, history and changes, and the analytics
// (profile, lookalikes, sample, overlap).

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/segd-db/segd/index"
)

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
