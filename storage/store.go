package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// ErrClosed is returned by calls on a closed Store.
var ErrClosed = errors.New("storage: store is closed")

// ErrCorrupt is matched (errors.Is) by errors reporting damaged data: a
// snapshot whose checksums or structure do not verify, or a log with a
// missing record. Start-up should stop and say so rather than serve a
// partial database.
var ErrCorrupt = errors.New("storage: data is corrupt")

// ErrLocked is matched (errors.Is) by the error Open returns when another
// process holds the data directory.
var ErrLocked = errors.New("data directory is in use by another segd process")

type lockedError struct{ dir string }

func (e *lockedError) Error() string {
	return fmt.Sprintf("data directory %s is in use by another segd process", e.dir)
}
func (e *lockedError) Is(target error) bool { return target == ErrLocked }

// gcInterval is how often a disk-backed Store runs value-log GC by itself.
const gcInterval = 5 * time.Minute

// Store is segd's durable storage: a sequence-numbered log of opaque records
// and generations of named, compressed snapshot parts, kept in one Badger
// database per kind (see the layout note in options.go). All methods are safe for concurrent use; Append calls are
// serialised internally (the server has a single committer anyway).
type Store struct {
	db     *badger.DB // the log (and, in memory, everything)
	sdb    *badger.DB // snapshots; == db in memory
	opts   Options
	logger *slog.Logger

	// rw excludes Reset and Close (writers) from every other operation
	// (readers). It is never held across a call into user code except
	// during LoadSnapshot/Replay callbacks, which do not call back in.
	rw     sync.RWMutex
	closed bool

	appendMu sync.Mutex // serialises Append (seq allocation + commit)
	lastSeq  atomic.Uint64
	broken   error // sticky Append failure; guarded by appendMu

	snapMu    sync.Mutex // one WriteSnapshot at a time
	meta      atomic.Pointer[snapMeta]
	nextGen   uint64 // guarded by snapMu
	truncated uint64 // log keys <= truncated are already deleted; guarded by snapMu

	gcMu sync.Mutex

	dirty     atomic.Bool // written since the last everysec sync
	stats     counters
	stop      chan struct{}
	bg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

type counters struct {
	appendBatches  atomic.Uint64
	appendRecords  atomic.Uint64
	appendBytes    atomic.Uint64
	syncs          atomic.Uint64
	syncErrors     atomic.Uint64
	lastSyncNanos  atomic.Int64
	snapshots      atomic.Uint64
	lastSnapNanos  atomic.Int64
	gcRuns         atomic.Uint64
	gcRewrites     atomic.Uint64
	splitBatches   atomic.Uint64
	snapshotErrors atomic.Uint64
}

// Stats is a point-in-time view of storage counters for metrics.
type Stats struct {
	AppendBatches    uint64        // Append calls that wrote something
	AppendRecords    uint64        // records appended
	AppendBytes      uint64        // record bytes appended
	SplitBatches     uint64        // batches too big for one Badger txn (see Append)
	Syncs            uint64        // explicit syncs (everysec ticker, Sync, Close)
	SyncErrors       uint64        // failed syncs
	LastSyncDuration time.Duration // duration of the last explicit sync
	Snapshots        uint64        // snapshots written since Open
	SnapshotErrors   uint64        // failed WriteSnapshot calls
	LastSnapshotTook time.Duration // duration of the last WriteSnapshot
	GCRuns           uint64        // RunGC calls that ran
	GCRewrites       uint64        // value-log files rewritten by GC
	LastSeq          uint64
	SnapshotSeq      uint64 // seq of the snapshot in use (0 if none)
	SnapshotGen      uint64 // generation of the snapshot in use (0 if none)
	SnapshotBytes    uint64 // stored (compressed) bytes of the snapshot in use
	SnapshotRawBytes uint64 // raw bytes of the snapshot in use
}

// Open opens (creating if needed) the store in opts.Dir, or an empty
// in-memory store. It repairs what a crash can leave behind: a half-written
// split batch (Append), a half-written or superseded snapshot generation,
// and log records already covered by the snapshot.
func Open(opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if !opts.InMemory && opts.Dir == "" {
		return nil, errors.New("storage: Options.Dir is required unless InMemory is set")
	}
	if opts.InMemory {
		opts.Dir = ""
	}
	switch opts.Fsync {
	case FsyncEverySec, FsyncAlways, FsyncNo:
	default:
		return nil, fmt.Errorf("storage: invalid fsync mode %d", int(opts.Fsync))
	}
	logger := opts.Logger.With("component", "storage")
	if !opts.InMemory {
		// Early builds kept one Badger database at the top of Dir; refuse it
		// rather than silently start empty next to it.
		if _, err := os.Stat(filepath.Join(opts.Dir, "MANIFEST")); err == nil {
			return nil, fmt.Errorf("storage: data directory %s holds a Badger database from an earlier segd layout (expected %s/ and %s/ subdirectories); move it away or use another --dir",
				opts.Dir, logDirName, snapDirName)
		}
	}

	s := &Store{opts: opts, logger: logger, stop: make(chan struct{})}
	var err error
	if s.db, err = openBadger(opts, roleLog); err != nil {
		return nil, err
	}
	s.sdb = s.db
	if !opts.InMemory {
		if s.sdb, err = openBadger(opts, roleSnap); err != nil {
			_ = s.db.Close()
			return nil, err
		}
	}
	if err := s.recover(); err != nil {
		_ = s.closeDBs() // the recovery error is the one to report
		return nil, err
	}
	if !opts.InMemory {
		if opts.Fsync == FsyncEverySec {
			s.bg.Add(1)
			go s.syncLoop()
		}
		s.bg.Add(1)
		go s.gcLoop()
	}
	m := s.meta.Load()
	if m != nil {
		logger.Info("storage opened", "dir", opts.Dir, "fsync", opts.Fsync.String(),
			"last_seq", s.LastSeq(), "snapshot_seq", m.Seq, "snapshot_gen", m.Gen)
	} else {
		logger.Info("storage opened", "dir", opts.Dir, "fsync", opts.Fsync.String(),
			"last_seq", s.LastSeq(), "in_memory", opts.InMemory)
	}
	return s, nil
}

func openBadger(opts Options, role dbRole) (*badger.DB, error) {
	bo := badgerOptions(opts, role)
	if !opts.InMemory {
		// Probe the lock first: never touch files of a running segd.
		locked, err := dirLocked(bo.Dir)
		if err != nil {
			return nil, fmt.Errorf("storage: open %s: %w", bo.Dir, err)
		}
		if locked {
			return nil, &lockedError{dir: opts.Dir}
		}
		if err := removeEmptyLogFiles(bo.Dir, opts.Logger); err != nil {
			return nil, fmt.Errorf("storage: open %s: %w", bo.Dir, err)
		}
	}
	db, err := badger.Open(bo)
	if err == nil {
		return db, nil
	}
	if strings.Contains(err.Error(), "Cannot acquire directory lock") {
		return nil, &lockedError{dir: opts.Dir}
	}
	if opts.InMemory {
		return nil, fmt.Errorf("storage: open in-memory badger: %w", err)
	}
	return nil, fmt.Errorf("storage: open badger in %s: %w", opts.Dir, err)
}

// removeEmptyLogFiles deletes zero-length *.mem and *.vlog files. Badger
// leaves one behind when the process dies between creating such a file and
// sizing it, or between truncating and removing it (memtable flushed,
// value-log file collected), and then refuses to open with "Create a new
// file" (z.NewFile; dgraph-io/badger#2207, fix pending in #2331). A
// zero-length file holds no data, so removing it loses nothing.
func removeEmptyLogFiles(dir string, logger *slog.Logger) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	removed := false
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || (!strings.HasSuffix(name, ".mem") && !strings.HasSuffix(name, ".vlog")) {
			continue
		}
		info, err := e.Info()
		if err != nil || info.Size() != 0 {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return err
		}
		logger.Warn("removed empty Badger log file left by a crash", "file", filepath.Join(dir, name))
		removed = true
	}
	if removed {
		return fsyncPath(dir)
	}
	return nil
}

