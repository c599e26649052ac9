package index

import (
	"math/bits"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/segd-db/segd/index/bsi"
	"github.com/segd-db/segd/index/expr"
)

// EVENT fields keep, per value and per time bucket, who had the event and the
// sum of their amounts; a field-wide "any value" series holds every
// occurrence, with or without a value. Each series also keeps two levels of
// roll-ups (weeks and 4-week blocks for DAY fields, days and weeks for HOUR
// fields), maintained as events arrive, so that a long window is a handful of
// blocks instead of hundreds of buckets.

const (
	// DefaultRetention is how long an EVENT field keeps its buckets unless
	// FIELD.CREATE says otherwise.
	DefaultRetention = 400 * 24 * time.Hour
	// MaxFutureSkew is how far ahead of the clock an event may be tracked.
	MaxFutureSkew = 5 * time.Minute
	// MaxAmount is the largest AMOUNT of one event (about 1.1e12).
	MaxAmount = 1 << 40
	// maxRetentionBuckets bounds a retention (HOUR fields: about 11 years).
	maxRetentionBuckets = 100_000
)

// counts holds positive per-entity integers for one bucket or block. To keep
// the common amount of 1 at one bit per entity, the planes hold value−1:
// value(id) = 1 + Σ 2^i·[id ∈ extra[i]] for id ∈ has, and extra[i] ⊆ has.
type counts struct {
	has   *roaring.Bitmap
	extra []*roaring.Bitmap
}

func newCounts() *counts { return &counts{has: roaring.New()} }

func (c *counts) get(id uint32) uint64 {
	if !c.has.Contains(id) {
		return 0
	}
	v := uint64(1)
	for i, p := range c.extra {
		if p.Contains(id) {
			v += 1 << uint(i)
		}
	}
	return v
}

func (c *counts) add(id uint32, a uint64) {
	// The common case, an entity new to the bucket, needs no read of the
	// planes: its count was 0.
	var old, oldX uint64
	if !c.has.CheckedAdd(id) {
		old = 1
		for i, p := range c.extra {
			if p.Contains(id) {
				old += 1 << uint(i)
			}
		}
		oldX = old - 1
	}
	newX := old + a - 1
	for diff := oldX ^ newX; diff != 0; diff &= diff - 1 {
		i := bits.TrailingZeros64(diff)
		for len(c.extra) <= i {
			c.extra = append(c.extra, roaring.New())
		}
		if newX>>uint(i)&1 == 1 {
			c.extra[i].Add(id)
		} else {
			c.extra[i].Remove(id)
		}
	}
}

// remove forgets id; it reports whether id was there.
func (c *counts) remove(id uint32) bool {
	if !c.has.CheckedRemove(id) {
		return false
	}
	for _, p := range c.extra {
		p.Remove(id)
	}
	return true
}

func (c *counts) bytes() uint64 {
	n := c.has.GetSizeInBytes()
	for _, p := range c.extra {
		n += p.GetSizeInBytes()
	}
	return n
}

// series is one value's (or the whole field's) buckets and roll-ups. Level 0
// is the bucket itself; levels 1 and 2 are aligned blocks of rollup[0] and
// rollup[1] buckets.
type series struct {
	levels [3]map[int64]*counts
}

func newSeries() *series {
	s := &series{}
	for i := range s.levels {
		s.levels[i] = map[int64]*counts{}
	}
	return s
}

// eventSpec is the time layout of an EVENT field.
type eventSpec struct {
	gran      int64    // seconds in a bucket
	retention int64    // buckets kept, the current one included
	rollup    [2]int64 // buckets in a level-1 and a level-2 block
}

func newEventSpec(gran, retention time.Duration) eventSpec {
	if gran == 0 {
		gran = 24 * time.Hour
	}
	if retention == 0 {
		retention = DefaultRetention
	}
	s := eventSpec{gran: int64(gran / time.Second)}
	s.retention = int64(retention / gran)
	if gran == time.Hour {
		s.rollup = [2]int64{24, 168}
	} else {
		s.rollup = [2]int64{7, 28}
	}
	return s
}

