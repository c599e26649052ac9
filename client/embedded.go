package client

import (
	"context"
	"time"

	"github.com/segd-db/segd/index"
	"github.com/segd-db/segd/protocol"
)

// Embedded is a Client over an engine in the same process: no network, no
// persistence. The engine may be shared with other code.
//
// Segment enters and exits are kept in each segment's bounded change log
// (SegmentChanges). Code that wants every change as it happens, as the
// server's notifications do, turns on e.KeepChanges(true) and reads them
// with e.DrainChanges().
func Embedded(e *index.Engine) Client { return &embedded{e: e} }

type embedded struct{ e *index.Engine }

// apply applies a write. Its error reads as the server's reply would
// (protocol.ErrorOf: "field 'tier' is ENUM, use ENT.SET").
func (c *embedded) apply(m *index.Mutation) (int64, error) {
	res, err := c.e.Apply(m)
	if err != nil {
		return res.N, protocol.ErrorOf(err)
	}
	return res.N, nil
}

func (c *embedded) CreateField(_ context.Context, name, kind string) error {
	k, ok := index.ParseKind(kind)
	if !ok {
		return &index.Error{Code: "ERR", Msg: "unknown field kind '" + kind + "': use ENUM, TAGS, INT or EVENT"}
	}
	_, err := c.apply(&index.Mutation{Op: index.OpCreateField, Field: name, Kind: k})
	return err
}

func (c *embedded) Set(_ context.Context, key string, fields Fields) (int64, error) {
	pairs, err := fields.pairs()
	if err != nil {
		return 0, err
	}
	return c.apply(&index.Mutation{Op: index.OpSet, Key: key, Pairs: pairs})
}

func (c *embedded) Unset(_ context.Context, key string, fields ...string) (int64, error) {
	return c.apply(&index.Mutation{Op: index.OpUnset, Key: key, Fields: fields})
}

func (c *embedded) Add(_ context.Context, key, field string, values ...string) (int64, error) {
	return c.apply(&index.Mutation{Op: index.OpAdd, Key: key, Field: field, Values: values})
}

func (c *embedded) Rem(_ context.Context, key, field string, values ...string) (int64, error) {
	return c.apply(&index.Mutation{Op: index.OpRem, Key: key, Field: field, Values: values})
}

func (c *embedded) Del(_ context.Context, keys ...string) (int64, error) {
	return c.apply(&index.Mutation{Op: index.OpDel, Keys: keys})
}

func (c *embedded) Track(_ context.Context, key, event string, at time.Time, amount int64) error {
	field, values, err := splitEvent(event, amount)
	if err != nil {
		return err
	}
	if !at.IsZero() {
		at = time.Unix(at.Unix(), 0).UTC() // to the second, as over the wire
	}
	_, err = c.apply(&index.Mutation{Op: index.OpTrack, Key: key, Field: field, Values: values, At: at, Amount: amount})
	return err
}

func (c *embedded) Get(_ context.Context, key string, fields ...string) (Entity, error) {
	vals, found, err := c.e.Get(key, fields)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrNotFound
	}
	out := Entity{}
	for _, v := range vals {
		switch v.Kind {
		case index.KindEnum:
			out[v.Field] = v.Str
		case index.KindInt:
			out[v.Field] = v.Int
		case index.KindTags:
			out[v.Field] = v.Tags
		case index.KindEvent:
			evs := v.Events
			out[v.Field] = eventsOf(len(evs), func(i int) (string, uint64) { return evs[i].Value, evs[i].Amount })
		}
	}
	return out, nil
}

func (c *embedded) Count(_ context.Context, expr string) (uint64, error) {
	return c.e.Count(expr, time.Time{})
}

func (c *embedded) IsMember(_ context.Context, expr, key string) (bool, error) {
	return c.e.IsMember(expr, key, time.Time{})
}

func (c *embedded) Members(ctx context.Context, expr string, fn func(string) error) error {
	return scan(ctx, func(cursor uint64) (uint64, []string, error) {
		return c.e.Members(expr, cursor, 1000, time.Time{})
	}, fn)
}

func (c *embedded) GroupBy(_ context.Context, field, where string, limit int) ([]ValueCount, error) {
	vals, err := c.e.GroupBy(field, where, limit, time.Time{})
	if err != nil {
		return nil, err
	}
	out := make([]ValueCount, len(vals))
	for i, v := range vals {
		out[i] = ValueCount{Value: v.Value, Entities: int64(v.Entities)}
	}
	return out, nil
}

func (c *embedded) Top(_ context.Context, k int, measure, where string) ([]Ranked, error) {
	top, err := c.e.Top(k, measure, where, time.Time{})
	if err != nil {
		return nil, err
	}
	out := make([]Ranked, len(top))
	for i, r := range top {
		out[i] = Ranked{Key: r.Key, Value: r.Value}
	}
	return out, nil
}

func (c *embedded) CreateSegment(_ context.Context, name, expr string, replace bool) (uint64, error) {
	n, err := c.apply(&index.Mutation{Op: index.OpSegmentCreate, Key: name, Values: []string{expr}, Replace: replace})
	return uint64(n), err
}

func (c *embedded) DropSegment(_ context.Context, name string) (bool, error) {
	n, err := c.apply(&index.Mutation{Op: index.OpSegmentDrop, Key: name})
	return n == 1, err
}

func (c *embedded) Segments(context.Context) ([]string, error) { return c.e.Segments(), nil }

func (c *embedded) SegmentCard(_ context.Context, name string) (uint64, error) {
	return c.e.SegmentCard(name)
}

func (c *embedded) SegmentIsMember(_ context.Context, name, key string) (bool, error) {
	return c.e.SegmentIsMember(name, key)
}

func (c *embedded) SegmentMembers(ctx context.Context, name string, fn func(string) error) error {
	return scan(ctx, func(cursor uint64) (uint64, []string, error) {
		return c.e.SegmentMembers(name, cursor, 1000)
	}, fn)
}

func (c *embedded) SegmentsOf(_ context.Context, key string) ([]string, error) {
	return c.e.SegmentsOf(key), nil
}

func (c *embedded) SegmentChanges(_ context.Context, name string, since uint64, count int) (uint64, []Change, error) {
	next, chs, err := c.e.SegmentChanges(name, since, max(count, 0))
	if err != nil {
		return 0, nil, err
	}
	out := make([]Change, len(chs))
	for i, ch := range chs {
		out[i] = Change{Segment: name, Version: ch.Version, Key: ch.Key, Enter: ch.Enter, Time: time.Unix(ch.Time, 0).UTC()}
	}
	return next, out, nil
}

func (c *embedded) Close() error { return nil }
