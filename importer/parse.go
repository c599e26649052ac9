package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// record is one input row turned into what to send. A parser reuses the same
// record for every row.
type record struct {
	line  int      // 1-based line where the row starts
	bad   string   // why the row cannot be imported ("" if it can)
	key   string   // entity key
	sets  []string // ENT.SET pairs: field, value, field, value…
	adds  []tagCmd // one ENT.ADD per TAGS field with values
	track []string // ENT.TRACK arguments after the command name (event rows)
}

type tagCmd struct {
	field string
	vals  []string
}

func (r *record) reset(line int) {
	r.line, r.bad, r.key = line, "", ""
	r.sets = r.sets[:0]
	r.adds = r.adds[:0]
	r.track = r.track[:0]
}

func (r *record) badf(format string, a ...any) { r.bad = fmt.Sprintf(format, a...) }

// empty tells whether the row has nothing to send.
func (r *record) empty() bool { return len(r.sets) == 0 && len(r.adds) == 0 && len(r.track) == 0 }

// parser yields rows one at a time; next returns io.EOF at the end and any
// other error only for an input that cannot be read on (fatal).
type parser interface {
	next(rec *record) error
}

// fatalError is an error that stops the import before or while reading.
type fatalError struct{ err error }

func (e fatalError) Error() string { return e.err.Error() }
func (e fatalError) Unwrap() error { return e.err }

// --- CSV ---

type csvParser struct {
	r      *csv.Reader
	cols   []csvCol
	keyCol int
	sep    string
}

type csvCol struct {
	name string
	tags bool
}

func newCSVParser(in io.Reader, tags []string, sep string) (*csvParser, error) {
	r := csv.NewReader(in)
	r.ReuseRecord = true
	head, err := r.Read()
	if err == io.EOF {
		return nil, errors.New("the CSV input is empty: the first line must name the columns, one of them \"key\"")
	}
	if err != nil {
		return nil, fmt.Errorf("CSV header: %w", err)
	}
	p := &csvParser{r: r, keyCol: -1, sep: sep}
	seen := map[string]bool{}
	tagSet := map[string]bool{}
	for _, t := range tags {
		if t = strings.TrimSpace(t); t != "" {
			tagSet[t] = true
		}
	}
	for i, h := range head {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // a UTF-8 byte order mark
		}
		h = strings.TrimSpace(h)
		c := csvCol{name: h}
		if n, ok := strings.CutSuffix(h, "[]"); ok {
			c = csvCol{name: strings.TrimSpace(n), tags: true}
		}
		if c.name == "" {
			return nil, fmt.Errorf("CSV header: column %d has no name", i+1)
		}
		if seen[c.name] {
			return nil, fmt.Errorf("CSV header: column %q appears twice", c.name)
		}
		seen[c.name] = true
		if tagSet[c.name] {
			c.tags = true
			delete(tagSet, c.name)
		}
		if c.name == "key" && !c.tags {
			p.keyCol = i
		}
		p.cols = append(p.cols, c)
	}
	if p.keyCol < 0 {
		return nil, fmt.Errorf("CSV header: no \"key\" column (the columns are %s)", strings.Join(head, ","))
	}
	if len(tagSet) > 0 {
		missing := make([]string, 0, len(tagSet))
		for t := range tagSet {
			missing = append(missing, t)
		}
		slices.Sort(missing)
		return nil, fmt.Errorf("--tags names columns the header does not have: %s", strings.Join(missing, ","))
	}
	return p, nil
}

func (p *csvParser) next(rec *record) error {
	cells, err := p.r.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			rec.reset(pe.StartLine)
			if errors.Is(pe.Err, csv.ErrFieldCount) {
				rec.badf("%d cells, the header has %d columns", len(cells), len(p.cols))
			} else {
				rec.badf("CSV: %v", pe.Err)
			}
			return nil
		}
		return err // io.EOF or a read error
	}
	line, _ := p.r.FieldPos(0)
	rec.reset(line)
	rec.key = cells[p.keyCol]
	if rec.key == "" {
		rec.badf("empty key")
		return nil
	}
	for i, c := range p.cols {
		v := cells[i]
		if i == p.keyCol || v == "" {
			continue
		}
		if !c.tags {
			rec.sets = append(rec.sets, c.name, v)
			continue
		}
		var vals []string
		for t := range strings.SplitSeq(v, p.sep) {
			if t = strings.TrimSpace(t); t != "" {
				vals = append(vals, t)
			}
		}
		if len(vals) > 0 {
			rec.adds = append(rec.adds, tagCmd{field: c.name, vals: vals})
		}
	}
	return nil
}

