package dict

import (
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
)

func benchDict(n int) (*Dict, []string) {
	d := New()
	keys := make([]string, n)
	for i := range n {
		keys[i] = "u:" + strconv.Itoa(i)
		d.Insert(keys[i])
	}
	return d, keys
}

func BenchmarkDictLookupHit(b *testing.B) {
	d, keys := benchDict(1 << 20)
	// A random sample of the keys packed into one string: the keys' own
	// bytes stay in cache, the dictionary's table, offsets and arena do not.
	r := rand.New(rand.NewPCG(1, 2))
	var packed []byte
	var ends []int
	for range 1 << 16 {
		packed = append(packed, keys[r.IntN(len(keys))]...)
		ends = append(ends, len(packed))
	}
	all := string(packed)
	sample := make([]string, len(ends))
	for i, e := range ends {
		start := 0
		if i > 0 {
			start = ends[i-1]
		}
		sample[i] = all[start:e]
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, ok := d.Lookup(sample[i&(1<<16-1)]); !ok {
			b.Fatal("miss")
		}
	}
}

func BenchmarkDictLookupMiss(b *testing.B) {
	d, _ := benchDict(1 << 20)
	keys := make([]string, 1<<16)
	for i := range keys {
		keys[i] = "x:" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, ok := d.Lookup(keys[i&(1<<16-1)]); ok {
			b.Fatal("hit")
		}
	}
}

func BenchmarkDictInsert(b *testing.B) {
	keys := make([]string, b.N)
	for i := range keys {
		keys[i] = "u:" + strconv.Itoa(i)
	}
	d := New()
	b.ReportAllocs()
	b.ResetTimer()
	for _, k := range keys {
		d.Insert(k)
	}
}

func BenchmarkDictKey(b *testing.B) {
	d, keys := benchDict(1 << 20)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, ok := d.Key(uint32(i % len(keys))); !ok {
			b.Fatal("missing")
		}
	}
}

// BenchmarkDictMemory10M inserts 10M keys "u:%d" and reports the heap the
// dictionary holds per key (HeapAlloc delta after GC) beside the key length.
func BenchmarkDictMemory10M(b *testing.B) {
	const n = 10_000_000
	var keyLen int
	for i := range n {
		keyLen += len("u:") + len(strconv.Itoa(i))
	}
	var ms runtime.MemStats
	for range b.N {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.HeapAlloc
		d := New()
		var buf []byte
		for i := range n {
			buf = strconv.AppendInt(append(buf[:0], "u:"...), int64(i), 10)
			d.Insert(string(buf))
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		heap := float64(ms.HeapAlloc - before)
		b.ReportMetric(heap/n, "heapB/key")
		b.ReportMetric(float64(keyLen)/n, "keyB/key")
		b.ReportMetric((heap-float64(keyLen))/n, "overheadB/key")
		b.ReportMetric(float64(d.SizeInBytes())/n, "sizeB/key")
		runtime.KeepAlive(d)
	}
}

func BenchmarkDictMarshal10M(b *testing.B) {
	d, _ := benchDict(10_000_000)
	var data []byte
	b.ResetTimer()
	for range b.N {
		var err error
		if data, err = d.MarshalBinary(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(data))/1e6, "MB")
	b.StartTimer()
}

func BenchmarkDictUnmarshal10M(b *testing.B) {
	d, _ := benchDict(10_000_000)
	data, err := d.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	d = nil
	b.ResetTimer()
	for range b.N {
		if _, err := Unmarshal(data); err != nil {
			b.Fatal(err)
		}
	}
}
