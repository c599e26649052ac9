package client

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Remote is a Client for a segd server, over go-redis with the given
// options (RESP2 or RESP3, TLS, password: all go-redis settings apply).
func Remote(opts *redis.Options) Client { return &remote{r: redis.NewClient(opts)} }

type remote struct{ r *redis.Client }

func (c *remote) do(ctx context.Context, args ...any) *redis.Cmd { return c.r.Do(ctx, args...) }

func (c *remote) CreateField(ctx context.Context, name, kind string) error {
	return c.do(ctx, "FIELD.CREATE", name, kind).Err()
}

func (c *remote) Set(ctx context.Context, key string, fields Fields) (int64, error) {
	pairs, err := fields.pairs()
	if err != nil {
		return 0, err
	}
	args := []any{"ENT.SET", key}
	for _, p := range pairs {
		args = append(args, p.Field, p.Value)
	}
	return c.do(ctx, args...).Int64()
}

func (c *remote) strsCmd(ctx context.Context, head []any, rest []string) (int64, error) {
	for _, s := range rest {
		head = append(head, s)
	}
	return c.do(ctx, head...).Int64()
}

func (c *remote) Unset(ctx context.Context, key string, fields ...string) (int64, error) {
	return c.strsCmd(ctx, []any{"ENT.UNSET", key}, fields)
}

func (c *remote) Add(ctx context.Context, key, field string, values ...string) (int64, error) {
	return c.strsCmd(ctx, []any{"ENT.ADD", key, field}, values)
}

func (c *remote) Rem(ctx context.Context, key, field string, values ...string) (int64, error) {
	return c.strsCmd(ctx, []any{"ENT.REM", key, field}, values)
}

func (c *remote) Del(ctx context.Context, keys ...string) (int64, error) {
	return c.strsCmd(ctx, []any{"ENT.DEL"}, keys)
}

func (c *remote) Track(ctx context.Context, key, event string, at time.Time, amount int64) error {
	if _, _, err := splitEvent(event, amount); err != nil {
		return err
	}
	args := []any{"ENT.TRACK", key, event}
	if !at.IsZero() {
		args = append(args, "AT", strconv.FormatInt(at.Unix(), 10))
	}
	if amount != 0 {
		args = append(args, "AMOUNT", amount)
	}
	return c.do(ctx, args...).Err()
}

func (c *remote) Get(ctx context.Context, key string, fields ...string) (Entity, error) {
	args := []any{"ENT.GET", key}
	for _, f := range fields {
		args = append(args, f)
	}
	v, err := c.do(ctx, args...).Result()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	out := Entity{}
	put := func(k, v any) error {
		name, ok := k.(string)
		if !ok {
			return fmt.Errorf("segd: ENT.GET field name %v is %T", k, k)
		}
		if ev, ok, err := eventsReply(v); ok || err != nil {
			if err != nil {
				return fmt.Errorf("segd: ENT.GET value of %s: %w", name, err)
			}
			out[name] = ev
			return nil
		}
		switch v := v.(type) {
		case string, int64:
			out[name] = v
		case []any:
			tags := make([]string, 0, len(v))
			for _, t := range v {
				s, _ := t.(string)
				tags = append(tags, s)
			}
			out[name] = tags
		default:
			return fmt.Errorf("segd: ENT.GET value of %s is %T", name, v)
		}
		return nil
	}
	switch v := v.(type) {
	case map[any]any: // RESP3
		for k, val := range v {
			if err := put(k, val); err != nil {
				return nil, err
			}
		}
	case []any: // RESP2: field, value, field, value…
		for i := 0; i+1 < len(v); i += 2 {
			if err := put(v[i], v[i+1]); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("segd: ENT.GET reply is %T", v)
	}
	return out, nil
}

// eventsReply reads an EVENT field's value in ENT.GET: a map value → sum
// with "*" first, a RESP3 map or under RESP2 a flat array. A RESP2 array is
// told from TAGS (an array of strings) by its sums: "*" then an integer (or,
// past 63 bits, its decimal text).
func eventsReply(v any) (Events, bool, error) {
	switch x := v.(type) {
	case map[any]any: // RESP3
		keys := make([]string, 0, len(x))
		amounts := make(map[string]uint64, len(x))
		for k, a := range x {
			s, ok := k.(string)
			n, ok2 := amountOf(a)
			if !ok || !ok2 {
				return Events{}, false, fmt.Errorf("unexpected event sum %v: %v", k, a)
			}
			keys = append(keys, s)
			amounts[s] = n
		}
		sort.Strings(keys)
		return eventsOf(len(keys), func(i int) (string, uint64) { return keys[i], amounts[keys[i]] }), true, nil
	case []any: // RESP2
		if len(x) < 2 || len(x)%2 != 0 || x[0] != "*" {
			return Events{}, false, nil
		}
		for i := 1; i < len(x); i += 2 {
			if _, ok := amountOf(x[i]); !ok {
				return Events{}, false, nil // TAGS
			}
		}
		return eventsOf(len(x)/2, func(i int) (string, uint64) {
			s, _ := x[2*i].(string)
			n, _ := amountOf(x[2*i+1])
			return s, n
		}), true, nil
	}
	return Events{}, false, nil
}

func (c *remote) Count(ctx context.Context, expr string) (uint64, error) {
	return c.do(ctx, "QUERY.COUNT", expr).Uint64()
}

func (c *remote) IsMember(ctx context.Context, expr, key string) (bool, error) {
	n, err := c.do(ctx, "QUERY.ISMEMBER", expr, key).Int64()
	return n == 1, err
}

func (c *remote) Members(ctx context.Context, expr string, fn func(string) error) error {
	return c.scan(ctx, "QUERY.MEMBERS", expr, fn)
}

// scan pages through QUERY.MEMBERS or SEGMENT.MEMBERS.
func (c *remote) scan(ctx context.Context, cmd, arg string, fn func(string) error) error {
	return scan(ctx, func(cursor uint64) (uint64, []string, error) {
		v, err := c.do(ctx, cmd, arg, "CURSOR", cursor, "COUNT", 1000).Slice()
		if err != nil {
			return 0, nil, err
		}
		if len(v) != 2 {
			return 0, nil, fmt.Errorf("segd: %s reply has %d elements", cmd, len(v))
		}
		s, _ := v[0].(string)
		next, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, nil, fmt.Errorf("segd: %s cursor %q", cmd, s)
		}
		items, _ := v[1].([]any)
		keys := make([]string, len(items))
		for i, k := range items {
			keys[i], _ = k.(string)
		}
		return next, keys, nil
	}, fn)
}

