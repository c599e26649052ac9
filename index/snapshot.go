package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unsafe"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/segd-db/segd/index/bsi"
	"github.com/segd-db/segd/index/dict"
)

// Part is one named piece of a snapshot: the schema, the dictionary, the live
// entities, or one field's bitmaps.
type Part struct {
	Name string
	Data []byte
	Same bool // unchanged since the previous FreezeChanges; no Data
}

// Snapshot layouts: 1 kept each EVENT field in one part; 2 splits it into
// a header and blocks (see snapshot_changes.go). Both load.
const snapshotVersion = 2

// SnapshotLayout is the layout Snapshot writes.
const SnapshotLayout = snapshotVersion

// LayoutOf is the layout of a snapshot's parts, 0 if they have no schema.
func LayoutOf(parts []Part) int {
	for _, p := range parts {
		if p.Name == "schema" && len(p.Data) > 0 {
			return int(p.Data[0])
		}
	}
	return 0
}

// Snapshot serialises the whole engine into parts, consistently. The parts
// own their bytes. It is Freeze followed by every part's serialisation.
func (e *Engine) Snapshot() ([]Part, error) {
	fz := e.Freeze()
	parts := make([]Part, 0, fz.Len())
	err := fz.Parts(func(p Part) error {
		parts = append(parts, p)
		return nil
	})
	return parts, err
}

// A Frozen is a consistent image of the engine at one instant, to be
// serialised part by part while the engine goes on (see Freeze).
type Frozen struct {
	parts []frozenPart
}

type frozenPart struct {
	name string
	data func() ([]byte, error)
	same bool // unchanged since the previous FreezeChanges
}

// Len is the number of parts the image serialises to.
func (fz *Frozen) Len() int { return len(fz.parts) }

// Parts serialises the image one part at a time, in order, handing each to
// fn, which owns its bytes; it stops at fn's first error and returns it.
// Each part's memory is garbage once fn has let go of it, so a snapshot
// written as it is serialised never holds the whole engine twice. Parts
// must be called once, by one goroutine.
func (fz *Frozen) Parts(fn func(Part) error) error {
	for i, p := range fz.parts {
		if p.same {
			if err := fn(Part{Name: p.name, Same: true}); err != nil {
				return err
			}
			continue
		}
		data, err := p.data()
		fz.parts[i].data = nil // let the frozen bitmaps go as we pass
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", p.name, err)
		}
		if err := fn(Part{Name: p.name, Data: data}); err != nil {
			return err
		}
	}
	return nil
}

// Freeze takes a consistent image of the engine for a snapshot, under the
// write lock, in time that grows with the number of bitmaps and not with
// their size: every bitmap is cloned copy-on-write (the clone shares the
// containers, and the engine copies a container the first time it next
// writes it), the dictionary's id table is copied (its key arena is
// append-only) and the small metadata is encoded at once. Serialising the
// image (Frozen.Parts) then runs without any lock, while writes go on.
func (e *Engine) Freeze() *Frozen { return e.freeze(false) }

func (e *Engine) freeze(changes bool) *Frozen {
	e.mu.Lock()
	defer e.mu.Unlock()
	same := changes && !e.allDirty // parts may be carried over
	names := make([]string, 0, len(e.fields))
	for name := range e.fields {
		names = append(names, name)
	}
	sort.Strings(names)

	schema := []byte{snapshotVersion}
	schema = binary.AppendUvarint(schema, uint64(len(names)))
	fz := &Frozen{parts: make([]frozenPart, 0, len(names)+5)}
	for _, name := range names {
		f := e.fields[name]
		schema = appendString(schema, f.name)
		schema = append(schema, byte(f.kind))
		schema = appendStrings(schema, f.values)
		if f.kind == KindEvent {
			schema = binary.AppendVarint(schema, f.ev.spec.gran)
			schema = binary.AppendVarint(schema, f.ev.spec.retention*f.ev.spec.gran)
			fz.freezeEvents(f, same)
		} else if same && !f.dirty {
			fz.parts = append(fz.parts, frozenPart{name: "f:" + name, same: true})
		} else {
			var bms []*roaring.Bitmap
			if f.kind == KindInt {
				bms = f.bsi.Bitmaps()
			} else {
				bms = append([]*roaring.Bitmap{f.has}, f.bms...)
			}
			fz.parts = append(fz.parts, frozenPart{name: "f:" + name, data: packer(freezeAll(bms))})
		}
		if changes {
			f.dirty = false
			if f.ev != nil {
				f.ev.dirtyBlocks = nil
			}
		}
	}
	if e.strict {
		schema = append(schema, schemaStrict) // absent: auto (snapshots from before the mode)
	}
	fz.parts = append(fz.parts, frozenPart{name: "schema", data: func() ([]byte, error) { return schema, nil }})
	if same && !e.entsDirty {
		fz.parts = append(fz.parts, frozenPart{name: "dict", same: true}, frozenPart{name: "live", same: true},
			frozenPart{name: "sample", same: true})
	} else {
		keys := e.dict.Freeze()
		live := freezeBitmap(e.live)
		fz.parts = append(fz.parts,
			frozenPart{name: "dict", data: keys.MarshalBinary},
			frozenPart{name: "live", data: live.ToBytes},
			frozenPart{name: "sample", data: packer(freezeAll(e.sample.Bitmaps()))})
	}
	fz.parts = append(fz.parts, frozenPart{name: "segments", data: e.freezeSegments()})
	if changes {
		e.allDirty, e.entsDirty = false, false
	}
	return fz
}

