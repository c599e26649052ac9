package server

// The explorer (package explorer) as the server mounts it on the metrics
// address: its API and live feed over plain HTTP, and the page itself in a
// real headless Chromium driven with chromedp. The browser tests skip, with
// a message, when no Chromium is installed (Debian's chromium package;
// .ci/run installs it). SEGD_CHROMIUM names another binary.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"github.com/segd-db/segd/internal/testenv"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/redis/go-redis/v9"

	"github.com/segd-db/segd/bench"
)

// browserTimeout bounds each step of a browser test.
const browserTimeout = 20 * time.Second

// explorerURL is the explorer's address on a running test server.
func explorerURL(srv *Server) string { return "http://" + srv.MetricsAddr() }

// chromiumPath finds a Chromium to drive, or skips the test.
func chromiumPath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("SEGD_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testenv.Skip(t, "no Chromium found for the explorer's browser tests: install Debian's chromium package (apt-get install chromium; .ci/run does) or set SEGD_CHROMIUM to a Chrome or Chromium binary")
	return ""
}

// browser is a headless Chromium tab, with the page's uncaught exceptions,
// console errors and Content-Security-Policy violations collected.
type browser struct {
	t   testing.TB
	ctx context.Context

	mu       sync.Mutex
	problems []string
}

func newBrowser(t testing.TB, width, height int) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // root in a container
		chromedp.DisableGPU,
		chromedp.WindowSize(width, height),
		chromedp.Flag("lang", "en-US"),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	b := &browser{t: t, ctx: ctx}
	// The first action starts the browser; its context must live as long as the tab.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelA()
		t.Fatalf("start Chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			switch {
			case m.IsException():
				b.problem("exception: " + m.Text)
			case m.Type == chromedp.ConsoleError && m.Source == "":
				b.problem("console.error: " + m.Text)
			case strings.Contains(m.Text, "Content Security Policy"):
				b.problem("CSP: " + m.Text)
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		cancelA()
		<-done
	})
	return b
}

func (b *browser) problem(s string) {
	b.mu.Lock()
	b.problems = append(b.problems, s)
	b.mu.Unlock()
}

// checkClean fails the test if the page threw, logged an error or broke
// its Content-Security-Policy.
func (b *browser) checkClean() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		b.t.Errorf("page problem: %s", p)
	}
}

// do runs steps within browserTimeout.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// browserGet runs one action that returns a value, within browserTimeout.
func browserGet[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// pollJS evaluates js in the page until it is truthy, and returns that
// value. A poll that a navigation interrupts (the page's JavaScript context
// is replaced under it) starts again in the new page.
func pollJS[T any](b *browser, what, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	for {
		v, err := chromedp.Run(ctx, chromedp.Poll[T](js, chromedp.WithPollingTimeout(browserTimeout), chromedp.WithPollingInterval(20*time.Millisecond)))
		if err == nil {
			return v
		}
		if ctx.Err() == nil && (strings.Contains(err.Error(), "Cannot find context") || strings.Contains(err.Error(), "context was destroyed")) {
			continue
		}
		b.t.Fatalf("waiting for %s: %v", what, err)
	}
}

func browserText(b *browser, sel string) string {
	b.t.Helper()
	return browserGet(b, "read "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// open loads a view and waits until it has shown its data.
func (b *browser) open(url string) {
	b.t.Helper()
	b.do("open "+url, chromedp.Navigate(url))
	b.waitReady(url)
}

func (b *browser) waitReady(what string) {
	b.t.Helper()
	pollJS[bool](b, what+" to be ready", `(() => { const m = document.querySelector("#view"); return m.dataset.route === location.hash && m.dataset.state === "ready"; })()`)
}

// typeExpr replaces the builder's expression by typing text.
func (b *browser) typeExpr(expr string) {
	b.t.Helper()
	b.do("type "+expr, clearField("#expr"), chromedp.SendKeys(chromedp.CSS("#expr"), expr))
}

// clearField empties an input (SetValue refuses the empty string).
func clearField(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%s).value = ""`, jsString(sel)))
}

// shownCount waits until the builder shows the count of expr and returns it.
func (b *browser) shownCount(expr string) int64 {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const c = document.querySelector("#count"); return c && c.dataset.expr === %s && c.dataset.count; })()`, jsString(expr))
	s := pollJS[string](b, "the count of "+expr, js)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		b.t.Fatalf("count shown %q: %v", s, err)
	}
	return n
}

