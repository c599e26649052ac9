// Package explorer is segd's web console: a page for people (fields, a
// segment builder with live counts, saved segments with their size history,
// persona, lookalikes, overlap, live enters and exits, one customer) and the
// JSON API behind it, which mirrors the RESP commands (docs/explorer.md).
//
// The explorer reads the engine directly and writes only through the
// Write function its owner gives it, so that a segment saved from the page
// goes through the server's committer and write log like any SEGMENT.CREATE.
// The owner passes every segment change it publishes to Publish, which feeds
// the live enters and exits of the page (server-sent events).
package explorer

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/segd-db/segd/index"
	"github.com/segd-db/segd/index/expr"
	"github.com/segd-db/segd/protocol"
)

// Options configure an Explorer.
type Options struct {
	// Engine is read directly by every page and API call.
	Engine *index.Engine
	// Write applies a mutation through the owner's write path (the server's
	// committer and write log) and returns its result once it is durable.
	// The explorer writes SEGMENT.CREATE (OpSegmentCreate), SEGMENT.DROP
	// (OpSegmentDrop) and, before a read when one is due, the refresh of
	// time-relative segments (OpTick). Nil makes the explorer read-only.
	Write func(*index.Mutation) (index.Result, error)
	// Password, when set, is asked for by the page and the API (the RESP
	// --requirepass).
	Password string
	// Ready returns nil once the engine holds the data set, else an error
	// that says why not (loading); nil Ready means always ready.
	Ready func() error
	// Limits, as on the RESP port: the longest expression in bytes and the
	// largest COUNT, LIMIT or k. Zero means 16 KiB and 100000.
	MaxExpr, MaxPage int
	// MaxFeeds is how many live feeds (server-sent event streams) may be
	// open at once (0: 256); FeedBuffer how many changes one feed may have
	// queued before it is dropped as too slow (0: 1024).
	MaxFeeds, FeedBuffer int
	// Version is shown by /api/info.
	Version string
	Logger  *slog.Logger
}

// Explorer serves the web console and its JSON API. It is an http.Handler.
type Explorer struct {
	opts   Options
	eng    *index.Engine
	log    *slog.Logger
	mux    *http.ServeMux
	auth   *authenticator
	feed   *feed
	assets map[string]*asset
	// assetVersion names this build's assets: /assets/<version>/app.bundle.js.
	assetVersion string

	analytics analyticsCache // recent personas and lookalikes (cache.go)
}

// New returns an explorer over opts.Engine.
func New(opts Options) *Explorer {
	if opts.Engine == nil {
		panic("explorer.New: Options.Engine is nil")
	}
	if opts.MaxExpr <= 0 {
		opts.MaxExpr = 16 << 10
	}
	if opts.MaxPage <= 0 {
		opts.MaxPage = 100000
	}
	if opts.MaxFeeds <= 0 {
		opts.MaxFeeds = 256
	}
	if opts.FeedBuffer <= 0 {
		opts.FeedBuffer = 1024
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	x := &Explorer{
		opts: opts,
		eng:  opts.Engine,
		log:  opts.Logger,
		mux:  http.NewServeMux(),
		auth: newAuthenticator(opts.Password),
		feed: newFeed(opts.MaxFeeds, opts.FeedBuffer),
	}
	x.assets, x.assetVersion = loadAssets()
	x.routes()
	return x
}

// Publish feeds segment changes, in commit order, to the live feeds. It
// never blocks: a feed whose queue is full is dropped (its browser
// reconnects and catches up from the segment's change log).
func (x *Explorer) Publish(changes []index.Change) { x.feed.publish(changes, x.log) }

// Close ends every live feed, so that an HTTP server's Shutdown does not
// wait for them. The explorer keeps serving other requests.
func (x *Explorer) Close() { x.feed.closeAll() }

func (x *Explorer) routes() {
	m := x.mux
	m.HandleFunc("GET /{$}", x.page)
	m.HandleFunc("GET /assets/{file}", x.asset)
	m.HandleFunc("GET /assets/{version}/{file}", x.versionedAsset)
	m.HandleFunc("POST /api/login", x.login)
	m.HandleFunc("POST /api/logout", x.logout)

	api := func(pattern string, h http.HandlerFunc) { m.Handle(pattern, x.guard(h)) }
	api("GET /api/info", x.info)
	api("GET /api/fields", x.fields)
	api("GET /api/fields/{name}", x.fieldInfo)
	api("GET /api/fields/{name}/values", x.fieldValues)
	api("GET /api/query/count", x.queryCount)
	api("GET /api/query/members", x.queryMembers)
	api("GET /api/query/ismember", x.queryIsMember)
	api("GET /api/query/explain", x.queryExplain)
	api("GET /api/query/groupby", x.queryGroupBy)
	api("GET /api/query/stats", x.queryStats)
	api("GET /api/query/top", x.queryTop)
	api("GET /api/segments", x.segments)
	api("POST /api/segments", x.segmentCreate)
	api("GET /api/segments/{name}", x.segmentInfo)
	api("DELETE /api/segments/{name}", x.segmentDrop)
	api("GET /api/segments/{name}/members", x.segmentMembers)
	api("GET /api/segments/{name}/ismember", x.segmentIsMember)
	api("GET /api/segments/{name}/history", x.segmentHistory)
	api("GET /api/segments/{name}/changes", x.segmentChanges)
	api("GET /api/segments/{name}/profile", x.segmentProfile)
	api("GET /api/segments/{name}/lookalike", x.segmentLookalike)
	api("GET /api/segments/{name}/sample", x.segmentSample)
	api("GET /api/segments/{name}/events", x.segmentEvents)
	api("GET /api/overlap", x.overlap)
	api("GET /api/entity", x.entity)
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "ERR", "no API route "+r.Method+" "+r.URL.Path+": see docs/explorer.md for the routes")
	})
}