// --- NDJSON ---

// maxLine bounds one NDJSON line (the server takes at most 8 MiB per request
// by default anyway).
const maxLine = 64 << 20

type ndjsonParser struct {
	r    *bufio.Reader
	line int
	buf  []byte
}

func newNDJSONParser(in *bufio.Reader) *ndjsonParser { return &ndjsonParser{r: in} }

// readLine returns the next line without its end of line, however long
// (up to maxLine), and io.EOF after the last.
func (p *ndjsonParser) readLine() ([]byte, error) {
	p.buf = p.buf[:0]
	for {
		chunk, err := p.r.ReadSlice('\n')
		p.buf = append(p.buf, chunk...)
		if len(p.buf) > maxLine {
			return nil, fmt.Errorf("line %d is longer than %d MiB", p.line+1, maxLine>>20)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(p.buf) > 0 {
			err = nil
		}
		if err != nil {
			return nil, err
		}
		p.line++
		return bytes.TrimRight(p.buf, "\r\n"), nil
	}
}

func (p *ndjsonParser) next(rec *record) error {
	var ln []byte
	for {
		var err error
		if ln, err = p.readLine(); err != nil {
			return err
		}
		if ln = bytes.TrimSpace(ln); len(ln) > 0 {
			break
		}
	}
	rec.reset(p.line)
	dec := json.NewDecoder(bytes.NewReader(ln))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		rec.badf("invalid JSON: %s", jsonErr(err))
		return nil
	}
	if _, err := dec.Token(); err != io.EOF {
		rec.badf("invalid JSON: more than one value on the line")
		return nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		rec.badf("not a JSON object")
		return nil
	}
	key, ok := scalar(obj["key"])
	switch {
	case obj["key"] == nil:
		rec.badf("no \"key\" member")
		return nil
	case !ok:
		rec.badf("key: must be a string")
		return nil
	case key == "":
		rec.badf("empty key")
		return nil
	}
	rec.key = key
	if _, isEvent := obj["event"]; isEvent {
		eventRecord(rec, obj)
		return nil
	}
	names := make([]string, 0, len(obj))
	for k := range obj {
		if k != "key" {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, f := range names {
		switch x := obj[f].(type) {
		case nil:
		case string:
			if x != "" {
				rec.sets = append(rec.sets, f, x)
			}
		case bool:
			rec.sets = append(rec.sets, f, strconv.FormatBool(x))
		case json.Number:
			n, err := integer(x)
			if err != nil {
				rec.badf("%s: %v", f, err)
				return nil
			}
			rec.sets = append(rec.sets, f, n)
		case []any:
			var vals []string
			for _, e := range x {
				s, ok := scalar(e)
				if !ok {
					rec.badf("%s: a list may only hold strings and integers", f)
					return nil
				}
				if s != "" {
					vals = append(vals, s)
				}
			}
			if len(vals) > 0 {
				rec.adds = append(rec.adds, tagCmd{field: f, vals: vals})
			}
		case map[string]any:
			rec.badf("%s: nested objects are not supported", f)
			return nil
		}
	}
	return nil
}

// eventRecord fills rec.track from an event object (README, "Importing
// customers"):
//
//	{"key":"u:1","event":"purchase:shoes","time":"2026-11-01T10:00:00Z","amount":1299}
//
// becomes ENT.TRACK key event [AT time] [AMOUNT n]. "event" is "field" or
// "field:value"; "value" may give the value instead; "time" (or "at") is
// Unix seconds (a number, fractions dropped, or its text), RFC 3339 or
// YYYY-MM-DD, and absent or null means when the server applies it;
// "amount" is a whole number (or its text), absent or null meaning 1. Any
// other member makes the row bad, so that a profile member is never
// silently dropped. The server checks the rest (retention, amount range,
// field names) and its error is reported with the line.
func eventRecord(rec *record, obj map[string]any) {
	for k := range obj {
		switch k {
		case "key", "event", "value", "time", "at", "amount":
		default:
			rec.badf("event objects hold key, event, value, time (or at) and amount; %q is not one of them", k)
			return
		}
	}
	ev, ok := obj["event"].(string)
	if !ok || ev == "" {
		rec.badf(`event: must be a non-empty string, "field" or "field:value"`)
		return
	}
	if v := obj["value"]; v != nil {
		s, ok := scalar(v)
		if !ok {
			rec.badf("value: must be a string")
			return
		}
		if s != "" {
			if strings.Contains(ev, ":") {
				rec.badf("value: the event %q already has a value; give it in event (field:value) or in value, not both", ev)
				return
			}
			ev += ":" + s
		}
	}
	name, at := "time", obj["time"]
	if a := obj["at"]; a != nil {
		if at != nil {
			rec.badf(`time and at: give the time once ("at" is another name for "time")`)
			return
		}
		name, at = "at", a
	}
	rec.track = append(rec.track, rec.key, ev)
	if at != nil {
		s, err := eventTime(at)
		if err != nil {
			rec.badf("%s: %v", name, err)
			return
		}
		rec.track = append(rec.track, "AT", s)
	}
	if am := obj["amount"]; am != nil {
		var s string
		var err error
		switch x := am.(type) {
		case json.Number:
			s, err = integer(x)
		case string:
			s, err = integer(json.Number(strings.TrimSpace(x)))
		default:
			err = errors.New("must be a whole number")
		}
		if err != nil {
			rec.badf("amount: %v", err)
			return
		}
		rec.track = append(rec.track, "AMOUNT", s)
	}
}

// maxUnixSeconds bounds a numeric event time: anything larger (the year
// 5138 and beyond) is milliseconds or microseconds, not seconds.
const maxUnixSeconds = 1e11

// eventTime renders an event time for AT: a number (or the text of one) is
// Unix seconds, its fraction dropped; other text is sent as it is, for the
// server to read as RFC 3339 or YYYY-MM-DD.
func eventTime(v any) (string, error) {
	var num string
	switch x := v.(type) {
	case json.Number:
		num = string(x)
	case string:
		x = strings.TrimSpace(x)
		if x == "" {
			return "", errors.New("empty: leave it out (or null) for the time of the import")
		}
		if !looksNumeric(x) {
			return x, nil
		}
		num = x
	default:
		return "", errors.New("must be Unix seconds, an RFC 3339 time or a YYYY-MM-DD date")
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("%s is not a number", num)
	}
	switch {
	case f < 0:
		return "", fmt.Errorf("%s is before 1970", num)
	case f >= maxUnixSeconds:
		return "", fmt.Errorf("%s is too large for Unix seconds (milliseconds? divide by 1000)", num)
	}
	if i, err := strconv.ParseInt(num, 10, 64); err == nil {
		return strconv.FormatInt(i, 10), nil
	}
	return strconv.FormatInt(int64(math.Floor(f)), 10), nil
}

// looksNumeric tells a number (digits, at most one '.', an exponent) from
// a date or a time, which always hold a '-' or a ':' after digits.
func looksNumeric(s string) bool {
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9', r == '.', r == 'e', r == 'E':
		case (r == '-' || r == '+') && i == 0:
		case (r == '-' || r == '+') && (s[i-1] == 'e' || s[i-1] == 'E'):
		default:
			return false
		}
	}
	return true
}

// scalar is a string, or an integer written in decimal.
func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		s, err := integer(x)
		return s, err == nil
	}
	return "", false
}

// integer writes a JSON number as a canonical decimal integer: 31, 31.0 and
// 3.1e1 are 31; 31.5 is an error.
func integer(n json.Number) (string, error) {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return strconv.FormatInt(i, 10), nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return "", fmt.Errorf("%s is not a number", n)
	}
	if f != math.Trunc(f) {
		return "", fmt.Errorf("%s is not an integer", n)
	}
	if f < -(1<<63) || f >= 1<<63 {
		return "", fmt.Errorf("%s does not fit in 64 bits", n)
	}
	return strconv.FormatInt(int64(f), 10), nil
}

func jsonErr(err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of line"
	}
	return err.Error()
}
