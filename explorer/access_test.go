package explorer

// Who may use the explorer (password, host and origin checks), what it
// answers before the data is loaded, and the assets it serves.

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segd-db/segd/index"
)

func TestPasswordIsAsked(t *testing.T) {
	r := newRig(t, func(o *Options) { o.Password = "s3cret" })
	var e apiError
	if st := r.get("/api/info", &e); st != 401 || e.Code != "NOAUTH" {
		t.Fatalf("without the password: %d %+v", st, e)
	}
	// The page itself loads (it shows the login form), and so do its assets.
	if st := r.do("GET", "/", nil, nil, nil); st != 200 {
		t.Errorf("page: %d", st)
	}
	if st := r.do("POST", "/api/login", map[string]string{"password": "wrong"}, nil, &e); st != 401 || e.Code != "WRONGPASS" {
		t.Errorf("wrong password: %d %+v", st, e)
	}
	// Log in: the cookie opens the API.
	b, _ := json.Marshal(map[string]string{"password": "s3cret"})
	resp, err := http.Post(r.srv.URL+"/api/login", "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			cookie = c
		}
	}
	if resp.StatusCode != 200 || cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("login: %d, cookie %+v", resp.StatusCode, cookie)
	}
	if st := r.do("GET", "/api/info", nil, http.Header{"Cookie": {cookie.Name + "=" + cookie.Value}}, nil); st != 200 {
		t.Errorf("with the session cookie: %d", st)
	}
	forged := cookie.Value[:len(cookie.Value)-2] + "xx"
	if st := r.do("GET", "/api/info", nil, http.Header{"Cookie": {cookie.Name + "=" + forged}}, nil); st != 401 {
		t.Errorf("with a forged cookie: %d", st)
	}
	if r.x.auth.tokenOK(cookie.Value, time.Now().Add(sessionTTL+time.Minute)) {
		t.Error("a session token is accepted after it expired")
	}
	// Scripts use Basic auth.
	req, _ := http.NewRequest("GET", r.srv.URL+"/api/info", nil)
	req.SetBasicAuth("", "s3cret")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("Basic auth: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	req.SetBasicAuth("default", "nope")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Errorf("Basic auth with a wrong password: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	// A session from another password (another process key) is refused.
	other := newAuthenticator("s3cret")
	if st := r.do("GET", "/api/info", nil, http.Header{"Cookie": {cookie.Name + "=" + other.token(time.Now())}}, nil); st != 401 {
		t.Errorf("a token signed by another process: %d", st)
	}
}

