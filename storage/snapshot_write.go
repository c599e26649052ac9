package storage

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/dgraph-io/badger/v4"
)

// compressChunk returns the value to store for src and its flag: zstd when
// it saves at least 10%, src itself otherwise. scratch is reused.
func compressChunk(src []byte, scratch *[]byte) ([]byte, byte) {
	if len(src) < minCompressSize {
		return src, chunkRaw
	}
	enc, _ := codecs()
	out := enc.EncodeAll(src, (*scratch)[:0])
	*scratch = out[:0]
	if len(out) >= len(src)-len(src)/10 {
		return src, chunkRaw
	}
	return bytes.Clone(out), chunkZstd
}

// WriteSnapshot stores parts as a new snapshot generation consistent with
// log seq (every record <= seq is reflected in parts), makes it current,
// then drops the previous generation (and reclaims its value-log space) and
// deletes the log records <= seq.
//
// seq must be <= LastSeq() and >= the current snapshot's seq. parts[i].Data
// must not be modified until WriteSnapshot returns (raw chunks are written
// from it without a copy). Each part is cut into chunks of chunkSize bytes,
// each chunk zstd-compressed on two goroutines and kept raw where zstd saves
// less than 10% (recorded per chunk); chunks are written with a Badger
// WriteBatch under s/<gen>, followed by a directory (names, sizes, xxhash64
// of each raw part).
//
// Crash safety: the new generation becomes current only by the single-key
// transaction that rewrites m/snapshot, and that transaction runs after a
// sync barrier (WALs and value logs fsynced), so after a crash or power loss
// at any point the meta key names either the old generation or the new,
// complete one. Nothing of the old generation and no log record is deleted
// before the switch is itself synced. Open deletes whatever a crash left
// of the other generation.
//
// Appends run concurrently and never wait for it (the snapshot database is
// separate). One WriteSnapshot or LoadSnapshot runs at a time.
func (s *Store) WriteSnapshot(seq uint64, parts []Part) error {
	return s.WriteSnapshotFrom(seq, partsOf(parts))
}

// partsOf is a part source over a slice.
func partsOf(parts []Part) func(yield func(Part) error) error {
	return func(yield func(Part) error) error {
		for _, p := range parts {
			if err := yield(p); err != nil {
				return err
			}
		}
		return nil
	}
}

// WriteSnapshotFrom is WriteSnapshot with the parts produced one at a time
// by src, which calls yield for each part in order and returns the first
// error yield returns (or its own). A part's Data must not be modified
// after it is yielded; it is garbage once written, so a snapshot produced
// as it is written never has to be held whole in memory. An error from src
// abandons the new generation and is returned as is.
func (s *Store) WriteSnapshotFrom(seq uint64, src func(yield func(Part) error) error) error {
	start := time.Now()
	s.rw.RLock()
	defer s.rw.RUnlock()
	if s.closed {
		return ErrClosed
	}
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	m, err := s.writeSnapshot(seq, src, start)
	if err != nil {
		s.stats.snapshotErrors.Add(1)
		s.logger.Error("snapshot failed", "seq", seq, "err", err)
		return err
	}
	took := time.Since(start)
	s.stats.snapshots.Add(1)
	s.stats.lastSnapNanos.Store(int64(took))
	s.logger.Info("snapshot written", "gen", m.Gen, "seq", m.Seq, "parts", m.Parts,
		"raw_bytes", m.RawBytes, "stored_bytes", m.StoredBytes, "written_bytes", m.WrittenBytes, "took", took)
	return nil
}

func (s *Store) writeSnapshot(seq uint64, src func(yield func(Part) error) error, start time.Time) (*snapMeta, error) {
	old := s.meta.Load()
	if old != nil && seq < old.Seq {
		return nil, fmt.Errorf("storage: snapshot seq %d is older than the current snapshot's %d", seq, old.Seq)
	}
	if last := s.LastSeq(); seq > last {
		return nil, fmt.Errorf("storage: snapshot seq %d is beyond the last appended seq %d", seq, last)
	}
	var base []dirEntry
	if old != nil {
		var err error
		if base, err = s.dirOf(old); err != nil {
			return nil, err
		}
	}
	gen := s.nextGen
	s.nextGen++ // never reused, even if this attempt fails

	m, dir, err := s.writeGeneration(gen, seq, src, base, start)
	if err != nil {
		if derr := s.dropGens(gen); derr != nil {
			s.logger.Warn("cleanup of failed snapshot generation failed; Open will retry", "gen", gen, "err", derr)
		}
		return nil, err
	}
	// Everything of the new generation is durable before the switch...
	if err := s.barrier(); err != nil {
		return nil, err
	}
	if err := s.sdb.Update(func(txn *badger.Txn) error {
		return txn.Set([]byte(keyMeta), m.encode())
	}); err != nil {
		return nil, fmt.Errorf("storage: switch snapshot meta: %w", err)
	}
	s.meta.Store(m)
	// ...and the switch is durable before anything old is deleted (if this
	// fails, the old generation stays; Open drops whichever is not current).
	if err := s.barrier(); err != nil {
		return nil, err
	}
	if old != nil {
		if err := s.dropUnreferenced(old.Gen, base, dir); err != nil {
			s.logger.Warn("deleting previous snapshot generation failed; Open will retry", "gen", old.Gen, "err", err)
		}
		if !s.opts.InMemory && m.WrittenBytes > 0 {
			s.runGCLocked() // reclaim the replaced parts' value-log space now
		}
	}
	if err := s.truncateLog(seq); err != nil {
		s.logger.Warn("log truncation after snapshot failed; Open will retry", "seq", seq, "err", err)
	}
	return m, nil
}

