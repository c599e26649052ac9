package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/dgraph-io/badger/v4"
	"github.com/klauspost/compress/zstd"
)

// Part is one named blob of a snapshot (a serialized bitmap, the key
// dictionary, field metadata...). Storage does not interpret it.
type Part struct {
	Name string
	Data []byte
}

// UserMeta values of snapshot chunk keys.
const (
	chunkRaw  byte = 0
	chunkZstd byte = 1
)

const (
	dirPart         = 0xFFFFFFFF // part index of a generation's directory
	minCompressSize = 64         // smaller chunks are stored raw
	metaMagic       = "SGM1"
	dirMagic        = "SGD1"
)

func snapGenPrefix(gen uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(prefixSnap), gen)
}

func snapKey(gen uint64, part, chunk uint32) []byte {
	return appendSnapKey(make([]byte, 0, len(prefixSnap)+16), gen, part, chunk)
}

func appendSnapKey(dst []byte, gen uint64, part, chunk uint32) []byte {
	dst = append(dst, prefixSnap...)
	dst = binary.BigEndian.AppendUint64(dst, gen)
	dst = binary.BigEndian.AppendUint32(dst, part)
	return binary.BigEndian.AppendUint32(dst, chunk)
}

func numChunks(n int) int { return (n + chunkSize - 1) / chunkSize }

// snapMeta is the value of m/snapshot: the generation in use. Switching it
// in one transaction is what makes a snapshot current.
type snapMeta struct {
	Gen         uint64
	Seq         uint64 // log records <= Seq are in the snapshot
	UnixNano    int64  // when it was written
	Parts       uint32
	ChunkSize   uint32
	DirRawLen   uint64 // the directory blob (part dirPart)
	DirChunks   uint32
	DirSum      uint64 // xxhash64 of the raw directory
	RawBytes    uint64 // sum of raw part sizes
	StoredBytes uint64 // sum of stored (compressed) part sizes
}

const metaLen = 4 + 8 + 8 + 8 + 4 + 4 + 8 + 4 + 8 + 8 + 8 + 4