func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// loadPopulation writes n customers of the bench population through RESP.
func loadPopulation(t testing.TB, c *redis.Client, seed uint64, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := bench.NewPopulation(seed)
	pipe := c.Pipeline()
	for i := 0; i < n; i++ {
		for _, cmd := range p.Customer(i).Commands() {
			args := make([]any, len(cmd))
			for j, a := range cmd {
				args[j] = a
			}
			pipe.Do(ctx, args...)
		}
		if pipe.Len() >= 2000 || i == n-1 {
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatalf("load the population: %v", err)
			}
		}
	}
}

// ---- without a browser ----

// The server mounts the explorer next to /metrics and feeds it the same
// segment changes it publishes to subscribers.
func TestExplorerServed(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	c := newClient(t, srv, 3)
	do(t, c, "ENT.SET", "u:1", "country", "PT", "age", "31")
	do(t, c, "SEGMENT.CREATE", "pt", "country:PT")
	base := explorerURL(srv)

	var info map[string]any
	if st := getJSON(t, base+"/api/info", &info); st != 200 || info["entities"] != float64(1) || info["segments"] != float64(1) {
		t.Fatalf("/api/info: %d %v", st, info)
	}
	if st, body := httpGet(t, base+"/metrics"); st != 200 || !strings.Contains(body, "segd_commands_total") {
		t.Errorf("/metrics next to the explorer: %d", st)
	}
	if st, body := httpGet(t, base+"/"); st != 200 || !strings.Contains(body, "segd explorer") {
		t.Errorf("the page: %d", st)
	}
	var count struct{ Count int64 }
	getJSON(t, base+"/api/query/count?expr=country:PT", &count)
	if want := doInt(t, c, "QUERY.COUNT", "country:PT"); count.Count != want {
		t.Errorf("count %d, QUERY.COUNT says %d", count.Count, want)
	}

	// Live feed: a write through RESP arrives as an event.
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/segments/pt/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := sseLines(resp.Body)
	if ev := <-events; !strings.HasPrefix(ev, "event: ready") {
		t.Fatalf("first event %q", ev)
	}
	do(t, c, "ENT.SET", "u:2", "country", "PT")
	select {
	case ev := <-events:
		want := `{"segment":"pt","key":"u:2","change":"enter","version":1,"time":`
		if !strings.Contains(ev, "id: 1\n") || !strings.Contains(ev, want) {
			t.Errorf("event %q, want %s…", ev, want)
		}
	case <-ctx.Done():
		t.Fatal("no live event after the write")
	}

	// Saving a segment goes through the write log: it survives a restart.
	var saved struct{ Cardinality int64 }
	if st := postJSON(t, base+"/api/segments", `{"name":"pt2","expr":"country:PT"}`, &saved); st != 200 || saved.Cardinality != 2 {
		t.Fatalf("save: %d %+v", st, saved)
	}
	if got := doArr(t, c, "SEGMENT.LIST"); !reflect.DeepEqual(got, []any{"pt", "pt2"}) {
		t.Errorf("SEGMENT.LIST after saving from the explorer: %v", got)
	}

	// Shutting down ends the open feeds, saying why, rather than waiting.
	req, _ = http.NewRequestWithContext(ctx, "GET", base+"/api/segments/pt2/events", nil)
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	feed := sseLines(resp2.Body)
	<-feed // ready
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// (Without the explorer's Close, the HTTP server's Shutdown would cut
	// the stream after its timeout, with no event.)
	if ev := <-feed; !strings.Contains(ev, "event: dropped") || !strings.Contains(ev, "shutting down") {
		t.Errorf("last event %q, want dropped: shutting down", ev)
	}
}

func TestExplorerPassword(t *testing.T) {
	t.Parallel()
	srv := startServer(t, func(c *Config) { c.Password = "s3cret" })
	base := explorerURL(srv)
	var e map[string]any
	if st := getJSON(t, base+"/api/info", &e); st != 401 || e["code"] != "NOAUTH" {
		t.Errorf("without the password: %d %v", st, e)
	}
	req, _ := http.NewRequest("GET", base+"/api/info", nil)
	req.SetBasicAuth("default", "s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("with the password: %d", resp.StatusCode)
	}
	if st, _ := httpGet(t, base+"/metrics"); st != 200 {
		t.Errorf("/metrics stays open for Prometheus: %d", st)
	}
}

func getJSON(t testing.TB, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: not JSON: %v", url, err)
	}
	return resp.StatusCode
}

