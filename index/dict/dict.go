package dict

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

// Dict maps keys (byte strings) to dense uint32 ids and back.
//
// Memory layout (no per-key Go pointers, so the GC never walks it):
//
//   - chunks: the key arena, a list of byte chunks of at most dictChunkSize
//     bytes. Each entry is uvarint(len) followed by the key bytes; entries never
//     span chunks. The global offset of an entry is chunk<<dictChunkShift | pos.
//   - offLo/offHi: the reverse table, id → global arena offset. offLo holds the
//     low 32 bits; offHi (allocated only once the arena passes 4 GiB) holds bits
//     32..39. offLo == dictFree marks a free id: no entry can start at the last
//     byte of a chunk, and dictChunkSize divides 2^32, so that value is never a
//     real offset.
//   - table: open addressing with linear probing over uint32 slots, 0 = empty,
//     else (id+1) in the low idBits bits and the low bits of the key's hash in
//     the remaining high bits (a tag that skips almost every false key compare).
//     Deletion shifts entries back, so there are no tombstones. The slot of a
//     hash is its top bits; the table doubles past a 3/4 load.
//   - free: freed ids, reused last-in first-out.
//
// Per key this costs the key length + 1 (uvarint) + 4 (offLo) + 4/load (table),
// about key length + 12 bytes at 10M keys.
//
// A Dict is not safe for concurrent use by a writer and readers; the read-only
// methods (Lookup, LookupBytes, Key, AppendKey, Len, MaxID, SizeInBytes,
// MarshalBinary) may run concurrently with each other.
type Dict struct {
	chunks  [][]byte
	offLo   []uint32
	offHi   []uint8
	table   []uint32
	shift   uint // slot = hash >> shift
	idBits  uint // bits of a slot holding id+1
	free    []uint32
	live    int
	used    uint64 // arena bytes held by live entries
	garbage uint64 // arena bytes held by deleted entries
	sink    uint32 // keeps fill's prefetching loads alive
}

const (
	dictChunkShift    = 22
	dictChunkSize     = 1 << dictChunkShift
	dictFirstChunk    = 256 // initial capacity of a new small chunk
	dictFree          = ^uint32(0)
	dictMaxOffset     = 1<<40 - 1
	dictMinIDBits     = 16
	dictMinTable      = 16
	dictCompactMin    = 4 << 20 // garbage below this never triggers a compaction
	dictMaxEntryBytes = dictChunkSize - 8

	// MaxKeyLen is the longest key a Dict accepts.
	MaxKeyLen = 1 << 20
)

// New returns an empty dictionary.
func New() *Dict {
	d := &Dict{idBits: dictMinIDBits}
	d.table = make([]uint32, dictMinTable)
	d.shift = 64 - uint(bits.TrailingZeros(dictMinTable))
	return d
}

func (d *Dict) idMask() uint32 { return uint32(uint64(1)<<d.idBits - 1) }

// entrySize is the arena bytes of a key of length n.
func entrySize(n int) int {
	if n < 0x80 {
		return 1 + n
	}
	if n < 0x4000 {
		return 2 + n
	}
	if n < 0x200000 {
		return 3 + n
	}
	return 4 + n
}

func (d *Dict) offset(id uint32) uint64 {
	off := uint64(d.offLo[id])
	if d.offHi != nil {
		off |= uint64(d.offHi[id]) << 32
	}
	return off
}

// entry returns the key bytes stored for a live id and the entry's size.
func (d *Dict) entry(id uint32) ([]byte, int) {
	off := d.offset(id)
	c := d.chunks[off>>dictChunkShift]
	p := int(off & (dictChunkSize - 1))
	n, w := int(c[p]), 1
	if n >= 0x80 {
		v, k := binary.Uvarint(c[p:])
		n, w = int(v), k
	}
	return c[p+w : p+w+n : p+w+n], w + n
}

// find looks key (with hash h) up. It returns the slot holding it, or the empty
// slot ending its probe sequence.
func (d *Dict) find(key string, h uint64) (slot int, id uint32, ok bool) {
	mask := d.idMask()
	tag := uint32(h) &^ mask
	tmask := len(d.table) - 1
	i := int(h >> d.shift)
	for {
		v := d.table[i]
		if v == 0 {
			return i, 0, false
		}
		if v&^mask == tag {
			id := v&mask - 1
			if b, _ := d.entry(id); string(b) == key {
				return i, id, true
			}
		}
		i = (i + 1) & tmask
	}
}

// Lookup returns the id of key.
func (d *Dict) Lookup(key string) (id uint32, ok bool) {
	_, id, ok = d.find(key, xxhash.Sum64String(key))
	return id, ok
}