func (m *snapMeta) encode() []byte {
	b := make([]byte, 0, metaLen)
	b = append(b, metaMagic...)
	b = binary.BigEndian.AppendUint64(b, m.Gen)
	b = binary.BigEndian.AppendUint64(b, m.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(m.UnixNano))
	b = binary.BigEndian.AppendUint32(b, m.Parts)
	b = binary.BigEndian.AppendUint32(b, m.ChunkSize)
	b = binary.BigEndian.AppendUint64(b, m.DirRawLen)
	b = binary.BigEndian.AppendUint32(b, m.DirChunks)
	b = binary.BigEndian.AppendUint64(b, m.DirSum)
	b = binary.BigEndian.AppendUint64(b, m.RawBytes)
	b = binary.BigEndian.AppendUint64(b, m.StoredBytes)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

func decodeMeta(b []byte) (*snapMeta, error) {
	if len(b) != metaLen || string(b[:4]) != metaMagic {
		return nil, fmt.Errorf("storage: snapshot meta is from an unknown version or damaged (%d bytes): %w", len(b), ErrCorrupt)
	}
	if crc32.ChecksumIEEE(b[:metaLen-4]) != binary.BigEndian.Uint32(b[metaLen-4:]) {
		return nil, fmt.Errorf("storage: snapshot meta checksum mismatch: %w", ErrCorrupt)
	}
	m := &snapMeta{}
	p := b[4:]
	u64 := func() uint64 { v := binary.BigEndian.Uint64(p); p = p[8:]; return v }
	u32 := func() uint32 { v := binary.BigEndian.Uint32(p); p = p[4:]; return v }
	m.Gen, m.Seq, m.UnixNano = u64(), u64(), int64(u64())
	m.Parts, m.ChunkSize = u32(), u32()
	m.DirRawLen, m.DirChunks, m.DirSum = u64(), u32(), u64()
	m.RawBytes, m.StoredBytes = u64(), u64()
	if m.ChunkSize != chunkSize {
		return nil, fmt.Errorf("storage: snapshot uses chunk size %d, this build %d", m.ChunkSize, chunkSize)
	}
	return m, nil
}

// dirEntry describes one part in a generation's directory.
type dirEntry struct {
	Name      string
	RawLen    uint64
	StoredLen uint64
	Chunks    uint32
	Sum       uint64 // xxhash64 of the raw part
}

func encodeDir(dir []dirEntry) []byte {
	b := append([]byte(nil), dirMagic...)
	b = binary.AppendUvarint(b, uint64(len(dir)))
	for _, d := range dir {
		b = binary.AppendUvarint(b, uint64(len(d.Name)))
		b = append(b, d.Name...)
		b = binary.AppendUvarint(b, d.RawLen)
		b = binary.AppendUvarint(b, d.StoredLen)
		b = binary.AppendUvarint(b, uint64(d.Chunks))
		b = binary.BigEndian.AppendUint64(b, d.Sum)
	}
	return b
}

func decodeDir(b []byte, parts uint32) ([]dirEntry, error) {
	bad := fmt.Errorf("storage: snapshot directory is damaged: %w", ErrCorrupt)
	if len(b) < 4 || string(b[:4]) != dirMagic {
		return nil, bad
	}
	b = b[4:]
	uv := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	n, ok := uv()
	if !ok || n != uint64(parts) {
		return nil, bad
	}
	dir := make([]dirEntry, n)
	for i := range dir {
		nl, ok := uv()
		if !ok || uint64(len(b)) < nl {
			return nil, bad
		}
		dir[i].Name = string(b[:nl])
		b = b[nl:]
		var ch uint64
		var ok1, ok2, ok3 bool
		dir[i].RawLen, ok1 = uv()
		dir[i].StoredLen, ok2 = uv()
		ch, ok3 = uv()
		if !ok1 || !ok2 || !ok3 || len(b) < 8 || ch != uint64(numChunks(int(dir[i].RawLen))) {
			return nil, bad
		}
		dir[i].Chunks = uint32(ch)
		dir[i].Sum = binary.BigEndian.Uint64(b)
		b = b[8:]
	}
	if len(b) != 0 {
		return nil, bad
	}
	return dir, nil
}

// zstd codecs, shared by all stores. EncodeAll/DecodeAll are safe for
// concurrent use.
var (
	encoderLevel = zstd.SpeedFastest // see BenchmarkZstdLevel
	codecs       = sync.OnceValues(func() (*zstd.Encoder, *zstd.Decoder) {
		enc, err := zstd.NewWriter(nil,
			zstd.WithEncoderLevel(encoderLevel),
			zstd.WithEncoderConcurrency(snapWorkers()),
			zstd.WithWindowSize(1<<20),
			zstd.WithEncoderCRC(true))
		if err != nil {
			panic(err)
		}
		dec, err := zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(snapWorkers()),
			zstd.WithDecoderMaxMemory(2<<20),
			zstd.WithDecodeAllCapLimit(true))
		if err != nil {
			panic(err)
		}
		return enc, dec
	})
)

// snapWorkers is the number of goroutines compressing or decompressing
// chunks: 2, or 1 on a single-CPU machine.
func snapWorkers() int { return max(1, min(2, runtime.GOMAXPROCS(0))) }

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
	start := time.Now()
	s.rw.RLock()
	defer s.rw.RUnlock()
	if s.closed {
		return ErrClosed
	}
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	m, err := s.writeSnapshot(seq, parts, start)
	if err != nil {
		s.stats.snapshotErrors.Add(1)
		s.logger.Error("snapshot failed", "seq", seq, "err", err)
		return err
	}
	took := time.Since(start)
	s.stats.snapshots.Add(1)
	s.stats.lastSnapNanos.Store(int64(took))
	s.logger.Info("snapshot written", "gen", m.Gen, "seq", m.Seq, "parts", m.Parts,
		"raw_bytes", m.RawBytes, "stored_bytes", m.StoredBytes, "took", took)
	return nil
}

