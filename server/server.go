// Package server is segd's network side: RESP connections through redcon,
// authentication, dispatch from the protocol command table, group commit of
// writes to the engine and the Badger log, snapshots, pub/sub, INFO, metrics
// and the server's life from loading to shutdown.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segd-db/segd/index/errs"

	"github.com/tidwall/redcon"

	"github.com/segd-db/segd/explorer"
	"github.com/segd-db/segd/index"
	"github.com/segd-db/segd/protocol"
	"github.com/segd-db/segd/storage"
)

// Version is segd's own version; RedisVersion is the Redis API level it
// answers to clients that check (INFO redis_version, HELLO version).
const (
	Version      = "0.1.0"
	RedisVersion = "7.2.0"
)

// Server is one running segd.
type Server struct {
	cfg    Config
	log    *slog.Logger
	engine *index.Engine
	store  *storage.Store

	ln       net.Listener
	rs       *redcon.Server
	httpSrv  *http.Server
	metrics  *metrics
	explorer *explorer.Explorer // the web console on the metrics address

	loading  atomic.Bool
	loadErr  atomic.Pointer[errs.Error] // why the data set was withdrawn for good (LOADING until a restart)
	started  time.Time
	commits  *committer
	pubsub   *pubsub
	clients  clientRegistry
	inflight [statShards]paddedWG // commands being executed, by connection id (shards: see cmdStats)
	closing  atomic.Bool
	// stop is closed when shutdown begins: the server's own goroutines
	// (bg: housekeeping, the ticker, the disk watch, the huge-page scan,
	// background saves, the listeners' loops) return, and shutdown waits
	// for them, so that none outlives Close, logs after it or keeps the
	// engine alive. lifeMu orders their start (once loaded, unless
	// closing) before that wait; loaded is the loading goroutine.
	stop      chan struct{}
	bg        sync.WaitGroup
	loaded    sync.WaitGroup
	lifeMu    sync.Mutex
	closeOnce sync.Once
	done      chan struct{}

	disk         diskGuard
	dirty        atomic.Int64 // logged writes since the last snapshot
	saving       sync.Mutex   // one snapshot write at a time
	images       sync.Mutex   // one save, from its freeze to its write (see save)
	bgsaving     atomic.Bool
	lastSaveE    atomic.Pointer[error] // error of the last background save; nil once one succeeds
	lastSaveCost atomic.Int64          // duration of the last snapshot, serialising and writing, ns

	transfers transfers     // open BACKUP/RESTORE transfers (cmd_backup.go)
	restores  atomic.Uint64 // bumped when RESTORE.COMMIT or FLUSHALL replaces the data set
}

