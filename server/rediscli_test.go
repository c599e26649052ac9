package server

// The real redis-cli against a real server: one-shot commands, COMMAND DOCS,
// and the interactive start-up on a pseudo-terminal, where redis-cli fetches
// COMMAND DOCS to build its argument hints (and asserts on the reply's shape).

import (
	"bytes"
	"context"
	"fmt"
	"github.com/segd-db/segd/internal/testenv"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRedisCLIOneShot(t *testing.T) {
	t.Parallel()
	redisCLIPath(t)
	srv := startServer(t, nil)
	run := func(args ...string) string {
		t.Helper()
		out, err := redisCLI(t, srv, args...)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return out
	}
	expectEq(t, "PING", run("PING"), "PONG\n")
	expectEq(t, "ENT.SET", run("ENT.SET", "u:1", "country", "US"), "1\n")
	if out := strings.TrimSpace(run("QUERY.COUNT", "country:US")); out != "1" && out != "(integer) 1" {
		t.Errorf("QUERY.COUNT = %q", out)
	}
	expectEq(t, "QUERY.COUNT --no-raw", run("--no-raw", "QUERY.COUNT", "country:US"), "(integer) 1\n")
	expectEq(t, "ENT.ADD", run("ENT.ADD", "u:1", "interests", "fitness", "running"), "2\n")
	expectEq(t, "ENT.GET", run("ENT.GET", "u:1", "country"), "country\nUS\n")
	expectEq(t, "ENT.GET RESP3", run("-3", "--no-raw", "ENT.GET", "u:1", "country"), "1# \"country\" => \"US\"\n")
	expectEq(t, "ENT.GET unknown", run("--no-raw", "ENT.GET", "nobody"), "(nil)\n")
	if out := run("-3", "--no-raw", "QUERY.STATS", "interests"); !strings.Contains(out, "WRONGTYPE") {
		t.Errorf("QUERY.STATS of TAGS: %q", out)
	}
	if out := run("QUERY.COUNT", "contry:US"); !strings.Contains(out, "ERR unknown field 'contry'") {
		t.Errorf("unknown field: %q", out)
	}
	if out := run("INFO", "server"); !strings.Contains(out, "redis_version:") {
		t.Errorf("INFO server: %q", out)
	}
	// --no-raw formatting of a nested reply.
	if out := run("--no-raw", "FIELD.LIST"); !strings.Contains(out, `1) "country"`) || !strings.Contains(out, `2) "ENUM"`) {
		t.Errorf("FIELD.LIST: %q", out)
	}
	expectEq(t, "ECHO with spaces", run("ECHO", "a b  c"), "a b  c\n")
	// Events: ENT.TRACK answers OK; ENT.GET shows value -> amount, "*" first.
	expectEq(t, "ENT.TRACK", run("ENT.TRACK", "u:1", "purchase:shoes", "AMOUNT", "3"), "OK\n")
	expectEq(t, "ENT.TRACK --no-raw", run("--no-raw", "ENT.TRACK", "u:1", "purchase"), "OK\n")
	if out := run("ENT.TRACK", "u:1", "purchase", "AMOUNT", "0"); !strings.Contains(out, "ERR AMOUNT must be a whole number") {
		t.Errorf("ENT.TRACK AMOUNT 0: %q", out)
	}
	expectEq(t, "ENT.GET events", run("ENT.GET", "u:1", "purchase"), "purchase\n*\n4\nshoes\n3\n")
	expectEq(t, "ENT.GET events RESP3", run("-3", "--no-raw", "ENT.GET", "u:1", "purchase"), "1# \"purchase\" => \n   1# \"*\" => (integer) 4\n   2# \"shoes\" => (integer) 3\n")
	expectEq(t, "QUERY.COUNT event", run("QUERY.COUNT", "purchase:shoes >= 3"), "1\n")
}

func TestRedisCLICommandDocs(t *testing.T) {
	t.Parallel()
	redisCLIPath(t)
	srv := startServer(t, nil)
	for _, proto := range []string{"-2", "-3"} {
		out, err := redisCLI(t, srv, proto, "COMMAND", "DOCS")
		if err != nil {
			t.Fatalf("%s COMMAND DOCS: %v\n%s", proto, err, out)
		}
		for _, want := range []string{"query.count", "ent.set", "ent.track", "field.create", "summary", "arguments"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s COMMAND DOCS output lacks %q", proto, want)
			}
		}
		out, err = redisCLI(t, srv, proto, "--no-raw", "COMMAND", "DOCS", "query.members")
		if err != nil || !strings.Contains(out, `"query.members"`) || !strings.Contains(out, `"cursor"`) {
			t.Errorf("%s COMMAND DOCS query.members: %v\n%s", proto, err, out)
		}
	}
	if out, err := redisCLI(t, srv, "COMMAND", "COUNT"); err != nil || strings.TrimSpace(out) == "0" {
		t.Errorf("COMMAND COUNT: %v %q", err, out)
	}
}