func (s *Store) writeSnapshot(seq uint64, parts []Part, start time.Time) (*snapMeta, error) {
	old := s.meta.Load()
	if old != nil && seq < old.Seq {
		return nil, fmt.Errorf("storage: snapshot seq %d is older than the current snapshot's %d", seq, old.Seq)
	}
	if last := s.LastSeq(); seq > last {
		return nil, fmt.Errorf("storage: snapshot seq %d is beyond the last appended seq %d", seq, last)
	}
	if uint64(len(parts)) >= dirPart {
		return nil, fmt.Errorf("storage: too many snapshot parts (%d)", len(parts))
	}
	gen := s.nextGen
	s.nextGen++ // never reused, even if this attempt fails

	m, err := s.writeGeneration(gen, seq, parts, start)
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
		if err := s.dropGens(old.Gen); err != nil {
			s.logger.Warn("deleting previous snapshot generation failed; Open will retry", "gen", old.Gen, "err", err)
		}
		if !s.opts.InMemory {
			s.runGCLocked() // reclaim its value-log space now
		}
	}
	if err := s.truncateLog(seq); err != nil {
		s.logger.Warn("log truncation after snapshot failed; Open will retry", "seq", seq, "err", err)
	}
	return m, nil
}

// writeGeneration writes all chunks and the directory of generation gen
// and returns its meta (not yet switched to).
func (s *Store) writeGeneration(gen, seq uint64, parts []Part, start time.Time) (*snapMeta, error) {
	wb := s.sdb.NewWriteBatch()
	defer wb.Cancel()

	type job struct {
		part  int
		chunk int
		data  []byte
	}
	dir := make([]dirEntry, len(parts))
	stored := make([]atomic.Uint64, len(parts))
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
				val, flag := compressChunk(j.data, &scratch)
				e := badger.NewEntry(snapKey(gen, uint32(j.part), uint32(j.chunk)), val).WithMeta(flag)
				if err := wb.SetEntry(e); err != nil {
					fail(fmt.Errorf("storage: write snapshot chunk: %w", err))
					continue
				}
				stored[j.part].Add(uint64(len(val)))
			}
		}()
	}
	for i, p := range parts {
		if failed.Load() {
			break
		}
		dir[i] = dirEntry{
			Name:   p.Name,
			RawLen: uint64(len(p.Data)),
			Chunks: uint32(numChunks(len(p.Data))),
		}
		for c := range int(dir[i].Chunks) {
			jobs <- job{part: i, chunk: c, data: p.Data[c*chunkSize : min((c+1)*chunkSize, len(p.Data))]}
		}
		// Hash while the workers compress.
		dir[i].Sum = xxhash.Sum64(p.Data)
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}

	m := &snapMeta{Gen: gen, Seq: seq, UnixNano: start.UnixNano(), Parts: uint32(len(parts)), ChunkSize: chunkSize}
	for i := range dir {
		dir[i].StoredLen = stored[i].Load()
		m.RawBytes += dir[i].RawLen
		m.StoredBytes += dir[i].StoredLen
	}
	raw := encodeDir(dir)
	m.DirRawLen, m.DirChunks, m.DirSum = uint64(len(raw)), uint32(numChunks(len(raw))), xxhash.Sum64(raw)
	scratch := make([]byte, 0, min(len(raw), chunkSize))
	for c := range int(m.DirChunks) {
		val, flag := compressChunk(raw[c*chunkSize:min((c+1)*chunkSize, len(raw))], &scratch)
		if err := wb.SetEntry(badger.NewEntry(snapKey(gen, dirPart, uint32(c)), val).WithMeta(flag)); err != nil {
			return nil, fmt.Errorf("storage: write snapshot directory: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return nil, fmt.Errorf("storage: write snapshot generation %d: %w", gen, err)
	}
	return m, nil
}

// readMeta returns the current snapshot meta, nil if there is none.
func (s *Store) readMeta() (*snapMeta, error) {
	var m *snapMeta
	err := s.sdb.View(func(txn *badger.Txn) error {
		var err error
		m, err = readMetaTxn(txn)
		return err
	})
	return m, err
}

func readMetaTxn(txn *badger.Txn) (*snapMeta, error) {
	item, err := txn.Get([]byte(keyMeta))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("storage: read snapshot meta: %w", err)
	}
	var m *snapMeta
	err = item.Value(func(v []byte) error {
		var err error
		m, err = decodeMeta(v)
		return err
	})
	return m, err
}

