package bench

// The closed-loop driver shared by Run (command mixes) and RunClass (query
// classes on segd or Redis): Clients connections each write a batch of
// Pipeline logical operations, read every reply of the batch, and record each
// operation's latency from the write of its batch to its last reply.

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// driveOptions say how drive runs its connections.
type driveOptions struct {
	Addr     string
	Password string
	Label    string // progress label and error prefix
	Names    []string
	Clients  int
	Pipeline int
	Duration time.Duration
	Requests int64
	Seed     uint64
	// ReplyTimeout bounds the wait for one batch's replies (0: the
	// connection's default).
	ReplyTimeout time.Duration
	Progress     io.Writer
	// NewWriter gives each connection its writer: write one logical
	// operation, and say which of Names it is and how many replies follow.
	NewWriter func() opWriter
}

// An opWriter writes one logical operation to c, drawing from r, and returns
// its index in driveOptions.Names and the number of replies it expects.
type opWriter func(c *Conn, r *rand.Rand) (op, replies int)

// drive runs the operations and returns the per-client statistics, indexed
// like Names, with the elapsed time. The error says what stopped the run
// early, if anything did.
func drive(ctx context.Context, o driveOptions) (time.Duration, [][]*opStats, error) {
	limit := o.Duration
	if limit <= 0 || limit > MaxRunTime {
		limit = MaxRunTime
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, limit+o.ReplyTimeout+30*time.Second)
	defer cancel()
	prog := NewProgress(o.Progress, o.Label, "ops", o.Requests)
	if o.Requests <= 0 {
		prog.Duration = o.Duration
	}
	conns := make([]*Conn, o.Clients)
	for i := range conns { // connect everyone before the clock starts
		c, err := DialAuth(ctx, o.Addr, o.Password)
		if err != nil {
			for _, c := range conns[:i] {
				c.Close()
			}
			return 0, nil, fmt.Errorf("%s: %w", o.Label, err)
		}
		if o.ReplyTimeout > 0 {
			c.Timeout = o.ReplyTimeout
		}
		conns[i] = c
	}
	stats := make([][]*opStats, o.Clients)
	var remaining atomic.Int64
	remaining.Store(o.Requests)
	failed := make(chan error, o.Clients)
	prog.Start()
	defer prog.Stop()
	start := time.Now()
	deadline := start.Add(limit)
	var wg sync.WaitGroup
	for w, c := range conns {
		st := make([]*opStats, len(o.Names))
		for i := range st {
			st[i] = newOpStats(o.Names[i])
		}
		stats[w] = st
		write := o.NewWriter()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			stop := context.AfterFunc(ctx, func() { c.Close() })
			defer stop()
			fail := func(err error) {
				failed <- err
				cancel()
			}
			r := rand.New(rand.NewPCG(o.Seed, uint64(w)+1))
			kinds := make([]int, o.Pipeline)
			replies := make([]int, o.Pipeline)
			for ctx.Err() == nil && time.Now().Before(deadline) {
				n := o.Pipeline
				if o.Requests > 0 {
					if left := remaining.Add(-int64(n)); left < 0 {
						n += int(left)
					}
					if n <= 0 {
						return
					}
				}
				for j := 0; j < n; j++ {
					kinds[j], replies[j] = write(c, r)
				}
				t0 := time.Now()
				if err := c.Flush(); err != nil {
					fail(err)
					return
				}
				for j := 0; j < n; j++ {
					first := ""
					for range replies[j] {
						msg, err := c.SkipReply()
						if err != nil {
							fail(err)
							return
						}
						if first == "" {
							first = msg
						}
					}
					st[kinds[j]].record(time.Since(t0), first)
				}
				prog.Add(int64(n))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	prog.Stop()
	if err := parent.Err(); err != nil { // interrupted: the connection errors that follow are noise
		return elapsed, stats, fmt.Errorf("%s interrupted: %w", o.Label, err)
	}
	select {
	case err := <-failed:
		return elapsed, stats, fmt.Errorf("%s: %w", o.Label, err)
	default:
	}
	return elapsed, stats, nil
}
