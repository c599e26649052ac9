package server

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/segd-db/segd/protocol"
)

// cmdStats counts each command's calls, errors and execution times for the
// segd_commands_total, segd_command_errors_total and
// segd_command_duration_seconds metrics. Every connection counts into one of
// a few shards (by its id), each on cache lines of its own, and a scrape
// adds the shards up: a single Prometheus counter and histogram per command
// would be cache lines that every core writes for every command, passed back
// and forth between cores at hundreds of thousands of commands a second.
type cmdStats struct {
	byCmd       []*cmdCounters // by command ID
	order       []*protocol.Command
	callsDesc   *prometheus.Desc
	errorsDesc  *prometheus.Desc
	latencyDesc *prometheus.Desc
}

const (
	statShards = 8 // a power of two
	// statBuckets are the latency histogram's upper bounds: 1 µs × 4^i,
	// i < statBuckets (1 µs … about 4.2 s), then +Inf.
	statBuckets = 12
)

// statBounds are the bucket upper bounds in nanoseconds.
var statBounds = func() (b [statBuckets]int64) {
	v := int64(1000)
	for i := range b {
		b[i] = v
		v *= 4
	}
	return b
}()

type cmdCounters struct {
	shards [statShards]statShard
}

type statShard struct {
	calls, errs atomic.Uint64
	nanos       atomic.Uint64
	buckets     [statBuckets + 1]atomic.Uint64 // per bucket (not cumulative); the last is +Inf
}

// A shard is two whole cache lines: the shards of a command (an allocation
// of 1,024 bytes, so aligned to 1,024) share none.
var _ [128 - unsafe.Sizeof(statShard{})]byte

// paddedWG is a WaitGroup alone on its cache line.
type paddedWG struct {
	sync.WaitGroup
	_ [64 - unsafe.Sizeof(sync.WaitGroup{})%64]byte
}

func newCmdStats() *cmdStats {
	st := &cmdStats{byCmd: make([]*cmdCounters, protocol.Count())}
	st.callsDesc = prometheus.NewDesc("segd_commands_total", "Commands executed, by command.", []string{"cmd"}, nil)
	st.errorsDesc = prometheus.NewDesc("segd_command_errors_total", "Commands that answered an error, by command.", []string{"cmd"}, nil)
	st.latencyDesc = prometheus.NewDesc("segd_command_duration_seconds", "Command execution time, by command.", []string{"cmd"}, nil)
	for _, c := range protocol.All() {
		st.add(c)
		for _, sub := range c.Subcommands {
			st.add(sub)
		}
	}
	return st
}

func (st *cmdStats) add(c *protocol.Command) {
	st.byCmd[c.ID] = &cmdCounters{}
	st.order = append(st.order, c)
}

func (st *cmdStats) shard(c *protocol.Command, client int64) *statShard {
	if c.ID < 0 || c.ID >= len(st.byCmd) || st.byCmd[c.ID] == nil {
		return nil
	}
	cc := st.byCmd[c.ID]
	return &cc.shards[client&(statShards-1)]
}

// observe counts one call of c by the connection client that took d
// nanoseconds.
func (st *cmdStats) observe(c *protocol.Command, client int64, d int64, failed bool) {
	sh := st.shard(c, client)
	if sh == nil {
		return
	}
	sh.calls.Add(1)
	if failed {
		sh.errs.Add(1)
	}
	if d < 0 {
		d = 0
	}
	sh.nanos.Add(uint64(d))
	i := 0
	for i < statBuckets && d > statBounds[i] {
		i++
	}
	sh.buckets[i].Add(1)
}

// failed counts an error reply of c found after its call was counted.
func (st *cmdStats) failed(c *protocol.Command, client int64) {
	if sh := st.shard(c, client); sh != nil {
		sh.errs.Add(1)
	}
}

// Describe implements prometheus.Collector.
func (st *cmdStats) Describe(ch chan<- *prometheus.Desc) {
	ch <- st.callsDesc
	ch <- st.errorsDesc
	ch <- st.latencyDesc
}

// Collect implements prometheus.Collector: every command of the table, in
// table order, called or not.
func (st *cmdStats) Collect(ch chan<- prometheus.Metric) {
	for _, c := range st.order {
		cc := st.byCmd[c.ID]
		var calls, errs, nanos uint64
		var per [statBuckets + 1]uint64
		for i := range cc.shards {
			sh := &cc.shards[i]
			calls += sh.calls.Load()
			errs += sh.errs.Load()
			nanos += sh.nanos.Load()
			for b := range per {
				per[b] += sh.buckets[b].Load()
			}
		}
		// The shards are read one after the other while commands run: the
		// count is taken as the buckets' total so that the histogram is
		// consistent with itself.
		var count uint64
		cum := make(map[float64]uint64, statBuckets)
		for b := range statBuckets {
			count += per[b]
			cum[float64(statBounds[b])/1e9] = count
		}
		count += per[statBuckets]
		ch <- prometheus.MustNewConstMetric(st.callsDesc, prometheus.CounterValue, float64(calls), c.Name)
		ch <- prometheus.MustNewConstMetric(st.errorsDesc, prometheus.CounterValue, float64(errs), c.Name)
		ch <- prometheus.MustNewConstHistogram(st.latencyDesc, count, float64(nanos)/1e9, cum, c.Name)
	}
}
