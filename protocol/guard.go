package protocol

import (
	"bytes"
	"net"
	"strconv"
	"time"
)

// redcon v1.6.2 puts no bound on what a client sends, and its request parser
// has three flaws a server must keep clients away from (guard_test.go and
// reader_fuzz_test.go demonstrate each):
//
//  1. A declared bulk length near math.MaxInt64 ("*1\r\n$9223372036854775807\r\n")
//     overflows an index computation and panics with "index out of range" in
//     the connection goroutine, which redcon does not recover: the whole
//     process dies.
//  2. The multibulk count is not bounded: "*4000000000\r\n" alone makes the
//     parser spin through 4e9 loop iterations (seconds of CPU) on every read,
//     and a count near MaxInt64 spins for ever.
//  3. While a command is incomplete the parser calls itself recursively once
//     per Read of the connection: a large request trickled in small TCP
//     segments (1 MB one byte at a time) exceeds Go's 1 GB stack limit, a
//     fatal error no recover can catch.
//
// Besides, a declared bulk length allocates nothing by itself (redcon grows
// its buffer by doubling only as bytes arrive), but nothing stops a client
// from sending gigabytes, and an inline (telnet) line is split with one
// allocation of the rest of the line per word, quadratic in its length.
//
// GuardConn closes those holes below redcon: it follows the RESP framing of
// the byte stream as it is read and enforces Limits, and it returns from
// Read only once the caller's buffer is full or a command is complete, so
// redcon's recursion depth grows with the logarithm of a request's size
// instead of the number of TCP segments.

// Limits bound one client request. Zero fields take the DefaultLimits value.
type Limits struct {
	// MaxRequest is the largest command in bytes, RESP framing included.
	MaxRequest int64
	// MaxBulk is the largest single argument in bytes.
	MaxBulk int64
	// MaxArgs is the most arguments one command may have, its name included.
	MaxArgs int64
	// MaxInline is the longest inline (telnet-style) command line in bytes.
	MaxInline int64
}

// DefaultLimits are safe defaults for segd: values are at most 256 bytes,
// keys 512 bytes, so even ENT.DEL of a hundred thousand keys fits easily.
func DefaultLimits() Limits {
	return Limits{
		MaxRequest: 64 << 20,
		MaxBulk:    16 << 20,
		MaxArgs:    1 << 20,
		MaxInline:  16 << 10,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxRequest <= 0 {
		l.MaxRequest = d.MaxRequest
	}
	if l.MaxBulk <= 0 {
		l.MaxBulk = d.MaxBulk
	}
	if l.MaxArgs <= 0 {
		l.MaxArgs = d.MaxArgs
	}
	if l.MaxInline <= 0 {
		l.MaxInline = d.MaxInline
	}
	return l
}

// ProtocolError is returned by a guarded connection's Read when the client
// broke the framing or a limit. Its text is what the client was sent, after
// "-ERR ", before the connection was closed: "Protocol error: ...".
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string { return "Protocol error: " + e.Msg }

// GuardListener wraps every connection ln accepts with GuardConn; serve it
// with redcon.Serve or (*redcon.Server).Serve. For TLS, guard the TLS
// listener (GuardListener(tls.NewListener(ln, cfg), lim)) so that the guard
// sees plaintext.
func GuardListener(ln net.Listener, lim Limits) net.Listener {
	return &guardListener{Listener: ln, lim: lim.withDefaults()}
}

type guardListener struct {
	net.Listener
	lim Limits
}

func (l *guardListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return GuardConn(c, l.lim), nil
}

// GuardConn wraps c so that reads enforce lim (see the comment above
// Limits). On a violation Read writes "-ERR Protocol error: ...\r\n" to c,
// as Redis does, and returns a *ProtocolError; redcon then closes the
// connection. Commands completed before the violation are delivered first.
// Every other method is c's own.
func GuardConn(c net.Conn, lim Limits) net.Conn {
	return &guardConn{Conn: c, g: guard{lim: lim.withDefaults()}}
}

type guardConn struct {
	net.Conn
	g       guard
	err     error // pending violation, returned by the next Read
	replied bool
}

func (c *guardConn) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.fail()
	}
	if len(p) == 0 {
		return 0, nil
	}
	total, lastEnd := 0, 0
	for total < len(p) {
		n, err := c.Conn.Read(p[total:])
		if n > 0 {
			boundary, verr := c.g.scan(p[total : total+n])
			if boundary > 0 {
				lastEnd = total + boundary
			}
			if verr != nil {
				c.err = verr
				if lastEnd > 0 {
					// Deliver the commands completed before the violation;
					// the next Read reports it.
					return lastEnd, nil
				}
				return 0, c.fail()
			}
			total += n
		}
		if err != nil {
			return total, err
		}
		if lastEnd > 0 {
			// A command is complete: hand it over rather than wait for
			// the buffer to fill.
			break
		}
	}
	return total, nil
}

// fail writes the error reply once and returns the violation. The write
// gets a deadline so that a client that reads nothing cannot hold the
// connection open; the connection is closed right after anyway.
func (c *guardConn) fail() error {
	if !c.replied {
		c.replied = true
		c.SetWriteDeadline(time.Now().Add(time.Second))
		// Best effort: the connection is closed right after.
		_, _ = c.Write([]byte("-ERR " + c.err.Error() + "\r\n"))
	}
	return c.err
}

