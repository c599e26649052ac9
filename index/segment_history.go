package index

import "time"

// SEGMENT.HISTORY: a segment's cardinality over time, sampled on change and
// down-sampled with age: one point per minute for the last day, per hour for
// the last 30 days, per day before that, for at most historyDays days. Each
// point is the cardinality at the end of its minute, hour or day.

const historyDays = 400

// HistoryPoint is a segment's cardinality at a time (Unix seconds).
type HistoryPoint struct {
	Time        int64
	Cardinality uint64
}

// historyStep is the resolution of a point of age age (seconds).
func historyStep(age int64) int64 {
	switch {
	case age < 86400:
		return 60
	case age < 30*86400:
		return 3600
	}
	return 86400
}

// noteHistory samples the segments whose membership changed since the last
// call. The engine calls it at the end of every mutation.
func (e *Engine) noteHistory(now int64) {
	for _, s := range e.histDirty {
		s.histDirty = false
		s.note(now)
	}
	e.histDirty = e.histDirty[:0]
}

// note records the cardinality of s at now.
func (s *segment) note(now int64) {
	card := s.card
	if n := len(s.history); n > 0 {
		last := &s.history[n-1]
		if floorDiv(last.Time, 60) == floorDiv(now, 60) {
			last.Time, last.Cardinality = now, card
			return
		}
		if last.Cardinality == card && now >= last.Time {
			return // a sample on change: nothing changed
		}
	}
	s.history = append(s.history, HistoryPoint{Time: now, Cardinality: card})
	if len(s.history)%64 == 0 {
		s.compactHistory(now)
	}
}

// compactHistory keeps the last point of each minute, hour or day bucket,
// by age, and drops points older than historyDays.
func (s *segment) compactHistory(now int64) {
	out := s.history[:0]
	for i, p := range s.history {
		age := now - p.Time
		if age > historyDays*86400 {
			continue
		}
		step := historyStep(age)
		if i+1 < len(s.history) {
			next := s.history[i+1]
			if floorDiv(next.Time, step) == floorDiv(p.Time, step) && historyStep(now-next.Time) == step {
				continue // a later point of the same bucket wins
			}
		}
		out = append(out, p)
	}
	s.history = out
}

// SegmentHistory returns the segment's cardinality over time since the
// given time (zero: all kept), oldest first, down-sampled with age.
func (e *Engine) SegmentHistory(name string, since time.Time) ([]HistoryPoint, error) {
	e.rlock()
	defer e.mu.RUnlock()
	s, err := e.segment(name)
	if err != nil {
		return nil, err
	}
	kept := &segment{history: append([]HistoryPoint(nil), s.history...)}
	kept.compactHistory(e.now().Unix())
	out := []HistoryPoint{}
	for _, p := range kept.history {
		if since.IsZero() || p.Time >= since.Unix() {
			out = append(out, p)
		}
	}
	return out, nil
}