// freezeBitmap returns a copy-on-write clone of bm: it shares bm's
// containers, and both copy a shared container before they write it. bm
// stays in plain (non copy-on-write) mode for every later clone and
// operation; only its per-container marks remain, as on a bitmap loaded
// zero-copy from a buffer. The caller holds the write lock: the marks are
// written on bm.
func freezeBitmap(bm *roaring.Bitmap) *roaring.Bitmap {
	bm.SetCopyOnWrite(true)
	c := bm.Clone()
	bm.SetCopyOnWrite(false)
	c.SetCopyOnWrite(false)
	return c
}

func freezeAll(bms []*roaring.Bitmap) []*roaring.Bitmap {
	out := make([]*roaring.Bitmap, len(bms))
	for i, bm := range bms {
		out[i] = freezeBitmap(bm)
	}
	return out
}

func packer(bms []*roaring.Bitmap) func() ([]byte, error) {
	return func() ([]byte, error) { return packBitmaps(bms) }
}

func packBitmaps(bms []*roaring.Bitmap) ([]byte, error) {
	return appendPacked(make([]byte, 0, packedSize(bms)), bms)
}

// packedSize bounds what appendPacked appends for bms.
func packedSize(bms []*roaring.Bitmap) int {
	size := 10 + 8
	for _, bm := range bms {
		size += int(bm.GetSerializedSizeInBytes()) + 10 + 7
	}
	return size
}

// appendPacked appends bms to out: a count, then each bitmap's length and
// serialisation, every bitmap starting at a multiple of 8 from the start of
// out. Each bitmap is written straight into out (given the capacity of
// packedSize, out never grows): serialising through ToBytes would build and
// regrow a buffer per bitmap and copy it once more, which at gigabytes of
// bitmaps costs more than everything else a snapshot does.
func appendPacked(out []byte, bms []*roaring.Bitmap) ([]byte, error) {
	out = binary.AppendUvarint(out, uint64(len(bms)))
	w := &appendWriter{b: out}
	for _, bm := range bms {
		n := int(bm.GetSerializedSizeInBytes())
		w.b = appendAlignedLen(w.b, uint64(n), 0)
		before := len(w.b)
		if _, err := bm.WriteTo(w); err != nil {
			return nil, err
		}
		if len(w.b)-before != n {
			return nil, fmt.Errorf("bitmap serialised to %d bytes, announced %d", len(w.b)-before, n)
		}
	}
	// Slack after the last bitmap (readers ignore it): roaring's FromBuffer
	// may form an empty slice just past a bitmap's last byte, which must
	// still point into the part's allocation.
	return append(w.b, make([]byte, 8)...), nil
}

// appendWriter is an io.Writer appending to b.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// appendAlignedLen appends n as a uvarint, padded with redundant
// continuation bytes (which every uvarint reader accepts) so that what
// starts skip bytes after it is at a multiple of 8 from the start of out: a
// part loaded at an aligned address then hands its bitmaps to FromBuffer in
// place, with no copy (see aligned). Lengths too long to pad enough stay
// minimal.
func appendAlignedLen(out []byte, n uint64, skip int) []byte {
	m := len(binary.AppendUvarint(nil, n))
	k := m
	for (len(out)+k+skip)%8 != 0 {
		k++
	}
	if k > binary.MaxVarintLen64 || n>>(7*uint(k)) != 0 {
		return binary.AppendUvarint(out, n)
	}
	for i := 0; i < k-1; i++ {
		out = append(out, byte(n>>(7*uint(i)))&0x7f|0x80)
	}
	return append(out, byte(n>>(7*uint(k-1)))&0x7f)
}

// unpackMeta splits a part written as a length-prefixed header followed by
// packed bitmaps (events, event blocks, segments) into a reader of the
// header and the bitmaps, zero-copy.
func unpackMeta(data []byte) (reader, []*roaring.Bitmap, error) {
	r := reader{b: data}
	meta := reader{b: r.bytes()}
	if r.err != nil {
		return meta, nil, r.err
	}
	bms, err := unpackBitmaps(r.b)
	return meta, bms, err
}

// unpackBitmaps reads bitmaps zero-copy: they reference data, which the
// caller must never modify (roaring copies containers on write).
func unpackBitmaps(data []byte) ([]*roaring.Bitmap, error) {
	r := reader{b: data}
	n := r.count()
	out := make([]*roaring.Bitmap, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		b := r.bytes()
		if r.err != nil {
			break
		}
		bm := roaring.New()
		if _, err := bm.FromBuffer(aligned(b)); err != nil {
			return nil, fmt.Errorf("bitmap %d: %w", i, err)
		}
		out = append(out, bm)
	}
	if r.err != nil {
		return nil, r.err
	}
	return out, nil
}

