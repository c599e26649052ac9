package server

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// INFO [section ...]
func cmdInfo(s *Server, c *client, args [][]byte) error {
	want := map[string]bool{}
	for _, a := range args[1:] {
		want[strings.ToLower(string(a))] = true
	}
	all := len(want) == 0 || want["all"] || want["everything"] || want["default"]
	var b strings.Builder
	for _, sec := range s.infoSections() {
		if !all && !want[strings.ToLower(sec.name)] {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString("# " + sec.name + "\r\n")
		for _, kv := range sec.fields {
			b.WriteString(kv[0] + ":" + kv[1] + "\r\n")
		}
	}
	c.enc.Verbatim("txt", b.String())
	return nil
}

type infoSection struct {
	name   string
	fields [][2]string
}

func (s *Server) infoSections() []infoSection {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	up := time.Since(s.started)
	loading := s.loading.Load()
	itoa := func(n int64) string { return strconv.FormatInt(n, 10) }
	var entities, bitmapBytes int64
	var fields, segments int
	if !loading {
		entities = int64(s.engine.Len())
		bitmapBytes = int64(s.engine.SizeInBytes())
		fields = s.engine.FieldCount()
		segments = s.engine.SegmentCount()
	}
	rss := readRSS()
	lastSaveErr := "ok"
	if s.lastSaveE.Load() != nil {
		lastSaveErr = "err"
	}
	return []infoSection{
		{"Server", [][2]string{
			{"redis_version", RedisVersion},
			{"segd_version", Version},
			{"redis_mode", "standalone"},
			{"os", runtime.GOOS + " " + runtime.GOARCH},
			{"arch_bits", "64"},
			{"go_version", runtime.Version()},
			{"process_id", itoa(int64(os.Getpid()))},
			{"tcp_port", portOf(s.Addr())},
			{"uptime_in_seconds", itoa(int64(up.Seconds()))},
			{"uptime_in_days", itoa(int64(up.Hours() / 24))},
		}},
		{"Clients", [][2]string{
			{"connected_clients", itoa(int64(s.clients.count()))},
			{"maxclients", itoa(int64(s.cfg.MaxClients))},
			{"blocked_clients", "0"},
		}},
		{"Memory", [][2]string{
			{"used_memory", itoa(int64(ms.HeapAlloc))},
			{"used_memory_human", human(ms.HeapAlloc)},
			{"used_memory_rss", itoa(rss)},
			{"used_memory_rss_human", human(uint64(rss))},
			{"used_memory_sys", itoa(int64(ms.Sys))},
			{"bitmap_memory", itoa(bitmapBytes)},
		}},
		{"Persistence", [][2]string{
			{"loading", boolInt(loading)},
			{"rdb_changes_since_last_save", itoa(s.dirty.Load())},
			{"rdb_bgsave_in_progress", boolInt(s.bgsaving.Load())},
			{"rdb_last_save_time", itoa(s.lastSave().Unix())},
			{"rdb_last_bgsave_status", lastSaveErr},
			{"aof_enabled", "1"},
			{"fsync", s.cfg.Fsync.String()},
		}},
		{"Stats", [][2]string{
			{"total_connections_received", itoa(s.clients.total.Load())},
		}},
		{"Replication", [][2]string{
			{"role", "master"},
			{"connected_slaves", "0"},
		}},
		{"Keyspace", [][2]string{
			{"db0", fmt.Sprintf("keys=%d,expires=0,avg_ttl=0", entities)},
		}},
		{"segd", [][2]string{
			{"entities", itoa(entities)},
			{"fields", itoa(int64(fields))},
			{"segments", itoa(int64(segments))},
			{"bitmap_bytes", itoa(bitmapBytes)},
			{"data_dir", s.cfg.Dir},
			{"in_memory", boolInt(s.cfg.InMemory)},
			{"log_seq", strconv.FormatUint(s.store.LastSeq(), 10)},
			{"disk_bytes", itoa(s.store.DiskBytes())},
		}},
	}
}

func boolInt(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func human(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2fG", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2fM", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.2fK", float64(n)/(1<<10))
	}
	return strconv.FormatUint(n, 10) + "B"
}

// readRSS reads the resident set size from /proc (0 where unavailable).
func readRSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}
