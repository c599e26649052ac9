// Package importer loads customers from CSV or NDJSON into a running segd
// server: `segd import FILE`. The input is streamed (never held whole),
// each row becomes one or a few commands (ENT.SET and ENT.ADD for a
// profile, ENT.TRACK for an NDJSON event object),
// and the commands go out in pipelined batches over a few connections. A
// row the parser or the server rejects is reported with its line number
// and never stops the others.
package importer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segd-db/segd/progress"
)

// Options say where to import and how.
type Options struct {
	Addr        string      // host:port of the server
	Password    string      // AUTH password, if the server has one
	TLS         *tls.Config // connect with TLS (nil: plain TCP)
	Format      string      // "csv" or "ndjson"; "" sniffs the first byte ('{' is NDJSON)
	Batch       int         // commands per pipeline (default 500)
	Connections int         // connections, each with its own pipeline (default 4)
	TagsSep     string      // separator of the values of a TAGS cell (default ";")
	Tags        []string    // CSV columns to import as TAGS besides those named "field[]"
	MaxErrors   int         // stop reading after this many bad rows (0: never)
	KeepErrors  int         // bad rows kept in Summary.First, lowest line numbers (default 20)
	Progress    io.Writer   // progress display (nil: none)
	Errors      io.Writer   // every bad row as "line N: reason\n", as they are found (nil: none)
}

// BadRow is a row that was not imported, or only in part.
type BadRow struct {
	Line   int
	Reason string
}

// Summary describes an import.
type Summary struct {
	Format   string
	Bytes    int64    // bytes read
	Rows     int64    // rows read, bad ones included
	Entities int64    // profile rows written in full (a key repeated counts each time)
	Events   int64    // event rows written (ENT.TRACK)
	Commands int64    // commands sent and answered
	Bad      int64    // rows not written, or written in part
	Empty    int64    // rows with a key but no value: nothing to send
	First    []BadRow // the bad rows with the lowest line numbers
	Stopped  bool     // reading stopped at Options.MaxErrors
	Took     time.Duration
}

