package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd-db/segd/index/bsi"
	"github.com/segd-db/segd/index/dict"
	"github.com/segd-db/segd/index/expr"
)

// Op is the kind of a Mutation.
type Op uint8

const (
	OpCreateField   Op = iota + 1 // Field, Kind
	OpDropField                   // Field
	OpSet                         // Key, Pairs
	OpUnset                       // Key, Fields
	OpAdd                         // Key, Field, Values
	OpRem                         // Key, Field, Values
	OpDel                         // Keys
	OpFlush                       // everything
	OpTrack                       // Key, Field, Values (none or one), At, Amount
	OpSegmentCreate               // Key (the name), Values[0] (the expression), Replace
	OpSegmentDrop                 // Key (the name)
	OpTick                        // refresh time-relative segments at Now
	OpSchemaMode                  // Values[0]: "auto" or "strict"
)

// Pair is one field and value of ENT.SET.
type Pair struct {
	Field, Value string
}

// Mutation is one write, as a client asked for it. Apply validates it whole
// before changing anything, so a rejected mutation changes nothing. Mutations
// are the write log: replaying the applied ones in order rebuilds the engine.
type Mutation struct {
	Op     Op
	Key    string
	Keys   []string
	Field  string
	Kind   Kind
	Pairs  []Pair
	Fields []string
	Values []string

	// ENT.TRACK: the event's time (zero: the engine's clock, which Apply
	// writes back so the log replays the same time) and amount (0 means 1).
	At     time.Time
	Amount int64
	// FIELD.CREATE of an EVENT field: bucket size (time.Hour or 24h; 0 is
	// DAY) and retention (0 is DefaultRetention).
	Granularity time.Duration
	Retention   time.Duration
	// SEGMENT.CREATE … REPLACE.
	Replace bool
	// FIELD.DROP … FORCE: drop a field entities still hold.
	Force bool
	// Now is the engine's clock when the mutation was applied; Apply writes
	// it, and Replay applies the mutation at that time again, so saved
	// segments evolve exactly as they did.
	Now time.Time
}

// Result is what Apply did.
type Result struct {
	N       int64 // the command's integer reply
	Changed bool  // whether any state changed (only changed mutations need logging)
	// Ticked says that a time-relative refresh, due when the mutation came,
	// ran first and changed segments. A write log records it as an OpTick
	// at m.Now before the mutation (even a rejected one), so that a replay
	// refreshes at the same moment.
	Ticked bool
	// Created names the fields the write created (auto schema mode), in
	// order: the server logs and counts them, as a typo shows up there.
	Created []string
}

// Apply validates and applies m atomically, then brings the saved segments
// up to date for what it changed.
func (e *Engine) Apply(m *Mutation) (Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.applyAt(m, false)
}

// Replay applies a mutation read back from the write log, at the clock it
// was first applied at (m.Now). It differs from Apply in one more way: an
// event is not checked against the clock (the log holds only accepted
// events).
func (e *Engine) Replay(m *Mutation) (Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !m.Now.IsZero() {
		clock := e.now
		at := m.Now
		e.now = func() time.Time { return at }
		defer func() { e.now = clock }()
	}
	return e.applyAt(m, true)
}

func (e *Engine) applyAt(m *Mutation, replay bool) (Result, error) {
	now := e.now()
	if m.Now.IsZero() {
		m.Now = time.Unix(now.Unix(), 0).UTC()
	}
	before := e.nchanges
	e.tick(now.Unix())
	ticked := e.nchanges > before
	defer e.noteHistory(now.Unix())
	if m.Op == OpTick {
		// A tick is logged only when it changed a segment, so that a replay
		// refreshes at the same moments and repeats the same versions.
		return Result{Changed: ticked}, nil
	}
	e.applyNow = now.Unix()
	e.touched = e.touched[:0]
	res, err := e.apply(m, replay)
	if err == nil && res.Changed {
		e.gen++
		e.maintain(now.Unix())
	}
	e.touched = e.touched[:0]
	res.Ticked = ticked
	return res, err
}

