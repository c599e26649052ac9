package main

// segd and Redis side by side: the same population loaded into a segd and a
// redis-server that this command starts, the equivalent query classes run on
// both with the same clients, pipeline, duration and random draws, and a
// table of both with their ratio.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"segd/bench"
)

type redisOptions struct {
	entities      int
	clients       int
	pipeline      int
	queryPipeline int
	loadClients   int
	loadPipeline  int
	duration      time.Duration
	seed          uint64
	classes       string
	redisAddr     string
	redisServer   string
	segd          string
	segdFlags     string
	jsonPath      string
	noRestart     bool
}

func cmdRedis(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("redis", "Runs segd and Redis side by side: starts bin/segd and redis-server (--save \"\"\n"+
		"--appendonly no) on free loopback ports, loads the same N customers into both\n"+
		"(Redis: a SET per attribute value, a ZSET per INT field, a SET per age year),\n"+
		"checks that both answer every query of every class alike, runs each class on\n"+
		"both, restarts segd to read its resident memory, and prints both with ratios.\n"+
		"Classes: "+classNames(), stderr)
	var o redisOptions
	fs.IntVar(&o.entities, "entities", 1000000, "customers to load")
	fs.IntVar(&o.clients, "clients", 50, "connections per class run")
	fs.IntVar(&o.pipeline, "pipeline", 16, "logical operations in flight per connection (membership classes)")
	fs.IntVar(&o.queryPipeline, "query-pipeline", 1, "logical operations in flight per connection for whole-set classes (counts, range, members)")
	fs.IntVar(&o.loadClients, "load-clients", 50, "connections of each load")
	fs.IntVar(&o.loadPipeline, "load-pipeline", 64, "commands in flight per connection during the loads")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long each class runs on each server (capped at 10m)")
	fs.Uint64Var(&o.seed, "seed", 1, "population seed, and seed of the clients' draws")
	fs.StringVar(&o.classes, "classes", "all", "comma-separated classes to run, or all")
	fs.StringVar(&o.redisAddr, "redis-addr", "", "use this running, empty Redis instead of starting one")
	fs.StringVar(&o.redisServer, "redis-server", "redis-server", "redis-server binary to start")
	fs.StringVar(&o.segd, "segd", "", "segd binary (default bin/segd, else segd on PATH)")
	fs.StringVar(&o.segdFlags, "segd-flags", "", "extra flags for segd, space-separated")
	fs.BoolVar(&o.noRestart, "no-restart", false, "skip segd's restart (and its memory reading after it)")
	fs.StringVar(&o.jsonPath, "json", "", "also write the results as JSON to this file (- for stdout)")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case o.entities < 1:
		return errors.New("--entities must be at least 1")
	case o.clients < 1 || o.pipeline < 1 || o.queryPipeline < 1 || o.loadClients < 1 || o.loadPipeline < 1:
		return errors.New("clients and pipelines must be at least 1")
	case o.duration <= 0:
		return errors.New("--duration must be positive")
	}
	classes, err := pickClasses(o.classes)
	if err != nil {
		return err
	}
	return sideBySide(ctx, o, classes, stdout)
}

func classNames() string {
	var names []string
	for _, c := range bench.Classes() {
		names = append(names, c.Name)
	}
	return strings.Join(names, ", ")
}

func pickClasses(s string) ([]bench.Class, error) {
	if s == "" || s == "all" {
		return bench.Classes(), nil
	}
	var out []bench.Class
	for _, name := range strings.Split(s, ",") {
		c, ok := bench.ClassByName(strings.TrimSpace(name))
		if !ok {
			return nil, fmt.Errorf("unknown class %q: use some of %s", name, classNames())
		}
		out = append(out, c)
	}
	return out, nil
}

