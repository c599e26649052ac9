package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"segd/client"
	"segd/index"
	"segd/server"
)

// clients returns the embedded client and remote clients over RESP2 and
// RESP3 against a real server, each on fresh data.
func clients(t *testing.T) map[string]client.Client {
	t.Helper()
	out := map[string]client.Client{"embedded": client.Embedded(index.New())}
	for _, proto := range []int{2, 3} {
		cfg := server.DefaultConfig()
		cfg.Addr, cfg.MetricsAddr, cfg.InMemory = "127.0.0.1:0", "", true
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		srv, err := server.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := srv.WaitReady(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
		c := client.Remote(&redis.Options{Addr: srv.Addr(), Protocol: proto})
		t.Cleanup(func() { c.Close(); srv.Close() })
		out[fmt.Sprint("remote-resp", proto)] = c
	}
	return out
}

// TestClientsAgree runs the same calls on every client and expects the same
// answers: the embedded engine and the server behave alike.
func TestClientsAgree(t *testing.T) {
	ctx := context.Background()
	for name, c := range clients(t) {
		t.Run(name, func(t *testing.T) {
			must := func(n int64, err error) int64 {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			if err := c.CreateField(ctx, "tier", "ENUM"); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 30; i++ {
				tier := []string{"gold", "silver", "bronze"}[i%3]
				must(c.Set(ctx, fmt.Sprintf("u:%02d", i), client.Fields{"tier": tier, "age": 20 + i, "country": "PT"}))
				if i%2 == 0 {
					must(c.Add(ctx, fmt.Sprintf("u:%02d", i), "interests", "fitness", "travel"))
				}
			}
			if n := must(c.Set(ctx, "u:00", client.Fields{"tier": "gold", "age": 20})); n != 0 {
				t.Errorf("setting the same values changed %d fields", n)
			}
			if n := must(c.Rem(ctx, "u:00", "interests", "travel", "golf")); n != 1 {
				t.Errorf("Rem = %d", n)
			}
			if n := must(c.Unset(ctx, "u:01", "country")); n != 1 {
				t.Errorf("Unset = %d", n)
			}
			if n := must(c.Del(ctx, "u:29", "nobody")); n != 1 {
				t.Errorf("Del = %d", n)
			}
			e, err := c.Get(ctx, "u:00")
			if err != nil {
				t.Fatal(err)
			}
			want := client.Entity{"age": int64(20), "country": "PT", "interests": []string{"fitness"}, "tier": "gold"}
			if !reflect.DeepEqual(e, want) {
				t.Errorf("Get = %#v, want %#v", e, want)
			}
			if _, err := c.Get(ctx, "nobody"); !errors.Is(err, client.ErrNotFound) {
				t.Errorf("Get of an unknown key: %v", err)
			}
			n, err := c.Count(ctx, "tier:gold AND age >= 30 AND NOT interests:*")
			if err != nil || n != 3 {
				t.Errorf("Count = %d, %v", n, err)
			}
			in, err := c.IsMember(ctx, "country:PT", "u:01")
			if err != nil || in {
				t.Errorf("IsMember after Unset = %v, %v", in, err)
			}
			var keys []string
			if err := c.Members(ctx, "interests:fitness", func(k string) error { keys = append(keys, k); return nil }); err != nil {
				t.Fatal(err)
			}
			sort.Strings(keys)
			if len(keys) != 15 || keys[0] != "u:00" || keys[14] != "u:28" {
				t.Errorf("Members = %v", keys)
			}
			groups, err := c.GroupBy(ctx, "tier", "age < 26", 2)
			if err != nil || !reflect.DeepEqual(groups, []client.ValueCount{{"bronze", 2}, {"gold", 2}}) {
				t.Errorf("GroupBy = %v, %v", groups, err)
			}
			top, err := c.Top(ctx, 2, "age", "tier:silver")
			if err != nil || !reflect.DeepEqual(top, []client.Ranked{{"u:28", 48}, {"u:25", 45}}) {
				t.Errorf("Top = %v, %v", top, err)
			}
			if _, err := c.Add(ctx, "u:00", "tier", "x"); err == nil || !strings.HasPrefix(err.Error(), "WRONGTYPE") {
				t.Errorf("a wrong-kind write should be a WRONGTYPE error, got %v", err)
			}
			if _, err := c.Set(ctx, "u:00", client.Fields{"score": 1.5}); err == nil {
				t.Error("a float value should be refused by the client")
			}
		})
	}
}
