package index

// The bitmap-only PROFILE and LOOKALIKE that countValues and topScores
// replaced (one AndCardinality or BSI range per value, a bit-sliced sum of
// the scores), kept as the reference the faster ones must match exactly
// (TestAnalyticsMatchOld) and as the baseline of BenchmarkAnalytics.

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/segd-db/segd/index/bsi"
)

// countValuesOld returns, per value, the members holding it and all holders.
func (e *Engine) countValuesOld(fs []*field, members *roaring.Bitmap) (vals []profileValue, in, all []uint64) {
	card := members.GetCardinality()
	for _, f := range fs {
		switch f.kind {
		case KindEnum, KindTags:
			var byOrd []uint64
			if f.ord != nil && card <= ordinalWalkMaxOld && uint64(len(f.bms)) > 64 {
				// Many values (cities): one pass over the members' ordinals.
				byOrd = make([]uint64, len(f.bms)+1)
				it := members.ManyIterator()
				buf := make([]uint32, 4096)
				for n := it.NextMany(buf); n > 0; n = it.NextMany(buf) {
					for _, id := range buf[:n] {
						byOrd[f.ord.get(id)]++
					}
				}
			}
			for i, bm := range f.bms {
				if bm.IsEmpty() {
					continue
				}
				var k uint64
				if byOrd != nil {
					k = byOrd[i+1]
				} else {
					k = bm.AndCardinality(members)
				}
				vals = append(vals, profileValue{field: f.name, value: f.values[i], bm: bm, f: f})
				in = append(in, k)
				all = append(all, 0) // filled below, only for values with support
			}
		case KindInt:
			for _, r := range quantiles.ranges(f.bsi) {
				vals = append(vals, profileValue{field: f.name, value: fmt.Sprintf("[%d TO %d]", r[0], r[1]), f: f, lo: r[0], hi: r[1]})
				in = append(in, f.bsi.Range(r[0], r[1], members).GetCardinality())
				all = append(all, 0)
			}
		}
	}
	return vals, in, all
}

// ProfileOld is the persona of a segment: for every value with enough support,
// its share inside the segment, overall, and the lift, best lift first.
func (e *Engine) ProfileOld(name string, limit int, fields []string) ([]ProfileEntry, error) {
	e.rlock()
	defer e.mu.RUnlock()
	s, err := e.segment(name)
	if err != nil {
		return nil, err
	}
	entries, _, err := e.profileOld(s.members, fields)
	if err != nil {
		return nil, err
	}
	if limit > 0 && len(entries) > limit {
		entries = entries[:limit]
	}
	return entries, nil
}

// profileOld computes the entries of members, sorted, with each entry's
// holders (built only for the entries returned).
func (e *Engine) profileOld(members *roaring.Bitmap, fields []string) ([]ProfileEntry, []*roaring.Bitmap, error) {
	fs, err := e.profileFields(fields)
	if err != nil {
		return nil, nil, err
	}
	card, total := members.GetCardinality(), e.live.GetCardinality()
	if card == 0 || total == 0 {
		return []ProfileEntry{}, nil, nil
	}
	vals, in, _ := e.countValuesOld(fs, members)
	support := minSupport(card)
	type entry struct {
		ProfileEntry
		v *profileValue
	}
	var out []entry
	for i := range vals {
		if in[i] < support {
			continue
		}
		v := &vals[i]
		if v.bm == nil {
			v.bm = e.rangeBitmap(v.f.bsi, v.lo, v.hi)
		}
		holders := v.bm.GetCardinality()
		shareIn := float64(in[i]) / float64(card)
		shareAll := float64(holders) / float64(total)
		out = append(out, entry{ProfileEntry{Field: v.field, Value: v.value, InSegment: in[i], ShareInSegment: shareIn,
			ShareOverall: shareAll, Lift: shareIn / shareAll}, v})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Lift != b.Lift {
			return a.Lift > b.Lift
		}
		if a.InSegment != b.InSegment {
			return a.InSegment > b.InSegment
		}
		if a.Field != b.Field {
			return a.Field < b.Field
		}
		return a.Value < b.Value
	})
	entries := make([]ProfileEntry, len(out))
	bms := make([]*roaring.Bitmap, len(out))
	for i, x := range out {
		entries[i], bms[i] = x.ProfileEntry, x.v.bm
	}
	return entries, bms, nil
}

// LookalikeOld ranks the non-members (within where, when given) by how much
// they look like the members: the score of an entity is the sum of log(lift)
// over the segment's most distinguishing values it holds (the up to 32
// values of PROFILE with lift above 1), in twentieths. The sum is bit-sliced:
// each value's bitmap is added to a BSI with its weight, so the work is
// bitmap operations, not a walk over entities. Best first, ties by key.
func (e *Engine) LookalikeOld(name string, count int, where string) ([]Ranked, error) {
	e.rlock()
	defer e.mu.RUnlock()
	s, err := e.segment(name)
	if err != nil {
		return nil, err
	}
	candidates := roaring.AndNot(e.live, s.members)
	if where != "" {
		filter, err := e.where(e.qctx(time.Time{}), where)
		if err != nil {
			return nil, err
		}
		candidates.And(filter)
	}
	if count <= 0 || candidates.IsEmpty() {
		return []Ranked{}, nil
	}
	entries, bms, err := e.profileOld(s.members, nil)
	if err != nil {
		return nil, err
	}
	var acc []*roaring.Bitmap
	exists := roaring.New()
	terms := 0
	for i, pe := range entries {
		if terms == lookalikeTerms || pe.Lift <= 1 {
			break
		}
		w := uint64(math.Round(math.Log(pe.Lift) * scaleScore))
		if w == 0 {
			continue
		}
		// Scores are summed over every holder; only candidates are ranked.
		x := bms[i]
		if x.AndCardinality(candidates) == 0 {
			continue
		}
		terms++
		exists.Or(x)
		for j := 0; w>>uint(j) != 0; j++ {
			if w>>uint(j)&1 == 1 {
				acc = bsi.AddPlane(acc, x, j)
			}
		}
	}
	exists.And(candidates)
	if exists.IsEmpty() {
		return []Ranked{}, nil
	}
	scores := bsi.FromUnsigned(exists, acc)
	above, atCut := scores.TopCut(uint64(count), candidates)
	out := e.ranked(scores, above)
	sortRanked(out)
	if rest := count - len(out); rest > 0 && !atCut.IsEmpty() {
		v, _ := scores.Get(atCut.Minimum())
		for _, key := range e.smallestKeys(atCut, rest) {
			out = append(out, Ranked{Key: key, Value: v})
		}
	}
	return out, nil
}

const ordinalWalkMaxOld = 1 << 21
