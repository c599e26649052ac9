// Package client is a small typed Go client for segd, for remote use over
// RESP (Remote, on top of go-redis) and embedded use in the same process
// (Embedded, on top of an index.Engine, with no network and no disk). Both
// implement Client, so code and tests can switch between them.
//
//	c := client.Remote(&redis.Options{Addr: "127.0.0.1:6479", Protocol: 3})
//	c.Set(ctx, "u:1", client.Fields{"country": "PT", "age": 31})
//	c.Track(ctx, "u:1", "purchase:shoes", time.Time{}, 0) // now, amount 1
//	n, _ := c.Count(ctx, "country:PT AND age >= 30")
//	card, _ := c.CreateSegment(ctx, "shoe_buyers", "purchase:shoes >= 2 IN 90d", false)
package client

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/segd-db/segd/index"
)

// Client is what both the remote and the embedded client offer.
type Client interface {
	// CreateField creates a field of the given kind ("ENUM", "TAGS", "INT",
	// "EVENT"; an EVENT field made here has DAY buckets kept 400 days).
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
	// Track records one occurrence of an EVENT field (ENT.TRACK). event is
	// "field" or "field:value"; the first ':' splits, so "purchase:shoes:red"
	// is the value "shoes:red" of purchase. at is when it happened (the zero
	// time: now, by the server's clock), to the second; it must lie in the
	// field's retention and at most 5 minutes ahead. amount is a whole number
	// from 1 to 2^40; 0 means 1.
	Track(ctx context.Context, key, event string, at time.Time, amount int64) error
	// Get reads an entity (ENT.GET); ErrNotFound for an unknown key.
	Get(ctx context.Context, key string, fields ...string) (Entity, error)
	// Count, IsMember and Members answer an expression (QUERY.*).
	Count(ctx context.Context, expr string) (uint64, error)
	IsMember(ctx context.Context, expr, key string) (bool, error)
	// Members calls fn for every matching key, paging with a cursor.
	Members(ctx context.Context, expr string, fn func(key string) error) error
	// GroupBy counts the entities matching where per value of field.
	GroupBy(ctx context.Context, field, where string, limit int) ([]ValueCount, error)
	// Top lists the k entities with the highest measure: an INT field or an
	// event sum ("spend:apparel IN 365d").
	Top(ctx context.Context, k int, measure, where string) ([]Ranked, error)

	// CreateSegment saves a segment (SEGMENT.CREATE) and returns its
	// cardinality. An existing name is an error unless replace is true.
	CreateSegment(ctx context.Context, name, expr string, replace bool) (uint64, error)
	// DropSegment drops a segment (SEGMENT.DROP): false when there was none,
	// an error while another segment references it.
	DropSegment(ctx context.Context, name string) (bool, error)
	// Segments lists the saved segments' names, sorted (SEGMENT.LIST).
	Segments(ctx context.Context) ([]string, error)
	// SegmentCard is a segment's number of members (SEGMENT.CARD).
	SegmentCard(ctx context.Context, name string) (uint64, error)
	// SegmentIsMember tells whether key is a member (SEGMENT.ISMEMBER); an
	// unknown key is not.
	SegmentIsMember(ctx context.Context, name, key string) (bool, error)
	// SegmentMembers calls fn for every member, paging with a cursor
	// (SEGMENT.MEMBERS).
	SegmentMembers(ctx context.Context, name string, fn func(key string) error) error
	// SegmentsOf lists, sorted, the segments holding key (SEGMENT.OF); none
	// for an unknown key.
	SegmentsOf(ctx context.Context, key string) ([]string, error)
	// SegmentChanges reads a segment's change log (SEGMENT.CHANGES): the
	// enters and exits with a version above since, oldest first, at most
	// count of them (count <= 0: the server's largest page, --max-page;
	// embedded: every kept change), and the version to pass as since next
	// time. Start with since 0 after reading the members; it is an error
	// when since is older than the kept log.
	SegmentChanges(ctx context.Context, name string, since uint64, count int) (next uint64, changes []Change, err error)

	// Close releases the client.
	Close() error
}

// Fields are the values of ENT.SET: string values make ENUM values, integer
// values (int, int64, …) INT values.
type Fields map[string]any

// Entity is an entity's values by field: string for ENUM, int64 for INT,
// []string for TAGS, Events for EVENT (a field with no occurrence in its
// retention is left out).
type Entity map[string]any

// Events is an EVENT field's value in an Entity: sums of amounts over the
// field's retention.
type Events struct {
	// Total is the sum of every occurrence, with or without a value (the
	// "*" of ENT.GET); it can be larger than the sum of Values.
	Total uint64
	// Values is the sum per value; nil when no occurrence had a value.
	Values map[string]uint64
}

// Change is one entry of a segment's change log: an entity entered or left.
type Change struct {
	Segment string
	Version uint64 // the segment's version after the change
	Key     string
	Enter   bool      // true: entered; false: left
	Time    time.Time // when, to the second, UTC
}

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

// splitEvent reads the event argument of Track, "field" or "field:value",
// and checks what the client can: both clients refuse the same things.
func splitEvent(event string, amount int64) (field string, values []string, err error) {
	field, value, ok := strings.Cut(event, ":")
	if ok {
		if value == "" {
			return "", nil, &index.Error{Code: "ERR", Msg: "empty value after '" + field + ":': write " + field + ":value, or the field alone for an event without a value"}
		}
		values = []string{value}
	}
	if amount < 0 || amount > index.MaxAmount {
		return "", nil, &index.Error{Code: "ERR", Msg: "AMOUNT must be a whole number from 1 to " + strconv.FormatInt(index.MaxAmount, 10) + " (0 means 1), not " + strconv.FormatInt(amount, 10)}
	}
	return field, values, nil
}

// eventsOf builds Events from (value, amount) pairs, "*" being the total.
func eventsOf(n int, pair func(i int) (string, uint64)) Events {
	var ev Events
	for i := range n {
		v, a := pair(i)
		if v == "*" {
			ev.Total = a
			continue
		}
		if ev.Values == nil {
			ev.Values = make(map[string]uint64, n-1)
		}
		ev.Values[v] = a
	}
	return ev
}

// amountOf reads an event sum from a reply: an integer, a RESP3 big number
// (a sum beyond 63 bits), or its decimal text (a big number under RESP2).
func amountOf(v any) (uint64, bool) {
	switch x := v.(type) {
	case int64:
		return uint64(x), x >= 0
	case *big.Int:
		return x.Uint64(), x.IsUint64()
	case string:
		n, err := strconv.ParseUint(x, 10, 64)
		return n, err == nil && n > math.MaxInt64
	}
	return 0, false
}

// scan pages through a cursor until it comes back as 0, calling fn for
// every key.
func scan(ctx context.Context, page func(cursor uint64) (uint64, []string, error), fn func(string) error) error {
	var cursor uint64
	for {
		next, keys, err := page(cursor)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := fn(k); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		cursor = next
	}
}
