package modeltest

import (
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"time"

	"github.com/segd-db/segd/index"
)

// The brute-force model of EVENT fields: every accepted occurrence is kept
// as it was tracked, and every window, sum, TOP and retention rule is worked
// out from the list by plain loops, independently of the engine's buckets,
// roll-ups and bit-sliced sums.

// EventSpec is an EVENT field's time layout in seconds and buckets.
type EventSpec struct {
	Gran      int64 // seconds in a bucket: 86400 (DAY) or 3600 (HOUR)
	Retention int64 // buckets kept, the current one included
}

// Bucket is the bucket holding Unix time t.
func (s EventSpec) Bucket(t int64) int64 {
	q := t / s.Gran
	if t%s.Gran != 0 && t < 0 {
		q--
	}
	return q
}

// RetStart is the oldest bucket kept when the clock reads now.
func (s EventSpec) RetStart(now int64) int64 { return s.Bucket(now) - s.Retention + 1 }

// The model's EVENT fields: "purchase" (DAY, 60 days) and "click" (HOUR, 10
// days) are created by FIELD.CREATE (EventSetup); "visit" is auto-created by
// its first ENT.TRACK, so it is DAY with the default retention.
var eventSpecs = map[string]EventSpec{
	"purchase": {Gran: 86400, Retention: 60},
	"click":    {Gran: 3600, Retention: 240},
	"visit":    {Gran: 86400, Retention: int64(index.DefaultRetention / (24 * time.Hour))},
}

var (
	eventFieldNames = []string{"click", "purchase", "visit"}
	// Values of events; "IN" checks that a keyword after ':' is a value.
	eventValues = []string{"IN", "a", "b", "shoes"}
)

// Occurrence is one accepted ENT.TRACK.
type Occurrence struct {
	Field, Value string // Value "" for an event without a value
	At, Amount   int64  // Unix seconds; amount >= 1
}

// EventModel extends Model with EVENT fields and a clock.
type EventModel struct {
	*Model
	Now    int64                   // the clock, Unix seconds
	Specs  map[string]EventSpec    // the EVENT fields that exist
	Events map[string][]Occurrence // key -> every occurrence, in write order
}

// NewEvents returns an empty event model with its clock at now.
func NewEvents(now time.Time) *EventModel {
	return &EventModel{Model: New(), Now: now.Unix(), Specs: map[string]EventSpec{}, Events: map[string][]Occurrence{}}
}

// Clock is the model's clock as a time.
func (m *EventModel) Clock() time.Time { return time.Unix(m.Now, 0).UTC() }

// EventSetup is the FIELD.CREATE mutations of the explicitly created fields.
func EventSetup() []*index.Mutation {
	return []*index.Mutation{
		{Op: index.OpCreateField, Field: "purchase", Kind: index.KindEvent, Granularity: 24 * time.Hour, Retention: 60 * 24 * time.Hour},
		{Op: index.OpCreateField, Field: "click", Kind: index.KindEvent, Granularity: time.Hour, Retention: 10 * 24 * time.Hour},
	}
}

// EventFields lists the EVENT fields that exist, sorted.
func (m *EventModel) EventFields() []string {
	var out []string
	for _, f := range eventFieldNames {
		if _, ok := m.Specs[f]; ok {
			out = append(out, f)
		}
	}
	return out
}

func (m *EventModel) spec(field string) EventSpec {
	if s, ok := m.Specs[field]; ok {
		return s
	}
	return eventSpecs[field]
}

// RandomEventWrite makes a random write: mostly ENT.TRACK (some of them
// invalid), ENT.UNSET of event fields, writes of the wrong kind to event
// fields, and the model's other writes (RandomWrite).
func (m *EventModel) RandomEventWrite(r *rand.Rand) *index.Mutation {
	switch n := r.Intn(100); {
	case n < 45:
		return m.randomTrack(r, true)
	case n < 51:
		return m.randomTrack(r, false)
	case n < 55:
		fields := []string{eventFieldNames[r.Intn(3)]}
		if r.Intn(3) == 0 {
			fields = append(fields, []string{"country", "interests", "age", eventFieldNames[r.Intn(3)]}[r.Intn(4)])
		}
		return &index.Mutation{Op: index.OpUnset, Key: RandomKey(r), Fields: fields}
	case n < 57:
		f := m.EventFields()[r.Intn(len(m.EventFields()))]
		switch r.Intn(3) {
		case 0:
			return &index.Mutation{Op: index.OpSet, Key: RandomKey(r), Pairs: []index.Pair{{Field: "tier", Value: "gold"}, {Field: f, Value: "x"}}}
		case 1:
			return &index.Mutation{Op: index.OpAdd, Key: RandomKey(r), Field: f, Values: []string{"x"}}
		}
		return &index.Mutation{Op: index.OpRem, Key: RandomKey(r), Field: f, Values: []string{"a"}}
	}
	return RandomWrite(r)
}

