package storage

import (
	"fmt"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// BenchmarkAppend: one op is one Append of a batch of ~60-byte records.
// records/s is the figure to compare; "always-dbsync" is FsyncAlways
// implemented with db.Sync() after the commit instead of SyncWrites.
func BenchmarkAppend(b *testing.B) {
	type variant struct {
		name  string
		mode  FsyncMode
		dbsyn bool
	}
	variants := []variant{
		{"always", FsyncAlways, false},
		{"always-dbsync", FsyncAlways, true},
		{"everysec", FsyncEverySec, false},
		{"no", FsyncNo, false},
	}
	for _, v := range variants {
		for _, batch := range []int{1, 64, 512} {
			b.Run(fmt.Sprintf("fsync=%s/batch=%d", v.name, batch), func(b *testing.B) {
				s, err := Open(Options{Dir: b.TempDir(), Fsync: v.mode, Logger: quietLogger(), syncAfterCommit: v.dbsyn})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				recs := make([][]byte, batch)
				for i := range recs {
					recs[i] = recordFor(uint64(i), false)[:60]
				}
				b.SetBytes(int64(60 * batch))
				b.ResetTimer()
				start := time.Now()
				for range b.N {
					if _, err := s.Append(recs); err != nil {
						b.Fatal(err)
					}
				}
				el := time.Since(start)
				b.ReportMetric(float64(b.N*batch)/el.Seconds(), "records/s")
				b.ReportMetric(float64(el.Microseconds())/float64(b.N), "µs/batch")
			})
		}
	}
}

// snapshotBenchParts builds ~200 MiB of parts of the given kind, in 4 MiB
// parts plus some small ones. Content repeats across parts, which does not
// help zstd: every chunk is compressed on its own.
func snapshotBenchParts(b *testing.B, kind string) ([]Part, int64) {
	const partSize = 4 << 20
	var pool [][]byte
	switch kind {
	case "incompressible":
		pool = [][]byte{randomBytes(partSize, 1), randomBytes(partSize, 2)}
	case "roaring":
		pool = [][]byte{roaringBytes(b, partSize, 1)[:partSize], roaringBytes(b, partSize, 2)[:partSize]}
	case "mixed":
		pool = [][]byte{randomBytes(partSize, 1), roaringBytes(b, partSize, 2)[:partSize], compressibleBytes(partSize)}
	}
	var parts []Part
	var total int64
	for i := 0; total < 200<<20; i++ {
		d := pool[i%len(pool)]
		parts = append(parts, Part{Name: fmt.Sprintf("field%d:value%d", i%17, i), Data: d})
		total += int64(len(d))
	}
	for i := range 2000 { // small bitmaps and metadata
		d := randomBytes(100+i%900, uint64(i))
		parts = append(parts, Part{Name: fmt.Sprintf("small%d", i), Data: d})
		total += int64(len(d))
	}
	return parts, total
}

// compressibleBytes looks like a serialized key dictionary (customer keys
// and field values as text): zstd shrinks it a lot.
func compressibleBytes(n int) []byte {
	out := make([]byte, 0, n+64)
	r := randomBytes(n/8, 99)
	for i := 0; len(out) < n; i++ {
		out = fmt.Appendf(out, "u:%d\x00cust-%08x@example.com\x00", 100000+i, uint32(r[i%len(r)])*2654435761)
	}
	return out[:n]
}

func BenchmarkWriteSnapshot(b *testing.B) {
	for _, kind := range []string{"mixed", "roaring", "incompressible"} {
		b.Run(kind, func(b *testing.B) {
			parts, total := snapshotBenchParts(b, kind)
			s := openT(b, b.TempDir(), FsyncEverySec)
			defer s.Close()
			if _, err := s.Append([][]byte{[]byte("x")}); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(total)
			b.ResetTimer()
			for range b.N {
				if err := s.WriteSnapshot(1, parts); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			st := s.Stats()
			b.ReportMetric(100*float64(st.SnapshotBytes)/float64(st.SnapshotRawBytes), "stored%")
			b.ReportMetric(float64(s.DiskBytes())/(1<<20), "diskMiB")
		})
	}
}

func BenchmarkLoadSnapshot(b *testing.B) {
	for _, kind := range []string{"mixed", "roaring", "incompressible"} {
		b.Run(kind, func(b *testing.B) {
			parts, total := snapshotBenchParts(b, kind)
			dir := b.TempDir()
			s := openT(b, dir, FsyncNo)
			if _, err := s.Append([][]byte{[]byte("x")}); err != nil {
				b.Fatal(err)
			}
			if err := s.WriteSnapshot(1, parts); err != nil {
				b.Fatal(err)
			}
			s.Close()
			s = openT(b, dir, FsyncNo) // cold Badger caches, warm page cache
			defer s.Close()
			b.SetBytes(total)
			b.ResetTimer()
			for range b.N {
				n := 0
				if _, _, err := s.LoadSnapshot(func(string, []byte) error { n++; return nil }); err != nil {
					b.Fatal(err)
				}
				if n != len(parts) {
					b.Fatalf("loaded %d parts", n)
				}
			}
		})
	}
}

// BenchmarkZstdLevel compares encoder levels on one realistic chunk.
func BenchmarkZstdLevel(b *testing.B) {
	data := map[string][]byte{
		"roaring":      roaringBytes(b, chunkSize, 3)[:chunkSize],
		"compressible": compressibleBytes(chunkSize),
		"random":       randomBytes(chunkSize, 4),
	}
	for _, lvl := range []zstd.EncoderLevel{zstd.SpeedFastest, zstd.SpeedDefault, zstd.SpeedBetterCompression} {
		enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(lvl), zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20))
		dec, _ := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
		for _, name := range []string{"roaring", "compressible", "random"} {
			src := data[name]
			b.Run(fmt.Sprintf("%s/%s/enc", lvl, name), func(b *testing.B) {
				b.SetBytes(int64(len(src)))
				var out []byte
				for range b.N {
					out = enc.EncodeAll(src, out[:0])
				}
				b.ReportMetric(100*float64(len(out))/float64(len(src)), "size%")
			})
			comp := enc.EncodeAll(src, nil)
			b.Run(fmt.Sprintf("%s/%s/dec", lvl, name), func(b *testing.B) {
				b.SetBytes(int64(len(src)))
				dst := make([]byte, 0, len(src))
				for range b.N {
					var err error
					if dst, err = dec.DecodeAll(comp, dst[:0]); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