// LookupBytes returns the id of key without allocating.
func (d *Dict) LookupBytes(key []byte) (id uint32, ok bool) {
	s := unsafe.String(unsafe.SliceData(key), len(key)) // not retained
	_, id, ok = d.find(s, xxhash.Sum64(key))
	return id, ok
}

// Insert returns the id of key, adding it if absent (created = true). New ids
// come from the free list (most recently freed first), else MaxID. Insert
// panics on a key longer than MaxKeyLen or when 2^32-1 ids are in use.
func (d *Dict) Insert(key string) (id uint32, created bool) {
	h := xxhash.Sum64String(key)
	slot, id, ok := d.find(key, h)
	if ok {
		return id, false
	}
	if len(key) > MaxKeyLen {
		panic(fmt.Sprintf("dict: dictionary key of %d bytes exceeds %d", len(key), MaxKeyLen))
	}
	if n := len(d.free); n > 0 {
		id = d.free[n-1]
		d.free = d.free[:n-1]
	} else {
		if uint64(len(d.offLo)) >= uint64(dictFree) {
			panic("dict: dictionary is full")
		}
		id = uint32(len(d.offLo))
		d.offLo = append(d.offLo, dictFree)
		if d.offHi != nil {
			d.offHi = append(d.offHi, 0)
		}
	}
	d.setOffset(id, d.appendEntry(key))
	d.live++
	d.used += uint64(entrySize(len(key)))

	rebuild := false
	idBits := d.idBits
	if id+1 > d.idMask() {
		idBits = uint(bits.Len32(id + 1))
		rebuild = true
	}
	size := len(d.table)
	for d.live > size-size/4 {
		size *= 2
		rebuild = true
	}
	if rebuild {
		d.rebuild(size, idBits)
	} else {
		d.table[slot] = (id + 1) | (uint32(h) &^ d.idMask())
	}
	return id, true
}

func (d *Dict) setOffset(id uint32, off uint64) {
	if off>>32 != 0 && d.offHi == nil {
		d.offHi = make([]uint8, len(d.offLo), cap(d.offLo))
	}
	d.offLo[id] = uint32(off)
	if d.offHi != nil {
		d.offHi[id] = uint8(off >> 32)
	}
}

// appendEntry stores key in the arena and returns its global offset.
func (d *Dict) appendEntry(key string) uint64 {
	n := entrySize(len(key))
	need := max(n, 2) // never start an entry at a chunk's last byte (see dictFree)
	last := len(d.chunks) - 1
	if last < 0 || len(d.chunks[last])+need > dictChunkSize {
		d.chunks = append(d.chunks, make([]byte, 0, min(max(dictFirstChunk, need), dictChunkSize)))
		last++
	}
	c := d.chunks[last]
	if len(c)+n > cap(c) {
		nc := make([]byte, len(c), min(max(2*cap(c), len(c)+need), dictChunkSize))
		copy(nc, c)
		c = nc
	}
	pos := len(c)
	off := uint64(last)<<dictChunkShift | uint64(pos)
	if off > dictMaxOffset {
		panic("dict: dictionary arena exceeds 1 TiB")
	}
	c = binary.AppendUvarint(c, uint64(len(key)))
	c = append(c, key...)
	d.chunks[last] = c
	return off
}

// rebuild reinserts every live id into a new table of size slots.
func (d *Dict) rebuild(size int, idBits uint) {
	d.table = nil // let the old table go before allocating the new one
	d.table = make([]uint32, size)
	d.shift = 64 - uint(bits.TrailingZeros(uint(size)))
	d.idBits = idBits
	_ = d.fill(false) // without check, fill cannot fail
}

// fill inserts every live id into the empty table; with check it fails on a
// duplicate key. Keys go in batches: a first pass hashes a batch and touches
// each home slot, so that the batch's cache misses overlap instead of
// following one another (about 2x faster at 10M keys).
func (d *Dict) fill(check bool) error {
	const batch = 32
	var (
		ids  [batch]uint32
		hs   [batch]uint64
		sink uint32
	)
	mask := d.idMask()
	tmask := len(d.table) - 1
	maxID := uint32(len(d.offLo))
	for next := uint32(0); next < maxID; {
		n := 0
		for ; next < maxID && n < batch; next++ {
			if d.offLo[next] == dictFree {
				continue
			}
			b, _ := d.entry(next)
			h := xxhash.Sum64(b)
			ids[n], hs[n] = next, h
			sink += d.table[h>>d.shift]
			n++
		}
		for k := range n {
			id, h := ids[k], hs[k]
			var slot int
			if check {
				b, _ := d.entry(id)
				s, _, dup := d.find(unsafe.String(unsafe.SliceData(b), len(b)), h)
				if dup {
					return dictCorrupt("duplicate key for id %d", id)
				}
				slot = s
			} else {
				slot = int(h >> d.shift)
				for d.table[slot] != 0 {
					slot = (slot + 1) & tmask
				}
			}
			d.table[slot] = (id + 1) | (uint32(h) &^ mask)
		}
	}
	d.sink = sink
	return nil
}

