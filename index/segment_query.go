package index

import (
	"sort"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
)

// SegmentInfo describes a saved segment (SEGMENT.INFO).
type SegmentInfo struct {
	Name         string
	Expr         string
	Cardinality  uint64
	Version      uint64
	Created      time.Time
	Updated      time.Time
	Bytes        uint64
	Fields       []string // fields the expression reads, sorted
	Segments     []string // segments it references, sorted
	TimeRelative bool     // it reads events, so it moves with time
}

func (e *Engine) segment(name string) (*segment, error) {
	s, ok := e.segs[name]
	if !ok {
		return nil, errorf("unknown segment '%s'", printable(name))
	}
	return s, nil
}

// Segments lists the saved segments' names, sorted.
func (e *Engine) Segments() []string {
	e.rlock()
	defer e.mu.RUnlock()
	out := make([]string, 0, len(e.segs))
	for n := range e.segs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// SegmentCount is the number of saved segments.
func (e *Engine) SegmentCount() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return len(e.segs)
}

// SegmentInfo describes the named segment.
func (e *Engine) SegmentInfo(name string) (SegmentInfo, error) {
	e.rlock()
	defer e.mu.RUnlock()
	s, err := e.segment(name)
	if err != nil {
		return SegmentInfo{}, err
	}
	info := SegmentInfo{Name: s.name, Expr: s.text, Cardinality: s.card, Version: s.version,
		Created: time.Unix(s.created, 0).UTC(), Updated: time.Unix(s.updated, 0).UTC(),
		Bytes: s.members.GetSizeInBytes(), TimeRelative: s.timeRel}
	for f := range s.fields {
		info.Fields = append(info.Fields, f)
	}
	sort.Strings(info.Fields)
	seen := map[string]bool{}
	for _, r := range s.refs {
		if !seen[r] {
			seen[r] = true
			info.Segments = append(info.Segments, r)
		}
	}
	sort.Strings(info.Segments)
	for i := range s.log.buf {
		info.Bytes += uint64(len(s.log.buf[i].key)) + 24
	}
	return info, nil
}

// SegmentCard is the number of members.
func (e *Engine) SegmentCard(name string) (uint64, error) {
	e.rlock()
	defer e.mu.RUnlock()
	s, err := e.segment(name)
	if err != nil {
		return 0, err
	}
	return s.card, nil
}

// SegmentMembers pages through the members like QUERY.MEMBERS.
func (e *Engine) SegmentMembers(name string, cursor uint64, count int) (uint64, []string, error) {
	e.rlock()
	defer e.mu.RUnlock()
	s, err := e.segment(name)
	if err != nil {
		return 0, nil, err
	}
	return e.page(s.members, cursor, count)
}

// SegmentIsMember reports whether key is a member; unknown keys are not.
func (e *Engine) SegmentIsMember(name, key string) (bool, error) {
	e.rlock()
	defer e.mu.RUnlock()
	s, err := e.segment(name)
	if err != nil {
		return false, err
	}
	id, ok := e.dict.Lookup(key)
	return ok && s.members.Contains(id), nil
}

// SegmentMIsMember answers SegmentIsMember for many keys.
func (e *Engine) SegmentMIsMember(name string, keys []string) ([]bool, error) {
	e.rlock()
	defer e.mu.RUnlock()
	s, err := e.segment(name)
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(keys))
	for i, k := range keys {
		id, ok := e.dict.Lookup(k)
		out[i] = ok && s.members.Contains(id)
	}
	return out, nil
}

// SegmentsOf lists, sorted, the segments holding key (none for an unknown key).
func (e *Engine) SegmentsOf(key string) []string {
	e.rlock()
	defer e.mu.RUnlock()
	id, ok := e.dict.Lookup(key)
	if !ok {
		return []string{}
	}
	var buf [64]*segment
	held := e.sigHolding(id, buf[:0])
	out := make([]string, len(held))
	for i, s := range held {
		out[i] = s.name
	}
	sort.Strings(out)
	return out
}

// SegmentOverlap is the k×k matrix of intersection sizes of the named
// segments (the diagonal holds each cardinality).
func (e *Engine) SegmentOverlap(names []string) ([][]uint64, error) {
	e.rlock()
	defer e.mu.RUnlock()
	bms := make([]*roaring.Bitmap, len(names))
	for i, n := range names {
		s, err := e.segment(n)
		if err != nil {
			return nil, err
		}
		bms[i] = s.members
	}
	return overlap(bms), nil
}

// SegmentChanges returns the changes with a version above since, oldest
// first, at most count of them (count <= 0: all kept), and the version to
// pass as since next time. It is an error when since is older than the kept
// log reaches.
func (e *Engine) SegmentChanges(name string, since uint64, count int) (uint64, []Change, error) {
	e.rlock()
	defer e.mu.RUnlock()
	s, err := e.segment(name)
	if err != nil {
		return 0, nil, err
	}
	n := len(s.log.buf)
	oldest := s.version - uint64(n) + 1 // version of the oldest kept change
	if since >= s.version {
		return s.version, []Change{}, nil
	}
	if since+1 < oldest {
		return 0, nil, errorf("version %d of segment '%s' is older than its change log: the oldest kept version is %d; read the members again and follow from version %d",
			since, name, oldest, s.version)
	}
	skip := int(since + 1 - oldest)
	out := make([]Change, 0, min(n-skip, max(count, 0)+1))
	for i := skip; i < n && (count <= 0 || len(out) < count); i++ {
		key, at, enter := s.log.at(i)
		out = append(out, Change{Segment: s.name, Key: key, Enter: enter, Version: oldest + uint64(i), Time: at})
	}
	next := s.version
	if len(out) > 0 {
		next = out[len(out)-1].Version
	}
	return next, out, nil
}
