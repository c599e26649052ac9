// Package progress draws how far a long job is on one line of a terminal,
// redrawn about four times a second with '\r'; when the output is not a
// terminal it prints a plain line every few seconds instead, and nothing at
// all when the writer is nil. It imports nothing from segd.
package progress

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Bytes is the unit of a counter of bytes: its values and rate are shown as
// B, KiB, MiB or GiB instead of as counts.
const Bytes = "bytes"

// Progress is one progress display. Its counters may be set or added to from
// any goroutine, and they count even when nothing is drawn.
//
// A job is counted (Total > 0: bar, done/total, rate and ETA), timed
// (Duration > 0: bar, elapsed against the duration, with count and rate) or
// open-ended (neither: count, rate and elapsed time).
type Progress struct {
	Label    string
	Unit     string        // what the main counter counts ("entities", Bytes); may be empty
	Total    int64         // expected count, 0 if unknown
	Duration time.Duration // expected run time, 0 if unknown
	Unit2    string        // what the second counter counts ("rows"); empty: no second counter

	w        io.Writer
	tty      bool
	done     atomic.Int64
	done2    atomic.Int64
	start    time.Time
	stop     chan struct{}
	finished sync.WaitGroup
	once     sync.Once
	lastLen  int
}

// New prepares a progress display on w (normally os.Stderr; nil draws
// nothing). Start begins drawing.
func New(w io.Writer, label, unit string, total int64) *Progress {
	return &Progress{Label: label, Unit: unit, Total: total, w: w, tty: IsTerminal(w)}
}

// IsTerminal tells whether w is a character device (a terminal).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || f == nil {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Start begins redrawing and returns p. A nil Progress or a nil writer shows
// nothing.
func (p *Progress) Start() *Progress {
	if p == nil || p.w == nil || p.stop != nil {
		return p
	}
	p.start = time.Now()
	p.stop = make(chan struct{})
	every := 250 * time.Millisecond
	if !p.tty {
		every = 5 * time.Second
	}
	p.finished.Add(1)
	go func() {
		defer p.finished.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.draw(false)
			}
		}
	}()
	return p
}

// Add counts n more units done.
func (p *Progress) Add(n int64) {
	if p != nil {
		p.done.Add(n)
	}
}

// Set sets the count done to n.
func (p *Progress) Set(n int64) {
	if p != nil {
		p.done.Store(n)
	}
}

// Done is the count so far.
func (p *Progress) Done() int64 {
	if p == nil {
		return 0
	}
	return p.done.Load()
}

// Add2 counts n more units of the second counter.
func (p *Progress) Add2(n int64) {
	if p != nil {
		p.done2.Add(n)
	}
}

// Set2 sets the second counter to n.
func (p *Progress) Set2(n int64) {
	if p != nil {
		p.done2.Store(n)
	}
}

// Done2 is the second counter so far.
func (p *Progress) Done2() int64 {
	if p == nil {
		return 0
	}
	return p.done2.Load()
}

// Stop draws the final state and ends the line. It may be called more than
// once.
func (p *Progress) Stop() {
	if p == nil || p.w == nil || p.stop == nil {
		return
	}
	p.once.Do(func() {
		close(p.stop)
		p.finished.Wait()
		p.draw(true)
	})
}

func (p *Progress) draw(final bool) {
	line := p.render(time.Since(p.start), final)
	if p.tty {
		pad := ""
		if n := p.lastLen - len(line); n > 0 {
			pad = strings.Repeat(" ", n)
		}
		p.lastLen = len(line)
		end := ""
		if final {
			end = "\n"
		}
		fmt.Fprintf(p.w, "\r%s%s%s", line, pad, end)
		return
	}
	fmt.Fprintln(p.w, line)
}

// format shows n of unit: a size for Bytes, else a count.
func format(n float64, unit string) string {
	if unit == Bytes {
		return Size(int64(n))
	}
	return Count(n)
}

func (p *Progress) render(el time.Duration, final bool) string {
	done := p.done.Load()
	rate := 0.0
	if el > 0 {
		rate = float64(done) / el.Seconds()
	}
	unit := ""
	if p.Unit != "" && p.Unit != Bytes {
		unit = " " + p.Unit
	}
	var b strings.Builder
	b.WriteString(p.Label)
	frac := -1.0
	switch {
	case p.Total > 0:
		frac = float64(done) / float64(p.Total)
	case p.Duration > 0:
		frac = el.Seconds() / p.Duration.Seconds()
	}
	if frac >= 0 {
		if frac > 1 || final {
			frac = min(frac, 1)
		}
		b.WriteString(" " + bar(frac, 24) + fmt.Sprintf(" %3.0f%%", frac*100))
	}
	counted := p.Total > 0 || p.Unit != "" || done > 0
	switch {
	case p.Total > 0:
		fmt.Fprintf(&b, "  %s/%s%s", format(float64(done), p.Unit), format(float64(p.Total), p.Unit), unit)
	case counted:
		fmt.Fprintf(&b, "  %s%s", format(float64(done), p.Unit), unit)
	}
	if counted {
		fmt.Fprintf(&b, "  %s/s", format(rate, p.Unit))
	}
	if p.Unit2 != "" {
		done2 := p.done2.Load()
		rate2 := 0.0
		if el > 0 {
			rate2 = float64(done2) / el.Seconds()
		}
		fmt.Fprintf(&b, "  %s %s  %s %s/s", format(float64(done2), p.Unit2), p.Unit2, format(rate2, p.Unit2), p.Unit2)
	}
	switch {
	case final:
		fmt.Fprintf(&b, "  in %s", RoundDur(el))
	case p.Total > 0 && rate > 0:
		eta := time.Duration(float64(max(p.Total-done, 0)) / rate * float64(time.Second))
		fmt.Fprintf(&b, "  %s  ETA %s", RoundDur(el), RoundDur(eta))
	case p.Duration > 0:
		fmt.Fprintf(&b, "  %s/%s", RoundDur(el), RoundDur(p.Duration))
	default:
		fmt.Fprintf(&b, "  %s", RoundDur(el))
	}
	return b.String()
}

func bar(frac float64, width int) string {
	n := int(frac * float64(width))
	n = max(0, min(n, width))
	return "[" + strings.Repeat("=", n) + strings.Repeat(" ", width-n) + "]"
}

// RoundDur rounds d for display: to the second from a minute up, to a tenth
// of a second from a second up, else to the millisecond.
func RoundDur(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

// Count formats a count compactly: 950, 12.3k, 4.56M, 1.2G.
func Count(n float64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fG", n/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", n/1e6)
	case n >= 1e4:
		return fmt.Sprintf("%.1fk", n/1e3)
	}
	return fmt.Sprintf("%.0f", n)
}

// Size formats a byte count: 512B, 1.5KiB, 96.3MiB, 1.02GiB.
func Size(n int64) string {
	f := float64(n)
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2fGiB", f/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMiB", f/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fKiB", f/(1<<10))
	}
	return strconv.FormatInt(n, 10) + "B"
}
