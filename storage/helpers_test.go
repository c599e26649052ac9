package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/dgraph-io/badger/v4"
)

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func openT(t testing.TB, dir string, mode FsyncMode) *Store {
	t.Helper()
	s, err := Open(Options{Dir: dir, Fsync: mode, Logger: quietLogger()})
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

func openMemT(t testing.TB) *Store {
	t.Helper()
	s, err := Open(Options{InMemory: true, Logger: quietLogger()})
	if err != nil {
		t.Fatalf("Open(in-memory): %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// recordFor returns the deterministic record for seq: ~60 bytes, or a
// large one (1.5 MiB, chunked) when big.
func recordFor(seq uint64, big bool) []byte {
	if !big {
		r := fmt.Appendf(nil, "ENT.SET u:%d country FR tier gold interests shoes|bags ", seq)
		return r
	}
	b := make([]byte, 3<<19)
	rng := rand.New(rand.NewPCG(seq, 7))
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
	}
	return b
}

func isBig(seq uint64) bool { return seq%97 == 0 }

type replayed struct {
	seq uint64
	rec []byte
}

func replayAll(t testing.TB, s *Store, after uint64) []replayed {
	t.Helper()
	var out []replayed
	if err := s.Replay(after, func(seq uint64, rec []byte) error {
		out = append(out, replayed{seq, bytes.Clone(rec)})
		return nil
	}); err != nil {
		t.Fatalf("Replay(%d): %v", after, err)
	}
	return out
}

func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n+8)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
	}
	return b[:n]
}

// roaringBytes serializes a realistic bitmap of at least n bytes: a mix
// of containers of different densities (sparse arrays, dense bitmaps from
// 6% to 94%, runs), as attribute values over a customer base produce.
// Around half of its bytes compress well with zstd.
func roaringBytes(t testing.TB, n int, seed uint64) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	containers := max(1, n/6000)
	r := rng.Uint64
	// and(k) and or(k) combine k random words: each bit is
	// set with probability 2^-k, or 1-2^-k.
	and := func(k int) uint64 {
		v := r()
		for range k - 1 {
			v &= r()
		}
		return v
	}
	or := func(k int) uint64 {
		v := r()
		for range k - 1 {
			v |= r()
		}
		return v
	}
	for {
		words := make([]uint64, containers*1024)
		for c := range containers {
			w := words[c*1024 : (c+1)*1024]
			kind := rng.IntN(8)
			for i := range w {
				switch kind {
				case 0: // ~0.2%: array container of ~128 values
					w[i] = and(9)
				case 1: // ~1.6%: array container of ~1000 values
					w[i] = and(6)
				case 2: // 6%
					w[i] = and(4)
				case 3: // 25%
					w[i] = and(2)
				case 4: // 50%
					w[i] = r()
				case 5: // 75%
					w[i] = or(2)
				case 6: // 94%
					w[i] = or(4)
				case 7: // runs
					if rng.IntN(8) == 0 {
						w[i] = ^uint64(0)
					} else if i > 0 && w[i-1] == ^uint64(0) && rng.IntN(2) == 0 {
						w[i] = ^uint64(0)
					}
				}
			}
		}
		bm := roaring.FromDense(words, false)
		bm.RunOptimize()
		out, err := bm.ToBytes()
		if err != nil {
			t.Fatal(err)
		}
		if len(out) >= n {
			return out
		}
		containers = containers*n/len(out) + 1
	}
}

// keysWithPrefix lists the keys under prefix (for white-box checks).
func keysWithPrefix(t testing.TB, s *Store, prefix string) [][]byte {
	t.Helper()
	var keys [][]byte
	err := dbFor(s, prefix).View(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.PrefetchValues = false
		opt.Prefix = []byte(prefix)
		it := txn.NewIterator(opt)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

type loadedPart struct {
	name string
	data []byte
}

func loadAll(t testing.TB, s *Store) (uint64, bool, []loadedPart) {
	t.Helper()
	var parts []loadedPart
	seq, found, err := s.LoadSnapshot(func(name string, data []byte) error {
		parts = append(parts, loadedPart{name, data})
		return nil
	})
	if err != nil {
		t.Fatalf("LoadSnapshot: %v", err)
	}
	return seq, found, parts
}

func checkParts(t testing.TB, got []loadedPart, want []Part) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("loaded %d parts, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].name != want[i].Name {
			t.Fatalf("part %d name %q, want %q", i, got[i].name, want[i].Name)
		}
		if !bytes.Equal(got[i].data, want[i].Data) {
			t.Fatalf("part %d (%q) data differs: %d bytes, want %d", i, want[i].Name, len(got[i].data), len(want[i].Data))
		}
	}
}

// dbFor returns the database holding keys with this prefix.
func dbFor(s *Store, key string) *badger.DB {
	if strings.HasPrefix(key, prefixSnap) || strings.HasPrefix(key, keyMeta) {
		return s.sdb
	}
	return s.db
}

// crash closes the databases without Store.Close, like a process that dies
// right after the last write (the data is in the page cache either way).
func crash(t testing.TB, s *Store) {
	t.Helper()
	close(s.stop)
	s.bg.Wait()
	if err := s.closeDBs(); err != nil {
		t.Fatal(err)
	}
}
