package expr

import (
	"strconv"
	"strings"
)

// Format prints n as canonical expression text: upper-case exprKeywords, single
// spaces, the fewest parentheses, values quoted only when they must be,
// durations in their largest exact unit (7d → 1w), times as dates when they
// are midnight UTC and as RFC 3339 otherwise. For any tree Parse returns,
// Parse(Format(n)) is an equal tree (positions aside) and Format is stable,
// so the text serves as a cache key and for EXPLAIN.
func Format(n Node) string {
	var b strings.Builder
	formatNode(&b, n, 0)
	return b.String()
}

// FormatMeasure prints a measure as canonical text that ParseMeasure reads back.
func FormatMeasure(m *Measure) string {
	var b strings.Builder
	formatMeasure(&b, m)
	return b.String()
}

// precedence: OR 1, XOR 2, AND 3, everything else 4.
func exprPrecedence(n Node) int {
	switch n.(type) {
	case *Or:
		return 1
	case *Xor:
		return 2
	case *And:
		return 3
	}
	return 4
}

func formatNode(b *strings.Builder, n Node, parent int) {
	prec := exprPrecedence(n)
	if prec <= parent {
		b.WriteByte('(')
		defer b.WriteByte(')')
	}
	switch n := n.(type) {
	case *Or:
		formatTerms(b, n.Terms, " OR ", prec)
	case *Xor:
		formatTerms(b, n.Terms, " XOR ", prec)
	case *And:
		formatTerms(b, n.Terms, " AND ", prec)
	case *Not:
		b.WriteString("NOT ")
		formatNode(b, n.X, 3)
	case *All:
		b.WriteString("ALL")
	case *SegmentRef:
		b.WriteByte('@')
		b.WriteString(n.Name)
	case *Pred:
		formatPred(b, n)
	case *Top:
		b.WriteString("TOP ")
		b.WriteString(strconv.FormatInt(n.K, 10))
		if n.Percent {
			b.WriteByte('%')
		}
		b.WriteString(" BY ")
		formatMeasure(b, &n.Measure)
	case *Sample:
		b.WriteString("SAMPLE ")
		b.WriteString(strconv.FormatInt(n.Percent, 10))
		b.WriteByte('%')
		if n.HasSeed {
			b.WriteString(" SEED ")
			b.WriteString(strconv.FormatInt(n.Seed, 10))
		}
	case *Measure:
		formatMeasure(b, n)
	case nil:
		b.WriteString("<nil>")
	default:
		b.WriteString("<unknown node>")
	}
}

func formatTerms(b *strings.Builder, terms []Node, sep string, prec int) {
	for i, t := range terms {
		if i > 0 {
			b.WriteString(sep)
		}
		formatNode(b, t, prec)
	}
}

func formatPred(b *strings.Builder, p *Pred) {
	b.WriteString(p.Field)
	switch p.Sel {
	case SelValues:
		formatValues(b, p.Values)
	case SelAny:
		b.WriteString(":*")
	case SelRange:
		b.WriteString(":[")
		b.WriteString(strconv.FormatInt(p.Lo, 10))
		b.WriteString(" TO ")
		b.WriteString(strconv.FormatInt(p.Hi, 10))
		b.WriteByte(']')
	}
	if p.Cmp != CmpNone {
		b.WriteByte(' ')
		b.WriteString(p.Cmp.String())
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(p.N, 10))
	}
	formatWindow(b, &p.Window)
}

func formatMeasure(b *strings.Builder, m *Measure) {
	b.WriteString(m.Field)
	switch m.Sel {
	case SelValues:
		formatValues(b, m.Values)
	case SelAny:
		b.WriteString(":*")
	}
	formatWindow(b, &m.Window)
}

func formatValues(b *strings.Builder, vals []string) {
	b.WriteByte(':')
	if len(vals) == 1 {
		formatValue(b, vals[0])
		return
	}
	b.WriteByte('(')
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(',')
		}
		formatValue(b, v)
	}
	b.WriteByte(')')
}

// formatValue writes v bare when the exprParser would read it back as the same
// bare word, and double-quoted otherwise.
func formatValue(b *strings.Builder, v string) {
	bare := v != "" && v != "*"
	for i := 0; bare && i < len(v); i++ {
		if isValueEnd(v[i]) {
			bare = false
		}
	}
	if bare {
		b.WriteString(v)
		return
	}
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' || v[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('"')
}

func formatWindow(b *strings.Builder, w *Window) {
	switch w.Kind {
	case WindowEver:
		b.WriteString(" EVER")
	case WindowIn:
		b.WriteString(" IN ")
		b.WriteString(FormatDuration(w.Dur))
	case WindowBetween:
		b.WriteString(" BETWEEN ")
		b.WriteString(FormatTime(w.From))
		b.WriteString(" AND ")
		b.WriteString(FormatTime(w.To))
	}
}
