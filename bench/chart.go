package bench

// A latency percentile chart: hand-written, self-contained SVG with a log-
// scale latency axis, one group per command or class, one dot-and-stem per
// percentile, and segd's and Redis's series side by side when both are there.

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// ChartSeries is one server's latency summary for one group.
type ChartSeries struct {
	Server  string // "segd" or "Redis"
	Latency Latency
}

// ChartGroup is one command or class on the chart.
type ChartGroup struct {
	Name   string
	Series []ChartSeries
}

// Chart is what WriteSVG draws.
type Chart struct {
	Title    string
	Subtitle string
	Groups   []ChartGroup
}

// Percentiles drawn, in order, with their colours.
var chartPercentiles = []struct {
	name  string
	color string
	get   func(Latency) float64
}{
	{"p50", "#4c78a8", func(l Latency) float64 { return l.P50 }},
	{"p90", "#f2a93b", func(l Latency) float64 { return l.P90 }},
	{"p99", "#e45756", func(l Latency) float64 { return l.P99 }},
	{"p99.9", "#7b3294", func(l Latency) float64 { return l.P999 }},
}

// chartJSON holds the fields of `segd-bench wire --json` and `segd-bench
// redis --json` that the chart reads.
type chartJSON struct {
	Entities int                  `json:"entities"`
	Runs     map[string]RunResult `json:"runs"`
	Classes  []struct {
		Class string    `json:"class"`
		Segd  RunResult `json:"segd"`
		Redis RunResult `json:"redis"`
	} `json:"classes"`
	// segd-bench run --json
	Mix string     `json:"mix"`
	Ops []OpResult `json:"commands"`
}

// AddChartJSON adds the latencies of one JSON report (wire, redis or run) to
// c. Groups already present with the same name get the new series appended
// unless the server is already there. It returns the report's entity count.
func (c *Chart) AddChartJSON(r io.Reader) (int, error) {
	var j chartJSON
	if err := json.NewDecoder(r).Decode(&j); err != nil {
		return 0, err
	}
	n := 0
	switch {
	case len(j.Classes) > 0:
		for _, cl := range j.Classes {
			for _, run := range []struct {
				server string
				r      RunResult
			}{{"segd", cl.Segd}, {"Redis", cl.Redis}} {
				if l, ok := runLatency(run.r); ok {
					c.add(cl.Class, run.server, l)
					n++
				}
			}
		}
	case len(j.Runs) > 0:
		mixes := make([]string, 0, len(j.Runs))
		for m := range j.Runs {
			mixes = append(mixes, m)
		}
		sort.Strings(mixes)
		for _, m := range mixes {
			for _, o := range j.Runs[m].Ops {
				if o.Count > 0 {
					c.add(o.Command+" (wire)", "segd", o.Latency)
					n++
				}
			}
		}
	case len(j.Ops) > 0:
		for _, o := range j.Ops {
			if o.Count > 0 {
				c.add(o.Command, "segd", o.Latency)
				n++
			}
		}
	}
	if n == 0 {
		return j.Entities, fmt.Errorf("no latencies found (expected the JSON of segd-bench wire, redis or run)")
	}
	return j.Entities, nil
}

// runLatency is the latency of a run's single logical command.
func runLatency(r RunResult) (Latency, bool) {
	for _, o := range r.Ops {
		if o.Count > 0 {
			return o.Latency, true
		}
	}
	return Latency{}, false
}

func (c *Chart) add(group, server string, l Latency) {
	for i := range c.Groups {
		g := &c.Groups[i]
		if g.Name != group {
			continue
		}
		for _, s := range g.Series {
			if s.Server == server {
				return // first report wins
			}
		}
		g.Series = append(g.Series, ChartSeries{Server: server, Latency: l})
		return
	}
	c.Groups = append(c.Groups, ChartGroup{Name: group, Series: []ChartSeries{{Server: server, Latency: l}}})
}

