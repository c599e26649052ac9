package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"sync"
	"testing"
)

var (
	fuzzOnce sync.Once
	fuzzSrv  *Server
)

// FuzzDispatch runs random argument lists through the real command table,
// handlers and engine of an in-memory server: no panic, no hang, and every
// reply is well-formed RESP. The first byte picks a command name, the rest
// is split into arguments at NUL bytes.
func FuzzDispatch(f *testing.F) {
	for _, seed := range []string{
		"ENT.SET\x00u:1\x00country\x00US\x00age\x0033",
		"ENT.ADD\x00u:1\x00interests\x00golf\x00books",
		"QUERY.COUNT\x00country:US AND age >= 30",
		"QUERY.MEMBERS\x00ALL\x00CURSOR\x000\x00COUNT\x0010",
		"QUERY.STATS\x00age\x00WHERE\x00country:*",
		"QUERY.TOP\x003\x00age",
		"QUERY.GROUPBY\x00country\x00LIMIT\x002",
		"QUERY.EXPLAIN\x00(a:b OR NOT c:d) XOR age:[1 TO 2]",
		"FIELD.CREATE\x00x\x00TAGS",
		"ENT.DEL\x00u:1\x00u:2",
		"HELLO\x003",
		"CLIENT\x00SETNAME\x00x",
		"CONFIG\x00GET\x00*",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		fuzzOnce.Do(func() {
			fuzzSrv = bootServer(t, "", func(c *Config) { c.InMemory = true; c.MetricsAddr = "" })
		})
		args := bytes.Split([]byte(in), []byte{0})
		if len(args) > 64 {
			args = args[:64]
		}
		// Keep the server safe from commands that stop or reset it.
		switch string(bytes.ToLower(args[0])) {
		case "shutdown", "flushall", "save", "bgsave", "subscribe", "psubscribe", "quit", "client":
			return
		}
		c := &client{proto: 2, authed: true}
		c.name.Store("")
		c.lastCmd.Store(nil)
		if len(in) > 0 && in[0]%2 == 1 {
			c.proto = 3
		}
		c.enc.Proto = c.proto
		fuzzSrv.dispatch(c, args)
		fuzzSrv.drain(c)
		if err := checkRESP(c.enc.B); err != nil {
			t.Fatalf("reply to %q is not valid RESP: %v\n%q", args, err, c.enc.B)
		}
	})
}

// checkRESP reads RESP2/RESP3 values until the input ends, strictly.
func checkRESP(b []byte) error {
	r := bufio.NewReader(bytes.NewReader(b))
	for {
		if _, err := r.Peek(1); err != nil {
			return nil
		}
		if err := readRESPValue(r, 0); err != nil {
			return err
		}
	}
}

func readRESPValue(r *bufio.Reader, depth int) error {
	if depth > 64 {
		return fmt.Errorf("nesting deeper than 64")
	}
	line, err := r.ReadString('\n')
	if err != nil || len(line) < 3 || line[len(line)-2] != '\r' {
		return fmt.Errorf("bad line %q", line)
	}
	kind, body := line[0], line[1:len(line)-2]
	switch kind {
	case '+', '-', ':', ',', '(', '#', '_':
		return nil
	case '$', '=', '!':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 {
			return fmt.Errorf("bad length %q", body)
		}
		if n == -1 {
			return nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil || buf[n] != '\r' || buf[n+1] != '\n' {
			return fmt.Errorf("bad bulk of %d", n)
		}
		return nil
	case '*', '%', '~', '>':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 {
			return fmt.Errorf("bad count %q", body)
		}
		if kind == '%' {
			n *= 2
		}
		for i := 0; i < n; i++ {
			if err := readRESPValue(r, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown type %q", kind)
}
