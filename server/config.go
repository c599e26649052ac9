package server

import (
	"errors"
	"flag"
	"fmt"
	"github.com/segd-db/segd/index"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/segd-db/segd/storage"
)

// Config is everything a segd server is started with. Every field has a
// flag, and every flag an environment variable: --max-clients is
// SEGD_MAX_CLIENTS; --requirepass is also read from SEGD_PASSWORD.
type Config struct {
	Addr        string // RESP listen address
	MetricsAddr string // HTTP address for /metrics and /healthz; "" disables
	Dir         string // Badger data directory
	InMemory    bool   // keep nothing on disk
	Fsync       storage.FsyncMode
	Password    string        // --requirepass
	TLSCert     string        // --tls-cert
	TLSKey      string        // --tls-key
	MaxClients  int           // connections beyond this are refused
	MaxRequest  int           // largest request in bytes (one command with its arguments)
	MaxExpr     int           // longest expression in bytes
	MaxPage     int           // largest COUNT/LIMIT/k a reply may carry
	SaveEvery   time.Duration // snapshot this often when anything changed; 0 disables
	SaveAfter   int           // snapshot after this many logged writes; 0 disables
	PubSubQueue int           // messages queued per subscriber before it is disconnected
	ChangeLog   int           // changes each saved segment keeps for SEGMENT.CHANGES
	MinFreeDisk int64         // refuse writes while less disk than this is free
	GCPercent   int           // Go GC target percentage; 0 keeps GOGC or Go's default
	MemoryLimit int64         // soft memory limit in bytes for the Go runtime; 0 keeps GOMEMLIMIT
	Schema      string        // --schema: "auto", "strict", or "" to keep the persisted mode
	HugePages   bool          // collapse the engine's dense memory into transparent huge pages (Linux)
	LogLevel    string        // debug, info, warn, error
	LogFormat   string        // text or json

	Logger *slog.Logger // built from LogLevel/LogFormat when nil

	// For tests: the engine's clock (time.Now when nil) and how often event
	// buckets past their retention are dropped (expireEvery when 0).
	clock       func() time.Time
	expireEvery time.Duration
}

// expireEvery is how often the server drops EVENT buckets that have left
// their field's retention (engine.Expire). Queries never read them either
// way; dropping them frees their memory.
const expireEvery = time.Minute

// DefaultConfig is the configuration of `segd` with no flags.
func DefaultConfig() Config {
	return Config{
		Addr:        "127.0.0.1:6479",
		MetricsAddr: "127.0.0.1:9479",
		Dir:         "./segd-data",
		Fsync:       storage.FsyncEverySec,
		MaxClients:  10000,
		MaxRequest:  8 << 20,
		MaxExpr:     16 << 10,
		MaxPage:     100000,
		SaveEvery:   5 * time.Minute,
		SaveAfter:   1000000,
		PubSubQueue: 10000,
		ChangeLog:   index.DefaultChangeLog,
		MinFreeDisk: 64 << 20,
		GCPercent:   50,
		HugePages:   true,
		LogLevel:    "info",
		LogFormat:   "text",
	}
}

