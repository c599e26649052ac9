package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"segd/server"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUsageAndErrors(t *testing.T) {
	if code, _, stderr := runCLI(t); code != 2 || !strings.Contains(stderr, "segd-bench wire") {
		t.Errorf("no arguments: code %d, stderr %q", code, stderr)
	}
	if code, stdout, _ := runCLI(t, "help"); code != 0 || !strings.Contains(stdout, "Usage:") {
		t.Errorf("help: code %d, stdout %q", code, stdout)
	}
	for _, cmd := range []string{"load", "run", "wire"} {
		code, _, stderr := runCLI(t, cmd, "--help")
		if code != 0 || !strings.Contains(stderr, "segd-bench "+cmd) || !strings.Contains(stderr, "-clients") {
			t.Errorf("%s --help: code %d, stderr %q", cmd, code, stderr)
		}
	}
	if code, _, stderr := runCLI(t, "nope"); code != 2 || !strings.Contains(stderr, "unknown command") {
		t.Errorf("unknown command: code %d, stderr %q", code, stderr)
	}
	if code, _, _ := runCLI(t, "run", "--no-such-flag"); code != 2 {
		t.Errorf("bad flag: code %d", code)
	}
	if code, _, stderr := runCLI(t, "wire", "--mixes", "ismember,bogus"); code != 1 || !strings.Contains(stderr, "bogus") {
		t.Errorf("bad mix: code %d, stderr %q", code, stderr)
	}
}

func TestLoadAndRunCommands(t *testing.T) {
	cfg := server.DefaultConfig()
	cfg.Addr, cfg.MetricsAddr, cfg.Dir, cfg.LogLevel = "127.0.0.1:0", "127.0.0.1:0", t.TempDir(), "warn"
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := runCLI(t, "run", "--addr", srv.Addr(), "--requests", "10")
	if code != 1 || !strings.Contains(stderr, "no entities") {
		t.Fatalf("run on an empty server: code %d, stderr %q", code, stderr)
	}
	code, stdout, stderr = runCLI(t, "load", "--addr", srv.Addr(), "--entities", "500", "--clients", "4")
	if code != 0 || !strings.Contains(stdout, "loaded 500 entities") || !strings.Contains(stdout, "memory after load") {
		t.Fatalf("load: code %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	js := filepath.Join(t.TempDir(), "run.json")
	code, stdout, stderr = runCLI(t, "run", "--addr", srv.Addr(), "--mix", "all", "--requests", "400",
		"--clients", "4", "--pipeline", "4", "--json", js)
	if code != 0 || !strings.Contains(stdout, "QUERY.MEMBERS") {
		t.Fatalf("run: code %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	var res struct {
		Entities int   `json:"entities"`
		Total    int64 `json:"total"`
		Errors   int64 `json:"errors"`
	}
	b, err := os.ReadFile(js)
	if err != nil || json.Unmarshal(b, &res) != nil || res.Entities != 500 || res.Total != 400 || res.Errors != 0 {
		t.Fatalf("run JSON %s: %v %+v", b, err, res)
	}
}

func TestCPUAccounting(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	m := markCPU(nil)
	// Spin until the kernel has charged this process some CPU (on a busy
	// machine 100 ms of wall time may bring less than one clock tick).
	s := m.since(nil)
	for deadline := time.Now().Add(10 * time.Second); s.Bench <= 0 && time.Now().Before(deadline); s = m.since(nil) {
		for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); {
		}
	}
	if s.Bench <= 0 || s.Bench > 4 || s.Server != 0 {
		t.Fatalf("cpu share = %+v", s)
	}
	if !strings.Contains(s.String(), "segd-bench") {
		t.Fatalf("String = %q", s.String())
	}
}
