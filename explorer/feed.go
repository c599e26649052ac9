package explorer

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segd-db/segd/index"
)

// The live feed: server-sent events of one segment's enters and exits.
//
// Publish runs on the server's committer, so it never waits: each open feed
// has a bounded queue, and a feed whose queue is full is dropped. Events
// carry the segment's version as their id, so the browser's EventSource
// reconnects with Last-Event-ID and the handler catches up from the
// segment's change log (SEGMENT.CHANGES) before going live again; nothing
// is lost unless the change log itself has moved past it, which the feed
// says with a "reset" event.

// keepAlive is how often an idle feed sends a comment, so that proxies and
// browsers keep the connection open.
const keepAlive = 15 * time.Second

var errTooManyFeeds = errors.New("too many live feeds are open")

type feed struct {
	mu     sync.Mutex
	subs   map[string]map[*feedSub]struct{}
	n      atomic.Int64 // open feeds: Publish does nothing when there are none
	max    int
	buf    int
	closed bool
}

type feedSub struct {
	segment string
	ch      chan index.Change
	gone    chan struct{} // closed when the feed is dropped or the explorer closes
	why     string        // written before gone is closed
}

func newFeed(max, buf int) *feed {
	return &feed{subs: map[string]map[*feedSub]struct{}{}, max: max, buf: buf}
}

func (f *feed) subscribe(segment string) (*feedSub, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, errors.New("the server is shutting down")
	}
	if int(f.n.Load()) >= f.max {
		return nil, errTooManyFeeds
	}
	s := &feedSub{segment: segment, ch: make(chan index.Change, f.buf), gone: make(chan struct{})}
	m := f.subs[segment]
	if m == nil {
		m = map[*feedSub]struct{}{}
		f.subs[segment] = m
	}
	m[s] = struct{}{}
	f.n.Add(1)
	return s, nil
}

// remove takes s out; the caller holds f.mu. It reports whether s was in.
func (f *feed) remove(s *feedSub) bool {
	m := f.subs[s.segment]
	if _, ok := m[s]; !ok {
		return false
	}
	delete(m, s)
	if len(m) == 0 {
		delete(f.subs, s.segment)
	}
	f.n.Add(-1)
	return true
}

func (f *feed) unsubscribe(s *feedSub) {
	f.mu.Lock()
	f.remove(s)
	f.mu.Unlock()
}

// publish queues each change to the feeds of its segment, dropping the
// feeds that cannot take it.
func (f *feed) publish(changes []index.Change, log *slog.Logger) {
	if f.n.Load() == 0 || len(changes) == 0 {
		return
	}
	var dropped []*feedSub
	f.mu.Lock()
	for _, c := range changes {
		for s := range f.subs[c.Segment] {
			select {
			case s.ch <- c:
			default:
				f.remove(s)
				s.why = "this live feed fell more than " + strconv.Itoa(f.buf) + " changes behind and was dropped; reconnect to catch up"
				close(s.gone)
				dropped = append(dropped, s)
			}
		}
	}
	f.mu.Unlock()
	for _, s := range dropped {
		log.Warn("explorer: a live feed fell behind and was dropped", "segment", s.segment, "queue", f.buf)
	}
}

// closeAll ends every feed and refuses new ones.
func (f *feed) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for _, m := range f.subs {
		for s := range m {
			f.remove(s)
			s.why = "the server is shutting down"
			close(s.gone)
		}
	}
}

// changeEvent is the JSON of one change: the same as the RESP notification.
type changeEvent struct {
	Segment string `json:"segment"`
	Key     string `json:"key"`
	Change  string `json:"change"`
	Version uint64 `json:"version"`
	Time    int64  `json:"time"`
}

func changeWord(enter bool) string {
	if enter {
		return "enter"
	}
	return "exit"
}

// sseWriter writes server-sent events.
type sseWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	err error
}

func (s *sseWriter) event(name, id string, data any) {
	if s.err != nil {
		return
	}
	b, err := json.Marshal(data)
	if err != nil {
		s.err = err
		return
	}
	msg := ""
	if name != "" {
		msg += "event: " + name + "\n"
	}
	if id != "" {
		msg += "id: " + id + "\n"
	}
	_, s.err = fmt.Fprintf(s.w, "%sdata: %s\n\n", msg, b)
}

func (s *sseWriter) change(c index.Change) {
	s.event("", strconv.FormatUint(c.Version, 10), changeEvent{Segment: c.Segment, Key: c.Key, Change: changeWord(c.Enter), Version: c.Version, Time: c.Time})
}

func (s *sseWriter) comment(text string) {
	if s.err == nil {
		_, s.err = fmt.Fprintf(s.w, ": %s\n\n", text)
	}
}

func (s *sseWriter) flush() {
	if s.err == nil {
		s.err = s.rc.Flush()
	}
}

// GET /api/segments/{name}/events[?since=version]: the live feed of the
// segment's enters and exits as server-sent events. Each change is a
// "message" event whose id is the segment's version and whose data is the
// RESP notification's JSON. The stream starts with a "ready" event
// ({"version": v}) once it is subscribed; with since (or the Last-Event-ID
// header of a reconnecting EventSource) it first replays the kept changes
// after that version. "reset" says the change log no longer reaches back
// that far; "dropped" that the feed fell behind (the browser reconnects).
func (x *Explorer) segmentEvents(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var since uint64
	haveSince := false
	s := r.URL.Query().Get("since")
	if s == "" {
		s = r.Header.Get("Last-Event-ID")
	}
	if s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "ERR", "since must be a segment version: a non-negative integer")
			return
		}
		since, haveSince = v, true
	}
	if _, err := x.eng.SegmentInfo(name); err != nil {
		fail(w, err)
		return
	}
	sub, err := x.feed.subscribe(name)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "ERR", err.Error()+": close other explorer pages and try again")
		return
	}
	defer x.feed.unsubscribe(sub)
	// Read the version after subscribing: every later change is queued.
	info, err := x.eng.SegmentInfo(name)
	if err != nil {
		fail(w, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	out := &sseWriter{w: w, rc: http.NewResponseController(w)}
	out.comment("segd live feed of segment " + clip(name, 128))
	last := info.Version
	if haveSince {
		last = x.catchUp(out, name, since, info.Version)
	}
	out.event("ready", "", map[string]uint64{"version": last})
	out.flush()
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for out.err == nil {
		select {
		case <-r.Context().Done():
			return
		case <-sub.gone:
			out.event("dropped", "", map[string]string{"reason": sub.why})
			out.flush()
			return
		case <-tick.C:
			out.comment("keep-alive")
		case c := <-sub.ch:
			for more := true; more; {
				if c.Version > last {
					out.change(c)
					last = c.Version
				}
				select {
				case c = <-sub.ch:
				default:
					more = false
				}
			}
		}
		out.flush()
	}
}

// catchUp sends the kept changes after since up to version now, and
// returns the version the live feed continues from.
func (x *Explorer) catchUp(out *sseWriter, name string, since, now uint64) uint64 {
	if since > now {
		out.event("reset", "", map[string]any{"version": now, "reason": fmt.Sprintf("version %d is ahead of the segment's version %d (was it dropped and created again?): read its members again", since, now)})
		return now
	}
	last := since
	for last < now && out.err == nil {
		next, changes, err := x.eng.SegmentChanges(name, last, 1000)
		if err != nil {
			_, msg := splitCode(err)
			out.event("reset", "", map[string]any{"version": now, "reason": msg})
			return now
		}
		if len(changes) == 0 {
			break
		}
		for _, c := range changes {
			out.change(c)
		}
		last = next
	}
	return max(last, now)
}