// stringsReply reads an array of strings, never nil.
func stringsReply(v []any, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	out := make([]string, len(v))
	for i, e := range v {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("segd: unexpected reply element %v", e)
		}
		out[i] = s
	}
	return out, nil
}

// pairsReply reads an array of [string, integer] pairs.
func pairsReply(v []any, err error) ([][2]any, error) {
	if err != nil {
		return nil, err
	}
	out := make([][2]any, 0, len(v))
	for _, e := range v {
		p, ok := e.([]any)
		if !ok || len(p) != 2 {
			return nil, fmt.Errorf("segd: unexpected reply element %v", e)
		}
		out = append(out, [2]any{p[0], p[1]})
	}
	return out, nil
}

func (c *remote) GroupBy(ctx context.Context, field, where string, limit int) ([]ValueCount, error) {
	args := []any{"QUERY.GROUPBY", field}
	if where != "" {
		args = append(args, "WHERE", where)
	}
	if limit > 0 {
		args = append(args, "LIMIT", limit)
	}
	ps, err := pairsReply(c.do(ctx, args...).Slice())
	if err != nil {
		return nil, err
	}
	out := make([]ValueCount, len(ps))
	for i, p := range ps {
		out[i].Value, _ = p[0].(string)
		out[i].Entities, _ = p[1].(int64)
	}
	return out, nil
}

func (c *remote) Top(ctx context.Context, k int, measure, where string) ([]Ranked, error) {
	args := []any{"QUERY.TOP", k, measure}
	if where != "" {
		args = append(args, "WHERE", where)
	}
	ps, err := pairsReply(c.do(ctx, args...).Slice())
	if err != nil {
		return nil, err
	}
	out := make([]Ranked, len(ps))
	for i, p := range ps {
		out[i].Key, _ = p[0].(string)
		out[i].Value, _ = p[1].(int64)
	}
	return out, nil
}

func (c *remote) CreateSegment(ctx context.Context, name, expr string, replace bool) (uint64, error) {
	args := []any{"SEGMENT.CREATE", name, expr}
	if replace {
		args = append(args, "REPLACE")
	}
	return c.do(ctx, args...).Uint64()
}

func (c *remote) DropSegment(ctx context.Context, name string) (bool, error) {
	n, err := c.do(ctx, "SEGMENT.DROP", name).Int64()
	return n == 1, err
}

func (c *remote) Segments(ctx context.Context) ([]string, error) {
	return stringsReply(c.do(ctx, "SEGMENT.LIST").Slice())
}

func (c *remote) SegmentCard(ctx context.Context, name string) (uint64, error) {
	return c.do(ctx, "SEGMENT.CARD", name).Uint64()
}

func (c *remote) SegmentIsMember(ctx context.Context, name, key string) (bool, error) {
	n, err := c.do(ctx, "SEGMENT.ISMEMBER", name, key).Int64()
	return n == 1, err
}

func (c *remote) SegmentMembers(ctx context.Context, name string, fn func(string) error) error {
	return c.scan(ctx, "SEGMENT.MEMBERS", name, fn)
}

func (c *remote) SegmentsOf(ctx context.Context, key string) ([]string, error) {
	return stringsReply(c.do(ctx, "SEGMENT.OF", key).Slice())
}

func (c *remote) SegmentChanges(ctx context.Context, name string, since uint64, count int) (uint64, []Change, error) {
	args := []any{"SEGMENT.CHANGES", name, "SINCE", since}
	if count > 0 {
		args = append(args, "COUNT", count)
	}
	v, err := c.do(ctx, args...).Slice()
	if err != nil {
		return 0, nil, err
	}
	bad := func(what any) (uint64, []Change, error) {
		return 0, nil, fmt.Errorf("segd: unexpected SEGMENT.CHANGES reply %v", what)
	}
	if len(v) != 2 {
		return bad(v)
	}
	next, ok := v[0].(int64)
	items, ok2 := v[1].([]any)
	if !ok || !ok2 {
		return bad(v)
	}
	out := make([]Change, len(items))
	for i, it := range items {
		e, ok := it.([]any)
		if !ok || len(e) != 4 {
			return bad(it)
		}
		ver, ok1 := e[0].(int64)
		key, ok2 := e[1].(string)
		word, ok3 := e[2].(string)
		at, ok4 := e[3].(int64)
		if !ok1 || !ok2 || !ok3 || !ok4 || (word != "enter" && word != "exit") {
			return bad(it)
		}
		out[i] = Change{Segment: name, Version: uint64(ver), Key: key, Enter: word == "enter", Time: time.Unix(at, 0).UTC()}
	}
	return uint64(next), out, nil
}

func (c *remote) Close() error { return c.r.Close() }
