// Package index is segd's in-memory segment engine: a key dictionary
// (index/dict), one roaring bitmap per ENUM/TAGS value, bit-sliced INT fields
// (index/bsi), event counts, saved segments, snapshots, and the planner and
// evaluator of the expression language (parsed by index/expr). It is usable
// embedded from Go without the server.
//
// An Engine is safe for concurrent use: writes take an exclusive lock for
// microseconds, queries share a read lock.
package index

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd-db/segd/index/bsi"
	"github.com/segd-db/segd/index/dict"
)

// Engine is the in-memory segment engine.
type Engine struct {
	mu     sync.RWMutex
	dict   *dict.Dict
	live   *roaring.Bitmap // every live entity
	fields map[string]*field
	schema uint64   // bumped on every field create/drop
	strict bool     // schema mode strict: writes create no field (schema_mode.go)
	gen    uint64   // bumped on every change of data
	sample *bsi.BSI // entity id -> SAMPLE slot
	now    func() time.Time

	// Saved segments.
	segs        map[string]*segment
	order       []*segment   // segs, references first; nil when stale
	segIx       *segIndex    // built with order
	maint       maintScratch // what maintaining one write reuses (segment_scratch.go)
	sig         sigIndex     // membership signatures (segment_sig.go)
	sigDefer    bool         // maintain is recording: exits leave their group in sigPending
	sigPending  uint64       // groups whose bit of the entity being maintained needs a recheck
	evalSeq     uint64       // bumped for each entity maintain evaluates (segment.evalSeq)
	touched     []touched    // what the current write changed
	globalsDue  bool         // a delete happened: TOP segments must be recomputed
	outbox      []Change     // changes not yet drained, in commit order
	outboxHint  int          // how many the last drain took
	keepChanges bool         // whether to fill outbox
	nchanges    uint64       // segment changes ever recorded
	histDirty   []*segment   // segments to sample for SEGMENT.HISTORY
	nextTick    atomic.Int64 // when a time-relative segment is next due (written under the write lock; read without it by TickDue)
	changeLog   int          // changes kept per segment
	applyNow    int64        // the clock of the write being applied

	cache *exprCache

	// What changed since the last FreezeChanges (fields and event blocks
	// keep their own marks): everything, or the dictionary, live set and
	// sample slots.
	allDirty, entsDirty bool

	rangeMu    sync.Mutex
	rangeCache map[rangeKey]rangeEntry // INT range holders for profiles, by data generation
}

// New returns an empty engine.
func New() *Engine {
	e := &Engine{
		dict:      dict.New(),
		live:      roaring.New(),
		fields:    map[string]*field{},
		sample:    bsi.New(),
		now:       time.Now,
		segs:      map[string]*segment{},
		changeLog: DefaultChangeLog,
		allDirty:  true,
		cache:     newExprCache(4096),
	}
	e.nextTick.Store(1<<63 - 1)
	e.reorder() // built, so that readers never build it
	return e
}

// SetClock replaces the clock that relative windows, retention and ENT.TRACK
// without AT read (time.Now by default). Tests move time with it.
func (e *Engine) SetClock(now func() time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = now
}

// Now is the engine's clock.
func (e *Engine) Now() time.Time {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.now()
}

// FieldInfo describes one field.
type FieldInfo struct {
	Name     string
	Kind     Kind
	Values   int    // distinct values held (ENUM, TAGS); -1 when not counted (INT)
	Entities uint64 // entities with any value
	Bytes    uint64 // memory held by the field's bitmaps
	// EVENT: bucket size and retention.
	Granularity, Retention time.Duration
}

// ValueCount is one value of a field with the number of entities holding it.
type ValueCount struct {
	Value    string
	Entities uint64
}

// FieldValue is one field of an entity, as ENT.GET shows it.
type FieldValue struct {
	Field string
	Kind  Kind
	Str   string   // ENUM
	Int   int64    // INT
	Tags  []string // TAGS
	// EVENT: the sum of amounts over the retention per value, "*" first
	// (every occurrence), then by value.
	Events []EventAmount
}

// Len is the number of live entities.
func (e *Engine) Len() uint64 {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.live.GetCardinality()
}

// Exists reports whether key is a live entity.
func (e *Engine) Exists(key string) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	_, ok := e.dict.Lookup(key)
	return ok
}

