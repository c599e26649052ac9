// Command segd-bench loads segd's synthetic retail population through the
// wire protocol, drives command mixes with many pipelining clients, and
// reproduces the headline figures (throughput, memory per entity, restart
// time) against a segd it starts itself.
//
//	segd-bench load --addr 127.0.0.1:6479 --entities 1000000
//	segd-bench run  --addr 127.0.0.1:6479 --mix ismember --duration 10s
//	segd-bench wire --entities 1000000 --clients 50 --pipeline 16 --duration 10s
//	segd-bench counts --entities 1000000 --runs 50
//	segd-bench events --entities 1000000 --restarts 3 --track-entities 100000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/segd-db/segd/bench"
)

const usage = `segd-bench drives segd through its wire protocol.

Usage:
  segd-bench load [flags]   load the synthetic population into a running segd
  segd-bench run  [flags]   run a command mix against a running segd
  segd-bench wire [flags]   start segd, load, run ismember and set, measure
                            memory and restart time, print figures vs targets
  segd-bench redis [flags]  start segd and a redis-server, load the same
                            population into both, run equivalent queries,
                            print them side by side with memory and load time
  segd-bench events [flags] start segd on the population with a year of events:
                            start-up time, memory, ENT.TRACK throughput
  segd-bench counts [flags] start segd, load, time each QUERY.COUNT class with
                            one client next to PING and plain roaring, idle and
                            while writes and snapshots run
  segd-bench chart [flags]  draw the latency percentiles of wire/redis --json as SVG
  segd-bench help [command]

Run 'segd-bench COMMAND --help' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmds := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"load": cmdLoad, "run": cmdRun, "wire": cmdWire, "redis": cmdRedis,
		"chart": cmdChart, "events": cmdEvents, "counts": cmdCounts,
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" || name == "-help" {
		if len(args) > 1 && cmds[args[1]] != nil {
			return run(ctx, []string{args[1], "--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd := cmds[name]
	if cmd == nil {
		fmt.Fprintf(stderr, "segd-bench: unknown command %q\n\n%s", name, usage)
		return 2
	}
	err := cmd(ctx, args[1:], stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintf(stderr, "segd-bench %s: %v\n", name, err)
	return 1
}

// errUsage is a flag error that the FlagSet has already explained.
var errUsage = errors.New("usage")

func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("segd-bench "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: segd-bench %s [flags]\n\n%s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q (flags start with --)\n", fs.Arg(0))
		return errUsage
	}
	return nil
}

// --- load ---

func cmdLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("load", "Loads customers 0..N-1 of the seed's synthetic population (ENT.SET and ENT.ADD\n"+
		"commands) with many pipelining connections, then reports the rate and the\nserver's memory per entity.", stderr)
	o := bench.LoadOptions{Progress: stderr}
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:6479", "segd address")
	fs.StringVar(&o.Password, "password", os.Getenv("SEGD_PASSWORD"), "password of the server (also SEGD_PASSWORD)")
	fs.IntVar(&o.Entities, "entities", 1000000, "customers to load")
	fs.Uint64Var(&o.Seed, "seed", 1, "population seed")
	fs.IntVar(&o.Clients, "clients", 50, "connections")
	fs.IntVar(&o.Pipeline, "pipeline", 64, "commands in flight per connection")
	events := fs.Bool("events", false, "send the customers' year of events (ENT.TRACK … AT … [AMOUNT …], the year\nending now) instead of their profiles; reports events/s")
	pageViews := fs.Bool("page-views", false, "with --events: page views too (~40 a customer)")
	live := fs.Bool("live", false, "with --events: every event AT the current second (live traffic) instead of\nat its time in the year (a backfill)")
	spread := fs.Int("spread", 0, "with --events: send customer i as u:(i*7919 mod N), spreading the customers\nover a loaded population of N (0: u:0 … u:entities-1)")
	fields := fs.String("fields", "", "with --events: only these event fields, comma-separated (default all)")
	days := fs.Int("days", 0, "with --events: only the events of the last N days of the year (0: all)")
	segments := fs.Bool("segments", false, fmt.Sprintf("after the load, save the %d segments of the segment benchmarks (s000 …)\nwith SEGMENT.CREATE … REPLACE, for the segment-of mix", bench.SegmentCount))
	jsonPath := fs.String("json", "", "also write the result as JSON to this file (- for stdout)")
	if err := parse(fs, args); err != nil {
		return err
	}
	var res bench.LoadResult
	var err error
	if *events {
		var fl []string
		if *fields != "" {
			if fl, err = bench.ParseEventFields(*fields); err != nil {
				return err
			}
		}
		res, err = bench.LoadEvents(ctx, o, bench.TrackOptions{EventOptions: bench.EventOptions{PageViews: *pageViews},
			Live: *live, Spread: *spread, Fields: fl, Days: *days})
		fmt.Fprintf(stdout, "tracked %d events of %d customers in %.1fs: %s events/s, %d errors\n",
			res.Commands, res.Entities, res.Seconds, bench.Count(res.CommandsPerSec()), res.Errors)
		for _, e := range res.FirstErrors {
			fmt.Fprintf(stdout, "  error: %s\n", e)
		}
	} else {
		res, err = bench.Load(ctx, o)
		printLoad(stdout, res)
	}
	if err != nil {
		return err
	}
	if *segments {
		start := time.Now()
		members, err := bench.CreateSegments(ctx, o.Addr, o.Password, bench.SegmentCount)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "saved %d segments in %.1fs (%d members in all)\n", bench.SegmentCount, time.Since(start).Seconds(), members)
	}
	mem, err := readMemory(ctx, o.Addr, o.Password)
	if err != nil {
		return err
	}
	mem.WriteLine(stdout, "memory after load")
	if *jsonPath != "" {
		return bench.WriteJSON(*jsonPath, map[string]any{"load": res, "memory": mem})
	}
	return nil
}

func printLoad(w io.Writer, r bench.LoadResult) {
	fmt.Fprintf(w, "loaded %d entities in %.1fs: %s entities/s, %s commands/s (%d commands), %d errors\n",
		r.Entities, r.Seconds, bench.Count(r.EntitiesPerSec()), bench.Count(r.CommandsPerSec()), r.Commands, r.Errors)
	for _, e := range r.FirstErrors {
		fmt.Fprintf(w, "  error: %s\n", e)
	}
}

func readMemory(ctx context.Context, addr, password string) (bench.Memory, error) {
	c, err := bench.DialAuth(ctx, addr, password)
	if err != nil {
		return bench.Memory{}, err
	}
	defer c.Close()
	return bench.ReadMemory(c)
}

// --- run ---

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", "Runs a command mix with C connections each keeping P commands in flight, for a\n"+
		"duration or a request count, and prints throughput and latency percentiles\nper command. Mixes:\n"+
		"  ismember    QUERY.ISMEMBER \""+bench.IsMemberExpr+"\" u:K\n"+
		"  ismember-1  QUERY.ISMEMBER \"interests:"+bench.TopInterest+"\" u:K (one term: Redis's SISMEMBER)\n"+
		"  segment-of  SEGMENT.OF u:K (needs the saved segments: load --segments)\n"+
		"  set         ENT.SET u:K tier <tier> age <n>\n"+
		"  count       QUERY.COUNT of a 2-, 3- or 5-term AND (country, gender, interests, tier, device)\n"+
		"  window      QUERY.COUNT \"cart_add IN Nd AND NOT purchase IN Nd\" or \"purchase:<category> IN 30d\"\n"+
		"              (needs events: load --events)\n"+
		"  members     QUERY.MEMBERS of a 3-term AND COUNT 100\n"+
		"  all         4 ismember : 2 segment-of : 4 set : 1 count : 1 window : 1 members", stderr)
	o := bench.RunOptions{Progress: stderr}
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:6479", "segd address")
	fs.StringVar(&o.Password, "password", os.Getenv("SEGD_PASSWORD"), "password of the server (also SEGD_PASSWORD)")
	fs.IntVar(&o.Entities, "entities", 0, "keys are u:0 … u:N-1 (0: the server's ENT.COUNT)")
	fs.IntVar(&o.Clients, "clients", 50, "connections")
	fs.IntVar(&o.Pipeline, "pipeline", 16, "commands in flight per connection")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "how long to run (capped at 10m)")
	fs.Int64Var(&o.Requests, "requests", 0, "run this many commands instead of a duration")
	fs.StringVar(&o.Mix, "mix", "ismember", strings.Join(bench.MixNames, ", "))
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of the clients' key choices")
	jsonPath := fs.String("json", "", "also write the result as JSON to this file (- for stdout)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if o.Requests > 0 {
		o.Duration = 0
	}
	if o.Entities == 0 {
		n, err := entCount(ctx, o.Addr, o.Password)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%s holds no entities: run `segd-bench load` first", o.Addr)
		}
		o.Entities = int(n)
	}
	res, err := bench.Run(ctx, o)
	res.WriteTable(stdout)
	if err != nil {
		return err
	}
	if *jsonPath != "" {
		return bench.WriteJSON(*jsonPath, res)
	}
	return nil
}

func entCount(ctx context.Context, addr, password string) (int64, error) {
	c, err := bench.DialAuth(ctx, addr, password)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.Int("ENT.COUNT")
}

// --- wire ---

type wireOptions struct {
	entities     int
	clients      int
	pipeline     int
	loadClients  int
	loadPipeline int
	duration     time.Duration
	seed         uint64
	mixes        string
	segd         string
	segdFlags    string
	keepDir      string
	jsonPath     string
	timeout      time.Duration
}

func cmdWire(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("wire", "Reproduces the headline figures on this machine: starts the segd binary on a\n"+
		"free loopback port with a fresh data directory, loads N customers, runs the\n"+
		"ismember and set mixes, reads memory after the load and after SAVE, then times\n"+
		"SHUTDOWN SAVE and a restart to ready (PING, loading:0, ENT.COUNT = N), prints\n"+
		"the figures next to their targets and stops segd.", stderr)
	var o wireOptions
	fs.IntVar(&o.entities, "entities", 1000000, "customers to load")
	fs.IntVar(&o.clients, "clients", 50, "connections of the mixes")
	fs.IntVar(&o.pipeline, "pipeline", 16, "commands in flight per connection in the mixes")
	fs.IntVar(&o.loadClients, "load-clients", 50, "connections of the load")
	fs.IntVar(&o.loadPipeline, "load-pipeline", 64, "commands in flight per connection in the load")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of each mix")
	fs.Uint64Var(&o.seed, "seed", 1, "population seed")
	fs.StringVar(&o.mixes, "mixes", "ismember,set", "comma-separated mixes to run after the load")
	fs.StringVar(&o.segd, "segd", "", "segd binary (default bin/segd, else segd on PATH)")
	fs.StringVar(&o.segdFlags, "segd-flags", "", "extra flags for segd, space-separated (e.g. \"--fsync no\")")
	fs.StringVar(&o.keepDir, "keep-dir", "", "data directory to use and keep (default: a temporary one, removed)")
	fs.StringVar(&o.jsonPath, "json", "", "also write all results as JSON to this file (- for stdout)")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Hour, "give up (and stop segd) after this long")
	if err := parse(fs, args); err != nil {
		return err
	}
	for _, m := range strings.Split(o.mixes, ",") {
		if bench.Mixes[strings.TrimSpace(m)] == nil {
			return fmt.Errorf("unknown mix %q in --mixes: use %v", m, bench.MixNames)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	return wire(ctx, o, stdout)
}