func (e *Engine) apply(m *Mutation, replay bool) (Result, error) {
	switch m.Op {
	case OpTrack:
		return e.track(m, replay)
	case OpCreateField:
		return e.createField(m)
	case OpSegmentCreate:
		if len(m.Values) != 1 {
			return Result{}, errorf("a segment is created from a name and one expression")
		}
		return e.createSegment(m.Key, m.Values[0], m.Replace, e.applyNow)
	case OpSegmentDrop:
		return e.dropSegment(m.Key)
	case OpDropField:
		f, ok := e.fields[m.Field]
		if !ok {
			return Result{}, nil
		}
		if users := e.segmentsUsing(m.Field); len(users) > 0 {
			return Result{}, errorf("field '%s' is used by segment '%s': drop or replace the segment first", m.Field, users[0])
		}
		if n := e.fieldHolders(f); n > 0 && !m.Force {
			return Result{}, errorf("field '%s' is held by %d entities: dropping it deletes their values; give FORCE to drop it anyway", m.Field, n)
		}
		delete(e.fields, m.Field)
		e.schema++
		return Result{N: 1, Changed: true}, nil
	case OpSchemaMode:
		return e.setSchemaMode(m.Values)
	case OpSet:
		return e.set(m.Key, m.Pairs)
	case OpUnset:
		return e.unset(m.Key, m.Fields)
	case OpAdd, OpRem:
		return e.tags(m.Op, m.Key, m.Field, m.Values)
	case OpDel:
		return e.del(m.Keys)
	case OpFlush:
		e.dict = dict.New()
		e.live = roaring.New()
		e.sample = bsi.New()
		e.fields = map[string]*field{}
		e.segs = map[string]*segment{}
		e.allDirty = true
		e.reorder()
		e.sigRebuild()
		e.resetTick()
		e.schema++
		return Result{Changed: true}, nil
	}
	return Result{}, errorf("unknown mutation %d", m.Op)
}

func (e *Engine) createField(m *Mutation) (Result, error) {
	name, kind := m.Field, m.Kind
	if err := ValidFieldName(name); err != nil {
		return Result{}, err
	}
	switch kind {
	case KindEnum, KindTags, KindInt:
		if m.Granularity != 0 || m.Retention != 0 {
			return Result{}, errorf("GRANULARITY and RETENTION apply to EVENT fields only")
		}
	case KindEvent:
		if err := checkEventSpec(m.Granularity, m.Retention); err != nil {
			return Result{}, err
		}
	default:
		return Result{}, errorf("unknown field kind: use ENUM, TAGS, INT or EVENT")
	}
	if f, ok := e.fields[name]; ok {
		if f.kind != kind {
			return Result{}, errorf("field '%s' exists as %s; drop it first to make it %s", name, f.kind, kind)
		}
		if kind == KindEvent && f.ev.spec != newEventSpec(m.Granularity, m.Retention) {
			return Result{}, errorf("field '%s' exists as EVENT GRANULARITY %s RETENTION %s; drop it first to change them", name,
				granularityName(f.ev.spec.granularity()), expr.FormatDuration(f.ev.spec.retentionDur()))
		}
		return Result{}, nil
	}
	f := newField(name, kind)
	if kind == KindEvent {
		f.ev = newEvents(m.Granularity, m.Retention)
	}
	e.fields[name] = f
	e.schema++
	return Result{N: 1, Changed: true}, nil
}

// prepareField finds the field a write of want-kind goes to, or checks that
// it can be auto-created (pending holds fields auto-created earlier in the same
// mutation). intValue says the value is a canonical integer (for ENT.SET).
func (e *Engine) prepareField(name string, set bool, value string, pending map[string]Kind) (Kind, error) {
	kind, ok := pending[name]
	if f, exists := e.fields[name]; exists {
		kind, ok = f.kind, true
	}
	if !ok {
		if err := e.mayCreate(name); err != nil {
			return 0, err
		}
		kind = KindTags
		if set {
			kind = KindEnum
			if _, isInt := canonicalInt(value); isInt {
				kind = KindInt
			}
		}
		pending[name] = kind
		return kind, nil
	}
	switch {
	case set && kind == KindInt:
		if _, isInt := canonicalInt(value); !isInt {
			return 0, wrongTypef("field '%s' is INT and '%s' is not a decimal integer", name, printable(value))
		}
	case set && kind != KindEnum:
		return 0, &KindError{Field: name, Kind: kind}
	case !set && kind != KindTags:
		return 0, &KindError{Field: name, Kind: kind}
	}
	return kind, nil
}