func (m *EventModel) randomTrack(r *rand.Rand, valid bool) *index.Mutation {
	var field string
	switch n := r.Intn(20); {
	case n < 9:
		field = "purchase"
	case n < 15:
		field = "click"
	default:
		field = "visit"
	}
	mu := &index.Mutation{Op: index.OpTrack, Key: RandomKey(r), Field: field}
	if r.Intn(4) > 0 {
		mu.Values = []string{eventValues[r.Intn(len(eventValues))]}
	}
	switch n := r.Intn(10); {
	case n < 4:
	case n < 6:
		mu.Amount = 1
	case n < 8:
		mu.Amount = int64(2 + r.Intn(4))
	case n < 9:
		mu.Amount = int64(r.Intn(100000))
	default:
		mu.Amount = index.MaxAmount - int64(r.Intn(2))
	}
	s := m.spec(field)
	minT, maxT := s.RetStart(m.Now)*s.Gran, m.Now+int64(index.MaxFutureSkew/time.Second)
	var at int64
	switch n := r.Intn(12); {
	case n < 2:
		// zero: the clock
	case n < 6: // recent
		at = max(minT, m.Now-r.Int63n(14*86400))
	case n < 8:
		at = minT + r.Int63n(maxT-minT+1)
	case n == 8:
		at = minT
	case n == 9:
		at = maxT
	case n == 10: // a bucket edge
		b := s.Bucket(m.Now) - r.Int63n(s.Retention)
		at = b*s.Gran + []int64{0, s.Gran - 1}[r.Intn(2)]
	default:
		at = max(minT, m.Now-r.Int63n(3*3600))
	}
	if valid {
		if at != 0 {
			mu.At = time.Unix(at, 0).UTC()
		}
		return mu
	}
	switch r.Intn(7) {
	case 0:
		at = minT - 1
	case 1:
		at = minT - 1 - r.Int63n(100*86400)
	case 2:
		at = maxT + 1
	case 3:
		at = maxT + 1 + r.Int63n(30*86400)
	case 4:
		mu.Amount = -1 - r.Int63n(5)
	case 5:
		mu.Amount = index.MaxAmount + 1 + r.Int63n(5)
	default:
		mu.Values = []string{"*"}
	}
	if at != 0 {
		mu.At = time.Unix(at, 0).UTC()
	}
	if r.Intn(5) == 0 { // a field of another kind
		for _, f := range []string{"country", "age", "interests", "tier"} {
			if k, ok := m.Kinds[f]; ok && k != index.KindEvent {
				mu.Field = f
				break
			}
		}
	}
	return mu
}

// WantErr says whether the engine must reject mu; known is false for the
// writes whose errors the model does not predict (those of RandomWrite).
func (m *EventModel) WantErr(mu *index.Mutation) (wantErr, known bool) {
	switch mu.Op {
	case index.OpCreateField, index.OpDel:
		return false, true
	case index.OpTrack:
		if k, ok := m.Kinds[mu.Field]; ok && k != index.KindEvent {
			return true, true
		}
		if len(mu.Values) == 1 && mu.Values[0] == "*" || mu.Amount < 0 || mu.Amount > index.MaxAmount {
			return true, true
		}
		s := m.spec(mu.Field)
		at := m.Now
		if !mu.At.IsZero() {
			at = mu.At.Unix()
		}
		return s.Bucket(at) < s.RetStart(m.Now) || at > m.Now+int64(index.MaxFutureSkew/time.Second), true
	case index.OpUnset:
		for _, f := range mu.Fields {
			if _, ok := m.Kinds[f]; !ok {
				return true, true
			}
		}
		return false, true
	case index.OpSet:
		for _, p := range mu.Pairs {
			if m.Kinds[p.Field] == index.KindEvent {
				return true, true
			}
		}
	case index.OpAdd, index.OpRem:
		if m.Kinds[mu.Field] == index.KindEvent {
			return true, true
		}
	}
	return false, false
}

