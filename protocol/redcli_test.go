package protocol

import (
	"bytes"
	"context"
	"io"
	"math"
	"math/big"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segd-db/segd/internal/testenv"

	"github.com/redis/go-redis/v9"
	"github.com/tidwall/redcon"
)

// tinyServer is a redcon server on 127.0.0.1 that answers with Enc and the
// command table: COMMAND [COUNT|INFO|DOCS|LIST], PING, ECHO, HELLO, CLIENT
// SETINFO/SETNAME, QUIT, and test-only T.* commands for each reply type. It
// records the commands it receives.
type tinyServer struct {
	addr string
	port string
	srv  *redcon.Server

	mu   sync.Mutex
	seen []string
}

func (s *tinyServer) saw(cmd string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.seen {
		if c == cmd {
			return true
		}
	}
	return false
}

func (s *tinyServer) reset() {
	s.mu.Lock()
	s.seen = nil
	s.mu.Unlock()
}

func startTinyServer(t *testing.T) *tinyServer {
	t.Helper()
	s := &tinyServer{}
	handler := func(conn redcon.Conn, cmd redcon.Command) {
		e, _ := conn.Context().(*Enc)
		if e == nil {
			e = &Enc{Proto: 2}
			conn.SetContext(e)
		}
		e.Reset()
		name := strings.ToLower(string(cmd.Args[0]))
		full := name
		if len(cmd.Args) > 1 {
			full += " " + strings.ToLower(string(cmd.Args[1]))
		}
		s.mu.Lock()
		s.seen = append(s.seen, full)
		s.mu.Unlock()
		s.serve(e, conn, cmd, name)
		conn.WriteRaw(e.B)
		if name == "quit" {
			conn.Close()
		}
	}
	srv := redcon.NewServerNetwork("tcp", "127.0.0.1:0", handler, nil, nil)
	sig := make(chan error, 1)
	go func() { _ = srv.ListenServeAndSignal(sig) }() // a listen failure shows on sig
	if err := <-sig; err != nil {
		t.Fatal(err)
	}
	s.srv = srv
	s.addr = srv.Addr().String()
	s.port = s.addr[strings.LastIndexByte(s.addr, ':')+1:]
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *tinyServer) serve(e *Enc, conn redcon.Conn, cmd redcon.Command, name string) {
	args := cmd.Args
	c := Lookup(args[0])
	if c != nil && !c.CheckArity(len(args)) {
		e.Error("ERR " + c.ArityError().Error())
		return
	}
	switch name {
	case "ping":
		if len(args) > 1 {
			e.Bulk(args[1])
		} else {
			e.SimpleString("PONG")
		}
	case "echo":
		e.Bulk(args[1])
	case "quit":
		e.OK()
	case "hello":
		if len(args) > 1 {
			v, err := ParseInt(args[1])
			if err != nil || (v != 2 && v != 3) {
				e.Error("NOPROTO unsupported protocol version")
				return
			}
			e.Proto = int(v)
		}
		WriteHello(e, HelloInfo{Server: "segd", Version: "7.0.0", ID: 1, Mode: "standalone", Role: "master"})
	case "client":
		sub := LookupSub(c, args[1])
		if sub == nil {
			e.Error("ERR " + UnknownSubcommandError(c, args[1]).Error())
			return
		}
		e.OK()
	case "command":
		if len(args) == 1 {
			e.Array(len(All()))
			for _, c := range All() {
				WriteCommandInfo(e, c)
			}
			return
		}
		sub := LookupSub(c, args[1])
		if sub == nil {
			e.Error("ERR " + UnknownSubcommandError(c, args[1]).Error())
			return
		}
		if !sub.CheckArity(len(args)) {
			e.Error("ERR " + sub.ArityError().Error())
			return
		}
		switch sub.Name {
		case "command|count":
			e.Int(int64(len(All())))
		case "command|list":
			var names []string
			for _, c := range All() {
				names = append(names, c.Name)
				for _, s := range c.Subcommands {
					names = append(names, s.Name)
				}
			}
			e.Array(len(names))
			for _, n := range names {
				e.BulkString(n)
			}
		case "command|info":
			if len(args) == 2 {
				e.Array(len(All()))
				for _, c := range All() {
					WriteCommandInfo(e, c)
				}
				return
			}
			e.Array(len(args) - 2)
			for _, a := range args[2:] {
				if c := LookupFull(a); c != nil {
					WriteCommandInfo(e, c)
				} else {
					e.Null() // as Redis 7: "$-1" / "_"
				}
			}
		case "command|docs":
			if len(args) == 2 {
				WriteCommandDocs(e, All())
				return
			}
			var cmds []*Command
			for _, a := range args[2:] {
				cmds = append(cmds, LookupFull(a))
			}
			WriteCommandDocs(e, cmds)
		}
	case "t.double":
		e.Double(1.5)
	case "t.inf":
		e.Double(math.Inf(-1))
	case "t.null":
		e.Null()
	case "t.nullarray":
		e.NullArray()
	case "t.map":
		e.Map(2)
		e.BulkString("count")
		e.Int(3)
		e.BulkString("mean")
		e.Double(2.5)
	case "t.set":
		e.Set(2)
		e.BulkString("a")
		e.BulkString("b")
	case "t.bool":
		e.Bool(true)
	case "t.big":
		e.BigNumber("123456789012345678901234567890")
	case "t.verbatim":
		e.Verbatim("txt", "# segd\r\nentities:3\r\n")
	case "t.error":
		e.Error("ERR boom\r\nsecond line")
	case "t.push":
		// A pub/sub message as SUBSCRIBE delivers it.
		e.Push(3)
		e.BulkString("message")
		e.BulkString("segment:vip")
		e.BulkString(`{"segment":"vip"}`)
		e.OK() // the reply proper, after the out-of-band push
	default:
		e.Error("ERR " + UnknownCommandError(args).Error())
	}
}

