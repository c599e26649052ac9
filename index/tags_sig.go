package index

import (
	"cmp"
	"slices"
)

// Tag words: a TAGS field that saved segments read keeps, per entity, a
// 64-bit word with a bit for each value the entity holds. 63 values have a
// bit of their own: the values the segments name first, then the most
// common others, chosen when the words are built (tagBits); every other
// value shares bit 63. A clear bit proves the entity lacks the value, so
// segment maintenance answers most value terms ("interests:golf", false
// for almost everyone) from one read of the word, shared by every term and
// segment of a write, instead of a roaring lookup each (a binary search
// over an array container at 10M customers: several cache misses); a set
// bit of a value's own answers yes just as well (tagExact). A value a
// segment names later takes a free bit, or that of the least common value
// not named (giveTagBit). Bit 63 may stay set after the entity lost its
// last value of the shared bit (finding that out would read every such
// value's bitmap): it then costs a lookup, never a wrong answer. The words
// cost 8 bytes an entity.

// tagBit is the bit of the value of ordinal o (>= 1) in f's tag words.
func (f *field) tagBit(o uint32) uint64 {
	if int(o-1) < len(f.tagBits) {
		return 1 << f.tagBits[o-1]
	}
	return 1 << 63
}

// tagExact reports whether the value of ordinal o has a bit of its own in
// f's tag words: set exactly when the entity holds it.
func (f *field) tagExact(o uint32) bool {
	return int(o-1) < len(f.tagBits) && f.tagBits[o-1] != 63
}

// buildTagWords starts keeping f's tag words (f is TAGS), and gives each
// value of named (those saved segments name) a bit of its own if it has
// none (giveTagBit).
func (f *field) buildTagWords(named map[string]bool) {
	if f.tagWords != nil {
		vs := make([]string, 0, len(named))
		for v := range named {
			vs = append(vs, v)
		}
		slices.Sort(vs)
		for _, v := range vs {
			if o := f.ordinals[v]; o != 0 && !f.tagExact(o) && !f.giveTagBit(o, named) {
				return // every bit is a named value's
			}
		}
		return
	}
	// The bits: named values first, then by how many entities hold them.
	order := make([]uint32, len(f.bms))
	for i := range order {
		order[i] = uint32(i + 1)
	}
	card := func(o uint32) uint64 { return f.bms[o-1].GetCardinality() }
	slices.SortStableFunc(order, func(a, b uint32) int {
		if na, nb := named[f.values[a-1]], named[f.values[b-1]]; na != nb {
			return cmp.Compare(boolInt(nb), boolInt(na))
		}
		return cmp.Compare(card(b), card(a))
	})
	f.tagBits = make([]uint8, len(f.bms))
	for i := range f.tagBits {
		f.tagBits[i] = 63
	}
	for k, o := range order[:min(63, len(order))] {
		f.tagBits[o-1] = uint8(k)
	}
	f.tagWords = []uint64{}
	for i := range f.bms {
		f.orTagBit(uint32(i+1), f.tagBit(uint32(i+1)), 0)
	}
}

// giveTagBit gives the value of ordinal o a bit of its own: a free one, or
// that of the least common value not named, which then shares bit 63. It
// reads the bitmaps of those two values only, where building the words
// again would read every value's (half a second at 10M customers, with
// every write waiting). It reports false when every bit is a named value's.
func (f *field) giveTagBit(o uint32, named map[string]bool) bool {
	for len(f.tagBits) < len(f.bms) {
		f.tagBits = append(f.tagBits, 63) // values created since: bit 63
	}
	var holder [63]uint32 // bit -> the ordinal holding it, 0 for none
	for i, b := range f.tagBits {
		if b != 63 {
			holder[b] = uint32(i + 1)
		}
	}
	bit, victim, least := -1, uint32(0), uint64(0)
	for b, x := range holder {
		if x == 0 {
			bit, victim = b, 0
			break
		}
		if named[f.values[x-1]] {
			continue
		}
		if c := f.bms[x-1].GetCardinality(); bit < 0 || c < least {
			bit, victim, least = b, x, c
		}
	}
	if bit < 0 {
		return false
	}
	if victim != 0 {
		f.tagBits[victim-1] = 63
		f.orTagBit(victim, 1<<63, 1<<bit)
	}
	f.tagBits[o-1] = uint8(bit)
	f.orTagBit(o, 1<<bit, 0)
	return true
}

// orTagBit sets bit, after clearing clear, in the words of the entities
// holding the value of ordinal o.
func (f *field) orTagBit(o uint32, bit, clear uint64) {
	buf := make([]uint32, 4096)
	it := f.bms[o-1].ManyIterator()
	for n := it.NextMany(buf); n > 0; n = it.NextMany(buf) {
		for _, id := range buf[:n] {
			for int(id) >= len(f.tagWords) {
				f.tagWords = append(f.tagWords, 0)
			}
			f.tagWords[id] = f.tagWords[id]&^clear | bit
		}
	}
}

// tagWord is id's tag word.
func (f *field) tagWord(id uint32) uint64 {
	if int(id) < len(f.tagWords) {
		return f.tagWords[id]
	}
	return 0
}

func (f *field) tagWordAdd(id, ordinal uint32) {
	for int(id) >= len(f.tagWords) {
		f.tagWords = append(f.tagWords, 0)
	}
	f.tagWords[id] |= f.tagBit(ordinal)
}

// tagWordRemoved updates id's word after it lost the value of ordinal: a
// bit of the value's own goes; bit 63 stays (see above).
func (f *field) tagWordRemoved(id, ordinal uint32) {
	if int(id) < len(f.tagWords) && f.tagExact(ordinal) {
		f.tagWords[id] &^= f.tagBit(ordinal)
	}
}

func (f *field) tagWordClear(id uint32) {
	if int(id) < len(f.tagWords) {
		f.tagWords[id] = 0
	}
}
