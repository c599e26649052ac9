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

	"github.com/segd-db/segd/bench"
)

type redisOptions struct {
	entities      int
	clients       int
	pipeline      int
	queryPipeline int
	queryClients  int
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
		"then for the classes that need them the 200 saved segments (Redis: a SET per\n"+
		"segment) and the last 30 days of purchases and cart adds (Redis: a SET per\n"+
		"event term per UTC day), checks that both answer every query of every class\n"+
		"alike, runs each class on both, restarts segd to read its resident memory, and\n"+
		"prints both with ratios.\n"+
		"Classes: "+classNames(), stderr)
	var o redisOptions
	fs.IntVar(&o.entities, "entities", 1000000, "customers to load")
	fs.IntVar(&o.clients, "clients", 50, "connections per class run")
	fs.IntVar(&o.pipeline, "pipeline", 16, "logical operations in flight per connection (membership classes)")
	fs.IntVar(&o.queryPipeline, "query-pipeline", 1, "logical operations in flight per connection for whole-set classes (counts, range, members)")
	fs.IntVar(&o.queryClients, "query-clients", 0, "connections for whole-set classes (0: --clients); fewer keep one round of Redis's\nsingle-threaded set algebra short at 10M customers")
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
	case o.clients < 1 || o.pipeline < 1 || o.queryPipeline < 1 || o.queryClients < 0 || o.loadClients < 1 || o.loadPipeline < 1:
		return errors.New("clients and pipelines must be at least 1")
	case o.duration <= 0:
		return errors.New("--duration must be positive")
	}
	// The events' year ends now; the window classes ask AT this second, so
	// their answers do not move while the run goes on.
	end := time.Now().UTC().Truncate(time.Second)
	classes, err := pickClasses(o.classes, end)
	if err != nil {
		return err
	}
	return sideBySide(ctx, o, classes, end, stdout)
}

func classNames() string {
	var names []string
	for _, c := range bench.Classes(bench.EventClock) {
		names = append(names, c.Name)
	}
	return strings.Join(names, ", ")
}

