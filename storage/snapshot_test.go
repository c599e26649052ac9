package storage

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

func appendN(t testing.TB, s *Store, n int) {
	t.Helper()
	for range n {
		seq := s.LastSeq() + 1
		if _, err := s.Append([][]byte{recordFor(seq, false)}); err != nil {
			t.Fatal(err)
		}
	}
}

func testParts(t testing.TB) []Part {
	return []Part{
		{Name: "fields", Data: []byte(`{"country":"ENUM","age":"INT"}`)},
		{Name: "rand", Data: randomBytes(6<<20+123, 1)},                // incompressible, 7 chunks
		{Name: "bitmap", Data: roaringBytes(t, 6<<20, 2)},              // realistic roaring
		{Name: "zeros", Data: make([]byte, 5<<20)},                     // very compressible
		{Name: "empty", Data: nil},                                     // empty part
		{Name: "exact", Data: bytes.Repeat([]byte("ab"), chunkSize/2)}, // exactly one chunk
		{Name: "tiny", Data: []byte{1, 2, 3}},                          // below minCompressSize
		{Name: "dup", Data: []byte("same name twice is allowed")},
		{Name: "dup", Data: []byte("second")},
		{Name: strings.Repeat("n", 300), Data: randomBytes(70000, 3)},
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, FsyncEverySec)
	if _, found, _ := loadAll(t, s); found {
		t.Fatal("empty store has a snapshot")
	}
	appendN(t, s, 20)
	parts := testParts(t)
	before := time.Now()
	if err := s.WriteSnapshot(15, parts); err != nil {
		t.Fatal(err)
	}
	if ls := s.LastSave(); ls.Before(before.Add(-time.Second)) || ls.After(time.Now()) {
		t.Fatalf("LastSave = %v", ls)
	}
	seq, found, got := loadAll(t, s)
	if !found || seq != 15 {
		t.Fatalf("seq %d found %v", seq, found)
	}
	checkParts(t, got, parts)

	// Compression is used where it pays and skipped where it does not.
	st := s.Stats()
	if st.SnapshotBytes >= st.SnapshotRawBytes {
		t.Fatalf("nothing compressed: stored %d raw %d", st.SnapshotBytes, st.SnapshotRawBytes)
	}
	flags := chunkFlags(t, s, st.SnapshotGen)
	if f := flags[1]; len(f) != 7 || bytes.Contains(f, []byte{chunkZstd}) {
		t.Fatalf("random part chunk flags %v, want 7 raw", f)
	}
	if f := flags[3]; len(f) != numChunks(5<<20) || bytes.Contains(f, []byte{chunkRaw}) {
		t.Fatalf("zeros part chunk flags %v, want all zstd", f)
	}
	if f := flags[6]; len(f) != 1 || f[0] != chunkRaw {
		t.Fatalf("tiny part chunk flags %v", f)
	}
	if _, ok := flags[4]; ok {
		t.Fatal("empty part has chunks")
	}
	t.Logf("raw %d bytes stored as %d (%.1f%%)", st.SnapshotRawBytes, st.SnapshotBytes,
		100*float64(st.SnapshotBytes)/float64(st.SnapshotRawBytes))

	s.Close()
	s = openT(t, dir, FsyncEverySec)
	defer s.Close()
	seq, found, got = loadAll(t, s)
	if !found || seq != 15 {
		t.Fatalf("after reopen seq %d found %v", seq, found)
	}
	checkParts(t, got, parts)
	if s.LastSave().IsZero() {
		t.Fatal("LastSave lost on reopen")
	}
	// Data handed to fn is the callee's: mutating it does not affect a later load.
	got[1].data[0] ^= 0xff
	_, _, again := loadAll(t, s)
	checkParts(t, again, parts)

	// An error from fn stops the load and is returned as is.
	stop := errors.New("stop")
	calls := 0
	_, _, err := s.LoadSnapshot(func(string, []byte) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 2 {
		t.Fatalf("LoadSnapshot with failing fn: calls %d err %v", calls, err)
	}
}

// chunkFlags returns part index -> encoding flag of each chunk.
func chunkFlags(t testing.TB, s *Store, gen uint64) map[uint32][]byte {
	t.Helper()
	flags := map[uint32][]byte{}
	err := s.sdb.View(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.PrefetchValues = false
		opt.Prefix = snapGenPrefix(gen)
		it := txn.NewIterator(opt)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			part := uint32(k[10])<<24 | uint32(k[11])<<16 | uint32(k[12])<<8 | uint32(k[13])
			if part == dirPart {
				continue
			}
			flags[part] = append(flags[part], it.Item().UserMeta())
			if it.Item().ValueSize() >= 1<<20 {
				t.Errorf("value of %d bytes (limit 1 MiB)", it.Item().ValueSize())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return flags
}

func TestSnapshotTruncatesLog(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, FsyncNo)
	appendN(t, s, 100)
	if err := s.WriteSnapshot(60, []Part{{Name: "p", Data: []byte("state@60")}}); err != nil {
		t.Fatal(err)
	}
	keys := keysWithPrefix(t, s, prefixLog)
	if len(keys) != 40 || !bytes.Equal(keys[0], logKey(61)) {
		t.Fatalf("%d log keys left after snapshot at 60, first %x", len(keys), keys[0])
	}
	tail := replayAll(t, s, 60)
	if len(tail) != 40 || tail[0].seq != 61 || tail[39].seq != 100 {
		t.Fatalf("Replay(60): %d records", len(tail))
	}
	if err := s.Replay(0, func(uint64, []byte) error { return nil }); err == nil ||
		!strings.Contains(err.Error(), "truncated by the snapshot") {
		t.Fatalf("Replay below the snapshot: %v", err)
	}
	// Older than the current snapshot, or beyond the log: refused.
	if err := s.WriteSnapshot(59, nil); err == nil {
		t.Fatal("snapshot older than the current one accepted")
	}
	if err := s.WriteSnapshot(101, nil); err == nil {
		t.Fatal("snapshot beyond LastSeq accepted")
	}
	// A snapshot of everything empties the log; seqs continue after it.
	if err := s.WriteSnapshot(100, []Part{{Name: "p", Data: []byte("state@100")}}); err != nil {
		t.Fatal(err)
	}
	if n := len(keysWithPrefix(t, s, prefixLog)); n != 0 {
		t.Fatalf("%d log keys left", n)
	}
	if n := len(keysWithPrefix(t, s, string(snapGenPrefix(1)))); n != 0 {
		t.Fatalf("generation 1 not deleted: %d keys", n)
	}
	s.Close()
	s = openT(t, dir, FsyncNo)
	defer s.Close()
	if s.LastSeq() != 100 {
		t.Fatalf("LastSeq after reopen = %d, want 100", s.LastSeq())
	}
	if first, err := s.Append([][]byte{[]byte("x")}); err != nil || first != 101 {
		t.Fatalf("Append = %d, %v", first, err)
	}
	seq, _, parts := loadAll(t, s)
	if seq != 100 || string(parts[0].data) != "state@100" {
		t.Fatalf("loaded seq %d %q", seq, parts[0].data)
	}
}

// A crash after the new generation's parts are written but before the meta
// switch: the old snapshot loads and the orphan is deleted on Open.
func TestSnapshotCrashBeforeSwitch(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, FsyncNo)
	appendN(t, s, 10)
	oldParts := []Part{{Name: "a", Data: roaringBytes(t, 2<<20, 5)}, {Name: "b", Data: []byte("old")}}
	if err := s.WriteSnapshot(5, oldParts); err != nil {
		t.Fatal(err)
	}

	// Fully written new generation, never switched to.
	newParts := []Part{{Name: "a", Data: randomBytes(3<<20, 9)}, {Name: "b", Data: []byte("new")}}
	s.snapMu.Lock()
	gen := s.nextGen
	s.nextGen++
	if _, _, err := s.writeGeneration(gen, 10, partsOf(newParts), nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	s.snapMu.Unlock()
	// And a half-written one: some chunks of a part, no directory.
	half := gen + 1
	if err := s.sdb.Update(func(txn *badger.Txn) error {
		for c := range 2 {
			e := badger.NewEntry(snapKey(half, 0, uint32(c)), randomBytes(chunkSize, uint64(c))).WithMeta(chunkRaw)
			if err := txn.SetEntry(e); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	crash(t, s)

	s = openT(t, dir, FsyncNo)
	seq, found, got := loadAll(t, s)
	if !found || seq != 5 {
		t.Fatalf("seq %d found %v", seq, found)
	}
	checkParts(t, got, oldParts)
	for _, g := range []uint64{gen, half} {
		if n := len(keysWithPrefix(t, s, string(snapGenPrefix(g)))); n != 0 {
			t.Fatalf("orphan generation %d still has %d keys", g, n)
		}
	}
	if tail := replayAll(t, s, 5); len(tail) != 5 {
		t.Fatalf("replay after 5: %d records", len(tail))
	}
	// The next snapshot gets a fresh generation number and works.
	if err := s.WriteSnapshot(10, newParts); err != nil {
		t.Fatal(err)
	}
	if g := s.meta.Load().Gen; g <= half {
		t.Fatalf("generation %d reused (orphans up to %d)", g, half)
	}
	s.Close()

	// A crash after the switch but before the old generation and the log
	// were deleted: the new snapshot loads, the rest is cleaned on Open.
	s = openT(t, dir, FsyncNo)
	curGen := s.meta.Load().Gen
	stale := []Part{{Name: "a", Data: []byte("stale")}}
	s.snapMu.Lock()
	staleGen := s.nextGen
	s.nextGen++
	if _, _, err := s.writeGeneration(staleGen, 10, partsOf(stale), nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	s.snapMu.Unlock()
	appendN(t, s, 3) // seqs 11..13
	// Switch meta to staleGen at seq 12 by hand, without deleting anything.
	m, _, err := s.writeGeneration(staleGen+1, 12, partsOf([]Part{{Name: "z", Data: []byte("final")}}), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.sdb.Update(func(txn *badger.Txn) error { return txn.Set([]byte(keyMeta), m.encode()) }); err != nil {
		t.Fatal(err)
	}
	crash(t, s)
	s = openT(t, dir, FsyncNo)
	defer s.Close()
	seq, _, got = loadAll(t, s)
	if seq != 12 || len(got) != 1 || string(got[0].data) != "final" {
		t.Fatalf("after switch crash: seq %d parts %v", seq, got)
	}
	for _, g := range []uint64{curGen, staleGen} {
		if n := len(keysWithPrefix(t, s, string(snapGenPrefix(g)))); n != 0 {
			t.Fatalf("old generation %d still has %d keys", g, n)
		}
	}
	if keys := keysWithPrefix(t, s, prefixLog); len(keys) != 1 || !bytes.Equal(keys[0], logKey(13)) {
		t.Fatalf("log not truncated to 12 on open: %d keys", len(keys))
	}
	if s.LastSeq() != 13 {
		t.Fatalf("LastSeq %d", s.LastSeq())
	}
}

func TestSnapshotCorruptionDetected(t *testing.T) {
	parts := []Part{
		{Name: "first", Data: []byte("ok")},
		{Name: "bitmap", Data: roaringBytes(t, 3<<20, 11)}, // zstd chunks
		{Name: "rand", Data: randomBytes(3<<20, 12)},       // raw chunks
	}
	cases := []struct {
		name   string
		mutate func(t *testing.T, s *Store, gen uint64)
		want   string
	}{
		{"zstd chunk bit flip", func(t *testing.T, s *Store, gen uint64) {
			flipValue(t, s, snapKey(gen, 1, 1), 100)
		}, `part 1 "bitmap" chunk 1 is corrupt`},
		{"raw chunk bit flip", func(t *testing.T, s *Store, gen uint64) {
			flipValue(t, s, snapKey(gen, 2, 2), 5000)
		}, `part 2 "rand" is corrupt: checksum mismatch`},
		{"raw chunk truncated", func(t *testing.T, s *Store, gen uint64) {
			setValue(t, s, snapKey(gen, 2, 0), []byte("short"), chunkRaw)
		}, `part 2 "rand" chunk 0 is corrupt`},
		{"chunk missing", func(t *testing.T, s *Store, gen uint64) {
			if err := s.sdb.Update(func(txn *badger.Txn) error { return txn.Delete(snapKey(gen, 1, 2)) }); err != nil {
				t.Fatal(err)
			}
		}, `part 1 "bitmap" chunk 2 is corrupt: chunk missing`},
		{"directory damaged", func(t *testing.T, s *Store, gen uint64) {
			flipValue(t, s, snapKey(gen, dirPart, 0), 10)
		}, "directory is corrupt"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openT(t, dir, FsyncNo)
			appendN(t, s, 3)
			if err := s.WriteSnapshot(3, parts); err != nil {
				t.Fatal(err)
			}
			tc.mutate(t, s, s.meta.Load().Gen)
			s.Close()
			s = openT(t, dir, FsyncNo)
			defer s.Close()
			_, found, err := s.LoadSnapshot(func(string, []byte) error { return nil })
			if err == nil || !found || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("LoadSnapshot error %v, want %q (ErrCorrupt)", err, tc.want)
			}
		})
	}

	t.Run("meta damaged", func(t *testing.T) {
		dir := t.TempDir()
		s := openT(t, dir, FsyncNo)
		appendN(t, s, 1)
		if err := s.WriteSnapshot(1, parts[:1]); err != nil {
			t.Fatal(err)
		}
		flipValue(t, s, []byte(keyMeta), 20)
		s.Close()
		if _, err := Open(Options{Dir: dir, Logger: quietLogger()}); err == nil ||
			!strings.Contains(err.Error(), "meta checksum") || !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Open with damaged meta: %v", err)
		}
	})
}

func flipValue(t *testing.T, s *Store, key []byte, at int) {
	t.Helper()
	var val []byte
	var meta byte
	if err := dbFor(s, string(key)).View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		meta = item.UserMeta()
		val, err = item.ValueCopy(nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	val[at%len(val)] ^= 0x40
	setValue(t, s, key, val, meta)
}

func setValue(t *testing.T, s *Store, key, val []byte, meta byte) {
	t.Helper()
	if err := dbFor(s, string(key)).Update(func(txn *badger.Txn) error {
		return txn.SetEntry(badger.NewEntry(key, val).WithMeta(meta))
	}); err != nil {
		t.Fatal(err)
	}
}

// Many small parts: the pipeline's per-part path.
func TestSnapshotManySmallParts(t *testing.T) {
	s := openT(t, t.TempDir(), FsyncNo)
	defer s.Close()
	appendN(t, s, 1)
	var parts []Part
	for i := range 20000 {
		parts = append(parts, Part{Name: "v" + string(rune('a'+i%26)), Data: randomBytes(i%300, uint64(i))})
	}
	if err := s.WriteSnapshot(1, parts); err != nil {
		t.Fatal(err)
	}
	_, _, got := loadAll(t, s)
	checkParts(t, got, parts)
}

// TestSnapshotFromSource: parts produced one at a time are stored as a
// slice of them would be, and a source that fails part-way leaves the
// current snapshot in place and nothing of the abandoned generation.
func TestSnapshotFromSource(t *testing.T) {
	s := openT(t, t.TempDir(), FsyncNo)
	defer s.Close()
	appendN(t, s, 10)
	parts := testParts(t)
	if err := s.WriteSnapshotFrom(5, partsOf(parts)); err != nil {
		t.Fatal(err)
	}
	gen := s.meta.Load().Gen
	boom := errors.New("serialising failed")
	err := s.WriteSnapshotFrom(10, func(yield func(Part) error) error {
		if err := yield(Part{Name: "first", Data: randomBytes(3*chunkSize, 1)}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("WriteSnapshotFrom = %v, want the source's error", err)
	}
	seq, found, got := loadAll(t, s)
	if !found || seq != 5 || s.meta.Load().Gen != gen {
		t.Fatalf("after a failed source: seq %d found %v gen %d, want the snapshot at 5 (gen %d)", seq, found, s.meta.Load().Gen, gen)
	}
	checkParts(t, got, parts)
	if keys := keysWithPrefix(t, s, string(snapGenPrefix(gen+1))); len(keys) != 0 {
		t.Fatalf("%d keys of the abandoned generation remain", len(keys))
	}
	if n := len(replayAll(t, s, 5)); n != 5 {
		t.Fatalf("%d log records after the failed snapshot, want the 5 after seq 5", n)
	}
}

// TestSnapshotCarryOver: parts marked Same are carried over from the
// current snapshot without being rewritten, survive any number of later
// snapshots and a reopen, and the parts no snapshot refers to any more are
// deleted.
func TestSnapshotCarryOver(t *testing.T) {
	for _, mem := range []bool{false, true} {
		t.Run(fmt.Sprintf("in-memory=%v", mem), func(t *testing.T) {
			dir := t.TempDir()
			s := openMemT(t)
			if !mem {
				s = openT(t, dir, FsyncNo)
			}
			defer func() { s.Close() }()
			appendN(t, s, 30)
			a := Part{Name: "a", Data: randomBytes(2*chunkSize+5, 1)}
			b1 := Part{Name: "b", Data: randomBytes(chunkSize/2, 2)}
			c := Part{Name: "c", Data: bytes.Repeat([]byte("c"), 3*chunkSize)}
			if err := s.WriteSnapshot(10, []Part{a, b1, c}); err != nil {
				t.Fatal(err)
			}
			gen1 := s.meta.Load().Gen
			same := func(name string) Part { return Part{Name: name, Same: true} }
			b2 := Part{Name: "b", Data: []byte("b, second version")}
			d := Part{Name: "d", Data: randomBytes(chunkSize+9, 4)}
			if err := s.WriteSnapshot(20, []Part{same("a"), b2, same("c"), d}); err != nil {
				t.Fatal(err)
			}
			_, _, got := loadAll(t, s)
			checkParts(t, got, []Part{a, b2, c, d})
			if m := s.meta.Load(); m.WrittenBytes != uint64(len(b2.Data)+len(d.Data)) {
				t.Fatalf("wrote %d bytes, want only the changed parts' %d", m.WrittenBytes, len(b2.Data)+len(d.Data))
			}
			// Of the first generation, only the carried parts remain.
			if k := keysWithPrefix(t, s, string(snapPartPrefix(gen1, 1))); len(k) != 0 {
				t.Fatalf("%d chunks of the replaced part b remain", len(k))
			}
			if k := keysWithPrefix(t, s, string(snapPartPrefix(gen1, dirPart))); len(k) != 0 {
				t.Fatalf("the first generation's directory remains")
			}
			if k := keysWithPrefix(t, s, string(snapPartPrefix(gen1, 0))); len(k) != 3 {
				t.Fatalf("%d chunks of the carried part a, want 3", len(k))
			}

			// Carried again, from a generation that itself carried it.
			if err := s.WriteSnapshot(25, []Part{same("a"), same("b"), same("c"), same("d")}); err != nil {
				t.Fatal(err)
			}
			want := []Part{a, b2, c, d}
			if !mem {
				// Debris of a crash right after a switch: parts of the old
				// generation nothing refers to. Open deletes them, and only them.
				setValue(t, s, snapKey(gen1, 1, 0), []byte("old b"), chunkRaw)
				setValue(t, s, snapKey(gen1, dirPart, 0), []byte("old dir"), chunkRaw)
				s.Close()
				s = openT(t, dir, FsyncNo)
				for _, k := range [][]byte{snapPartPrefix(gen1, 1), snapPartPrefix(gen1, dirPart)} {
					if n := len(keysWithPrefix(t, s, string(k))); n != 0 {
						t.Fatalf("Open left %d keys of an unreferenced part", n)
					}
				}
			}
			_, _, got = loadAll(t, s)
			checkParts(t, got, want)

			// A Same part the current snapshot lacks is refused, and the
			// current snapshot stays.
			err := s.WriteSnapshot(28, []Part{same("a"), same("nope")})
			if !errors.Is(err, ErrNoBasePart) {
				t.Fatalf("WriteSnapshot with an unknown Same part = %v, want ErrNoBasePart", err)
			}
			seq, _, got := loadAll(t, s)
			if seq != 25 {
				t.Fatalf("seq %d after the refused snapshot, want 25", seq)
			}
			checkParts(t, got, want)
		})
	}
}
