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
// bit of a value's own answers yes just as well (tagExact). The words are
// built again when a segment names a value without a bit of its own that
// could have one. Bit 63 may stay set after the entity lost its last value
// of the shared bit (finding that out would read every such value's
// bitmap): it then costs a lookup, never a wrong answer. The words cost 8
// bytes an entity.

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

// buildTagWords starts keeping f's tag words (f is TAGS), or builds them
// again when a value of named (those saved segments name) could have a bit
// of its own and has not.
func (f *field) buildTagWords(named map[string]bool) {
	if f.tagWords != nil && !f.tagBitsWanted(named) {
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
	words := make([]uint64, 0)
	buf := make([]uint32, 4096)
	for i, bm := range f.bms {
		bit := f.tagBit(uint32(i + 1))
		it := bm.ManyIterator()
		for n := it.NextMany(buf); n > 0; n = it.NextMany(buf) {
			for _, id := range buf[:n] {
				for int(id) >= len(words) {
					words = append(words, 0)
				}
				words[id] |= bit
			}
		}
	}
	f.tagWords = words
}

// tagBitsWanted reports whether a named value lacks a bit of its own while
// a bit is free or held by a value not named.
func (f *field) tagBitsWanted(named map[string]bool) bool {
	lacking, own := false, 0
	for v := range named {
		if o := f.ordinals[v]; o != 0 {
			if f.tagExact(o) {
				own++
			} else {
				lacking = true
			}
		}
	}
	return lacking && own < 63
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
