package storage

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// FsyncMode says when appended records are forced to stable storage.
//
// In every mode a record whose Append has returned survives a crash of the
// segd process (kill -9, panic, OOM kill): Badger copies it into MAP_SHARED
// memory mappings of its write-ahead files before Commit returns, so it is in
// the kernel page cache. The modes differ only for power loss or a kernel
// crash.
type FsyncMode int

const (
	// FsyncEverySec syncs from a background goroutine once a second when
	// something was written: power loss can cost about the last second.
	FsyncEverySec FsyncMode = iota
	// FsyncAlways returns from Append only after the batch is on stable
	// storage (Badger SyncWrites: msync of the memtable WAL and value log
	// inside the commit).
	FsyncAlways
	// FsyncNo never syncs explicitly; the OS writes back when it likes.
	// Snapshot switching still uses sync barriers (see WriteSnapshot).
	FsyncNo
)

// ParseFsync parses the --fsync flag value: "always", "everysec" or "no"
// (case-insensitive).
func ParseFsync(s string) (FsyncMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "everysec":
		return FsyncEverySec, nil
	case "always":
		return FsyncAlways, nil
	case "no":
		return FsyncNo, nil
	}
	return FsyncEverySec, fmt.Errorf("invalid fsync mode %q: use always, everysec or no", s)
}

// String returns the flag spelling of the mode.
func (m FsyncMode) String() string {
	switch m {
	case FsyncEverySec:
		return "everysec"
	case FsyncAlways:
		return "always"
	case FsyncNo:
		return "no"
	}
	return fmt.Sprintf("FsyncMode(%d)", int(m))
}

// Options configures Open.
type Options struct {
	Dir      string       // data directory; required unless InMemory
	InMemory bool         // Badger in-memory mode, nothing on disk (Dir is ignored)
	Fsync    FsyncMode    // see FsyncMode
	Logger   *slog.Logger // may be nil: slog.Default() is used
	CacheMB  int          // Badger block cache in MiB; 0 means 16

	// syncAfterCommit (tests and benchmarks only) implements FsyncAlways
	// with db.Sync() after each commit instead of Badger's SyncWrites.
	syncAfterCommit bool
}

// Storage keeps two Badger databases under Options.Dir:
//
//   - log/  the record log (and the split-batch marker). LSM-only: every
//     value stays in the LSM tree (records are small and short-lived:
//     compaction reclaims them after truncation, no value-log GC needed).
//   - snap/ snapshot generations and the meta key. Chunks (>= 1 KiB) go to
//     the value log, so a 200 MiB snapshot is written once, not rewritten
//     by every compaction level. Dropping the previous generation uses
//     DropPrefix (which feeds the value-log GC its discard statistics); it
//     blocks writes to this database only, so Append never waits for it.
//
// In memory there is a single database for both.
const (
	logDirName  = "log"
	snapDirName = "snap"

	// Badger's default memtable is 64 MiB. Measured at a saturated 3M-record
	// ingest: 8 MiB peaks at ~100 MiB of heap, 16 MiB at ~250 MiB (Badger
	// pools table-builder buffers sized like a memtable flush), for ~12%
	// more peak throughput. 8 MiB it is.
	logMemTableSize    = 8 << 20
	logNumMemtables    = 2        // default 5
	snapMemTableSize   = 4 << 20  // holds value pointers and small parts only
	snapValueThreshold = 1 << 10  // snapshot values >= 1 KiB go to the value log
	snapVlogFileSize   = 64 << 20 // GC reclaims whole files: keep them small
	defaultCacheMB     = 16
)

// chunkSize is the largest raw slice of a snapshot part or of a log record
// stored under one key. Stored values (raw or zstd) never exceed it, which
// keeps every value under 1 MiB: below the log database's ValueThreshold
// (so it stays LSM-only), within the limit Badger's in-memory mode puts on
// a value, and within one transaction (15% of the memtable: 1.2 MiB).
const chunkSize = 1<<20 - 64

type dbRole int

const (
	roleLog  dbRole = iota // also the single database in memory
	roleSnap               // disk only
)