func postJSON(t testing.TB, url, body string, v any) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("POST %s: not JSON: %v", url, err)
	}
	return resp.StatusCode
}

// sseLines delivers each server-sent event (comments left out) as its text.
func sseLines(r io.Reader) <-chan string {
	ch := make(chan string, 16)
	go func() {
		defer close(ch)
		rd := bufio.NewReader(r)
		var ev strings.Builder
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				return
			}
			switch {
			case line == "\n":
				if ev.Len() > 0 {
					ch <- ev.String()
					ev.Reset()
				}
			case strings.HasPrefix(line, ":"):
			default:
				ev.WriteString(line)
			}
		}
	}()
	return ch
}

// ---- in Chromium ----

var syntaxAt = regexp.MustCompile(`syntax error at (\d+):`)

// A marketer's path through the page: build a segment by typing, check the
// live count against QUERY.COUNT and a syntax error's position, save it,
// watch a customer enter it live after a write through RESP, read its
// persona and its overlap with other segments, and open the customer.
func TestExplorerBrowser(t *testing.T) {
	chromiumPath(t)
	srv := startServer(t, nil)
	c := newClient(t, srv, 3)
	loadPopulation(t, c, 7, 2000)
	do(t, c, "SEGMENT.CREATE", "gold", "tier:(gold,platinum)")
	do(t, c, "SEGMENT.CREATE", "adults", "age >= 40")
	base := explorerURL(srv)
	b := newBrowser(t, 1280, 900)

	// Build by typing; the count is QUERY.COUNT's.
	b.open(base + "/#/builder")
	expr := "country:c1 AND age >= 30"
	b.typeExpr(expr)
	if got, want := b.shownCount(expr), doInt(t, c, "QUERY.COUNT", expr); got != want || want == 0 {
		t.Fatalf("builder shows %d for %q, QUERY.COUNT says %d", got, expr, want)
	}
	// The breakdown is QUERY.GROUPBY's first value, by default by a field
	// the expression does not fix (not country: one bar of 100%).
	firstBar := pollJS[string](b, "the breakdown", fmt.Sprintf(`(() => { const b = document.querySelector("#breakdown"); const r = b.querySelector(".bar-row"); return b.dataset.expr === %s && r && r.dataset.value; })()`, jsString(expr)))
	field := browserGet(b, "read the breakdown field", chromedp.Evaluate[string](`document.querySelector("#breakdown").dataset.field`))
	gb := doArr(t, c, "QUERY.GROUPBY", field, "WHERE", expr, "LIMIT", "1")
	if want := fmt.Sprint(gb[0].([]any)[1]); firstBar != want {
		t.Errorf("breakdown by %s starts at %s, QUERY.GROUPBY says %s", field, firstBar, want)
	}
	if bars := browserGet(b, "count the breakdown's bars", chromedp.Evaluate[int](`document.querySelectorAll("#breakdown .bar-row").length`)); field == "country" || bars < 2 {
		t.Errorf("the breakdown of %q is by %s by default, in %d bars: want a field the expression does not fix", expr, field, bars)
	}

	// A syntax error marks its position.
	bad := "country:c1 AND age >="
	b.typeExpr(bad)
	mark := pollJS[string](b, "the error mark", `(() => { const m = document.querySelector("#error-mark"); return m && m.title; })()`)
	m := syntaxAt.FindStringSubmatch(doErr(t, c, "QUERY.COUNT", bad))
	if m == nil || mark != "position "+m[1] {
		t.Errorf("error mark %q, QUERY.COUNT error names %v", mark, m)
	}

	// Save it.
	b.typeExpr(expr)
	b.shownCount(expr)
	b.do("save", chromedp.SendKeys(chromedp.CSS("#segment-name"), "c1_30plus"), chromedp.Click(chromedp.CSS("#save")),
		chromedp.WaitVisible(chromedp.CSS("#saved")))
	card := doInt(t, c, "SEGMENT.CARD", "c1_30plus")
	if want := doInt(t, c, "QUERY.COUNT", expr); card != want {
		t.Errorf("saved segment has %d members, QUERY.COUNT says %d", card, want)
	}

	// Open it: a write through RESP arrives in the live feed.
	b.do("open the saved segment", chromedp.Click(chromedp.CSS("#saved a")))
	b.waitReady("the segment view")
	// The size chart is drawn with uPlot from the page's own scripts: the
	// page asked for no file but its two bundles (and its icon).
	pollJS[bool](b, "the size chart", `!!document.querySelector("#history-chart canvas")`)
	if extra := browserGet(b, "the page's files", chromedp.Evaluate[string](`performance.getEntriesByType("resource").map((e) => new URL(e.name).pathname).filter((p) => p.startsWith("/assets/") && !/\/(app\.bundle\.(js|css)|favicon\.svg)$/.test(p)).join(" ")`)); extra != "" {
		t.Errorf("the page asked for %s besides its bundles", extra)
	}
	pollJS[bool](b, "the live feed", `document.querySelector("#feed-status")?.dataset.state === "live"`)
	pollJS[bool](b, "the persona's version", `!!document.querySelector("#persona .as-of")?.textContent`)
	do(t, c, "ENT.SET", "u:new", "country", "c1", "age", "50", "tier", "gold")
	change := pollJS[string](b, "the enter of u:new", `(() => { const r = document.querySelector('#feed li[data-key="u:new"]'); return r && r.dataset.change; })()`)
	if change != "enter" {
		t.Errorf("u:new shows as %q, want enter", change)
	}
	pollJS[bool](b, "the live cardinality", fmt.Sprintf(`document.querySelector("#seg-card")?.textContent === new Intl.NumberFormat("en-US").format(%d)`, card+1))
	// The size chart ends on the size the header shows, and the persona
	// says that it is being recomputed until it is for the version shown.
	pollJS[bool](b, "the chart's last size to be the header's", `(() => {
		const v = document.querySelector("#history-chart .u-legend tr.u-series:nth-child(2) td.u-value");
		return v && v.textContent === document.querySelector("#seg-card").textContent; })()`)
	personaFor := `(() => { const a = document.querySelector("#persona .as-of")?.textContent || ""; const v = document.querySelector("#seg-version").textContent;
		return a.startsWith("For version " + v + ",") || (/being recomputed/i.test(a) && a.includes("version " + v)); })()`
	pollJS[bool](b, "the persona to name the version shown, or say it is being recomputed", personaFor)
	pollJS[bool](b, "the persona for the version shown", `document.querySelector("#persona .as-of").textContent.startsWith("For version " + document.querySelector("#seg-version").textContent + ",")`)
	do(t, c, "ENT.SET", "u:new", "age", "20")
	pollJS[bool](b, "the exit of u:new", `(() => { const r = document.querySelector('#feed li[data-key="u:new"]'); return r && r.dataset.change === "exit"; })()`)

	// The persona is SEGMENT.PROFILE's.
	firstLift := pollJS[string](b, "the persona", `(() => { const r = document.querySelector("#persona .bar-row .bar-label"); return r && r.textContent; })()`)
	prof := doArr(t, c, "SEGMENT.PROFILE", "c1_30plus", "LIMIT", "15")
	rows := browserGet(b, "count the persona rows", chromedp.Evaluate[int](`document.querySelectorAll("#persona .bar-row").length`))
	if top := prof[0].([]any); firstLift != fmt.Sprintf("%s = %s", top[0], top[1]) || rows != len(prof) {
		t.Errorf("persona starts with %q (%d rows), SEGMENT.PROFILE with %v (%d)", firstLift, rows, top, len(prof))
	}

	// The overlap heatmap is SEGMENT.OVERLAP's, for the segments chosen.
	overlap := func(names ...string) {
		t.Helper()
		want := doArr(t, c, append([]any{"SEGMENT.OVERLAP"}, toAny(names)...)...)
		var flat []string
		for _, row := range want {
			for _, v := range row.([]any) {
				flat = append(flat, fmt.Sprint(v))
			}
		}
		got := pollJS[[]string](b, fmt.Sprintf("a %d×%d overlap", len(names), len(names)), fmt.Sprintf(`(() => {
			const o = document.querySelector("#overlap");
			const cells = Array.from(o.querySelectorAll("td")).map(td => td.dataset.value);
			return o.dataset.state === "ready" && cells.length === %d && cells; })()`, len(flat)))
		if !reflect.DeepEqual(got, flat) {
			t.Errorf("overlap of %v shows %v, SEGMENT.OVERLAP says %v", names, got, flat)
		}
	}
	// (The heatmap is read when the page opens or the choice changes: u:new
	// has joined gold since.)
	b.do("unchoose gold", chromedp.Click(chromedp.CSS(`input[data-segment="gold"]`)))
	overlap("c1_30plus", "adults")
	b.do("choose gold", chromedp.Click(chromedp.CSS(`input[data-segment="gold"]`)))
	overlap("c1_30plus", "adults", "gold")

	// Lookalikes are SEGMENT.LOOKALIKE's.
	firstLookalike := pollJS[string](b, "the lookalikes", `(() => { const a = document.querySelector("#lookalikes a.key"); return a && a.textContent; })()`)
	if look := doArr(t, c, "SEGMENT.LOOKALIKE", "c1_30plus", "COUNT", "10"); len(look) == 0 || firstLookalike != look[0].([]any)[0] {
		t.Errorf("first lookalike %q, SEGMENT.LOOKALIKE says %v", firstLookalike, look)
	}

	// One customer: ENT.GET and SEGMENT.OF.
	b.do("open u:new", chromedp.Click(chromedp.CSS(`#feed li[data-key="u:new"] a.key`)))
	b.waitReady("the customer view")
	segs, age := browserText(b, "#customer-segments"), browserText(b, `tr[data-field="age"] td.value`)
	if want := doArr(t, c, "SEGMENT.OF", "u:new"); strings.Join(strings.Fields(segs), ",") != joinAny(want) || age != "20" {
		t.Errorf("customer view: segments %q (SEGMENT.OF %v), age %q", segs, want, age)
	}

	// The other views load cleanly.
	for _, view := range []string{"#/fields", "#/segments"} {
		b.open(base + "/" + view)
	}
	sparks := browserGet(b, "count sparklines", chromedp.Evaluate[int](`document.querySelectorAll("#segments svg.spark path.spark-line").length`))
	if sparks != 3 {
		t.Errorf("%d sparklines on the segments list, want 3", sparks)
	}
	b.checkClean()
}

