package protocol

import (
	"bytes"
	"io"
	"net"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/tidwall/redcon"
)

// What redcon v1.6.2's request reader (redcon.NewReader(...).ReadCommands,
// used by every redcon server connection) does and does not limit:
//
//   - The multibulk count and bulk lengths are parsed with an int parser that
//     accepts any number of digits and wraps silently on overflow. Nothing
//     bounds them.
//   - A declared bulk length allocates nothing by itself: the reader keeps one
//     buffer (4 KiB at first) and doubles it only when it is full and a
//     command is still incomplete. "*1\r\n$2147483648\r\n" followed by a few
//     bytes costs a few KiB (TestRedconDeclaredLengthDoesNotAllocate). But a
//     client that really sends 2 GiB gets a buffer of 2-4 GiB, plus a copy of
//     each command (Command.Raw).
//   - A declared length near math.MaxInt64 panics ("index out of range
//     [-9223372036854775782]") because i+size+2 overflows; redcon does not
//     recover in its connection goroutines, so one request kills the server
//     (TestRedconHugeBulkLengthPanics).
//   - The count loop runs count times even when the buffer holds no more
//     bytes: "*4000000000\r\n" burns ~4.5 s of CPU per read, a count near
//     MaxInt64 for ever.
//   - An incomplete command recurses once per Read: a request trickled in
//     small segments grows the goroutine stack by ~1 KB per segment until
//     Go's fatal 1 GB stack limit (1 MB sent one byte at a time is enough).
//   - Inline (telnet) lines are unbounded, and splitting one allocates the
//     rest of the line for every word: quadratic in the line length.
//
// So the server must enforce its request limits below redcon, on the byte
// stream: GuardConn/GuardListener do that (guard.go, guard_test.go).

// declaresHuge reports whether data declares a multibulk count or bulk
// length over 1 MiB (or too long to parse), which the unguarded fuzz target
// skips: the server's guard rejects such requests before redcon sees them.
func declaresHuge(data []byte) bool {
	for i := 0; i < len(data); i++ {
		if data[i] != '*' && data[i] != '$' {
			continue
		}
		j := i + 1
		if j < len(data) && data[j] == '-' {
			j++
		}
		k := j
		for k < len(data) && data[k] >= '0' && data[k] <= '9' {
			k++
		}
		if k-j > 7 {
			return true
		}
		if k > j {
			if n, _ := strconv.Atoi(string(data[j:k])); n > 1<<20 {
				return true
			}
		}
	}
	return false
}

var readerSeeds = []string{
	"*1\r\n$4\r\nPING\r\n",
	"PING\r\n",
	"PING",
	"*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n*1\r\n$4\r\nPING\r\n",
	"*3\r\n$7\r\nent.set\r\n$4\r\nu:42\r\n$0\r\n\r\n",
	"set a \"b c\" 'd'\r\n",
	"set \"unbalanced\r\n",
	"\r\n\r\n\n",
	"*0\r\n",
	"*-1\r\n",
	"*1\r\n$-1\r\n",
	"*1\r\n$3\r\nabcde",
	"*1\n",
	"*2\r\n$1\r\na\r\n:1\r\n",
	"*1\r\n$2147483648\r\nabc",
	"*1\r\n$9223372036854775807\r\n",
	"*9223372036854775807\r\n",
	"$5\r\nhello\r\n",
	"*1\r\n$1048576\r\n",
}

// FuzzReadCommands feeds arbitrary bytes to redcon's reader as a server
// connection would, and checks that it neither panics nor allocates out of
// proportion to the input. Inputs that declare counts or lengths over 1 MiB
// are skipped (see declaresHuge).
func FuzzReadCommands(f *testing.F) {
	for _, s := range readerSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if declaresHuge(data) {
			t.Skip("declares a length over 1 MiB: the guard's job")
		}
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("redcon panicked on %q: %v", data, r)
				}
			}()
			rd := redcon.NewReader(bytes.NewReader(data))
			for i := 0; i <= len(data)+1; i++ {
				if _, err := rd.ReadCommands(); err != nil {
					return
				}
			}
			t.Fatalf("reader did not stop on %q", data)
		}()
		runtime.ReadMemStats(&m1)
		n := uint64(len(data))
		// 4 KiB buffer, per-command copies and arg slices, the inline
		// splitter's quadratic copies, and 1 MiB of slack for the 1<<20
		// counts allowed here.
		if got, limit := m1.TotalAlloc-m0.TotalAlloc, 2<<20+64*n+n*n; got > limit {
			t.Fatalf("allocated %d bytes for %d input bytes (limit %d)", got, n, limit)
		}
	})
}

// FuzzGuardedReadCommands feeds arbitrary bytes, huge lengths included,
// through GuardConn to redcon's reader: nothing may panic, and no command
// may exceed the limits.
func FuzzGuardedReadCommands(f *testing.F) {
	for _, s := range readerSeeds {
		f.Add([]byte(s), uint8(0))
	}
	f.Add([]byte("*1\r\n$9223372036854775807\r\n"), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		lim := Limits{MaxRequest: 1 << 16, MaxBulk: 1 << 14, MaxArgs: 64, MaxInline: 1 << 10}
		var in io.Reader = bytes.NewReader(data)
		if chunk > 0 {
			in = &chunkReader{r: in, n: int(chunk)}
		}
		conn := &fakeConn{r: in}
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panic on %q: %v", data, r)
				}
			}()
			rd := redcon.NewReader(GuardConn(conn, lim))
			for i := 0; i <= len(data)+1; i++ {
				cmds, err := rd.ReadCommands()
				if err != nil {
					return
				}
				for _, c := range cmds {
					if int64(len(c.Args)) > lim.MaxArgs || int64(len(c.Raw)) > max(lim.MaxRequest, lim.MaxInline) {
						t.Fatalf("command over the limits: %d args, %d bytes", len(c.Args), len(c.Raw))
					}
					for _, a := range c.Args {
						if int64(len(a)) > max(lim.MaxBulk, lim.MaxInline) {
							t.Fatalf("argument of %d bytes", len(a))
						}
					}
				}
			}
			t.Fatalf("reader did not stop on %q", data)
		}()
		runtime.ReadMemStats(&m1)
		n := uint64(len(data))
		if got, limit := m1.TotalAlloc-m0.TotalAlloc, 1<<20+64*n+n*n; got > limit {
			t.Fatalf("allocated %d bytes for %d input bytes (limit %d)", got, n, limit)
		}
	})
}

// chunkReader returns at most n bytes per Read.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(p) > c.n {
		p = p[:c.n]
	}
	return c.r.Read(p)
}

// fakeConn is a net.Conn reading from r and recording writes.
type fakeConn struct {
	r     io.Reader
	out   bytes.Buffer
	reads int
}

func (c *fakeConn) Read(p []byte) (int, error) {
	c.reads++
	return c.r.Read(p)
}
func (c *fakeConn) Write(p []byte) (int, error)        { return c.out.Write(p) }
func (c *fakeConn) Close() error                       { return nil }
func (c *fakeConn) LocalAddr() net.Addr                { return &net.TCPAddr{} }
func (c *fakeConn) RemoteAddr() net.Addr               { return &net.TCPAddr{} }
func (c *fakeConn) SetDeadline(t time.Time) error      { return nil }
func (c *fakeConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *fakeConn) SetWriteDeadline(t time.Time) error { return nil }
