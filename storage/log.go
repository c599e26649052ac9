package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Key layout (all integers big-endian, so byte order is numeric order).
// Log database (Dir/log):
//
//	m/pending                  first,last seq of a batch being written in
//	                           several Badger transactions (see Append)
//	l/<seq:8>                  log record (UserMeta recInline), or the head of
//	                           a chunked record (UserMeta recHead, value =
//	                           uvarint length, uvarint chunk count)
//	l/<seq:8><chunk:4>         chunk of a record larger than chunkSize
//
// Snapshot database (Dir/snap; the same database in memory):
//
//	m/snapshot                 meta of the snapshot in use (snapMeta)
//	s/<gen:8><part:4><chunk:4> snapshot chunk (UserMeta chunkRaw or chunkZstd);
//	                           part 0xFFFFFFFF is the generation's directory
const (
	prefixLog  = "l/"
	prefixSnap = "s/"
	keyMeta    = "m/snapshot"
	keyPending = "m/pending"
	// keyTruncated (log database) holds the seq up to which the log is
	// known to be deleted, so that Open does not walk the deleted records
	// again: an iterator steps over every deleted key it passes, and
	// after a snapshot of millions of writes those are millions of keys
	// whose tables it would read whole.
	keyTruncated = "m/truncated"
)

// UserMeta values of log keys.
const (
	recInline byte = 0
	recHead   byte = 1
	recChunk  byte = 2
)

const logKeyLen = len(prefixLog) + 8

func putLogKey(dst []byte, seq uint64) []byte {
	dst = append(dst, prefixLog...)
	return binary.BigEndian.AppendUint64(dst, seq)
}

func logKey(seq uint64) []byte { return putLogKey(make([]byte, 0, logKeyLen), seq) }

func logChunkKey(seq uint64, chunk uint32) []byte {
	k := putLogKey(make([]byte, 0, logKeyLen+4), seq)
	return binary.BigEndian.AppendUint32(k, chunk)
}

// Append writes records as one batch with consecutive seqs and returns the
// first seq (record i gets firstSeq+i). An empty batch writes nothing and
// returns (0, nil).
//
// The batch is one Badger transaction, hence one write to the WAL, applied
// all-or-nothing on recovery. Badger caps a transaction at 15% of the
// memtable: with the log database's options that is 1.2 MiB of records or
// ~13k records. A bigger batch is split into several transactions
// bracketed by an m/pending marker (written first, deleted by the last
// transaction): if the process dies in between, Open deletes the partial
// batch, so callers still see all-or-nothing. Records larger than
// chunkSize (~1 MiB) are stored as chunks under consecutive keys.
//
// When Append returns nil the batch survives a process crash in every fsync
// mode; with FsyncAlways it is also on stable storage. Append calls are
// serialised. After an I/O failure Append keeps failing (the state on disk
// is unknown): restart the process.
func (s *Store) Append(records [][]byte) (firstSeq uint64, err error) {
	if len(records) == 0 {
		return 0, nil
	}
	s.rw.RLock()
	defer s.rw.RUnlock()
	if s.closed {
		return 0, ErrClosed
	}
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	if s.broken != nil {
		return 0, s.broken
	}
	first := s.lastSeq.Load() + 1
	last := first + uint64(len(records)) - 1
	entries, nbytes := buildLogEntries(first, records)

	err = s.commitOne(entries)
	if errors.Is(err, badger.ErrTxnTooBig) {
		s.stats.splitBatches.Add(1)
		err = s.commitSplit(first, last, entries)
	}
	if err == nil && s.opts.syncAfterCommit && s.opts.Fsync == FsyncAlways && !s.opts.InMemory {
		err = s.db.Sync() // benchmark variant, see BenchmarkAppend
	}
	if err != nil {
		s.broken = fmt.Errorf("storage: append of seqs %d..%d failed, restart required: %w", first, last, err)
		s.logger.Error("append failed", "first_seq", first, "last_seq", last, "err", err)
		return 0, s.broken
	}
	s.lastSeq.Store(last)
	s.dirty.Store(true)
	s.stats.appendBatches.Add(1)
	s.stats.appendRecords.Add(uint64(len(records)))
	s.stats.appendBytes.Add(uint64(nbytes))
	return first, nil
}

// buildLogEntries lays out the Badger entries of a batch, sharing one key
// buffer and one entry array to keep allocations per batch constant.
func buildLogEntries(first uint64, records [][]byte) (entries []badger.Entry, nbytes int) {
	n, extra := len(records), 0
	for _, r := range records {
		nbytes += len(r)
		if len(r) > chunkSize {
			extra += (len(r) + chunkSize - 1) / chunkSize
		}
	}
	entries = make([]badger.Entry, 0, n+extra)
	keys := make([]byte, 0, n*logKeyLen)
	for i, r := range records {
		seq := first + uint64(i)
		start := len(keys)
		keys = putLogKey(keys, seq)
		key := keys[start:len(keys):len(keys)]
		if len(r) <= chunkSize {
			entries = append(entries, badger.Entry{Key: key, Value: r, UserMeta: recInline})
			continue
		}
		nch := (len(r) + chunkSize - 1) / chunkSize
		head := binary.AppendUvarint(nil, uint64(len(r)))
		head = binary.AppendUvarint(head, uint64(nch))
		entries = append(entries, badger.Entry{Key: key, Value: head, UserMeta: recHead})
		for c := range nch {
			end := min((c+1)*chunkSize, len(r))
			entries = append(entries, badger.Entry{
				Key: logChunkKey(seq, uint32(c)), Value: r[c*chunkSize : end], UserMeta: recChunk,
			})
		}
	}
	return entries, nbytes
}

