package server

import (
	"fmt"
	"sync/atomic"
	"time"
)

// diskGuard refuses writes while the data directory's disk is nearly full.
// Badger writes through memory-mapped files, and a write to a mapped page
// the filesystem cannot back kills the process (SIGBUS) instead of
// returning an error, so segd must stop writing before the disk is full,
// not react after. While refused, writes answer an error and change nothing,
// reads go on, and writes resume by themselves when space returns.
type diskGuard struct {
	refused atomic.Pointer[error]
	free    atomic.Uint64
}

// diskCheckEvery is how often free space is read (a statfs call).
const diskCheckEvery = 200 * time.Millisecond

// refusal is the error writes get now, or nil.
func (g *diskGuard) refusal() error {
	if p := g.refused.Load(); p != nil {
		return *p
	}
	return nil
}

func (g *diskGuard) watch(s *Server) {
	t := time.NewTicker(diskCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			g.check(s)
		}
	}
}

// check reads the free space and switches writes off or back on.
func (g *diskGuard) check(s *Server) {
	if s.cfg.InMemory || s.cfg.MinFreeDisk == 0 {
		return
	}
	free, err := s.store.FreeBytes()
	if err != nil {
		s.log.Warn("cannot read free disk space", "err", err)
		return
	}
	g.free.Store(free)
	was := g.refusal() != nil
	if free < uint64(s.cfg.MinFreeDisk) {
		e := fmt.Errorf("disk nearly full: %s free for the data directory, below --min-free-disk %s; writes are refused until space returns, reads go on",
			human(free), human(uint64(s.cfg.MinFreeDisk)))
		g.refused.Store(&e)
		if !was {
			s.metrics.diskRefusals.Inc()
			s.log.Error("disk nearly full: refusing writes until space returns", "free_bytes", free, "min_free_disk", s.cfg.MinFreeDisk)
		}
		return
	}
	if was {
		g.refused.Store(nil)
		s.log.Info("disk space is back: accepting writes again", "free_bytes", free)
	}
}
