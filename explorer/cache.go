package explorer

import (
	"errors"
	"runtime"
	"sync"
	"time"

	"github.com/segd-db/segd/index"
)

// The persona (SEGMENT.PROFILE) and the lookalikes (SEGMENT.LOOKALIKE)
// read every value of every field: on a million customers they take about
// a hundred milliseconds or more each, where everything else the page asks
// takes a millisecond or less. The explorer keeps their last answers for a
// segment while its members are unchanged (the same creation and version),
// for at most analyticsTTL, so that coming back to a segment, or a second
// person opening it, is instant. The answers say when they were computed.
// A share among all customers may move meanwhile by writes to non-members;
// the TTL bounds how stale that can be.

//
// Computing them is also held to half of the CPUs (at least one
// computation at a time), so that a few people opening segments at once
// do not slow everything else the server answers (the live count, the
// other sections of the page), and a second request for an answer being
// computed waits for it rather than computing it again.

const (
	analyticsTTL     = 30 * time.Second
	analyticsEntries = 256
)

type analyticsCache struct {
	mu      sync.Mutex
	m       map[string]cachedAnswer
	flights map[string]*flight
	slots   chan struct{} // one per computation allowed at once
}

// flight is an answer being computed for a segment as it was.
type flight struct {
	created int64
	expr    string
	version uint64
	done    chan struct{}
	waiters int // requests waiting for it besides the one computing
	body    map[string]any
	err     error
}

// compute returns the answer of compute for key and the segment as info
// says it is: a computation of the same under way is waited for (unless
// fresh), else one is run when a slot is free, and kept.
//
// now reads the segment again after the computation: the answer carries
// the version it was computed at ("version") and is kept only when the
// segment did not change meanwhile (else that version is unknown: null).
func (c *analyticsCache) compute(key string, info index.SegmentInfo, fresh bool, run func() (map[string]any, error), now func() (index.SegmentInfo, error)) (map[string]any, error) {
	c.mu.Lock()
	if c.slots == nil {
		c.slots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))
		c.flights = map[string]*flight{}
	}
	if f, ok := c.flights[key]; ok && !fresh && f.created == info.Created.Unix() && f.expr == info.Expr && f.version == info.Version {
		f.waiters++
		c.mu.Unlock()
		<-f.done
		return f.body, f.err
	}
	f := &flight{created: info.Created.Unix(), expr: info.Expr, version: info.Version, done: make(chan struct{})}
	c.flights[key] = f
	c.mu.Unlock()

	defer func() { // also when run panics: the waiters get an error, the slot is freed
		c.mu.Lock()
		if c.flights[key] == f {
			delete(c.flights, key)
		}
		c.mu.Unlock()
		if f.body == nil && f.err == nil {
			f.err = errors.New("the computation failed")
		}
		close(f.done)
	}()
	c.slots <- struct{}{}
	start := time.Now()
	func() {
		defer func() { <-c.slots }()
		f.body, f.err = run()
	}()
	if f.err == nil {
		f.body["micros"] = micros(start)
		f.body["as_of"] = start.Unix()
		f.body["version"] = nil
		if after, err := now(); err == nil && after.Created.Equal(info.Created) && after.Expr == info.Expr && after.Version == info.Version {
			f.body["version"] = info.Version
			c.put(key, info, start, f.body)
		}
	}
	return f.body, f.err
}

type cachedAnswer struct {
	created int64  // the segment's creation and expression: a segment dropped
	expr    string // and made again is another one
	version uint64
	at      time.Time
	body    map[string]any
}

// get returns the answer kept for key if the segment is as it was.
func (c *analyticsCache) get(key string, info index.SegmentInfo, now time.Time) (map[string]any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.m[key]
	if !ok || a.created != info.Created.Unix() || a.expr != info.Expr || a.version != info.Version || now.Sub(a.at) >= analyticsTTL {
		return nil, false
	}
	return a.body, true
}

func (c *analyticsCache) put(key string, info index.SegmentInfo, now time.Time, body map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]cachedAnswer{}
	}
	if len(c.m) >= analyticsEntries {
		for k, a := range c.m { // drop the expired, else any one
			if now.Sub(a.at) >= analyticsTTL {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < analyticsEntries {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[key] = cachedAnswer{created: info.Created.Unix(), expr: info.Expr, version: info.Version, at: now, body: body}
}
