package server

import (
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/segd-db/segd/protocol"
)

// metrics are segd's Prometheus metrics. Labels name commands only, never
// entities, values or segments, so cardinality stays bounded.
type metrics struct {
	reg             *prometheus.Registry
	cmds            *cmdStats // per command: calls, errors, execution time
	unknown         prometheus.Counter
	connections     prometheus.Gauge
	rejected        prometheus.Counter
	authFailures    prometheus.Counter
	commitSeconds   prometheus.Histogram
	commitBatch     prometheus.Histogram
	snapshotSeconds prometheus.Histogram
	pubsubMessages  prometheus.Counter
	pubsubDropped   prometheus.Counter
	segmentChanges  prometheus.Counter
	diskRefusals    prometheus.Counter
	fieldsCreated   prometheus.Counter
}

func newMetrics(s *Server) *metrics {
	reg := prometheus.NewRegistry()
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &metrics{reg: reg, cmds: newCmdStats()}
	m.unknown = prometheus.NewCounter(prometheus.CounterOpts{Name: "segd_unknown_commands_total", Help: "Commands not in segd's command table."})
	m.connections = prometheus.NewGauge(prometheus.GaugeOpts{Name: "segd_connected_clients", Help: "Client connections open now."})
	m.rejected = prometheus.NewCounter(prometheus.CounterOpts{Name: "segd_rejected_connections_total", Help: "Connections refused at --max-clients."})
	m.authFailures = prometheus.NewCounter(prometheus.CounterOpts{Name: "segd_auth_failures_total", Help: "AUTH attempts with a wrong password."})
	m.commitSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "segd_commit_duration_seconds", Help: "Time to make one group commit durable (the sync latency under --fsync always).",
		Buckets: prometheus.ExponentialBuckets(1e-5, 3, 12)})
	m.commitBatch = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "segd_commit_batch_writes", Help: "Writes per group commit.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 11)})
	m.snapshotSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "segd_snapshot_duration_seconds", Help: "Time to write a snapshot.",
		Buckets: prometheus.ExponentialBuckets(0.01, 3, 10)})
	m.pubsubMessages = prometheus.NewCounter(prometheus.CounterOpts{Name: "segd_pubsub_messages_total", Help: "Messages queued to subscribers."})
	m.pubsubDropped = prometheus.NewCounter(prometheus.CounterOpts{Name: "segd_pubsub_dropped_subscribers_total", Help: "Subscribers disconnected because their queue overflowed."})
	m.segmentChanges = prometheus.NewCounter(prometheus.CounterOpts{Name: "segd_segment_changes_total", Help: "Entities that entered or left a saved segment."})
	m.diskRefusals = prometheus.NewCounter(prometheus.CounterOpts{Name: "segd_disk_full_events_total", Help: "Times writes were switched off because free disk fell below --min-free-disk."})
	m.fieldsCreated = prometheus.NewCounter(prometheus.CounterOpts{Name: "segd_fields_created_by_writes_total", Help: "Fields a write created in auto schema mode (a typo in a field name shows up here)."})
	for _, c := range []prometheus.Collector{m.fieldsCreated, m.diskRefusals, m.cmds, m.unknown, m.connections, m.rejected, m.authFailures,
		m.commitSeconds, m.commitBatch, m.snapshotSeconds, m.pubsubMessages, m.pubsubDropped, m.segmentChanges} {
		f(c)
	}
	gauge := func(name, help string, fn func() float64) {
		f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
	}
	ready := func() bool { return !s.loading.Load() }
	gauge("segd_entities", "Live entities.", func() float64 {
		if !ready() {
			return 0
		}
		return float64(s.engine.Len())
	})
	gauge("segd_fields", "Fields.", func() float64 { return float64(s.engine.FieldCount()) })
	gauge("segd_segments", "Saved segments.", func() float64 { return float64(s.engine.SegmentCount()) })
	gauge("segd_bitmap_bytes", "Memory held by bitmaps and the key dictionary.", func() float64 {
		if !ready() {
			return 0
		}
		return float64(s.engine.SizeInBytes())
	})
	gauge("segd_loading", "1 while the data set is loading.", func() float64 {
		if ready() {
			return 0
		}
		return 1
	})
	gauge("segd_last_snapshot_timestamp_seconds", "Unix time of the snapshot in use.", func() float64 { return float64(s.lastSave().Unix()) })
	gauge("segd_changes_since_snapshot", "Logged writes since the last snapshot.", func() float64 { return float64(s.dirty.Load()) })
	gauge("segd_disk_bytes", "Bytes of the Badger store on disk.", func() float64 { return float64(s.store.DiskBytes()) })
	gauge("segd_disk_free_bytes", "Free bytes on the data directory's disk, as last read.", func() float64 { return float64(s.disk.free.Load()) })
	gauge("segd_writes_refused", "1 while writes are refused because the disk is nearly full.", func() float64 {
		if s.disk.refusal() != nil {
			return 1
		}
		return 0
	})
	gauge("segd_log_seq", "Sequence number of the last logged write.", func() float64 { return float64(s.store.LastSeq()) })
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(c *protocol.Command, client int64, d time.Duration, failed bool) {
	m.cmds.observe(c, client, int64(d), failed)
}

// failed counts an error reply of c found after dispatch (pipelined writes
// answer when the connection drains them).
func (m *metrics) failed(c *protocol.Command, client int64) {
	m.cmds.failed(c, client)
}

// startHTTP serves /metrics, /healthz and the explorer (/ and /api/, see
// docs/explorer.md) on the metrics address.
func (s *Server) startHTTP() error {
	if s.cfg.MetricsAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.MetricsAddr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	// Profiles for operators, on the same (loopback by default) address.
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case s.closing.Load():
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
		case s.loading.Load():
			http.Error(w, "loading", http.StatusServiceUnavailable)
		default:
			w.Write([]byte("ok\n"))
		}
	})
	mux.Handle("/", s.explorer)
	if ip := net.ParseIP(hostOf(ln.Addr().String())); (ip == nil || !ip.IsLoopback()) && s.cfg.Password == "" {
		s.log.Warn("the explorer (customer data and segment writes) is served on a non-loopback metrics address without a password: anyone who can reach it by IP address can use it; set --requirepass or keep --metrics-addr on loopback", "metrics_addr", ln.Addr().String())
	}
	s.httpSrv = &http.Server{Addr: ln.Addr().String(), Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	s.httpSrv.RegisterOnShutdown(s.explorer.Close) // end the live feeds, or Shutdown waits for them
	go func() {
		if err := s.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("metrics server stopped", "err", err)
		}
	}()
	return nil
}