// Import reads rows from in (size bytes if known, else 0) and writes them to
// the server. The error is fatal (the input cannot be read or parsed at all,
// the server cannot be reached or went away, ctx ended); bad rows are not
// errors, they are counted in the Summary.
func Import(ctx context.Context, o Options, in io.Reader, size int64) (Summary, error) {
	start := time.Now()
	if o.Batch <= 0 {
		o.Batch = 500
	}
	if o.Connections <= 0 {
		o.Connections = 4
	}
	if o.TagsSep == "" {
		o.TagsSep = ";"
	}
	if o.KeepErrors == 0 {
		o.KeepErrors = 20
	}
	bar := progress.New(o.Progress, "import", progress.Bytes, size) // bytes read, and rows
	bar.Unit2 = "rows"
	br := bufio.NewReaderSize(countingReader{in, bar}, 256<<10)
	im := &run{o: o}
	im.sum.Format = o.Format

	// The server first: a wrong address or password is fatal before a row
	// is read.
	ctl, err := dial(ctx, o.Addr, o.Password, o.TLS)
	if err != nil {
		return im.sum, fatalError{err}
	}
	defer ctl.close()
	schema, err := loadSchema(ctx, ctl)
	if err != nil {
		return im.sum, fatalError{fmt.Errorf("%s: %w", o.Addr, err)}
	}
	if im.sum.Format == "" {
		im.sum.Format = sniff(br)
	}
	var p parser
	switch im.sum.Format {
	case "csv":
		cp, err := newCSVParser(br, o.Tags, o.TagsSep)
		if err != nil {
			return im.sum, fatalError{err}
		}
		p = cp
	case "ndjson":
		if len(o.Tags) > 0 {
			return im.sum, fatalError{errors.New("--tags is for CSV; in NDJSON a list of strings is TAGS")}
		}
		p = newNDJSONParser(br)
	default:
		return im.sum, fatalError{fmt.Errorf("unknown format %q: csv or ndjson", o.Format)}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	im.cancel = cancel
	workers := make([]*worker, o.Connections)
	for i := range workers {
		c, err := dial(ctx, o.Addr, o.Password, o.TLS)
		if err != nil {
			for _, w := range workers[:i] {
				w.c.close()
			}
			return im.sum, fatalError{err}
		}
		workers[i] = &worker{im: im, c: c, ch: make(chan *batch, 2)}
	}
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(w.run)
	}
	bar.Start()

	seed := maphash.MakeSeed()
	pending := make([]*batch, len(workers))
	send := func(i int) {
		b := pending[i]
		pending[i] = nil
		if b == nil || len(b.rows) == 0 {
			return
		}
		select {
		case workers[i].ch <- b:
		case <-ctx.Done():
		}
	}
	var rec record
	var readErr error
	for n := 0; ; n++ {
		if im.halt.Load() || (n&63 == 0 && ctx.Err() != nil) {
			break
		}
		err := p.next(&rec)
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr = fmt.Errorf("reading the input: %w", err)
			break
		}
		bar.Add2(1)
		switch {
		case rec.bad != "":
			im.bad(rec.line, rec.bad)
			continue
		case rec.empty():
			im.mu.Lock()
			im.sum.Empty++
			im.mu.Unlock()
			continue
		}
		if why, err := schema.check(ctx, &rec); err != nil {
			im.fail(err)
			break
		} else if why != "" {
			im.bad(rec.line, why)
			continue
		}
		// Rows of one key always go down the same connection, in order.
		i := 0
		if len(workers) > 1 {
			i = int(maphash.String(seed, rec.key) % uint64(len(workers)))
		}
		if pending[i] == nil {
			pending[i] = newBatch()
		}
		if pending[i].add(&rec) >= o.Batch {
			send(i)
		}
	}
	if readErr == nil && !im.halted() {
		for i := range pending {
			send(i)
		}
	}
	for _, w := range workers {
		close(w.ch)
	}
	wg.Wait()
	for _, w := range workers {
		w.c.close()
	}
	bar.Stop()

	im.sum.Rows = bar.Done2()
	im.sum.Bytes = bar.Done()
	im.sum.Took = time.Since(start)
	slices.SortFunc(im.sum.First, func(a, b BadRow) int { return a.Line - b.Line })
	switch {
	case im.fatal != nil:
		return im.sum, im.fatal
	case readErr != nil:
		return im.sum, fatalError{readErr}
	case ctx.Err() != nil && !im.sum.Stopped:
		return im.sum, fatalError{fmt.Errorf("interrupted: %w", ctx.Err())}
	}
	return im.sum, nil
}

// sniff tells the format from the first byte that is not white space or a
// byte order mark: '{' is NDJSON, anything else CSV.
func sniff(br *bufio.Reader) string {
	head, _ := br.Peek(4096)
	head = bytes.TrimPrefix(head, []byte("\ufeff"))
	head = bytes.TrimLeft(head, " \t\r\n")
	if len(head) > 0 && head[0] == '{' {
		return "ndjson"
	}
	return "csv"
}

// run is the state one import shares between the reader and the workers.
type run struct {
	o      Options
	cancel context.CancelFunc
	halt   atomic.Bool // stop reading (fatal error or MaxErrors)

	mu    sync.Mutex
	sum   Summary
	fatal error
}

func (im *run) halted() bool { return im.halt.Load() }

// bad records a bad row.
func (im *run) bad(line int, reason string) {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.sum.Bad++
	if im.o.Errors != nil {
		fmt.Fprintf(im.o.Errors, "line %d: %s\n", line, reason)
	}
	first := im.sum.First
	if len(first) < im.o.KeepErrors {
		im.sum.First = append(first, BadRow{line, reason})
	} else if i := slices.IndexFunc(first, func(b BadRow) bool { return b.Line > line }); i >= 0 {
		// Keep the lowest line numbers: replace the highest one kept.
		hi := 0
		for j, b := range first {
			if b.Line > first[hi].Line {
				hi = j
			}
		}
		first[hi] = BadRow{line, reason}
	}
	if im.o.MaxErrors > 0 && im.sum.Bad >= int64(im.o.MaxErrors) && !im.sum.Stopped {
		im.sum.Stopped = true
		im.halt.Store(true)
	}
}

// fail records a fatal error and stops reading.
func (im *run) fail(err error) {
	im.mu.Lock()
	if im.fatal == nil {
		im.fatal = fatalError{err}
	}
	im.mu.Unlock()
	im.halt.Store(true)
	im.cancel()
}

// batch is a pipeline of encoded commands and the rows they come from.
type batch struct {
	buf    []byte
	rows   []batchRow
	labels []label // one per command
}

