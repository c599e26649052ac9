package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"runtime"
	"sync"

	"github.com/cespare/xxhash/v2"
	"github.com/dgraph-io/badger/v4"
	"github.com/klauspost/compress/zstd"
)

// Part is one named blob of a snapshot (a serialized bitmap, the key
// dictionary, field metadata...). Storage does not interpret it.
type Part struct {
	Name string
	Data []byte
	// Same says the part is unchanged since the current snapshot: the new
	// snapshot refers to the current one's part of that name, without
	// rewriting it (Data is ignored). WriteSnapshot fails with
	// ErrNoBasePart if the current snapshot has no such part.
	Same bool
}

// ErrNoBasePart is the error of a snapshot that marks a part Same which
// the current snapshot does not hold; write it whole instead.
var ErrNoBasePart = errors.New("storage: a part marked unchanged is not in the current snapshot")

// UserMeta values of snapshot chunk keys.
const (
	chunkRaw  byte = 0
	chunkZstd byte = 1
)

const (
	dirPart         = 0xFFFFFFFF // part index of a generation's directory
	minCompressSize = 64         // smaller chunks are stored raw
	metaMagic       = "SGM1"
	dirMagic1       = "SGD1" // every part's chunks in the directory's generation
	dirMagic        = "SGD2" // each part's chunks where its entry says
)

func snapGenPrefix(gen uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(prefixSnap), gen)
}

// snapPartPrefix is the prefix of the chunks of part index part of gen.
func snapPartPrefix(gen uint64, part uint32) []byte {
	return binary.BigEndian.AppendUint32(snapGenPrefix(gen), part)
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

	WrittenBytes uint64 // raw bytes this snapshot wrote (not carried over); not stored
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
	// Where the chunks are: snapKey(Gen, Index, chunk). A part carried
	// over unchanged keeps the place it was first written at.
	Gen   uint64
	Index uint32
}

type partLoc struct {
	gen   uint64
	index uint32
}

func (d *dirEntry) loc() partLoc { return partLoc{d.Gen, d.Index} }

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
		b = binary.AppendUvarint(b, d.Gen)
		b = binary.AppendUvarint(b, uint64(d.Index))
	}
	return b
}

