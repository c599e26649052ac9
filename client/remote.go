package client

import (
	"context"
	"errors"
	"fmt"

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

func (c *remote) Count(ctx context.Context, expr string) (uint64, error) {
	return c.do(ctx, "QUERY.COUNT", expr).Uint64()
}

func (c *remote) IsMember(ctx context.Context, expr, key string) (bool, error) {
	n, err := c.do(ctx, "QUERY.ISMEMBER", expr, key).Int64()
	return n == 1, err
}

func (c *remote) Members(ctx context.Context, expr string, fn func(string) error) error {
	cursor := "0"
	for {
		v, err := c.do(ctx, "QUERY.MEMBERS", expr, "CURSOR", cursor, "COUNT", 1000).Slice()
		if err != nil {
			return err
		}
		if len(v) != 2 {
			return fmt.Errorf("segd: QUERY.MEMBERS reply has %d elements", len(v))
		}
		cursor, _ = v[0].(string)
		keys, _ := v[1].([]any)
		for _, k := range keys {
			s, _ := k.(string)
			if err := fn(s); err != nil {
				return err
			}
		}
		if cursor == "0" || cursor == "" {
			return nil
		}
	}
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

func (c *remote) Close() error { return c.r.Close() }
