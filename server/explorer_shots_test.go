package server

// Two tools run as tests, each skipped unless asked for:
//
//   - TestExplorerScreenshots (make screenshots) regenerates the explorer's
//     screenshots in docs/: a server with a generated population and a
//     month of simulated writes (its clock runs a month behind and catches
//     up), driven in Chromium.
//   - TestExplorerTimings (make bench-explorer) measures the page loads and
//     the live count on the bench population (1M customers by default).

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/redis/go-redis/v9"

	"github.com/segd-db/segd/bench"
	"github.com/segd-db/segd/index"
)

// shotSegments are the segments of the screenshots and of the timings.
var shotSegments = [][2]string{
	{"vip", "tier:(gold,platinum) AND income >= 40000"},
	{"young_fitness", "age:[18 TO 29] AND interests:i1"},
	{"c1_mobile", "country:c1 AND device:(ios,android)"},
	{"email_only", "optins:email AND NOT optins:(sms,push)"},
	{"cart_abandoners", "cart_add IN 7d AND NOT purchase IN 7d"},
	{"vip_abandoners", "@vip AND @cart_abandoners"},
}

func TestExplorerScreenshots(t *testing.T) {
	dir := os.Getenv("SEGD_SCREENSHOTS")
	if dir == "" {
		t.Skip("set SEGD_SCREENSHOTS to a directory to regenerate the explorer's screenshots there (make screenshots writes docs/)")
	}
	chromiumPath(t)
	const customers = 20000
	var lag atomic.Int64 // how far, in seconds, the server's clock runs behind
	lag.Store(30 * 86400)
	srv := startServer(t, func(c *Config) {
		c.InMemory = true
		c.clock = func() time.Time { return time.Now().Add(-time.Duration(lag.Load()) * time.Second) }
	})
	c := newClient(t, srv, 3)
	loadPopulation(t, c, 42, customers)
	do(t, c, "ENT.TRACK", "u:0", "cart_add")
	do(t, c, "ENT.TRACK", "u:0", "purchase:shoes")
	for _, s := range shotSegments {
		do(t, c, "SEGMENT.CREATE", s[0], s[1])
	}

	// A month of writes, every 6 hours, then the last hour every 5 minutes.
	rng := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	step := func(frac float64) {
		pipe := c.Pipeline()
		key := func() string { return bench.Key(rng.IntN(customers)) }
		n := func(base float64) int { return int(base*frac + rng.Float64()) }
		for range n(25) {
			tier := "gold"
			if rng.IntN(5) == 0 {
				tier = "platinum"
			}
			pipe.Do(ctx, "ENT.SET", key(), "tier", tier)
		}
		for range n(8) {
			pipe.Do(ctx, "ENT.SET", key(), "tier", "bronze")
		}
		for range n(40) {
			pipe.Do(ctx, "ENT.TRACK", key(), "cart_add")
		}
		for range n(25) {
			pipe.Do(ctx, "ENT.TRACK", key(), []string{"purchase:shoes", "purchase:shirts", "purchase:bags"}[rng.IntN(3)], "AMOUNT", 1+rng.IntN(3))
		}
		for range n(10) {
			pipe.Do(ctx, "ENT.ADD", key(), "interests", "i1")
		}
		for range n(5) {
			pipe.Do(ctx, "ENT.SET", key(), "device", "ios")
		}
		if pipe.Len() == 0 {
			return
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatalf("simulated writes: %v", err)
		}
	}
	for s := int64(0); s < 30*4; s++ {
		lag.Store(30*86400 - s*6*3600)
		step(1)
	}
	for m := int64(0); m < 12; m++ { // the last hour, every 5 minutes, at the same pace
		lag.Store(3600 - m*300)
		step(1.0 / 72)
	}
	lag.Store(0)

	base := explorerURL(srv)
	b := newBrowser(t, 1280, 900)
	shot := func(name string, height int64, url string, prepare func()) {
		t.Helper()
		b.do("size the window", chromedp.EmulateViewport(1280, height))
		b.open(url)
		pollJS[bool](b, "every section", `!!document.querySelector("#view").dataset.complete`)
		if prepare != nil {
			prepare()
		}
		// The whole page, whatever its height.
		h := browserGet(b, "measure the page", chromedp.Evaluate[int64](`document.documentElement.scrollHeight`))
		b.do("fit the window to the page", chromedp.EmulateViewport(1280, max(h, height)))
		png := browserGet(b, "screenshot "+name, chromedp.FullScreenshot(100))
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d KiB)", path, len(png)/1024)
	}

	shot("explorer-fields.png", 900, base+"/#/fields", nil)
	expr := "country:c1 AND age:[25 TO 40] AND interests:*"
	shot("explorer-builder.png", 900, base+"/#/builder?by=device&expr="+urlQuery(expr), func() {
		b.shownCount(expr)
		pollJS[bool](b, "the breakdown and the members", `document.querySelectorAll("#breakdown .bar-row").length > 0 && document.querySelectorAll("#sample a.key").length > 0`)
		b.do("name it", chromedp.SendKeys(chromedp.CSS("#segment-name"), "c1_25_40_engaged"))
	})
	bad := "country:c1 AND age:[25 TO"
	shot("explorer-builder-error.png", 520, base+"/#/builder?expr="+urlQuery(bad), func() {
		pollJS[bool](b, "the error", `!!document.querySelector("#error-mark")`)
	})
	shot("explorer-segments.png", 560, base+"/#/segments", nil)
	shot("explorer-segment.png", 1000, base+"/#/segment/vip", func() {
		pollJS[bool](b, "the live feed", `document.querySelector("#feed-status")?.dataset.state === "live"`)
		// A few customers move while the page is open.
		for i := 0; i < 6; i++ {
			k := bench.Key(100 + i*7)
			do(t, c, "ENT.SET", k, "tier", "platinum", "income", "90000")
			if i%3 == 2 {
				do(t, c, "ENT.SET", k, "tier", "bronze")
			}
		}
		pollJS[bool](b, "the feed rows", `document.querySelectorAll("#feed li.feed-row").length >= 8`)
		pollJS[bool](b, "the chart", `!!document.querySelector("#history-chart .uplot")`)
		b.do("let the row highlight fade", chromedp.Evaluate[chromedp.Void](`document.getAnimations().forEach(a => a.finish())`))
	})
	// The customer with the most segments among the first ones.
	best, most := "", -1
	for i := 0; i < 2000; i++ {
		if n := len(doArr(t, c, "SEGMENT.OF", bench.Key(i))); n > most {
			best, most = bench.Key(i), n
		}
	}
	do(t, c, "ENT.TRACK", best, "cart_add")
	shot("explorer-customer.png", 620, base+"/#/customer/"+best, nil)
	b.checkClean()
}

