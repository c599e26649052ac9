package index

import (
	"encoding/binary"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/cespare/xxhash/v2"
	"github.com/segd-db/segd/index/bsi"
	"github.com/segd-db/segd/index/expr"
)

// SAMPLE p% SEED s is decided by a hash of the entity's key: every entity
// has a hidden slot in 0..sampleSlots-1 (xxhash of the key), kept in a BSI so
// that a sample is a range query. The seed rotates the range, so each seed is
// its own stable share of the population, unchanged by restarts, data
// changes or segment membership.
const sampleSlots = 10000

func sampleSlot(key string) int64 { return int64(xxhash.Sum64String(key) % sampleSlots) }

func sampleOffset(seed int64) int64 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seed))
	return int64(xxhash.Sum64(b[:]) % sampleSlots)
}

// rebuildSample recomputes every live entity's slot from the dictionary.
func (e *Engine) rebuildSample() {
	e.sample = bsi.New()
	it := e.live.Iterator()
	for it.HasNext() {
		id := it.Next()
		if k, ok := e.dict.Key(id); ok {
			e.sample.Set(id, sampleSlot(k))
		}
	}
}

type samplePlan struct {
	src    *expr.Sample
	sample *bsi.BSI
	live   *roaring.Bitmap
}

// ranges is the slot ranges the sample covers (the second may be empty).
func (p *samplePlan) ranges() (lo1, hi1, lo2, hi2 int64) {
	width := p.src.Percent * sampleSlots / 100
	off := sampleOffset(p.src.Seed)
	lo1, hi1 = off, off+width-1
	lo2, hi2 = 0, -1
	if hi1 >= sampleSlots {
		lo2, hi2 = 0, hi1-sampleSlots
		hi1 = sampleSlots - 1
	}
	return
}

func (p *samplePlan) eval(_ *qctx, filter *roaring.Bitmap) (*roaring.Bitmap, bool) {
	if p.src.Percent >= 100 {
		return p.live, false
	}
	if p.src.Percent <= 0 {
		return emptyBitmap, false
	}
	lo1, hi1, lo2, hi2 := p.ranges()
	out := p.sample.Range(lo1, hi1, filter)
	if lo2 <= hi2 {
		out.Or(p.sample.Range(lo2, hi2, filter))
	}
	return out, true
}

func (p *samplePlan) contains(_ *qctx, id uint32) bool {
	if p.src.Percent >= 100 {
		return p.live.Contains(id)
	}
	v, ok := p.sample.Get(id)
	if !ok {
		return false
	}
	lo1, hi1, lo2, hi2 := p.ranges()
	return (v >= lo1 && v <= hi1) || (v >= lo2 && v <= hi2)
}

func (p *samplePlan) estimate() uint64 {
	return p.live.GetCardinality() * uint64(max(0, min(p.src.Percent, 100))) / 100
}
func (p *samplePlan) label() string    { return expr.Format(p.src) }
func (p *samplePlan) children() []plan { return nil }

// InSample reports whether the entity named key is in "SAMPLE percent% SEED
// seed": the definition the engine's range queries implement.
func InSample(key string, percent, seed int64) bool {
	if percent >= 100 {
		return true
	}
	width := percent * sampleSlots / 100
	d := (sampleSlot(key) - sampleOffset(seed) + sampleSlots) % sampleSlots
	return d < width
}
