package dict

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// Touch reads but never changes: lookups agree before and after, for keys
// present, absent and deleted, and for batches longer than it looks at.
func TestDictTouch(t *testing.T) {
	d := New()
	for i := range 5000 {
		d.Insert("u:" + strconv.Itoa(i))
	}
	for i := 0; i < 5000; i += 7 {
		d.Delete("u:" + strconv.Itoa(i))
	}
	var keys [][]byte
	for i := range 200 {
		keys = append(keys, []byte("u:"+strconv.Itoa(i*31)))
	}
	keys = append(keys, []byte("nobody"), []byte(""))
	before := make([]uint32, len(keys))
	for i, k := range keys {
		id, ok := d.LookupBytes(k)
		if !ok {
			id = ^uint32(0)
		}
		before[i] = id
	}
	d.Touch(keys)
	d.Touch(keys[len(keys)-3:])
	d.Touch(nil)
	for i, k := range keys {
		id, ok := d.LookupBytes(k)
		if !ok {
			id = ^uint32(0)
		}
		if id != before[i] {
			t.Fatalf("%q: id %d after Touch, %d before", k, id, before[i])
		}
	}
	if d.Len() != 5000-715 {
		t.Fatalf("Len %d", d.Len())
	}
}

// BenchmarkDictLookupBatch looks up batches of 16 random keys of 1M (a
// pipelined batch of membership checks), without and with a Touch of the
// batch first.
func BenchmarkDictLookupBatch(b *testing.B) {
	d, keys := benchDict(1 << 20)
	r := rand.New(rand.NewPCG(1, 2))
	const batches = 1 << 12
	sample := make([][][]byte, batches)
	for i := range sample {
		for range 16 {
			sample[i] = append(sample[i], []byte(keys[r.IntN(len(keys))]))
		}
	}
	for _, touch := range []bool{false, true} {
		name := "plain"
		if touch {
			name = "touched"
		}
		b.Run(name, func(b *testing.B) {
			var sink uint32
			for i := range b.N {
				batch := sample[i&(batches-1)]
				if touch {
					sink += d.Touch(batch)
				}
				for _, k := range batch {
					id, _ := d.LookupBytes(k)
					sink += id
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*16), "ns/key")
			_ = sink
		})
	}
}