// What the page shows is what a marketer reads: whole customers on the
// size chart's axis, shares that never round a few customers to 0%, the
// full name of a truncated column header, how many values a breakdown
// leaves out, and errors as sentences.
func TestExplorerBrowserFigures(t *testing.T) {
	chromiumPath(t)
	srv := startServer(t, nil)
	c := newClient(t, srv, 3)
	loadPopulation(t, c, 7, 2000)
	do(t, c, "ENT.SET", "u:few1", "age", "50", "rare", "yes")
	do(t, c, "ENT.SET", "u:few2", "age", "51", "rare", "yes")
	do(t, c, "SEGMENT.CREATE", "adults", "age >= 40")
	do(t, c, "SEGMENT.CREATE", "customers_in_the_most_common_country_c1", "country:c1")
	do(t, c, "SEGMENT.CREATE", "few", "rare:yes")
	base := explorerURL(srv)
	b := newBrowser(t, 1280, 900)

	// The breakdown shows 15 values and says how many more there are.
	expr := "age >= 30"
	b.open(base + "/#/builder?expr=" + url.QueryEscape(expr) + "&by=city")
	cities := doArr(t, c, "QUERY.GROUPBY", "city", "WHERE", expr)
	more := pollJS[string](b, "the breakdown's rest", fmt.Sprintf(`(() => { const b = document.querySelector("#breakdown"); return b.dataset.expr === %s && (document.querySelector("#breakdown-more")?.textContent || "none"); })()`, jsString(expr)))
	want := browserGet(b, "format", chromedp.Evaluate[string](fmt.Sprintf(`"and " + new Intl.NumberFormat("en-US").format(%d) + " more values of city"`, len(cities)-15)))
	if bars := browserGet(b, "count the breakdown's bars", chromedp.Evaluate[int](`document.querySelectorAll("#breakdown .bar-row").length`)); bars != 15 || !strings.HasPrefix(more, want) {
		t.Errorf("breakdown of %d cities: %d bars and %q, want 15 and %q…", len(cities), bars, more, want)
	}

	// A value that matches nobody but differs only in case from a held one
	// is pointed out under the expression.
	b.open(base + "/#/builder?expr=" + url.QueryEscape("country:C1"))
	if hint := pollJS[string](b, "the case hint", `document.querySelector("#expr-status [data-hints]")?.textContent`); !strings.Contains(hint, "nobody holds 'C1'; 'c1' differs only in case") {
		t.Errorf("builder hint for country:C1 = %q", hint)
	}
	b.open(base + "/#/builder?expr=" + url.QueryEscape(expr) + "&by=city")

	// Saving under a name taken says what to do, in a sentence; the
	// server's text is only below it.
	b.do("save under a name taken", chromedp.SendKeys(chromedp.CSS("#segment-name"), "adults"), chromedp.Click(chromedp.CSS("#save")),
		chromedp.WaitVisible(chromedp.CSS("#save-result .error")))
	if say, detail := browserText(b, "#save-result .error-text"), browserText(b, "#save-result .error-detail"); !strings.Contains(say, "replace if it exists") || strings.Contains(say, "ERR") || !strings.Contains(detail, "exists") {
		t.Errorf("saving over a segment says %q (detail %q)", say, detail)
	}
	b.do("replace it", chromedp.Click(chromedp.CSS("#segment-replace")), chromedp.Click(chromedp.CSS("#save")), chromedp.WaitVisible(chromedp.CSS("#saved")))
	b.do("a segment that is not there", chromedp.Navigate(base+"/#/segment/nope"))
	if say := pollJS[string](b, "the missing segment", `document.querySelector("#view .error-text")?.textContent`); !strings.Contains(say, "no segment named") || strings.Contains(say, "ERR") {
		t.Errorf("a missing segment says %q", say)
	}

	// Overlap: 2 of adults' members are in few, which is not 0%; every
	// share has the same precision; each column header names its segment
	// in full (the header is cut to its width).
	b.open(base + "/#/segment/adults")
	pollJS[bool](b, "the overlap", `document.querySelector("#overlap")?.dataset.state === "ready" && !!document.querySelector("#overlap td")`)
	cells := browserGet(b, "read the overlap", chromedp.Evaluate[[][]string](`Array.from(document.querySelectorAll("#overlap td:not(.diag)")).map((td) => [td.dataset.value, td.querySelector(".cell-pct").textContent])`))
	whole := regexp.MustCompile(`^(<1|>99|\d{1,3})%$`)
	for _, cell := range cells {
		if !whole.MatchString(cell[1]) || (cell[0] != "0" && cell[1] == "0%") {
			t.Errorf("an overlap of %s customers shows as %q", cell[0], cell[1])
		}
	}
	if len(cells) != 6 {
		t.Errorf("%d overlap cells, want 6", len(cells))
	}
	heads := browserGet(b, "read the overlap's headers", chromedp.Evaluate[[][]string](`Array.from(document.querySelectorAll("#overlap th")).filter((th) => th.textContent).map((th) => [th.textContent, th.title])`))
	for _, th := range heads {
		if th[0] != th[1] {
			t.Errorf("overlap header %q has the tooltip %q", th[0], th[1])
		}
	}

	// The size chart's axis counts whole customers, even for a flat size of 2.
	b.open(base + "/#/segment/few")
	ticks := pollJS[string](b, "the size chart's axis", `document.querySelector("#history-chart")?.dataset.yTicks`)
	for _, tick := range strings.Fields(ticks) {
		if _, err := strconv.Atoi(tick); err != nil {
			t.Errorf("the size axis has the tick %s (all: %s)", tick, ticks)
		}
	}
	b.checkClean()
}