func urlQuery(s string) string {
	r := strings.NewReplacer("%", "%25", " ", "%20", "&", "%26", "#", "%23", "+", "%2B")
	return r.Replace(s)
}

// TestExplorerTimings loads SEGD_EXPLORER_TIMING customers of the bench
// population (with a year of cart adds and purchases for a third and a
// quarter of them) into an in-memory server, and measures the explorer:
// each API route over HTTP; each view in Chromium, from the navigation (a
// full load) and from a click (a move), until it is usable (its main
// content shown) and complete (every section), with each section's time
// and each API request's round trip and server time; and the live count's
// round trip.
func TestExplorerTimings(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SEGD_EXPLORER_TIMING"))
	if n <= 0 {
		t.Skip("set SEGD_EXPLORER_TIMING to a number of customers (make bench-explorer uses 1000000) to measure the explorer")
	}
	chromiumPath(t)
	srv := startServer(t, func(c *Config) { c.InMemory = true })
	start := time.Now()
	loadDirect(t, srv.Engine(), n)
	t.Logf("loaded %d customers in %.1fs", n, time.Since(start).Seconds())
	c := newClientOpts(t, srv, &redis.Options{Protocol: 3, ReadTimeout: time.Minute})
	for _, s := range shotSegments {
		do(t, c, "SEGMENT.CREATE", s[0], s[1])
	}
	base := explorerURL(srv)
	const runs = 15

	// The API over HTTP (loopback), as the page calls it.
	routes := []string{
		"/api/info",
		"/api/fields?top=8",
		"/api/segments?history=80",
		"/api/query/count?expr=" + urlQuery("country:c1 AND age:[25 TO 40] AND interests:*"),
		"/api/query/count?expr=" + urlQuery("(tier:gold OR income >= 50000) AND NOT optins:sms AND cart_add IN 30d"),
		"/api/query/groupby?field=device&limit=15&where=" + urlQuery("country:c1 AND age:[25 TO 40] AND interests:*"),
		"/api/query/members?count=12&cursor=500000&expr=" + urlQuery("country:c1 AND age:[25 TO 40] AND interests:*"),
		"/api/segments/vip",
		"/api/segments/vip/history",
		"/api/segments/vip/profile?limit=15&fresh=1",
		"/api/segments/vip/profile?limit=15",
		"/api/segments/vip/lookalike?count=10&fresh=1",
		"/api/segments/vip/lookalike?count=10",
		"/api/segments/vip/sample?count=10&seed=1",
		"/api/overlap?name=vip&name=young_fitness&name=c1_mobile&name=email_only",
		"/api/entity?key=u:42",
	}
	var rows []string
	for _, r := range routes {
		var ds []time.Duration
		for i := 0; i < runs; i++ {
			t0 := time.Now()
			resp, err := http.Get(base + r)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d", r, resp.StatusCode)
			}
			ds = append(ds, time.Since(t0))
		}
		rows = append(rows, fmt.Sprintf("| `GET %s` | %s | %s |", r, ms(median(ds)), ms(slices.Max(ds))))
	}
	t.Logf("API over HTTP, %d runs each:\n| route | median | max |\n|---|---|---|\n%s", runs, strings.Join(rows, "\n"))

	// Each view in Chromium: full loads (page, scripts and data) and moves
	// from another view (data only), each timed by the page itself
	// (window.segdTiming): when it is usable (its main content shown), when
	// it is complete (every section), each section, and each API request
	// with the server's time (Server-Timing).
	b := newBrowser(t, 1280, 900)
	const loads = 9
	seg := "young_fitness"
	inside := false
	// moveSegment changes the segment (a customer enters or leaves), so
	// that its persona and lookalikes must be computed again.
	moveSegment := func() {
		if inside {
			do(t, c, "ENT.SET", "u:timing", "age", "50")
		} else {
			do(t, c, "ENT.SET", "u:timing", "age", "20")
			do(t, c, "ENT.ADD", "u:timing", "interests", "i1")
		}
		inside = !inside
	}
	type viewCase struct {
		label, hash string
		before      func() // before each full load
	}
	cases := []viewCase{
		{"fields", "#/fields", nil},
		{"builder with an expression", "#/builder?expr=" + urlQuery("country:c1 AND age:[25 TO 40] AND interests:*"), nil},
		{"segments", "#/segments", nil},
		{"one segment, changed since its last opening (persona and lookalikes computed)", "#/segment/" + seg, moveSegment},
		{"one segment, unchanged (persona and lookalikes kept)", "#/segment/" + seg, nil},
		{"one customer", "#/customer/u:42", nil},
	}
	var summary, sections, requests []string
	for _, vc := range cases {
		var full, moved []pageTiming
		for i := 0; i < loads; i++ {
			if vc.before != nil {
				vc.before()
			}
			b.do("blank", chromedp.Navigate("about:blank"))
			b.do("open "+vc.hash, chromedp.Navigate(base+"/"+vc.hash))
			full = append(full, b.pageTiming(vc.hash))
			b.do("another view", chromedp.Evaluate[chromedp.Void](`location.hash = "#/nothing"`))
			pollJS[bool](b, "the other view", `document.querySelector("#view").dataset.route === "#/nothing" && document.querySelector("#view").dataset.state === "ready"`)
			if vc.before != nil {
				vc.before()
			}
			b.do("back", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = %s`, jsString(vc.hash))))
			moved = append(moved, b.pageTiming(vc.hash))
		}
		for _, tm := range full {
			if d := tm.duplicates(); d != "" {
				t.Errorf("%s: the page asked for %s more than once", vc.hash, d)
			}
		}
		pick := func(ts []pageTiming, f func(pageTiming) float64) string {
			v := make([]float64, len(ts))
			for i, tm := range ts {
				v[i] = f(tm)
			}
			return fmt.Sprintf("%.0f", medianF(v))
		}
		shell := "–"
		if _, ok := full[0].Sections["shell"]; ok {
			shell = pick(full, func(p pageTiming) float64 { return p.Sections["shell"] })
		}
		summary = append(summary, fmt.Sprintf("| %s | %s | %s | %s | **%s** | %s | %s | **%s** | %s |", vc.label,
			pick(full, func(p pageTiming) float64 { return p.HTML }), pick(full, func(p pageTiming) float64 { return p.App }), shell,
			pick(full, func(p pageTiming) float64 { return p.Ready }), pick(full, func(p pageTiming) float64 { return p.Ready - p.App }),
			pick(full, func(p pageTiming) float64 { return p.Complete }),
			pick(moved, func(p pageTiming) float64 { return p.Ready }), pick(moved, func(p pageTiming) float64 { return p.Complete })))
		var names []string
		for n := range full[0].Sections {
			names = append(names, n)
		}
		sort.Slice(names, func(i, j int) bool { return full[0].Sections[names[i]] < full[0].Sections[names[j]] })
		var parts []string
		for _, n := range names {
			parts = append(parts, fmt.Sprintf("%s %s", n, pick(full, func(p pageTiming) float64 { return p.Sections[n] })))
		}
		sections = append(sections, fmt.Sprintf("| %s | %s |", vc.label, strings.Join(parts, ", ")))
		// Each request of a full load: when it was asked, its round trip and the server's time.
		byPath := map[string][]apiTiming{}
		var order []string
		for _, tm := range full {
			for _, r := range tm.API {
				if _, ok := byPath[r.Path]; !ok {
					order = append(order, r.Path)
				}
				byPath[r.Path] = append(byPath[r.Path], r)
			}
		}
		var reqs []string
		for _, p := range order {
			rs := byPath[p]
			st, rt, sv := make([]float64, len(rs)), make([]float64, len(rs)), make([]float64, len(rs))
			for i, r := range rs {
				st[i], rt[i], sv[i] = r.Start, r.End-r.Start, r.Server
			}
			reqs = append(reqs, fmt.Sprintf("`%s` at %.0f: %.0f (server %.1f)", p, medianF(st), medianF(rt), medianF(sv)))
		}
		requests = append(requests, fmt.Sprintf("| %s | %s |", vc.label, strings.Join(reqs, "; ")))
	}
	t.Logf("Views in Chromium, milliseconds, medians of %d full loads (from the navigation) and %d moves from another view (from the click):\n"+
		"| view | page received | scripts run | shell | **usable** | usable − scripts run | complete | **usable, moved** | complete, moved |\n|---|---|---|---|---|---|---|---|---|\n%s",
		loads, loads, strings.Join(summary, "\n"))
	t.Logf("Each section, full loads, ms from the navigation (medians):\n| view | sections |\n|---|---|\n%s", strings.Join(sections, "\n"))
	t.Logf("The API requests of a full load (medians, ms: asked at, round trip, server time):\n| view | requests |\n|---|---|\n%s", strings.Join(requests, "\n"))

	// The live count: the round trip of each count as the builder asks it.
	b.open(base + "/#/builder")
	exprs := []string{"c", "country:c1", "country:c1 AND age >= 30", "country:c1 AND age >= 30 AND interests:i2",
		"country:c1 AND age >= 30 AND interests:i2 AND NOT tier:bronze", "(country:c1 OR country:c2) AND income >= 30000 AND optins:email",
		"cart_add IN 7d AND NOT purchase IN 7d", "purchase >= 2 IN 90d AND device:ios", "@vip AND NOT @cart_abandoners", "TOP 10% BY income"}
	var rtts []float64
	for _, e := range exprs {
		for i := 0; i < 3; i++ {
			// Each time another text, so that no answer is the last one again.
			typed := strings.Repeat("(", i) + e + strings.Repeat(")", i)
			b.do("type", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const x = document.querySelector("#expr"); x.value = %s; x.dispatchEvent(new Event("input")); })()`, jsString(typed))))
			if e == "c" {
				pollJS[bool](b, "the error", `!!document.querySelector("#expr-error")`)
				continue
			}
			b.shownCount(typed)
			rtts = append(rtts, pollJS[float64](b, "the round trip", `+document.querySelector("#count")?.dataset.rttMs`))
			// Let the breakdown and the members that follow a count finish first.
			pollJS[bool](b, "the breakdown and the members", fmt.Sprintf(`document.querySelector("#breakdown")?.dataset.expr === %[1]s && document.querySelector("#sample")?.dataset.expr === %[1]s`, jsString(strings.TrimSpace(typed))))
		}
	}
	sort.Float64s(rtts)
	t.Logf("Live count in Chromium (fetch round trip, %d counts of %d expressions): median %.1f ms, max %.1f ms", len(rtts), len(exprs)-1, medianF(rtts), rtts[len(rtts)-1])
	b.checkClean()
}