func needRedisCLI(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("redis-cli")
	if err != nil {
		testenv.Skip(t, "redis-cli not on PATH (apt-get install redis-tools; .ci/run does)")
	}
	return p
}

// cliEnv keeps redis-cli away from the user's history and rc files.
func cliEnv() []string {
	return append(os.Environ(), "REDISCLI_HISTFILE=/dev/null", "REDISCLI_RCFILE=/dev/null", "TERM=xterm")
}

func runCLI(t *testing.T, cli string, stdin io.Reader, args ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, args...)
	cmd.Env = cliEnv()
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil || strings.Contains(errb.String(), "Assertion") {
		t.Fatalf("redis-cli %q: %v\nstdout: %s\nstderr: %s", args, err, out.String(), errb.String())
	}
	return out.String(), errb.String()
}

func TestRedisCLIOneShot(t *testing.T) {
	cli := needRedisCLI(t)
	s := startTinyServer(t)
	for _, proto := range []string{"-2", "-3"} {
		out, _ := runCLI(t, cli, nil, proto, "-h", "127.0.0.1", "-p", s.port, "COMMAND", "DOCS")
		for _, want := range []string{"query.count", "segd-query", "client|setname", "optional"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s COMMAND DOCS: no %q in output", proto, want)
			}
		}
		out, _ = runCLI(t, cli, nil, proto, "-h", "127.0.0.1", "-p", s.port, "--no-raw", "COMMAND", "INFO", "query.count", "ent.del", "nosuch")
		for _, want := range []string{`"query.count"`, "(integer) -2", "readonly", `"ent.del"`, "RM", "(nil)"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s COMMAND INFO: no %q in\n%s", proto, want, out)
			}
		}
		out, _ = runCLI(t, cli, nil, proto, "-h", "127.0.0.1", "-p", s.port, "COMMAND", "COUNT")
		if strings.TrimSpace(out) != strconv.Itoa(len(All())) {
			t.Errorf("%s COMMAND COUNT: %q", proto, out)
		}
		out, _ = runCLI(t, cli, nil, proto, "-h", "127.0.0.1", "-p", s.port, "COMMAND")
		if !strings.Contains(out, "field.create") {
			t.Errorf("%s COMMAND: %q", proto, out)
		}
	}
	// RESP3 rendering of each reply type.
	out, _ := runCLI(t, cli, nil, "-3", "-h", "127.0.0.1", "-p", s.port, "--no-raw", "T.MAP")
	if !strings.Contains(out, `1# "count" => (integer) 3`) || !strings.Contains(out, `2# "mean" => (double) 2.5`) {
		t.Errorf("RESP3 map: %q", out)
	}
	out, _ = runCLI(t, cli, nil, "-2", "-h", "127.0.0.1", "-p", s.port, "--no-raw", "T.MAP")
	if !strings.Contains(out, `1) "count"`) || !strings.Contains(out, `4) "2.5"`) {
		t.Errorf("RESP2 map: %q", out)
	}
	// Not T.BIG: redis-cli 7.0 does not know the RESP3 big number type and
	// exits with "Unknown reply type: 13".
	for cmd, want := range map[string]string{"T.BOOL": "(true)", "T.NULL": "(nil)", "T.INF": "(double) -inf", "T.SET": `1~ "a"`, "T.VERBATIM": "entities:3", "T.PUSH": "segment:vip"} {
		out, _ = runCLI(t, cli, nil, "-3", "-h", "127.0.0.1", "-p", s.port, "--no-raw", "--show-pushes", "yes", cmd)
		if !strings.Contains(out, want) {
			t.Errorf("RESP3 %s: %q, want %q", cmd, out, want)
		}
	}
}

