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
	Password string // AUTH password, if the server has one
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
	c, err := DialAuth(ctx, o.Addr, o.Password)
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
	Password string        // AUTH password, if the server has one
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

// countExprs are the 2-, 3- and 5-term ANDs that the count mix picks from
// (the queries of the count-2, count-3 and count-5 classes), queryExprs the
// 3-term ones that the members mix pages.
var countExprs, queryExprs = func() (all, three []string) {
	for _, c := range qCountries {
		for _, g := range qGenders {
			all = append(all, terms(c, g))
			for _, i := range qInterests {
				all = append(all, terms(c, g, i))
				three = append(three, terms(c, g, i))
				for _, t := range qTiers {
					for _, d := range qDevices {
						all = append(all, terms(c, g, i, t, d))
					}
				}
			}
		}
	}
	return all, three
}()

// windowExprs are the event-window counts of the window mix, evaluated now:
// those of the window-not and window-30d classes.
var windowExprs = func() []string {
	var out []string
	for _, cl := range windowClasses(EventClock) {
		for _, q := range cl.Queries {
			out = append(out, q.Expr)
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
	opIsMember1 = op{"QUERY.ISMEMBER 1 term", 1, func(c *Conn, r *rand.Rand, n int) {
		c.Begin(3)
		c.Arg("QUERY.ISMEMBER")
		c.Arg("interests:" + TopInterest)
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
		c.Arg(countExprs[r.IntN(len(countExprs))])
	}}
	opWindow = op{"QUERY.COUNT window", 1, func(c *Conn, r *rand.Rand, _ int) {
		c.Begin(2)
		c.Arg("QUERY.COUNT")
		c.Arg(windowExprs[r.IntN(len(windowExprs))])
	}}
	opSegmentOf = op{"SEGMENT.OF", 1, func(c *Conn, r *rand.Rand, n int) {
		c.Begin(2)
		c.Arg("SEGMENT.OF")
		c.ArgKey("u:", r.Int64N(int64(n)))
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
// The segment-of mix needs the saved segments (CreateSegments, or load
// --segments), the window mix events (LoadEvents); all needs both.
var Mixes = map[string][]op{
	"ismember":   {opIsMember},
	"ismember-1": {opIsMember1},
	"set":        {opSet},
	"count":      {opCount},
	"members":    {opMembers},
	"segment-of": {opSegmentOf},
	"window":     {opWindow},
	"all": {
		{opIsMember.name, 4, opIsMember.write},
		{opSegmentOf.name, 2, opSegmentOf.write},
		{opSet.name, 4, opSet.write},
		{opCount.name, 1, opCount.write},
		{opWindow.name, 1, opWindow.write},
		{opMembers.name, 1, opMembers.write},
	},
}

// MixNames lists the mixes in a stable order.
var MixNames = []string{"ismember", "ismember-1", "segment-of", "set", "count", "window", "members", "all"}

func (o *RunOptions) check() error {
	switch {
	case Mixes[o.Mix] == nil:
		return fmt.Errorf("unknown mix %q: use one of %v", o.Mix, MixNames)
	case o.Entities < 1 && o.Mix != "count" && o.Mix != "members" && o.Mix != "window":
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
	ops := Mixes[o.Mix]
	var pick []int // op index by weight
	names := make([]string, len(ops))
	for i, p := range ops {
		names[i] = p.name
		for range p.weight {
			pick = append(pick, i)
		}
	}
	elapsed, stats, err := drive(ctx, driveOptions{Addr: o.Addr, Password: o.Password, Label: "run " + o.Mix, Names: names,
		Clients: o.Clients, Pipeline: o.Pipeline, Duration: o.Duration, Requests: o.Requests, Seed: o.Seed,
		Progress: o.Progress, NewWriter: func() opWriter {
			return func(c *Conn, r *rand.Rand) (int, int) {
				k := pick[r.IntN(len(pick))]
				ops[k].write(c, r, o.Entities)
				return k, 1
			}
		}})
	return newRunResult(o, elapsed, names, stats), err
}