// With --requirepass the page asks for the password before showing anything.
func TestExplorerBrowserLogin(t *testing.T) {
	chromiumPath(t)
	srv := startServer(t, func(c *Config) { c.Password = "s3cret" })
	c := newClientOpts(t, srv, &redis.Options{Protocol: 3, Password: "s3cret"})
	do(t, c, "ENT.SET", "u:1", "country", "PT")
	do(t, c, "SEGMENT.CREATE", "pt", "country:PT")
	b := newBrowser(t, 1024, 768)
	pw := chromedp.CSS(`#login input[name="password"]`)
	b.do("open the page", chromedp.Navigate(explorerURL(srv)+"/#/segments"), chromedp.WaitVisible(chromedp.CSS("#login")))
	b.do("a wrong password", chromedp.SendKeys(pw, "nope"), chromedp.Click(chromedp.CSS(`#login button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#login .error")))
	if msg := browserText(b, "#login .error"); !strings.Contains(msg, "WRONGPASS") {
		t.Errorf("wrong password says %q", msg)
	}
	b.do("the password", clearField(`#login input[name="password"]`), chromedp.SendKeys(pw, "s3cret"), chromedp.Click(chromedp.CSS(`#login button[type="submit"]`)))
	b.waitReady("the segments after logging in")
	if name := browserText(b, `#segments tr[data-segment="pt"] a.seg-name`); name != "pt" {
		t.Errorf("segments list shows %q", name)
	}
	// Log out: the form is back.
	b.do("log out", chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#login")))
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func joinAny(a []any) string {
	s := make([]string, len(a))
	for i, v := range a {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ",")
}
