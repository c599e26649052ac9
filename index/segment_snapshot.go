package index

import (
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/segd-db/segd/index/expr"
)

// The "segments" snapshot part: a header with, per segment (sorted by name),
// its name, expression, version, created, updated, the bucket it was last
// refreshed in, and its kept change log; then the members bitmaps, packed.

// freezeSegments encodes the segments' metadata at once and returns the
// serialiser of the part, which packs frozen copies of the members
// bitmaps; the caller holds the write lock.
func (e *Engine) freezeSegments() func() ([]byte, error) {
	names := make([]string, 0, len(e.segs))
	for n := range e.segs {
		names = append(names, n)
	}
	sort.Strings(names)
	meta := binary.AppendUvarint(nil, uint64(len(names)))
	bms := make([]*roaring.Bitmap, 0, len(names))
	for _, n := range names {
		s := e.segs[n]
		meta = appendString(meta, s.name)
		meta = appendString(meta, s.text)
		meta = binary.AppendUvarint(meta, s.version)
		meta = binary.AppendVarint(meta, s.created)
		meta = binary.AppendVarint(meta, s.updated)
		meta = binary.AppendVarint(meta, s.tickB)
		meta = binary.AppendUvarint(meta, uint64(len(s.log.buf)))
		for i := range s.log.buf {
			key, at, enter := s.log.at(i)
			meta = appendString(meta, key)
			if enter {
				meta = append(meta, 1)
			} else {
				meta = append(meta, 0)
			}
			meta = binary.AppendVarint(meta, at)
		}
		meta = binary.AppendUvarint(meta, uint64(len(s.history)))
		for _, h := range s.history {
			meta = binary.AppendVarint(meta, h.Time)
			meta = binary.AppendUvarint(meta, h.Cardinality)
		}
		bms = append(bms, freezeBitmap(s.members))
	}
	return func() ([]byte, error) {
		// The bitmaps start at a multiple of 8, as appendPacked keeps them.
		out := appendAlignedLen(make([]byte, 0, len(meta)+10+packedSize(bms)), uint64(len(meta)), len(meta))
		out = append(out, meta...)
		return appendPacked(out, bms)
	}
}

// loadSegments restores the segments part into e, whose fields are loaded.
func (e *Engine) loadSegments(data []byte) error {
	e.segs, e.order = map[string]*segment{}, nil
	if data == nil {
		e.reorder()
		e.sigRebuild()
		e.resetTick()
		return nil
	}
	meta, bms, err := unpackMeta(data)
	if err != nil {
		return err
	}
	n := meta.count()
	if n != len(bms) {
		return fmt.Errorf("%d segments and %d bitmaps", n, len(bms))
	}
	for i := 0; i < n && meta.err == nil; i++ {
		s := &segment{name: meta.str(), text: meta.str(), fields: map[string]bool{}, deps: map[string]bool{}, members: bms[i], card: bms[i].GetCardinality()}
		s.version = meta.uvarint()
		s.created, s.updated, s.tickB = meta.varint(), meta.varint(), meta.varint()
		nlog := meta.count()
		s.log.max = max(e.changeLog, nlog)
		for j := 0; j < nlog && meta.err == nil; j++ {
			key := meta.str()
			if len(meta.b) == 0 {
				meta.err = fmt.Errorf("truncated change log")
				break
			}
			enter := meta.b[0] == 1
			meta.b = meta.b[1:]
			s.log.add(key, meta.varint(), enter)
		}
		nh := meta.count()
		for j := 0; j < nh && meta.err == nil; j++ {
			s.history = append(s.history, HistoryPoint{Time: meta.varint(), Cardinality: meta.uvarint()})
		}
		node, err := expr.Parse(s.text)
		if err != nil {
			return fmt.Errorf("segment %s: %w", s.name, err)
		}
		s.node = node
		e.segs[s.name] = s
	}
	if meta.err != nil {
		return meta.err
	}
	// References first: a segment's analysis reads its references'.
	for _, s := range e.segs {
		e.analyse(s, s.node)
	}
	for _, s := range e.segOrder() {
		tickB := s.tickB
		e.reanalyse(s)
		s.tickB = tickB
	}
	if e.changeLog < 0 {
		e.changeLog = 0
	}
	for _, s := range e.segs {
		s.log.resize(e.changeLog)
	}
	e.reorder() // the index was built before the analysis above
	e.sigRebuild()
	e.resetTick()
	return nil
}