func (s *Store) closeDBs() error {
	var errs []error
	if s.sdb != s.db {
		errs = append(errs, s.sdb.Close())
	}
	errs = append(errs, s.db.Close())
	return errors.Join(errs...)
}

// resetMarker is created before Reset drops anything and removed when both
// databases are empty: Badger's DropAll is not atomic across a crash, and
// the two databases are dropped one after the other. Open finishes an
// interrupted Reset.
const resetMarker = "RESET-IN-PROGRESS"

// recover loads the snapshot meta and the last seq and removes debris left
// by a crash. Called from Open before the Store is shared.
func (s *Store) recover() error {
	if !s.opts.InMemory {
		if _, err := os.Stat(filepath.Join(s.opts.Dir, resetMarker)); err == nil {
			s.logger.Warn("finishing a FLUSHALL interrupted by a crash")
			if err := s.dropAll(); err != nil {
				return err
			}
		}
	}
	m, err := s.readMeta()
	if err != nil {
		return err
	}
	s.meta.Store(m)
	if err := s.repairPending(); err != nil {
		return err
	}
	// The log is deleted up to the recorded mark, never past the snapshot
	// in use (the mark is written after the snapshot switch).
	if m != nil {
		t, err := s.readTruncated()
		if err != nil {
			return err
		}
		s.truncated = min(t, m.Seq)
	}
	last, err := s.lastLogSeq(s.truncated)
	if err != nil {
		return err
	}
	if m != nil {
		last = max(last, m.Seq)
	}
	s.lastSeq.Store(last)

	var curGen uint64
	if m != nil {
		curGen = m.Gen
	}
	maxGen, err := s.dropStale(m)
	if err != nil {
		return err
	}
	s.nextGen = max(maxGen, curGen) + 1
	if m != nil {
		if err := s.truncateLog(m.Seq); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) syncLoop() {
	defer s.bg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if !s.dirty.Swap(false) {
				continue
			}
			if err := s.Sync(); err != nil && !errors.Is(err, ErrClosed) {
				s.logger.Error("background fsync failed", "err", err)
			}
		}
	}
}

