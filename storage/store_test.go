package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

func TestParseFsync(t *testing.T) {
	for _, m := range []FsyncMode{FsyncAlways, FsyncEverySec, FsyncNo} {
		got, err := ParseFsync(strings.ToUpper(m.String()))
		if err != nil || got != m {
			t.Fatalf("ParseFsync(%q) = %v, %v", m.String(), got, err)
		}
	}
	if _, err := ParseFsync("sometimes"); err == nil {
		t.Fatal("ParseFsync accepted a bad value")
	}
	if FsyncEverySec != 0 {
		t.Fatal("everysec must be the zero value (the default)")
	}
}

func TestAppendReplayAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, FsyncEverySec)
	if s.LastSeq() != 0 {
		t.Fatalf("fresh store LastSeq = %d", s.LastSeq())
	}
	if first, err := s.Append(nil); err != nil || first != 0 {
		t.Fatalf("empty Append = %d, %v", first, err)
	}
	var seq uint64
	for _, n := range []int{1, 5, 64, 1, 512, 3} {
		recs := make([][]byte, n)
		for i := range recs {
			recs[i] = recordFor(seq+uint64(i)+1, false)
		}
		first, err := s.Append(recs)
		if err != nil {
			t.Fatal(err)
		}
		if first != seq+1 {
			t.Fatalf("first = %d, want %d", first, seq+1)
		}
		seq += uint64(n)
	}
	if s.LastSeq() != seq {
		t.Fatalf("LastSeq = %d, want %d", s.LastSeq(), seq)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Append([][]byte{[]byte("x")}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}

	s = openT(t, dir, FsyncAlways)
	defer s.Close()
	if s.LastSeq() != seq {
		t.Fatalf("after reopen LastSeq = %d, want %d", s.LastSeq(), seq)
	}
	got := replayAll(t, s, 0)
	if uint64(len(got)) != seq {
		t.Fatalf("replayed %d records, want %d", len(got), seq)
	}
	for i, r := range got {
		if r.seq != uint64(i)+1 || !bytes.Equal(r.rec, recordFor(r.seq, false)) {
			t.Fatalf("record %d: seq %d %q", i, r.seq, r.rec)
		}
	}
	if tail := replayAll(t, s, seq-10); len(tail) != 10 || tail[0].seq != seq-9 {
		t.Fatalf("Replay(%d) gave %d records", seq-10, len(tail))
	}
	if none := replayAll(t, s, seq); len(none) != 0 {
		t.Fatalf("Replay(last) gave %d records", len(none))
	}
	first, err := s.Append([][]byte{[]byte("after reopen")})
	if err != nil || first != seq+1 {
		t.Fatalf("Append after reopen = %d, %v", first, err)
	}
	// fn's error comes back as is and stops the replay.
	stop := errors.New("stop")
	n := 0
	err = s.Replay(0, func(uint64, []byte) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if err != stop || n != 3 {
		t.Fatalf("Replay with failing fn: n=%d err=%v", n, err)
	}
}

func TestBigRecordsAndSplitBatches(t *testing.T) {
	for _, mem := range []bool{false, true} {
		t.Run(fmt.Sprintf("inmemory=%v", mem), func(t *testing.T) {
			var s *Store
			var dir string
			if mem {
				s = openMemT(t)
			} else {
				dir = t.TempDir()
				s = openT(t, dir, FsyncNo)
			}
			// A batch mixing small records with 1.5 MiB ones (chunked);
			// in memory mode the batch is also too big for one txn.
			var recs [][]byte
			for seq := uint64(1); seq <= 300; seq++ {
				recs = append(recs, recordFor(seq, isBig(seq)))
			}
			recs = append(recs, []byte{}) // empty record, seq 301
			if _, err := s.Append(recs); err != nil {
				t.Fatal(err)
			}
			// A batch over the txn entry limit (~13k entries) is split.
			many := make([][]byte, 40000)
			for i := range many {
				many[i] = recordFor(uint64(302+i), false)
			}
			before := s.Stats().SplitBatches
			if first, err := s.Append(many); err != nil || first != 302 {
				t.Fatalf("Append(40000) = %d, %v", first, err)
			}
			if s.Stats().SplitBatches != before+1 {
				t.Fatalf("40000-record batch was not split")
			}
			if len(keysWithPrefix(t, s, keyPending)) != 0 {
				t.Fatal("pending marker left behind")
			}
			if !mem {
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				s = openT(t, dir, FsyncNo)
				defer s.Close()
			}
			got := replayAll(t, s, 0)
			if len(got) != 301+40000 {
				t.Fatalf("replayed %d", len(got))
			}
			for _, r := range got {
				var want []byte
				switch {
				case r.seq <= 300:
					want = recordFor(r.seq, isBig(r.seq))
				case r.seq == 301:
					want = []byte{}
				default:
					want = recordFor(r.seq, false)
				}
				if !bytes.Equal(r.rec, want) {
					t.Fatalf("record %d differs (%d bytes, want %d)", r.seq, len(r.rec), len(want))
				}
			}
		})
	}
}

// A split batch interrupted by a crash (marker written, part of the records
// written, final txn missing) is removed by Open: all-or-nothing.
func TestInterruptedSplitBatchDiscarded(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, FsyncNo)
	recs := [][]byte{[]byte("a"), []byte("b"), []byte("c")}
	if _, err := s.Append(recs); err != nil {
		t.Fatal(err)
	}
	// Simulate the first transactions of a split batch for seqs 4..10.
	err := s.db.Update(func(txn *badger.Txn) error {
		m := binary.BigEndian.AppendUint64(nil, 4)
		m = binary.BigEndian.AppendUint64(m, 10)
		if err := txn.Set([]byte(keyPending), m); err != nil {
			return err
		}
		for seq := uint64(4); seq <= 7; seq++ {
			if err := txn.Set(logKey(seq), []byte("partial")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openT(t, dir, FsyncNo)
	defer s.Close()
	if s.LastSeq() != 3 {
		t.Fatalf("LastSeq = %d, want 3", s.LastSeq())
	}
	if got := replayAll(t, s, 0); len(got) != 3 {
		t.Fatalf("replayed %d records, want 3", len(got))
	}
	if first, err := s.Append([][]byte{[]byte("d")}); err != nil || first != 4 {
		t.Fatalf("Append = %d, %v", first, err)
	}
}

func TestLockedDirectory(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, FsyncNo)
	defer s.Close()
	_, err := Open(Options{Dir: dir, Logger: quietLogger()})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v", err)
	}
	want := fmt.Sprintf("data directory %s is in use by another segd process", dir)
	if err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
}

func TestReset(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, FsyncEverySec)
	for i := range 10 {
		if _, err := s.Append([][]byte{recordFor(uint64(i+1), false)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.WriteSnapshot(5, []Part{{Name: "a", Data: []byte("hello")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Reset(); err != nil {
		t.Fatal(err)
	}
	if s.LastSeq() != 0 || !s.LastSave().IsZero() {
		t.Fatalf("after Reset: LastSeq %d LastSave %v", s.LastSeq(), s.LastSave())
	}
	if _, found, _ := loadAll(t, s); found {
		t.Fatal("snapshot survived Reset")
	}
	if got := replayAll(t, s, 0); len(got) != 0 {
		t.Fatalf("%d records survived Reset", len(got))
	}
	if first, err := s.Append([][]byte{[]byte("new")}); err != nil || first != 1 {
		t.Fatalf("Append after Reset = %d, %v", first, err)
	}
	if err := s.WriteSnapshot(1, []Part{{Name: "b", Data: []byte("world")}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openT(t, dir, FsyncEverySec)
	defer s.Close()
	seq, found, parts := loadAll(t, s)
	if !found || seq != 1 || len(parts) != 1 || parts[0].name != "b" {
		t.Fatalf("after Reset+reopen: seq %d found %v parts %v", seq, found, parts)
	}
	if s.LastSeq() != 1 {
		t.Fatalf("LastSeq = %d", s.LastSeq())
	}
}

func TestInMemory(t *testing.T) {
	s := openMemT(t)
	recs := [][]byte{[]byte("one"), []byte("two"), recordFor(97, true)}
	if _, err := s.Append(recs); err != nil {
		t.Fatal(err)
	}
	parts := []Part{
		{Name: "big", Data: roaringBytes(t, 3<<20, 1)},
		{Name: "rand", Data: randomBytes(2<<20+5, 2)},
		{Name: "small", Data: []byte("x")},
	}
	if err := s.WriteSnapshot(2, parts); err != nil {
		t.Fatal(err)
	}
	seq, found, got := loadAll(t, s)
	if !found || seq != 2 {
		t.Fatalf("seq %d found %v", seq, found)
	}
	checkParts(t, got, parts)
	tail := replayAll(t, s, 2)
	if len(tail) != 1 || !bytes.Equal(tail[0].rec, recs[2]) {
		t.Fatalf("replay after snapshot: %d records", len(tail))
	}
	if s.DiskBytes() != 0 {
		t.Fatalf("DiskBytes = %d in memory", s.DiskBytes())
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	s.RunGC()
	if err := s.Reset(); err != nil {
		t.Fatal(err)
	}
	if s.LastSeq() != 0 {
		t.Fatal("Reset did not reset seq")
	}
}

func TestOpenRequiresDir(t *testing.T) {
	if _, err := Open(Options{}); err == nil {
		t.Fatal("Open without Dir succeeded")
	}
}

// Snapshot space is reclaimed: dropping the previous generation feeds the
// value-log GC, so disk use stays within two snapshots plus one value-log
// file (the active one is never collected) however many are written.
// Deletes alone would let it grow until compaction happened to run over
// the dead keys.
func TestDiskBytesAndGC(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, FsyncNo)
	defer s.Close()
	if _, err := s.Append([][]byte{[]byte("x")}); err != nil {
		t.Fatal(err)
	}
	const size = 16 << 20
	for i := range 10 {
		if err := s.WriteSnapshot(1, []Part{{Name: "r", Data: randomBytes(size, uint64(i))}}); err != nil {
			t.Fatal(err)
		}
		n := s.DiskBytes()
		if n < size || n > 2*size+snapVlogFileSize+8<<20 {
			t.Fatalf("after snapshot %d: DiskBytes = %d MiB (snapshot %d MiB)", i, n>>20, size>>20)
		}
	}
	s.RunGC() // must not fail or block
	if st := s.Stats(); st.Snapshots != 10 || st.SnapshotRawBytes != size || st.GCRewrites == 0 {
		t.Fatalf("stats %+v", st)
	}
}

// Appends, snapshots, loads and replays running at once (for -race).
func TestConcurrentAppendAndSnapshot(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, FsyncEverySec)
	defer s.Close()
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for seq := uint64(1); ; {
			select {
			case <-done:
				return
			default:
			}
			recs := make([][]byte, 16)
			for i := range recs {
				recs[i] = recordFor(seq+uint64(i), false)
			}
			if _, err := s.Append(recs); err != nil {
				t.Error(err)
				return
			}
			seq += 16
			time.Sleep(50 * time.Microsecond)
		}
	}()
	for i := range 5 {
		seq := s.LastSeq()
		p := []Part{{Name: "seq", Data: binary.BigEndian.AppendUint64(nil, seq)}, {Name: "bm", Data: roaringBytes(t, 1<<20, uint64(i))}}
		if err := s.WriteSnapshot(seq, p); err != nil {
			t.Fatal(err)
		}
		got, found, parts := loadAll(t, s)
		if !found || got < seq {
			t.Fatalf("loaded seq %d, wrote %d", got, seq)
		}
		if err := s.Replay(got, func(uint64, []byte) error { return nil }); err != nil {
			t.Fatal(err)
		}
		_ = parts
		go s.RunGC()
		time.Sleep(5 * time.Millisecond)
	}
	close(done)
	wg.Wait()
}

// Badger refuses to open a directory holding a zero-length .mem or .vlog
// file (left by a crash at the wrong moment; dgraph-io/badger#2207); Open
// removes them first.
func TestEmptyBadgerFilesAfterCrash(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, FsyncNo)
	if _, err := s.Append([][]byte{[]byte("kept")}); err != nil {
		t.Fatal(err)
	}
	crash(t, s)
	for _, f := range []string{"log/00077.mem", "snap/00078.mem", "snap/000079.vlog"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s = openT(t, dir, FsyncNo)
	defer s.Close()
	if got := replayAll(t, s, 0); len(got) != 1 || string(got[0].rec) != "kept" {
		t.Fatalf("replayed %v", got)
	}
}

// A FLUSHALL interrupted by a crash (marker file present) is finished by Open.
func TestInterruptedResetFinished(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, FsyncNo)
	appendN(t, s, 5)
	if err := s.WriteSnapshot(3, []Part{{Name: "a", Data: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	crash(t, s)
	if err := os.WriteFile(filepath.Join(dir, resetMarker), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir, FsyncNo)
	defer s.Close()
	if s.LastSeq() != 0 {
		t.Fatalf("LastSeq %d after finishing reset", s.LastSeq())
	}
	if _, found, _ := loadAll(t, s); found {
		t.Fatal("snapshot survived")
	}
	if _, err := os.Stat(filepath.Join(dir, resetMarker)); !os.IsNotExist(err) {
		t.Fatalf("marker still there: %v", err)
	}
}

// A hole in the log is reported, never skipped.
func TestReplayDetectsMissingRecord(t *testing.T) {
	s := openT(t, t.TempDir(), FsyncNo)
	defer s.Close()
	appendN(t, s, 10)
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Delete(logKey(6)) }); err != nil {
		t.Fatal(err)
	}
	n := 0
	err := s.Replay(0, func(uint64, []byte) error { n++; return nil })
	if !errors.Is(err, ErrCorrupt) || n != 5 {
		t.Fatalf("Replay over a hole: %d records, err %v", n, err)
	}
}
