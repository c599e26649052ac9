package storage

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
	"github.com/dgraph-io/badger/v4"
	"github.com/klauspost/compress/zstd"
)

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
	dir, err := readDir(txn, m)
	if err != nil {
		s.logger.Error("snapshot directory is corrupt", "gen", m.Gen, "seq", m.Seq, "err", err)
		return m.Seq, true, err
	}
	if err := loadParts(txn, dir, fn); err != nil {
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
func loadParts(txn *badger.Txn, dir []dirEntry, fn func(string, []byte) error) error {
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
		if err := readParts(txn, dir, dec, ordered, jobs, free, stop); err != nil {
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

func readParts(txn *badger.Txn, dir []dirEntry, dec *zstd.Decoder,
	ordered chan<- *loadPart, jobs chan<- decJob, free chan []byte, stop <-chan struct{}) error {
	opt := badger.DefaultIteratorOptions
	opt.PrefetchValues = false
	opt.Prefix = []byte(prefixSnap)
	it := txn.NewIterator(opt)
	defer it.Close()
	want := make([]byte, 0, len(prefixSnap)+16)
	for i, d := range dir {
		p := &loadPart{index: i, name: d.Name, sum: d.Sum, buf: make([]byte, d.RawLen), done: make(chan struct{})}
		p.left.Store(int32(d.Chunks) + 1)
		select {
		case ordered <- p:
		case <-stop:
			return nil
		}
		// Parts are where their entries say: in this generation, in the
		// order written, or carried over from an older one.
		want = appendSnapKey(want[:0], d.Gen, d.Index, 0)
		if !it.Valid() || !bytes.Equal(it.Item().Key(), want) {
			it.Seek(want)
		}
		for c := range int(d.Chunks) {
			want = appendSnapKey(want[:0], d.Gen, d.Index, uint32(c))
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
