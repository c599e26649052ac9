package server

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/segd-db/segd/index/errs"

	"github.com/segd-db/segd/index"
)

// errShuttingDown answers writes that arrive while the server stops.
var errShuttingDown = errs.Err("segd is shutting down; the write was not applied")

// committer is the single writer. Connections hand it mutations; it applies a
// batch of them to the engine and hands the changed ones to its logger, which
// appends them to the Badger log in one write (group commit) while the next
// batch is applied, waits for durability as --fsync asks, publishes the
// batch's segment changes and only then lets each connection reply.
type committer struct {
	s    *Server
	reqs chan *writeReq
	quit chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex // held while a batch is applied; exclusive() takes it too
	// broken is set when the log refused a write: later writes are refused
	// before they touch the engine, until a restart.
	broken     atomic.Pointer[error]
	once       sync.Once
	logs       chan *logBatch // applied batches, to the logger (logLoop)
	started    bool           // under mu: start ran
	logsClosed bool           // under mu: the loop has ended and closed logs
	loggerDone chan struct{}  // closed when logLoop returns
	// The loop's own: the batch's mutations for Engine.Prefetch, and what
	// keeps its reads alive.
	ms   []*index.Mutation
	sink uint32
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
	return &committer{s: s, reqs: make(chan *writeReq, 4096), quit: make(chan struct{}),
		logs: make(chan *logBatch, 8), loggerDone: make(chan struct{})}
}

func (c *committer) start() {
	c.mu.Lock()
	c.started = true
	c.mu.Unlock()
	c.wg.Add(1)
	go c.loop()
	go c.logLoop()
}

// stop drains what was queued and stops the loop.
func (c *committer) stop() {
	c.once.Do(func() {
		close(c.quit)
		c.wg.Wait()
		c.mu.Lock()
		started := c.started
		c.mu.Unlock()
		if started {
			<-c.loggerDone
		}
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
	c.waitLogged()
	return fn()
}

func (c *committer) loop() {
	defer c.wg.Done()
	defer func() {
		c.mu.Lock()
		c.logsClosed = true
		close(c.logs)
		c.mu.Unlock()
	}()
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
		batch = make([]*writeReq, 0, maxBatch) // the logger holds the old one
	}
}

// logBatch is an applied batch on its way to the write log: the logger
// appends its records, publishes its segment changes and lets its writers
// reply, while the committer applies the next batch.
type logBatch struct {
	reqs    []*writeReq
	records [][]byte    // set by encode
	logged  []*writeReq // the requests whose mutation is in records
	changes []index.Change
	refused error         // the batch was refused before it was applied
	barrier chan struct{} // a flush marker (exclusive): closed when reached
}

func (c *committer) commit(batch []*writeReq) {
	s := c.s
	err := s.disk.refusal()
	if p := c.broken.Load(); p != nil {
		err = *p
	}
	if err != nil {
		// Nothing is applied, so nothing needs undoing: reads go on. The
		// logger may still hold earlier writes: they reply first.
		c.logs <- &logBatch{reqs: batch, refused: err}
		return
	}
	c.ms = c.ms[:0]
	for _, r := range batch {
		c.ms = append(c.ms, r.m)
	}
	c.sink += s.engine.Prefetch(c.ms)
	clear(c.ms)
	c.mu.Lock()
	for _, r := range batch {
		r.res, r.err = s.engine.Apply(r.m)
		if len(r.res.Created) > 0 {
			s.fieldsCreated(r.m, r.res.Created)
		}
	}
	// Handed over under mu: exclusive's barrier then comes after every
	// applied batch, so that a snapshot never holds writes the log has not
	// reached (a replay would apply them twice).
	c.logs <- &logBatch{reqs: batch, changes: s.engine.DrainChanges()}
	c.mu.Unlock()
}

// encode lays out the log records of an applied batch (on the logger).
func (lb *logBatch) encode() {
	lb.records = make([][]byte, 0, len(lb.reqs))
	lb.logged = make([]*writeReq, 0, len(lb.reqs))
	for _, r := range lb.reqs {
		if r.res.Ticked {
			// The refresh that ran before this write is logged before it.
			tick := &index.Mutation{Op: index.OpTick, Now: r.m.Now}
			lb.records = append(lb.records, tick.AppendBinary(nil))
		}
		if r.err == nil && r.res.Changed {
			lb.records = append(lb.records, r.m.AppendBinary(nil))
			lb.logged = append(lb.logged, r)
		}
	}
}

// logLoop appends the applied batches to the write log in order, publishes
// their segment changes once they are durable, and lets their writers
// reply.
func (c *committer) logLoop() {
	defer close(c.loggerDone)
	s := c.s
	for lb := range c.logs {
		if lb.barrier != nil {
			close(lb.barrier)
			continue
		}
		if lb.refused != nil {
			for _, r := range lb.reqs {
				r.err = lb.refused
			}
		} else if lb.encode(); len(lb.records) > 0 {
			start := time.Now()
			if _, err := s.store.Append(lb.records); err != nil {
				c.logFailed(lb, err)
			} else {
				s.dirty.Add(int64(len(lb.records)))
			}
			s.metrics.commitSeconds.Observe(time.Since(start).Seconds())
			s.metrics.commitBatch.Observe(float64(len(lb.records)))
		}
		s.publishChanges(lb.changes)
		for _, r := range lb.reqs {
			r.done <- struct{}{}
		}
	}
}

// logFailed handles a batch the write log refused. The engine has applied
// it and it is not durable, so the engine no longer matches the log: before
// any of its writers hears the error, the data set is withdrawn (commands
// that read or write data, and the explorer, answer LOADING with the log's
// error; no snapshot, backup or shutdown save is taken) until a restart, which loads exactly
// what the log holds: every acknowledged write and none of these. Its
// segment changes are not published.
func (c *committer) logFailed(lb *logBatch, err error) {
	s := c.s
	s.log.Error("write log append failed; writes not acknowledged, data set withdrawn until restart", "err", err, "writes", len(lb.records))
	why := errs.Errf("the write log failed (%v); segd must be restarted, which loads every acknowledged write", err)
	var refuse error = why
	c.broken.Store(&refuse)
	s.loadErr.Store(errs.New(errs.CodeLoading, why.Msg))
	s.loading.Store(true)
	werr := errs.Errf("write not persisted: %v", err)
	for _, r := range lb.logged {
		r.err = werr
	}
	lb.changes = nil
}

// refusal is the error writes and snapshots get once the log has failed.
func (c *committer) refusal() error {
	if p := c.broken.Load(); p != nil {
		return *p
	}
	return nil
}

// waitLogged returns once every batch handed to the logger is logged
// (under mu).
func (c *committer) waitLogged() {
	if !c.started {
		return
	}
	if c.logsClosed {
		<-c.loggerDone
		return
	}
	done := make(chan struct{})
	c.logs <- &logBatch{barrier: done}
	<-done
}
