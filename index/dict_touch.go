package index

import (
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

// dictTouchMax is the most keys one Touch call looks at.
const dictTouchMax = 64

// Touch reads, for each key, the memory a lookup of it will read — its home
// table slot, then the arena offset of the id found there, then the first
// bytes of that entry — one step at a time across all the keys, so that the
// cache misses of different keys overlap instead of following one another.
// A lookup is three dependent random reads (about three cache misses each
// at millions of keys); a server that knows the keys of a pipelined batch
// before it runs the batch's commands touches them first, and each command's
// own lookup then finds its memory in cache. Touch changes nothing and its
// result means nothing: it is returned so that the reads are not optimised
// away. It looks at no more than the first 64 keys.
func (d *Dict) Touch(keys [][]byte) uint32 {
	if len(keys) > dictTouchMax {
		keys = keys[:dictTouchMax]
	}
	var (
		slots [dictTouchMax]uint32
		sink  uint32
	)
	n := len(keys)
	for i, k := range keys {
		v := d.table[xxhash.Sum64(k)>>d.shift]
		slots[i] = v
		sink += v
	}
	mask := d.idMask()
	maxID := uint32(len(d.offLo))
	const noOff = uint64(dictFree) // never an entry's offset
	var offs [dictTouchMax]uint64
	for i := range n {
		offs[i] = noOff
		if v := slots[i]; v != 0 {
			if id := v&mask - 1; id < maxID {
				offs[i] = d.offset(id)
			}
		}
	}
	for i := range n {
		off := offs[i]
		if off == noOff {
			continue
		}
		if c := off >> dictChunkShift; c < uint64(len(d.chunks)) {
			if p := off & (dictChunkSize - 1); p < uint64(len(d.chunks[c])) {
				sink += uint32(d.chunks[c][p])
			}
		}
	}
	return sink
}

// TouchKeys brings into cache the dictionary memory that looking keys up
// will read (see Dict.Touch), for a caller about to run commands on them.
// It changes nothing; the result only keeps the reads from being optimised
// away.
func (e *Engine) TouchKeys(keys [][]byte) uint32 {
	if len(keys) == 0 {
		return 0
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.dict.Touch(keys)
}

// Prefetch brings into cache, for a batch of writes about to be applied in
// order, what applying them and maintaining the saved segments will read
// for each written customer: its dictionary entry (Dict.Touch), then, when
// segments exist, its membership signature word and its entry in the
// per-customer arrays of the fields the segments read (the row segment
// programs load). Each customer's reads are independent of the others', so
// across the batch their cache misses overlap, where applying the writes
// one by one would take them one after the other. It changes nothing; the
// result only keeps the reads from being optimised away.
func (e *Engine) Prefetch(ms []*Mutation) uint32 {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var (
		keys [dictTouchMax][]byte
		sink uint32
	)
	for len(ms) > 0 {
		n := 0
		for len(ms) > 0 && n < dictTouchMax {
			m := ms[0]
			ms = ms[1:]
			switch m.Op {
			case OpSet, OpUnset, OpAdd, OpRem, OpTrack:
				if m.Key != "" {
					keys[n] = unsafe.Slice(unsafe.StringData(m.Key), len(m.Key))
					n++
				}
			}
		}
		sink += e.dict.Touch(keys[:n])
		if len(e.segs) > 0 && e.segIx != nil {
			sink += e.touchRows(keys[:n])
		}
		clear(keys[:n])
	}
	return sink
}

// touchRows reads, for each key's customer, its signature word and its
// value in each field segment programs read (as progRow.loadSlot does).
func (e *Engine) touchRows(keys [][]byte) uint32 {
	var sink uint32
	for _, k := range keys {
		id, ok := e.dict.LookupBytes(k)
		if !ok {
			continue
		}
		if int(id) < len(e.sig.words) {
			sink += uint32(e.sig.words[id])
		}
		for _, sl := range e.segIx.slots {
			v, _ := sl.f.slotValue(id)
			sink += uint32(v)
		}
	}
	return sink
}