// Fields lists the fields sorted by name.
func (e *Engine) Fields() []FieldInfo {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]FieldInfo, 0, len(e.fields))
	for _, f := range e.fields {
		out = append(out, FieldInfo{Name: f.name, Kind: f.kind})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// FieldInfo describes the named field.
func (e *Engine) FieldInfo(name string) (FieldInfo, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	f, err := e.field(name)
	if err != nil {
		return FieldInfo{}, err
	}
	info := FieldInfo{Name: f.name, Kind: f.kind, Values: -1, Entities: f.entities(e.now().Unix()).GetCardinality(), Bytes: f.sizeInBytes()}
	if f.kind != KindInt {
		info.Values = f.distinct()
	}
	if f.kind == KindEvent {
		info.Granularity, info.Retention = f.ev.spec.granularity(), f.ev.spec.retentionDur()
	}
	return info, nil
}

// FieldValues lists an ENUM or TAGS field's values, most entities first (ties
// by value), at most limit of them (limit <= 0: all).
func (e *Engine) FieldValues(name string, limit int) ([]ValueCount, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	f, err := e.valuesField(name)
	if err != nil {
		return nil, err
	}
	return e.groupCounts(e.qctx(time.Time{}), f, nil, limit), nil
}

// valuesField finds an ENUM, TAGS or EVENT field, whose values can be listed.
func (e *Engine) valuesField(name string) (*field, error) {
	f, err := e.field(name)
	if err != nil {
		return nil, err
	}
	if f.kind == KindInt {
		return nil, wrongTypef("field '%s' is %s: only ENUM, TAGS and EVENT fields have values to list; an INT field has stats", name, f.kind)
	}
	return f, nil
}

// groupCounts counts, per value, the entities holding it within filter (nil:
// all). An EVENT value is held by the entities with an occurrence of it in
// the retention, up to the AT time.
func (e *Engine) groupCounts(q *qctx, f *field, filter *roaring.Bitmap, limit int) []ValueCount {
	bms := f.bms
	if f.kind == KindEvent {
		bms = make([]*roaring.Bitmap, len(f.values))
		for i, v := range f.values {
			sel := eventSel{f: f, values: []string{v}}
			pcs, _, _ := sel.pieces(q)
			bms[i], _ = anyOf(pcs, nil)
		}
	}
	out := make([]ValueCount, 0, len(bms))
	for i, bm := range bms {
		var n uint64
		if filter == nil {
			n = bm.GetCardinality()
		} else {
			n = bm.AndCardinality(filter)
		}
		if n > 0 {
			out = append(out, ValueCount{Value: f.values[i], Entities: n})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Entities != out[j].Entities {
			return out[i].Entities > out[j].Entities
		}
		return out[i].Value < out[j].Value
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// Get returns an entity's values for the named fields (all fields when none
// are named), sorted by field name, leaving out fields without a value. found
// is false for an unknown key.
func (e *Engine) Get(key string, fields []string) (vals []FieldValue, found bool, err error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var fs []*field
	if len(fields) == 0 {
		for _, f := range e.fields {
			fs = append(fs, f)
		}
		sort.Slice(fs, func(i, j int) bool { return fs[i].name < fs[j].name })
	} else {
		for _, name := range fields {
			f, err := e.field(name)
			if err != nil {
				return nil, false, err
			}
			fs = append(fs, f)
		}
	}
	if err := checkKey(key); err != nil {
		return nil, false, err
	}
	id, ok := e.dict.Lookup(key)
	if !ok {
		return nil, false, nil
	}
	for _, f := range fs {
		fv := FieldValue{Field: f.name, Kind: f.kind}
		switch f.kind {
		case KindEnum:
			o := f.enumOrdinal(id)
			if o == 0 {
				continue
			}
			fv.Str = f.values[o-1]
		case KindTags:
			fv.Tags = f.tagsOf(id)
			if len(fv.Tags) == 0 {
				continue
			}
		case KindInt:
			v, ok := f.bsi.Get(id)
			if !ok {
				continue
			}
			fv.Int = v
		case KindEvent:
			fv.Events = f.eventAmounts(id, e.now().Unix())
			if len(fv.Events) == 0 {
				continue
			}
		default:
			continue
		}
		vals = append(vals, fv)
	}
	return vals, true, nil
}

// SizeInBytes approximates the memory held by the dictionary and bitmaps.
func (e *Engine) SizeInBytes() uint64 {
	e.mu.RLock()
	defer e.mu.RUnlock()
	n := e.dict.SizeInBytes() + e.live.GetSizeInBytes()
	for _, f := range e.fields {
		n += f.sizeInBytes()
	}
	n += e.sample.SizeInBytes()
	for _, s := range e.segs {
		n += s.members.GetSizeInBytes()
	}
	return n
}

// FieldCount is the number of fields.
func (e *Engine) FieldCount() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return len(e.fields)
}

func (e *Engine) field(name string) (*field, error) {
	f, ok := e.fields[name]
	if !ok {
		return nil, errorf("unknown field '%s'%s", printable(name), e.didYouMean(name))
	}
	return f, nil
}
