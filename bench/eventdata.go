package bench

// The event data set of the benchmarks: N customers with their profiles and a
// year of events, built in process into an engine whose clock is fixed at
// the end of the year, and cached as snapshot parts under the system's
// temporary directory so that later runs load it in seconds instead of
// building it again (10M customers and ~720M event records take a while).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/segd-db/segd/index"
)

// EventDataOptions say which data set to build.
type EventDataOptions struct {
	Entities int
	Seed     uint64
	Clock    time.Time // the engine's clock and the end of the year (EventClock when zero)
	Fields   []string  // the event fields tracked (DefaultEventFields when empty)
	Progress io.Writer // progress lines (nil: none)
}

// DefaultEventFields are the fields of the benchmarks' data set: page views
// only when asked for.
var DefaultEventFields = []string{FieldPurchase, FieldSpend, FieldCartAdd, FieldCoupon}

func (o *EventDataOptions) defaults() {
	if o.Clock.IsZero() {
		o.Clock = EventClock
	}
	if len(o.Fields) == 0 {
		o.Fields = DefaultEventFields
	}
	// In EventFields order, without repeats, so that the key is canonical.
	var fs []string
	for _, f := range EventFields {
		if slices.Contains(o.Fields, f) {
			fs = append(fs, f)
		}
	}
	o.Fields = fs
}

// ParseEventFields reads a comma-separated list of event fields ("" and
// "default" give DefaultEventFields, "all" every field).
func ParseEventFields(s string) ([]string, error) {
	switch strings.TrimSpace(s) {
	case "", "default":
		return DefaultEventFields, nil
	case "all":
		return EventFields, nil
	}
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if !slices.Contains(EventFields, f) {
			return nil, fmt.Errorf("unknown event field %q: use some of %s", f, strings.Join(EventFields, ","))
		}
		out = append(out, f)
	}
	return out, nil
}

func (o EventDataOptions) pageViews() bool { return slices.Contains(o.Fields, FieldPageView) }

// EventDataInfo describes a built data set; it is cached next to its parts.
type EventDataInfo struct {
	Key         string            `json:"key"`
	Entities    int               `json:"entities"`
	Seed        uint64            `json:"seed"`
	Clock       time.Time         `json:"clock"`
	Fields      []string          `json:"fields"`
	Events      map[string]int64  `json:"events"`      // records tracked per field
	EventBytes  map[string]uint64 `json:"event_bytes"` // FIELD.INFO bytes per event field
	TotalBytes  uint64            `json:"total_bytes"` // engine SizeInBytes with everything
	BaseBytes   uint64            `json:"base_bytes"`  // TotalBytes less the event fields
	HeapBytes   uint64            `json:"heap_bytes"`  // Go heap held by the built engine
	BuildSecs   float64           `json:"build_seconds"`
	SnapBytes   int64             `json:"snapshot_bytes"`
	Checks      []Check           `json:"checks"` // counts of a few queries on the built engine
	PartNames   []string          `json:"parts"`
	Fingerprint string            `json:"fingerprint"`
}

// Check is the count of one query on a data set.
type Check struct {
	Expr  string `json:"expr"`
	Count uint64 `json:"count"`
}

// Has tells whether the data set tracks an event field.
func (i EventDataInfo) Has(field string) bool { return slices.Contains(i.Fields, field) }

// TotalEvents is the number of event records of the data set.
func (i EventDataInfo) TotalEvents() int64 {
	var n int64
	for _, v := range i.Events {
		n += v
	}
	return n
}

// checkExprs are counted on the built engine and again, in the same order,
// after every load of its snapshot: a cached data set whose answers differ
// is rebuilt. Those of fields the data set lacks are left out.
var checkExprs = []string{
	"purchase:" + TopCategory + " >= 3 IN 90d",
	"cart_add IN 7d AND NOT purchase IN 7d",
	"spend:" + MedianCategory + " >= 10000 IN 365d",
	"coupon_redeem EVER AND country:" + TopCountry,
	"page_view:" + TopCategory + " IN 30d",
}

// exprFields are the fields an expression of checkExprs needs.
func exprFields(expr string) []string {
	var out []string
	for _, f := range EventFields {
		if strings.Contains(expr, f) {
			out = append(out, f)
		}
	}
	return out
}

func (i EventDataInfo) checkable(expr string) bool {
	for _, f := range exprFields(expr) {
		if !i.Has(f) {
			return false
		}
	}
	return true
}