// Delete removes key and puts its id on the free list.
func (d *Dict) Delete(key string) (id uint32, ok bool) {
	slot, id, ok := d.find(key, xxhash.Sum64String(key))
	if !ok {
		return 0, false
	}
	// Backward-shift deletion: pull later members of the cluster into the hole
	// when that does not move them before their home slot.
	mask := d.idMask()
	tmask := len(d.table) - 1
	hole, j := slot, slot
	for {
		j = (j + 1) & tmask
		v := d.table[j]
		if v == 0 {
			break
		}
		b, _ := d.entry(v&mask - 1)
		home := int(xxhash.Sum64(b) >> d.shift)
		if (j > hole && (home <= hole || home > j)) || (j < hole && home <= hole && home > j) {
			d.table[hole] = v
			hole = j
		}
	}
	d.table[hole] = 0

	_, n := d.entry(id)
	d.offLo[id] = dictFree
	if d.offHi != nil {
		d.offHi[id] = 0
	}
	d.free = append(d.free, id)
	d.live--
	d.used -= uint64(n)
	d.garbage += uint64(n)
	if d.garbage > dictCompactMin && d.garbage > d.used {
		d.compact()
	}
	return id, true
}

// compact rewrites the arena with live entries only, in id order.
func (d *Dict) compact() {
	old, hi := d.chunks, d.offHi
	d.chunks, d.offHi = nil, nil
	for id := range uint32(len(d.offLo)) {
		if d.offLo[id] == dictFree {
			continue
		}
		off := uint64(d.offLo[id])
		if hi != nil {
			off |= uint64(hi[id]) << 32
		}
		c := old[off>>dictChunkShift]
		p := int(off & (dictChunkSize - 1))
		v, w := binary.Uvarint(c[p:])
		noff := d.appendRaw(c[p : p+w+int(v)])
		if noff>>32 != 0 && d.offHi == nil {
			d.offHi = make([]uint8, len(d.offLo), cap(d.offLo))
		}
		d.offLo[id] = uint32(noff)
		if d.offHi != nil {
			d.offHi[id] = uint8(noff >> 32)
		}
	}
	d.garbage = 0
}

// appendRaw appends an encoded entry to the arena, returning its offset.
func (d *Dict) appendRaw(e []byte) uint64 {
	need := max(len(e), 2)
	last := len(d.chunks) - 1
	if last < 0 || len(d.chunks[last])+need > dictChunkSize {
		d.chunks = append(d.chunks, make([]byte, 0, dictChunkSize))
		last++
	}
	off := uint64(last)<<dictChunkShift | uint64(len(d.chunks[last]))
	d.chunks[last] = append(d.chunks[last], e...)
	return off
}

// Key returns the key of a live id.
func (d *Dict) Key(id uint32) (string, bool) {
	if id >= uint32(len(d.offLo)) || d.offLo[id] == dictFree {
		return "", false
	}
	b, _ := d.entry(id)
	return string(b), true
}

// AppendKey appends the key of a live id to dst.
func (d *Dict) AppendKey(dst []byte, id uint32) ([]byte, bool) {
	if id >= uint32(len(d.offLo)) || d.offLo[id] == dictFree {
		return dst, false
	}
	b, _ := d.entry(id)
	return append(dst, b...), true
}

// Len returns the number of live keys.
func (d *Dict) Len() int { return d.live }

// MaxID returns one past the highest id ever handed out.
func (d *Dict) MaxID() uint32 { return uint32(len(d.offLo)) }

// SizeInBytes returns the memory the dictionary holds, approximately.
func (d *Dict) SizeInBytes() uint64 {
	n := uint64(unsafe.Sizeof(*d))
	n += uint64(cap(d.chunks)) * uint64(unsafe.Sizeof([]byte(nil)))
	for _, c := range d.chunks {
		n += uint64(cap(c))
	}
	n += 4*uint64(cap(d.offLo)) + uint64(cap(d.offHi)) + 4*uint64(cap(d.table)) + 4*uint64(cap(d.free))
	return n
}