func (s *Store) gcLoop() {
	defer s.bg.Done()
	t := time.NewTicker(gcInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.RunGC()
		}
	}
}

// LastSeq returns the seq of the last appended record (or the snapshot's seq
// if that is higher); 0 for an empty store.
func (s *Store) LastSeq() uint64 { return s.lastSeq.Load() }

// LastSave returns the time of the snapshot currently in use (zero if none).
func (s *Store) LastSave() time.Time {
	if m := s.meta.Load(); m != nil {
		return time.Unix(0, m.UnixNano)
	}
	return time.Time{}
}

// Sync forces everything appended so far to stable storage (msync of the
// log's active memtable WAL). A no-op in memory.
func (s *Store) Sync() error {
	s.rw.RLock()
	defer s.rw.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.syncLocked()
}

func (s *Store) syncLocked() error {
	if s.opts.InMemory {
		return nil
	}
	start := time.Now()
	err := s.db.Sync()
	s.stats.lastSyncNanos.Store(int64(time.Since(start)))
	s.stats.syncs.Add(1)
	if err != nil {
		s.stats.syncErrors.Add(1)
		return fmt.Errorf("storage: sync: %w", err)
	}
	return nil
}

// barrier makes every byte written so far to the snapshot database
// durable, including memtable WALs that were rotated out but not yet
// flushed to an SSTable (db.Sync only covers the active one): it fsyncs
// every *.mem and *.vlog file and the directory. Used around the snapshot
// switch in every fsync mode so that a power loss cannot leave the meta key
// pointing at parts that never reached the disk, nor the log truncated
// before the switch is durable. Caller holds s.rw (read or write).
func (s *Store) barrier() error {
	if s.opts.InMemory {
		return nil
	}
	if err := s.sdb.Sync(); err != nil {
		return fmt.Errorf("storage: sync snapshots: %w", err)
	}
	dir := filepath.Join(s.opts.Dir, snapDirName)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("storage: barrier: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".mem") && !strings.HasSuffix(name, ".vlog") {
			continue
		}
		if err := fsyncPath(filepath.Join(dir, name)); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // flushed and deleted meanwhile: its data is in an SST
			}
			return fmt.Errorf("storage: barrier: %w", err)
		}
	}
	if err := fsyncPath(dir); err != nil {
		return fmt.Errorf("storage: barrier: %w", err)
	}
	return nil
}

func fsyncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// DiskBytes returns the space the database occupies on disk (LSM tables,
// value logs, WALs, manifest), counting allocated blocks so that Badger's
// sparse, preallocated files are not over-counted. 0 in memory.
func (s *Store) DiskBytes() int64 {
	if s.opts.InMemory {
		return 0
	}
	var total int64
	_ = filepath.WalkDir(s.opts.Dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			total += allocatedBytes(info)
		}
		return nil
	})
	return total
}

// Close syncs and closes the store and releases Badger's files, memory
// maps, caches and goroutines. It is idempotent; later calls return the
// first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.bg.Wait()
		s.rw.Lock()
		defer s.rw.Unlock()
		s.closed = true
		var syncErr error
		if !s.opts.InMemory {
			syncErr = errors.Join(s.db.Sync(), s.sdb.Sync())
		}
		closeErr := s.closeDBs()
		// A closed Badger DB still refers to its caches and tables: drop
		// it, so that a Store kept after Close holds none of that.
		s.db, s.sdb = nil, nil
		s.closeErr = errors.Join(syncErr, closeErr)
		if s.closeErr != nil {
			s.closeErr = fmt.Errorf("storage: close: %w", s.closeErr)
		}
	})
	return s.closeErr
}

// Stats returns current counters.
func (s *Store) Stats() Stats {
	st := Stats{
		AppendBatches:    s.stats.appendBatches.Load(),
		AppendRecords:    s.stats.appendRecords.Load(),
		AppendBytes:      s.stats.appendBytes.Load(),
		SplitBatches:     s.stats.splitBatches.Load(),
		Syncs:            s.stats.syncs.Load(),
		SyncErrors:       s.stats.syncErrors.Load(),
		LastSyncDuration: time.Duration(s.stats.lastSyncNanos.Load()),
		Snapshots:        s.stats.snapshots.Load(),
		SnapshotErrors:   s.stats.snapshotErrors.Load(),
		LastSnapshotTook: time.Duration(s.stats.lastSnapNanos.Load()),
		GCRuns:           s.stats.gcRuns.Load(),
		GCRewrites:       s.stats.gcRewrites.Load(),
		LastSeq:          s.LastSeq(),
	}
	if m := s.meta.Load(); m != nil {
		st.SnapshotSeq = m.Seq
		st.SnapshotGen = m.Gen
		st.SnapshotBytes = m.StoredBytes
		st.SnapshotRawBytes = m.RawBytes
	}
	return st
}

// ReleaseLoadMemory reopens the snapshot database after start-up has loaded
// a snapshot. Badger reads values through memory maps, so every page of the
// snapshot that loading touched stays in the process's resident set (as
// file-backed memory) until the files are unmapped; the server needs none of
// it once the engine holds its own copy. Call it before serving writes; it
// is a no-op in memory.
func (s *Store) ReleaseLoadMemory() error {
	if s.opts.InMemory {
		return nil
	}
	s.rw.Lock()
	defer s.rw.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	if err := s.sdb.Close(); err != nil {
		return fmt.Errorf("storage: close snapshot database: %w", err)
	}
	sdb, err := openBadger(s.opts, roleSnap)
	if err != nil {
		return fmt.Errorf("storage: reopen snapshot database: %w", err)
	}
	s.sdb = sdb
	return nil
}

// FreeBytes is the disk space still available to the store's files (a very
// large number in memory).
func (s *Store) FreeBytes() (uint64, error) {
	if s.opts.InMemory {
		return 1 << 62, nil
	}
	n, err := freeBytes(s.opts.Dir)
	if err != nil {
		return 0, fmt.Errorf("storage: free space of %s: %w", s.opts.Dir, err)
	}
	return n, nil
}
