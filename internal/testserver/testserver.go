// Package testserver boots a real segd server for the tests of the packages
// that talk to one (the importer, the client, the benchmarks' drivers): free
// loopback ports, a fresh data directory, a quiet logger, a ready server
// before the test goes on, and a checked Close when it ends.
//
// Package server's own tests cannot import it (an import cycle); they keep
// the same helpers in server/helpers_test.go.
package testserver

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/segd-db/segd/server"
)

// Timeout bounds every wait of the helpers: start-up, dialling, one command.
const Timeout = 10 * time.Second

// Logger discards the server's logs unless SEGD_TEST_LOG is set, in which
// case they go to stderr (t.Log cannot be used: background goroutines may
// log after a test has finished).
func Logger() *slog.Logger {
	if os.Getenv("SEGD_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// Start starts a server on free loopback ports (RESP and metrics), waits
// until it is ready and closes it when the test ends, failing the test if
// Close does. edit, when not nil, changes the configuration first; unless it
// sets InMemory or a Dir of its own, the data directory is a fresh
// t.TempDir().
func Start(t testing.TB, edit func(*server.Config)) *server.Server {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.MetricsAddr = "127.0.0.1:0"
	cfg.Dir = ""
	cfg.Logger = Logger()
	if edit != nil {
		edit(&cfg)
	}
	if cfg.Dir == "" && !cfg.InMemory {
		cfg.Dir = t.TempDir()
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("server.Start: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("server.Close: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := srv.WaitReady(ctx); err != nil {
		t.Fatalf("server.WaitReady: %v", err)
	}
	return srv
}

// Client connects a go-redis client to srv with opt (nil for the defaults;
// Addr is filled in, unset timeouts become Timeout) and closes it when the
// test ends, before the server. It pings once so that a connection error
// shows here rather than in the test's first command.
func Client(t testing.TB, srv *server.Server, opt *redis.Options) *redis.Client {
	t.Helper()
	if opt == nil {
		opt = &redis.Options{}
	}
	opt.Addr = srv.Addr()
	if opt.DialTimeout == 0 {
		opt.DialTimeout = Timeout
	}
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = Timeout
	}
	if opt.WriteTimeout == 0 {
		opt.WriteTimeout = Timeout
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("go-redis RESP%d: PING %s: %v", opt.Protocol, opt.Addr, err)
	}
	return c
}
