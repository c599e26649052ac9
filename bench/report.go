package bench

// Results: per-command latency histograms, their summary as a text table or
// JSON, the server's memory as INFO reports it, and the figures-against-
// targets table of the wire benchmark.

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/segd-db/segd/progress"
)

// Latencies are recorded in microseconds, from 1 µs to 10 minutes, to three
// significant figures.
const (
	histMin     = 1
	histMax     = int64(MaxRunTime/time.Microsecond) + 60e6
	histSigFigs = 3
)

// opStats is one client's record of one command.
type opStats struct {
	name   string
	count  int64
	errors errorLog
	hist   *hdrhistogram.Histogram
}

func newOpStats(name string) *opStats {
	return &opStats{name: name, hist: hdrhistogram.New(histMin, histMax, histSigFigs)}
}

func (s *opStats) record(lat time.Duration, errMsg string) {
	s.count++
	if errMsg != "" {
		s.errors.add(errMsg)
	}
	us := max(int64(lat/time.Microsecond), histMin)
	_ = s.hist.RecordValue(min(us, histMax)) // within the histogram's range: cannot fail
}

// Latency is a latency summary in microseconds.
type Latency struct {
	Mean float64 `json:"mean_us"`
	P50  float64 `json:"p50_us"`
	P90  float64 `json:"p90_us"`
	P99  float64 `json:"p99_us"`
	P999 float64 `json:"p999_us"`
	Max  float64 `json:"max_us"`
}

// OpResult is one command's result in a run.
type OpResult struct {
	Command     string   `json:"command"`
	Count       int64    `json:"count"`
	Errors      int64    `json:"errors"`
	FirstErrors []string `json:"first_errors,omitempty"`
	PerSec      float64  `json:"per_sec"`
	Latency     Latency  `json:"latency"`
}

// RunResult is the result of one Run.
type RunResult struct {
	Mix      string     `json:"mix"`
	Entities int        `json:"entities"`
	Clients  int        `json:"clients"`
	Pipeline int        `json:"pipeline"`
	Seconds  float64    `json:"seconds"`
	Total    int64      `json:"total"`
	Errors   int64      `json:"errors"`
	PerSec   float64    `json:"per_sec"`
	Ops      []OpResult `json:"commands"`
}

// Op is the result for one command name, if the run sent it.
func (r RunResult) Op(name string) (OpResult, bool) {
	for _, o := range r.Ops {
		if o.Command == name {
			return o, true
		}
	}
	return OpResult{}, false
}

func newRunResult(o RunOptions, elapsed time.Duration, names []string, stats [][]*opStats) RunResult {
	res := RunResult{Mix: o.Mix, Entities: o.Entities, Clients: o.Clients, Pipeline: o.Pipeline, Seconds: elapsed.Seconds()}
	for i, name := range names {
		h := hdrhistogram.New(histMin, histMax, histSigFigs)
		or := OpResult{Command: name}
		for _, st := range stats {
			if st == nil {
				continue
			}
			s := st[i]
			h.Merge(s.hist)
			or.Count += s.count
			or.Errors += s.errors.n.Load()
			for _, e := range s.errors.list() {
				if len(or.FirstErrors) < keepErrors {
					or.FirstErrors = append(or.FirstErrors, e)
				}
			}
		}
		or.PerSec = perSec(or.Count, elapsed)
		if h.TotalCount() > 0 {
			or.Latency = Latency{
				Mean: h.Mean(),
				P50:  float64(h.ValueAtQuantile(50)),
				P90:  float64(h.ValueAtQuantile(90)),
				P99:  float64(h.ValueAtQuantile(99)),
				P999: float64(h.ValueAtQuantile(99.9)),
				Max:  float64(h.Max()),
			}
		}
		res.Total += or.Count
		res.Errors += or.Errors
		res.Ops = append(res.Ops, or)
	}
	res.PerSec = perSec(res.Total, elapsed)
	return res
}