// loadDirect applies the bench population to the engine, bypassing the
// write log (the timing server is in memory), with cart adds and purchases
// spread over the last year.
func loadDirect(t testing.TB, e *index.Engine, n int) {
	t.Helper()
	p := bench.NewPopulation(42)
	for i := 0; i < n; i++ {
		for _, m := range p.Customer(i).Mutations() {
			if _, err := e.Apply(m); err != nil {
				t.Fatal(err)
			}
		}
	}
	now := e.Now()
	var carts, buys []index.EventRecord
	for i := 0; i < n; i++ {
		if i%3 == 0 {
			carts = append(carts, index.EventRecord{Key: bench.Key(i), At: now.Add(-time.Duration(i%365) * 24 * time.Hour)})
		}
		if i%4 == 0 {
			buys = append(buys, index.EventRecord{Key: bench.Key(i), Value: []string{"shoes", "shirts", "bags"}[i%3], At: now.Add(-time.Duration(i%300) * 24 * time.Hour), Amount: int64(1 + i%3)})
		}
	}
	if _, err := e.TrackMany("cart_add", carts); err != nil {
		t.Fatal(err)
	}
	if _, err := e.TrackMany("purchase", buys); err != nil {
		t.Fatal(err)
	}
}

// pageTiming is what the page measured of one load (window.segdTiming and
// the browser's navigation and resource timings), in ms from the
// navigation's start (a full load) or from the click (a move).
type pageTiming struct {
	HTML     float64            `json:"html"` // the page received
	App      float64            `json:"app"`  // the modules loaded, the first view starts
	Ready    float64            `json:"ready"`
	Complete float64            `json:"complete"`
	Sections map[string]float64 `json:"sections"`
	API      []apiTiming        `json:"api"`
}

