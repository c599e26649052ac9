package index

import "testing"

// TestPrefetch: prefetching a batch of writes, with and without saved
// segments, for known and unknown customers, changes nothing.
func TestPrefetch(t *testing.T) {
	e := New()
	for _, m := range []*Mutation{
		{Op: OpCreateField, Field: "tier", Kind: KindEnum},
		{Op: OpCreateField, Field: "age", Kind: KindInt},
		{Op: OpCreateField, Field: "tags", Kind: KindTags},
		{Op: OpSet, Key: "u:1", Pairs: []Pair{{Field: "tier", Value: "gold"}, {Field: "age", Value: "30"}}},
	} {
		if _, err := e.Apply(m); err != nil {
			t.Fatal(err)
		}
	}
	batch := []*Mutation{
		{Op: OpSet, Key: "u:1", Pairs: []Pair{{Field: "tier", Value: "silver"}}},
		{Op: OpAdd, Key: "u:2", Field: "tags", Values: []string{"a"}},
		{Op: OpDel, Keys: []string{"u:3"}},
		{Op: OpTick},
	}
	e.Prefetch(batch)
	if _, err := e.Apply(&Mutation{Op: OpSegmentCreate, Key: "gold", Values: []string{"tier:gold AND age > 20 AND NOT tags:a"}}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		e.Prefetch(batch)
	}
	if n, _ := e.SegmentCard("gold"); n != 1 || e.Len() != 1 {
		t.Fatalf("after Prefetch: segment holds %d, engine %d entities; want 1 and 1", n, e.Len())
	}
	for _, m := range batch[:2] {
		if _, err := e.Apply(m); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := e.SegmentCard("gold"); n != 0 || e.Len() != 2 {
		t.Fatalf("after the writes: segment holds %d, engine %d entities; want 0 and 2", n, e.Len())
	}
}