// ServeHTTP serves the page, its assets and the API.
func (x *Explorer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	if msg := x.auth.checkHost(r); msg != "" {
		writeError(w, http.StatusForbidden, "ERR", msg)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if msg := checkOrigin(r); msg != "" {
			writeError(w, http.StatusForbidden, "ERR", msg)
			return
		}
	}
	x.mux.ServeHTTP(w, r)
}

// guard asks for the password, waits for the data set, runs a due
// time-relative refresh through the write path first (as the RESP reads
// do, so that the log records it), and answers JSON.
func (x *Explorer) guard(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w := &timedWriter{ResponseWriter: rw, start: time.Now()}
		w.Header().Set("Cache-Control", "no-store")
		if !x.auth.allowed(r) {
			writeError(w, http.StatusUnauthorized, "NOAUTH", "authentication required: log in with the server's password (--requirepass), or send it with HTTP Basic auth")
			return
		}
		if x.opts.Ready != nil {
			if err := x.opts.Ready(); err != nil {
				code, msg := splitCode(err)
				w.Header().Set("Retry-After", "1")
				writeError(w, http.StatusServiceUnavailable, code, msg)
				return
			}
		}
		x.eng.RefreshDue(x.opts.Write)
		h(w, r)
	})
}

// timedWriter says in a Server-Timing header how long the server took to
// answer (from the request to the answer's header: the engine's work and
// the refresh before it, not the sending), which a browser shows next to
// the request's round trip (the page's timings read it).
type timedWriter struct {
	http.ResponseWriter
	start time.Time
	wrote bool
}

func (t *timedWriter) WriteHeader(code int) {
	if !t.wrote {
		t.wrote = true
		d := time.Since(t.start)
		t.Header().Set("Server-Timing", "app;dur="+strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 2, 64))
	}
	t.ResponseWriter.WriteHeader(code)
}

func (t *timedWriter) Write(b []byte) (int, error) {
	if !t.wrote {
		t.WriteHeader(http.StatusOK)
	}
	return t.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (the live
// feed flushes each event).
func (t *timedWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// writeJSON answers v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// apiError is the body of every error answer.
type apiError struct {
	Error   string `json:"error"`              // "CODE sentence", as RESP says it
	Code    string `json:"code"`               // ERR, WRONGTYPE, NOAUTH, WRONGPASS, LOADING
	Message string `json:"message"`            // the sentence
	Pos     int    `json:"position,omitempty"` // syntax errors: 1-based character position
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiError{Error: code + " " + msg, Code: code, Message: msg})
}

// splitCode is an error's Redis code and sentence (protocol.ErrorOf).
func splitCode(err error) (code, msg string) {
	e := protocol.ErrorOf(err)
	return e.Code, e.Msg
}

// fail answers an error of the engine or of the write path: 400 for bad
// input, 404 for an unknown segment or field, 503 when the server cannot
// take the request now (shutting down, writes refused).
func fail(w http.ResponseWriter, err error) {
	code, msg := splitCode(err)
	body := apiError{Error: code + " " + msg, Code: code, Message: msg}
	status := http.StatusBadRequest
	var ie *index.Error
	var se *expr.SyntaxError
	switch {
	case errors.As(err, &se):
		body.Pos = se.Pos
	case errors.As(err, &ie):
		if strings.HasPrefix(msg, "unknown segment ") || strings.HasPrefix(msg, "unknown field ") {
			status = http.StatusNotFound
		}
	default:
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, body)
}
