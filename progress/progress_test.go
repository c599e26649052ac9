package progress

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCounted(t *testing.T) {
	var b bytes.Buffer
	p := New(&b, "load", "entities", 200).Start()
	p.Add(50)
	p.Add(150)
	p.Stop()
	p.Stop() // idempotent
	out := b.String()
	if !strings.Contains(out, "load [") || !strings.Contains(out, "100%") || !strings.Contains(out, "200/200 entities") {
		t.Fatalf("progress = %q", out)
	}
	if strings.Contains(out, "\r") {
		t.Fatalf("a non-terminal got a carriage return: %q", out)
	}
}

func TestRender(t *testing.T) {
	if got := (&Progress{Label: "x", Duration: 10 * time.Second}).render(5*time.Second, false); !strings.Contains(got, " 50%") || !strings.Contains(got, "5s/10s") {
		t.Fatalf("timed render = %q", got)
	}
	if got := (&Progress{Label: "SAVE"}).render(1500*time.Millisecond, true); got != "SAVE  in 1.5s" {
		t.Fatalf("open-ended render = %q", got)
	}
	p := New(nil, "import", Bytes, 4<<20)
	p.Unit2 = "rows"
	p.Set(1 << 20)
	p.Add2(20000)
	got := p.render(2*time.Second, false)
	for _, want := range []string{"import [", " 25%", "1.0MiB/4.0MiB", "512.0KiB/s", "20.0k rows", "10.0k rows/s", "ETA 6s"} {
		if !strings.Contains(got, want) {
			t.Errorf("bytes render = %q, want %q in it", got, want)
		}
	}
	if strings.Contains(got, "bytes") {
		t.Errorf("the bytes unit is spelled out: %q", got)
	}
	got = New(nil, "import", Bytes, 0).render(time.Second, true)
	if got != "import  0B  0B/s  in 1s" {
		t.Errorf("unknown size render = %q", got)
	}
}

func TestConcurrentAndNil(t *testing.T) {
	var b bytes.Buffer
	p := New(&b, "run", "cmds", 0).Start()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				p.Add(1)
				p.Add2(2)
			}
		})
	}
	wg.Wait()
	p.Stop()
	if p.Done() != 8000 || p.Done2() != 16000 {
		t.Fatalf("done %d, %d", p.Done(), p.Done2())
	}
	if !strings.Contains(b.String(), "8000 cmds") {
		t.Fatalf("final line %q", b.String())
	}

	q := New(nil, "quiet", "", 10).Start() // no writer: counts, draws nothing
	q.Add(3)
	q.Stop()
	if q.Done() != 3 {
		t.Fatalf("nil writer count %d", q.Done())
	}
	var nilp *Progress
	nilp.Add(1)
	nilp.Set2(1)
	nilp.Start().Stop()
	if nilp.Done() != 0 || nilp.Done2() != 0 {
		t.Fatal("nil progress counts")
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{Count(950), "950"}, {Count(12345), "12.3k"}, {Count(4.56e6), "4.56M"}, {Count(1.2e9), "1.20G"},
		{Size(512), "512B"}, {Size(1536), "1.5KiB"}, {Size(96 << 20), "96.0MiB"}, {Size(3 << 30), "3.00GiB"},
		{RoundDur(1234 * time.Millisecond).String(), "1.2s"}, {RoundDur(61500 * time.Millisecond).String(), "1m2s"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if IsTerminal(&bytes.Buffer{}) || IsTerminal(nil) {
		t.Error("a buffer is not a terminal")
	}
}
