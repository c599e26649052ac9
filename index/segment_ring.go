package index

// Change logs: each segment keeps its last changes in a bounded ring for
// SEGMENT.CHANGES, and the engine keeps every change for DrainChanges
// (notifications) while asked to.

// changeRing is a segment's bounded change log.
type changeRing struct {
	buf   []ringChange // oldest first once full: start marks the oldest
	start int
	max   int
}

// ringChange is a change as its segment's ring keeps it, in 24 bytes: the
// segment is the ring's, and the versions of the kept changes are
// consecutive, up to the segment's. Every write records a few, each in a
// ring of its own, so that a smaller one means fewer cache lines to fetch.
type ringChange struct {
	key   string
	stamp int64 // Time<<1, | 1 for an enter
}

func (r *changeRing) add(key string, at int64, enter bool) {
	if r.max <= 0 {
		return
	}
	c := ringChange{key: key, stamp: at << 1}
	if enter {
		c.stamp |= 1
	}
	if len(r.buf) < r.max {
		r.buf = append(r.buf, c)
		return
	}
	r.buf[r.start] = c
	if r.start++; r.start == len(r.buf) {
		r.start = 0
	}
}

// at is the i-th kept change, oldest first: its key, time and direction.
func (r *changeRing) at(i int) (key string, at int64, enter bool) {
	c := r.buf[(r.start+i)%len(r.buf)]
	return c.key, c.stamp >> 1, c.stamp&1 == 1
}

// KeepChanges makes the engine keep every segment change for DrainChanges
// (off by default, so that an engine nobody drains does not grow; each
// segment's bounded change log is kept either way).
func (e *Engine) KeepChanges(on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.keepChanges = on
	if !on {
		e.outbox = nil
	}
}

// DrainChanges returns and forgets the segment changes recorded since the
// last call, in commit order. (Run a due refresh first, as an OpTick
// mutation, to include the exits of entities that aged out.)
func (e *Engine) DrainChanges() []Change {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.outbox) == 0 {
		return nil
	}
	out := e.outbox
	e.outbox = nil
	e.outboxHint = len(out)
	return out
}

// SetChangeLog sets how many changes each segment keeps for SEGMENT.CHANGES.
func (e *Engine) SetChangeLog(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.changeLog = n
	for _, s := range e.segs {
		s.log.resize(n)
	}
}

func (r *changeRing) resize(n int) {
	var all []ringChange
	for i := range r.buf {
		all = append(all, r.buf[(r.start+i)%len(r.buf)])
	}
	if len(all) > n {
		all = all[len(all)-n:]
	}
	r.buf, r.start, r.max = all, 0, n
}