// eventFingerprint hashes the first customers' profiles and events, so that
// any change of the generators changes the cache key even when nobody
// bumped EventsVersion.
func eventFingerprint(o EventDataOptions) string {
	h := fnv.New64a()
	p := NewPopulation(o.Seed)
	var buf []Event
	for i := 0; i < 500; i++ {
		for _, m := range p.Customer(i).Mutations() {
			fmt.Fprintf(h, "%v", *m)
		}
		buf = p.Events(i, EventOptions{End: o.Clock, PageViews: o.pageViews()}, buf[:0])
		for _, ev := range buf {
			fmt.Fprintf(h, "%s|%d|%d;", ev.Term, ev.At, ev.Amount)
		}
	}
	return strconv.FormatUint(h.Sum64(), 36)
}

func (o EventDataOptions) key() string {
	fs := make([]string, len(o.Fields))
	for i, f := range o.Fields {
		fs[i] = strings.ReplaceAll(f, "_", "")
	}
	return fmt.Sprintf("events-v%d-%s-n%d-seed%d-end%d-%s", EventsVersion, eventFingerprint(o), o.Entities, o.Seed,
		o.Clock.Unix(), strings.Join(fs, "."))
}

// EventCacheDir is where built data sets are cached: SEGD_BENCH_CACHE, else
// segd-bench-cache under the system's temporary directory.
func EventCacheDir() string {
	if d := os.Getenv("SEGD_BENCH_CACHE"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "segd-bench-cache")
}

// BuildEventEngine builds the data set in a new engine: per chunk of
// customers, their profiles (ENT.SET/ENT.ADD mutations) and then their
// events with one TrackMany per field, generated by another goroutine.
func BuildEventEngine(ctx context.Context, o EventDataOptions) (*index.Engine, EventDataInfo, error) {
	o.defaults()
	info := EventDataInfo{Key: o.key(), Fingerprint: eventFingerprint(o), Entities: o.Entities, Seed: o.Seed, Clock: o.Clock, Fields: o.Fields,
		Events: map[string]int64{}, EventBytes: map[string]uint64{}}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	e := index.New()
	clock := o.Clock
	e.SetClock(func() time.Time { return clock })

	type chunk struct {
		muts []*index.Mutation
		recs map[string][]index.EventRecord
		n    int
	}
	const per = 2048 // customers per chunk
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan *chunk, 2)
	free := make(chan *chunk, 3)
	go func() {
		defer close(chunks)
		pop := NewPopulation(o.Seed)
		eo := EventOptions{End: o.Clock, PageViews: o.pageViews()}
		var buf []Event
		for from := 0; from < o.Entities; from += per {
			var ch *chunk
			select {
			case ch = <-free:
			default:
				ch = &chunk{recs: map[string][]index.EventRecord{}}
				for _, f := range o.Fields {
					ch.recs[f] = nil
				}
			}
			ch.muts = ch.muts[:0]
			for f := range ch.recs {
				ch.recs[f] = ch.recs[f][:0]
			}
			to := min(from+per, o.Entities)
			for i := from; i < to; i++ {
				c := pop.Customer(i)
				ch.muts = append(ch.muts, c.Mutations()...)
				buf = pop.Events(i, eo, buf[:0])
				for _, ev := range buf {
					if recs, ok := ch.recs[ev.Field]; ok {
						ch.recs[ev.Field] = append(recs, index.EventRecord{Key: c.Key, Value: ev.Value,
							At: time.Unix(ev.At, 0).UTC(), Amount: ev.Amount})
					}
				}
			}
			ch.n = to - from
			select {
			case chunks <- ch:
			case <-ctx.Done():
				return
			}
		}
	}()

	prog := NewProgress(o.Progress, fmt.Sprintf("build %s customers with events", sizeLabel(o.Entities)), "customers", int64(o.Entities))
	prog.Unit2 = "events"
	prog.Start()
	defer prog.Stop()
	for ch := range chunks {
		if err := ctx.Err(); err != nil {
			return nil, info, err
		}
		for _, m := range ch.muts {
			if _, err := e.Apply(m); err != nil {
				return nil, info, fmt.Errorf("profile of %s: %w", m.Key, err)
			}
		}
		for _, f := range o.Fields {
			recs := ch.recs[f]
			if len(recs) == 0 {
				continue
			}
			if _, err := e.TrackMany(f, recs); err != nil {
				return nil, info, fmt.Errorf("events of %s: %w", f, err)
			}
			info.Events[f] += int64(len(recs))
			prog.Add2(int64(len(recs)))
		}
		prog.Add(int64(ch.n))
		select {
		case free <- ch:
		default:
		}
	}
	prog.Stop()
	info.BuildSecs = time.Since(start).Seconds()
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if after.HeapAlloc > before.HeapAlloc {
		info.HeapBytes = after.HeapAlloc - before.HeapAlloc
	}
	info.TotalBytes = e.SizeInBytes()
	info.BaseBytes = info.TotalBytes
	for f := range info.Events {
		fi, err := e.FieldInfo(f)
		if err != nil {
			return nil, info, err
		}
		info.EventBytes[f] = fi.Bytes
		info.BaseBytes -= fi.Bytes
	}
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "built %d customers and %d event records in %.1fs: engine %.1f B/entity (events %.1f), Go heap %.1f B/entity\n",
			o.Entities, info.TotalEvents(), info.BuildSecs, perEntity(info.TotalBytes, o.Entities),
			perEntity(info.TotalBytes-info.BaseBytes, o.Entities), perEntity(info.HeapBytes, o.Entities))
	}
	return e, info, nil
}