// Apply applies a mutation the engine accepted.
func (m *EventModel) Apply(mu *index.Mutation) {
	switch mu.Op {
	case index.OpCreateField:
		if _, ok := m.Kinds[mu.Field]; ok {
			return
		}
		m.Kinds[mu.Field] = mu.Kind
		if mu.Kind == index.KindEvent {
			g := mu.Granularity
			if g == 0 {
				g = 24 * time.Hour
			}
			ret := mu.Retention
			if ret == 0 {
				ret = index.DefaultRetention
			}
			m.Specs[mu.Field] = EventSpec{Gran: int64(g / time.Second), Retention: int64(ret / g)}
		}
	case index.OpTrack:
		if _, ok := m.Kinds[mu.Field]; !ok {
			m.Kinds[mu.Field] = index.KindEvent
			m.Specs[mu.Field] = EventSpec{Gran: 86400, Retention: int64(index.DefaultRetention / (24 * time.Hour))}
		}
		m.entity(mu.Key)
		o := Occurrence{Field: mu.Field, At: m.Now, Amount: mu.Amount}
		if !mu.At.IsZero() {
			o.At = mu.At.Unix()
		}
		if o.Amount == 0 {
			o.Amount = 1
		}
		if len(mu.Values) == 1 {
			o.Value = mu.Values[0]
		}
		m.Events[mu.Key] = append(m.Events[mu.Key], o)
	case index.OpUnset:
		if m.Ents[mu.Key] == nil {
			return
		}
		for _, f := range mu.Fields {
			if m.Kinds[f] != index.KindEvent {
				continue
			}
			occ := m.Events[mu.Key][:0:0]
			for _, o := range m.Events[mu.Key] {
				if o.Field != f {
					occ = append(occ, o)
				}
			}
			m.Events[mu.Key] = occ
		}
		m.Model.Apply(mu)
	case index.OpDel:
		for _, k := range mu.Keys {
			delete(m.Events, k)
		}
		m.Model.Apply(mu)
	default:
		m.Model.Apply(mu)
	}
}

// Windows and selectors.

type windowKind int

const (
	winNone windowKind = iota
	winEver
	winIn
	winBetween
)

type evWindow struct {
	kind     windowKind
	dur      int64 // IN, seconds
	from, to int64 // BETWEEN, Unix seconds
	text     string
}

// evSel is an event selector with its window: a predicate's or a measure's.
type evSel struct {
	field  string
	values []string // nil: every occurrence
	win    evWindow
	text   string
}

// valid says whether the window is a whole number of the field's buckets.
func (m *EventModel) selValid(s *evSel) bool {
	if s.win.kind != winIn {
		return true
	}
	g := m.spec(s.field).Gran
	return s.win.dur >= g && s.win.dur%g == 0
}

// window is the inclusive bucket range the selector covers as of at.
func (m *EventModel) window(s *evSel, at int64) (lo, hi int64) {
	spec := m.spec(s.field)
	atB := spec.Bucket(at)
	switch s.win.kind {
	case winIn:
		lo, hi = atB-s.win.dur/spec.Gran+1, atB
	case winBetween:
		lo, hi = spec.Bucket(s.win.from), min(spec.Bucket(s.win.to), atB)
	default:
		lo, hi = spec.RetStart(m.Now), atB
	}
	return max(lo, spec.RetStart(m.Now)), hi
}

// sum is key's sum of amounts of the selector's occurrences in its window.
func (m *EventModel) sum(s *evSel, key string, at int64) int64 {
	lo, hi := m.window(s, at)
	spec := m.spec(s.field)
	var n int64
	for _, o := range m.Events[key] {
		if o.Field != s.field {
			continue
		}
		if b := spec.Bucket(o.At); b < lo || b > hi {
			continue
		}
		if s.values != nil && !evContains(s.values, o.Value) {
			continue
		}
		n += o.Amount
	}
	return n
}

func evContains(vs []string, v string) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

// evKeyword writes a keyword in a random case.
func evKeyword(r *rand.Rand, s string) string {
	switch r.Intn(8) {
	case 0:
		return strings.ToLower(s)
	case 1:
		return strings.ToUpper(s[:1]) + strings.ToLower(s[1:])
	}
	return s
}

// RandomTime is a time for AT or BETWEEN: the clock, recent or old times,
// a little or well ahead, and the first and last seconds of buckets (of both
// granularities, and at the retention starts of the 60-day and 10-day
// fields).
func (m *EventModel) RandomTime(r *rand.Rand) int64 {
	now := m.Now
	switch n := r.Intn(14); {
	case n == 0:
		return now
	case n == 12: // well ahead of the clock
		return now + r.Int63n(40*86400)
	case n == 13: // before anything was tracked, back to 1970
		return r.Int63n(now - 500*86400)
	case n < 3:
		return now - r.Int63n(30*86400)
	case n < 4:
		return now - r.Int63n(420*86400)
	case n < 5:
		return now + r.Int63n(int64(index.MaxFutureSkew/time.Second))
	case n < 6:
		rs := eventSpecs["purchase"].RetStart(now)
		return (rs+r.Int63n(3)-1)*86400 - r.Int63n(2)
	case n < 7:
		rs := eventSpecs["click"].RetStart(now)
		return (rs+r.Int63n(3)-1)*3600 - r.Int63n(2)
	case n < 9:
		k := now/3600 - r.Int63n(30) + 1
		return k*3600 - r.Int63n(2)
	default:
		k := now/86400 - r.Int63n(70) + 1
		return k*86400 - r.Int63n(2)
	}
}

