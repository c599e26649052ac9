package index

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
)

// Incremental snapshots. FreezeChanges marks the parts that have not
// changed since the previous FreezeChanges (or since the snapshot the engine
// was loaded from) as Same, so that storage carries them over instead of
// serialising and writing them again. What a part is made of decides how
// often it changes:
//
//   - each ENUM, TAGS or INT field is one part, "f:<name>";
//   - an EVENT field is a header, "f:<name>" (the newest and oldest buckets
//     and the list of blocks), and one part per block of rollup[1] buckets
//     (28 days of a DAY field, a week of an HOUR field), "e:<name>:<block>",
//     holding every series' buckets and roll-ups of that block. Live events
//     land in the newest block, so a snapshot rewrites that block and leaves
//     the year before it where it is;
//   - the dictionary, live set and sample slots change with the entities;
//   - the schema and the saved segments are always written.
//
// Writes mark what they change (field.dirty, events.dirtyBlocks,
// Engine.entsDirty); Engine.allDirty marks everything, as after a FLUSHALL,
// a failed snapshot or a load of a snapshot from before this layout.

// blockOf is the block (snapshot part) of key k at level lvl.
func (s *eventSpec) blockOf(lvl int, k int64) int64 {
	switch lvl {
	case 0:
		return floorDiv(k, s.rollup[1])
	case 1:
		return floorDiv(k*s.rollup[0], s.rollup[1])
	}
	return k
}

func (ev *events) markBlock(b int64) {
	if ev.dirtyBlocks == nil {
		ev.dirtyBlocks = map[int64]struct{}{}
	}
	ev.dirtyBlocks[ev.spec.blockOf(0, b)] = struct{}{}
}

// FreezeChanges is Freeze for a snapshot that follows the previous one
// written from this engine: the parts unchanged since the previous
// FreezeChanges, or since the snapshot the engine was loaded from, come out
// of Frozen.Parts with Same set and no data. Every FreezeChanges must be
// followed by a successful write of its image as the store's current
// snapshot, or by ChangesLost.
func (e *Engine) FreezeChanges() *Frozen { return e.freeze(true) }

// ChangesLost says that the image of the last FreezeChanges was not
// written: the next FreezeChanges writes every part.
func (e *Engine) ChangesLost() {
	e.mu.Lock()
	e.allDirty = true
	e.mu.Unlock()
}

// markClean forgets every change mark: the engine is what its store's
// current snapshot holds. The caller holds the write lock.
func (e *Engine) markClean() {
	e.allDirty, e.entsDirty = false, false
	for _, f := range e.fields {
		f.dirty = false
		if f.ev != nil {
			f.ev.dirtyBlocks = nil
		}
	}
}

// eventBlock is one block's counts, by series (0: the field-wide one).
type eventBlock struct {
	series [][]blockCounts
}

type blockCounts struct {
	lvl int
	key int64
	c   *counts
}

// freezeEvents adds the parts of EVENT field f to fz: its header and its
// blocks, frozen, or Same where unchanged (with same). The caller holds
// the write lock.
func (fz *Frozen) freezeEvents(f *field, same bool) {
	ev := f.ev
	blocks := map[int64]*eventBlock{}
	all := append([]*series{ev.any}, ev.ser...)
	for si, s := range all {
		for lvl, m := range s.levels {
			for k, c := range m {
				b := ev.spec.blockOf(lvl, k)
				blk := blocks[b]
				if blk == nil {
					blk = &eventBlock{}
					blocks[b] = blk
				}
				for len(blk.series) <= si {
					blk.series = append(blk.series, nil)
				}
				blk.series[si] = append(blk.series[si], blockCounts{lvl, k, c})
			}
		}
	}
	keys := make([]int64, 0, len(blocks))
	for b := range blocks {
		keys = append(keys, b)
	}
	slices.Sort(keys)
	header := binary.AppendVarint(nil, ev.newest)
	header = binary.AppendVarint(header, ev.oldest)
	header = binary.AppendUvarint(header, uint64(len(keys)))
	for _, b := range keys {
		header = binary.AppendVarint(header, b)
	}
	unchanged := same && !f.dirty && len(ev.dirtyBlocks) == 0
	fz.parts = append(fz.parts, frozenPart{name: "f:" + f.name, same: unchanged,
		data: func() ([]byte, error) { return header, nil }})
	for _, b := range keys {
		name := blockPartName(f.name, b)
		if _, changed := ev.dirtyBlocks[b]; same && !f.dirty && !changed {
			fz.parts = append(fz.parts, frozenPart{name: name, same: true})
			continue
		}
		blk := blocks[b]
		for _, list := range blk.series {
			slices.SortFunc(list, func(x, y blockCounts) int {
				if x.lvl != y.lvl {
					return x.lvl - y.lvl
				}
				return compareInt64(x.key, y.key)
			})
			for i := range list {
				c := list[i].c
				list[i].c = &counts{has: freezeBitmap(c.has), extra: freezeAll(c.extra)}
			}
		}
		fz.parts = append(fz.parts, frozenPart{name: name, data: blk.marshal})
	}
}

func compareInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func blockPartName(field string, b int64) string {
	return "e:" + field + ":" + strconv.FormatInt(b, 10)
}

// marshal encodes a block part: the number of series, then per series the
// number of its counts and, for each, its level, key and number of extra
// planes; then every bitmap, packed, each counts' has then its planes.
func (blk *eventBlock) marshal() ([]byte, error) {
	meta := binary.AppendUvarint(nil, uint64(len(blk.series)))
	var bms []*roaring.Bitmap
	for _, list := range blk.series {
		meta = binary.AppendUvarint(meta, uint64(len(list)))
		for _, bc := range list {
			meta = append(meta, byte(bc.lvl))
			meta = binary.AppendVarint(meta, bc.key)
			meta = binary.AppendUvarint(meta, uint64(len(bc.c.extra)))
			bms = append(bms, bc.c.has)
			bms = append(bms, bc.c.extra...)
		}
	}
	out := appendAlignedLen(make([]byte, 0, len(meta)+10+packedSize(bms)), uint64(len(meta)), len(meta))
	out = append(out, meta...)
	return appendPacked(out, bms)
}

// restoreEventBlocks rebuilds an EVENT field from its header part and its
// block parts (byName), in the layout freezeEvents writes.
func restoreEventBlocks(name string, values []string, gran, retention time.Duration, header []byte, byName map[string][]byte) (*field, error) {
	f := newEventField(name, values, newEvents(gran, retention))
	ev := f.ev
	bad := func(format string, args ...any) (*field, error) {
		return nil, fmt.Errorf("field %s: %s", name, fmt.Sprintf(format, args...))
	}
	h := reader{b: header}
	ev.newest, ev.oldest = h.varint(), h.varint()
	n := h.count()
	for i := 0; i < n && h.err == nil; i++ {
		b := h.varint()
		if h.err != nil {
			break
		}
		data, ok := byName[blockPartName(name, b)]
		if !ok {
			return bad("block %d is missing", b)
		}
		if err := ev.loadBlock(data); err != nil {
			return bad("block %d: %v", b, err)
		}
	}
	if h.err != nil {
		return bad("header: %v", h.err)
	}
	return f, nil
}

// loadBlock adds one block part's counts to ev.
func (ev *events) loadBlock(data []byte) error {
	meta, bms, err := unpackMeta(data)
	if err != nil {
		return err
	}
	nser := meta.count()
	if nser > len(ev.ser)+1 {
		return fmt.Errorf("%d series for %d values", nser, len(ev.ser))
	}
	next := 0
	for si := 0; si < nser && meta.err == nil; si++ {
		s := ev.any
		if si > 0 {
			s = ev.ser[si-1]
		}
		n := meta.count()
		for j := 0; j < n && meta.err == nil; j++ {
			if len(meta.b) == 0 {
				return fmt.Errorf("truncated series")
			}
			lvl := int(meta.b[0])
			meta.b = meta.b[1:]
			k := meta.varint()
			nx := int(meta.uvarint())
			if lvl > 2 || nx > 64 || next+1+nx > len(bms) {
				return fmt.Errorf("bad counts (level %d, %d planes)", lvl, nx)
			}
			c := &counts{has: bms[next], extra: bms[next+1 : next+1+nx : next+1+nx]}
			next += 1 + nx
			s.levels[lvl][k] = c
		}
	}
	if meta.err != nil {
		return meta.err
	}
	if next != len(bms) {
		return fmt.Errorf("%d bitmaps, %d used", len(bms), next)
	}
	return nil
}
