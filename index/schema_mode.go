package index

import (
	"sort"
	"strings"
)

// The schema mode (SPEC §3). In auto mode, the default, a write to a field
// that does not exist creates it; in strict mode only FIELD.CREATE does, and
// a write naming an unknown field is an error that suggests the nearest
// existing name. The mode is state like the schema: set by a logged
// mutation (OpSchemaMode) and kept in snapshots, so it survives restarts.

// schemaStrict marks strict mode at the end of a snapshot's schema part.
const schemaStrict = 1

// SchemaMode is "auto" or "strict".
func (e *Engine) SchemaMode() string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.strict {
		return "strict"
	}
	return "auto"
}

func (e *Engine) setSchemaMode(values []string) (Result, error) {
	if len(values) != 1 || (values[0] != "auto" && values[0] != "strict") {
		return Result{}, errorf("the schema mode is auto or strict")
	}
	strict := values[0] == "strict"
	if strict == e.strict {
		return Result{}, nil
	}
	e.strict = strict
	return Result{N: 1, Changed: true}, nil
}

// mayCreate tells whether a write may create the field name: a valid name,
// in auto mode.
func (e *Engine) mayCreate(name string) error {
	if err := ValidFieldName(name); err != nil {
		return err
	}
	if e.strict {
		return errorf("unknown field '%s'%s; the schema is strict: create it with FIELD.CREATE first", printable(name), e.didYouMean(name))
	}
	return nil
}

// fieldHolders is how many entities hold a value of f now.
func (e *Engine) fieldHolders(f *field) uint64 {
	return f.entities(e.now().Unix()).GetCardinality()
}

// didYouMean is " (did you mean 'x'?)" for the existing field nearest to
// name, or "" when none is near: at most one edit for short names, two
// from six characters, a case-only difference always.
func (e *Engine) didYouMean(name string) string {
	names := make([]string, 0, len(e.fields))
	for n := range e.fields {
		names = append(names, n)
	}
	if best := Nearest(name, names); best != "" {
		return " (did you mean '" + best + "'?)"
	}
	return ""
}

// Nearest is the candidate nearest to s by edit distance (insertions,
// deletions, substitutions and swaps of neighbours, ignoring case), if one
// is near enough to be a typo; ties go to the first in byte order.
func Nearest(s string, candidates []string) string {
	limit := 1
	if len(s) >= 6 {
		limit = 2
	}
	sort.Strings(candidates)
	ls := strings.ToLower(s)
	best, bestD := "", limit+1
	for _, c := range candidates {
		if d := editDistance(ls, strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance of a and b.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