func badgerOptions(o Options, role dbRole) badger.Options {
	cacheMB := o.CacheMB
	if cacheMB <= 0 {
		cacheMB = defaultCacheMB
	}
	var bo badger.Options
	switch {
	case o.InMemory:
		// One database. In-memory mode keeps every value in the LSM and
		// rejects values larger than ValueThreshold: 1 MiB is Badger's max.
		bo = badger.DefaultOptions("").WithInMemory(true).WithValueThreshold(1 << 20)
	case role == roleLog:
		bo = badger.DefaultOptions(filepath.Join(o.Dir, logDirName)).
			WithValueThreshold(1 << 20). // LSM-only: values are < chunkSize
			WithValueLogFileSize(16 << 20)
	default:
		bo = badger.DefaultOptions(filepath.Join(o.Dir, snapDirName)).
			WithValueThreshold(snapValueThreshold).
			WithValueLogFileSize(snapVlogFileSize)
	}
	if role == roleLog {
		bo = bo.
			WithMemTableSize(logMemTableSize).
			WithNumMemtables(logNumMemtables).
			WithBaseTableSize(2 << 20).
			WithBaseLevelSize(16 << 20).
			WithBlockCacheSize(int64(cacheMB) << 20).
			WithIndexCacheSize(int64(max(4, cacheMB/2)) << 20).
			WithSyncWrites(o.Fsync == FsyncAlways && !o.InMemory && !o.syncAfterCommit)
	} else {
		bo = bo.
			WithMemTableSize(snapMemTableSize).
			WithNumMemtables(2).
			WithBaseTableSize(2 << 20).
			WithBaseLevelSize(8 << 20).
			WithBlockCacheSize(4 << 20).
			WithIndexCacheSize(2 << 20).
			// Snapshot durability comes from explicit barriers around the
			// meta switch (see WriteSnapshot), in every fsync mode.
			WithSyncWrites(false)
	}
	return bo.
		WithNumLevelZeroTables(5).
		WithNumLevelZeroTablesStall(15).
		WithNumCompactors(2).
		WithNumGoroutines(2).
		// Snapshot values are already zstd-compressed by us and log
		// records are short-lived; block compression would only cost CPU.
		WithCompression(options.None).
		WithDetectConflicts(false). // one writer per key space; no read-modify-write
		WithMetricsEnabled(false).  // segd exports its own metrics
		WithNumVersionsToKeep(1).
		WithLogger(badgerLogger{l: o.Logger, cacheNoted: new(atomic.Bool)})
}

// badgerLogger routes Badger's logging to slog: errors and warnings keep
// their level, info and debug become debug (Badger is chatty at info).
type badgerLogger struct {
	l          *slog.Logger
	cacheNoted *atomic.Bool // the cache note below was logged
}

func (b badgerLogger) log(level slog.Level, format string, args []any) {
	if !b.l.Enabled(context.Background(), level) {
		return
	}
	msg := strings.TrimRight(fmt.Sprintf(format, args...), "\n")
	b.l.Log(context.Background(), level, msg, "component", "badger")
}

func (b badgerLogger) Errorf(f string, a ...any) { b.log(slog.LevelError, f, a) }
func (b badgerLogger) Warningf(f string, a ...any) {
	switch {
	case strings.Contains(f, "might be too small"):
		b.cacheNote(a)
	case strings.HasPrefix(f, "Cache life expectancy"):
		// The second line of the same two-line warning.
	default:
		b.log(slog.LevelWarn, f, a)
	}
}

// cacheNote replaces Badger's two-line "Block cache might be too small"
// warning, which comes every minute while the hit ratio of its block cache
// is low, by one line, once: segd answers queries from memory and reads
// Badger only to load at start-up, to replay the log and to back up, so a
// low hit ratio there needs no action.
func (b badgerLogger) cacheNote(a []any) {
	if b.cacheNoted.Swap(true) {
		return
	}
	name := "cache"
	if len(a) > 0 {
		name = strings.ToLower(fmt.Sprint(a[0]))
	}
	b.log(slog.LevelInfo, "badger's %s has a low hit ratio; no action needed: queries never read Badger, only start-up, log replay and backup do", []any{name})
}
func (b badgerLogger) Infof(f string, a ...any)  { b.log(slog.LevelDebug, f, a) }
func (b badgerLogger) Debugf(f string, a ...any) { b.log(slog.LevelDebug-4, f, a) }
