package explorer

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// The page's scripts are ES modules in web/ (readable, each with its own
// imports), but the page loads them as one classic script that segd builds
// from them at start-up: a module graph costs the browser a fetch and a
// resolution step per file before anything runs (40 to 80 ms of a page
// load on a small machine), one deferred script costs one. Each module
// becomes a function scope returning its exports, in dependency order, so
// that top-level names stay private to their module as before.

// bundleOrder lists the modules, each after those it imports.
var bundleOrder = []string{"lib.js", "charts.js", "fields.js", "builder.js", "segments.js", "segment.js", "customer.js", "app.js"}

// bundleName is the bundle's asset name.
const bundleName = "app.bundle.js"

// The bundle starts with the charting library (uPlot, a classic script
// defining uPlot): loaded with the page and kept with its compiled code,
// rather than fetched when a segment is opened (a script added by a script
// is fetched at low priority, after the page's own loading: 40 to 100 ms
// later on a small machine). It runs when a chart first needs it
// (window.segdUPlot()), not with every page.
const bundleLib = "uPlot.iife.min.js"

// libIntl is what uPlot sees as Intl. Its start makes two Intl objects:
// a number format for its default labels (the page's chart writes its own;
// this one makes the real format on its first use, so that any label
// reads as before) and the time zone's name, which only uPlot.tzDate reads
// (unused here; without it, tzDate takes its general path, its result
// unchanged). The first Intl object of a page costs 10 ms and more (the
// browser loads its locale and time-zone data), more than uPlot's whole
// start and the drawing of the chart, and nothing else on the page needs
// one.
const libIntl = `const Intl = {
  NumberFormat: function (...args) {
    let f = null;
    return { format: (n) => (f || (f = new globalThis.Intl.NumberFormat(...args))).format(n) };
  },
  DateTimeFormat: function () {
    return { resolvedOptions: () => ({ timeZone: undefined }) };
  },
};
`

// The style sheet the page loads is its own followed by uPlot's, joined in
// the same way: one request, and no second style sheet that arrives after
// the chart is drawn.
var styleOrder = []string{"style.css", "uPlot.min.css"}

// styleName is the joined style sheet's asset name.
const styleName = "app.bundle.css"

// compileHint asks V8 to compile every function of the bundle at once
// (off the page's thread while the file is read, and kept in the
// browser's code cache with the rest) rather than each on its first call,
// on the page's thread: most of what a view runs comes after its data,
// which a code cache made after the script's first run does not hold
// (uPlot's drawing, for one). Measured, it saves one segment about 5 ms of
// the page's thread and makes no clear difference to the other views.
const compileHint = "//# allFunctionsCalledOnLoad\n"

var (
	importLine = regexp.MustCompile(`^import \{([^}]*)\} from "\./([a-z]+\.js)";$`)
	exportLine = regexp.MustCompile(`^export (?:async function\*? |function\*? |class |const |let )(\w+)`)
)

// bundle joins the modules of files into one script. It fails on anything
// it does not rewrite (a multi-line import, a default export, an import
// from elsewhere), so that a change to the modules cannot silently break
// the page.
func bundle(files map[string][]byte) ([]byte, error) {
	var out bytes.Buffer
	out.WriteString(compileHint)
	out.WriteString("// Built by segd from its explorer modules (explorer/bundle.go).\n")
	lib, ok := files[bundleLib]
	if !ok {
		return nil, fmt.Errorf("%s is missing", bundleLib)
	}
	out.WriteString("window.segdUPlot = () => {\n")
	out.WriteString(libIntl)
	out.Write(bytes.TrimRight(lib, "\n"))
	out.WriteString("\nwindow.segdUPlot = () => uPlot;\nreturn uPlot;\n};\n(() => {\n\"use strict\";\nconst __base = document.currentScript.src;\nconst __m = {};\n")
	done := map[string]bool{}
	for _, name := range bundleOrder {
		src, ok := files[name]
		if !ok {
			return nil, fmt.Errorf("module %s is missing", name)
		}
		var exports []string
		var body strings.Builder
		for i, line := range strings.Split(string(src), "\n") {
			switch {
			case strings.HasPrefix(line, "import"):
				m := importLine.FindStringSubmatch(line)
				if m == nil {
					return nil, fmt.Errorf("%s:%d: an import the bundler does not read: %q", name, i+1, line)
				}
				if !done[m[2]] {
					return nil, fmt.Errorf("%s:%d: imports %s, which is not bundled before it", name, i+1, m[2])
				}
				fmt.Fprintf(&body, "const {%s} = __m[%q];\n", m[1], m[2])
				continue
			case strings.HasPrefix(line, "export"):
				m := exportLine.FindStringSubmatch(line)
				if m == nil {
					return nil, fmt.Errorf("%s:%d: an export the bundler does not read: %q", name, i+1, line)
				}
				exports = append(exports, m[1])
				line = strings.TrimPrefix(line, "export ")
			}
			if strings.Contains(line, "import(") {
				return nil, fmt.Errorf("%s:%d: dynamic import", name, i+1)
			}
			body.WriteString(strings.ReplaceAll(line, "import.meta.url", "__base"))
			body.WriteByte('\n')
		}
		fmt.Fprintf(&out, "__m[%q] = (() => {\n%sreturn { %s };\n})();\n", name, body.String(), strings.Join(exports, ", "))
		done[name] = true
	}
	out.WriteString("})();\n")
	return out.Bytes(), nil
}

// joinStyles joins the style sheets of styleOrder.
func joinStyles(files map[string][]byte) ([]byte, error) {
	var out bytes.Buffer
	for _, name := range styleOrder {
		css, ok := files[name]
		if !ok {
			return nil, fmt.Errorf("style sheet %s is missing", name)
		}
		fmt.Fprintf(&out, "/* %s */\n", name)
		out.Write(bytes.TrimRight(css, "\n"))
		out.WriteByte('\n')
	}
	return out.Bytes(), nil
}
