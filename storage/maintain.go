package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
)

// Housekeeping of the two databases: value-log GC of the snapshot database,
// and Reset (FLUSHALL), which empties both crash-safely.

// RunGC runs value-log GC on the snapshot database until it finds nothing
// worth rewriting (a file is rewritten when at least half of it is
// garbage). WriteSnapshot runs it after dropping the previous generation,
// and disk-backed stores run it every 5 minutes by themselves; the log
// database keeps no value log. Concurrent calls return at once.
func (s *Store) RunGC() {
	if s.opts.InMemory {
		return
	}
	s.rw.RLock()
	defer s.rw.RUnlock()
	if s.closed {
		return
	}
	s.runGCLocked()
}

// runGCLocked is RunGC for callers holding s.rw; it returns at once if a
// GC is already running.
func (s *Store) runGCLocked() {
	if !s.gcMu.TryLock() {
		return
	}
	defer s.gcMu.Unlock()
	s.stats.gcRuns.Add(1)
	for range 64 {
		select {
		case <-s.stop:
			return
		default:
		}
		err := s.sdb.RunValueLogGC(0.5)
		if err != nil {
			if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
				s.logger.Warn("value log GC failed", "err", err)
			}
			return
		}
		s.stats.gcRewrites.Add(1)
	}
}

// Reset deletes everything (FLUSHALL): log, snapshots, meta. The seq
// restarts at 0. It waits for in-flight operations and blocks new ones
// while it runs.
func (s *Store) Reset() error {
	s.rw.Lock()
	defer s.rw.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	if err := s.dropAll(); err != nil {
		s.broken = fmt.Errorf("storage: reset failed, restart required: %w", err)
		return s.broken
	}
	s.lastSeq.Store(0)
	s.meta.Store(nil)
	s.nextGen = 1
	s.truncated = 0
	s.broken = nil
	s.logger.Info("storage reset (all data dropped)")
	return nil
}

// dropAll empties both databases, crash-safely (see resetMarker).
func (s *Store) dropAll() error {
	if s.opts.InMemory {
		return s.db.DropAll()
	}
	marker := filepath.Join(s.opts.Dir, resetMarker)
	f, err := os.OpenFile(marker, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	err = errors.Join(f.Sync(), f.Close(), fsyncPath(s.opts.Dir))
	if err != nil {
		return err
	}
	if err := s.sdb.DropAll(); err != nil {
		return err
	}
	if err := s.db.DropAll(); err != nil {
		return err
	}
	// DropAll deleted files; make that durable before the marker goes.
	for _, sub := range []string{logDirName, snapDirName} {
		if err := fsyncPath(filepath.Join(s.opts.Dir, sub)); err != nil {
			return err
		}
	}
	if err := os.Remove(marker); err != nil {
		return err
	}
	return fsyncPath(s.opts.Dir)
}
