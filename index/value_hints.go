package index

import "strings"

// A value nobody holds matches nobody (SPEC §4), which is right but easy to
// misread: "country:pt" counts 0 while "PT" is held. These hints say so in
// QUERY.EXPLAIN and in the explorer's builder.

// caseHint is a sentence for a value term v of field f that nobody holds
// when another value differs from it only in case, else "".
func caseHint(f *field, v string) string {
	if f == nil || f.valueBitmap(v) != nil {
		return ""
	}
	for _, held := range f.values {
		if held != v && strings.EqualFold(held, v) {
			if bm := f.valueBitmap(held); bm != nil && !bm.IsEmpty() {
				return "nobody holds '" + v + "'; '" + held + "' differs only in case"
			}
		}
	}
	return ""
}

// planHint is the case hint of a value plan, "" for any other plan.
func planHint(p plan) string {
	if vp, ok := p.(*valuePlan); ok {
		return caseHint(vp.f, vp.value)
	}
	return ""
}

// Hints are the case hints of every value term of expr, in the order they
// appear: what to tell someone whose expression counts fewer than they
// expect.
func (e *Engine) Hints(expr string) ([]string, error) {
	e.rlock()
	defer e.mu.RUnlock()
	p, err := e.prepare(expr)
	if err != nil {
		return nil, err
	}
	var out []string
	var walk func(p plan)
	walk = func(p plan) {
		if h := planHint(p); h != "" {
			out = append(out, h)
		}
		kids := p.children()
		if or, ok := p.(*orPlan); ok {
			kids = or.terms // f:(a,b) has no children to show, but its values
		}
		for _, c := range kids {
			walk(c)
		}
	}
	walk(p)
	return out, nil
}
