package index

import "github.com/RoaringBitmap/roaring/v2"

// touchMembers reads the members of each of segs for id, all at once, and
// returns how many hold it: the lockstep search of roaringpeek, so that the
// cache misses of the segments' containers overlap and the updates that
// follow (Engine.record) find them in the cache.
func (sc *maintScratch) touchMembers(segs []*segment, id uint32) int {
	return sc.probes.Held(len(segs), func(k int) *roaring.Bitmap { return segs[k].members }, id)
}