// classResult is one class on both servers.
type classResult struct {
	Class    string          `json:"class"`
	Segd     string          `json:"segd_sends"`
	Redis    string          `json:"redis_sends"`
	Pipeline int             `json:"pipeline"`
	SegdRun  bench.RunResult `json:"segd"`
	RedisRun bench.RunResult `json:"redis"`
	Ratio    float64         `json:"ops_ratio_segd_redis"`
	Note     string          `json:"note,omitempty"`
}

// redisResult is everything segd-bench redis measured (its JSON output).
type redisResult struct {
	Entities        int              `json:"entities"`
	Clients         int              `json:"clients"`
	CPUs            int              `json:"cpus"`
	RedisVersion    string           `json:"redis_version"`
	SegdLoad        bench.LoadResult `json:"segd_load"`
	RedisLoad       bench.LoadResult `json:"redis_load"`
	SegdAfterLoad   bench.Memory     `json:"segd_memory_after_load"`
	SegdRestartSecs float64          `json:"segd_restart_seconds,omitempty"`
	SegdAfterRest   *bench.Memory    `json:"segd_memory_after_restart,omitempty"`
	RedisMemory     map[string]int64 `json:"redis_memory"`
	Checked         int              `json:"equivalence_checked"`
	Classes         []classResult    `json:"classes"`
}