func TestHostAndOriginChecks(t *testing.T) {
	r := newRig(t, nil)
	var e apiError
	req, _ := http.NewRequest("GET", r.srv.URL+"/api/info", nil)
	req.Host = "evil.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("a host name without a password: %d, want 403", resp.StatusCode)
	}
	req.Host = "localhost:1234"
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("localhost: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	// With a password, host names are fine (the password protects).
	rp := newRig(t, func(o *Options) { o.Password = "pw" })
	req, _ = http.NewRequest("GET", rp.srv.URL+"/api/info", nil)
	req.Host = "segd.internal"
	req.SetBasicAuth("", "pw")
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("host name with a password: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	// Writes from another origin are refused; a form post is not JSON.
	body := map[string]any{"name": "x", "expr": "ALL"}
	if st := r.do("POST", "/api/segments", body, http.Header{"Origin": {"http://evil.example"}}, &e); st != 403 || !strings.Contains(e.Message, "cross-origin") {
		t.Errorf("cross-origin POST: %d %+v", st, e)
	}
	if st := r.do("POST", "/api/segments", body, http.Header{"Origin": {r.srv.URL}}, &e); st != 200 {
		t.Errorf("same-origin POST: %d %+v", st, e)
	}
	req, _ = http.NewRequest("POST", r.srv.URL+"/api/segments", strings.NewReader("name=x&expr=ALL"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != 415 {
		t.Errorf("form POST: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
}

func TestNotReadyAnswers503(t *testing.T) {
	var loading atomic.Bool
	loading.Store(true)
	r := newRig(t, func(o *Options) {
		o.Ready = func() error {
			if loading.Load() {
				return errors.New("LOADING segd is loading the data set in memory")
			}
			return nil
		}
	})
	var e apiError
	if st := r.get("/api/info", &e); st != 503 || e.Code != "LOADING" || e.Message != "segd is loading the data set in memory" {
		t.Errorf("loading: %d %+v", st, e)
	}
	loading.Store(false)
	if st := r.get("/api/info", nil); st != 200 {
		t.Errorf("loaded: %d", st)
	}
}

func TestDueRefreshGoesThroughWrite(t *testing.T) {
	r := newRig(t, nil)
	if _, err := r.write(&index.Mutation{Op: index.OpTrack, Key: "u:1", Field: "cart_add"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.write(&index.Mutation{Op: index.OpSegmentCreate, Key: "carts", Values: []string{"cart_add IN 1d"}}); err != nil {
		t.Fatal(err)
	}
	before := len(r.ops())
	r.now.Add(86400) // the next day: the cart ages out
	var info segmentJSON
	r.get("/api/segments/carts", &info)
	ops := r.ops()
	if len(ops) != before+1 || ops[before] != index.OpTick {
		t.Errorf("writes after a read past the boundary: %v, want one OpTick first", ops[before:])
	}
	if info.Cardinality != 0 || info.Version != 1 {
		t.Errorf("segment after the refresh: %+v", info)
	}
}

func TestAssets(t *testing.T) {
	r := newRig(t, nil)
	resp, err := http.Get(r.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `<main id="view"`) ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") || resp.Header.Get("ETag") == "" {
		t.Fatalf("page: %d %v", resp.StatusCode, resp.Header)
	}
	// boot.js is written into the page, allowed by its hash alone.
	boot, _ := webFS.ReadFile("web/boot.js")
	sum := sha256.Sum256(boot)
	if !strings.Contains(string(body), "<script>"+string(boot)+"</script>") ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self' 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"';") ||
		strings.Contains(resp.Header.Get("Content-Security-Policy"), "unsafe-inline") {
		t.Errorf("boot.js in the page and its hash in the policy: %s", resp.Header.Get("Content-Security-Policy"))
	}
	// The page names its assets under this build's version, kept for good.
	ref := "/assets/" + r.x.assetVersion + "/" + bundleName
	if !strings.Contains(string(body), `"`+ref+`"`) || strings.Contains(string(body), `"/assets/`+bundleName+`"`) {
		t.Errorf("the page does not name its assets under the version %s", r.x.assetVersion)
	}
	if css := "/assets/" + r.x.assetVersion + "/" + styleName; !strings.Contains(string(body), `"`+css+`"`) {
		t.Errorf("the page does not load its joined style sheet %s", css)
	}
	if resp, err := http.Get(r.srv.URL + ref); err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("%s: %v %v", ref, resp.Header, err)
	} else {
		resp.Body.Close()
	}
	if resp, err := http.Get(r.srv.URL + "/assets/0123456789ab/app.js"); err != nil || resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("another version's asset: %v %v", resp.Header, err)
	} else {
		resp.Body.Close()
	}
	req, _ := http.NewRequest("GET", r.srv.URL+"/", nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 304 {
		t.Errorf("revalidation: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	// Every asset the page names is served, gzipped when asked.
	for _, name := range []string{bundleName, styleName, "app.js", "lib.js", "charts.js", "fields.js", "builder.js", "segments.js", "segment.js", "customer.js", "style.css", "uPlot.iife.min.js", "uPlot.min.css", "favicon.svg"} {
		req, _ := http.NewRequest("GET", r.srv.URL+"/assets/"+name, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		tr := &http.Transport{DisableCompression: true}
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var rd io.Reader = resp.Body
		if resp.Header.Get("Content-Encoding") == "gzip" {
			if rd, err = gzip.NewReader(resp.Body); err != nil {
				t.Fatal(err)
			}
		}
		b, _ := io.ReadAll(rd)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(b) == 0 || !reflect.DeepEqual(b, r.x.assets[name].body) {
			t.Errorf("%s: %d, %d bytes", name, resp.StatusCode, len(b))
		}
		if strings.HasSuffix(name, ".js") && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
			t.Errorf("%s: content type %q", name, resp.Header.Get("Content-Type"))
		}
	}
	if st := r.do("GET", "/assets/nope.js", nil, nil, nil); st != 404 {
		t.Errorf("unknown asset: %d", st)
	}
	if st := r.do("GET", "/elsewhere", nil, nil, nil); st != 404 {
		t.Errorf("unknown page: %d", st)
	}
}

// The page's scripts are one file that starts with uPlot, run on first use
// (window.segdUPlot) with its start's Intl objects made lazily, and the
// page's style sheet is its own followed by uPlot's.
func TestBundledLibrary(t *testing.T) {
	a, _ := loadAssets()
	js := string(a[bundleName].body)
	lib := strings.TrimRight(string(a[bundleLib].body), "\n")
	if !strings.HasPrefix(js, compileHint) {
		t.Errorf("the bundle does not start with the compile hint: %.60q", js)
	}
	i, j := strings.Index(js, lib), strings.Index(js, "__m[\"lib.js\"]")
	if i < 0 || j < i || !strings.Contains(js[:i], "window.segdUPlot = () => {\n"+libIntl) || !strings.Contains(js[i:j], "window.segdUPlot = () => uPlot;") {
		t.Errorf("the bundle does not wrap uPlot before the modules (at %d, modules at %d)", i, j)
	}
	css := string(a[styleName].body)
	own, chart := strings.Index(css, string(a["style.css"].body)), strings.Index(css, strings.TrimRight(string(a["uPlot.min.css"].body), "\n"))
	if own < 0 || chart < own {
		t.Errorf("the joined style sheet: style.css at %d, uPlot.min.css at %d", own, chart)
	}
	for _, b := range []string{"uPlot.iife.min.js", "uPlot.min.css", "style.css"} {
		if strings.Contains(string(a["index.html"].body), b) {
			t.Errorf("the page names %s, which the bundles hold", b)
		}
	}
}