// createdNames is the names of the fields a write creates, sorted.
func createdNames(pending map[string]Kind) []string {
	if len(pending) == 0 {
		return nil
	}
	names := make([]string, 0, len(pending))
	for n := range pending {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (e *Engine) ensureField(name string, kind Kind) *field {
	f, ok := e.fields[name]
	if !ok {
		f = newField(name, kind)
		e.fields[name] = f
		e.schema++
	}
	return f
}

func (e *Engine) entity(key string) (id uint32, created bool) {
	id, created = e.dict.Insert(key)
	if created {
		e.entsDirty = true
		e.live.Add(id)
		e.sample.Set(id, sampleSlot(key))
		e.touchNew(id)
	}
	return id, created
}

func (e *Engine) set(key string, pairs []Pair) (Result, error) {
	if err := checkKey(key); err != nil {
		return Result{}, err
	}
	if len(pairs) == 0 {
		return Result{}, errorf("a set needs at least one field and value")
	}
	pending := map[string]Kind{}
	for _, p := range pairs {
		if err := checkValue(p.Field, p.Value); err != nil {
			return Result{}, err
		}
		if _, err := e.prepareField(p.Field, true, p.Value, pending); err != nil {
			return Result{}, err
		}
	}
	id, created := e.entity(key)
	res := Result{Changed: created || len(pending) > 0, Created: createdNames(pending)}
	for _, p := range pairs {
		f := e.fields[p.Field]
		if f == nil {
			f = e.ensureField(p.Field, pending[p.Field])
		}
		changed := false
		if f.kind == KindInt {
			n, _ := canonicalInt(p.Value)
			old, hadOld := f.bsi.Get(id)
			changed = f.bsi.Set(id, n)
			if changed {
				f.dirty = true
				e.touchInt(id, p.Field, old, hadOld, n, true)
			}
		} else {
			old := f.enumOrdinal(id)
			changed = f.setEnum(id, p.Value)
			if changed {
				if old != 0 {
					e.touchEnum(id, p.Field, f.values[old-1], old)
				}
				e.touchEnum(id, p.Field, p.Value, old)
			}
		}
		if changed {
			res.N++
			res.Changed = true
		}
	}
	return res, nil
}

func (e *Engine) unset(key string, fields []string) (Result, error) {
	if err := checkKey(key); err != nil {
		return Result{}, err
	}
	for _, name := range fields {
		if _, err := e.field(name); err != nil {
			return Result{}, err
		}
	}
	id, ok := e.dict.Lookup(key)
	if !ok {
		return Result{}, nil
	}
	var res Result
	for _, name := range fields {
		f := e.fields[name]
		var old int64
		var hadOld bool
		var oldOrd uint32
		switch f.kind {
		case KindInt:
			old, hadOld = f.bsi.Get(id)
		case KindEnum:
			oldOrd = f.enumOrdinal(id)
		}
		if f.clear(id) {
			res.N++
			res.Changed = true
			switch {
			case f.kind == KindInt:
				e.touchInt(id, name, old, hadOld, 0, false)
			case f.kind == KindEnum && oldOrd != 0:
				// Only the value it held changed (and f:*).
				e.touchEnum(id, name, f.values[oldOrd-1], oldOrd)
			default:
				e.touch(id, name, "")
			}
		}
	}
	return res, nil
}

func (e *Engine) tags(op Op, key, name string, values []string) (Result, error) {
	if err := checkKey(key); err != nil {
		return Result{}, err
	}
	if len(values) == 0 {
		return Result{}, errorf("give at least one value")
	}
	for _, v := range values {
		if err := checkValue(name, v); err != nil {
			return Result{}, err
		}
	}
	if op == OpRem {
		f, err := e.field(name)
		if err != nil {
			return Result{}, err
		}
		if f.kind != KindTags {
			return Result{}, &KindError{Field: name, Kind: f.kind}
		}
		id, ok := e.dict.Lookup(key)
		if !ok {
			return Result{}, nil
		}
		var res Result
		for _, v := range values {
			if f.remTag(id, v) {
				res.N++
				res.Changed = true
				e.touch(id, name, v)
			}
		}
		return res, nil
	}
	pending := map[string]Kind{}
	if _, err := e.prepareField(name, false, "", pending); err != nil {
		return Result{}, err
	}
	f := e.ensureField(name, KindTags)
	id, created := e.entity(key)
	res := Result{Changed: created || len(pending) > 0, Created: createdNames(pending)}
	for _, v := range values {
		if f.addTag(id, v) {
			res.N++
			res.Changed = true
			e.touch(id, name, v)
		}
	}
	return res, nil
}

func (e *Engine) del(keys []string) (Result, error) {
	for _, k := range keys {
		if err := checkKey(k); err != nil {
			return Result{}, err
		}
	}
	var res Result
	for _, k := range keys {
		id, ok := e.dict.Lookup(k)
		if !ok {
			continue
		}
		// Every bitmap forgets the id before the dictionary frees it for reuse.
		e.segExit(id, k, e.applyNow)
		for _, f := range e.fields {
			f.clear(id)
		}
		e.live.Remove(id)
		e.sample.Clear(id)
		e.dict.Delete(k)
		e.entsDirty = true
		res.N++
		res.Changed = true
	}
	return res, nil
}

// Binary encoding of mutations for the write log: a version byte, the op,
// then uvarint-length-prefixed strings and uvarint counts.

// Version 2 adds the time, amount, granularity and retention; version 1
// records (written before EVENT fields existed) still decode.
const mutationVersion = 2

// AppendBinary appends m's encoding to dst.
func (m *Mutation) AppendBinary(dst []byte) []byte {
	dst = append(dst, mutationVersion, byte(m.Op), byte(m.Kind))
	dst = appendString(dst, m.Key)
	dst = appendString(dst, m.Field)
	dst = appendStrings(dst, m.Keys)
	dst = binary.AppendUvarint(dst, uint64(len(m.Pairs)))
	for _, p := range m.Pairs {
		dst = appendString(dst, p.Field)
		dst = appendString(dst, p.Value)
	}
	dst = appendStrings(dst, m.Fields)
	dst = appendStrings(dst, m.Values)
	var at int64
	if !m.At.IsZero() {
		at = m.At.Unix()
	}
	dst = binary.AppendVarint(dst, at)
	dst = binary.AppendVarint(dst, m.Amount)
	dst = binary.AppendVarint(dst, int64(m.Granularity/time.Second))
	dst = binary.AppendVarint(dst, int64(m.Retention/time.Second))
	var now int64
	if !m.Now.IsZero() {
		now = m.Now.Unix()
	}
	dst = binary.AppendVarint(dst, now)
	var flags uint64
	if m.Replace {
		flags |= 1
	}
	if m.Force {
		flags |= 2
	}
	dst = binary.AppendUvarint(dst, flags)
	return dst
}

// UnmarshalMutation decodes a mutation written by AppendBinary.
func UnmarshalMutation(b []byte) (*Mutation, error) {
	if len(b) < 3 || (b[0] != 1 && b[0] != mutationVersion) {
		return nil, errors.New("mutation: bad header")
	}
	m := &Mutation{Op: Op(b[1]), Kind: Kind(b[2])}
	r := reader{b: b[3:]}
	m.Key = r.str()
	m.Field = r.str()
	m.Keys = r.strs()
	n := r.count()
	if n > 0 {
		m.Pairs = make([]Pair, n)
		for i := range m.Pairs {
			m.Pairs[i] = Pair{Field: r.str(), Value: r.str()}
		}
	}
	m.Fields = r.strs()
	m.Values = r.strs()
	if b[0] >= 2 {
		if at := r.varint(); m.Op == OpTrack {
			m.At = time.Unix(at, 0).UTC()
		}
		m.Amount = r.varint()
		m.Granularity = time.Duration(r.varint()) * time.Second
		m.Retention = time.Duration(r.varint()) * time.Second
		if now := r.varint(); now != 0 {
			m.Now = time.Unix(now, 0).UTC()
		}
		flags := r.uvarint()
		m.Replace, m.Force = flags&1 != 0, flags&2 != 0
	}
	if r.err != nil {
		return nil, fmt.Errorf("mutation: %w", r.err)
	}
	return m, nil
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendStrings(dst []byte, ss []string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ss)))
	for _, s := range ss {
		dst = appendString(dst, s)
	}
	return dst
}

// reader decodes uvarint-prefixed data, remembering the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errors.New("truncated varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errors.New("truncated varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err = errors.New("count exceeds data")
		return 0
	}
	return int(n)
}

func (r *reader) bytes() []byte {
	n := r.count()
	if r.err != nil {
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) str() string { return string(r.bytes()) }

func (r *reader) strs() []string {
	n := r.count()
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.str()
	}
	return out
}
