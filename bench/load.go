package bench

// Load generation over the wire: Load writes the generated population with
// many pipelining connections; Run drives a command mix for a duration or a
// request count and measures each command's throughput and latency.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// MaxRunTime caps any single Run, whatever it was asked; MaxLoadTime caps a
// Load (10M customers take minutes).
const (
	MaxRunTime  = 10 * time.Minute
	MaxLoadTime = time.Hour
)

// keepErrors is how many error replies a job keeps verbatim.
const keepErrors = 5

// errorLog counts error replies and keeps the first few.
type errorLog struct {
	n     atomic.Int64
	mu    sync.Mutex
	first []string
}

func (e *errorLog) add(msg string) {
	if e.n.Add(1) > keepErrors {
		return
	}
	e.mu.Lock()
	e.first = append(e.first, msg)
	e.mu.Unlock()
}

func (e *errorLog) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.first...)
}

// LoadOptions say what Load writes and how.
type LoadOptions struct {
	Addr     string
	Entities int    // customers 0..Entities-1
	Seed     uint64 // population seed
	Clients  int    // connections
	Pipeline int    // commands written before their replies are read
	Progress io.Writer
}

// LoadResult is what a load did.
type LoadResult struct {
	Entities    int64         `json:"entities"`
	Commands    int64         `json:"commands"`
	Errors      int64         `json:"errors"`
	FirstErrors []string      `json:"first_errors,omitempty"`
	Elapsed     time.Duration `json:"-"`
	Seconds     float64       `json:"seconds"`
}

// EntitiesPerSec is the load rate.
func (r LoadResult) EntitiesPerSec() float64 { return perSec(r.Entities, r.Elapsed) }

// CommandsPerSec is the command rate.
func (r LoadResult) CommandsPerSec() float64 { return perSec(r.Commands, r.Elapsed) }

func perSec(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func (o *LoadOptions) check() error {
	switch {
	case o.Entities < 0:
		return errors.New("entities must not be negative")
	case o.Clients < 1:
		return errors.New("clients must be at least 1")
	case o.Pipeline < 1:
		return errors.New("pipeline must be at least 1")
	}
	return nil
}

// Load writes customers 0..Entities-1 of the seed's population through
// Clients connections, each keeping up to Pipeline commands in flight.
// Error replies are counted, not fatal; a connection failure is.
func Load(ctx context.Context, o LoadOptions) (LoadResult, error) {
	return loadPopulation(ctx, o, "load", Customer.Commands)
}

// loadPopulation writes every customer's commands (as commandsOf gives them)
// through Clients pipelined connections, for segd's Load and RedisLoad alike.
func loadPopulation(ctx context.Context, o LoadOptions, what string, commandsOf func(Customer) [][]string) (LoadResult, error) {
	pop := NewPopulation(o.Seed)
	return loadCustomers(ctx, o, what, func() customerWriter {
		return func(c *Conn, i int) int {
			cmds := commandsOf(pop.Customer(i))
			for _, cmd := range cmds {
				c.Command(cmd...)
			}
			return len(cmds)
		}
	})
}

// A customerWriter writes customer i's commands to c and says how many it
// wrote. Each connection of a load gets its own (it may keep scratch space).
type customerWriter func(c *Conn, i int) int

// loadCustomers writes every customer's commands through Clients pipelined
// connections, each writing with a writer of its own from newWriter.
func loadCustomers(ctx context.Context, o LoadOptions, what string, newWriter func() customerWriter) (LoadResult, error) {
	if err := o.check(); err != nil {
		return LoadResult{}, err
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, MaxLoadTime)
	defer cancel()
	var next, commands atomic.Int64
	var errs errorLog
	prog := NewProgress(o.Progress, what, "entities", int64(o.Entities)).Start()
	defer prog.Stop()

	start := time.Now()
	var wg sync.WaitGroup
	failed := make(chan error, o.Clients)
	for w := 0; w < o.Clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := loadWorker(ctx, o, newWriter(), &next, &commands, &errs, prog); err != nil {
				failed <- err
				cancel()
			}
		}()
	}
	wg.Wait()
	prog.Stop()
	res := LoadResult{
		Entities: prog.Done(), Commands: commands.Load(), Errors: errs.n.Load(),
		FirstErrors: errs.list(), Elapsed: time.Since(start),
	}
	res.Seconds = res.Elapsed.Seconds()
	if err := parent.Err(); err != nil { // interrupted: the connection errors that follow are noise
		return res, fmt.Errorf("%s interrupted: %w", what, err)
	}
	select {
	case err := <-failed:
		if ctx.Err() == context.DeadlineExceeded {
			return res, fmt.Errorf("%s stopped after the %s cap: %w", what, MaxLoadTime, err)
		}
		return res, fmt.Errorf("%s: %w", what, err)
	default:
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("%s: %w", what, err)
	}
	return res, nil
}