// decodeDir decodes the directory of generation gen, which has parts
// entries.
func decodeDir(b []byte, gen uint64, parts uint32) ([]dirEntry, error) {
	bad := fmt.Errorf("storage: snapshot directory is damaged: %w", ErrCorrupt)
	if len(b) < 4 || (string(b[:4]) != dirMagic && string(b[:4]) != dirMagic1) {
		return nil, bad
	}
	located := string(b[:4]) == dirMagic
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
		dir[i].Gen, dir[i].Index = gen, uint32(i)
		if located {
			g, ok1 := uv()
			x, ok2 := uv()
			if !ok1 || !ok2 || g > gen || x >= dirPart {
				return nil, bad
			}
			dir[i].Gen, dir[i].Index = g, uint32(x)
		}
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

// readDir reads and checks the directory of snapshot m.
func readDir(txn *badger.Txn, m *snapMeta) ([]dirEntry, error) {
	raw, err := readBlob(txn, m.Gen, dirPart, m.DirRawLen, m.DirChunks)
	if err == nil && xxhash.Sum64(raw) != m.DirSum {
		err = errors.New("checksum mismatch")
	}
	if err != nil {
		return nil, fmt.Errorf("storage: snapshot gen %d (seq %d) directory is corrupt: %v: %w", m.Gen, m.Seq, err, ErrCorrupt)
	}
	dir, err := decodeDir(raw, m.Gen, m.Parts)
	if err != nil {
		return nil, fmt.Errorf("storage: snapshot gen %d (seq %d): %w", m.Gen, m.Seq, err)
	}
	return dir, nil
}

// dropGens deletes every key of the given generations.
func (s *Store) dropGens(gens ...uint64) error {
	prefixes := make([][]byte, len(gens))
	for i, g := range gens {
		prefixes[i] = snapGenPrefix(g)
	}
	return s.dropPrefixes(prefixes)
}

// dropPrefixes deletes every snapshot key under the prefixes. On disk it
// uses DropPrefix: unlike deletes, it hands the value-log GC the discard
// statistics it needs to reclaim the chunks (deletes would only do so once
// compaction happened to merge them, which a quiet LSM never does). It
// blocks writes to the snapshot database only, and its iterators-unsafe
// moments are covered by snapMu (LoadSnapshot holds it too).
func (s *Store) dropPrefixes(prefixes [][]byte) error {
	if len(prefixes) == 0 {
		return nil
	}
	if !s.opts.InMemory {
		return s.sdb.DropPrefix(prefixes...)
	}
	for _, p := range prefixes {
		if err := s.deletePrefix(p); err != nil {
			return err
		}
	}
	return nil
}

// deletePrefix deletes every key under prefix with tombstones.
func (s *Store) deletePrefix(prefix []byte) error {
	wb := s.sdb.NewWriteBatch()
	defer wb.Cancel()
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

// dropUnreferenced deletes the parts of old (the directory of generation
// oldGen) that dir no longer refers to, and old's directory itself.
func (s *Store) dropUnreferenced(oldGen uint64, old, dir []dirEntry) error {
	keep := make(map[partLoc]bool, len(dir))
	for i := range dir {
		keep[dir[i].loc()] = true
	}
	prefixes := [][]byte{snapPartPrefix(oldGen, dirPart)}
	for i := range old {
		if !keep[old[i].loc()] {
			prefixes = append(prefixes, snapPartPrefix(old[i].Gen, old[i].Index))
		}
	}
	return s.dropPrefixes(prefixes)
}

// dropStale deletes every snapshot key that the current snapshot m (nil:
// none) does not use, left by a crash during or right after WriteSnapshot,
// and returns the highest generation number seen.
func (s *Store) dropStale(m *snapMeta) (uint64, error) {
	keep := map[partLoc]bool{}
	keepUpTo := uint64(0) // with an unreadable directory: every generation up to the current
	if m != nil {
		dir, err := s.dirOf(m)
		if err != nil {
			// LoadSnapshot reports the damage; delete only what is newer
			// than the current snapshot, which it cannot refer to.
			s.logger.Warn("snapshot directory unreadable; keeping every older snapshot part", "err", err)
			keepUpTo = m.Gen
		}
		for i := range dir {
			keep[dir[i].loc()] = true
		}
		keep[partLoc{m.Gen, dirPart}] = true
	}
	var maxGen uint64
	var stale [][]byte
	var staleLocs []partLoc
	err := s.sdb.View(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.PrefetchValues = false
		opt.Prefix = []byte(prefixSnap)
		it := txn.NewIterator(opt)
		defer it.Close()
		for it.Rewind(); it.Valid(); {
			k := it.Item().Key()[len(prefixSnap):]
			if len(k) < 12 {
				it.Next()
				continue
			}
			l := partLoc{binary.BigEndian.Uint64(k), binary.BigEndian.Uint32(k[8:])}
			maxGen = max(maxGen, l.gen)
			if !keep[l] && l.gen > keepUpTo {
				stale = append(stale, snapPartPrefix(l.gen, l.index))
				staleLocs = append(staleLocs, l)
			}
			if l.index == dirPart {
				it.Seek(snapGenPrefix(l.gen + 1))
			} else {
				it.Seek(snapPartPrefix(l.gen, l.index+1))
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("storage: scan snapshot generations: %w", err)
	}
	if len(stale) > 0 {
		s.logger.Warn("deleting leftover snapshot parts", "parts", len(stale), "current", m != nil)
		if err := s.dropPrefixes(stale); err != nil {
			return 0, fmt.Errorf("storage: delete leftover snapshot parts %v: %w", staleLocs, err)
		}
	}
	return maxGen, nil
}

// dirOf reads the directory of m.
func (s *Store) dirOf(m *snapMeta) ([]dirEntry, error) {
	var dir []dirEntry
	err := s.sdb.View(func(txn *badger.Txn) error {
		var err error
		dir, err = readDir(txn, m)
		return err
	})
	return dir, err
}
