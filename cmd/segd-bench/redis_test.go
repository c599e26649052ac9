package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/segd-db/segd/bench"
)

func TestRedisCommandFlags(t *testing.T) {
	code, _, stderr := runCLI(t, "redis", "--help")
	if code != 0 || !strings.Contains(stderr, "segd-bench redis") || !strings.Contains(stderr, "-redis-addr") ||
		!strings.Contains(stderr, "ismember-3") {
		t.Errorf("redis --help: code %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "redis", "--classes", "count-2,bogus"); code != 1 || !strings.Contains(stderr, "bogus") {
		t.Errorf("bad class: code %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "redis", "--entities", "0"); code != 1 || !strings.Contains(stderr, "entities") {
		t.Errorf("no entities: code %d, stderr %q", code, stderr)
	}
	if cs, err := pickClasses("all", bench.EventClock); err != nil || len(cs) != len(bench.Classes(bench.EventClock)) {
		t.Errorf("all classes: %d, %v", len(cs), err)
	}
}

func TestRedisTable(t *testing.T) {
	run := func(name string, perSec float64) bench.RunResult {
		return bench.RunResult{PerSec: perSec, Ops: []bench.OpResult{{Command: name, PerSec: perSec,
			Latency: bench.Latency{P50: 100, P99: 2000}}}}
	}
	r := &redisResult{Entities: 1000, CPUs: 2, RedisVersion: "7.0",
		SegdLoad: bench.LoadResult{Seconds: 2}, RedisLoad: bench.LoadResult{Seconds: 4},
		SegdAfterLoad: bench.Memory{RSS: 200000, Heap: 100000},
		RedisMemory:   map[string]int64{"used_memory": 50000, "used_memory_rss": 100000, "age_year_sets": 10000},
		Classes: []classResult{{Class: "count-2", Segd: "QUERY.COUNT", Redis: "SINTERCARD",
			SegdRun: run("count-2 segd", 3000), RedisRun: run("count-2 redis", 1000)}}}
	var b bytes.Buffer
	r.writeTable(&b, redisOptions{clients: 5, pipeline: 16, queryPipeline: 1})
	for _, want := range []string{"count-2", "3.00×", "0.50×", "2.00×", "100µs", "2.00ms"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}
