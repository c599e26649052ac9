package main

// The events benchmark of a real segd: the population with a year of events
// is built in process (or taken from the cache the engine benchmarks fill),
// written as a snapshot into a fresh data directory through the storage
// package, and segd is started on it to time start-up to ready and read its
// memory; then ENT.TRACK is driven over the wire with pipelining.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/segd-db/segd/bench"
	"github.com/segd-db/segd/index"
	"github.com/segd-db/segd/storage"
)

// Targets of the events benchmark.
const targetTrack = 100000 // ENT.TRACK events/s

type eventsOptions struct {
	entities      int
	seed          uint64
	fields        string
	clock         string
	cache         string
	restarts      int
	trackEntities int
	trackClients  int
	trackPipeline int
	trackModes    []string
	segd          string
	segdFlags     string
	keepDir       string
	jsonPath      string
	timeout       time.Duration
}

// eventsResult is everything the events benchmark measured (its JSON output).
type eventsResult struct {
	Data        bench.EventDataInfo `json:"data"`
	DataSeconds float64             `json:"data_seconds"` // build or cache read
	Dir         string              `json:"dir"`
	WriteSecs   float64             `json:"snapshot_write_seconds"`
	Starts      []startResult       `json:"starts"`
	Track       []trackResult       `json:"track,omitempty"`
	Figures     []bench.Figure      `json:"figures"`
}

type trackResult struct {
	Mode  string           `json:"mode"`
	Load  bench.LoadResult `json:"load"`
	CPU   CPUShare         `json:"cpu"`
	After bench.Memory     `json:"memory_after"`
}

type startResult struct {
	Ping   float64      `json:"ping_seconds"`
	Loaded float64      `json:"loaded_seconds"`
	Ready  float64      `json:"ready_seconds"`
	Memory bench.Memory `json:"memory"`
}

