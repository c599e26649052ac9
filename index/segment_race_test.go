package index_test

import (
	"sync"
	"testing"

	"github.com/segd-db/segd/index"
)

// TestSegmentReadersAfterChange: readers right after segments are created,
// replaced or dropped (and on a fresh engine) find the segment order built;
// under -race this fails if a reader builds it.
func TestSegmentReadersAfterChange(t *testing.T) {
	e := index.New()
	read := func() {
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Go(func() {
				e.SegmentsOf("u1")
				e.SegmentsOf("u2")
			})
		}
		wg.Wait()
	}
	read()
	mustApply(t, e, &index.Mutation{Op: index.OpSet, Key: "u1", Pairs: []index.Pair{{Field: "country", Value: "FR"}}})
	for _, m := range []*index.Mutation{
		{Op: index.OpSegmentCreate, Key: "fr", Values: []string{"country:FR"}},
		{Op: index.OpSegmentCreate, Key: "fr2", Values: []string{"@fr"}},
		{Op: index.OpSegmentCreate, Key: "fr", Values: []string{"country:FR OR country:DE"}, Replace: true},
		{Op: index.OpSegmentDrop, Key: "fr2"},
		{Op: index.OpFlush},
	} {
		mustApply(t, e, m)
		read()
	}
}