func sideBySide(ctx context.Context, o redisOptions, classes []bench.Class, out io.Writer) error {
	bin, err := findSegd(o.segd)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "segd-bench-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	extra := strings.Fields(o.segdFlags)
	srv, err := startSegd(ctx, bin, dir, extra)
	if err != nil {
		return err
	}
	defer func() { srv.kill() }() // whatever happens, segd does not outlive us
	if _, err := srv.waitReady(ctx, -1, 2*time.Minute); err != nil {
		return err
	}
	redisAddr := o.redisAddr
	if redisAddr == "" {
		rs, err := bench.StartRedis(ctx, o.redisServer)
		if err != nil {
			return err
		}
		defer rs.Stop()
		redisAddr = rs.Addr
		fmt.Fprintf(out, "redis-server pid %d on %s\n", rs.Pid(), rs.Addr)
	}
	fmt.Fprintf(out, "segd %s pid %s on %s, %d entities, %d CPUs\n", bin, srv.pid(), srv.addr, o.entities, runtime.NumCPU())
	rc, err := bench.Dial(ctx, redisAddr)
	if err != nil {
		return err
	}
	defer rc.Close()
	rc.Timeout = 5 * time.Minute
	if n, err := rc.Int("DBSIZE"); err != nil {
		return fmt.Errorf("redis DBSIZE: %w", err)
	} else if n != 0 {
		return fmt.Errorf("redis on %s holds %d keys: give an empty one", redisAddr, n)
	}
	res := &redisResult{Entities: o.entities, Clients: o.clients, CPUs: runtime.NumCPU(), RedisMemory: map[string]int64{}}
	if info, err := rc.Info("server"); err == nil {
		res.RedisVersion = info["redis_version"]
	}

	// The loads, one after the other (they would share the CPUs).
	lo := bench.LoadOptions{Addr: srv.addr, Entities: o.entities, Seed: o.seed, Clients: o.loadClients,
		Pipeline: o.loadPipeline, Progress: os.Stderr}
	res.SegdLoad, err = bench.Load(ctx, lo)
	fmt.Fprint(out, "segd:  ")
	printLoad(out, res.SegdLoad)
	if err != nil {
		return err
	}
	lo.Addr = redisAddr
	res.RedisLoad, err = bench.RedisLoad(ctx, lo)
	fmt.Fprint(out, "redis: ")
	printLoad(out, res.RedisLoad)
	if err != nil {
		return err
	}
	if res.SegdLoad.Errors+res.RedisLoad.Errors > 0 {
		return errors.New("a load got error replies")
	}
	if res.SegdAfterLoad, err = readMemory(ctx, srv.addr); err != nil {
		return err
	}
	res.SegdAfterLoad.WriteLine(out, "segd after load")
	if err := redisMemory(rc, res.RedisMemory); err != nil {
		return err
	}
	m := res.RedisMemory
	fmt.Fprintf(out, "redis after load       used_memory %s (%.1f B/entity), rss %s (%.1f B/entity); age-year sets %s, age+income zsets %s\n",
		bench.Bytes(m["used_memory"]), bench.PerEntity(m["used_memory"], int64(o.entities)),
		bench.Bytes(m["used_memory_rss"]), bench.PerEntity(m["used_memory_rss"], int64(o.entities)),
		bench.Bytes(m["age_year_sets"]), bench.Bytes(m["int_zsets"]))

	// Same answers on both, before timing anything.
	sc, err := bench.Dial(ctx, srv.addr)
	if err != nil {
		return err
	}
	defer sc.Close()
	var keys []int64
	for k := int64(0); k < int64(o.entities); k += max(1, int64(o.entities)/100) {
		keys = append(keys, k)
	}
	if res.Checked, err = bench.CheckEquivalence(sc, rc, keys); err != nil {
		return err
	}
	fmt.Fprintf(out, "equivalence: %d answers checked, segd and Redis agree on all\n", res.Checked)

	for _, cl := range classes {
		p := o.pipeline
		if cl.Heavy {
			p = o.queryPipeline
		}
		cr := classResult{Class: cl.Name, Segd: cl.Segd, Redis: cl.Redis, Pipeline: p}
		for _, redis := range []bool{false, true} {
			addr := srv.addr
			if redis {
				addr = redisAddr
			}
			rr, err := bench.RunClass(ctx, bench.ClassRunOptions{Addr: addr, Redis: redis, Class: cl, Entities: o.entities,
				Clients: o.clients, Pipeline: p, Duration: o.duration, Seed: o.seed, Progress: os.Stderr})
			rr.WriteTable(out)
			if err != nil {
				return err
			}
			if redis {
				cr.RedisRun = rr
			} else {
				cr.SegdRun = rr
			}
		}
		if cr.RedisRun.PerSec > 0 {
			cr.Ratio = cr.SegdRun.PerSec / cr.RedisRun.PerSec
		}
		if cl.Kind == bench.KindMembers {
			cr.Note = membersNote(sc, cl)
		}
		res.Classes = append(res.Classes, cr)
	}

	if !o.noRestart {
		sc.Close()
		if _, err := srv.shutdown(ctx, "SAVE", 10*time.Minute); err != nil {
			return err
		}
		if srv, err = startSegd(ctx, bin, dir, extra); err != nil {
			return err
		}
		rd, err := srv.waitReady(ctx, int64(o.entities), 10*time.Minute)
		if err != nil {
			return err
		}
		res.SegdRestartSecs = rd.Ready.Seconds()
		mem, err := readMemory(ctx, srv.addr)
		if err != nil {
			return err
		}
		res.SegdAfterRest = &mem
		mem.WriteLine(out, "segd after restart")
		if _, err := srv.shutdown(ctx, "NOSAVE", time.Minute); err != nil {
			return err
		}
	}

	fmt.Fprintln(out)
	res.writeTable(out, o)
	if o.jsonPath != "" {
		return bench.WriteJSON(o.jsonPath, res)
	}
	return nil
}

// redisMemory reads INFO memory and the memory of the range-class sets.
func redisMemory(c *bench.Conn, m map[string]int64) error {
	info, err := c.Info("memory")
	if err != nil {
		return err
	}
	for _, k := range []string{"used_memory", "used_memory_rss", "used_memory_dataset"} {
		m[k], _ = strconv.ParseInt(strings.TrimSpace(info[k]), 10, 64)
	}
	usage := func(key string) int64 {
		n, err := c.Int("MEMORY", "USAGE", key, "SAMPLES", "0")
		if err != nil {
			return 0
		}
		return n
	}
	for y := 18; y <= 90; y++ {
		m["age_year_sets"] += usage("age:" + strconv.Itoa(y))
	}
	m["int_zsets"] = usage("age") + usage("income")
	return nil
}