// partStats follows one part's chunks as the workers store them.
type partStats struct {
	stored       atomic.Uint64 // bytes stored
	tries, saves atomic.Int32  // chunks zstd was tried on, and kept for
}

// compressProbe is how many chunks of a part zstd is tried on before the
// part is judged: if none of them saved 10%, the rest are stored raw
// without trying. Parts are homogeneous (one field's bitmaps, the key
// arena), and roaring bitmaps mostly do not compress: trying costs a core
// for nothing while writes wait for it.
const compressProbe = 3

func (p *partStats) worthTrying() bool {
	return p.tries.Load() < compressProbe || p.saves.Load() > 0
}

func (p *partStats) tried(saved bool) {
	p.tries.Add(1)
	if saved {
		p.saves.Add(1)
	}
}

// writeGeneration writes all chunks and the directory of generation gen
// and returns its meta (not yet switched to).
// A part marked Same takes the entry of the part of that name in base (the
// current snapshot's directory) and is not rewritten.
func (s *Store) writeGeneration(gen, seq uint64, src func(yield func(Part) error) error, base []dirEntry, start time.Time) (*snapMeta, []dirEntry, error) {
	byName := make(map[string]*dirEntry, len(base))
	for i := range base {
		byName[base[i].Name] = &base[i]
	}
	wb := s.sdb.NewWriteBatch()
	defer wb.Cancel()

	type job struct {
		part  int
		chunk int
		data  []byte
		st    *partStats
	}
	var dir []dirEntry
	var stored []*partStats
	var written uint64 // raw bytes of the parts written (not carried over)
	jobs := make(chan job, 8)
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
		failed   atomic.Bool
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; failed.Store(true) })
	}
	for range snapWorkers() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			scratch := make([]byte, 0, chunkSize)
			for j := range jobs {
				if failed.Load() {
					continue
				}
				val, flag := j.data, chunkRaw
				if j.st.worthTrying() {
					val, flag = compressChunk(j.data, &scratch)
					j.st.tried(flag == chunkZstd)
				}
				e := badger.NewEntry(snapKey(gen, uint32(j.part), uint32(j.chunk)), val).WithMeta(flag)
				if err := wb.SetEntry(e); err != nil {
					fail(fmt.Errorf("storage: write snapshot chunk: %w", err))
					continue
				}
				j.st.stored.Add(uint64(len(val)))
			}
		}()
	}
	errStopped := errors.New("stopped")
	srcErr := src(func(p Part) error {
		if failed.Load() {
			return errStopped
		}
		i := len(dir)
		if uint64(i) >= dirPart-1 {
			fail(fmt.Errorf("storage: too many snapshot parts (%d)", i+1))
			return errStopped
		}
		if p.Same {
			b := byName[p.Name]
			if b == nil {
				fail(fmt.Errorf("%w: %q", ErrNoBasePart, p.Name))
				return errStopped
			}
			st := new(partStats)
			st.stored.Store(b.StoredLen)
			dir = append(dir, *b)
			stored = append(stored, st)
			return nil
		}
		d := dirEntry{
			Name:   p.Name,
			RawLen: uint64(len(p.Data)),
			Chunks: uint32(numChunks(len(p.Data))),
			Gen:    gen,
			Index:  uint32(i),
		}
		written += d.RawLen
		st := new(partStats)
		for c := range int(d.Chunks) {
			jobs <- job{part: i, chunk: c, data: p.Data[c*chunkSize : min((c+1)*chunkSize, len(p.Data))], st: st}
		}
		// Hash while the workers compress.
		d.Sum = xxhash.Sum64(p.Data)
		dir = append(dir, d)
		stored = append(stored, st)
		return nil
	})
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return nil, nil, firstErr
	}
	if srcErr != nil {
		return nil, nil, srcErr
	}

	m := &snapMeta{Gen: gen, Seq: seq, UnixNano: start.UnixNano(), Parts: uint32(len(dir)), ChunkSize: chunkSize, WrittenBytes: written}
	for i := range dir {
		dir[i].StoredLen = stored[i].stored.Load()
		m.RawBytes += dir[i].RawLen
		m.StoredBytes += dir[i].StoredLen
	}
	raw := encodeDir(dir)
	m.DirRawLen, m.DirChunks, m.DirSum = uint64(len(raw)), uint32(numChunks(len(raw))), xxhash.Sum64(raw)
	scratch := make([]byte, 0, min(len(raw), chunkSize))
	for c := range int(m.DirChunks) {
		val, flag := compressChunk(raw[c*chunkSize:min((c+1)*chunkSize, len(raw))], &scratch)
		if err := wb.SetEntry(badger.NewEntry(snapKey(gen, dirPart, uint32(c)), val).WithMeta(flag)); err != nil {
			return nil, nil, fmt.Errorf("storage: write snapshot directory: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return nil, nil, fmt.Errorf("storage: write snapshot generation %d: %w", gen, err)
	}
	return m, dir, nil
}
