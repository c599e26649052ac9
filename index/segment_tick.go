package index

// Time-relative segments: refreshed whole at their fields' bucket
// boundaries, before any reader or writer sees the new bucket.

// tick refreshes the time-relative segments whose bucket has passed.
func (e *Engine) tick(now int64) {
	if now < e.nextTick.Load() {
		return
	}
	due := map[*segment]bool{}
	next := int64(1<<63 - 1)
	for _, s := range e.segs {
		if !s.timeRel {
			continue
		}
		if b := floorDiv(now, s.gran); b != s.tickB {
			due[s] = true
			s.tickB = b
		}
		next = min(next, (s.tickB+1)*s.gran)
	}
	e.nextTick.Store(next)
	if len(due) > 0 {
		e.recomputeFrom(due, &qctx{at: now, now: now})
	}
}

// resetTick recomputes when the next time-relative refresh is due.
func (e *Engine) resetTick() {
	next := int64(1<<63 - 1)
	for _, s := range e.segs {
		if s.timeRel {
			next = min(next, (s.tickB+1)*s.gran)
		}
	}
	e.nextTick.Store(next)
}

// tickDue reports, under the read lock, whether a refresh is due.
func (e *Engine) tickDue() bool {
	next := e.nextTick.Load()
	return next != 1<<63-1 && e.now().Unix() >= next
}

// rlock takes the read lock after running any due time-relative refresh, so
// that no reader sees a segment from a bucket that has passed.
func (e *Engine) rlock() {
	e.mu.RLock()
	if !e.tickDue() {
		return
	}
	e.mu.RUnlock()
	e.mu.Lock()
	now := e.now().Unix()
	e.tick(now)
	e.noteHistory(now)
	e.mu.Unlock()
	e.mu.RLock()
}

// TickDue reports whether a time-relative segment is due for a refresh. A
// server applies an OpTick mutation then (and on a timer), through its
// write log, so that a replay refreshes at the same moments; readers that
// find a refresh due run it themselves (see rlock), which a replay repeats
// with the next write.
func (e *Engine) TickDue() bool {
	if e.nextTick.Load() == 1<<63-1 {
		return false // no time-relative segment: nothing is ever due (no lock taken)
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.tickDue()
}