// loadWorker is one connection of a load: it claims customers in chunks and
// writes their commands, reading the replies every Pipeline commands.
func loadWorker(ctx context.Context, o LoadOptions, write customerWriter,
	next, commands *atomic.Int64, errs *errorLog, prog *Progress) error {
	const chunk = 256 // customers a worker claims at a time
	c, err := Dial(ctx, o.Addr)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	pending, customers := 0, int64(0)
	drain := func() error {
		if pending == 0 {
			prog.Add(customers) // customers without commands (no events) are done too
			customers = 0
			return nil
		}
		if err := c.Flush(); err != nil {
			return err
		}
		for ; pending > 0; pending-- {
			msg, err := c.SkipReply()
			if err != nil {
				return err
			}
			if msg != "" {
				errs.add(msg)
			}
		}
		prog.Add(customers)
		customers = 0
		return nil
	}
	for ctx.Err() == nil {
		from := int(next.Add(chunk)) - chunk
		if from >= o.Entities {
			break
		}
		for i := from; i < min(from+chunk, o.Entities); i++ {
			n := write(c, i)
			pending += n
			commands.Add(int64(n))
			customers++
			if pending >= o.Pipeline {
				if err := drain(); err != nil {
					return err
				}
			}
		}
	}
	return drain()
}

// RunOptions say which mix Run drives and for how long.
type RunOptions struct {
	Addr     string
	Entities int           // keys are drawn uniformly from u:0 … u:Entities-1
	Clients  int           // connections
	Pipeline int           // commands in flight per connection
	Duration time.Duration // run this long (when Requests is 0)
	Requests int64         // or this many commands in all
	Mix      string        // ismember, set, count, members or all
	Seed     uint64        // seeds each client's RNG
	Progress io.Writer
}

// op is one kind of command a mix sends.
type op struct {
	name   string
	weight int
	write  func(c *Conn, r *rand.Rand, entities int)
}

// IsMemberExpr is the 3-term expression of the ismember mix.
const IsMemberExpr = "country:" + TopCountry + " AND gender:F AND interests:" + TopInterest

// queryExprs are the 3-term ANDs that the count and members mixes pick from:
// the most common countries, both main genders and the most common interests.
var queryExprs = func() []string {
	var out []string
	for c := 1; c <= 8; c++ {
		for _, g := range []string{"F", "M"} {
			for i := 1; i <= 4; i++ {
				out = append(out, fmt.Sprintf("country:c%d AND gender:%s AND interests:i%d", c, g, i))
			}
		}
	}
	return out
}()

var (
	opIsMember = op{"QUERY.ISMEMBER", 1, func(c *Conn, r *rand.Rand, n int) {
		c.Begin(3)
		c.Arg("QUERY.ISMEMBER")
		c.Arg(IsMemberExpr)
		c.ArgKey("u:", r.Int64N(int64(n)))
	}}
	opSet = op{"ENT.SET", 1, func(c *Conn, r *rand.Rand, n int) {
		c.Begin(6)
		c.Arg("ENT.SET")
		c.ArgKey("u:", r.Int64N(int64(n)))
		c.Arg("tier")
		c.Arg(tiers[r.IntN(len(tiers))])
		c.Arg("age")
		c.ArgInt(18 + r.Int64N(73))
	}}
	opCount = op{"QUERY.COUNT", 1, func(c *Conn, r *rand.Rand, _ int) {
		c.Begin(2)
		c.Arg("QUERY.COUNT")
		c.Arg(queryExprs[r.IntN(len(queryExprs))])
	}}
	opMembers = op{"QUERY.MEMBERS", 1, func(c *Conn, r *rand.Rand, _ int) {
		c.Begin(4)
		c.Arg("QUERY.MEMBERS")
		c.Arg(queryExprs[r.IntN(len(queryExprs))])
		c.Arg("COUNT")
		c.Arg("100")
	}}
)

