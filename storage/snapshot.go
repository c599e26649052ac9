package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"runtime"
	"sync"

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