// WriteSVG writes the chart as a standalone SVG document.
func (c Chart) WriteSVG(w io.Writer) error {
	const (
		left, right, top, bottom = 70.0, 24.0, 78.0, 96.0
		plotH                    = 360.0
		seriesW                  = 76.0
		groupGap                 = 28.0
	)
	nSeries := 0
	groupW := make([]float64, len(c.Groups))
	groupLines := make([][]string, len(c.Groups))
	used := -groupGap
	for i, g := range c.Groups {
		nSeries += len(g.Series)
		groupLines[i] = splitLabel(g.Name)
		groupW[i] = float64(len(g.Series)) * seriesW
		for _, l := range groupLines[i] {
			groupW[i] = math.Max(groupW[i], float64(len(l))*7.5+8)
		}
		used += groupW[i] + groupGap
	}
	if nSeries == 0 {
		return fmt.Errorf("chart has no data")
	}
	plotW := used + 2*groupGap
	width := math.Max(left+plotW+right, 640)
	plotW = width - left - right
	height := top + plotH + bottom

	// Log axis bounds: whole decades around the data.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, g := range c.Groups {
		for _, s := range g.Series {
			for _, p := range chartPercentiles {
				v := math.Max(p.get(s.Latency), 1)
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	dLo, dHi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if dHi <= dLo {
		dHi = dLo + 1
	}
	y := func(us float64) float64 {
		v := math.Log10(math.Max(us, 1))
		return top + plotH - (v-dLo)/(dHi-dLo)*plotH
	}

	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="Helvetica, Arial, sans-serif" font-size="12">`+"\n",
		width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#ffffff"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.1f" y="26" font-size="17" font-weight="bold">%s</text>`+"\n", left, esc(c.Title))
	if c.Subtitle != "" {
		fmt.Fprintf(&b, `<text x="%.1f" y="46" fill="#555">%s</text>`+"\n", left, esc(c.Subtitle))
	}

	// Legend: percentiles, and the server marker shapes.
	lx := left
	for _, p := range chartPercentiles {
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="62" r="5" fill="%s"/><text x="%.1f" y="66">%s</text>`+"\n", lx+5, p.color, lx+14, p.name)
		lx += 62
	}
	fmt.Fprintf(&b, `<circle cx="%.1f" cy="62" r="5" fill="#888"/><text x="%.1f" y="66">segd</text>`+"\n", lx+10, lx+19)
	fmt.Fprintf(&b, `<rect x="%.1f" y="57" width="10" height="10" fill="#888" transform="rotate(45 %.1f 62)"/><text x="%.1f" y="66">Redis</text>`+"\n",
		lx+62, lx+67, lx+76)

	// Grid and y axis: decades labelled, 2× and 5× as light lines.
	for d := dLo; d <= dHi; d++ {
		for _, m := range []float64{1, 2, 5} {
			us := m * math.Pow(10, d)
			if d == dHi && m > 1 {
				break
			}
			yy := y(us)
			stroke, dash := "#ddd", ` stroke-dasharray="3,3"`
			if m == 1 {
				stroke, dash = "#bbb", ""
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end" fill="#333">%s</text>`+"\n", left-8, yy+4, esc(decade(us)))
			}
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"%s/>`+"\n", left, yy, left+plotW, yy, stroke, dash)
		}
	}
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`+"\n", left, top, left, top+plotH)
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`+"\n", left, top+plotH, left+plotW, top+plotH)
	fmt.Fprintf(&b, `<text transform="translate(16 %.1f) rotate(-90)" text-anchor="middle" fill="#333">latency (log scale)</text>`+"\n", top+plotH/2)
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#333">command / class</text>`+"\n", left+plotW/2, height-12)

	// Groups.
	x := left + (plotW-used)/2
	for gi, g := range c.Groups {
		gx := x
		x += (groupW[gi] - float64(len(g.Series))*seriesW) / 2
		for _, s := range g.Series {
			cx := x + seriesW/2
			fill := "#f4f6fa"
			if s.Server == "Redis" {
				fill = "#fbf3ee"
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n", x+3, top, seriesW-6, plotH, fill)
			// Stem from p50 to p99.9.
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#999" stroke-width="2"/>`+"\n",
				cx, y(s.Latency.P50), cx, y(s.Latency.P999))
			for i, p := range chartPercentiles {
				v := p.get(s.Latency)
				px, py := cx, y(v)
				title := fmt.Sprintf("%s %s %s: %s", g.Name, s.Server, p.name, Micros(v))
				if s.Server == "Redis" {
					fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="9" height="9" fill="%s" stroke="#fff" transform="rotate(45 %.1f %.1f)"><title>%s</title></rect>`+"\n",
						px-4.5, py-4.5, p.color, px, py, esc(title))
				} else {
					fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="5.5" fill="%s" stroke="#fff"><title>%s</title></circle>`+"\n", px, py, p.color, esc(title))
				}
				// Value label on the right of p50 and p99.9.
				if i == 0 || i == len(chartPercentiles)-1 {
					fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="9" fill="#444">%s</text>`+"\n", px+8, py+3, esc(Micros(v)))
				}
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="11" fill="#333">%s</text>`+"\n", cx, top+plotH+16, esc(s.Server))
			x += seriesW
		}
		for li, l := range groupLines[gi] {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-weight="bold" fill="#222">%s</text>`+"\n",
				gx+groupW[gi]/2, top+plotH+36+float64(li)*15, esc(l))
		}
		x = gx + groupW[gi] + groupGap
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func esc(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// splitLabel breaks a group name before a parenthesis: "ENT.SET (wire)".
func splitLabel(name string) []string {
	if i := strings.Index(name, " ("); i > 0 {
		return []string{name[:i], name[i+1:]}
	}
	return []string{name}
}

// decade formats a power of ten of microseconds: 1µs, 10µs, 1ms, 100ms, 1s, 10s.
func decade(us float64) string {
	switch {
	case us >= 1e6:
		return fmt.Sprintf("%gs", us/1e6)
	case us >= 1e3:
		return fmt.Sprintf("%gms", us/1e3)
	}
	return fmt.Sprintf("%gµs", us)
}