func (s eventSpec) granularity() time.Duration { return time.Duration(s.gran) * time.Second }
func (s eventSpec) retentionDur() time.Duration {
	return time.Duration(s.retention*s.gran) * time.Second
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func (s eventSpec) bucket(unix int64) int64 { return floorDiv(unix, s.gran) }

// retStart is the oldest bucket kept at time now.
func (s eventSpec) retStart(now int64) int64 { return s.bucket(now) - s.retention + 1 }

func (s *series) add(spec *eventSpec, id uint32, b int64, a uint64) {
	keys := [3]int64{b, floorDiv(b, spec.rollup[0]), floorDiv(b, spec.rollup[1])}
	for lvl, k := range keys {
		c := s.levels[lvl][k]
		if c == nil {
			c = newCounts()
			s.levels[lvl][k] = c
		}
		c.add(id, a)
	}
}

// remove forgets id everywhere; it reports whether id had any event.
func (s *series) remove(id uint32) bool {
	had := false
	for lvl, m := range s.levels {
		for k, c := range m {
			if c.remove(id) && lvl == 0 {
				had = true
			}
			if c.has.IsEmpty() {
				delete(m, k)
			}
		}
	}
	return had
}

// expire drops the buckets before start, and every block that holds one.
func (s *series) expire(spec *eventSpec, start int64) {
	for k := range s.levels[0] {
		if k < start {
			delete(s.levels[0], k)
		}
	}
	for lvl := 1; lvl < 3; lvl++ {
		size := spec.rollup[lvl-1]
		for k := range s.levels[lvl] {
			if k*size < start {
				delete(s.levels[lvl], k)
			}
		}
	}
}

// pieces appends the stored counts covering buckets lo..hi (inclusive),
// using the largest aligned blocks that fit.
func (s *series) pieces(spec *eventSpec, lo, hi int64, out []*counts) []*counts {
	for b := lo; b <= hi; {
		if size := spec.rollup[1]; floorDiv(b, size)*size == b && b+size-1 <= hi {
			if c := s.levels[2][b/size]; c != nil {
				out = append(out, c)
			}
			b += size
			continue
		}
		if size := spec.rollup[0]; floorDiv(b, size)*size == b && b+size-1 <= hi {
			if c := s.levels[1][b/size]; c != nil {
				out = append(out, c)
			}
			b += size
			continue
		}
		if c := s.levels[0][b]; c != nil {
			out = append(out, c)
		}
		b++
	}
	return out
}

func (s *series) bytes() uint64 {
	var n uint64
	for _, m := range s.levels {
		for _, c := range m {
			n += c.bytes() + 48
		}
	}
	return n
}

// events is the EVENT part of a field.
type events struct {
	spec   eventSpec
	any    *series
	ser    []*series // ordinal-1 -> the value's series, parallel to field.values
	newest int64     // the newest bucket holding data, to bound open windows
	oldest int64     // the oldest bucket holding data, so expiry is cheap when idle

	// The blocks (snapshot parts, see blockOf) changed since the engine's
	// last FreezeChanges.
	dirtyBlocks map[int64]struct{}
}

func newEvents(gran, retention time.Duration) *events {
	return &events{spec: newEventSpec(gran, retention), any: newSeries(), newest: -1 << 62, oldest: 1 << 62}
}

// eventOrdinal finds or makes the ordinal of an event value.
func (f *field) eventOrdinal(v string) uint32 {
	if o, ok := f.ordinals[v]; ok {
		return o
	}
	f.values = append(f.values, v)
	f.ev.ser = append(f.ev.ser, newSeries())
	o := uint32(len(f.values))
	f.ordinals[v] = o
	return o
}

func (f *field) track(id uint32, value string, b int64, amount uint64) {
	ev := f.ev
	ev.any.add(&ev.spec, id, b, amount)
	if value != "" {
		o := f.eventOrdinal(value)
		ev.ser[o-1].add(&ev.spec, id, b, amount)
	}
	ev.newest = max(ev.newest, b)
	ev.oldest = min(ev.oldest, b)
	ev.markBlock(b)
}

// expire drops the buckets older than the retention at now.
func (ev *events) expire(now int64) {
	start := ev.spec.retStart(now)
	if ev.oldest >= start {
		return
	}
	ev.any.expire(&ev.spec, start)
	for _, s := range ev.ser {
		s.expire(&ev.spec, start)
	}
	ev.oldest = start
	ev.markBlock(start) // cut short; the blocks before it are gone whole
}

// window resolves a window to the inclusive bucket range it covers as of at,
// clamped to the retention at now. lo > hi means an empty window.
func (ev *events) window(w *expr.Window, nBuckets int64, at, now int64) (lo, hi int64) {
	spec := &ev.spec
	atB := spec.bucket(at)
	lo, hi = spec.retStart(now), atB
	switch w.Kind {
	case expr.WindowIn:
		lo = max(lo, atB-nBuckets+1)
	case expr.WindowBetween:
		lo = max(lo, spec.bucket(w.From.Unix()))
		hi = min(hi, spec.bucket(w.To.Unix()))
	}
	// Nothing is stored past the newest bucket: open windows stop there.
	hi = min(hi, ev.newest)
	return lo, hi
}

func (ev *events) bytes() uint64 {
	n := ev.any.bytes()
	for _, s := range ev.ser {
		n += s.bytes()
	}
	return n
}

// sumPieces adds the pieces' counts per entity into a BSI (non-negative, so
// with an empty sign plane), restricted to filter when it is not nil. Each
// piece is added plane by plane with a ripple carry of bitmap operations.
func sumPieces(pieces []*counts, filter *roaring.Bitmap) *bsi.BSI {
	var acc []*roaring.Bitmap
	has := make([]*roaring.Bitmap, 0, len(pieces))
	for _, c := range pieces {
		h := c.has
		if filter != nil {
			h = roaring.And(h, filter)
			if h.IsEmpty() {
				continue
			}
		}
		has = append(has, h)
		acc = bsi.AddPlane(acc, h, 0)
		for i, p := range c.extra {
			if filter != nil {
				p = roaring.And(p, filter)
			}
			acc = bsi.AddPlane(acc, p, i)
		}
	}
	exists := roaring.FastOr(has...)
	return bsi.FromUnsigned(exists, acc)
}

// anyOf is the entities with at least one occurrence in the pieces.
func anyOf(pieces []*counts, filter *roaring.Bitmap) (*roaring.Bitmap, bool) {
	switch len(pieces) {
	case 0:
		return emptyBitmap, false
	case 1:
		if filter == nil {
			return pieces[0].has, false
		}
	}
	bms := make([]*roaring.Bitmap, len(pieces))
	for i, c := range pieces {
		bms[i] = c.has
	}
	out := roaring.FastOr(bms...)
	if filter != nil {
		out.And(filter)
	}
	return out, true
}

func sumAt(pieces []*counts, id uint32) uint64 {
	var n uint64
	for _, c := range pieces {
		n += c.get(id)
	}
	return n
}
