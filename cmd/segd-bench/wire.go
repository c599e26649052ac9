package main

// The wire benchmark: one run that reproduces the headline figures against a
// segd it starts, loads, measures, restarts and stops.

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/segd-db/segd/bench"
)

// Targets of the wire benchmark.
const (
	targetIsMember = 200000 // QUERY.ISMEMBER/s
	targetSet      = 100000 // ENT.SET/s
	targetBytes    = 100    // RSS bytes per entity
	targetRestart  = 10 * time.Second
)

// wireResult is everything the wire benchmark measured (its JSON output).
type wireResult struct {
	Entities       int                        `json:"entities"`
	Segd           string                     `json:"segd"`
	Dir            string                     `json:"dir"`
	EmptyMemory    bench.Memory               `json:"memory_empty"`
	Load           *bench.LoadResult          `json:"load,omitempty"`
	AfterLoad      bench.Memory               `json:"memory_after_load"`
	SaveSeconds    float64                    `json:"save_seconds"`
	AfterSave      bench.Memory               `json:"memory_after_save"`
	Runs           map[string]bench.RunResult `json:"runs"`
	AfterRuns      bench.Memory               `json:"memory_after_runs"`
	ShutdownSecs   float64                    `json:"shutdown_save_seconds"`
	Restart        map[string]float64         `json:"restart_seconds"`
	AfterRestart   bench.Memory               `json:"memory_after_restart"`
	CPU            map[string]CPUShare        `json:"cpu"`
	Figures        []bench.Figure             `json:"figures"`
	runsInOrder    []string
	restartReadyAt time.Duration
}

func wire(ctx context.Context, o wireOptions, out io.Writer) (err error) {
	bin, err := findSegd(o.segd)
	if err != nil {
		return err
	}
	dir := o.keepDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "segd-bench-*"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	extra := strings.Fields(o.segdFlags)
	res := &wireResult{Entities: o.entities, Segd: bin, Dir: dir, Runs: map[string]bench.RunResult{}, CPU: map[string]CPUShare{}}
	fmt.Fprintf(out, "segd %s, data in %s, %d entities\n", bin, dir, o.entities)

	srv, err := startSegd(ctx, bin, dir, extra)
	if err != nil {
		return err
	}
	defer func() { srv.kill() }() // whatever happens, segd does not outlive us
	rd, err := srv.waitReady(ctx, -1, 10*time.Minute)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "segd pid %s on %s, ready in %s\n", srv.pid(), srv.addr, rd.Ready.Round(time.Millisecond))
	ctl, err := bench.Dial(ctx, srv.addr)
	if err != nil {
		return err
	}
	defer func() { ctl.Close() }()
	ctl.Timeout = 10 * time.Minute // SAVE of a large data set

	// Load, unless the kept directory already holds the data set.
	if res.EmptyMemory, err = bench.ReadMemory(ctl); err != nil {
		return err
	}
	switch have := res.EmptyMemory.Entities; {
	case have == int64(o.entities):
		fmt.Fprintf(out, "%s already holds %d entities: skipping the load\n", dir, have)
	case have != 0:
		return fmt.Errorf("%s holds %d entities, not %d: give an empty --keep-dir", dir, have, o.entities)
	default:
		res.EmptyMemory.WriteLine(out, "memory of empty segd")
		mark := markCPU(srv)
		lr, err := bench.Load(ctx, bench.LoadOptions{Addr: srv.addr, Entities: o.entities, Seed: o.seed,
			Clients: o.loadClients, Pipeline: o.loadPipeline, Progress: os.Stderr})
		printLoad(out, lr)
		res.Load = &lr
		res.CPU["load"] = mark.since(srv)
		fmt.Fprintln(out, res.CPU["load"])
		if err != nil {
			return err
		}
		if lr.Errors > 0 {
			return fmt.Errorf("the load got %d error replies", lr.Errors)
		}
	}
	if res.AfterLoad, err = bench.ReadMemory(ctl); err != nil {
		return err
	}
	res.AfterLoad.WriteLine(out, "memory after load")
	if res.AfterLoad.Entities != int64(o.entities) {
		return fmt.Errorf("ENT.COUNT after the load is %d, want %d", res.AfterLoad.Entities, o.entities)
	}

	// SAVE, then memory again.
	prog := bench.NewProgress(os.Stderr, "SAVE", "", 0).Start()
	start := time.Now()
	_, err = ctl.Do("SAVE")
	prog.Stop()
	if err != nil {
		return fmt.Errorf("SAVE: %w", err)
	}
	res.SaveSeconds = time.Since(start).Seconds()
	fmt.Fprintf(out, "SAVE took %.2fs\n", res.SaveSeconds)
	if res.AfterSave, err = bench.ReadMemory(ctl); err != nil {
		return err
	}
	res.AfterSave.WriteLine(out, "memory after SAVE")

	// The mixes.
	for _, mix := range strings.Split(o.mixes, ",") {
		mix = strings.TrimSpace(mix)
		mark := markCPU(srv)
		rr, err := bench.Run(ctx, bench.RunOptions{Addr: srv.addr, Entities: o.entities, Clients: o.clients,
			Pipeline: o.pipeline, Duration: o.duration, Mix: mix, Seed: o.seed, Progress: os.Stderr})
		rr.WriteTable(out)
		if err != nil {
			return err
		}
		res.CPU[mix] = mark.since(srv)
		fmt.Fprintln(out, res.CPU[mix])
		res.Runs[mix] = rr
		res.runsInOrder = append(res.runsInOrder, mix)
	}
	if res.AfterRuns, err = bench.ReadMemory(ctl); err != nil {
		return err
	}
	res.AfterRuns.WriteLine(out, "memory after the mixes")
	ctl.Close()

	// SHUTDOWN SAVE, then restart on the same directory.
	took, err := srv.shutdown(ctx, "SAVE", 10*time.Minute)
	if err != nil {
		return err
	}
	res.ShutdownSecs = took.Seconds()
	fmt.Fprintf(out, "SHUTDOWN SAVE took %.2fs\n", res.ShutdownSecs)
	if srv, err = startSegd(ctx, bin, dir, extra); err != nil {
		return err
	}
	rd, err = srv.waitReady(ctx, int64(o.entities), 10*time.Minute)
	if err != nil {
		return err
	}
	res.restartReadyAt = rd.Ready
	res.Restart = map[string]float64{"ping": rd.Ping.Seconds(), "loaded": rd.Loaded.Seconds(), "ready": rd.Ready.Seconds()}
	fmt.Fprintf(out, "restart: PING after %.2fs, loading:0 after %.2fs, ENT.COUNT=%d after %.2fs\n",
		rd.Ping.Seconds(), rd.Loaded.Seconds(), rd.Count, rd.Ready.Seconds())
	if ctl, err = bench.Dial(ctx, srv.addr); err != nil {
		return err
	}
	if res.AfterRestart, err = bench.ReadMemory(ctl); err != nil {
		return err
	}
	res.AfterRestart.WriteLine(out, "memory after restart")
	if _, err := srv.shutdown(ctx, "NOSAVE", time.Minute); err != nil {
		return err
	}

	res.Figures = res.figures(o)
	fmt.Fprintln(out)
	fmt.Fprintf(out, "segd wire benchmark: %d entities, %d clients, pipeline %d, %s per mix, %d CPUs\n",
		o.entities, o.clients, o.pipeline, o.duration, runtime.NumCPU())
	bench.WriteFigures(out, res.Figures)
	if o.jsonPath != "" {
		return bench.WriteJSON(o.jsonPath, res)
	}
	return nil
}