// ParseConfig reads flags from args, with defaults taken from SEGD_*
// variables in env (as os.Environ gives them) before the built-in defaults.
func ParseConfig(args []string, env []string, usage io.Writer) (Config, error) {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("segd", flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.Usage = func() {
		fmt.Fprint(usage, `usage: segd [flags]                run the server (every flag also reads SEGD_<FLAG>)
       segd import FILE [flags]    load customers from CSV or NDJSON into a running server
       segd backup FILE [flags]    write a backup of a running server to FILE
       segd restore FILE [flags]   replace a running server's data with a backup

Server flags:
`)
		fs.PrintDefaults()
	}
	envs := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "SEGD_") {
			envs[k] = v
		}
	}
	fsync := cfg.Fsync.String()
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "RESP listen address (host:port)")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", cfg.MetricsAddr, "HTTP address for /metrics (Prometheus), /healthz, the explorer (/ and /api/) and /debug/pprof (empty disables)")
	version := fs.Bool("version", false, "print segd's version and exit")
	fs.StringVar(&cfg.Dir, "dir", cfg.Dir, "data directory of the embedded Badger store")
	fs.BoolVar(&cfg.InMemory, "in-memory", cfg.InMemory, "keep everything in memory only (a throw-away server)")
	fs.StringVar(&fsync, "fsync", fsync, "when to sync writes to disk: always, everysec or no")
	fs.StringVar(&cfg.Password, "requirepass", cfg.Password, "password clients must give with AUTH (also SEGD_PASSWORD)")
	fs.StringVar(&cfg.TLSCert, "tls-cert", cfg.TLSCert, "TLS certificate file (PEM); serve TLS when set with --tls-key")
	fs.StringVar(&cfg.TLSKey, "tls-key", cfg.TLSKey, "TLS private key file (PEM)")
	fs.IntVar(&cfg.MaxClients, "max-clients", cfg.MaxClients, "most client connections at once")
	fs.IntVar(&cfg.MaxRequest, "max-request-bytes", cfg.MaxRequest, "largest request (a command and its arguments) in bytes")
	fs.IntVar(&cfg.MaxExpr, "max-expr-bytes", cfg.MaxExpr, "longest expression in bytes")
	fs.IntVar(&cfg.MaxPage, "max-page", cfg.MaxPage, "largest COUNT, LIMIT or k a reply may carry")
	fs.IntVar(&cfg.ChangeLog, "segment-changelog", cfg.ChangeLog, "changes each saved segment keeps for SEGMENT.CHANGES")
	fs.DurationVar(&cfg.SaveEvery, "save-every", cfg.SaveEvery, "snapshot this often when anything changed (0 disables)")
	fs.IntVar(&cfg.SaveAfter, "save-after", cfg.SaveAfter, "snapshot after this many logged writes (0 disables)")
	fs.Int64Var(&cfg.MinFreeDisk, "min-free-disk", cfg.MinFreeDisk, "refuse writes while less than this many bytes are free on the data directory's disk; they resume by themselves")
	fs.IntVar(&cfg.PubSubQueue, "pubsub-queue", cfg.PubSubQueue, "messages queued per subscriber before it is disconnected")
	fs.IntVar(&cfg.GCPercent, "gc-percent", cfg.GCPercent, "Go GC target: heap growth over live data before a collection (like GOGC; lower uses less memory, more CPU)")
	fs.Int64Var(&cfg.MemoryLimit, "memory-limit", cfg.MemoryLimit, "soft memory limit in bytes for the Go runtime (like GOMEMLIMIT; 0: none)")
	fs.StringVar(&cfg.Schema, "schema", cfg.Schema, "schema mode: auto (writes create unknown fields) or strict (only FIELD.CREATE does); persisted, also CONFIG SET schema; empty keeps the stored mode (auto at first)")
	fs.BoolVar(&cfg.HugePages, "huge-pages", cfg.HugePages, "collapse the engine's dense memory into transparent huge pages on Linux (fewer TLB misses at millions of entities; --huge-pages=false keeps 4 KiB pages)")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "log level: debug, info, warn or error")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "log format: text or json")

	// Environment variables override built-in defaults; flags override both.
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := "SEGD_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if f.Name == "requirepass" {
			if v, ok := envs["SEGD_PASSWORD"]; ok {
				envs[name] = v
			}
		}
		if v, ok := envs[name]; ok {
			if err := f.Value.Set(v); err != nil && envErr == nil {
				envErr = fmt.Errorf("environment %s=%q: %w", name, v, err)
			}
		}
	})
	if envErr != nil {
		return cfg, envErr
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if *version {
		fmt.Fprintln(usage, VersionLine())
		return cfg, flag.ErrHelp
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (flags start with --)", fs.Arg(0))
	}
	mode, err := storage.ParseFsync(fsync)
	if err != nil {
		return cfg, err
	}
	cfg.Fsync = mode
	return cfg, cfg.validate()
}

func (c *Config) validate() error {
	var errs []error
	if c.MaxClients < 1 {
		errs = append(errs, errors.New("--max-clients must be at least 1"))
	}
	if c.MaxRequest < 1024 {
		errs = append(errs, errors.New("--max-request-bytes must be at least 1024"))
	}
	if c.MaxExpr < 16 {
		errs = append(errs, errors.New("--max-expr-bytes must be at least 16"))
	}
	if c.MaxPage < 1 {
		errs = append(errs, errors.New("--max-page must be at least 1"))
	}
	if c.Schema != "" && c.Schema != "auto" && c.Schema != "strict" {
		errs = append(errs, fmt.Errorf("--schema %q: auto or strict", c.Schema))
	}
	if c.ChangeLog < 0 {
		errs = append(errs, errors.New("--segment-changelog cannot be negative"))
	}
	if c.GCPercent < 0 || c.MemoryLimit < 0 || c.MinFreeDisk < 0 {
		errs = append(errs, errors.New("--gc-percent, --memory-limit and --min-free-disk cannot be negative"))
	}
	if c.PubSubQueue < 1 {
		errs = append(errs, errors.New("--pubsub-queue must be at least 1"))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together"))
	}
	if !c.InMemory && c.Dir == "" {
		errs = append(errs, errors.New("--dir is empty: give a data directory or --in-memory"))
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format %q: use text or json", c.LogFormat))
	}
	return errors.Join(errs...)
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--log-level %q: use debug, info, warn or error", s)
	}
	return l, nil
}

func (c *Config) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	level, _ := parseLevel(c.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// configEntries are what CONFIG GET shows, by Redis-style name.
// addr is the address actually bound (the configured port may be 0).
func (c *Config) configEntries(addr string) [][2]string {
	return [][2]string{
		{"bind", hostOf(addr)},
		{"port", portOf(addr)},
		{"dir", c.Dir},
		{"maxclients", strconv.Itoa(c.MaxClients)},
		{"proto-max-bulk-len", strconv.Itoa(c.MaxRequest)},
		{"max-expr-bytes", strconv.Itoa(c.MaxExpr)},
		{"max-page", strconv.Itoa(c.MaxPage)},
		{"segment-changelog", strconv.Itoa(c.ChangeLog)},
		{"appendonly", "yes"},
		{"appendfsync", c.Fsync.String()},
		{"save", fmt.Sprintf("%d %d", int(c.SaveEvery.Seconds()), c.SaveAfter)},
		{"databases", "1"},
		{"in-memory", yesNo(c.InMemory)},
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func hostOf(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		return addr[:i]
	}
	return addr
}

func portOf(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		return addr[i+1:]
	}
	return ""
}