// TestRedisCLIStdinPipe: redis-cli with no command and stdin from a pipe
// reads commands line by line (redis-cli 7.0 goes through its interactive
// start-up for this too).
func TestRedisCLIStdinPipe(t *testing.T) {
	t.Parallel()
	bin := redisCLIPath(t)
	srv := startServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-h", "127.0.0.1", "-p", portOf(srv.Addr()))
	cmd.Stdin = strings.NewReader("PING\nENT.SET u:8 country DE\nQUERY.COUNT country:DE\n")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "PONG") || strings.Count(string(out), "1") < 2 {
		t.Errorf("output %q", out)
	}
	c := newClient(t, srv, 2)
	expectEq(t, "ENT.GET u:8", do(t, c, "ENT.GET", "u:8"), []any{"country", "DE"})
}

// syncBuffer is a bytes.Buffer written by exec's copying goroutine and
// read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestRedisCLIInteractive starts redis-cli as a person does, on a terminal,
// so that it fetches COMMAND DOCS at start-up and builds its hint table from
// it (redis-cli asserts on the shape of that reply). The terminal is a
// pseudo-terminal made by util-linux script(1); "stty cols 200 rows 50"
// gives linenoise a window size so that it does not ask the (absent)
// terminal for the cursor position. Each line is typed only once the prompt
// is back: linenoise enters raw mode with TCSAFLUSH, which discards input
// typed ahead.
func TestRedisCLIInteractive(t *testing.T) {
	cli := redisCLIPath(t)
	script, err := exec.LookPath("script")
	if err != nil || runtime.GOOS != "linux" {
		testenv.Skip(t, "util-linux script(1) is needed for a pseudo-terminal (apt-get install util-linux)")
	}
	srv := startServer(t, nil)
	port := portOf(srv.Addr())
	prompt := "127.0.0.1:" + port + "> "

	for i, proto := range []string{"-2", "-3"} {
		t.Run("RESP"+proto[1:], func(t *testing.T) {
			docsBefore, _ := metricValue(scrapeMetrics(t, srv), `segd_commands_total{cmd="command|docs"}`)
			ctx, cancel := context.WithTimeout(context.Background(), 3*testTimeout)
			defer cancel()
			line := "stty cols 200 rows 50; exec " + cli + " " + proto + " -h 127.0.0.1 -p " + port
			cmd := exec.CommandContext(ctx, script, "-qfec", line, "/dev/null")
			cmd.Env = append(os.Environ(), "TERM=xterm", "HOME="+t.TempDir(), "REDISCLI_HISTFILE=/dev/null")
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			out := &syncBuffer{}
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			defer func() {
				cancel()
				<-exited //nolint:errcheck // killed: its exit status says so
			}()

			// waitOut polls the terminal output from mark on until it holds
			// every string of want in that order, and returns the offset
			// just past the last.
			waitOut := func(mark int, what string, want ...string) int {
				t.Helper()
				deadline := time.Now().Add(testTimeout)
				for {
					s := out.String()
					pos, ok := mark, true
					for _, w := range want {
						j := strings.Index(s[min(pos, len(s)):], w)
						if j < 0 {
							ok = false
							break
						}
						pos += j + len(w)
					}
					if ok {
						return pos
					}
					select {
					case err := <-exited:
						t.Fatalf("redis-cli exited (%v) while waiting for %s; terminal:\n%q", err, what, s)
					default:
					}
					if time.Now().After(deadline) {
						t.Fatalf("timed out waiting for %s; terminal:\n%q", what, s)
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
			typ := func(s string) {
				t.Helper()
				if _, err := io.WriteString(stdin, s); err != nil {
					t.Fatalf("type %q: %v", s, err)
				}
			}

			mark := waitOut(0, "the first prompt", prompt)
			// The hint for a command comes from COMMAND DOCS.
			typ("QUERY.MEMBERS ")
			mark = waitOut(mark, "the QUERY.MEMBERS hint", "expr [CURSOR cursor] [COUNT count] [AT time]")
			typ("\x15") // Ctrl-U clears the line
			typ("ENT.TRACK ")
			mark = waitOut(mark, "the ENT.TRACK hint", "key field[:value] [AT time] [AMOUNT amount]")
			typ("\x15")
			typ("PING\r")
			mark = waitOut(mark, "PONG and the next prompt", "PONG", prompt)
			key := "u:9" + proto
			typ("ENT.SET " + key + " country FR\r")
			mark = waitOut(mark, "the ENT.SET reply and the next prompt", "(integer) 1", prompt)
			typ("QUERY.COUNT country:FR\r")
			want := "(integer) " + string(rune('1'+i))
			waitOut(mark, "the QUERY.COUNT reply and the next prompt", want, prompt)
			typ("QUIT\r")
			select {
			case err := <-exited:
				exited <- err // for the deferred wait
				text := out.String()
				if err != nil {
					t.Fatalf("redis-cli exited with %v; terminal:\n%q", err, text)
				}
				for _, bad := range []string{"Assertion", "assert", "Segmentation", "Aborted", "core dumped"} {
					if strings.Contains(text, bad) {
						t.Errorf("redis-cli printed %q; terminal:\n%q", bad, text)
					}
				}
			case <-time.After(testTimeout):
				t.Fatalf("redis-cli did not exit after QUIT; terminal:\n%q", out.String())
			}

			// The commands reached the server, and redis-cli fetched COMMAND DOCS.
			c := newClient(t, srv, 3)
			expectEq(t, "ENT.GET "+key, do(t, c, "ENT.GET", key), map[any]any{"country": "FR"})
			docsAfter, _ := metricValue(scrapeMetrics(t, srv), `segd_commands_total{cmd="command|docs"}`)
			if docsAfter <= docsBefore {
				t.Errorf("redis-cli did not call COMMAND DOCS at start-up (%v -> %v)", docsBefore, docsAfter)
			}
		})
	}
}

// TestRedisCLISubscribeSegment: `redis-cli SUBSCRIBE segment:vip` prints
// the JSON notification of each entity entering and leaving the saved
// segment vip as writes from another client move it.
func TestRedisCLISubscribeSegment(t *testing.T) {
	t.Parallel()
	bin := redisCLIPath(t)
	srv := startServer(t, nil)
	c := newClient(t, srv, 3)
	do(t, c, "FIELD.CREATE", "tier", "ENUM")
	do(t, c, "SEGMENT.CREATE", "vip", "tier:gold")

	ctx, cancel := context.WithTimeout(context.Background(), 3*testTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-h", "127.0.0.1", "-p", portOf(srv.Addr()), "SUBSCRIBE", "segment:vip")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		<-exited //nolint:errcheck // killed: its exit status says so
	}()
	// waitOut polls redis-cli's output until it holds every string of want.
	waitOut := func(what string, want ...string) {
		t.Helper()
		deadline := time.Now().Add(testTimeout)
		for {
			s, missing := out.String(), ""
			for _, w := range want {
				if !strings.Contains(s, w) {
					missing = w
					break
				}
			}
			if missing == "" {
				return
			}
			select {
			case err := <-exited:
				t.Fatalf("redis-cli exited (%v) while waiting for %s; output:\n%s", err, what, s)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s (%q); output:\n%s", what, missing, s)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// Subscribed: redis-cli prints the confirmation (raw, as stdout is a pipe).
	waitOut("the subscription", "subscribe\nsegment:vip\n1\n")

	do(t, c, "ENT.SET", "u:1", "tier", "gold")   // u:1 enters: v1
	do(t, c, "ENT.SET", "u:2", "tier", "silver") // not in vip: no message
	do(t, c, "ENT.SET", "u:1", "tier", "silver") // u:1 exits: v2
	changes := doArr(t, c, "SEGMENT.CHANGES", "vip", "SINCE", "0")[1].([]any)
	if len(changes) != 2 {
		t.Fatalf("SEGMENT.CHANGES vip SINCE 0 = %v", changes)
	}
	var want []string
	for _, ch := range changes {
		ch := ch.([]any)
		want = append(want, fmt.Sprintf(`message
segment:vip
{"segment":"vip","key":"u:1","change":"%s","version":%d,"time":%d}
`, ch[2], ch[0], ch[3]))
	}
	waitOut("the enter and exit messages", want...)
	s := out.String()
	if i, j := strings.Index(s, want[0]), strings.Index(s, want[1]); i > j {
		t.Errorf("the exit came before the enter:\n%s", s)
	}
	if strings.Contains(s, "u:2") {
		t.Errorf("a message for u:2, which never entered vip:\n%s", s)
	}
}
