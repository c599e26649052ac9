// Command testsummary reads `go test -json` on its standard input and
// prints what `go test` would (a line per package, the output of failed
// tests), then every skipped test with its reason. It exits 1 when a
// test or a package failed. `make test` runs the suite through it.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

type skip struct{ pkg, test, why string }

func main() {
	out := map[string][]string{} // package/test -> output lines
	var skips []skip
	failed := false
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Action == "" {
			fmt.Println(sc.Text()) // build errors and the like
			continue
		}
		id := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			out[id] = append(out[id], e.Output)
		case "skip":
			if e.Test != "" {
				skips = append(skips, skip{e.Package, e.Test, reason(out[id])})
			}
			delete(out, id)
		case "pass":
			delete(out, id)
			if e.Test == "" {
				fmt.Printf("ok  \t%s\t%.1fs\n", e.Package, e.Elapsed)
			}
		case "fail":
			failed = true
			if e.Test == "" {
				printUnfinished(out, e.Package)
			}
			fmt.Print(strings.Join(out[id], ""))
			delete(out, id)
			if e.Test == "" {
				fmt.Printf("FAIL\t%s\t%.1fs\n", e.Package, e.Elapsed)
			}
		}
	}
	report(skips)
	if failed {
		os.Exit(1)
	}
}

// printUnfinished prints the output of pkg's tests that never ended (a
// timeout's panic names them), which no pass or fail event will print.
func printUnfinished(out map[string][]string, pkg string) {
	var ids []string
	for id := range out {
		if strings.HasPrefix(id, pkg+" ") && id != pkg+" " {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		fmt.Printf("--- unfinished: %s\n%s", id, strings.Join(out[id], ""))
		delete(out, id)
	}
}

// reason is the last line a skipped test logged (t.Skip's message).
func reason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l != "" && !strings.HasPrefix(l, "--- SKIP") && !strings.HasPrefix(l, "=== ") {
			return l
		}
	}
	return "(no reason given)"
}

func report(skips []skip) {
	if len(skips) == 0 {
		fmt.Println("\nno test was skipped")
		return
	}
	sort.Slice(skips, func(i, j int) bool {
		if skips[i].pkg != skips[j].pkg {
			return skips[i].pkg < skips[j].pkg
		}
		return skips[i].test < skips[j].test
	})
	fmt.Printf("\n%d tests skipped:\n", len(skips))
	for _, s := range skips {
		fmt.Printf("  %s %s: %s\n", s.pkg, s.test, s.why)
	}
}
