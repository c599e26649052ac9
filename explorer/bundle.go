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
	out.WriteString("// Built by segd from its explorer modules (explorer/bundle.go).\n")
	out.WriteString("(() => {\n\"use strict\";\nconst __base = document.currentScript.src;\nconst __m = {};\n")
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
