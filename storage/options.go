package storage

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

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

// Tuning constants for Badger in an embedded role. See badgerOptions.
const (
	memTableSize   = 16 << 20  // 16 MiB memtables (Badger default 64 MiB)
	numMemtables   = 2         // active + up to 2 waiting for flush (default 5)
	valueThreshold = 4 << 10   // values >= 4 KiB go to the value log
	vlogFileSize   = 128 << 20 // 128 MiB value-log files: finer-grained GC
	defaultCacheMB = 16
)

// chunkSize is the largest raw slice of a snapshot part or of a log record
// stored under one key. Stored values (raw or zstd) never exceed it, which
// keeps every value under 1 MiB: the limit Badger's in-memory mode puts on a
// value (ValueThreshold <= 1 MiB) and well under the transaction limit
// (15% of MemTableSize = 2.4 MiB).
const chunkSize = 1<<20 - 64

func badgerOptions(o Options) badger.Options {
	cacheMB := o.CacheMB
	if cacheMB <= 0 {
		cacheMB = defaultCacheMB
	}
	var bo badger.Options
	if o.InMemory {
		bo = badger.DefaultOptions("").WithInMemory(true)
		// In-memory mode keeps every value in the LSM and rejects values
		// larger than ValueThreshold; 1 MiB is the largest Badger allows.
		bo = bo.WithValueThreshold(1 << 20)
	} else {
		bo = badger.DefaultOptions(o.Dir).
			WithValueThreshold(valueThreshold).
			WithValueLogFileSize(vlogFileSize)
	}
	bo = bo.
		WithMemTableSize(memTableSize).
		WithNumMemtables(numMemtables).
		WithNumLevelZeroTables(5).
		WithNumLevelZeroTablesStall(15).
		WithBaseTableSize(2 << 20).
		WithBaseLevelSize(16 << 20).
		WithNumCompactors(2).
		WithNumGoroutines(2).
		WithBlockCacheSize(int64(cacheMB) << 20).
		WithIndexCacheSize(int64(max(4, cacheMB/2)) << 20).
		// Snapshot values are already zstd-compressed by us and log
		// records are short-lived; block compression would only cost CPU.
		WithCompression(options.None).
		WithDetectConflicts(false). // one committer; keys never contend
		WithMetricsEnabled(false).  // segd exports its own metrics
		WithNumVersionsToKeep(1).
		WithSyncWrites(o.Fsync == FsyncAlways && !o.InMemory && !o.syncAfterCommit).
		WithLogger(badgerLogger{l: o.Logger})
	return bo
}

// badgerLogger routes Badger's logging to slog: errors and warnings keep
// their level, info and debug become debug (Badger is chatty at info).
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) log(level slog.Level, format string, args []any) {
	if !b.l.Enabled(context.Background(), level) {
		return
	}
	msg := strings.TrimRight(fmt.Sprintf(format, args...), "\n")
	b.l.Log(context.Background(), level, msg, "component", "badger")
}

func (b badgerLogger) Errorf(f string, a ...any)   { b.log(slog.LevelError, f, a) }
func (b badgerLogger) Warningf(f string, a ...any) { b.log(slog.LevelWarn, f, a) }
func (b badgerLogger) Infof(f string, a ...any)    { b.log(slog.LevelDebug, f, a) }
func (b badgerLogger) Debugf(f string, a ...any)   { b.log(slog.LevelDebug-4, f, a) }