func (s *Store) commitOne(entries []badger.Entry) error {
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	for i := range entries {
		if err := txn.SetEntry(&entries[i]); err != nil {
			return err
		}
	}
	return txn.Commit()
}

// commitSplit writes a batch too big for one transaction; see Append.
func (s *Store) commitSplit(first, last uint64, entries []badger.Entry) error {
	marker := binary.BigEndian.AppendUint64(nil, first)
	marker = binary.BigEndian.AppendUint64(marker, last)
	if err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set([]byte(keyPending), marker)
	}); err != nil {
		return err
	}
	fail := func(err error) error {
		// Best effort: remove what was written so that the next batch
		// (which reuses these seqs) does not leave stray records behind.
		// If this fails too, Open does it from the marker.
		if cerr := s.deleteLogRange(first, last, true); cerr != nil {
			s.logger.Error("cleanup of failed split batch failed", "err", cerr)
		}
		return err
	}
	txn := s.db.NewTransaction(true)
	defer func() { txn.Discard() }()
	n := 0
	for i := range entries {
		err := txn.SetEntry(&entries[i])
		if errors.Is(err, badger.ErrTxnTooBig) && n > 0 {
			if err = txn.Commit(); err != nil {
				return fail(err)
			}
			txn = s.db.NewTransaction(true)
			n = 0
			err = txn.SetEntry(&entries[i])
		}
		if err != nil {
			return fail(err)
		}
		n++
	}
	err := txn.Delete([]byte(keyPending))
	if errors.Is(err, badger.ErrTxnTooBig) {
		if err = txn.Commit(); err != nil {
			return fail(err)
		}
		txn = s.db.NewTransaction(true)
		err = txn.Delete([]byte(keyPending))
	}
	if err != nil {
		return fail(err)
	}
	if err := txn.Commit(); err != nil {
		return fail(err)
	}
	return nil
}

// repairPending removes a split batch interrupted by a crash.
func (s *Store) repairPending() error {
	var first, last uint64
	found := false
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(keyPending))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if len(v) != 16 {
				return fmt.Errorf("corrupt %s value (%d bytes)", keyPending, len(v))
			}
			first, last = binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:])
			found = true
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("storage: read pending marker: %w", err)
	}
	if !found {
		return nil
	}
	s.logger.Warn("discarding a batch interrupted by a crash (never acknowledged)",
		"first_seq", first, "last_seq", last)
	if err := s.deleteLogRange(first, last, true); err != nil {
		return fmt.Errorf("storage: discard interrupted batch: %w", err)
	}
	return nil
}

// deleteLogRange deletes log keys with first <= seq <= last (and chunk
// keys), and the pending marker if dropMarker.
func (s *Store) deleteLogRange(first, last uint64, dropMarker bool) error {
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	err := s.db.View(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.PrefetchValues = false
		opt.Prefix = []byte(prefixLog)
		it := txn.NewIterator(opt)
		defer it.Close()
		for it.Seek(logKey(first)); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) < logKeyLen || binary.BigEndian.Uint64(k[2:]) > last {
				break
			}
			if err := wb.Delete(it.Item().KeyCopy(nil)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if dropMarker {
		if err := wb.Delete([]byte(keyPending)); err != nil {
			return err
		}
	}
	return wb.Flush()
}

// lastLogSeq returns the seq of the last log record, 0 if none. Records up
// to after are known deleted (truncated by a snapshot): when none follows,
// the answer is 0 without a walk back over the deleted ones.
func (s *Store) lastLogSeq(after uint64) (uint64, error) {
	var last uint64
	err := s.db.View(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.PrefetchValues = false
		opt.Prefix = []byte(prefixLog)
		if after > 0 {
			it := txn.NewIterator(opt)
			it.Seek(logKey(after + 1))
			any := it.Valid()
			it.Close()
			if !any {
				return nil
			}
		}
		opt.Reverse = true
		it := txn.NewIterator(opt)
		defer it.Close()
		seek := append([]byte(prefixLog), bytes.Repeat([]byte{0xff}, 13)...)
		it.Seek(seek)
		if it.Valid() {
			k := it.Item().Key()
			if len(k) < logKeyLen {
				return fmt.Errorf("malformed log key %x", k)
			}
			last = binary.BigEndian.Uint64(k[2:])
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("storage: find last seq: %w", err)
	}
	return last, nil
}

// readTruncated returns the seq up to which the log was deleted and that
// deletion recorded (keyTruncated), 0 if none.
func (s *Store) readTruncated() (uint64, error) {
	var seq uint64
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(keyTruncated))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("corrupt %s value (%d bytes)", keyTruncated, len(v))
			}
			seq = binary.BigEndian.Uint64(v)
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("storage: read truncation mark: %w", err)
	}
	return seq, nil
}