func cmdEvents(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("events", "Start-up, memory and ENT.TRACK throughput of a real segd holding the population\n"+
		"with a year of events. Builds the data set in process (or reads it from the\n"+
		"cache that `make bench-events` fills), writes it as a snapshot into a fresh data\n"+
		"directory, starts the segd binary on it --restarts times to time start-up to\n"+
		"ready and read its memory, then sends the events of --track-entities customers\n"+
		"as pipelined ENT.TRACK commands and reports events/s: live (every event AT the\n"+
		"current second, customers spread over the population) and year (the first\n"+
		"customers' year again, AT their times ending now: a backfill).", stderr)
	var o eventsOptions
	fs.IntVar(&o.entities, "entities", 1000000, "customers of the data set")
	fs.Uint64Var(&o.seed, "seed", 1, "population seed")
	fs.StringVar(&o.fields, "fields", "default", "event fields of the data set: default ("+strings.Join(bench.DefaultEventFields, ",")+"), all, or a list")
	fs.StringVar(&o.clock, "clock", bench.EventClock.Format(time.RFC3339), "end of the data set's year (RFC 3339), as in the engine benchmarks")
	fs.StringVar(&o.cache, "cache", bench.EventCacheDir(), "cache of built data sets (\"\": build, cache nothing)")
	fs.IntVar(&o.restarts, "restarts", 3, "start segd this many times on the data (the median is reported)")
	fs.IntVar(&o.trackEntities, "track-entities", 100000, "customers whose events are sent with ENT.TRACK (0: skip)")
	fs.IntVar(&o.trackClients, "track-clients", 50, "connections sending ENT.TRACK")
	fs.IntVar(&o.trackPipeline, "track-pipeline", 64, "ENT.TRACK commands in flight per connection")
	fs.StringVar(&o.segd, "segd", "", "segd binary (default bin/segd, else segd on PATH)")
	fs.StringVar(&o.segdFlags, "segd-flags", "", "extra flags for segd, space-separated")
	fs.StringVar(&o.keepDir, "keep-dir", "", "data directory to use and keep (default: a temporary one, removed); must be empty")
	fs.StringVar(&o.jsonPath, "json", "", "also write all results as JSON to this file (- for stdout)")
	fs.DurationVar(&o.timeout, "timeout", 4*time.Hour, "give up (and stop segd) after this long")
	modes := fs.String("track-modes", "live,year", "ENT.TRACK runs, in order: live (AT now, customers spread over the\npopulation) and/or year (the first customers' year, AT their times)")
	if err := parse(fs, args); err != nil {
		return err
	}
	for _, m := range strings.Split(*modes, ",") {
		switch m = strings.TrimSpace(m); m {
		case "live", "year":
			o.trackModes = append(o.trackModes, m)
		case "":
		default:
			fmt.Fprintf(stderr, "--track-modes: unknown mode %q: use live and/or year\n", m)
			return errUsage
		}
	}
	if o.restarts < 1 {
		fmt.Fprintln(stderr, "--restarts must be at least 1")
		return errUsage
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	return events(ctx, o, stdout, stderr)
}

func events(ctx context.Context, o eventsOptions, out, stderr io.Writer) (err error) {
	fields, err := bench.ParseEventFields(o.fields)
	if err != nil {
		return err
	}
	clock, err := time.Parse(time.RFC3339, o.clock)
	if err != nil {
		return fmt.Errorf("--clock: %w", err)
	}
	bin, err := findSegd(o.segd)
	if err != nil {
		return err
	}
	if age := time.Since(clock); age > 300*24*time.Hour {
		fmt.Fprintf(out, "warning: the data set's year ends %s, %d days ago; segd's expiry drops events older than its retention (400 days) as it runs\n",
			clock.Format(time.DateOnly), int(age.Hours()/24))
	}
	dir := o.keepDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "segd-bench-events-*"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	} else {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if ents, _ := os.ReadDir(dir); len(ents) > 0 {
			return fmt.Errorf("--keep-dir %s is not empty", dir)
		}
	}
	res := &eventsResult{Dir: dir}

	// The data set, written as segd's snapshot.
	start := time.Now()
	parts, info, err := bench.EventData(ctx, bench.EventDataOptions{Entities: o.entities, Seed: o.seed, Clock: clock,
		Fields: fields, Progress: stderr}, o.cache)
	if err != nil {
		return err
	}
	res.Data, res.DataSeconds = info, time.Since(start).Seconds()
	fmt.Fprintf(out, "data set: %d customers, %d event records (%s), engine estimate %.1f B/entity (events %.1f), snapshot %s\n",
		info.Entities, info.TotalEvents(), eventCounts(info), bench.PerEntity(int64(info.TotalBytes), int64(info.Entities)),
		bench.PerEntity(int64(info.TotalBytes-info.BaseBytes), int64(info.Entities)), bench.Bytes(info.SnapBytes))
	start = time.Now()
	if err := writeSnapshotDir(dir, parts); err != nil {
		return err
	}
	res.WriteSecs = time.Since(start).Seconds()
	runtime.GC()
	debug.FreeOSMemory() // the data set is segd's now, not ours
	fmt.Fprintf(out, "snapshot written to %s in %.1fs\n", dir, res.WriteSecs)

	// Start-ups.
	extra := strings.Fields(o.segdFlags)
	var srv *child
	defer func() { srv.kill() }()
	for r := 0; r < o.restarts; r++ {
		if srv, err = startSegd(ctx, bin, dir, extra); err != nil {
			return err
		}
		rd, err := srv.waitReady(ctx, int64(o.entities), 30*time.Minute)
		if err != nil {
			return err
		}
		ctl, err := bench.Dial(ctx, srv.addr)
		if err != nil {
			return err
		}
		mem, err := bench.ReadMemory(ctl)
		ctl.Close()
		if err != nil {
			return err
		}
		sr := startResult{Ping: rd.Ping.Seconds(), Loaded: rd.Loaded.Seconds(), Ready: rd.Ready.Seconds(), Memory: mem}
		res.Starts = append(res.Starts, sr)
		fmt.Fprintf(out, "start %d: PING after %.2fs, loading:0 after %.2fs, ENT.COUNT=%d after %.2fs\n",
			r+1, sr.Ping, sr.Loaded, rd.Count, sr.Ready)
		mem.WriteLine(out, "memory after start")
		if r < o.restarts-1 || o.trackEntities == 0 || len(o.trackModes) == 0 {
			if _, err := srv.shutdown(ctx, "NOSAVE", 5*time.Minute); err != nil {
				return err
			}
		}
	}

	// ENT.TRACK through the wire, into the running segd: live events (AT
	// now) of customers spread over the population, then a backfill of the
	// first customers' year (AT their times).
	if o.trackEntities > 0 && len(o.trackModes) > 0 {
		for _, mode := range o.trackModes {
			t := bench.TrackOptions{Live: mode == "live"}
			if t.Live {
				t.Spread = o.entities
			}
			mark := markCPU(srv)
			lr, err := bench.LoadEvents(ctx, bench.LoadOptions{Addr: srv.addr, Entities: min(o.trackEntities, o.entities), Seed: o.seed,
				Clients: o.trackClients, Pipeline: o.trackPipeline, Progress: stderr}, t)
			tr := trackResult{Mode: mode, Load: lr, CPU: mark.since(srv)}
			fmt.Fprintf(out, "ENT.TRACK %s: %d events of %d customers in %.1fs: %s events/s, %d errors\n",
				mode, lr.Commands, lr.Entities, lr.Seconds, bench.Count(lr.CommandsPerSec()), lr.Errors)
			for _, e := range lr.FirstErrors {
				fmt.Fprintf(out, "  error: %s\n", e)
			}
			fmt.Fprintln(out, tr.CPU)
			if err != nil {
				return err
			}
			if ctl, err := bench.Dial(ctx, srv.addr); err == nil {
				if mem, err := bench.ReadMemory(ctl); err == nil {
					tr.After = mem
					mem.WriteLine(out, "memory after ENT.TRACK")
				}
				ctl.Close()
			}
			res.Track = append(res.Track, tr)
			if lr.Errors > 0 {
				return fmt.Errorf("ENT.TRACK got %d error replies", lr.Errors)
			}
		}
		if _, err := srv.shutdown(ctx, "NOSAVE", 5*time.Minute); err != nil {
			return err
		}
	}

	res.Figures = res.figures()
	fmt.Fprintln(out)
	fmt.Fprintf(out, "segd events benchmark: %d customers, %d CPUs\n", o.entities, runtime.NumCPU())
	bench.WriteFigures(out, res.Figures)
	if o.jsonPath != "" {
		return bench.WriteJSON(o.jsonPath, res)
	}
	return nil
}