// TestRedisCLIInteractiveHints starts redis-cli the way a person does, with
// no command, so that it fetches COMMAND DOCS and builds its hint table
// (asserting on every reply type as it goes), and types a command to see
// the hint.
//
// redis-cli 7.0 enters its interactive loop (repl) whenever no command is
// given, even when stdin is a pipe, and calls COMMAND DOCS at its start;
// newer redis-cli versions may skip that without a terminal. So the test runs
// it twice: once with stdin from a pipe, and once on a pseudo-terminal made
// by util-linux script(1) ("script -qec CMD /dev/null"), with "stty cols 200
// rows 50" first so that linenoise gets a window size from the pty instead of
// asking the (absent) terminal for the cursor position. On the pty, typing
// "QUERY.MEMBERS " makes linenoise print the hint from COMMAND DOCS.
func TestRedisCLIInteractiveHints(t *testing.T) {
	cli := needRedisCLI(t)
	s := startTinyServer(t)

	t.Run("pipe", func(t *testing.T) {
		for _, proto := range []string{"-2", "-3"} {
			s.reset()
			out, _ := runCLI(t, cli, strings.NewReader("PING\nQUERY.COUNT\n"), proto, "-h", "127.0.0.1", "-p", s.port)
			if !strings.Contains(out, "PONG") {
				t.Errorf("%s: output %q", proto, out)
			}
			if !strings.Contains(out, "wrong number of arguments for 'QUERY.COUNT' command") {
				t.Errorf("%s: arity error not shown: %q", proto, out)
			}
			t.Logf("%s: redis-cli fetched COMMAND DOCS from a pipe: %v", proto, s.saw("command docs"))
		}
	})

	t.Run("tty", func(t *testing.T) {
		script, err := exec.LookPath("script")
		if err != nil || runtime.GOOS != "linux" {
			testenv.Skip(t, "util-linux script(1) not available (apt-get install util-linux)")
		}
		for _, proto := range []string{"-2", "-3"} {
			s.reset()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			line := "stty cols 200 rows 50; exec " + cli + " " + proto + " -h 127.0.0.1 -p " + s.port
			cmd := exec.CommandContext(ctx, script, "-qec", line, "/dev/null")
			cmd.Env = cliEnv()
			pr, pw := io.Pipe()
			cmd.Stdin = pr
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				cancel()
				t.Fatal(err)
			}
			// Type slowly, as a person would: linenoise reads key by key.
			go func() {
				step := func(s string) {
					time.Sleep(300 * time.Millisecond)
					_, _ = pw.Write([]byte(s)) // redis-cli reads it, or has exited and the test fails on its output
				}
				step("QUERY.MEMBERS ")
				step("\x15") // Ctrl-U: clear the line
				step("PING\r")
				step("CLIENT SETNAME ")
				step("\x15")
				step("quit\r")
				time.Sleep(time.Second)
				pw.Close()
			}()
			err := cmd.Wait()
			cancel()
			text := out.String()
			if err != nil && strings.Contains(text, "pseudo-terminal") {
				testenv.Skip(t, "no pseudo-terminal here: "+text)
			}
			if err != nil || strings.Contains(text, "Assertion") {
				t.Fatalf("%s: script/redis-cli: %v\n%s", proto, err, text)
			}
			if !s.saw("command docs") {
				t.Errorf("%s: redis-cli did not fetch COMMAND DOCS on a tty", proto)
			}
			for _, want := range []string{
				"expr [CURSOR cursor] [COUNT count] [AT time]", // hint for QUERY.MEMBERS
				"connection-name", // hint for CLIENT SETNAME
				"PONG",
			} {
				if !strings.Contains(text, want) {
					t.Errorf("%s: %q not on the terminal:\n%q", proto, want, text)
				}
			}
		}
	})
}