// aligned returns b, or a copy of it at an 8-byte aligned address: FromBuffer
// reads containers in place as []uint16 and []uint64, which must be aligned
// (Go's pointer checks fail on them otherwise, and not every CPU forgives
// unaligned reads), while a bitmap packed after a length prefix starts
// anywhere.
func aligned(b []byte) []byte {
	if len(b) == 0 || uintptr(unsafe.Pointer(&b[0]))%8 == 0 {
		return b
	}
	words := make([]uint64, (len(b)+7)/8)
	out := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(b))
	copy(out, b)
	return out
}

// LoadSnapshot replaces the engine's contents with the parts of a snapshot.
// The parts' bytes are referenced, not copied: the caller hands them over.
func (e *Engine) LoadSnapshot(parts []Part) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("load snapshot: corrupt data: %v", r)
		}
	}()
	byName := map[string][]byte{}
	for _, p := range parts {
		byName[p.Name] = p.Data
	}
	schema, ok := byName["schema"]
	if !ok || len(schema) == 0 || schema[0] < 1 || schema[0] > snapshotVersion {
		return errors.New("load snapshot: missing or unknown schema part")
	}
	version := schema[0]
	keys, err := dict.Unmarshal(byName["dict"])
	if err != nil {
		return fmt.Errorf("load snapshot: dictionary: %w", err)
	}
	live := roaring.New()
	if _, err := live.FromBuffer(byName["live"]); err != nil {
		return fmt.Errorf("load snapshot: live set: %w", err)
	}
	fields := map[string]*field{}
	r := reader{b: schema[1:]}
	n := r.count()
	for i := 0; i < n && r.err == nil; i++ {
		name := r.str()
		if r.err != nil || len(r.b) == 0 {
			break
		}
		kind := Kind(r.b[0])
		r.b = r.b[1:]
		values := r.strs()
		if r.err != nil {
			break
		}
		if kind == KindEvent {
			gran, ret := r.varint(), r.varint()
			if r.err != nil {
				break
			}
			restore := restoreEventField
			if version >= 2 {
				restore = func(name string, values []string, gran, ret time.Duration, data []byte) (*field, error) {
					return restoreEventBlocks(name, values, gran, ret, data, byName)
				}
			}
			f, err := restore(name, values, time.Duration(gran)*time.Second, time.Duration(ret)*time.Second, byName["f:"+name])
			if err != nil {
				return fmt.Errorf("load snapshot: %w", err)
			}
			fields[name] = f
			continue
		}
		bms, err := unpackBitmaps(byName["f:"+name])
		if err != nil {
			return fmt.Errorf("load snapshot: field %s: %w", name, err)
		}
		f, err := restoreField(name, kind, values, bms)
		if err != nil {
			return fmt.Errorf("load snapshot: %w", err)
		}
		fields[name] = f
	}
	if r.err != nil {
		return fmt.Errorf("load snapshot: schema: %w", r.err)
	}
	strict := len(r.b) > 0 && r.b[0] == schemaStrict
	var sample *bsi.BSI
	if data, ok := byName["sample"]; ok {
		bms, err := unpackBitmaps(data)
		if err == nil {
			sample, err = bsi.FromBitmaps(bms)
		}
		if err != nil {
			return fmt.Errorf("load snapshot: sample slots: %w", err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.dict, e.live, e.fields, e.strict = keys, live, fields, strict
	if err := e.loadSegments(byName["segments"]); err != nil {
		return fmt.Errorf("load snapshot: segments: %w", err)
	}
	if sample != nil {
		e.sample = sample
	} else {
		e.rebuildSample() // a snapshot from before SAMPLE existed
	}
	// The engine is now what the snapshot holds: a later FreezeChanges
	// may carry its parts over, if it has this layout.
	e.markClean()
	e.allDirty = version != snapshotVersion
	e.schema++
	e.gen++
	return nil
}

func restoreField(name string, kind Kind, values []string, bms []*roaring.Bitmap) (*field, error) {
	f := newField(name, kind)
	switch kind {
	case KindInt:
		b, err := bsi.FromBitmaps(bms)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", name, err)
		}
		f.bsi = b
	case KindEnum, KindTags:
		if len(bms) != len(values)+1 {
			return nil, fmt.Errorf("field %s: %d bitmaps for %d values", name, len(bms), len(values))
		}
		f.has = bms[0]
		f.values = values
		f.bms = bms[1:]
		for i, v := range values {
			f.ordinals[strings.Clone(v)] = uint32(i + 1)
		}
		if kind == KindEnum && len(values) > enumOrdinalThreshold {
			f.buildOrd()
		}
	default:
		return nil, fmt.Errorf("field %s: unknown kind %d", name, kind)
	}
	return f, nil
}