// dropGens deletes every key of the given generations. On disk it uses
// DropPrefix: unlike deletes, it hands the value-log GC the discard
// statistics it needs to reclaim the chunks (deletes would only do so once
// compaction happened to merge them, which a quiet LSM never does). It
// blocks writes to the snapshot database only, and its iterators-unsafe
// moments are covered by snapMu (LoadSnapshot holds it too).
func (s *Store) dropGens(gens ...uint64) error {
	if len(gens) == 0 {
		return nil
	}
	if !s.opts.InMemory {
		prefixes := make([][]byte, len(gens))
		for i, g := range gens {
			prefixes[i] = snapGenPrefix(g)
		}
		return s.sdb.DropPrefix(prefixes...)
	}
	for _, gen := range gens {
		if err := s.deleteGen(gen); err != nil {
			return err
		}
	}
	return nil
}

// deleteGen deletes every key of generation gen with tombstones.
func (s *Store) deleteGen(gen uint64) error {
	wb := s.sdb.NewWriteBatch()
	defer wb.Cancel()
	prefix := snapGenPrefix(gen)
	err := s.sdb.View(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.PrefetchValues = false
		opt.Prefix = prefix
		it := txn.NewIterator(opt)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := wb.Delete(it.Item().KeyCopy(nil)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return wb.Flush()
}

// dropStaleGenerations deletes the keys of every generation but cur (left
// by a crash during or right after WriteSnapshot) and returns the highest
// generation number seen.
func (s *Store) dropStaleGenerations(cur uint64) (uint64, error) {
	var maxGen uint64
	var stale []uint64
	err := s.sdb.View(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.PrefetchValues = false
		opt.Prefix = []byte(prefixSnap)
		it := txn.NewIterator(opt)
		defer it.Close()
		for it.Rewind(); it.Valid(); {
			k := it.Item().Key()
			if len(k) < len(prefixSnap)+8 {
				it.Next()
				continue
			}
			gen := binary.BigEndian.Uint64(k[len(prefixSnap):])
			maxGen = max(maxGen, gen)
			if gen != cur {
				stale = append(stale, gen)
			}
			it.Seek(snapGenPrefix(gen + 1)) // next generation
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("storage: scan snapshot generations: %w", err)
	}
	if len(stale) > 0 {
		s.logger.Warn("deleting leftover snapshot generations", "gens", stale, "current", cur)
		if err := s.dropGens(stale...); err != nil {
			return 0, fmt.Errorf("storage: delete leftover snapshot generations %v: %w", stale, err)
		}
	}
	return maxGen, nil
}

// LoadSnapshot reads the current snapshot and calls fn once per part, in the
// order the parts were written, always from the calling goroutine (never
// concurrently). data is a fresh buffer owned by the callee, which may keep
// it forever. It returns the snapshot's seq (replay the log after it) and
// found=false if there is no snapshot.
//
// Chunks are read by one goroutine and decompressed by two, overlapping
// with fn. Every part is checked against its xxhash64, its size and its
// chunk list, and zstd frames carry their own CRC: any mismatch is an error
// naming the part (never silently skipped). An error from fn stops the load
// and is returned as is; damage is reported as an error matching
// ErrCorrupt. A LoadSnapshot waits for a running WriteSnapshot (and vice
// versa); fn must not call WriteSnapshot, LoadSnapshot, Reset or Close.
func (s *Store) LoadSnapshot(fn func(name string, data []byte) error) (seq uint64, found bool, err error) {
	s.rw.RLock()
	defer s.rw.RUnlock()
	if s.closed {
		return 0, false, ErrClosed
	}
	s.snapMu.Lock() // not while WriteSnapshot drops generations
	defer s.snapMu.Unlock()
	txn := s.sdb.NewTransaction(false)
	defer txn.Discard()
	m, err := readMetaTxn(txn)
	if err != nil || m == nil {
		return 0, false, err
	}
	rawDir, err := readBlob(txn, m.Gen, dirPart, m.DirRawLen, m.DirChunks)
	if err == nil && xxhash.Sum64(rawDir) != m.DirSum {
		err = errors.New("checksum mismatch")
	}
	if err != nil {
		s.logger.Error("snapshot directory is corrupt", "gen", m.Gen, "seq", m.Seq, "err", err)
		return m.Seq, true, fmt.Errorf("storage: snapshot gen %d (seq %d) directory is corrupt: %v: %w", m.Gen, m.Seq, err, ErrCorrupt)
	}
	dir, err := decodeDir(rawDir, m.Parts)
	if err != nil {
		return m.Seq, true, fmt.Errorf("storage: snapshot gen %d (seq %d): %w", m.Gen, m.Seq, err)
	}
	if err := loadParts(txn, m.Gen, dir, fn); err != nil {
		var ce *corruptError
		if errors.As(err, &ce) {
			s.logger.Error("snapshot is corrupt", "gen", m.Gen, "seq", m.Seq, "err", err)
			return m.Seq, true, fmt.Errorf("storage: snapshot gen %d (seq %d): %w", m.Gen, m.Seq, err)
		}
		return m.Seq, true, err
	}
	return m.Seq, true, nil
}

// corruptError reports damaged snapshot data.
type corruptError struct {
	part  string
	index int
	chunk int // -1 for the whole part
	why   string
}

func (e *corruptError) Is(target error) bool { return target == ErrCorrupt }

func (e *corruptError) Error() string {
	if e.chunk < 0 {
		return fmt.Sprintf("part %d %q is corrupt: %s", e.index, e.part, e.why)
	}
	return fmt.Sprintf("part %d %q chunk %d is corrupt: %s", e.index, e.part, e.chunk, e.why)
}

// readBlob reads a chunked blob sequentially (used for directories).
func readBlob(txn *badger.Txn, gen uint64, part uint32, rawLen uint64, chunks uint32) ([]byte, error) {
	if uint64(chunks) != uint64(numChunks(int(rawLen))) {
		return nil, errors.New("chunk count does not match size")
	}
	_, dec := codecs()
	out := make([]byte, rawLen)
	for c := range int(chunks) {
		item, err := txn.Get(snapKey(gen, part, uint32(c)))
		if err != nil {
			return nil, fmt.Errorf("chunk %d: %w", c, err)
		}
		dst := out[c*chunkSize : min((c+1)*chunkSize, len(out))]
		if err := item.Value(func(v []byte) error { return fillChunk(dec, item.UserMeta(), v, dst) }); err != nil {
			return nil, fmt.Errorf("chunk %d: %w", c, err)
		}
	}
	return out, nil
}

// fillChunk writes the raw content of a stored chunk into dst, which must
// be filled exactly.
func fillChunk(dec *zstd.Decoder, flag byte, v, dst []byte) error {
	switch flag {
	case chunkRaw:
		if len(v) != len(dst) {
			return fmt.Errorf("raw chunk has %d bytes, want %d", len(v), len(dst))
		}
		copy(dst, v)
		return nil
	case chunkZstd:
		out, err := dec.DecodeAll(v, dst[:0:len(dst)])
		if err != nil {
			return fmt.Errorf("zstd: %w", err)
		}
		if len(out) != len(dst) || (len(out) > 0 && &out[0] != &dst[0]) {
			return fmt.Errorf("chunk decompressed to %d bytes, want %d", len(out), len(dst))
		}
		return nil
	}
	return fmt.Errorf("unknown chunk encoding %d", flag)
}

type loadPart struct {
	index int
	name  string
	sum   uint64
	buf   []byte
	left  atomic.Int32 // chunks still to fill, +1 until all are dispatched
	done  chan struct{}
}

func (p *loadPart) release() {
	if p.left.Add(-1) == 0 {
		close(p.done)
	}
}

type decJob struct {
	part  *loadPart
	chunk int
	src   []byte // copy of the stored chunk; returned to the free list
	dst   []byte
}

var errStopLoad = errors.New("load stopped")

// loadParts is the parallel part loader: one reader goroutine walks the
// generation's keys in order, copying raw chunks into place and handing
// compressed ones to snapWorkers() decoders; the calling goroutine waits
// for each part in order, verifies its checksum and calls fn.
func loadParts(txn *badger.Txn, gen uint64, dir []dirEntry, fn func(string, []byte) error) error {
	var (
		stop     = make(chan struct{})
		errOnce  sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; close(stop) })
	}
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	workers := snapWorkers()
	ordered := make(chan *loadPart, 16)
	jobs := make(chan decJob, 2*workers)
	free := make(chan []byte, 2*workers+2)
	for range cap(free) {
		free <- nil
	}
	_, dec := codecs()

	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if !stopped() {
					if err := fillChunk(dec, chunkZstd, j.src, j.dst); err != nil {
						fail(&corruptError{part: j.part.name, index: j.part.index, chunk: j.chunk, why: err.Error()})
					} else {
						j.part.release()
					}
				}
				free <- j.src[:0]
			}
		}()
	}

	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(jobs)
		defer close(ordered)
		if err := readParts(txn, gen, dir, dec, ordered, jobs, free, stop); err != nil {
			fail(err)
		}
	}()

	for p := range ordered {
		select {
		case <-p.done:
		case <-stop:
		}
		if stopped() {
			break
		}
		if xxhash.Sum64(p.buf) != p.sum {
			fail(&corruptError{part: p.name, index: p.index, chunk: -1, why: "checksum mismatch"})
			break
		}
		if err := fn(p.name, p.buf); err != nil {
			fail(err)
			break
		}
	}
	fail(errStopLoad) // no-op if something failed; releases the reader otherwise
	for range ordered {
	}
	wg.Wait()
	if errors.Is(firstErr, errStopLoad) {
		return nil
	}
	return firstErr
}