func pickClasses(s string, end time.Time) ([]bench.Class, error) {
	if s == "" || s == "all" {
		return bench.Classes(end), nil
	}
	var out []bench.Class
	for _, name := range strings.Split(s, ",") {
		c, ok := bench.ClassByName(strings.TrimSpace(name), end)
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
	// With the classes that need them: the saved segments and the events.
	SegdSegments  *phaseResult  `json:"segd_segments,omitempty"`
	RedisSegments *phaseResult  `json:"redis_segments,omitempty"`
	SegdEvents    *phaseResult  `json:"segd_events,omitempty"`
	RedisEvents   *phaseResult  `json:"redis_events,omitempty"`
	EventDays     int           `json:"event_days,omitempty"`
	EventFields   []string      `json:"event_fields,omitempty"`
	Checked       int           `json:"equivalence_checked"`
	Classes       []classResult `json:"classes"`
}

// phaseResult is the loading of the segments or the events on one server:
// its time, and the memory it added (segd: the engine's estimate of its
// bitmaps, BSIs and buckets, as the Go heap's swings with the collector would
// drown it; Redis: used_memory).
type phaseResult struct {
	Seconds  float64 `json:"seconds"`
	Commands int64   `json:"commands"`
	Events   int64   `json:"events,omitempty"`
	Members  int64   `json:"members,omitempty"`
	Memory   int64   `json:"memory_added"`
	RSS      int64   `json:"rss_after"`
}

func sideBySide(ctx context.Context, o redisOptions, classes []bench.Class, end time.Time, out io.Writer) error {
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
	if res.SegdAfterLoad, err = readMemory(ctx, srv.addr, ""); err != nil {
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

	needs := map[string]bool{}
	for _, cl := range classes {
		needs[cl.Needs] = true
	}
	if needs[bench.NeedsSegments] {
		if err := loadSegments(ctx, lo, srv.addr, redisAddr, rc, res, out); err != nil {
			return err
		}
	}
	if needs[bench.NeedsEvents] {
		if err := loadEvents(ctx, lo, srv.addr, redisAddr, rc, end, res, out); err != nil {
			return err
		}
	}

	// Same answers on both, before timing anything: every class whose data
	// is loaded.
	sc, err := bench.Dial(ctx, srv.addr)
	if err != nil {
		return err
	}
	defer sc.Close()
	var keys []int64
	for k := int64(0); k < int64(o.entities); k += max(1, int64(o.entities)/100) {
		keys = append(keys, k)
	}
	var check []bench.Class
	for _, cl := range bench.Classes(end) {
		if cl.Needs == "" || needs[cl.Needs] {
			check = append(check, cl)
		}
	}
	if res.Checked, err = bench.CheckEquivalence(sc, rc, check, keys); err != nil {
		return err
	}
	fmt.Fprintf(out, "equivalence: %d answers checked, segd and Redis agree on all\n", res.Checked)

	for _, cl := range classes {
		p, clients := o.pipeline, o.clients
		if cl.Heavy {
			p = o.queryPipeline
			if o.queryClients > 0 {
				clients = o.queryClients
			}
		}
		cr := classResult{Class: cl.Name, Segd: cl.Segd, Redis: cl.Redis, Pipeline: p}
		for _, redis := range []bool{false, true} {
			addr := srv.addr
			if redis {
				addr = redisAddr
			}
			rr, err := bench.RunClass(ctx, bench.ClassRunOptions{Addr: addr, Redis: redis, Class: cl, Entities: o.entities,
				Clients: clients, Pipeline: p, Duration: o.duration, Seed: o.seed, Progress: os.Stderr})
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
		mem, err := readMemory(ctx, srv.addr, "")
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

// memoryNow reads segd's Go heap and RSS and Redis's used_memory and RSS.
func memoryNow(ctx context.Context, segdAddr string, rc *bench.Conn) (bench.Memory, map[string]int64, error) {
	sm, err := readMemory(ctx, segdAddr, "")
	if err != nil {
		return sm, nil, err
	}
	info, err := rc.Info("memory")
	if err != nil {
		return sm, nil, err
	}
	rm := map[string]int64{}
	for _, k := range []string{"used_memory", "used_memory_rss"} {
		rm[k], _ = strconv.ParseInt(strings.TrimSpace(info[k]), 10, 64)
	}
	return sm, rm, nil
}

// loadSegments saves the segments on segd and builds their sets in Redis,
// timing both and reading the memory each added.
func loadSegments(ctx context.Context, lo bench.LoadOptions, segdAddr, redisAddr string, rc *bench.Conn,
	res *redisResult, out io.Writer) error {
	sm0, rm0, err := memoryNow(ctx, segdAddr, rc)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "segd: SEGMENT.CREATE of %d segments\n", bench.SegmentCount)
	start := time.Now()
	members, err := bench.CreateSegments(ctx, segdAddr, "", bench.SegmentCount)
	if err != nil {
		return err
	}
	el := time.Since(start)
	lo.Addr = redisAddr
	rl, err := bench.RedisLoadSegments(ctx, lo, bench.SegmentCount)
	if err != nil {
		return err
	}
	if rl.Errors > 0 {
		return fmt.Errorf("redis segments: %d error replies, first %v", rl.Errors, rl.FirstErrors)
	}
	sm1, rm1, err := memoryNow(ctx, segdAddr, rc)
	if err != nil {
		return err
	}
	res.SegdSegments = &phaseResult{Seconds: el.Seconds(), Commands: bench.SegmentCount, Members: members,
		Memory: sm1.Bitmaps - sm0.Bitmaps, RSS: sm1.RSS}
	res.RedisSegments = &phaseResult{Seconds: rl.Seconds, Commands: rl.Commands, Members: rl.Commands,
		Memory: rm1["used_memory"] - rm0["used_memory"], RSS: rm1["used_memory_rss"]}
	fmt.Fprintf(out, "segments: segd %d SEGMENT.CREATEs in %.1fs (%d members in all, engine +%s); redis %d SADDs in %.1fs (used_memory +%s)\n",
		bench.SegmentCount, el.Seconds(), members, bench.Bytes(res.SegdSegments.Memory), rl.Commands, rl.Seconds,
		bench.Bytes(res.RedisSegments.Memory))
	if members != rl.Commands {
		return fmt.Errorf("%w: the segments hold %d members in segd, %d in Redis", bench.ErrNotEquivalent, members, rl.Commands)
	}
	return nil
}

// loadEvents sends the last WindowDays days of WindowFields' events, the
// year ending at end, to both servers, timing both and reading the memory
// each added.
func loadEvents(ctx context.Context, lo bench.LoadOptions, segdAddr, redisAddr string, rc *bench.Conn,
	end time.Time, res *redisResult, out io.Writer) error {
	sm0, rm0, err := memoryNow(ctx, segdAddr, rc)
	if err != nil {
		return err
	}
	tr := bench.TrackOptions{EventOptions: bench.EventOptions{End: end}, Fields: bench.WindowFields, Days: bench.WindowDays}
	res.EventDays, res.EventFields = bench.WindowDays, bench.WindowFields
	lo.Addr = segdAddr
	sl, err := bench.LoadEvents(ctx, lo, tr)
	if err != nil {
		return err
	}
	lo.Addr = redisAddr
	rl, err := bench.RedisLoadEvents(ctx, lo, tr)
	if err != nil {
		return err
	}
	if sl.Errors+rl.Errors > 0 {
		return fmt.Errorf("events: error replies: segd %v, redis %v", sl.FirstErrors, rl.FirstErrors)
	}
	sm1, rm1, err := memoryNow(ctx, segdAddr, rc)
	if err != nil {
		return err
	}
	res.SegdEvents = &phaseResult{Seconds: sl.Seconds, Commands: sl.Commands, Events: sl.Commands,
		Memory: sm1.Bitmaps - sm0.Bitmaps, RSS: sm1.RSS}
	res.RedisEvents = &phaseResult{Seconds: rl.Seconds, Commands: rl.Commands, Events: sl.Commands,
		Memory: rm1["used_memory"] - rm0["used_memory"], RSS: rm1["used_memory_rss"]}
	fmt.Fprintf(out, "events (%s, last %d days): segd %d ENT.TRACKs in %.1fs (%s/s, engine +%s); redis %d SADDs in %.1fs (%s/s, used_memory +%s)\n",
		strings.Join(bench.WindowFields, ", "), bench.WindowDays, sl.Commands, sl.Seconds, bench.Count(sl.CommandsPerSec()),
		bench.Bytes(res.SegdEvents.Memory), rl.Commands, rl.Seconds, bench.Count(rl.CommandsPerSec()), bench.Bytes(res.RedisEvents.Memory))
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
	qc := o.clients
	if o.queryClients > 0 {
		qc = o.queryClients
	}
	fmt.Fprintf(w, "segd vs Redis %s: %d entities, %d clients, pipeline %d (whole-set classes: %d clients, pipeline %d), %s per class per server, %d CPUs\n",
		r.RedisVersion, r.Entities, o.clients, o.pipeline, qc, o.queryPipeline, o.duration, r.CPUs)
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
		// Against Redis holding everything segd holds at its restart.
		all, what := rss, ""
		var loaded []string
		if r.RedisSegments != nil {
			all, loaded = float64(r.RedisSegments.RSS), append(loaded, "segments")
		}
		if r.RedisEvents != nil {
			all, loaded = float64(r.RedisEvents.RSS), append(loaded, "events")
		}
		if len(loaded) > 0 {
			what = " (both + " + strings.Join(loaded, ", ") + ")"
		}
		fmt.Fprintf(tw, "segd RSS after restart vs Redis RSS%s\t%s\t%s\t%s\t\n", what, mem(r.SegdAfterRest.RSS), mem(int64(all)),
			ratio(float64(r.SegdAfterRest.RSS), all))
	}
	fmt.Fprintf(tw, "heap / used_memory\t%s\t%s\t%s\t\n", mem(r.SegdAfterLoad.Heap), mem(int64(used)), ratio(float64(r.SegdAfterLoad.Heap), used))
	age := r.RedisMemory["age_year_sets"]
	fmt.Fprintf(tw, "Redis used_memory without the age-year sets\t\t%s\t\t\n", mem(int64(used)-age))
	if s, rd := r.SegdSegments, r.RedisSegments; s != nil && rd != nil {
		fmt.Fprintf(tw, "%d saved segments: build time\t%.1fs (SEGMENT.CREATE)\t%.1fs (%s SADDs)\t%s\t\n", bench.SegmentCount,
			s.Seconds, rd.Seconds, bench.Count(float64(rd.Commands)), ratio(s.Seconds, rd.Seconds))
		fmt.Fprintf(tw, "segments: engine estimate / used_memory added\t%s\t%s\t%s\t\n", bench.Bytes(s.Memory), bench.Bytes(rd.Memory),
			ratio(float64(s.Memory), float64(rd.Memory)))
	}
	if s, rd := r.SegdEvents, r.RedisEvents; s != nil && rd != nil {
		fmt.Fprintf(tw, "events (last %d days): load time\t%.1fs (%s ENT.TRACKs)\t%.1fs (%s SADDs)\t%s\t\n", r.EventDays,
			s.Seconds, bench.Count(float64(s.Commands)), rd.Seconds, bench.Count(float64(rd.Commands)), ratio(s.Seconds, rd.Seconds))
		fmt.Fprintf(tw, "events: engine estimate / used_memory added\t%s\t%s\t%s\t\n", bench.Bytes(s.Memory), bench.Bytes(rd.Memory),
			ratio(float64(s.Memory), float64(rd.Memory)))
		fmt.Fprintf(tw, "RSS after the events\t%s\t%s\t%s\t\n", mem(s.RSS), mem(rd.RSS), ratio(float64(s.RSS), float64(rd.RSS)))
	}
	tw.Flush()
}