// truncateLog deletes log records with seq <= upTo. Caller holds snapMu
// (or is Open).
func (s *Store) truncateLog(upTo uint64) error {
	if upTo <= s.truncated {
		return nil
	}
	if err := s.deleteLogRange(s.truncated+1, upTo, false); err != nil {
		return fmt.Errorf("storage: truncate log up to %d: %w", upTo, err)
	}
	s.truncated = upTo
	// Only once every deletion is in: a crash before this mark leaves the
	// previous one, and the next Open deletes the range again.
	if err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set([]byte(keyTruncated), binary.BigEndian.AppendUint64(nil, upTo))
	}); err != nil {
		return fmt.Errorf("storage: record log truncation up to %d: %w", upTo, err)
	}
	return nil
}

// Replay calls fn for every record with seq > afterSeq, in seq order, from
// the calling goroutine. rec is valid only during fn. An error from fn stops
// the replay and is returned as is. Replay fails if the log has a gap, for
// example when afterSeq is below the snapshot's seq (those records were
// truncated: load the snapshot and replay after its seq).
func (s *Store) Replay(afterSeq uint64, fn func(seq uint64, rec []byte) error) error {
	s.rw.RLock()
	defer s.rw.RUnlock()
	if s.closed {
		return ErrClosed
	}
	if m := s.meta.Load(); m != nil && afterSeq < m.Seq {
		return s.gapError(afterSeq+1, m.Seq+1)
	}
	txn := s.db.NewTransaction(false)
	defer txn.Discard()
	opt := badger.DefaultIteratorOptions
	opt.PrefetchValues = false
	opt.Prefix = []byte(prefixLog)
	it := txn.NewIterator(opt)
	defer it.Close()

	var fnErr error
	call := func(seq uint64, rec []byte) error {
		fnErr = fn(seq, rec)
		return fnErr
	}
	var big []byte
	want := afterSeq + 1
	for it.Seek(logKey(want)); it.Valid(); {
		item := it.Item()
		k := item.Key()
		if len(k) != logKeyLen {
			return fmt.Errorf("storage: log corrupt: unexpected key %x (chunk without head): %w", k, ErrCorrupt)
		}
		seq := binary.BigEndian.Uint64(k[2:])
		if seq != want {
			return s.gapError(want, seq)
		}
		switch item.UserMeta() {
		case recInline:
			if err := item.Value(func(v []byte) error { return call(seq, v) }); err != nil {
				if fnErr != nil {
					return fnErr
				}
				return fmt.Errorf("storage: read log record %d: %w", seq, err)
			}
			it.Next()
		case recHead:
			var err error
			if big, err = readChunkedRecord(it, seq, big[:0]); err != nil {
				return err
			}
			if err := call(seq, big); err != nil {
				return err
			}
		default:
			return fmt.Errorf("storage: log corrupt: record %d has kind %d: %w", seq, item.UserMeta(), ErrCorrupt)
		}
		want++
	}
	return nil
}

// readChunkedRecord assembles the record whose head the iterator is on and
// leaves the iterator after its last chunk.
func readChunkedRecord(it *badger.Iterator, seq uint64, buf []byte) ([]byte, error) {
	var total, nch uint64
	if err := it.Item().Value(func(v []byte) error {
		var n1, n2 int
		total, n1 = binary.Uvarint(v)
		if n1 > 0 {
			nch, n2 = binary.Uvarint(v[n1:])
		}
		if n1 <= 0 || n2 <= 0 || nch != (total+chunkSize-1)/chunkSize {
			return fmt.Errorf("bad head %x: %w", v, ErrCorrupt)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("storage: log record %d: %w", seq, err)
	}
	if uint64(cap(buf)) < total {
		buf = make([]byte, 0, total)
	}
	for c := range nch {
		it.Next()
		if !it.Valid() || !bytes.Equal(it.Item().Key(), logChunkKey(seq, uint32(c))) {
			return nil, fmt.Errorf("storage: log corrupt: record %d chunk %d missing: %w", seq, c, ErrCorrupt)
		}
		if err := it.Item().Value(func(v []byte) error {
			buf = append(buf, v...)
			return nil
		}); err != nil {
			return nil, fmt.Errorf("storage: read log record %d chunk %d: %w", seq, c, err)
		}
	}
	it.Next()
	if uint64(len(buf)) != total {
		return nil, fmt.Errorf("storage: log corrupt: record %d has %d bytes, head says %d: %w", seq, len(buf), total, ErrCorrupt)
	}
	return buf, nil
}

func (s *Store) gapError(want, got uint64) error {
	if m := s.meta.Load(); m != nil && want <= m.Seq {
		return fmt.Errorf("storage: log records %d..%d are not in the log: they were truncated by the snapshot at seq %d; load the snapshot and replay after its seq",
			want, got-1, m.Seq)
	}
	return fmt.Errorf("storage: log corrupt: records %d..%d missing: %w", want, got-1, ErrCorrupt)
}
