package server

import (
	"context"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/segd-db/segd/index/modeltest"
)

func init() {
	// go-redis logs every failed redial; the kill -9 test makes many on purpose.
	redis.SetLogger(quietLogger{})
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func dial(t testing.TB, addr string, proto int) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: proto, DisableIdentity: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// wireMembers pages through QUERY.MEMBERS over the wire.
func wireMembers(ctx context.Context, t testing.TB, c *redis.Client, expr string) []string {
	t.Helper()
	var out []string
	cursor := "0"
	for {
		v, err := c.Do(ctx, "QUERY.MEMBERS", expr, "CURSOR", cursor, "COUNT", 29).Slice()
		if err != nil {
			t.Fatalf("QUERY.MEMBERS %q: %v", expr, err)
		}
		cursor = v[0].(string)
		for _, k := range v[1].([]any) {
			out = append(out, k.(string))
		}
		if cursor == "0" {
			break
		}
	}
	sort.Strings(out)
	return out
}

// checkWire compares the server with the model on random expressions.
func checkWire(ctx context.Context, t testing.TB, r *rand.Rand, c *redis.Client, m *modeltest.Model, exprs int) {
	t.Helper()
	n, err := c.Do(ctx, "ENT.COUNT").Int64()
	if err != nil || n != int64(len(m.Ents)) {
		t.Fatalf("ENT.COUNT = %d (%v), model has %d", n, err, len(m.Ents))
	}
	for i := 0; i < exprs; i++ {
		text, fn := modeltest.RandomExpr(r, m.Kinds, 3)
		want := m.Members(fn)
		got, err := c.Do(ctx, "QUERY.COUNT", text).Int64()
		if err != nil || got != int64(len(want)) {
			t.Fatalf("QUERY.COUNT %q = %d (%v), model says %d", text, got, err, len(want))
		}
		if keys := wireMembers(ctx, t, c, text); strings.Join(keys, "|") != strings.Join(want, "|") {
			t.Fatalf("QUERY.MEMBERS %q = %q, model says %q", text, keys, want)
		}
		key := modeltest.RandomKey(r)
		in, err := c.Do(ctx, "QUERY.ISMEMBER", text, key).Int64()
		ent := m.Ents[key]
		if wantIn := ent != nil && fn(ent); err != nil || (in == 1) != wantIn {
			t.Fatalf("QUERY.ISMEMBER %q %q = %d (%v), model says %v", text, key, in, err, wantIn)
		}
	}
}

// applyWire sends random writes; the model takes those the server accepted.
func applyWire(ctx context.Context, t testing.TB, r *rand.Rand, c *redis.Client, m *modeltest.Model, writes int) {
	t.Helper()
	for i := 0; i < writes; i++ {
		mu := modeltest.RandomWrite(r)
		args := modeltest.Args(mu)
		anyArgs := make([]any, len(args))
		for j, a := range args {
			anyArgs[j] = a
		}
		err := c.Do(ctx, anyArgs...).Err()
		switch {
		case err == nil:
			m.Apply(mu)
		case strings.Contains(err.Error(), "not a decimal integer"), strings.Contains(err.Error(), "unknown field"):
		default:
			t.Fatalf("%q: %v", args, err)
		}
	}
}

// TestWireModel runs the brute-force model through RESP2 and RESP3, and
// across a graceful restart and a restart from the log alone.
func TestWireModel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprint("resp", proto), func(t *testing.T) {
			dir := t.TempDir()
			r := rand.New(rand.NewSource(int64(proto)))
			m := modeltest.New()
			srv := bootServer(t, dir, func(c *Config) { c.SaveEvery = 0; c.SaveAfter = 0 })
			c := dial(t, srv.Addr(), proto)
			for round := 0; round < 4; round++ {
				applyWire(ctx, t, r, c, m, 500)
				checkWire(ctx, t, r, c, m, 25)
			}
			// Restart without a snapshot: everything comes back from the log.
			if err := srv.shutdown(false); err != nil {
				t.Fatal(err)
			}
			srv = bootServer(t, dir, nil)
			c = dial(t, srv.Addr(), proto)
			checkWire(ctx, t, r, c, m, 40)
			applyWire(ctx, t, r, c, m, 500)
			// Graceful restart: snapshot, then nothing to replay.
			if err := srv.Close(); err != nil {
				t.Fatal(err)
			}
			srv = bootServer(t, dir, nil)
			defer srv.Close()
			c = dial(t, srv.Addr(), proto)
			checkWire(ctx, t, r, c, m, 40)
		})
	}
}
