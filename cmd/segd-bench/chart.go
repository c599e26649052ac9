package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/segd-db/segd/bench"
)

// stringsFlag is a repeatable string flag.
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

// --- chart ---

func cmdChart(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("chart", "Reads the JSON of `segd-bench wire --json`, `redis --json` or `run --json` and\n"+
		"writes a self-contained SVG of the p50, p90, p99 and p99.9 latencies per\ncommand or class on a log scale, segd and Redis side by side.", stderr)
	var ins stringsFlag
	fs.Var(&ins, "in", "JSON report to read (repeatable)")
	out := fs.String("out", "docs/latency.svg", "SVG file to write (- for stdout)")
	title := fs.String("title", "segd latency percentiles", "chart title")
	if err := parse(fs, args); err != nil {
		return err
	}
	if len(ins) == 0 {
		fmt.Fprintln(stderr, "at least one --in FILE.json is needed")
		return errUsage
	}
	c := bench.Chart{Title: *title}
	var meta []string
	for _, p := range ins {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		n, err := c.AddChartJSON(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		meta = append(meta, fmt.Sprintf("%s: %s entities", p, bench.Count(float64(n))))
	}
	c.Subtitle = strings.Join(meta, "; ")
	titled := false
	fs.Visit(func(f *flag.Flag) { titled = titled || f.Name == "title" })
	for _, g := range c.Groups {
		for _, s := range g.Series {
			if s.Server == "Redis" && !titled {
				c.Title = "segd and Redis latency percentiles"
			}
		}
	}
	if *out == "-" {
		return c.WriteSVG(stdout)
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := c.WriteSVG(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%d groups)\n", *out, len(c.Groups))
	return nil
}
