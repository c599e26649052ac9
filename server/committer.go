package server

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"segd/index"
)

// errShuttingDown answers writes that arrive while the server stops.
var errShuttingDown = errors.New("ERR segd is shutting down; the write was not applied")

// committer is the single writer. Connections hand it mutations; it applies a
// batch of them to the engine, appends the changed ones to the Badger log in
// one write (group commit), waits for durability as --fsync asks, and only then
// lets each connection reply.
type committer struct {
	s    *Server
	reqs chan *writeReq
	quit chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex // held while a batch is applied; exclusive() takes it too
	// broken is set when the log refused a write: later writes are refused
	// before they touch the engine, until a restart.
	broken atomic.Pointer[error]
	once   sync.Once
}

type writeReq struct {
	m    *index.Mutation
	res  index.Result
	err  error
	done chan struct{}
}

var reqPool = sync.Pool{New: func() any { return &writeReq{done: make(chan struct{}, 1)} }}

const maxBatch = 1024

func newCommitter(s *Server) *committer {
	return &committer{s: s, reqs: make(chan *writeReq, 4096), quit: make(chan struct{})}
}

func (c *committer) start() {
	c.wg.Add(1)
	go c.loop()
}

// stop drains what was queued and stops the loop.
func (c *committer) stop() {
	c.once.Do(func() {
		close(c.quit)
		c.wg.Wait()
	})
}

// submit hands m to the committer; wait gives its outcome.
func (c *committer) submit(m *index.Mutation) (*writeReq, error) {
	r := reqPool.Get().(*writeReq)
	r.m, r.res, r.err = m, index.Result{}, nil
	select {
	case c.reqs <- r:
		return r, nil
	case <-c.quit:
		reqPool.Put(r)
		return nil, errShuttingDown
	}
}

// wait blocks until r is applied and durable, and recycles it.
func (c *committer) wait(r *writeReq) (index.Result, error) {
	<-r.done
	res, err := r.res, r.err
	r.m = nil
	reqPool.Put(r)
	return res, err
}

// exclusive runs fn between batches, with every earlier write applied and
// logged and no write in progress (for snapshots and FLUSHALL).
func (c *committer) exclusive(fn func() error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fn()
}

func (c *committer) loop() {
	defer c.wg.Done()
	batch := make([]*writeReq, 0, maxBatch)
	for {
		select {
		case r := <-c.reqs:
			batch = append(batch[:0], r)
		case <-c.quit:
			// Finish what was queued before the stop.
			for {
				select {
				case r := <-c.reqs:
					c.commit([]*writeReq{r})
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case r := <-c.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		c.commit(batch)
	}
}

func (c *committer) commit(batch []*writeReq) {
	s := c.s
	err := s.disk.refusal()
	if p := c.broken.Load(); p != nil {
		err = *p
	}
	if err != nil {
		// Nothing is applied, so nothing needs undoing: reads go on.
		for _, r := range batch {
			r.err = err
			r.done <- struct{}{}
		}
		return
	}
	c.mu.Lock()
	records := make([][]byte, 0, len(batch))
	logged := make([]*writeReq, 0, len(batch))
	for _, r := range batch {
		r.res, r.err = s.engine.Apply(r.m)
		if r.res.Ticked {
			// The refresh that ran before this write is logged before it.
			tick := &index.Mutation{Op: index.OpTick, Now: r.m.Now}
			records = append(records, tick.AppendBinary(nil))
		}
		if r.err == nil && r.res.Changed {
			records = append(records, r.m.AppendBinary(nil))
			logged = append(logged, r)
		}
	}
	if len(records) > 0 {
		start := time.Now()
		if _, err := s.store.Append(records); err != nil {
			// The engine has applied these writes but they are not durable:
			// refuse to acknowledge them and say so loudly.
			s.log.Error("write log append failed; writes not acknowledged", "err", err, "writes", len(records))
			werr := fmt.Errorf("ERR write not persisted: %w", err)
			for _, r := range logged {
				r.err = werr
			}
			refuse := fmt.Errorf("ERR the write log failed (%v); writes are refused until segd restarts, reads go on", err)
			c.broken.Store(&refuse)
		} else {
			s.dirty.Add(int64(len(records)))
		}
		s.metrics.commitSeconds.Observe(time.Since(start).Seconds())
		s.metrics.commitBatch.Observe(float64(len(records)))
	}
	s.publishChanges()
	c.mu.Unlock()
	for _, r := range batch {
		r.done <- struct{}{}
	}
}
