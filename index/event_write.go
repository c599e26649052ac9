package index

import (
	"fmt"
	"time"

	"github.com/segd-db/segd/index/expr"
)

func checkEventSpec(gran, retention time.Duration) error {
	switch gran {
	case 0, time.Hour, 24 * time.Hour:
	default:
		return errorf("GRANULARITY is HOUR or DAY")
	}
	g := gran
	if g == 0 {
		g = 24 * time.Hour
	}
	if retention != 0 {
		if retention < g || retention%g != 0 {
			return errorf("RETENTION %s is not a whole number of %s buckets: use a multiple of %s", expr.FormatDuration(retention), granularityName(g), expr.FormatDuration(g))
		}
		if retention/g > maxRetentionBuckets {
			return errorf("RETENTION %s is too long: at most %d %s buckets", expr.FormatDuration(retention), maxRetentionBuckets, granularityName(g))
		}
	}
	return nil
}

// track applies ENT.TRACK. Without replay, the event's time must lie within
// the field's retention and at most MaxFutureSkew ahead of the clock.
func (e *Engine) track(m *Mutation, replay bool) (Result, error) {
	if err := checkKey(m.Key); err != nil {
		return Result{}, err
	}
	if len(m.Values) > 1 {
		return Result{}, errorf("a tracked event is one field or field:value")
	}
	value := ""
	if len(m.Values) == 1 {
		value = m.Values[0]
		if err := checkValue(m.Field, value); err != nil {
			return Result{}, err
		}
		if value == "*" {
			return Result{}, errorf("'*' stands for every value in queries; track the event with a value of its own, or with none")
		}
	}
	amount := m.Amount
	if amount == 0 {
		amount = 1
	}
	if amount < 0 || amount > MaxAmount {
		return Result{}, errorf("AMOUNT must be a positive integer up to %d", int64(MaxAmount))
	}
	f, exists := e.fields[m.Field]
	spec := newEventSpec(0, 0)
	if exists {
		if f.kind != KindEvent {
			return Result{}, &KindError{Field: m.Field, Kind: f.kind}
		}
		spec = f.ev.spec
	} else if err := e.mayCreate(m.Field); err != nil {
		return Result{}, err
	}
	now := e.now().Unix()
	if m.At.IsZero() {
		m.At = time.Unix(now, 0).UTC()
	}
	at := m.At.Unix()
	b, start := spec.bucket(at), spec.retStart(now)
	if !replay {
		if b < start {
			return Result{}, errorf("event time %s is older than the %s retention of field '%s': the oldest accepted time is %s",
				m.At.UTC().Format(time.RFC3339), expr.FormatDuration(spec.retentionDur()), m.Field, time.Unix(start*spec.gran, 0).UTC().Format(time.RFC3339))
		}
		if at > now+int64(MaxFutureSkew/time.Second) {
			return Result{}, errorf("event time %s is in the future: at most %s ahead of the server clock (%s) is accepted",
				m.At.UTC().Format(time.RFC3339), expr.FormatDuration(MaxFutureSkew), time.Unix(now, 0).UTC().Format(time.RFC3339))
		}
	}
	if !exists {
		f = newField(m.Field, KindEvent)
		e.fields[m.Field] = f
		e.schema++
	}
	id, _ := e.entity(m.Key)
	f.ev.expire(now)
	if b >= start {
		f.track(id, value, b, uint64(amount))
		e.touch(id, m.Field, value)
	}
	res := Result{N: 1, Changed: true}
	if !exists {
		res.Created = []string{m.Field}
	}
	return res, nil
}

// Expire drops the event buckets that have left their field's retention and
// frees their memory. Queries never read past the retention whether or not
// Expire has run; the server calls it periodically.
func (e *Engine) Expire() {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now().Unix()
	for _, f := range e.fields {
		if f.kind == KindEvent {
			f.ev.expire(now)
		}
	}
}

// EventAmount is an entity's sum of one event value over the retention; the
// value "*" is the sum of every occurrence of the field.
type EventAmount struct {
	Value  string
	Amount uint64
}

// eventAmounts lists id's sums per value over the retention up to now
// (and any events a little ahead of it), "*" first, then by value.
func (f *field) eventAmounts(id uint32, now int64) []EventAmount {
	q := &qctx{at: now + int64(MaxFutureSkew/time.Second), now: now}
	sel := eventSel{f: f}
	pcs, _, _ := sel.pieces(q)
	total := sumAt(pcs, id)
	if total == 0 {
		return nil
	}
	out := []EventAmount{{Value: "*", Amount: total}}
	start := len(out)
	for _, v := range f.values {
		sel.values = []string{v}
		pcs, _, _ = sel.pieces(q)
		if n := sumAt(pcs, id); n > 0 {
			out = append(out, EventAmount{Value: v, Amount: n})
		}
	}
	sortAmounts(out[start:])
	return out
}

func sortAmounts(a []EventAmount) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j].Value < a[j-1].Value; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// EventRecord is one event for TrackMany.
type EventRecord struct {
	Key    string
	Value  string // "" for none
	At     time.Time
	Amount int64 // 0 means 1
}

// TrackMany adds many events of one field under a single lock, for bulk loads
// (imports, benchmarks). Each record is checked as ENT.TRACK checks it; it
// stops at the first bad record and returns how many were applied. Bulk
// loads are fastest with records grouped by key.
func (e *Engine) TrackMany(fieldName string, recs []EventRecord) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := Mutation{Op: OpTrack, Field: fieldName}
	one := make([]string, 1)
	for i, r := range recs {
		m.Key, m.At, m.Amount, m.Values = r.Key, r.At, r.Amount, nil
		if r.Value != "" {
			one[0] = r.Value
			m.Values = one
		}
		if _, err := e.track(&m, false); err != nil {
			return i, fmt.Errorf("event %d: %w", i, err)
		}
	}
	if len(recs) > 0 {
		e.gen++
	}
	return len(recs), nil
}
