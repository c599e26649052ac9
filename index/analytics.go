package index

import (
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"time"
	"weak"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segd-db/segd/index/bsi"
)

// Segment analytics (SPEC §3): who the members are (PROFILE), who else is
// like them (LOOKALIKE), and a reproducible sample of them (SAMPLE).

// ProfileEntry is one value's weight in a segment.
type ProfileEntry struct {
	Field, Value   string // Value of an INT bucket reads "[lo TO hi]"
	InSegment      uint64 // members holding the value
	ShareInSegment float64
	ShareOverall   float64
	Lift           float64 // ShareInSegment / ShareOverall
}

// intBuckets is how many quantile buckets an INT field is cut into.
const intBuckets = 10

// minSupport is the fewest members a value needs to be profiled: at least
// 1% of the segment and at least 10, so that values held by a handful of
// members by chance (a rare city) do not dominate.
func minSupport(card uint64) uint64 { return max(10, (card+99)/100) }

// tooFewToProfile explains an empty profile of a segment that has members:
// no value reached the minimum support. An empty segment profiles to an
// empty answer.
func tooFewToProfile(name string, card uint64, entries []ProfileEntry) error {
	if card == 0 || len(entries) > 0 {
		return nil
	}
	return errorf("segment '%s' has %d members and no value is held by %d of them: a profile needs at least %d members sharing a value (1%% of the segment, at least 10)",
		name, card, minSupport(card), minSupport(card))
}

// profileValue is one candidate value of PROFILE and LOOKALIKE: its
// holders (bm), or, for an INT bucket, the range to count.
type profileValue struct {
	field, value string
	bm           *roaring.Bitmap
	f            *field
	lo, hi       int64      // INT bucket
	ranges       [][2]int64 // INT: the field's buckets, this one at bucket
	bucket       int
	ord          uint32
}

// profileFields lists the named fields (all but EVENT when none are named).
func (e *Engine) profileFields(fields []string) ([]*field, error) {
	var fs []*field
	if len(fields) == 0 {
		for _, f := range e.fields {
			if f.kind != KindEvent {
				fs = append(fs, f)
			}
		}
		sort.Slice(fs, func(i, j int) bool { return fs[i].name < fs[j].name })
		return fs, nil
	}
	for _, name := range fields {
		f, err := e.field(name)
		if err != nil {
			return nil, err
		}
		if f.kind == KindEvent {
			return nil, wrongTypef("field '%s' is EVENT: profiles read ENUM, TAGS and INT fields", name)
		}
		fs = append(fs, f)
	}
	return fs, nil
}

// quantileCache keeps each INT field's bucket cuts: they describe the shape
// of the data and are recomputed when the field's count has moved by more
// than 1% or after a minute, not on every profile (the counts in each
// bucket are always exact). Its keys are weak: it must not keep the fields
// of a dropped engine (or a replaced data set) alive.
type quantileCache struct {
	mu  sync.Mutex
	byF map[weak.Pointer[bsi.BSI]]quantileCuts
}

type quantileCuts struct {
	count  uint64
	at     time.Time
	ranges [][2]int64
}

func (c *quantileCache) ranges(b *bsi.BSI) [][2]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := b.Count()
	key := weak.Make(b)
	if q, ok := c.byF[key]; ok && time.Since(q.at) < time.Minute && n*100 >= q.count*99 && n*100 <= q.count*101 {
		return q.ranges
	}
	if c.byF == nil || len(c.byF) > 256 {
		c.byF = map[weak.Pointer[bsi.BSI]]quantileCuts{}
	}
	r := intRanges(b)
	c.byF[key] = quantileCuts{count: n, at: time.Now(), ranges: r}
	return r
}

var quantiles quantileCache

// intRanges cuts an INT field's values into up to intBuckets ranges holding
// about as many entities each, from the data's quantiles.
func intRanges(b *bsi.BSI) [][2]int64 {
	n := b.Count()
	if n == 0 {
		return nil
	}
	lo, hi, _ := b.MinMax(nil)
	cuts := []int64{hi + 1}
	for i := uint64(1); i < intBuckets; i++ {
		// The value at descending rank n·i/10 starts a bucket.
		k := n * i / intBuckets
		if k == 0 {
			continue
		}
		_, atCut := b.TopCut(k, nil)
		if atCut.IsEmpty() {
			continue
		}
		v, _ := b.Get(atCut.Minimum())
		if v > lo && v < cuts[len(cuts)-1] {
			cuts = append(cuts, v)
		}
	}
	cuts = append(cuts, lo)
	var out [][2]int64
	for i := len(cuts) - 1; i > 0; i-- {
		out = append(out, [2]int64{cuts[i], cuts[i-1] - 1})
	}
	return out
}

// Profile is the persona of a segment: for every value with enough support,
// its share inside the segment, overall, and the lift, best lift first.
func (e *Engine) Profile(name string, limit int, fields []string) ([]ProfileEntry, error) {
	e.rlock()
	defer e.mu.RUnlock()
	s, err := e.segment(name)
	if err != nil {
		return nil, err
	}
	entries, _, err := e.profile(s.members, fields)
	if err != nil {
		return nil, err
	}
	if err := tooFewToProfile(name, s.members.GetCardinality(), entries); err != nil {
		return nil, err
	}
	if limit > 0 && len(entries) > limit {
		entries = entries[:limit]
	}
	return entries, nil
}

