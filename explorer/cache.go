package explorer

import (
	"sync"
	"time"

	"segd/index"
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

const (
	analyticsTTL     = 30 * time.Second
	analyticsEntries = 256
)

type analyticsCache struct {
	mu sync.Mutex
	m  map[string]cachedAnswer
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
