package main

// The counts benchmark: each QUERY.COUNT class over the wire, one client,
// sequential, with PING beside it and the plain roaring count of the same
// members timed in this process in the same run; idle, then again while
// writes flow and snapshots run.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/segd-db/segd/bench"
)

type countsOptions struct {
	entities  int
	runs      int
	seed      uint64
	busy      bool
	segd      string
	segdFlags string
	timeout   time.Duration
}

func cmdCounts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("counts", "Starts segd on a fresh data directory, loads N customers, then times every\n"+
		"QUERY.COUNT class with one client, sequentially, next to PING and to the plain\n"+
		"roaring count of the same members (built in this process), and prints\n"+
		"(segd − ping) ÷ raw per class: idle, then (--busy) while a writer sends\n"+
		"ENT.SET and another connection runs SAVE after SAVE.", stderr)
	var o countsOptions
	fs.IntVar(&o.entities, "entities", 1000000, "customers to load")
	fs.IntVar(&o.runs, "runs", 50, "timed runs per class (the median is reported)")
	fs.Uint64Var(&o.seed, "seed", 1, "population seed")
	fs.BoolVar(&o.busy, "busy", true, "also time the classes while writes and snapshots run")
	fs.StringVar(&o.segd, "segd", "", "segd binary (default bin/segd, else segd on PATH)")
	fs.StringVar(&o.segdFlags, "segd-flags", "", "extra flags for segd, space-separated")
	fs.DurationVar(&o.timeout, "timeout", time.Hour, "give up (and stop segd) after this long")
	if err := parse(fs, args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	return counts(ctx, o, stdout)
}

func counts(ctx context.Context, o countsOptions, out io.Writer) error {
	bin, err := findSegd(o.segd)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "segd-bench-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := startSegd(ctx, bin, dir, strings.Fields(o.segdFlags))
	if err != nil {
		return err
	}
	defer srv.kill()
	if _, err := srv.waitReady(ctx, -1, 10*time.Minute); err != nil {
		return err
	}
	lr, err := bench.Load(ctx, bench.LoadOptions{Addr: srv.addr, Entities: o.entities, Seed: o.seed,
		Clients: 8, Pipeline: 64, Progress: os.Stderr})
	printLoad(out, lr)
	if err != nil {
		return err
	}
	c, err := bench.Dial(ctx, srv.addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Do("SEGMENT.CREATE", bench.CountSegment, bench.CountSegmentExpr); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "building the raw bitmaps of %d customers\n", o.entities)
	raw := bench.NewRawPopulation(o.seed, o.entities)
	classes := bench.CountClasses(bench.SegmentMembersOnce())
	rows, err := wireCounts(c, raw, classes, o.runs, true)
	if err != nil {
		return err
	}
	title := fmt.Sprintf("QUERY.COUNT at %d entities over the wire, idle, one client, median of %d", o.entities, o.runs)
	bench.WriteCountTable(out, title, rows, true)
	if !o.busy {
		return nil
	}
	return busyCounts(ctx, srv.addr, c, raw, classes, o, rows, out)
}

// wireCounts times each class: PING, QUERY.COUNT and the raw count in turn.
// check compares segd's count with the raw one (not while writes change
// the data).
func wireCounts(c *bench.Conn, raw *bench.RawPopulation, classes []bench.CountClass, runs int, check bool) ([]bench.CountRow, error) {
	var rows []bench.CountRow
	for _, cl := range classes {
		got, err := c.Int("QUERY.COUNT", cl.Expr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cl.Name, err)
		}
		if want := cl.Raw(raw); check && uint64(got) != want {
			return nil, fmt.Errorf("%s: segd counts %d, raw roaring %d", cl.Name, got, want)
		}
		var cerr error
		t := bench.TimeEach(runs, func() {
			if _, err := c.Do("PING"); err != nil {
				cerr = err
			}
		}, func() {
			if _, err := c.Int("QUERY.COUNT", cl.Expr); err != nil {
				cerr = err
			}
		}, func() { cl.Raw(raw) })
		if cerr != nil {
			return nil, cerr
		}
		rows = append(rows, bench.CountRow{Class: cl.Name, Matches: uint64(got), Ping: t[0], Segd: t[1], Raw: t[2]})
	}
	return rows, nil
}

// busyCounts times the classes again while one connection pipelines
// ENT.SET of existing customers and another runs SAVE after SAVE, and
// prints each class's busy time against its idle one.
func busyCounts(ctx context.Context, addr string, c *bench.Conn, raw *bench.RawPopulation,
	classes []bench.CountClass, o countsOptions, idle []bench.CountRow, out io.Writer) error {
	ctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var writes, saves int64
	errs := make([]error, 2)
	wg.Go(func() { writes, errs[0] = writeLoop(ctx, addr, o.entities) })
	wg.Go(func() { saves, errs[1] = saveLoop(ctx, addr) })
	start := time.Now()
	rows, err := wireCounts(c, raw, classes, o.runs, false)
	elapsed := time.Since(start)
	stop()
	wg.Wait()
	if err != nil {
		return err
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	title := fmt.Sprintf("QUERY.COUNT at %d entities over the wire while writes and snapshots run "+
		"(%d ENT.SET, %d SAVE in %.1fs), one client, median of %d", o.entities, writes, saves, elapsed.Seconds(), o.runs)
	bench.WriteCountTable(out, title, rows, true)
	fmt.Fprintln(out, "\n| class | idle | busy | busy ÷ idle |\n|---|--:|--:|--:|")
	for i, r := range rows {
		fmt.Fprintf(out, "| %s | %.1f µs | %.1f µs | %.2f |\n", r.Class, micros(idle[i].Segd), micros(r.Segd),
			float64(r.Segd)/float64(idle[i].Segd))
	}
	return nil
}

func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

// writeLoop sends ENT.SET of existing customers (new profiles from another
// seed), 16 to a pipeline, until ctx ends.
func writeLoop(ctx context.Context, addr string, n int) (int64, error) {
	w, err := bench.Dial(ctx, addr)
	if err != nil {
		return 0, err
	}
	defer w.Close()
	p := bench.NewPopulation(2)
	var sent int64
	for i := 0; ctx.Err() == nil; {
		for j := 0; j < 16; j, i = j+1, i+1 {
			cmd := p.Customer(i).Commands()[0]
			cmd[1] = bench.Key(i * 7919 % n)
			w.Command(cmd...)
		}
		if err := w.Flush(); err != nil {
			return sent, err
		}
		for j := 0; j < 16; j++ {
			if msg, err := w.SkipReply(); err != nil || msg != "" {
				return sent, fmt.Errorf("ENT.SET: %v %s", err, msg)
			}
		}
		sent += 16
	}
	return sent, nil
}

// saveLoop runs SAVE after SAVE until ctx ends.
func saveLoop(ctx context.Context, addr string) (int64, error) {
	s, err := bench.Dial(ctx, addr)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	var n int64
	for ctx.Err() == nil {
		if _, err := s.Do("SAVE"); err != nil {
			return n, fmt.Errorf("SAVE: %w", err)
		}
		n++
	}
	return n, nil
}