type batchRow struct {
	line  int
	cmds  int
	event bool // an event row (ENT.TRACK), counted in Summary.Events
}

type label struct{ cmd, field string }

func (l label) String() string {
	if l.field == "" {
		return l.cmd
	}
	return l.cmd + " " + l.field
}

var batches = sync.Pool{New: func() any { return &batch{buf: make([]byte, 0, 64<<10)} }}

func newBatch() *batch {
	b := batches.Get().(*batch)
	b.buf, b.rows, b.labels = b.buf[:0], b.rows[:0], b.labels[:0]
	return b
}

// add encodes the commands of one row and returns the commands in the batch.
func (b *batch) add(r *record) int {
	n := 0
	if len(r.sets) > 0 {
		b.buf = appendArrayHeader(b.buf, 2+len(r.sets))
		b.buf = appendArg(appendArg(b.buf, "ENT.SET"), r.key)
		for _, s := range r.sets {
			b.buf = appendArg(b.buf, s)
		}
		b.labels = append(b.labels, label{cmd: "ENT.SET"})
		n++
	}
	for _, a := range r.adds {
		b.buf = appendArrayHeader(b.buf, 3+len(a.vals))
		b.buf = appendArg(appendArg(appendArg(b.buf, "ENT.ADD"), r.key), a.field)
		for _, v := range a.vals {
			b.buf = appendArg(b.buf, v)
		}
		b.labels = append(b.labels, label{cmd: "ENT.ADD", field: a.field})
		n++
	}
	if len(r.track) > 0 {
		b.buf = appendArrayHeader(b.buf, 1+len(r.track))
		b.buf = appendArg(b.buf, "ENT.TRACK")
		for _, s := range r.track {
			b.buf = appendArg(b.buf, s)
		}
		b.labels = append(b.labels, label{cmd: "ENT.TRACK"})
		n++
	}
	b.rows = append(b.rows, batchRow{line: r.line, cmds: n, event: len(r.track) > 0})
	return len(b.labels)
}

// worker owns one connection: it writes batches as they come and a second
// goroutine reads their replies, so writing never waits for replies.
type worker struct {
	im     *run
	c      *conn
	ch     chan *batch
	broken atomic.Bool
}

func (w *worker) run() {
	inflight := make(chan *batch, 4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := range inflight {
			if !w.broken.Load() {
				w.replies(b)
			}
			batches.Put(b)
		}
	}()
	for b := range w.ch {
		if w.broken.Load() {
			batches.Put(b)
			continue
		}
		inflight <- b
		if err := w.c.write(b.buf); err != nil {
			w.lost(err)
		}
	}
	close(inflight)
	<-done
}

func (w *worker) lost(err error) {
	if w.broken.CompareAndSwap(false, true) {
		w.c.close()
		w.im.fail(fmt.Errorf("connection to %s lost: %w", w.im.o.Addr, err))
	}
}

// replies reads the replies of a batch and accounts for its rows.
func (w *worker) replies(b *batch) {
	var good, events, cmds int64
	var bad []BadRow
	k := 0
	for _, r := range b.rows {
		var errs, wrote []string
		for range r.cmds {
			msg, isErr, err := w.c.reply()
			if err != nil {
				w.lost(err)
				w.account(good, events, cmds, bad)
				return
			}
			cmds++
			if isErr {
				errs = append(errs, b.labels[k].String()+": "+msg)
			} else {
				wrote = append(wrote, b.labels[k].String())
			}
			k++
		}
		switch {
		case len(errs) == 0 && r.event:
			events++
		case len(errs) == 0:
			good++
		case len(errs) < r.cmds:
			bad = append(bad, BadRow{r.line, strings.Join(errs, "; ") + " (written: " + strings.Join(wrote, ", ") + ")"})
		default:
			bad = append(bad, BadRow{r.line, strings.Join(errs, "; ")})
		}
	}
	w.account(good, events, cmds, bad)
}

func (w *worker) account(good, events, cmds int64, bad []BadRow) {
	w.im.mu.Lock()
	w.im.sum.Entities += good
	w.im.sum.Events += events
	w.im.sum.Commands += cmds
	w.im.mu.Unlock()
	for _, r := range bad {
		w.im.bad(r.Line, r.Reason)
	}
}
