package index

import (
	"unsafe"

	"github.com/segd-db/segd/index/dict"
)

// TouchKeys brings into cache the dictionary memory that looking keys up
// will read (see dict.Dict.Touch), for a caller about to run commands on them.
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
// for each written customer: its dictionary entry (dict.Dict.Touch), then, when
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
		keys [dict.TouchMax][]byte
		sink uint32
	)
	for len(ms) > 0 {
		n := 0
		for len(ms) > 0 && n < dict.TouchMax {
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
