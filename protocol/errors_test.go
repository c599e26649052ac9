package protocol

import (
	"errors"
	"fmt"
	"testing"

	"github.com/segd-db/segd/index/errs"
)

func TestErrorOf(t *testing.T) {
	wt := errs.New(errs.CodeWrongType, "field 'tier' is ENUM")
	for _, c := range []struct {
		err        error
		code, msg  string
		sameObject bool
	}{
		{wt, errs.CodeWrongType, "field 'tier' is ENUM", true},
		{fmt.Errorf("while writing: %w", wt), errs.CodeWrongType, "field 'tier' is ENUM", true},
		{errors.New("LOADING segd is loading"), errs.CodeLoading, "segd is loading", false},
		{errors.New("ERR no such transfer"), errs.CodeErr, "no such transfer", false},
		{errors.New("COUNT is not an integer or out of range"), errs.CodeErr, "COUNT is not an integer or out of range", false},
		{errors.New("disk full"), errs.CodeErr, "disk full", false},
	} {
		e := ErrorOf(c.err)
		if e.Code != c.code || e.Msg != c.msg || (c.sameObject && e != wt) {
			t.Errorf("ErrorOf(%q) = %q %q", c.err, e.Code, e.Msg)
		}
	}
	if ErrorOf(nil) != nil {
		t.Error("ErrorOf(nil) is not nil")
	}
	if !errors.Is(fmt.Errorf("x: %w", wt), &Error{Code: errs.CodeWrongType}) || errors.Is(wt, &Error{Code: errs.CodeErr}) {
		t.Error("errors.Is does not match by code")
	}
	var enc Enc
	enc.Err(errs.Err("bad\r\ninput"))
	if string(enc.B) != "-ERR bad  input\r\n" {
		t.Errorf("Enc.Err wrote %q", enc.B)
	}
}

func TestOptionsFromTheTable(t *testing.T) {
	for name, want := range map[string]string{
		"query.members":     "[{CURSOR 1} {COUNT 1} {AT 1}]",
		"query.groupby":     "[{WHERE 1} {LIMIT 1} {AT 1}]",
		"segment.create":    "[{REPLACE 0}]",
		"segment.changes":   "[{SINCE 1} {COUNT 1}]",
		"segment.profile":   "[{LIMIT 1}]", // FIELDS repeats: parsed by hand
		"field.create":      "[{GRANULARITY 1} {RETENTION 1}]",
		"ent.set":           "[]",
		"segment.lookalike": "[{COUNT 1} {WHERE 1}]",
	} {
		if got := fmt.Sprint(Lookup([]byte(name)).Options()); got != want {
			t.Errorf("%s options %s, want %s", name, got, want)
		}
	}
}

func TestSubscribedCommands(t *testing.T) {
	var got []string
	for _, c := range All() {
		if c.Subscribed {
			got = append(got, c.Name)
		}
	}
	if fmt.Sprint(got) != "[ping psubscribe publish punsubscribe quit reset subscribe unsubscribe]" {
		t.Errorf("commands allowed in subscribed mode: %v", got)
	}
}

type kindErr struct{ field, kind string }

func (e kindErr) Error() string                   { return "WRONGTYPE field '" + e.field + "' is " + e.kind }
func (e kindErr) FieldKind() (field, kind string) { return e.field, e.kind }

func TestErrorOfAddsTheCommand(t *testing.T) {
	for kind, want := range map[string]string{
		"ENUM":  "WRONGTYPE field 'f' is ENUM, use ENT.SET",
		"TAGS":  "WRONGTYPE field 'f' is TAGS, use ENT.ADD and ENT.REM",
		"EVENT": "WRONGTYPE field 'f' is EVENT, use ENT.TRACK",
	} {
		if got := ErrorOf(fmt.Errorf("x: %w", kindErr{"f", kind})).Error(); got != want {
			t.Errorf("%s: %q, want %q", kind, got, want)
		}
	}
}