// membersNote is the mean size of Redis's SINTER reply against segd's page.
func membersNote(sc *bench.Conn, cl bench.Class) string {
	var sum int64
	for _, q := range cl.Queries {
		n, err := sc.Int("QUERY.COUNT", q.Expr)
		if err != nil {
			return ""
		}
		sum += n
	}
	mean := float64(sum) / float64(len(cl.Queries))
	return fmt.Sprintf("SINTER returns the whole intersection, %s keys on average; QUERY.MEMBERS a page of 100", bench.Count(mean))
}

func ratio(a, b float64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func (r *redisResult) writeTable(w io.Writer, o redisOptions) {
	fmt.Fprintf(w, "segd vs Redis %s: %d entities, %d clients, pipeline %d (whole-set classes %d), %s per class per server, %d CPUs\n",
		r.RedisVersion, r.Entities, o.clients, o.pipeline, o.queryPipeline, o.duration, r.CPUs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "class\tsegd sends\tsegd ops/s\tp50\tp99\tRedis sends\tRedis ops/s\tp50\tp99\tsegd/Redis\t")
	for _, c := range r.Classes {
		s, rd := c.SegdRun.Ops[0], c.RedisRun.Ops[0]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", c.Class, c.Segd,
			bench.Count(s.PerSec), bench.Micros(s.Latency.P50), bench.Micros(s.Latency.P99), c.Redis,
			bench.Count(rd.PerSec), bench.Micros(rd.Latency.P50), bench.Micros(rd.Latency.P99), ratio(s.PerSec, rd.PerSec))
	}
	tw.Flush()
	for _, c := range r.Classes {
		if c.Note != "" {
			fmt.Fprintf(w, "  %s: %s\n", c.Class, c.Note)
		}
		for _, run := range []bench.RunResult{c.SegdRun, c.RedisRun} {
			if run.Errors > 0 {
				fmt.Fprintf(w, "  %s: %s got %d error replies\n", c.Class, run.Ops[0].Command, run.Errors)
			}
		}
	}
	fmt.Fprintln(w)
	n := int64(r.Entities)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tsegd\tRedis\tsegd/Redis\t")
	fmt.Fprintf(tw, "load time\t%.1fs (%s cmds)\t%.1fs (%s cmds)\t%s\t\n", r.SegdLoad.Seconds, bench.Count(float64(r.SegdLoad.Commands)),
		r.RedisLoad.Seconds, bench.Count(float64(r.RedisLoad.Commands)), ratio(r.SegdLoad.Seconds, r.RedisLoad.Seconds))
	mem := func(b int64) string { return fmt.Sprintf("%s (%.1f B/entity)", bench.Bytes(b), bench.PerEntity(b, n)) }
	rss, used := float64(r.RedisMemory["used_memory_rss"]), float64(r.RedisMemory["used_memory"])
	fmt.Fprintf(tw, "RSS after load\t%s\t%s\t%s\t\n", mem(r.SegdAfterLoad.RSS), mem(int64(rss)), ratio(float64(r.SegdAfterLoad.RSS), rss))
	if r.SegdAfterRest != nil {
		fmt.Fprintf(tw, "segd RSS after restart vs Redis RSS\t%s\t%s\t%s\t\n", mem(r.SegdAfterRest.RSS), mem(int64(rss)),
			ratio(float64(r.SegdAfterRest.RSS), rss))
	}
	fmt.Fprintf(tw, "heap / used_memory\t%s\t%s\t%s\t\n", mem(r.SegdAfterLoad.Heap), mem(int64(used)), ratio(float64(r.SegdAfterLoad.Heap), used))
	age := r.RedisMemory["age_year_sets"]
	fmt.Fprintf(tw, "Redis used_memory without the age-year sets\t\t%s\t\t\n", mem(int64(used)-age))
	tw.Flush()
}
