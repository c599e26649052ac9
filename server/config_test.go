package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"github.com/segd-db/segd/internal/testenv"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/segd-db/segd/storage"
)

func TestParseConfigFlagsAndEnv(t *testing.T) {
	env := []string{"SEGD_ADDR=127.0.0.1:7000", "SEGD_FSYNC=always", "SEGD_PASSWORD=s3cret", "SEGD_MAX_CLIENTS=5", "HOME=/x"}
	cfg, err := ParseConfig([]string{"--max-clients", "7", "--in-memory"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:7000" || cfg.Fsync != storage.FsyncAlways || cfg.Password != "s3cret" {
		t.Fatalf("environment not applied: %+v", cfg)
	}
	if cfg.MaxClients != 7 || !cfg.InMemory {
		t.Fatalf("flags must win over the environment: %+v", cfg)
	}
	def, err := ParseConfig(nil, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if def.Addr != "127.0.0.1:6479" || def.MetricsAddr != "127.0.0.1:9479" || def.Dir != "./segd-data" || def.Fsync != storage.FsyncEverySec {
		t.Fatalf("defaults differ from the specification: %+v", def)
	}
	for _, bad := range [][]string{
		{"--fsync", "sometimes"},
		{"--max-clients", "0"},
		{"--tls-cert", "x.pem"},
		{"--log-level", "loud"},
		{"stray"},
	} {
		if _, err := ParseConfig(bad, nil, io.Discard); err == nil {
			t.Errorf("ParseConfig(%q) accepted bad input", bad)
		}
	}
	if _, err := ParseConfig(nil, []string{"SEGD_MAX_CLIENTS=many"}, io.Discard); err == nil || !strings.Contains(err.Error(), "SEGD_MAX_CLIENTS") {
		t.Errorf("a bad environment value must be named in the error, got %v", err)
	}
}

func TestInMemoryServer(t *testing.T) {
	t.Parallel()
	srv := bootServer(t, "", func(c *Config) { c.InMemory = true })
	defer srv.Close()
	c := dial(t, srv.Addr(), 3)
	ctx := context.Background()
	if err := c.Do(ctx, "ENT.SET", "u:1", "tier", "gold").Err(); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.Do(ctx, "QUERY.COUNT", "tier:gold").Int64(); n != 1 {
		t.Fatalf("QUERY.COUNT = %d", n)
	}
	if err := c.Do(ctx, "SAVE").Err(); err == nil || !strings.Contains(err.Error(), "in-memory") {
		t.Fatalf("SAVE under --in-memory should explain itself, got %v", err)
	}
}

// TestTLS serves TLS with a self-signed certificate and talks to it with
// go-redis over TLS.
func TestTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, pool := testenv.SelfSigned(t, dir)
	srv := bootServer(t, t.TempDir(), func(c *Config) { c.TLSCert, c.TLSKey = certFile, keyFile })
	defer srv.Close()
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}, Protocol: 3})
	defer c.Close()
	ctx := context.Background()
	if err := c.Do(ctx, "ENT.SET", "u:1", "country", "PT").Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Do(ctx, "QUERY.COUNT", "country:PT").Int64(); err != nil || n != 1 {
		t.Fatalf("QUERY.COUNT over TLS = %d, %v", n, err)
	}
	// redis-cli speaks TLS too.
	if cli, err := exec.LookPath("redis-cli"); err == nil {
		out, err := exec.Command(cli, "--tls", "--cacert", filepath.Join(dir, "cert.pem"), "-h", "127.0.0.1", "-p", portOf(srv.Addr()), "QUERY.COUNT", "country:PT").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "1" {
			t.Fatalf("redis-cli --tls QUERY.COUNT: %v: %s", err, out)
		}
	}
	// A plain-text client gets nothing useful from a TLS port.
	plain := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: time.Second})
	defer plain.Close()
	if err := plain.Ping(ctx).Err(); err == nil {
		t.Fatal("a plain-text PING on the TLS port succeeded")
	}
}

// TestHelloAuthWithoutPassword: a client configured with a password still
// connects to a server without one, as with Redis's default user.
func TestHelloAuthWithoutPassword(t *testing.T) {
	t.Parallel()
	srv := bootServer(t, t.TempDir(), nil)
	defer srv.Close()
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), Protocol: 3, Password: "anything"})
	defer c.Close()
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("PING with a password against a server without one: %v", err)
	}
}

// TestWarnsWhenExposed: listening beyond loopback without a password is
// logged loudly; on loopback, or with a password, it is not.
func TestWarnsWhenExposed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		addr, password string
		warn           bool
	}{
		{"127.0.0.1:0", "", false},
		{"0.0.0.0:0", "", true},
		{"0.0.0.0:0", "s3cret", false},
	} {
		var logs strings.Builder
		srv := bootServer(t, t.TempDir(), func(c *Config) {
			c.Addr, c.Password = tc.addr, tc.password
			c.Logger = slog.New(slog.NewTextHandler(&lockedWriter{w: &logs}, nil))
		})
		srv.Close()
		got := strings.Contains(logs.String(), "non-loopback address without a password")
		if got != tc.warn {
			t.Errorf("addr %s password %q: warning logged = %v, want %v", tc.addr, tc.password, got, tc.warn)
		}
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Every server flag has a row in README.md's flag table, so that the table
// cannot fall behind the flags.
func TestREADMEListsEveryFlag(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var usage bytes.Buffer
	if _, err := ParseConfig([]string{"--help"}, nil, &usage); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	for _, line := range strings.Split(usage.String(), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "-") {
			continue
		}
		name := strings.Fields(line)[0]
		if !bytes.Contains(readme, []byte("`-"+name+"`")) {
			t.Errorf("README.md's flag table has no row for -%s", name)
		}
	}
}
