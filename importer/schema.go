package importer

import (
	"context"
	"fmt"
	"strings"

	"github.com/segd-db/segd/index"
)

// A row is sent as one ENT.SET and one ENT.ADD per TAGS field: several
// commands, each all or nothing on the server, but not together. So that a
// row goes in whole or not at all, every cell is checked against the server's
// schema before any command of the row is sent: the field names, the sizes,
// the kinds (an INT cell must hold an integer). An event row is one
// ENT.TRACK, which the server checks whole. Fields the file names first
// are created by the importer itself, in file order, with the kind the
// server would give them on a first write (SPEC §3), so that which kind a
// field gets never depends on which connection's write arrives first. In
// strict schema mode the importer creates nothing: a row naming an unknown
// field is a bad row.

// schemaView is the importer's copy of the server's fields.
type schemaView struct {
	kinds  map[string]index.Kind
	strict bool
	c      *conn // the control connection, for FIELD.CREATE
}

// loadSchema reads the fields and the schema mode of the server.
func loadSchema(ctx context.Context, c *conn) (*schemaView, error) {
	s := &schemaView{kinds: map[string]index.Kind{}, c: c}
	v, err := c.call(ctx, "FIELD.LIST")
	if err != nil {
		return nil, fmt.Errorf("FIELD.LIST: %w", err)
	}
	rows, _ := v.([]any)
	for _, r := range rows {
		pair, _ := r.([]any)
		if len(pair) != 2 {
			return nil, fmt.Errorf("FIELD.LIST: unexpected reply %v", v)
		}
		name, _ := pair[0].(string)
		k, ok := index.ParseKind(fmt.Sprint(pair[1]))
		if !ok {
			return nil, fmt.Errorf("FIELD.LIST: unknown kind %v of field %q", pair[1], name)
		}
		s.kinds[name] = k
	}
	// An older server without a schema mode answers an error: auto.
	if v, err := c.call(ctx, "CONFIG", "GET", "schema"); err == nil {
		if kv, _ := v.([]any); len(kv) == 2 && fmt.Sprint(kv[1]) == "strict" {
			s.strict = true
		}
	}
	return s, nil
}

// check tells why rec cannot go in ("" when it can), creating the fields
// it is the first to name. Nothing of a row that fails is sent.
func (s *schemaView) check(ctx context.Context, rec *record) (string, error) {
	if len(rec.track) > 0 {
		return "", nil // one ENT.TRACK: the server checks it, all or nothing
	}
	var reasons []string
	bad := func(format string, a ...any) { reasons = append(reasons, fmt.Sprintf(format, a...)) }
	if len(rec.key) > index.MaxKeyLen {
		bad("key of %d bytes is too long (at most %d)", len(rec.key), index.MaxKeyLen)
	}
	created := map[string]index.Kind{}
	want := func(field string, cell cellKind, value string) {
		if err := index.ValidFieldName(field); err != nil {
			bad("%s", strings.TrimPrefix(err.Error(), "ERR "))
			return
		}
		have, known := s.kinds[field]
		if !known {
			have, known = created[field]
		}
		switch {
		case !known && s.strict:
			bad("unknown field '%s' (the server's schema is strict: create it with FIELD.CREATE first)", field)
		case !known:
			created[field] = cell.kindFor(value)
		default:
			if why := cell.conflict(field, have, value); why != "" {
				bad("%s", why)
			}
		}
	}
	for i := 0; i+1 < len(rec.sets); i += 2 {
		f, v := rec.sets[i], rec.sets[i+1]
		checkValue(f, v, bad)
		want(f, scalarCell, v)
	}
	for _, a := range rec.adds {
		for _, v := range a.vals {
			checkValue(a.field, v, bad)
		}
		want(a.field, tagsCell, "")
	}
	if len(reasons) > 0 {
		return strings.Join(reasons, "; ") + " (nothing of the row was written)", nil
	}
	return "", s.create(ctx, created)
}

// cellKind is what a cell writes: a scalar (ENT.SET) or TAGS values
// (ENT.ADD).
type cellKind int

const (
	scalarCell cellKind = iota
	tagsCell
)

// kindFor is the kind a first write of the cell gives a new field.
func (c cellKind) kindFor(value string) index.Kind {
	switch c {
	case tagsCell:
		return index.KindTags
	}
	if _, ok := index.CanonicalInt(value); ok {
		return index.KindInt
	}
	return index.KindEnum
}

// conflict tells why the cell cannot be written to a field of kind have.
func (c cellKind) conflict(field string, have index.Kind, value string) string {
	switch {
	case c == scalarCell && have == index.KindEnum:
	case c == scalarCell && have == index.KindInt:
		if _, ok := index.CanonicalInt(value); !ok {
			return fmt.Sprintf("%s is INT and '%s' is not an integer", field, value)
		}
	case c == scalarCell:
		return fmt.Sprintf("%s is %s: a single value cannot be set", field, have)
	case c == tagsCell && have != index.KindTags:
		return fmt.Sprintf("%s is %s, not TAGS: a list of values cannot be added", field, have)
	}
	return ""
}

func checkValue(field, v string, bad func(string, ...any)) {
	if v == "" {
		bad("empty value for %s", field)
	}
	if len(v) > index.MaxValueLen {
		bad("value of %d bytes for %s is too long (at most %d)", len(v), field, index.MaxValueLen)
	}
}

// create makes the fields a row is the first to name. A field made
// meanwhile by another client with the same kind is fine; another kind is a
// fatal error (the import's assumption about the schema no longer holds).
func (s *schemaView) create(ctx context.Context, fields map[string]index.Kind) error {
	for f, k := range fields {
		if _, err := s.c.call(ctx, "FIELD.CREATE", f, k.String()); err != nil {
			return fmt.Errorf("FIELD.CREATE %s %s: %w", f, k, err)
		}
		s.kinds[f] = k
	}
	return nil
}

// errReply is an error reply of the server.
type errReply struct{ msg string }

func (e errReply) Error() string { return e.msg }

// call sends one command and reads its reply as Go values: strings,
// int64s, nil, []any; an error reply is an errReply.
func (c *conn) call(ctx context.Context, args ...string) (any, error) {
	b := appendArrayHeader(nil, len(args))
	for _, a := range args {
		b = appendArg(b, a)
	}
	if err := c.write(b); err != nil {
		return nil, err
	}
	v, err := c.value()
	if err != nil {
		return nil, err
	}
	if e, ok := v.(errReply); ok {
		return nil, e
	}
	return v, ctx.Err()
}
