package server

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/segd-db/segd/index/errs"

	"github.com/segd-db/segd/index"
	"github.com/segd-db/segd/protocol"
)

func TestRouteList(t *testing.T) {
	if err := checkRoutes(routes); err != nil {
		t.Fatal(err)
	}
	for _, c := range tableCommands() {
		if e := byID[c.ID]; e.h == nil && len(c.Subcommands) == 0 {
			t.Errorf("%s has no handler in byID", c.Name)
		}
	}
}

func TestRouteListProblems(t *testing.T) {
	without := func(name string) []route {
		var out []route
		for _, r := range routes {
			if r.name != name {
				out = append(out, r)
			}
		}
		return out
	}
	for _, c := range []struct {
		name string
		rs   []route
		want string
	}{
		{"duplicate", append(append([]route{}, routes...), route{"query.count", cmdQueryCount, false}),
			"route query.count is listed twice"},
		{"not in the table", append(append([]route{}, routes...), route{"query.nothing", cmdQueryCount, false}),
			"route query.nothing is not in the command table"},
		{"a subcommand's short name", append(append([]route{}, routes...), route{"client", cmdClientID, false}),
			""}, // CLIENT is in the table: a route of its own is allowed
		{"no route", without("segment.card"),
			"table command segment.card has no route"},
		{"no route for a subcommand", without("client|setname"),
			"table command client|setname has no route"},
		{"async read", append(without("query.count"), route{"query.count", cmdQueryCount, async}),
			"route query.count is async but the table does not flag it write"},
		{"no handler", append(without("ping"), route{"ping", nil, false}),
			"route ping has no handler"},
	} {
		err := checkRoutes(c.rs)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: got %v, want an error saying %q", c.name, err, c.want)
		}
	}
}

// TestOneErrorType: the engine's errors reach the wire as errs.Error,
// with the command context protocol.ErrorOf adds.
func TestOneErrorType(t *testing.T) {
	eng := index.New()
	if _, err := eng.Apply(&index.Mutation{Op: index.OpSet, Key: "u:1", Pairs: []index.Pair{{Field: "country", Value: "PT"}}}); err != nil {
		t.Fatal(err)
	}
	_, err := eng.Apply(&index.Mutation{Op: index.OpAdd, Key: "u:1", Field: "country", Values: []string{"x"}})
	var pe *errs.Error
	if !errors.As(err, &pe) || pe.Code != errs.CodeWrongType || pe.Msg != "field 'country' is ENUM" {
		t.Errorf("engine error %v as errs.Error: %+v", err, pe)
	}
	if !errors.Is(err, index.ErrWrongType) || strings.Contains(err.Error(), "ENT.") {
		t.Errorf("engine error %q: not WRONGTYPE, or names a command", err)
	}
	if got := protocol.ErrorOf(err).Error(); got != "WRONGTYPE field 'country' is ENUM, use ENT.SET" {
		t.Errorf("wire error %q", got)
	}
	if _, err := eng.Apply(&index.Mutation{Op: index.OpSegmentCreate, Key: "pt", Values: []string{"country:PT"}}); err != nil {
		t.Fatal(err)
	}
	_, err = eng.Apply(&index.Mutation{Op: index.OpSegmentCreate, Key: "pt", Values: []string{"country:PT"}})
	if strings.Contains(err.Error(), "SEGMENT.") {
		t.Errorf("engine error %q names a command", err)
	}
	if got := protocol.ErrorOf(fmt.Errorf("applying: %w", err)).Error(); got != "ERR segment 'pt' exists: drop it first or use SEGMENT.CREATE pt expr REPLACE" {
		t.Errorf("wire error %q", got)
	}
	if got := protocol.ErrorOf(fmt.Errorf("x: %w", errShuttingDown)); got != errShuttingDown {
		t.Errorf("a server error is not kept as it is: %v", got)
	}
}
