package index_test

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/segd-db/segd/index"
	"github.com/segd-db/segd/index/modeltest"
)

func allMembers(t *testing.T, e *index.Engine, expr string) []string {
	t.Helper()
	var out []string
	cursor := uint64(0)
	for {
		next, keys, err := e.Members(expr, cursor, 37, time.Time{})
		if err != nil {
			t.Fatalf("Members(%q): %v", expr, err)
		}
		out = append(out, keys...)
		if next == 0 {
			break
		}
		cursor = next
	}
	sort.Strings(out)
	return out
}

// checkAgainstModel compares the engine with the model on random expressions.
func checkAgainstModel(t *testing.T, r *rand.Rand, e *index.Engine, m *modeltest.Model, exprs int) {
	t.Helper()
	if got, want := e.Len(), uint64(len(m.Ents)); got != want {
		t.Fatalf("Len = %d, model has %d", got, want)
	}
	for i := 0; i < exprs; i++ {
		text, fn := modeltest.RandomExpr(r, m.Kinds, 3)
		want := m.Members(fn)
		n, err := e.Count(text, time.Time{})
		if err != nil {
			t.Fatalf("Count(%q): %v", text, err)
		}
		if n != uint64(len(want)) {
			t.Fatalf("Count(%q) = %d, model says %d", text, n, len(want))
		}
		if got := allMembers(t, e, text); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("Members(%q) = %q, model says %q", text, got, want)
		}
		for j := 0; j < 5; j++ {
			key := modeltest.RandomKey(r)
			in, err := e.IsMember(text, key, time.Time{})
			if err != nil {
				t.Fatalf("IsMember: %v", err)
			}
			ent := m.Ents[key]
			if wantIn := ent != nil && fn(ent); in != wantIn {
				t.Fatalf("IsMember(%q, %q) = %v, model says %v", text, key, in, wantIn)
			}
		}
	}
}

func TestModelRandom(t *testing.T) {
	seeds := 6
	if testing.Short() {
		seeds = 2
	}
	for seed := int64(1); seed <= int64(seeds); seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewSource(seed))
			e, m := index.New(), modeltest.New()
			var log []*index.Mutation
			for step := 0; step < 3000; step++ {
				mu := modeltest.RandomWrite(r)
				if _, err := e.Apply(mu); err == nil {
					m.Apply(mu)
					log = append(log, mu)
				} else if !strings.Contains(err.Error(), "not a decimal integer") && !strings.Contains(err.Error(), "unknown field") {
					t.Fatalf("Apply(%+v): %v", mu, err)
				}
				if step%500 == 499 {
					checkAgainstModel(t, r, e, m, 60)
				}
			}
			checkAgainstModel(t, r, e, m, 200)

			// A snapshot loaded into a new engine, and the replayed log, agree too.
			parts, err := e.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			restored := index.New()
			if err := restored.LoadSnapshot(parts); err != nil {
				t.Fatal(err)
			}
			checkAgainstModel(t, r, restored, m, 100)
			replayed := index.New()
			for _, mu := range log {
				enc := mu.AppendBinary(nil)
				dec, err := index.UnmarshalMutation(enc)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := replayed.Apply(dec); err != nil {
					t.Fatalf("replay %+v: %v", dec, err)
				}
			}
			checkAgainstModel(t, r, replayed, m, 100)
			// Writes after a restore assign ids exactly as the original does.
			for step := 0; step < 500; step++ {
				mu := modeltest.RandomWrite(r)
				_, err1 := e.Apply(mu)
				_, err2 := restored.Apply(mu)
				if (err1 == nil) != (err2 == nil) {
					t.Fatalf("original and restored disagree on %+v: %v vs %v", mu, err1, err2)
				}
				if err1 == nil {
					m.Apply(mu)
				}
			}
			checkAgainstModel(t, r, restored, m, 100)
			checkAgainstModel(t, r, e, m, 50)
		})
	}
}

// TestNotSupportedYet: the parts of the language served by later releases
// parse, and answer a clear error instead of a wrong answer.
func TestNotSupportedYet(t *testing.T) {
	e := index.New()
	if _, err := e.Apply(&index.Mutation{Op: index.OpSet, Key: "u:1", Pairs: []index.Pair{{Field: "spend", Value: "10"}}}); err != nil {
		t.Fatal(err)
	}
	for expr, want := range map[string]string{
		"@vip AND spend > 3":      "unknown segment 'vip'",
		"spend >= 3 IN 90d":       "windows apply to EVENT fields",
		"spend:* BETWEEN 1 AND 2": "windows apply to EVENT fields",
	} {
		_, err := e.Count(expr, time.Time{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Count(%q) = %v, want an error containing %q", expr, err, want)
		}
	}
}