// RandomAt is an AT time for a query: zero (the clock) or a RandomTime.
func (m *EventModel) RandomAt(r *rand.Rand) time.Time {
	if r.Intn(4) == 0 {
		return time.Time{}
	}
	return time.Unix(m.RandomTime(r), 0).UTC()
}

func (m *EventModel) atUnix(at time.Time) int64 {
	if at.IsZero() {
		return m.Now
	}
	return at.Unix()
}

func (m *EventModel) randomWindow(r *rand.Rand, field string) evWindow {
	g := m.spec(field).Gran
	switch n := r.Intn(10); {
	case n < 2:
		return evWindow{kind: winNone}
	case n < 3:
		return evWindow{kind: winEver, text: " " + evKeyword(r, "EVER")}
	case n < 7:
		var d int64
		var text string
		if r.Intn(25) == 0 { // not a whole number of buckets
			if g == 3600 {
				d = 60 * int64([]int{30, 90, 59, 61}[r.Intn(4)])
				text = fmt.Sprintf("%dm", d/60)
			} else {
				d = 3600 * int64([]int{36, 12, 1, 23, 25}[r.Intn(5)])
				text = fmt.Sprintf("%dh", d/3600)
			}
		} else if g == 3600 {
			switch r.Intn(4) {
			case 0:
				d = 3600 * int64([]int{1, 2, 3, 5, 24, 100, 239, 240, 241, 1000}[r.Intn(10)])
				text = fmt.Sprintf("%dh", d/3600)
			case 1:
				d = 86400 * int64(1+r.Intn(12))
				text = fmt.Sprintf("%dd", d/86400)
			case 2:
				d = 60 * 60 * int64(1+r.Intn(4))
				text = fmt.Sprintf("%dm", d/60)
			default:
				d = 3600 * int64(1+r.Intn(72))
				text = fmt.Sprintf("%dh", d/3600)
			}
		} else {
			switch r.Intn(4) {
			case 0:
				d = 86400 * int64([]int{1, 2, 3, 7, 30, 59, 60, 61, 90, 365, 400, 401, 1000}[r.Intn(13)])
				text = fmt.Sprintf("%dd", d/86400)
			case 1:
				d = 7 * 86400 * int64(1+r.Intn(10))
				text = fmt.Sprintf("%dw", d/(7*86400))
			case 2:
				d = 86400 * int64(1+r.Intn(3))
				text = fmt.Sprintf("%dh", d/3600)
			default:
				d = 86400 * int64(1+r.Intn(70))
				text = fmt.Sprintf("%dd", d/86400)
			}
		}
		return evWindow{kind: winIn, dur: d, text: " " + evKeyword(r, "IN") + " " + text}
	default:
		a, b := m.RandomTime(r), m.RandomTime(r)
		if r.Intn(3) > 0 && a > b {
			a, b = b, a
		}
		fa, a := evFormatTime(r, a)
		fb, b := evFormatTime(r, b)
		return evWindow{kind: winBetween, from: a, to: b, text: " " + evKeyword(r, "BETWEEN") + " " + fa + " " + evKeyword(r, "AND") + " " + fb}
	}
}

// evFormatTime writes t as Unix seconds, RFC 3339 or a date; a date means
// midnight, so the time it stands for is returned too.
func evFormatTime(r *rand.Rand, t int64) (string, int64) {
	switch r.Intn(3) {
	case 0:
		return strconv.FormatInt(t, 10), t
	case 1:
		return time.Unix(t, 0).UTC().Format(time.RFC3339), t
	}
	t -= t % 86400
	return time.Unix(t, 0).UTC().Format("2006-01-02"), t
}

func (m *EventModel) randomSel(r *rand.Rand, field string) *evSel {
	s := &evSel{field: field}
	var text string
	switch n := r.Intn(10); {
	case n < 3:
	case n < 4:
		text = ":*"
	case n < 7:
		v := eventValues[r.Intn(len(eventValues))]
		if r.Intn(10) == 0 {
			v = "zzz" // a value nobody holds
		}
		s.values, text = []string{v}, ":"+v
	default:
		k := 2 + r.Intn(2)
		for i := 0; i < k; i++ {
			v := eventValues[r.Intn(len(eventValues))]
			if r.Intn(10) == 0 {
				v = "zzz"
			}
			s.values = append(s.values, v)
		}
		text = ":(" + strings.Join(s.values, ",") + ")"
	}
	s.text = field + text
	return s
}
