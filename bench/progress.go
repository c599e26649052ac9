package bench

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Progress shows how far a long job is on one line of a terminal, redrawn
// about four times a second with '\r'; when the output is not a terminal it
// prints a plain line every few seconds instead. Add may be called from any
// goroutine.
//
// A job is counted (Total > 0: done/total, rate and ETA), timed (Duration >
// 0: elapsed against the duration, with count and rate) or open-ended
// (neither: count, rate and elapsed time).
type Progress struct {
	Label    string
	Unit     string        // what Add counts ("entities", "cmds"); may be empty
	Total    int64         // expected count, 0 if unknown
	Duration time.Duration // expected run time, 0 if unknown

	w        io.Writer
	tty      bool
	done     atomic.Int64
	start    time.Time
	stop     chan struct{}
	finished sync.WaitGroup
	once     sync.Once
	lastLen  int
}

// NewProgress prepares a progress display on w (normally os.Stderr).
func NewProgress(w io.Writer, label, unit string, total int64) *Progress {
	return &Progress{Label: label, Unit: unit, Total: total, w: w, tty: isTerminal(w)}
}

// isTerminal tells whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Start begins redrawing. A nil Progress or a nil writer shows nothing.
func (p *Progress) Start() *Progress {
	if p == nil || p.w == nil {
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

// Done is the count so far.
func (p *Progress) Done() int64 {
	if p == nil {
		return 0
	}
	return p.done.Load()
}

// Stop draws the final state and ends the line.
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

func (p *Progress) render(el time.Duration, final bool) string {
	done := p.done.Load()
	rate := 0.0
	if el > 0 {
		rate = float64(done) / el.Seconds()
	}
	unit := ""
	if p.Unit != "" {
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
		fmt.Fprintf(&b, "  %s/%s%s", Count(float64(done)), Count(float64(p.Total)), unit)
	case counted:
		fmt.Fprintf(&b, "  %s%s", Count(float64(done)), unit)
	}
	if counted {
		fmt.Fprintf(&b, "  %s/s", Count(rate))
	}
	switch {
	case final:
		fmt.Fprintf(&b, "  in %s", roundDur(el))
	case p.Total > 0 && rate > 0:
		eta := time.Duration(float64(p.Total-done) / rate * float64(time.Second))
		fmt.Fprintf(&b, "  %s  ETA %s", roundDur(el), roundDur(eta))
	case p.Duration > 0:
		fmt.Fprintf(&b, "  %s/%s", roundDur(el), roundDur(p.Duration))
	default:
		fmt.Fprintf(&b, "  %s", roundDur(el))
	}
	return b.String()
}

func bar(frac float64, width int) string {
	n := int(frac * float64(width))
	n = max(0, min(n, width))
	return "[" + strings.Repeat("=", n) + strings.Repeat(" ", width-n) + "]"
}

func roundDur(d time.Duration) time.Duration {
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
