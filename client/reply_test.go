package client

import (
	"math/big"
	"reflect"
	"testing"
)

// TestEventsReply: ENT.GET's EVENT values as go-redis hands them over,
// RESP3 maps and RESP2 flat arrays, with sums past 63 bits, told apart from
// TAGS arrays.
func TestEventsReply(t *testing.T) {
	huge := new(big.Int).SetUint64(1<<63 + 5)
	for _, c := range []struct {
		name  string
		reply any
		want  Events
		event bool
	}{
		{"resp3", map[any]any{"*": int64(7), "shoes": int64(5), "shirts": int64(1)}, Events{7, map[string]uint64{"shoes": 5, "shirts": 1}}, true},
		{"resp3 total only", map[any]any{"*": int64(2)}, Events{Total: 2}, true},
		{"resp3 big number", map[any]any{"*": huge, "a": int64(1)}, Events{1<<63 + 5, map[string]uint64{"a": 1}}, true},
		{"resp2", []any{"*", int64(7), "shirts", int64(1), "shoes", int64(5)}, Events{7, map[string]uint64{"shoes": 5, "shirts": 1}}, true},
		{"resp2 big number", []any{"*", "9223372036854775813", "a", int64(1)}, Events{1<<63 + 5, map[string]uint64{"a": 1}}, true},
		{"tags", []any{"a", "b"}, Events{}, false},
		{"tags with a star", []any{"*", "12"}, Events{}, false},
		{"one tag", []any{"*"}, Events{}, false},
		{"enum", "PT", Events{}, false},
		{"int", int64(3), Events{}, false},
	} {
		got, ok, err := eventsReply(c.reply)
		if err != nil || ok != c.event || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %+v, %v, %v; want %+v, %v", c.name, got, ok, err, c.want, c.event)
		}
	}
	if _, _, err := eventsReply(map[any]any{"*": "x"}); err == nil {
		t.Error("a map that is not of sums should be an error")
	}
}