// NetConn returns the wrapped connection (a *tls.Conn, for example), as
// tls.Conn.NetConn does. redcon's Conn.NetConn returns the guard itself.
func (c *guardConn) NetConn() net.Conn { return c.Conn }

// guard follows the RESP request framing as redcon reads it: a command is
// either "*<count>\r\n" followed by count bulk strings "$<len>\r\n<bytes>\r\n",
// or an inline line ending in "\n".
type guard struct {
	lim    Limits
	st     uint8
	line   [24]byte // the digits of a count or length line
	lineN  int
	args   int64  // bulk strings still to come in this command
	remain int64  // payload bytes (CRLF included) still to come in this bulk
	req    int64  // bytes of the current command so far
	inl    []byte // the inline line so far (at most MaxInline bytes)
}

const (
	stBoundary uint8 = iota // between commands
	stInline                // in an inline command line
	stCount                 // in "*<count>\r\n"
	stDollar                // expecting the '$' of a bulk
	stLen                   // in "$<len>\r\n"
	stData                  // in a bulk's payload and its CRLF
)

// scan advances the framing over b. It returns the offset just past the
// last command that b completes (-1 if none), and the first violation.
func (g *guard) scan(b []byte) (boundary int, err error) {
	boundary = -1
	for i := 0; i < len(b); {
		switch g.st {
		case stBoundary:
			g.req = 0
			if b[i] == '*' {
				g.st, g.lineN = stCount, 0
				g.req = 1
				i++
				continue
			}
			g.st = stInline
			g.inl = g.inl[:0]
		case stInline:
			j := bytes.IndexByte(b[i:], '\n')
			end := len(b)
			if j >= 0 {
				end = i + j
			}
			g.req += int64(end - i)
			if g.req > g.lim.MaxInline {
				return boundary, &ProtocolError{"too big inline request (limit " + strconv.FormatInt(g.lim.MaxInline, 10) + " bytes)"}
			}
			g.inl = append(g.inl, b[i:end]...)
			i = end
			if j >= 0 {
				// redcon rejects a line with unbalanced quotes by dropping
				// every command it parsed with it; reject it here instead,
				// after the complete commands before it.
				if !balancedInline(bytes.TrimSuffix(g.inl, []byte{'\r'})) {
					return boundary, &ProtocolError{"unbalanced quotes in request"}
				}
				g.req++
				i++
				g.st = stBoundary
				boundary = i
			}
		case stCount, stLen:
			c := b[i]
			i++
			g.req++
			if c != '\n' {
				if g.lineN == len(g.line) {
					if g.st == stCount {
						return boundary, &ProtocolError{"invalid multibulk length"}
					}
					return boundary, &ProtocolError{"invalid bulk length"}
				}
				g.line[g.lineN] = c
				g.lineN++
				continue
			}
			n, ok := parseLenLine(g.line[:g.lineN])
			if g.st == stCount {
				if !ok || n <= 0 {
					return boundary, &ProtocolError{"invalid multibulk length"}
				}
				if n > g.lim.MaxArgs {
					return boundary, &ProtocolError{"too many arguments (limit " + strconv.FormatInt(g.lim.MaxArgs, 10) + ")"}
				}
				g.args = n
				g.st = stDollar
				continue
			}
			if !ok {
				return boundary, &ProtocolError{"invalid bulk length"}
			}
			if n > g.lim.MaxBulk {
				return boundary, &ProtocolError{"argument too large (limit " + strconv.FormatInt(g.lim.MaxBulk, 10) + " bytes)"}
			}
			g.remain = n + 2
			if g.req+g.remain > g.lim.MaxRequest {
				return boundary, &ProtocolError{"request too large (limit " + strconv.FormatInt(g.lim.MaxRequest, 10) + " bytes)"}
			}
			g.st = stData
		case stDollar:
			if b[i] != '$' {
				return boundary, &ProtocolError{"expected '$', got '" + string(b[i]) + "'"}
			}
			i++
			g.req++
			g.st, g.lineN = stLen, 0
		case stData:
			k := int64(len(b) - i)
			if k > g.remain {
				k = g.remain
			}
			i += int(k)
			g.req += k
			g.remain -= k
			if g.remain == 0 {
				g.args--
				if g.args == 0 {
					g.st = stBoundary
					boundary = i
				} else {
					g.st = stDollar
				}
			}
		}
		if g.req > g.lim.MaxRequest {
			return boundary, &ProtocolError{"request too large (limit " + strconv.FormatInt(g.lim.MaxRequest, 10) + " bytes)"}
		}
	}
	return boundary, nil
}

// parseLenLine parses the digits of a count or length line, which must end
// in '\r' (the '\n' is already consumed). At most 18 digits, so no overflow.
func parseLenLine(l []byte) (int64, bool) {
	if len(l) < 2 || l[len(l)-1] != '\r' {
		return 0, false
	}
	l = l[:len(l)-1]
	if len(l) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range l {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// balancedInline applies redcon's quoting rules for inline commands: a quote
// opens only at the start of a word, a backslash escapes inside quotes, a
// closing quote ends its word, and every quote closes.
func balancedInline(line []byte) bool {
	var quote byte
	escape := false
	for i, c := range line {
		switch {
		case quote == 0:
			if c == '"' || c == '\'' {
				if i > 0 && line[i-1] != ' ' {
					return false
				}
				quote = c
			}
		case escape:
			escape = false
		case c == '\\':
			escape = true
		case c == quote:
			quote = 0
			if i+1 < len(line) && line[i+1] != ' ' {
				return false
			}
		}
	}
	return quote == 0
}