func perEntity(b uint64, n int) float64 {
	if n <= 0 {
		return 0
	}
	return float64(b) / float64(n)
}

func sizeLabel(n int) string {
	if n >= 1000000 && n%1000000 == 0 {
		return strconv.Itoa(n/1000000) + "M"
	}
	return strconv.Itoa(n)
}

// EventData returns the data set's snapshot parts and description: from the
// cache in dir when it holds them, else built, snapshotted and cached there
// (dir "" caches nothing). The parts are the caller's.
func EventData(ctx context.Context, o EventDataOptions, dir string) ([]index.Part, EventDataInfo, error) {
	o.defaults()
	if dir != "" {
		parts, info, err := readEventCache(filepath.Join(dir, o.key()))
		if err == nil && index.LayoutOf(parts) != index.SnapshotLayout {
			parts, err = upgradeEventCache(dir, info, parts, o.Progress)
		}
		if err == nil {
			if o.Progress != nil {
				fmt.Fprintf(o.Progress, "event data set %s from the cache in %s\n", info.Key, dir)
			}
			return parts, info, nil
		}
		if !errors.Is(err, os.ErrNotExist) && o.Progress != nil {
			fmt.Fprintf(o.Progress, "cached event data set unusable (%v): building it again\n", err)
		}
	}
	e, info, err := BuildEventEngine(ctx, o)
	if err != nil {
		return nil, info, err
	}
	start := time.Now()
	parts, err := e.Snapshot()
	if err != nil {
		return nil, info, err
	}
	// The checks run after the snapshot, in a fixed order, so that a load
	// of the parts answers them exactly as the built engine did.
	if info.Checks, err = runChecks(e, info); err != nil {
		return nil, info, err
	}
	e = nil
	runtime.GC()
	debug.FreeOSMemory()
	for _, p := range parts {
		info.SnapBytes += int64(len(p.Data))
		info.PartNames = append(info.PartNames, p.Name)
	}
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "snapshot: %d parts, %s, in %.1fs\n", len(parts), Bytes(info.SnapBytes), time.Since(start).Seconds())
	}
	if dir != "" {
		if err := writeEventCache(dir, info, parts); err != nil {
			return nil, info, fmt.Errorf("cache the event data set: %w", err)
		}
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "cached in %s\n", filepath.Join(dir, info.Key))
		}
	}
	return parts, info, nil
}

// LoadedEvents is an engine holding the event data set, loaded from its
// snapshot parts like a server at start-up.
type LoadedEvents struct {
	Engine   *index.Engine
	Info     EventDataInfo
	LoadSecs float64 // LoadSnapshot alone
	Heap     uint64  // Go heap held after loading, the snapshot parts included (the engine references them)
}

