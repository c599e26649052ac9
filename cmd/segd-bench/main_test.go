package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segd-db/segd/internal/testenv"
	"github.com/segd-db/segd/internal/testserver"
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
	for _, cmd := range []string{"load", "run", "wire", "events"} {
		code, _, stderr := runCLI(t, cmd, "--help")
		if code != 0 || !strings.Contains(stderr, "segd-bench "+cmd) || !strings.Contains(stderr, "-clients") && !strings.Contains(stderr, "-track-clients") {
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
	srv := testserver.Start(t, nil)

	code, _, stderr := runCLI(t, "run", "--addr", srv.Addr(), "--requests", "10")
	if code != 1 || !strings.Contains(stderr, "no entities") {
		t.Fatalf("run on an empty server: code %d, stderr %q", code, stderr)
	}
	code, stdout, stderr := runCLI(t, "load", "--addr", srv.Addr(), "--entities", "500", "--clients", "4", "--segments")
	if code != 0 || !strings.Contains(stdout, "loaded 500 entities") || !strings.Contains(stdout, "memory after load") ||
		!strings.Contains(stdout, "saved 200 segments") {
		t.Fatalf("load: code %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "load", "--addr", srv.Addr(), "--entities", "100", "--clients", "4", "--events")
	if code != 0 || !strings.Contains(stdout, "events of 100 customers") || !strings.Contains(stdout, " 0 errors") {
		t.Fatalf("load --events: code %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "load", "--addr", srv.Addr(), "--entities", "100", "--clients", "4", "--events", "--live", "--spread", "500")
	if code != 0 || !strings.Contains(stdout, "events of 100 customers") || !strings.Contains(stdout, " 0 errors") {
		t.Fatalf("load --events --live: code %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "load", "--addr", srv.Addr(), "--entities", "100", "--clients", "4", "--events",
		"--fields", "purchase,cart_add", "--days", "30")
	if code != 0 || !strings.Contains(stdout, "events of 100 customers") || !strings.Contains(stdout, " 0 errors") {
		t.Fatalf("load --events --fields --days: code %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	js := filepath.Join(t.TempDir(), "run.json")
	code, stdout, stderr = runCLI(t, "run", "--addr", srv.Addr(), "--mix", "all", "--requests", "400",
		"--clients", "4", "--pipeline", "4", "--json", js)
	if code != 0 || !strings.Contains(stdout, "QUERY.MEMBERS") || !strings.Contains(stdout, "SEGMENT.OF") ||
		!strings.Contains(stdout, "QUERY.COUNT window") {
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
		testenv.Skip(t, "no /proc: CPU accounting reads /proc/self/stat")
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

// The events command end to end on a small data set, against a segd built
// from this module.
func TestEventsCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds segd")
	}
	bin := filepath.Join(t.TempDir(), "segd")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/segd-db/segd/cmd/segd").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	js := filepath.Join(t.TempDir(), "events.json")
	code, stdout, stderr := runCLI(t, "events", "--segd", bin, "--entities", "1500", "--cache", "", "--restarts", "2",
		"--track-entities", "200", "--track-clients", "4", "--clock", time.Now().UTC().Format(time.RFC3339), "--json", js)
	if code != 0 {
		t.Fatalf("events: code %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	for _, want := range []string{"start-up to ready", "RSS after start", "ENT.TRACK live", "ENT.TRACK year", "events in the engine"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("no %q in\n%s", want, stdout)
		}
	}
	var res struct {
		Starts []struct {
			Ready  float64 `json:"ready_seconds"`
			Memory struct {
				Entities int64 `json:"entities"`
			} `json:"memory"`
		} `json:"starts"`
		Track []struct {
			Load struct {
				Commands int64 `json:"commands"`
				Errors   int64 `json:"errors"`
			} `json:"load"`
		} `json:"track"`
	}
	b, err := os.ReadFile(js)
	if err != nil || json.Unmarshal(b, &res) != nil || len(res.Starts) != 2 || res.Starts[1].Memory.Entities != 1500 ||
		res.Starts[1].Ready <= 0 || len(res.Track) != 2 || res.Track[0].Load.Commands == 0 || res.Track[1].Load.Errors != 0 {
		t.Fatalf("events JSON %s: %v %+v", b, err, res)
	}
}