// Mixes are the mixes Run knows, by name.
var Mixes = map[string][]op{
	"ismember": {opIsMember},
	"set":      {opSet},
	"count":    {opCount},
	"members":  {opMembers},
	"all": {
		{opIsMember.name, 4, opIsMember.write},
		{opSet.name, 4, opSet.write},
		{opCount.name, 1, opCount.write},
		{opMembers.name, 1, opMembers.write},
	},
}

// MixNames lists the mixes in a stable order.
var MixNames = []string{"ismember", "set", "count", "members", "all"}

func (o *RunOptions) check() error {
	switch {
	case Mixes[o.Mix] == nil:
		return fmt.Errorf("unknown mix %q: use one of %v", o.Mix, MixNames)
	case o.Entities < 1 && o.Mix != "count" && o.Mix != "members":
		return errors.New("entities must be at least 1 (keys are drawn from 0..entities-1)")
	case o.Clients < 1:
		return errors.New("clients must be at least 1")
	case o.Pipeline < 1:
		return errors.New("pipeline must be at least 1")
	case o.Duration <= 0 && o.Requests <= 0:
		return errors.New("give a duration or a request count")
	}
	return nil
}

// Run drives a mix: Clients connections each write Pipeline commands, then
// read their replies, until the duration has passed or Requests commands
// have been sent. A command's latency runs from the write of its batch to
// the read of its reply.
func Run(ctx context.Context, o RunOptions) (RunResult, error) {
	if err := o.check(); err != nil {
		return RunResult{}, err
	}
	limit := o.Duration
	if limit <= 0 || limit > MaxRunTime {
		limit = MaxRunTime
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, limit+30*time.Second)
	defer cancel()
	ops := Mixes[o.Mix]
	var pick []int // op index by weight
	for i, p := range ops {
		for range p.weight {
			pick = append(pick, i)
		}
	}
	var prog *Progress
	if o.Requests > 0 {
		prog = NewProgress(o.Progress, "run "+o.Mix, "cmds", o.Requests)
	} else {
		prog = NewProgress(o.Progress, "run "+o.Mix, "cmds", 0)
		prog.Duration = o.Duration
	}

	stats := make([][]*opStats, o.Clients)
	var remaining atomic.Int64
	remaining.Store(o.Requests)
	failed := make(chan error, o.Clients)
	conns := make([]*Conn, o.Clients)
	for i := range conns { // connect everyone before the clock starts
		c, err := Dial(ctx, o.Addr)
		if err != nil {
			for _, c := range conns[:i] {
				c.Close()
			}
			return RunResult{}, fmt.Errorf("run: %w", err)
		}
		conns[i] = c
	}
	prog.Start()
	defer prog.Stop()
	start := time.Now()
	deadline := start.Add(limit)
	var wg sync.WaitGroup
	for w, c := range conns {
		st := make([]*opStats, len(ops))
		for i := range st {
			st[i] = newOpStats(ops[i].name)
		}
		stats[w] = st
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			stop := context.AfterFunc(ctx, func() { c.Close() })
			defer stop()
			r := rand.New(rand.NewPCG(o.Seed, uint64(w)+1))
			batch := make([]int, o.Pipeline)
			for ctx.Err() == nil && time.Now().Before(deadline) {
				n := o.Pipeline
				if o.Requests > 0 {
					left := remaining.Add(-int64(n))
					if left < 0 {
						n += int(left)
					}
					if n <= 0 {
						return
					}
				}
				for j := 0; j < n; j++ {
					k := pick[r.IntN(len(pick))]
					batch[j] = k
					ops[k].write(c, r, o.Entities)
				}
				t0 := time.Now()
				if err := c.Flush(); err != nil {
					failed <- err
					cancel()
					return
				}
				for j := 0; j < n; j++ {
					msg, err := c.SkipReply()
					if err != nil {
						failed <- err
						cancel()
						return
					}
					st[batch[j]].record(time.Since(t0), msg)
				}
				prog.Add(int64(n))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	prog.Stop()
	res := newRunResult(o, elapsed, ops, stats)
	if err := parent.Err(); err != nil {
		return res, fmt.Errorf("run %s interrupted: %w", o.Mix, err)
	}
	select {
	case err := <-failed:
		return res, fmt.Errorf("run %s: %w", o.Mix, err)
	default:
	}
	if err := ctx.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return res, fmt.Errorf("run %s: %w", o.Mix, err)
	}
	return res, nil
}