// LoadEventEngine gets the data set (cached or built) and loads it into a
// new engine with its clock at the end of the year. The answers of a few
// queries are checked against the built engine's; a cached data set that
// fails the check is rebuilt once.
func LoadEventEngine(ctx context.Context, o EventDataOptions, dir string) (*LoadedEvents, error) {
	o.defaults()
	for attempt := 0; ; attempt++ {
		// The parts are the loaded engine's memory (zero-copy): the heap is
		// measured from before they are read.
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		parts, info, err := EventData(ctx, o, dir)
		if err != nil {
			return nil, err
		}
		e := index.New()
		clock := info.Clock
		e.SetClock(func() time.Time { return clock })
		start := time.Now()
		err = e.LoadSnapshot(parts)
		took := time.Since(start)
		if err == nil {
			err = verifyChecks(e, info)
		}
		if err != nil {
			if attempt == 0 && dir != "" {
				if o.Progress != nil {
					fmt.Fprintf(o.Progress, "cached event data set does not load as built (%v): building it again\n", err)
				}
				os.RemoveAll(filepath.Join(dir, info.Key))
				continue
			}
			return nil, err
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		le := &LoadedEvents{Engine: e, Info: info, LoadSecs: took.Seconds()}
		if after.HeapAlloc > before.HeapAlloc {
			le.Heap = after.HeapAlloc - before.HeapAlloc
		}
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "loaded %d customers with %d event records in %.2fs (LoadSnapshot), Go heap %.1f B/entity\n",
				info.Entities, info.TotalEvents(), le.LoadSecs, perEntity(le.Heap, info.Entities))
		}
		return le, nil
	}
}

func runChecks(e *index.Engine, info EventDataInfo) ([]Check, error) {
	var out []Check
	for _, q := range checkExprs {
		if !info.checkable(q) {
			continue
		}
		n, err := e.Count(q, time.Time{})
		if err != nil {
			return nil, fmt.Errorf("check %q: %w", q, err)
		}
		out = append(out, Check{Expr: q, Count: n})
	}
	return out, nil
}

func verifyChecks(e *index.Engine, info EventDataInfo) error {
	got, err := runChecks(e, info)
	if err != nil {
		return err
	}
	if !slices.Equal(got, info.Checks) {
		return fmt.Errorf("counts after loading %v, when built %v", got, info.Checks)
	}
	return nil
}

const cacheInfoFile = "info.json"

// upgradeEventCache rewrites a cached data set written in an older snapshot
// layout in the current one (a load and a snapshot, instead of a rebuild),
// so that what the benchmarks start segd on is what segd itself writes.
func upgradeEventCache(dir string, info EventDataInfo, parts []index.Part, progress io.Writer) ([]index.Part, error) {
	start := time.Now()
	e := index.New()
	if err := e.LoadSnapshot(parts); err != nil {
		return nil, fmt.Errorf("load for the layout upgrade: %w", err)
	}
	parts, err := e.Snapshot()
	if err != nil {
		return nil, err
	}
	info.SnapBytes, info.PartNames = 0, nil
	for _, p := range parts {
		info.SnapBytes += int64(len(p.Data))
		info.PartNames = append(info.PartNames, p.Name)
	}
	if err := writeEventCache(dir, info, parts); err != nil {
		return nil, fmt.Errorf("rewrite the cached event data set: %w", err)
	}
	if progress != nil {
		fmt.Fprintf(progress, "cached event data set rewritten in snapshot layout %d in %.1fs\n", index.SnapshotLayout, time.Since(start).Seconds())
	}
	return parts, nil
}

func writeEventCache(dir string, info EventDataInfo, parts []index.Part) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(dir, ".building-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for i, p := range parts {
		if err := os.WriteFile(filepath.Join(tmp, partFile(i)), p.Data, 0o644); err != nil {
			return err
		}
	}
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, cacheInfoFile), b, 0o644); err != nil {
		return err
	}
	final := filepath.Join(dir, info.Key)
	os.RemoveAll(final)
	return os.Rename(tmp, final)
}

func partFile(i int) string { return fmt.Sprintf("part-%03d", i) }

func readEventCache(path string) ([]index.Part, EventDataInfo, error) {
	var info EventDataInfo
	b, err := os.ReadFile(filepath.Join(path, cacheInfoFile))
	if err != nil {
		return nil, info, err
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, info, fmt.Errorf("%s: %w", cacheInfoFile, err)
	}
	parts := make([]index.Part, len(info.PartNames))
	for i, name := range info.PartNames {
		data, err := os.ReadFile(filepath.Join(path, partFile(i)))
		if err != nil {
			return nil, info, err
		}
		parts[i] = index.Part{Name: name, Data: data}
	}
	return parts, info, nil
}
