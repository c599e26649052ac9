package bench

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRunResultMergesClients(t *testing.T) {
	ops := Mixes["ismember"]
	stats := make([][]*opStats, 3)
	for c := range stats {
		s := newOpStats(ops[0].name)
		for i := 1; i <= 1000; i++ {
			s.record(time.Duration(i)*time.Microsecond, "")
		}
		if c == 2 {
			s.record(time.Millisecond, "ERR boom")
		}
		stats[c] = []*opStats{s}
	}
	r := newRunResult(RunOptions{Mix: "ismember", Clients: 3, Pipeline: 1}, time.Second, []string{ops[0].name}, stats)
	o, ok := r.Op("QUERY.ISMEMBER")
	if !ok || o.Count != 3001 || o.Errors != 1 || len(o.FirstErrors) != 1 || r.Total != 3001 || r.PerSec != 3001 {
		t.Fatalf("result = %+v", r)
	}
	l := o.Latency
	if l.P50 < 495 || l.P50 > 505 || l.P99 < 985 || l.P99 > 1000 || l.Max < 999 || l.Max > 1001 {
		t.Fatalf("latency = %+v", l)
	}
	var b bytes.Buffer
	r.WriteTable(&b)
	for _, want := range []string{"QUERY.ISMEMBER", "3001", "ERR boom", "p99.9"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	path := filepath.Join(t.TempDir(), "r.json")
	if err := WriteJSON(path, r); err != nil {
		t.Fatal(err)
	}
	var back RunResult
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &back); err != nil || back.Ops[0].Latency.P50 != l.P50 {
		t.Fatalf("JSON round trip: %v %+v", err, back)
	}
}

func TestFigures(t *testing.T) {
	var b bytes.Buffer
	WriteFigures(&b, []Figure{
		Against("ismember", "250k/s", "≥ 200k/s", 250e3, 200e3, false),
		Against("rss", "120 B", "< 100 B", 120, 100, true),
		{Name: "load", Value: "40k/s"},
	})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 4 || !strings.HasSuffix(strings.TrimSpace(lines[1]), "ok") ||
		!strings.HasSuffix(strings.TrimSpace(lines[2]), "MISSED") || strings.Contains(lines[3], "ok") {
		t.Fatalf("figures:\n%s", b.String())
	}
}

func TestFormatting(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{Count(950), "950"}, {Count(12345), "12.3k"}, {Count(4.56e6), "4.56M"},
		{Micros(850), "850µs"}, {Micros(1250), "1.25ms"}, {Micros(2.1e6), "2.10s"},
		{Bytes(512), "512B"}, {Bytes(96 << 20), "96.0MiB"}, {Bytes(3 << 30), "3.00GiB"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if PerEntity(1000, 10) != 100 || PerEntity(5, 0) != 0 {
		t.Error("PerEntity")
	}
}

func TestProgress(t *testing.T) { // the display itself is tested in package progress
	var b bytes.Buffer
	p := NewProgress(&b, "load", "entities", 200).Start()
	p.Add(200)
	if p.Stop(); !strings.Contains(b.String(), "200/200 entities") || p.Done() != 200 {
		t.Fatalf("progress = %q", b.String())
	}
}
