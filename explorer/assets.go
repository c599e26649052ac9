package explorer

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strings"
)

// The page and its assets are embedded in the binary: nothing is fetched
// from elsewhere at run time. uPlot (MIT, see web/NOTICE) draws the time
// series; the other charts are plain HTML and SVG.

//go:embed web
var webFS embed.FS

type asset struct {
	body, gz []byte
	ctype    string
	etag     string
	csp      string // the page's Content-Security-Policy, when not contentSecurity
}

// loadAssets reads the embedded files. The page names its assets under
// /assets/<version>/, version being a hash of them all, so that a browser
// keeps them for good and a new segd's page asks for its own.
func loadAssets() (map[string]*asset, string) {
	out := map[string]*asset{}
	err := fs.WalkDir(webFS, "web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := webFS.ReadFile(p)
		if err != nil {
			return err
		}
		a := &asset{body: body}
		a.ctype = mime.TypeByExtension(path.Ext(p))
		switch path.Ext(p) {
		case ".js":
			a.ctype = "text/javascript; charset=utf-8"
		case ".css":
			a.ctype = "text/css; charset=utf-8"
		case ".html":
			a.ctype = "text/html; charset=utf-8"
		case ".svg":
			a.ctype = "image/svg+xml"
		case "", ".LICENSE":
			a.ctype = "text/plain; charset=utf-8"
		}
		if a.ctype == "" {
			a.ctype = "application/octet-stream"
		}
		out[strings.TrimPrefix(p, "web/")] = a
		return nil
	})
	if err != nil {
		panic("explorer: embedded assets: " + err.Error())
	}
	modules := map[string][]byte{}
	for n, a := range out {
		modules[n] = a.body
	}
	js, err := bundle(modules)
	if err != nil {
		panic("explorer: bundling the page's modules: " + err.Error())
	}
	out[bundleName] = &asset{body: js, ctype: "text/javascript; charset=utf-8"}
	css, err := joinStyles(modules)
	if err != nil {
		panic("explorer: joining the page's style sheets: " + err.Error())
	}
	out[styleName] = &asset{body: css, ctype: "text/css; charset=utf-8"}
	names := make([]string, 0, len(out))
	for n := range out {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		h.Write([]byte(n + "\x00"))
		h.Write(out[n].body)
	}
	version := hex.EncodeToString(h.Sum(nil)[:6])
	page := out["index.html"]
	page.body = bytes.ReplaceAll(page.body, []byte(`"/assets/`), []byte(`"/assets/`+version+`/`))
	// boot.js is written into the page, so that the first view's requests
	// leave as soon as the page is parsed rather than after one more file;
	// the Content-Security-Policy names it by its hash.
	tag := []byte(`<script src="/assets/` + version + `/boot.js" data-inline></script>`)
	if !bytes.Contains(page.body, tag) {
		panic("explorer: index.html does not load boot.js")
	}
	boot := out["boot.js"].body
	if bytes.Contains(bytes.ToLower(boot), []byte("</script")) {
		panic("explorer: boot.js cannot be written into the page")
	}
	page.body = bytes.Replace(page.body, tag, append(append([]byte("<script>"), boot...), "</script>"...), 1)
	sum := sha256.Sum256(boot)
	page.csp = strings.Replace(contentSecurity, "script-src 'self'", "script-src 'self' 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'", 1)
	for _, a := range out {
		sum := sha256.Sum256(a.body)
		a.etag = `"` + hex.EncodeToString(sum[:8]) + `"`
		if len(a.body) > 1024 {
			var b bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
			_, _ = zw.Write(a.body) // into memory: cannot fail
			zw.Close()
			a.gz = b.Bytes()
		}
	}
	return out, version
}

// contentSecurity lets the page load only its own scripts, styles and data.
const contentSecurity = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// GET /: the page (a single page; its views are addressed after the #).
func (x *Explorer) page(w http.ResponseWriter, r *http.Request) {
	x.serveAsset(w, r, "index.html")
}

// GET /assets/{file}: the page's scripts, styles and the charting library
// (revalidated on each use).
func (x *Explorer) asset(w http.ResponseWriter, r *http.Request) {
	x.serveAsset(w, r, r.PathValue("file"))
}

// GET /assets/{version}/{file}: the same, as the page names them: kept by
// the browser for good while the version is this server's.
func (x *Explorer) versionedAsset(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("version") == x.assetVersion {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	x.serveAsset(w, r, r.PathValue("file"))
}

func (x *Explorer) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := x.assets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", a.etag)
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-cache") // revalidate: an upgraded server serves its own page
	}
	if a.csp != "" {
		h.Set("Content-Security-Policy", a.csp)
	} else {
		h.Set("Content-Security-Policy", contentSecurity)
	}
	h.Add("Vary", "Accept-Encoding")
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if a.gz != nil && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}
