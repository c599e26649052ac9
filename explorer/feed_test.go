package explorer

// The live feed (server-sent events): what a page follows, its errors, and
// a slow reader dropped.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/segd-db/segd/index"
)

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
	if _, err := r.write(&index.Mutation{Op: index.OpSet, Key: "new", Pairs: []index.Pair{{Field: "tier", Value: "gold"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.write(&index.Mutation{Op: index.OpSet, Key: "u:1", Pairs: []index.Pair{{Field: "country", Value: "ES"}}}); err != nil { // not a gold change
		t.Fatal(err)
	}
	if _, err := r.write(&index.Mutation{Op: index.OpDel, Keys: []string{"u:0"}}); err != nil {
		t.Fatal(err)
	}
	ev := f.next()
	var c changeEvent
	if err := json.Unmarshal([]byte(ev.data), &c); err != nil || ev.id != "1" || ev.name != "" {
		t.Fatalf("event %+v: %v", ev, err)
	}
	if c != (changeEvent{Segment: "gold", Key: "new", Change: "enter", Version: 1, Time: r.now.Load()}) {
		t.Errorf("change %+v", c)
	}
	ev = f.next()
	if err := json.Unmarshal([]byte(ev.data), &c); err != nil {
		t.Fatal(err)
	}
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
