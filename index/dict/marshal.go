package dict

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/cespare/xxhash/v2"
)

// Snapshot format (little endian):
//
//	magic    "SEGDICT1"
//	maxID    uint32
//	nFree    uint32
//	keyBytes uint64             length of the key section
//	free     nFree × uint32     the free list, bottom of the stack first
//	keys     uvarint(len) key   for each live id in ascending order
//	check    uint64             xxhash64 of everything before it
const (
	dictMagic  = "SEGDICT1"
	dictHeader = 8 + 4 + 4 + 8
)

// Freeze returns a copy of d that MarshalBinary can serialise while d
// goes on changing (a snapshot taken under the engine's lock and written
// after it is released): the id tables are copied, and the key arena is shared,
// since its chunks are only ever appended to (compaction makes new ones).
// The copy has no hash table: it serves MarshalBinary and Key only.
func (d *Dict) Freeze() *Dict {
	return &Dict{
		chunks: append([][]byte(nil), d.chunks...),
		offLo:  append([]uint32(nil), d.offLo...),
		offHi:  append([]uint8(nil), d.offHi...),
		free:   append([]uint32(nil), d.free...),
		live:   d.live,
		used:   d.used,
	}
}

// MarshalBinary encodes the live keys with their ids and the free list.
func (d *Dict) MarshalBinary() ([]byte, error) {
	size := dictHeader + 4*len(d.free) + int(d.used) + 8
	out := make([]byte, dictHeader, size)
	copy(out, dictMagic)
	binary.LittleEndian.PutUint32(out[8:], uint32(len(d.offLo)))
	binary.LittleEndian.PutUint32(out[12:], uint32(len(d.free)))
	binary.LittleEndian.PutUint64(out[16:], d.used)
	for _, id := range d.free {
		out = binary.LittleEndian.AppendUint32(out, id)
	}
	for id := range uint32(len(d.offLo)) {
		if d.offLo[id] == dictFree {
			continue
		}
		off := d.offset(id)
		c := d.chunks[off>>dictChunkShift]
		p := int(off & (dictChunkSize - 1))
		n, w := int(c[p]), 1
		if n >= 0x80 {
			v, k := binary.Uvarint(c[p:])
			n, w = int(v), k
		}
		out = append(out, c[p:p+w+n]...)
	}
	if len(out) != size-8 {
		return nil, fmt.Errorf("dict: dictionary accounting is off: %d key bytes, want %d", len(out)-dictHeader-4*len(d.free), d.used)
	}
	return binary.LittleEndian.AppendUint64(out, xxhash.Sum64(out)), nil
}

var errDictCorrupt = errors.New("dict: corrupt dictionary snapshot")

func dictCorrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errDictCorrupt, fmt.Sprintf(format, args...))
}

// Unmarshal decodes a MarshalBinary snapshot. Ids, the free list and its
// order are restored exactly, so allocation continues as it would have. The
// arena is compacted. data is not retained.
func Unmarshal(data []byte) (*Dict, error) {
	if len(data) < dictHeader+8 {
		return nil, dictCorrupt("%d bytes is too short", len(data))
	}
	if string(data[:8]) != dictMagic {
		return nil, dictCorrupt("bad magic")
	}
	body := data[:len(data)-8]
	if xxhash.Sum64(body) != binary.LittleEndian.Uint64(data[len(data)-8:]) {
		return nil, dictCorrupt("checksum mismatch")
	}
	maxID := binary.LittleEndian.Uint32(body[8:])
	nFree := binary.LittleEndian.Uint32(body[12:])
	keyBytes := binary.LittleEndian.Uint64(body[16:])
	rest := uint64(len(body) - dictHeader)
	if nFree > maxID || uint64(nFree)*4 > rest || rest-uint64(nFree)*4 != keyBytes {
		return nil, dictCorrupt("inconsistent header")
	}
	nLive := maxID - nFree
	if uint64(nLive) > keyBytes {
		return nil, dictCorrupt("%d keys cannot fit in %d bytes", nLive, keyBytes)
	}
	d := &Dict{live: int(nLive), used: keyBytes}
	d.offLo = make([]uint32, maxID)
	d.free = make([]uint32, nFree)
	fb := body[dictHeader : dictHeader+4*int(nFree)]
	for i := range d.free {
		id := binary.LittleEndian.Uint32(fb[4*i:])
		if id >= maxID || d.offLo[id] == dictFree {
			return nil, dictCorrupt("bad free list entry %d", id)
		}
		d.offLo[id] = dictFree
		d.free[i] = id
	}

	// Walk the key section, cutting it into chunks copied in bulk.
	keys := body[dictHeader+4*int(nFree):]
	var (
		pos        int // next entry in keys
		chunkStart int // start in keys of the chunk being filled
	)
	flush := func(end int) {
		if end > chunkStart {
			c := make([]byte, end-chunkStart)
			copy(c, keys[chunkStart:end])
			d.chunks = append(d.chunks, c)
		}
		chunkStart = end
	}
	for id := range maxID {
		if d.offLo[id] == dictFree {
			continue
		}
		n, w := binary.Uvarint(keys[pos:])
		if w <= 0 || n > MaxKeyLen || n > uint64(len(keys)-pos-w) {
			return nil, dictCorrupt("bad key entry for id %d", id)
		}
		size := w + int(n)
		if size != entrySize(int(n)) {
			return nil, dictCorrupt("non-minimal length for id %d", id)
		}
		if pos-chunkStart+max(size, 2) > dictChunkSize {
			flush(pos)
		}
		off := uint64(len(d.chunks))<<dictChunkShift | uint64(pos-chunkStart)
		if off > dictMaxOffset {
			return nil, dictCorrupt("arena too large")
		}
		if off>>32 != 0 && d.offHi == nil {
			d.offHi = make([]uint8, maxID)
		}
		d.offLo[id] = uint32(off)
		if d.offHi != nil {
			d.offHi[id] = uint8(off >> 32)
		}
		pos += size
	}
	if pos != len(keys) {
		return nil, dictCorrupt("%d trailing bytes", len(keys)-pos)
	}
	flush(pos)

	size := dictMinTable
	for int(nLive) > size-size/4 {
		size *= 2
	}
	d.table = make([]uint32, size)
	d.shift = 64 - uint(bits.TrailingZeros(uint(size)))
	d.idBits = max(dictMinIDBits, uint(bits.Len32(maxID)))
	if err := d.fill(true); err != nil {
		return nil, err
	}
	return d, nil
}
