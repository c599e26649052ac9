package index

// Tag words: a TAGS field that saved segments read keeps, per entity, a
// 64-bit word with bit (o-1)%64 set for each value ordinal o the entity holds.
// A clear bit proves the entity lacks every value of that residue, so
// segment maintenance answers most value terms ("interests:golf", false for
// almost everyone) from one read of the word, shared by every term and
// segment of a write, instead of a roaring lookup each (a binary search
// over an array container at 10M customers: several cache misses). With at
// most 64 values the word is exact (a 32-bit word left the 60 interests of
// the benchmark's population a lookup for most set bits: about 4% of a
// write's maintenance). It costs 8 bytes an entity.

func tagBit(ordinal uint32) uint64 { return 1 << ((ordinal - 1) % 64) }

// buildTagWords starts keeping f's tag words (f is TAGS).
func (f *field) buildTagWords() {
	if f.tagWords != nil {
		return
	}
	words := make([]uint64, 0)
	buf := make([]uint32, 4096)
	for i, bm := range f.bms {
		bit := tagBit(uint32(i + 1))
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
	if words == nil {
		words = []uint64{}
	}
	f.tagWords = words
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
	f.tagWords[id] |= tagBit(ordinal)
}

// tagWordRemoved updates id's word after it lost the value of ordinal: the
// bit stays if another value of the same residue remains.
func (f *field) tagWordRemoved(id, ordinal uint32) {
	if int(id) >= len(f.tagWords) {
		return
	}
	for k := int(ordinal-1) % 64; k < len(f.bms); k += 64 {
		if f.bms[k].Contains(id) {
			return
		}
	}
	f.tagWords[id] &^= tagBit(ordinal)
}

func (f *field) tagWordClear(id uint32) {
	if int(id) < len(f.tagWords) {
		f.tagWords[id] = 0
	}
}