func (r *wireResult) figures(o wireOptions) []bench.Figure {
	var figs []bench.Figure
	if r.Load != nil {
		figs = append(figs, bench.Figure{Name: "load", Value: fmt.Sprintf("%s entities/s (%s cmds/s, %.1fs)",
			bench.Count(r.Load.EntitiesPerSec()), bench.Count(r.Load.CommandsPerSec()), r.Load.Seconds)})
	}
	cpu := func(phase string) {
		if c, ok := r.CPU[phase]; ok {
			figs = append(figs, bench.Figure{Name: "  cores used",
				Value: fmt.Sprintf("segd %.2f, segd-bench %.2f, other %.2f", c.Server, c.Bench, c.Other)})
		}
	}
	cpu("load")
	for _, mix := range r.runsInOrder {
		for _, op := range r.Runs[mix].Ops {
			val := fmt.Sprintf("%s/s (p50 %s, p99 %s, p99.9 %s)", bench.Count(op.PerSec),
				bench.Micros(op.Latency.P50), bench.Micros(op.Latency.P99), bench.Micros(op.Latency.P999))
			name := fmt.Sprintf("%s (mix %s)", op.Command, mix)
			switch {
			case mix == "ismember" && op.Command == "QUERY.ISMEMBER":
				figs = append(figs, bench.Against(name, val, "≥ 200k/s", op.PerSec, targetIsMember, false))
			case mix == "set" && op.Command == "ENT.SET":
				figs = append(figs, bench.Against(name, val, "≥ 100k/s", op.PerSec, targetSet, false))
			default:
				figs = append(figs, bench.Figure{Name: name, Value: val})
			}
		}
		cpu(mix)
	}
	n := int64(r.Entities)
	rss := func(name string, m bench.Memory) bench.Figure {
		pe := bench.PerEntity(m.RSS, n)
		return bench.Against(name, fmt.Sprintf("%.1f B/entity (%s)", pe, bench.Bytes(m.RSS)), "< 100 B/entity", pe, targetBytes, true)
	}
	heap := func(name string, m bench.Memory) bench.Figure {
		return bench.Figure{Name: name, Value: fmt.Sprintf("%.1f B/entity (%s)", bench.PerEntity(m.Heap, n), bench.Bytes(m.Heap))}
	}
	figs = append(figs,
		rss("RSS after load", r.AfterLoad), heap("Go heap after load", r.AfterLoad),
		rss("RSS after SAVE", r.AfterSave), heap("Go heap after SAVE", r.AfterSave),
		rss("RSS after restart", r.AfterRestart), heap("Go heap after restart", r.AfterRestart),
		bench.Figure{Name: "bitmaps (engine estimate)", Value: fmt.Sprintf("%.1f B/entity (%s)",
			bench.PerEntity(r.AfterRestart.Bitmaps, n), bench.Bytes(r.AfterRestart.Bitmaps))},
		bench.Figure{Name: "SAVE", Value: fmt.Sprintf("%.2fs", r.SaveSeconds)},
		bench.Figure{Name: "SHUTDOWN SAVE", Value: fmt.Sprintf("%.2fs", r.ShutdownSecs)},
		bench.Figure{Name: "disk", Value: fmt.Sprintf("%s (%.1f B/entity)", bench.Bytes(r.AfterRestart.DiskBytes),
			bench.PerEntity(r.AfterRestart.DiskBytes, n))},
		bench.Against("restart to ready", fmt.Sprintf("%.2fs (PING %.2fs, loaded %.2fs)",
			r.restartReadyAt.Seconds(), r.Restart["ping"], r.Restart["loaded"]), "< 10s",
			r.restartReadyAt.Seconds(), targetRestart.Seconds(), true),
	)
	return figs
}
