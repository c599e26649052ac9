package dict

import "github.com/cespare/xxhash/v2"

// TouchMax is the most keys one Touch call looks at.
const TouchMax = 64

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
	if len(keys) > TouchMax {
		keys = keys[:TouchMax]
	}
	var (
		slots [TouchMax]uint32
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
	var offs [TouchMax]uint64
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