func TestGoRedis(t *testing.T) {
	s := startTinyServer(t)
	for _, proto := range []int{2, 3} {
		s.reset()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		rdb := redis.NewClient(&redis.Options{Addr: s.addr, Protocol: proto, PoolSize: 1, MaxRetries: -1})
		if err := rdb.Ping(ctx).Err(); err != nil {
			t.Fatalf("RESP%d ping: %v", proto, err)
		}
		if !s.saw("hello " + strconv.Itoa(proto)) {
			t.Errorf("RESP%d: go-redis did not send HELLO %d", proto, proto)
		}
		// HELLO: a map under RESP3, a flat array under RESP2.
		v, err := rdb.Do(ctx, "HELLO", proto).Result()
		if err != nil {
			t.Fatalf("RESP%d hello: %v", proto, err)
		}
		switch proto {
		case 3:
			m, ok := v.(map[any]any)
			if !ok || m["server"] != "segd" || m["proto"] != int64(3) {
				t.Errorf("RESP3 HELLO: %#v", v)
			}
		case 2:
			a, ok := v.([]any)
			if !ok || len(a) != 14 || a[0] != "server" || a[5] != int64(2) {
				t.Errorf("RESP2 HELLO: %#v", v)
			}
		}
		// go-redis's Cmd.Float64 takes strings and integers only, not a
		// RESP3 double (it returns "unexpected type=float64"): under RESP3
		// read the float64 from Result.
		for c, want := range map[string]float64{"T.DOUBLE": 1.5, "T.INF": math.Inf(-1)} {
			var f float64
			if proto == 3 {
				v, err := rdb.Do(ctx, c).Result()
				f, _ = v.(float64)
				if err != nil {
					t.Errorf("RESP3 %s: %v", c, err)
				}
			} else {
				f, err = rdb.Do(ctx, c).Float64()
				if err != nil {
					t.Errorf("RESP2 %s: %v", c, err)
				}
			}
			if f != want {
				t.Errorf("RESP%d %s: %v, want %v", proto, c, f, want)
			}
		}
		for _, c := range []string{"T.NULL", "T.NULLARRAY"} {
			if err := rdb.Do(ctx, c).Err(); err != redis.Nil {
				t.Errorf("RESP%d %s: %v, want redis.Nil", proto, c, err)
			}
		}
		if b, err := rdb.Do(ctx, "T.BOOL").Bool(); err != nil || !b {
			t.Errorf("RESP%d bool: %v %v", proto, b, err)
		}
		m, err := rdb.Do(ctx, "T.MAP").Result()
		if proto == 3 {
			if mm, ok := m.(map[any]any); !ok || mm["count"] != int64(3) || mm["mean"] != 2.5 {
				t.Errorf("RESP3 map: %#v %v", m, err)
			}
		} else if a, ok := m.([]any); !ok || len(a) != 4 || a[3] != "2.5" {
			t.Errorf("RESP2 map: %#v %v", m, err)
		}
		big1, err := rdb.Do(ctx, "T.BIG").Result()
		if proto == 3 {
			if b, ok := big1.(*big.Int); !ok || b.String() != "123456789012345678901234567890" {
				t.Errorf("RESP3 big number: %#v %v", big1, err)
			}
		} else if big1 != "123456789012345678901234567890" {
			t.Errorf("RESP2 big number: %#v %v", big1, err)
		}
		if sv, err := rdb.Do(ctx, "T.SET").StringSlice(); err != nil || len(sv) != 2 {
			t.Errorf("RESP%d set: %v %v", proto, sv, err)
		}
		if vs, err := rdb.Do(ctx, "T.VERBATIM").Text(); err != nil || vs != "# segd\r\nentities:3\r\n" {
			t.Errorf("RESP%d verbatim: %q %v", proto, vs, err)
		}
		if err := rdb.Do(ctx, "T.ERROR").Err(); err == nil || err.Error() != "ERR boom  second line" {
			t.Errorf("RESP%d error: %v", proto, err)
		}
		// COMMAND, parsed by go-redis into CommandInfo.
		infos, err := rdb.Command(ctx).Result()
		if err != nil {
			t.Fatalf("RESP%d COMMAND: %v", proto, err)
		}
		if len(infos) != len(All()) {
			t.Errorf("RESP%d COMMAND: %d entries, want %d", proto, len(infos), len(All()))
		}
		qc, del := infos["query.count"], infos["ent.del"]
		if qc == nil || qc.Arity != -2 || !qc.ReadOnly || qc.FirstKeyPos != 0 {
			t.Errorf("RESP%d query.count info: %+v", proto, qc)
		}
		if del == nil || del.FirstKeyPos != 1 || del.LastKeyPos != -1 || del.StepCount != 1 || !slicesContains(del.Flags, "write") {
			t.Errorf("RESP%d ent.del info: %+v", proto, del)
		}
		if n, err := rdb.Do(ctx, "COMMAND", "COUNT").Int(); err != nil || n != len(All()) {
			t.Errorf("RESP%d COMMAND COUNT: %d %v", proto, n, err)
		}
		docs, err := rdb.Do(ctx, "COMMAND", "DOCS", "query.count").Result()
		if err != nil {
			t.Errorf("RESP%d COMMAND DOCS: %v", proto, err)
		} else if proto == 3 {
			if _, ok := docs.(map[any]any)["query.count"]; !ok {
				t.Errorf("RESP3 COMMAND DOCS: %#v", docs)
			}
		}
		rdb.Close()
		cancel()
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