// profile computes the entries of members, sorted, with each entry's value
// (whose holders, for an INT bucket, are built by holdersOf when needed).
func (e *Engine) profile(members *roaring.Bitmap, fields []string) ([]ProfileEntry, []*profileValue, error) {
	fs, err := e.profileFields(fields)
	if err != nil {
		return nil, nil, err
	}
	card, total := members.GetCardinality(), e.live.GetCardinality()
	if card == 0 || total == 0 {
		return []ProfileEntry{}, nil, nil
	}
	vals, in := e.countValues(fs, members)
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
		var holders uint64
		if v.bm != nil {
			holders = v.bm.GetCardinality()
		} else {
			holders = e.holderCounts(v.f.bsi, v.ranges)[v.bucket]
		}
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
	pvs := make([]*profileValue, len(out))
	for i, x := range out {
		entries[i], pvs[i] = x.ProfileEntry, x.v
	}
	return entries, pvs, nil
}

// holdersOf is the entities holding v.
func (e *Engine) holdersOf(v *profileValue) *roaring.Bitmap {
	if v.bm == nil {
		v.bm = e.rangeBitmap(v.f.bsi, v.lo, v.hi)
	}
	return v.bm
}

// lookalikeTerms is how many of the most distinguishing values score.
const lookalikeTerms = 32

// scaleScore turns a log-lift into the integer weights the scores add:
// twentieths (138 for a lift of 1,000).
const scaleScore = LookalikeScale

// LookalikeScale is what a LOOKALIKE score is divided by to read as a sum of
// natural-log lifts.
const LookalikeScale = 20

// rangeBitmap is the holders of an INT range, kept while the data does not
// change (profiles ask for the same quantile buckets again and again).
func (e *Engine) rangeBitmap(b *bsi.BSI, lo, hi int64) *roaring.Bitmap {
	key := rangeKey{b, lo, hi}
	e.rangeMu.Lock()
	c, ok := e.rangeCache[key]
	e.rangeMu.Unlock()
	if ok && c.gen == e.gen {
		return c.bm
	}
	bm := b.Range(lo, hi, nil)
	e.rangeMu.Lock()
	if e.rangeCache == nil || len(e.rangeCache) > 1024 {
		e.rangeCache = map[rangeKey]rangeEntry{}
	}
	e.rangeCache[key] = rangeEntry{gen: e.gen, bm: bm}
	e.rangeMu.Unlock()
	return bm
}

type rangeKey struct {
	b      *bsi.BSI
	lo, hi int64
}

type rangeEntry struct {
	gen uint64
	bm  *roaring.Bitmap
}

// Lookalike ranks the non-members (within where, when given) by how much
// they look like the members: the score of an entity is the sum of log(lift)
// over the segment's most distinguishing values it holds (the up to 32
// values of PROFILE with lift above 1), in twentieths (see topScores).
// Best first, ties by key.
func (e *Engine) Lookalike(name string, count int, where string) ([]Ranked, error) {
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
	entries, pvs, err := e.profile(s.members, nil)
	if err != nil {
		return nil, err
	}
	if err := tooFewToProfile(name, s.members.GetCardinality(), entries); err != nil {
		return nil, err
	}
	var terms []scoreTerm
	for i, pe := range entries {
		if len(terms) == lookalikeTerms || pe.Lift <= 1 {
			break
		}
		w := uint64(math.Round(math.Log(pe.Lift) * scaleScore))
		if w == 0 {
			continue
		}
		// Scores are summed over every holder; only candidates are ranked.
		x := e.holdersOf(pvs[i])
		if !x.Intersects(candidates) {
			continue
		}
		terms = append(terms, scoreTerm{bm: x, w: w})
	}
	if len(terms) == 0 {
		return []Ranked{}, nil
	}
	return e.topScores(terms, candidates, count), nil
}

// SegmentSample draws count members uniformly without replacement: the
// same seed and the same members give the same sample. Fewer members than
// count give them all. Keys come in member order.
func (e *Engine) SegmentSample(name string, count int, seed uint64) ([]string, error) {
	e.rlock()
	defer e.mu.RUnlock()
	s, err := e.segment(name)
	if err != nil {
		return nil, err
	}
	card := s.members.GetCardinality()
	if count <= 0 {
		return []string{}, nil
	}
	var ranks []uint64
	if uint64(count) >= card {
		for i := uint64(0); i < card; i++ {
			ranks = append(ranks, i)
		}
	} else {
		// Floyd's algorithm: count distinct ranks, uniformly.
		r := rand.New(rand.NewPCG(seed, 0x5e9d))
		chosen := make(map[uint64]bool, count)
		for j := card - uint64(count); j < card; j++ {
			t := r.Uint64N(j + 1)
			if chosen[t] {
				t = j
			}
			chosen[t] = true
		}
		for rk := range chosen {
			ranks = append(ranks, rk)
		}
		sort.Slice(ranks, func(i, j int) bool { return ranks[i] < ranks[j] })
	}
	out := make([]string, 0, len(ranks))
	for _, rk := range ranks {
		id, err := s.members.Select(uint32(rk))
		if err != nil {
			continue
		}
		if k, ok := e.dict.Key(id); ok {
			out = append(out, k)
		}
	}
	return out, nil
}
