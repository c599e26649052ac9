package server

import (
	"strings"
	"testing"
)

// Strict schema mode: a write naming an unknown field is refused with the
// nearest existing name and changes nothing; the mode is persisted across a
// restart; CONFIG GET shows it; --schema sets it.
func TestSchemaModeStrict(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := bootServer(t, dir, nil)
	c := newClient(t, srv, 2)
	do(t, c, "ENT.SET", "c:1", "country", "PT")
	if got := doArr(t, c, "CONFIG", "GET", "schema"); len(got) != 2 || got[1] != "auto" {
		t.Fatalf("CONFIG GET schema = %v, want auto", got)
	}
	if got := doStr(t, c, "CONFIG", "SET", "schema", "strict"); got != "OK" {
		t.Fatalf("CONFIG SET schema strict = %q", got)
	}
	for _, args := range [][]any{
		{"ENT.SET", "c:2", "contry", "PT"},
		{"ENT.ADD", "c:2", "contry", "a"},
		{"ENT.TRACK", "c:2", "contry:x"},
	} {
		msg := doErr(t, c, args...)
		if !strings.Contains(msg, "unknown field 'contry' (did you mean 'country'?)") || !strings.Contains(msg, "FIELD.CREATE") {
			t.Errorf("%v: %q", args, msg)
		}
	}
	if n := doInt(t, c, "ENT.COUNT"); n != 1 {
		t.Errorf("ENT.COUNT = %d after refused writes, want 1", n)
	}
	do(t, c, "FIELD.CREATE", "age", "INT")
	do(t, c, "ENT.SET", "c:2", "age", "30") // a created field is written as usual
	if msg := doErr(t, c, "CONFIG", "SET", "schema", "lax"); !strings.Contains(msg, "use auto or strict") {
		t.Errorf("CONFIG SET schema lax: %q", msg)
	}
	if msg := doErr(t, c, "CONFIG", "SET", "maxmemory", "1"); !strings.Contains(msg, "only schema can") {
		t.Errorf("CONFIG SET maxmemory: %q", msg)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}

	srv = bootServer(t, dir, nil)
	c = newClient(t, srv, 2)
	if got := doArr(t, c, "CONFIG", "GET", "schema"); got[1] != "strict" {
		t.Fatalf("after a restart, schema = %v, want strict", got)
	}
	if msg := doErr(t, c, "ENT.SET", "c:3", "tier", "gold"); !strings.Contains(msg, "unknown field 'tier'") {
		t.Errorf("strict after restart: %q", msg)
	}
	do(t, c, "SAVE") // the mode is in the snapshot too
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	srv = bootServer(t, dir, func(cfg *Config) { cfg.Schema = "auto" })
	c = newClient(t, srv, 2)
	if got := doArr(t, c, "CONFIG", "GET", "schema"); got[1] != "auto" {
		t.Fatalf("--schema auto: schema = %v", got)
	}
	do(t, c, "ENT.SET", "c:3", "tier", "gold")
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
}

// Queries and FIELD.* suggest the nearest name for an unknown field; in
// auto mode a field a write creates is counted.
func TestUnknownFieldSuggestions(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	c := newClient(t, srv, 2)
	do(t, c, "ENT.SET", "c:1", "country", "PT", "tier", "gold")
	for _, args := range [][]any{
		{"QUERY.COUNT", "contry:PT"},
		{"FIELD.INFO", "County"},
		{"FIELD.VALUES", "tierr"},
	} {
		if msg := doErr(t, c, args...); !strings.Contains(msg, "did you mean") {
			t.Errorf("%v: %q, want a suggestion", args, msg)
		}
	}
	if msg := doErr(t, c, "QUERY.COUNT", "zzzzzz:1"); strings.Contains(msg, "did you mean") {
		t.Errorf("nothing near: %q", msg)
	}
	body := scrapeMetrics(t, srv)
	if v, ok := metricValue(body, "segd_fields_created_by_writes_total"); !ok || v != 2 {
		t.Errorf("segd_fields_created_by_writes_total = %v (%v), want 2", v, ok)
	}
}

// FIELD.DROP of a field entities hold needs FORCE, and says how many.
func TestFieldDropForce(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	c := newClient(t, srv, 2)
	for _, k := range []string{"c:1", "c:2", "c:3"} {
		do(t, c, "ENT.SET", k, "country", "PT")
	}
	do(t, c, "FIELD.CREATE", "empty", "ENUM")
	msg := doErr(t, c, "FIELD.DROP", "country")
	if !strings.Contains(msg, "held by 3 entities") || !strings.Contains(msg, "FORCE") {
		t.Errorf("FIELD.DROP country: %q", msg)
	}
	if n := doInt(t, c, "QUERY.COUNT", "country:PT"); n != 3 {
		t.Errorf("after the refused drop, country:PT = %d", n)
	}
	if n := doInt(t, c, "FIELD.DROP", "empty"); n != 1 {
		t.Errorf("FIELD.DROP of a field nobody holds = %d", n)
	}
	if msg := doErr(t, c, "FIELD.DROP", "country", "NOW"); !strings.Contains(msg, "FIELD.DROP field [FORCE]") {
		t.Errorf("FIELD.DROP country NOW: %q", msg)
	}
	if n := doInt(t, c, "FIELD.DROP", "country", "force"); n != 1 {
		t.Errorf("FIELD.DROP country FORCE = %d", n)
	}
}
