// Package client is a small typed Go client for segd, for remote use over
// RESP (Remote, on top of go-redis) and embedded use in the same process
// (Embedded, on top of an index.Engine, with no network and no disk). Both
// implement Client, so code and tests can switch between them.
//
//	c := client.Remote(&redis.Options{Addr: "127.0.0.1:6479", Protocol: 3})
//	c.Set(ctx, "u:1", client.Fields{"country": "PT", "age": 31})
//	n, _ := c.Count(ctx, "country:PT AND age >= 30")
package client

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"segd/index"
)

// Client is what both the remote and the embedded client offer.
type Client interface {
	// CreateField creates a field of the given kind ("ENUM", "TAGS", "INT").
	CreateField(ctx context.Context, name, kind string) error
	// Set gives an entity field values (ENT.SET): strings make ENUM values,
	// integers INT values; it returns how many fields changed.
	Set(ctx context.Context, key string, fields Fields) (int64, error)
	// Unset removes fields' values (ENT.UNSET).
	Unset(ctx context.Context, key string, fields ...string) (int64, error)
	// Add adds TAGS values (ENT.ADD); Rem removes them (ENT.REM).
	Add(ctx context.Context, key, field string, values ...string) (int64, error)
	Rem(ctx context.Context, key, field string, values ...string) (int64, error)
	// Del deletes entities (ENT.DEL).
	Del(ctx context.Context, keys ...string) (int64, error)
	// Get reads an entity (ENT.GET); ErrNotFound for an unknown key.
	Get(ctx context.Context, key string, fields ...string) (Entity, error)
	// Count, IsMember and Members answer an expression (QUERY.*).
	Count(ctx context.Context, expr string) (uint64, error)
	IsMember(ctx context.Context, expr, key string) (bool, error)
	// Members calls fn for every matching key, paging with a cursor.
	Members(ctx context.Context, expr string, fn func(key string) error) error
	// GroupBy counts the entities matching where per value of field.
	GroupBy(ctx context.Context, field, where string, limit int) ([]ValueCount, error)
	// Top lists the k entities with the highest INT measure.
	Top(ctx context.Context, k int, measure, where string) ([]Ranked, error)
	// Close releases the client.
	Close() error
}

// Fields are the values of ENT.SET: string values make ENUM values, integer
// values (int, int64, …) INT values.
type Fields map[string]any

// Entity is an entity's values by field: string for ENUM, int64 for INT,
// []string for TAGS.
type Entity map[string]any

// ValueCount is one value and how many entities hold it.
type ValueCount struct {
	Value    string
	Entities int64
}

// Ranked is one entity and its measure.
type Ranked struct {
	Key   string
	Value int64
}

// ErrNotFound is returned by Get for an unknown key.
var ErrNotFound = errors.New("segd: no such entity")

// pairs renders Fields in field-name order, so commands are deterministic.
func (f Fields) pairs() ([]index.Pair, error) {
	names := make([]string, 0, len(f))
	for name := range f {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make([]index.Pair, 0, len(f))
	for _, name := range names {
		v, err := valueString(f[name])
		if err != nil {
			return nil, fmt.Errorf("segd: field %s: %w", name, err)
		}
		out = append(out, index.Pair{Field: name, Value: v})
	}
	return out, nil
}

func valueString(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case int:
		return strconv.Itoa(v), nil
	case int32:
		return strconv.FormatInt(int64(v), 10), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case uint32:
		return strconv.FormatUint(uint64(v), 10), nil
	}
	return "", fmt.Errorf("unsupported value type %T: use a string or an integer", v)
}