// WriteTable prints the run as a table: one row per command.
func (r RunResult) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "mix %s: %d clients, pipeline %d, %.1fs, %s commands, %s/s, %d errors\n",
		r.Mix, r.Clients, r.Pipeline, r.Seconds, Count(float64(r.Total)), Count(r.PerSec), r.Errors)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "command\tcount\terrors\tops/s\tmean\tp50\tp90\tp99\tp99.9\tmax\t")
	for _, o := range r.Ops {
		l := o.Latency
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", o.Command, o.Count, o.Errors, Count(o.PerSec),
			Micros(l.Mean), Micros(l.P50), Micros(l.P90), Micros(l.P99), Micros(l.P999), Micros(l.Max))
	}
	tw.Flush()
	for _, o := range r.Ops {
		for _, e := range o.FirstErrors {
			fmt.Fprintf(w, "  %s error: %s\n", o.Command, e)
		}
	}
}

// Micros formats a latency given in microseconds: 850µs, 1.25ms, 2.1s.
func Micros(us float64) string {
	switch {
	case us >= 1e6:
		return fmt.Sprintf("%.2fs", us/1e6)
	case us >= 1e3:
		return fmt.Sprintf("%.2fms", us/1e3)
	}
	return fmt.Sprintf("%.0fµs", us)
}

// Bytes formats a byte count: 512B, 1.5KiB, 96.3MiB, 1.02GiB.
func Bytes(n int64) string { return progress.Size(n) }

// Count formats a count compactly: 950, 12.3k, 4.56M, 1.2G.
func Count(n float64) string { return progress.Count(n) }

// Progress is the shared progress display (see package progress).
type Progress = progress.Progress

// NewProgress prepares a progress display on w (normally os.Stderr).
func NewProgress(w io.Writer, label, unit string, total int64) *Progress {
	return progress.New(w, label, unit, total)
}

// Memory is the server's memory as INFO reports it.
type Memory struct {
	RSS       int64 `json:"used_memory_rss"` // resident set of the process
	Heap      int64 `json:"used_memory"`     // Go heap in use (live and not yet collected)
	Bitmaps   int64 `json:"bitmap_bytes"`    // the engine's own estimate of its bitmaps
	Entities  int64 `json:"entities"`
	DiskBytes int64 `json:"disk_bytes"`
}

// ReadMemory reads INFO from c.
func ReadMemory(c *Conn) (Memory, error) {
	info, err := c.Info()
	if err != nil {
		return Memory{}, err
	}
	return MemoryFromInfo(info), nil
}

// MemoryFromInfo picks the memory fields out of parsed INFO.
func MemoryFromInfo(info map[string]string) Memory {
	get := func(k string) int64 {
		n, _ := strconv.ParseInt(strings.TrimSpace(info[k]), 10, 64)
		return n
	}
	return Memory{RSS: get("used_memory_rss"), Heap: get("used_memory"), Bitmaps: get("bitmap_bytes"),
		Entities: get("entities"), DiskBytes: get("disk_bytes")}
}

// PerEntity is bytes per entity.
func PerEntity(bytes, entities int64) float64 {
	if entities <= 0 {
		return 0
	}
	return float64(bytes) / float64(entities)
}

// WriteLine prints one memory reading as a line.
func (m Memory) WriteLine(w io.Writer, label string) {
	fmt.Fprintf(w, "%-22s rss %s (%.1f B/entity)  heap %s (%.1f B/entity)  bitmaps %s  entities %d\n", label,
		Bytes(m.RSS), PerEntity(m.RSS, m.Entities), Bytes(m.Heap), PerEntity(m.Heap, m.Entities), Bytes(m.Bitmaps), m.Entities)
}

// Figure is one line of a figures-against-targets table.
type Figure struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Target string `json:"target,omitempty"`
	Met    *bool  `json:"met,omitempty"` // nil when there is no target
}

// Against builds a figure with a target: met when value < limit (below) or
// value >= limit (!below).
func Against(name, value, target string, v, limit float64, below bool) Figure {
	met := v >= limit
	if below {
		met = v < limit
	}
	return Figure{Name: name, Value: value, Target: target, Met: &met}
}

// WriteFigures prints figures as a table with a verdict column.
func WriteFigures(w io.Writer, figs []Figure) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tmeasured\ttarget\t")
	for _, f := range figs {
		verdict := ""
		if f.Met != nil {
			verdict = "MISSED"
			if *f.Met {
				verdict = "ok"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Name, f.Value, f.Target, verdict)
	}
	tw.Flush()
}

// WriteJSON writes v as indented JSON to path ("-" is standard output).
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "-" {
		_, err = os.Stdout.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
