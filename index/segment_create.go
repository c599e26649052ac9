package index

import (
	"sort"

	"github.com/segd-db/segd/index/expr"
)

// Creating and dropping saved segments, and removing a deleted entity from
// them (SEGMENT.CREATE, SEGMENT.DROP, ENT.DEL).

// createSegment applies SEGMENT.CREATE.
func (e *Engine) createSegment(name, text string, replace bool, now int64) (Result, error) {
	if !segmentNameRE.MatchString(name) {
		return Result{}, errorf("invalid segment name '%s': use 1 to 128 letters, digits, '_', '.', ':' or '-'", printable(name))
	}
	old := e.segs[name]
	if old != nil && !replace {
		return Result{}, &SegmentExistsError{Name: name}
	}
	node, err := expr.Parse(text)
	if err != nil {
		return Result{}, err
	}
	s := &segment{name: name, text: text, node: node, fields: map[string]bool{}, deps: map[string]bool{}, created: now, updated: now}
	e.analyse(s, node)
	for _, r := range s.refs {
		if r == name || (e.segs[r] != nil && e.dependsOn(e.segs[r], name)) {
			return Result{}, errorf("segment '%s' cannot reference '@%s': the references would form a cycle", name, r)
		}
	}
	p, err := e.compile(node)
	if err != nil {
		return Result{}, err
	}
	s.plan, s.schema = p, e.schema
	s.empty = e.emptyMatch(node)
	if s.timeRel {
		s.tickB = floorDiv(now, s.gran)
	}
	q := &qctx{at: now, now: now}
	if old == nil {
		bm, owned := p.eval(q, nil)
		if !owned {
			bm = bm.Clone()
		}
		s.setMembers(bm)
		s.log.max = e.changeLog
		s.note(now)
		e.segs[name] = s
		e.sigAdd(s)
	} else {
		// REPLACE keeps the segment (plans that reference it stay valid),
		// its version and change log, and records the difference as
		// changes; dependents follow.
		old.text, old.node, old.fields, old.deps, old.vdeps, old.ints, old.refs = s.text, s.node, s.fields, s.deps, s.vdeps, s.ints, s.refs
		old.timeRel, old.gran, old.tickB, old.global, old.empty = s.timeRel, s.gran, s.tickB, s.global, s.empty
		old.plan, old.schema = p, e.schema
		s = old
		e.order = nil
		for _, d := range e.segOrder() { // references first: flags flow up
			if d != s && e.dependsOn(d, name) {
				e.reanalyse(d)
			}
		}
		e.recomputeFrom(map[*segment]bool{s: true}, q)
	}
	e.reorder()
	e.resetTick()
	return Result{N: int64(s.card), Changed: true}, nil
}

// reanalyse refreshes what a segment reads after a segment it references
// was replaced. Callers reorder afterwards.
func (e *Engine) reanalyse(s *segment) {
	s.fields, s.deps, s.vdeps, s.ints, s.refs, s.timeRel, s.gran, s.global = map[string]bool{}, map[string]bool{}, nil, nil, nil, false, 0, false
	e.analyse(s, s.node)
	s.empty = e.emptyMatch(s.node)
	s.plan = nil
	if s.timeRel {
		s.tickB = floorDiv(e.now().Unix(), s.gran)
	}
}

func (e *Engine) dropSegment(name string) (Result, error) {
	if _, ok := e.segs[name]; !ok {
		return Result{}, nil
	}
	var users []string
	for _, s := range e.segs {
		for _, r := range s.refs {
			if r == name {
				users = append(users, s.name)
			}
		}
	}
	if len(users) > 0 {
		sort.Strings(users)
		return Result{}, errorf("segment '%s' is referenced by segment '%s': drop or replace that first", name, users[0])
	}
	e.sigRemove(e.segs[name])
	delete(e.segs, name)
	e.reorder()
	e.resetTick()
	e.schema++ // plans holding @name must be recompiled
	return Result{N: 1, Changed: true}, nil
}

// segmentsUsing lists the segments that read field, sorted.
func (e *Engine) segmentsUsing(field string) []string {
	var out []string
	for _, s := range e.segs {
		if s.fields[field] {
			out = append(out, s.name)
		}
	}
	sort.Strings(out)
	return out
}

// segExit removes a deleted entity from every segment holding it.
func (e *Engine) segExit(id uint32, key string, now int64) {
	for _, s := range e.segOrder() {
		if s.members.Contains(id) {
			e.record(s, id, key, false, now)
		}
		e.globalsDue = e.globalsDue || s.global
	}
}