func readParts(txn *badger.Txn, gen uint64, dir []dirEntry, dec *zstd.Decoder,
	ordered chan<- *loadPart, jobs chan<- decJob, free chan []byte, stop <-chan struct{}) error {
	opt := badger.DefaultIteratorOptions
	opt.PrefetchValues = false
	opt.Prefix = snapGenPrefix(gen)
	it := txn.NewIterator(opt)
	defer it.Close()
	it.Seek(snapKey(gen, 0, 0))
	want := make([]byte, 0, len(prefixSnap)+16)
	for i, d := range dir {
		p := &loadPart{index: i, name: d.Name, sum: d.Sum, buf: make([]byte, d.RawLen), done: make(chan struct{})}
		p.left.Store(int32(d.Chunks) + 1)
		select {
		case ordered <- p:
		case <-stop:
			return nil
		}
		for c := range int(d.Chunks) {
			want = appendSnapKey(want[:0], gen, uint32(i), uint32(c))
			if !it.Valid() || !bytes.Equal(it.Item().Key(), want) {
				return &corruptError{part: d.Name, index: i, chunk: c, why: "chunk missing"}
			}
			item := it.Item()
			dst := p.buf[c*chunkSize : min((c+1)*chunkSize, len(p.buf))]
			switch item.UserMeta() {
			case chunkRaw:
				if err := item.Value(func(v []byte) error { return fillChunk(dec, chunkRaw, v, dst) }); err != nil {
					return &corruptError{part: d.Name, index: i, chunk: c, why: err.Error()}
				}
				p.release()
			case chunkZstd:
				var buf []byte
				select {
				case buf = <-free:
				case <-stop:
					return nil
				}
				buf, err := item.ValueCopy(buf)
				if err != nil {
					return fmt.Errorf("storage: read snapshot part %q chunk %d: %w", d.Name, c, err)
				}
				select {
				case jobs <- decJob{part: p, chunk: c, src: buf, dst: dst}:
				case <-stop:
					return nil
				}
			default:
				return &corruptError{part: d.Name, index: i, chunk: c, why: fmt.Sprintf("unknown encoding %d", item.UserMeta())}
			}
			it.Next()
		}
		p.release()
	}
	return nil
}
