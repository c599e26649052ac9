// Package roaringpeek finds, for one id, how many of several roaring bitmaps
// hold it, reading their containers in lockstep through roaring's memory
// layout.
//
// A write that moves an entity in or out of several saved segments updates
// each one's members. At millions of entities the roaring containers those
// updates touch are not in the cache, and an array container (up to 4,096
// sorted 16-bit values) is found by a binary search whose probes are cache
// misses that each wait for the one before. Searched one bitmap after the
// other (Contains), a write waits for every probe of every segment in turn.
//
// Searcher.Held searches them in lockstep instead: each phase and each round
// of the binary search reads once in every bitmap, so the misses of a round
// are independent and the processor overlaps them. The updates that follow
// then find the containers in the cache.
//
// It reads roaring's containers through their memory layout (roaring v2: a
// Bitmap holds a roaringArray of keys and containers; an array container
// holds its sorted values, a bitmap container its cardinality and words). The
// layout is checked against bitmaps built for the purpose when the package
// starts (LayoutOK); if it does not match, as after an upgrade of roaring
// that changed it, Held uses Contains.
package roaringpeek

import (
	"unsafe"

	"github.com/RoaringBitmap/roaring/v2"
)

// rbLayout is roaring.Bitmap's layout (its roaringArray's first fields).
type rbLayout struct {
	keys       []uint16
	containers []ifaceWords
}

// ifaceWords is an interface value: its type word and its data pointer.
type ifaceWords struct {
	tab, data unsafe.Pointer
}

type arrayLayout struct {
	content []uint16
}

type bitmapLayout struct {
	cardinality int
	bitmap      []uint64
}

var (
	// The type words of roaring's array and bitmap containers.
	arrayTab, bitmapTab unsafe.Pointer
	peekLayoutOK        = checkPeekLayout()
)

// LayoutOK reports whether roaring's memory layout is the one this package
// reads. When it is not, Held falls back to Contains.
func LayoutOK() bool { return peekLayoutOK }

// checkPeekLayout builds an array container and a bitmap container and
// reports whether rbLayout reads them as they are, learning their type
// words.
func checkPeekLayout() bool {
	a := roaring.BitmapOf(3, 9, 1<<16|5)
	b := roaring.New()
	for v := uint32(0); v < 10000; v += 2 {
		b.Add(1<<17 | v)
	}
	ra, rb := (*rbLayout)(unsafe.Pointer(a)), (*rbLayout)(unsafe.Pointer(b))
	if len(ra.keys) != 2 || len(ra.containers) != 2 || ra.keys[0] != 0 || ra.keys[1] != 1 ||
		len(rb.keys) != 1 || len(rb.containers) != 1 || rb.keys[0] != 2 {
		return false
	}
	at, bt := ra.containers[0].tab, rb.containers[0].tab
	if at == nil || at == bt || ra.containers[1].tab != at {
		return false
	}
	c0, c1 := (*arrayLayout)(ra.containers[0].data), (*arrayLayout)(ra.containers[1].data)
	if len(c0.content) != 2 || c0.content[0] != 3 || c0.content[1] != 9 || len(c1.content) != 1 || c1.content[0] != 5 {
		return false
	}
	bc := (*bitmapLayout)(rb.containers[0].data)
	if bc.cardinality != 5000 || len(bc.bitmap) != 1024 || bc.bitmap[0] != 0x5555555555555555 || bc.bitmap[200] != 0 {
		return false
	}
	arrayTab, bitmapTab = at, bt
	return true
}

// memberProbe is one array container being searched: the values left
// are content[base:base+n].
type memberProbe struct {
	content []uint16
	base, n int
}

// Searcher keeps the scratch of Held between calls. Its zero value is ready
// to use; it is not safe for concurrent use.
type Searcher struct {
	probes []memberProbe
}

// Held returns how many of the n bitmaps bitmap(0) … bitmap(n-1) hold id.
func (sr *Searcher) Held(n int, bitmap func(k int) *roaring.Bitmap, id uint32) int {
	if !peekLayoutOK {
		held := 0
		for k := range n {
			if bitmap(k).Contains(id) {
				held++
			}
		}
		return held
	}
	hb, lb := uint16(id>>16), uint16(id)
	// Each bitmap's key search, in lockstep. It searches even where the
	// keys are dense enough to index: the update that follows searches
	// them too, and finds the lines read here in the cache (indexing
	// measured slower).
	ps := sr.probes[:0]
	for k := range n {
		rb := (*rbLayout)(unsafe.Pointer(bitmap(k)))
		ps = append(ps, memberProbe{content: rb.keys, base: 0, n: len(rb.keys)})
	}
	searchLockstep(ps, hb)
	// Each one's container: a bitmap container answers at once, an array
	// container is searched next, a run container asks Contains.
	held := 0
	arrays := ps[:0] // overwrites ps as it goes: k' <= k
	for k := range n {
		p := ps[k]
		if p.n == 0 || p.content[p.base] != hb {
			continue
		}
		bm := bitmap(k)
		c := (*rbLayout)(unsafe.Pointer(bm)).containers[p.base]
		switch c.tab {
		case bitmapTab:
			if (*bitmapLayout)(c.data).bitmap[lb/64]&(1<<(lb%64)) != 0 {
				held++
			}
		case arrayTab:
			content := (*arrayLayout)(c.data).content
			arrays = append(arrays, memberProbe{content: content, n: len(content)})
		default:
			if bm.Contains(id) {
				held++
			}
		}
	}
	// The array containers' binary searches, a probe of each per round.
	searchLockstep(arrays, lb)
	for _, p := range arrays {
		if p.n == 1 && p.content[p.base] == lb {
			held++
		}
	}
	sr.probes = ps[:0]
	return held
}

// searchLockstep runs the binary searches for v in every probe's sorted
// values, one probe of each per round, leaving each at the last value <= v
// (or at its first value when every one is greater).
func searchLockstep(ps []memberProbe, v uint16) {
	for more := true; more; {
		more = false
		for k := range ps {
			p := &ps[k]
			if p.n > 1 {
				half := p.n / 2
				if p.content[p.base+half] <= v {
					p.base += half
				}
				p.n -= half
				more = more || p.n > 1
			}
		}
	}
}