// New opens the store (loading happens in Start, in the background) and
// returns a server ready to Start.
func New(cfg Config) (*Server, error) {
	if err := checkRoutes(routes); err != nil {
		return nil, err // a command added to the table or the routes alone
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.logger(), engine: index.New(), started: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	if cfg.clock != nil {
		s.engine.SetClock(cfg.clock)
	}
	s.engine.SetChangeLog(cfg.ChangeLog)
	tuneRuntime(cfg)
	store, err := storage.Open(storage.Options{Dir: cfg.Dir, InMemory: cfg.InMemory, Fsync: cfg.Fsync, Logger: s.log})
	if err != nil {
		return nil, fmt.Errorf("open data directory: %w", err)
	}
	s.store = store
	s.cleanTransferDir()
	s.metrics = newMetrics(s)
	s.pubsub = newPubSub(s)
	s.clients.init()
	s.commits = newCommitter(s)
	s.explorer = explorer.New(explorer.Options{Engine: s.engine, Write: s.explorerWrite, Ready: s.explorerReady,
		Password: cfg.Password, MaxExpr: cfg.MaxExpr, MaxPage: cfg.MaxPage, Version: Version, Logger: s.log})
	s.loading.Store(true)
	return s, nil
}

// explorerWrite is the explorer's write path: the committer and the write
// log, like a RESP write.
func (s *Server) explorerWrite(m *index.Mutation) (index.Result, error) {
	if err := s.explorerReady(); err != nil {
		return index.Result{}, err
	}
	r, err := s.commits.submit(m)
	if err != nil {
		return index.Result{}, err
	}
	return s.commits.wait(r)
}

// explorerReady says why the explorer cannot read the data set yet, if so.
func (s *Server) explorerReady() error {
	if e := s.loadErr.Load(); e != nil {
		return e
	}
	if s.loading.Load() {
		return errs.New(errs.CodeLoading, "segd is loading the data set in memory; the explorer answers once it is loaded")
	}
	if s.closing.Load() {
		return errShuttingDown
	}
	return nil
}

// Engine is the server's engine, for embedding and tests.
func (s *Server) Engine() *index.Engine { return s.engine }

// Addr is the RESP listen address once Start has returned.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// MetricsAddr is the HTTP listen address once Start has returned ("" if disabled).
func (s *Server) MetricsAddr() string {
	if s.httpSrv == nil {
		return ""
	}
	return s.httpSrv.Addr
}

// Done is closed when the server has shut down (SHUTDOWN or Close).
func (s *Server) Done() <-chan struct{} { return s.done }

// Start listens, then loads the data set in the background: until it is
// loaded, commands that need data answer LOADING.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		s.store.Close()
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	if s.cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
		if err != nil {
			ln.Close()
			s.store.Close()
			return fmt.Errorf("load TLS certificate: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	s.cfg.Addr = ln.Addr().String() // the bound port when Addr asked for :0, for CONFIG GET
	// The guard enforces request limits before redcon reads a byte: redcon
	// itself has none (see protocol/guard.go).
	lim := protocol.DefaultLimits()
	lim.MaxRequest = int64(s.cfg.MaxRequest)
	lim.MaxBulk = min(lim.MaxBulk, lim.MaxRequest)
	ln = protocol.GuardListener(ln, lim)
	s.ln = ln
	if err := s.startHTTP(); err != nil {
		ln.Close()
		s.store.Close()
		return err
	}
	host := hostOf(s.Addr())
	if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && s.cfg.Password == "" {
		s.log.Warn("segd is listening on a non-loopback address without a password: anyone who can reach it can read and change every customer; set --requirepass", "addr", s.Addr())
	}
	s.rs = redcon.NewServerNetwork("tcp", s.cfg.Addr, s.serveRESP, s.accept, s.closed)
	rs := s.rs
	s.bg.Go(func() {
		if err := rs.Serve(ln); err != nil && !s.closing.Load() {
			s.log.Error("RESP listener stopped", "err", err)
		}
	})
	s.loaded.Go(s.load)
	s.log.Info("segd started", "addr", s.Addr(), "metrics", s.MetricsAddr(), "dir", s.cfg.Dir, "in_memory", s.cfg.InMemory, "fsync", s.cfg.Fsync.String(), "version", Version)
	return nil
}

// load brings back the latest snapshot and replays the log after it.
func (s *Server) load() {
	start := time.Now()
	var parts []index.Part
	seq, found, err := s.store.LoadSnapshot(func(name string, data []byte) error {
		parts = append(parts, index.Part{Name: name, Data: data})
		return nil
	})
	if err == nil && found && !s.closing.Load() {
		err = s.engine.LoadSnapshot(parts)
	}
	replayed := 0
	if err == nil && !s.closing.Load() {
		err = s.store.Replay(seq, func(_ uint64, rec []byte) error {
			m, err := index.UnmarshalMutation(rec)
			if err != nil {
				return err
			}
			if _, err := s.engine.Replay(m); err != nil {
				// A logged mutation was accepted once; it must apply again.
				return fmt.Errorf("replay: %w", err)
			}
			replayed++
			return nil
		})
	}
	if err != nil {
		s.loadErr.Store(loadFailed(err))
		s.log.Error("loading the data set failed; segd answers LOADING errors until restarted", "err", err)
		return
	}
	if found {
		if err := s.store.ReleaseLoadMemory(); err != nil {
			s.loadErr.Store(loadFailed(err))
			s.log.Error("reopening the snapshot store after loading failed", "err", err)
			return
		}
	}
	parts = nil
	releaseMemory() // decoding garbage: give it back before serving, not at the next GCs
	s.dirty.Store(int64(replayed))
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.closing.Load() {
		return // shutdown began while loading: start nothing
	}
	s.disk.check(s) // before the first write
	s.commits.start()
	s.applySchemaFlag()
	s.bg.Go(s.housekeeping)
	// Changes replayed from the log were published before the restart: only
	// those from now on are kept for publishing, by the committer.
	s.engine.KeepChanges(true)
	s.bg.Go(s.expireEvents)
	s.bg.Go(func() { s.tickLoop(s.stop) })
	s.bg.Go(func() { s.disk.watch(s) })
	if s.cfg.HugePages {
		s.bg.Go(s.hugePages)
	}
	s.loading.Store(false)
	s.log.Info("data set loaded", "entities", s.engine.Len(), "fields", s.engine.FieldCount(), "snapshot", found, "replayed", replayed, "seconds", time.Since(start).Seconds())
}

// loadFailed is the LOADING error that commands and the explorer answer
// after loading the data set failed: it stays withdrawn until a restart.
func loadFailed(err error) *errs.Error {
	return errs.New(errs.CodeLoading, fmt.Sprintf("loading the data set failed (%v); segd must be restarted", err))
}

// WaitReady blocks until loading has finished or ctx ends.
func (s *Server) WaitReady(ctx context.Context) error {
	for s.loading.Load() {
		if e := s.loadErr.Load(); e != nil {
			return e
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
	return nil
}

// saveSpacing: periodic snapshots start at least this many times the
// previous snapshot's duration apart (at most ~10% of the time spent on them).
const saveSpacing = 10

// saveDue reports whether a periodic snapshot is due, dirty writes and since
// after the last one, which took cost. Snapshots are paced: at least
// saveSpacing times cost apart, so that serialising a large engine (writers
// wait while it is copied out) takes a bounded share of the time.
func saveDue(cfg *Config, dirty int64, since, cost time.Duration) bool {
	due := (cfg.SaveAfter > 0 && dirty >= int64(cfg.SaveAfter)) ||
		(cfg.SaveEvery > 0 && dirty > 0 && since >= cfg.SaveEvery)
	return due && since >= saveSpacing*cost
}

// housekeeping takes periodic snapshots and runs value-log GC.
func (s *Server) housekeeping() {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastSave := time.Now()
	lastGC := time.Now()
	lastSeq, quietFor, busy := s.store.LastSeq(), 0, false
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		// After a burst of writes, once writes have been quiet for a few
		// seconds, give the burst's garbage back to the OS instead of
		// holding it until the next collections.
		if seq := s.store.LastSeq(); seq != lastSeq {
			lastSeq, quietFor, busy = seq, 0, true
		} else if quietFor++; busy && quietFor == 5 {
			releaseMemory()
			busy = false
		}
		due := saveDue(&s.cfg, s.dirty.Load(), time.Since(lastSave), time.Duration(s.lastSaveCost.Load()))
		if due && !s.bgsaving.Load() && s.disk.refusal() == nil {
			err := s.save(true)
			switch {
			case errors.Is(err, errSaveRunning):
				continue // another save (SAVE, shutdown) is writing one now; try again later
			case err != nil:
				s.log.Error("periodic snapshot failed", "err", err)
			}
			lastSave = time.Now()
		}
		s.sweepTransfers()
		if time.Since(lastGC) > 10*time.Minute {
			s.store.RunGC()
			lastGC = time.Now()
		}
	}
}

// expireEvents drops the EVENT buckets that have left their retention,
// every minute, until the server shuts down.
func (s *Server) expireEvents() {
	every := s.cfg.expireEvery
	if every <= 0 {
		every = expireEvery
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		if s.closing.Load() {
			return
		}
		s.engine.Expire()
	}
}

// errSaveRunning answers a background save asked for while another save
// runs.
var errSaveRunning = errors.New("a save is already in progress")

// save takes a snapshot through the committer so that it is consistent with
// the log; in background mode the write happens off the write path.
//
// The engine is frozen under the committer (writes pause for that only),
// then its image is serialised and written part by part while writes go
// on. Parts unchanged since the previous snapshot are carried over rather
// than written (index.FreezeChanges), which is only right if images are
// written in the order they were frozen and each on top of the previous:
// images holds one save from its freeze to the end of its write.
func (s *Server) save(background bool) error {
	if err := s.disk.refusal(); err != nil {
		return err // a snapshot needs space too; the log holds every write
	}
	if background {
		if !s.bgsaving.CompareAndSwap(false, true) {
			return errors.New("a background save is already in progress")
		}
		if !s.images.TryLock() {
			s.bgsaving.Store(false)
			return errSaveRunning
		}
	} else {
		s.images.Lock()
	}
	write := func() error {
		defer s.images.Unlock()
		err := s.writeImage()
		if errors.Is(err, storage.ErrNoBasePart) {
			// The store's snapshot is not the one the engine counted on:
			// write every part.
			s.log.Warn("snapshot: a part to carry over is missing; writing every part", "err", err)
			err = s.writeImage()
		}
		return err
	}
	if !background {
		return write()
	}
	s.bg.Go(func() {
		defer s.bgsaving.Store(false)
		if err := write(); err != nil {
			s.lastSaveE.Store(&err)
			s.log.Error("background save failed", "err", err)
			return
		}
		s.lastSaveE.Store(nil)
	})
	return nil
}

// writeImage freezes the engine and writes its image as the new snapshot.
// The caller holds images. After a failure, the next image is whole.
func (s *Server) writeImage() error {
	var fz *index.Frozen
	var seq uint64
	var dirty int64
	var restores uint64
	began := time.Now()
	err := s.commits.exclusive(func() error {
		if err := s.commits.refusal(); err != nil {
			return err // the engine holds writes the log does not
		}
		fz = s.engine.FreezeChanges()
		seq = s.store.LastSeq()
		dirty = s.dirty.Load()
		restores = s.restores.Load()
		return nil
	})
	if err != nil {
		return err
	}
	frozen := time.Since(began)
	s.saving.Lock()
	defer s.saving.Unlock()
	if s.restores.Load() != restores {
		s.engine.ChangesLost()
		return errors.New("the data set was replaced (RESTORE or FLUSHALL) while saving; this snapshot is stale and was dropped")
	}
	start := time.Now()
	parts, carried := fz.Len(), 0
	err = s.store.WriteSnapshotFrom(seq, func(yield func(storage.Part) error) error {
		return fz.Parts(func(p index.Part) error {
			if p.Same {
				carried++
			}
			return yield(storage.Part{Name: p.Name, Data: p.Data, Same: p.Same})
		})
	})
	if err != nil {
		s.engine.ChangesLost()
		return fmt.Errorf("write snapshot: %w", err)
	}
	s.dirty.Add(-dirty)
	s.lastSaveCost.Store(int64(time.Since(began)))
	s.metrics.snapshotSeconds.Observe(time.Since(start).Seconds())
	s.log.Info("snapshot saved", "seq", seq, "parts", parts, "carried_over", carried,
		"frozen_seconds", frozen.Seconds(), "seconds", time.Since(start).Seconds())
	go releaseMemory()
	return nil
}

// lastSave is the time of the snapshot in use or, before the first one, the
// server's start (as Redis reports LASTSAVE).
func (s *Server) lastSave() time.Time {
	if t := s.store.LastSave(); !t.IsZero() {
		return t
	}
	return s.started
}

// tuneRuntime applies the memory settings. Nearly all of segd's heap is
// long-lived bitmaps, so a lower GC target than Go's 100% costs little CPU and
// keeps the resident size close to the data. GOGC and GOMEMLIMIT, when set,
// win over the defaults.
func tuneRuntime(cfg Config) {
	if cfg.GCPercent > 0 && os.Getenv("GOGC") == "" {
		debug.SetGCPercent(cfg.GCPercent)
	}
	if cfg.MemoryLimit > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(cfg.MemoryLimit)
	}
}

// releaseMemory returns freed heap to the OS at once, after phases that
// leave much garbage (loading, snapshots).
func releaseMemory() { debug.FreeOSMemory() }

// Close shuts the server down gracefully: no new connections or commands,
// in-flight commands finish, writes are synced and the store closed. With
// save, a snapshot is taken first so the next start-up replays nothing.
// When it returns, the server's goroutines have ended, its listeners and
// store (Badger's files, memory maps and caches) are closed and it holds
// no data: Engine returns an empty engine.
func (s *Server) Close() error { return s.shutdown(true) }

func (s *Server) shutdown(save bool) error {
	var err error
	s.closeOnce.Do(func() {
		s.lifeMu.Lock() // a load finishing now sees closing and starts nothing
		s.closing.Store(true)
		close(s.stop)
		s.lifeMu.Unlock()
		s.log.Info("segd shutting down")
		if s.rs != nil {
			s.rs.Close()
		}
		for i := range s.inflight {
			s.inflight[i].Wait()
		}
		s.loaded.Wait()
		if !s.loading.Load() && save && s.dirty.Load() > 0 && !s.cfg.InMemory {
			if e := s.save(false); e != nil {
				s.log.Error("snapshot at shutdown failed", "err", e)
			}
		}
		s.commits.stop()
		s.bg.Wait()        // housekeeping, the ticker, watchers, background saves
		s.sweepTransfers() // closing: removes every transfer file
		s.pubsub.closeAll()
		if s.httpSrv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			if s.httpSrv.Shutdown(ctx) != nil {
				s.httpSrv.Close() // a handler still running after 2 s
			}
			cancel()
		}
		err = s.store.Close()
		s.release()
		close(s.done)
		s.log.Info("segd stopped")
	})
	return err
}

// release drops what a closed server refers to, so that a *Server kept
// after Close (by an embedder, a test's cleanup, a restart loop) holds
// neither the data set nor the explorer nor the listeners' state. Nothing
// runs on the server any more when it is called.
func (s *Server) release() {
	s.engine = index.New()
	s.explorer = nil
	s.httpSrv = nil
	s.rs = nil
}