type apiTiming struct {
	Path   string  `json:"path"`
	Start  float64 `json:"start"`
	End    float64 `json:"end"`
	Server float64 `json:"server"` // the Server-Timing header
}

// duplicates names the API requests asked twice (an early answer of
// boot.js not taken), or "".
func (p pageTiming) duplicates() string {
	seen := map[string]bool{}
	var dup []string
	for _, r := range p.API {
		if seen[r.Path] && !strings.Contains(r.Path, "/sample") && !strings.Contains(r.Path, "/members") {
			dup = append(dup, r.Path)
		}
		seen[r.Path] = true
	}
	return strings.Join(dup, ", ")
}

// pageTiming waits until the view of hash (any view but #/nothing) is
// complete and reads its timings.
func (b *browser) pageTiming(hash string) pageTiming {
	b.t.Helper()
	js := (`(() => { const m = document.querySelector("#view"); const t = window.segdTiming;
		if (!t || t.route === "#/nothing" || t.complete === null || !m.dataset.complete) return "";
		const n = performance.getEntriesByType("navigation")[0];
		const api = performance.getEntriesByType("resource").filter((e) => e.startTime >= t.start && new URL(e.name).pathname.startsWith("/api/") && !e.name.includes("/events"))
			.map((e) => { const u = new URL(e.name); u.searchParams.delete("seed"); u.searchParams.delete("cursor");
				const s = e.serverTiming.find((x) => x.name === "app");
				return { path: decodeURIComponent(u.pathname + u.search), start: e.startTime - t.start, end: e.responseEnd - t.start, server: s ? s.duration : -1 }; });
		return JSON.stringify({ html: t.first ? n.responseEnd : 0, app: t.first ? t.app : 0, ready: t.ready, complete: t.complete, sections: t.sections, api }); })()`)
	s := pollJS[string](b, "the timings of "+hash, js)
	var p pageTiming
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		b.t.Fatalf("timings of %s: %v", hash, err)
	}
	return p
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func medianF(fs []float64) float64 {
	s := slices.Clone(fs)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