func eventCounts(info bench.EventDataInfo) string {
	var parts []string
	for _, f := range info.Fields {
		parts = append(parts, fmt.Sprintf("%s %.1f", f, float64(info.Events[f])/float64(max(info.Entities, 1))))
	}
	return strings.Join(parts, ", ") + " per customer"
}

// writeSnapshotDir makes dir a segd data directory whose snapshot is parts,
// as SAVE would have written it.
func writeSnapshotDir(dir string, parts []index.Part) error {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := storage.Open(storage.Options{Dir: dir, Logger: quiet})
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	sp := make([]storage.Part, len(parts))
	for i, p := range parts {
		sp[i] = storage.Part{Name: p.Name, Data: p.Data}
	}
	werr := st.WriteSnapshot(0, sp)
	if err := st.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		return fmt.Errorf("write the snapshot into %s: %w", filepath.Clean(dir), werr)
	}
	return nil
}

func (r *eventsResult) figures() []bench.Figure {
	n := int64(r.Data.Entities)
	var figs []bench.Figure
	if len(r.Starts) > 0 {
		ready := make([]float64, len(r.Starts))
		for i, s := range r.Starts {
			ready[i] = s.Ready
		}
		slices.Sort(ready)
		med := median(r.Starts)
		figs = append(figs,
			bench.Figure{Name: "start-up to ready", Value: fmt.Sprintf("%.2fs median of %d (%.2f–%.2fs; PING %.2fs, loaded %.2fs)",
				med.Ready, len(r.Starts), ready[0], ready[len(ready)-1], med.Ping, med.Loaded)},
			bench.Figure{Name: "RSS after start", Value: fmt.Sprintf("%.1f B/entity (%s)", bench.PerEntity(med.Memory.RSS, n), bench.Bytes(med.Memory.RSS))},
			bench.Figure{Name: "Go heap after start", Value: fmt.Sprintf("%.1f B/entity (%s)", bench.PerEntity(med.Memory.Heap, n), bench.Bytes(med.Memory.Heap))},
			bench.Figure{Name: "bitmaps (engine estimate)", Value: fmt.Sprintf("%.1f B/entity (%s)", bench.PerEntity(med.Memory.Bitmaps, n), bench.Bytes(med.Memory.Bitmaps))},
			bench.Figure{Name: "disk", Value: fmt.Sprintf("%s (%.1f B/entity)", bench.Bytes(med.Memory.DiskBytes), bench.PerEntity(med.Memory.DiskBytes, n))},
		)
	}
	figs = append(figs, bench.Figure{Name: "events in the engine (estimate)", Value: fmt.Sprintf("%.1f B/entity, %.1f B/event record",
		bench.PerEntity(int64(r.Data.TotalBytes-r.Data.BaseBytes), n), bench.PerEntity(int64(r.Data.TotalBytes-r.Data.BaseBytes), r.Data.TotalEvents()))})
	for _, tr := range r.Track {
		t := tr.Load
		figs = append(figs, bench.Against("ENT.TRACK "+tr.Mode+", pipelined", fmt.Sprintf("%s events/s (%d events, %.1fs)",
			bench.Count(t.CommandsPerSec()), t.Commands, t.Seconds), "≥ 100k/s", t.CommandsPerSec(), targetTrack, false))
		c := tr.CPU
		figs = append(figs,
			bench.Figure{Name: "  cores used", Value: fmt.Sprintf("segd %.2f, segd-bench %.2f, other %.2f", c.Server, c.Bench, c.Other)},
			bench.Figure{Name: "  RSS after", Value: fmt.Sprintf("%.1f B/entity (%s)", bench.PerEntity(tr.After.RSS, n), bench.Bytes(tr.After.RSS))})
	}
	return figs
}

// median is the start with the median ready time.
func median(starts []startResult) startResult {
	s := slices.Clone(starts)
	slices.SortFunc(s, func(a, b startResult) int {
		switch {
		case a.Ready < b.Ready:
			return -1
		case a.Ready > b.Ready:
			return 1
		}
		return 0
	})
	return s[len(s)/2]
}
