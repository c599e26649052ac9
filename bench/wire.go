package bench

// A minimal RESP client for load generation: commands are encoded straight
// into a bufio.Writer (no allocation per argument), a pipeline is "write P
// commands, Flush, read P replies", and replies can be skipped without
// materialising them so that the client spends as little of the machine's CPU
// as possible next to the server it measures.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Conn is one RESP connection. It is not safe for concurrent use.
type Conn struct {
	nc      net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	scratch []byte
	// Timeout bounds each Flush and each reply read (0: no deadline).
	Timeout time.Duration
}

// Dial connects to a RESP server on addr.
func Dial(ctx context.Context, addr string) (*Conn, error) { return DialAuth(ctx, addr, "") }

// DialAuth connects to a RESP server on addr and, with a password, sends
// AUTH first; a refused password is an error.
func DialAuth(ctx context.Context, addr, password string) (*Conn, error) {
	c, err := dialConn(ctx, addr)
	if err != nil || password == "" {
		return c, err
	}
	if _, err := c.Do("AUTH", password); err != nil {
		c.Close()
		return nil, fmt.Errorf("%s: AUTH: %w", addr, err)
	}
	return c, nil
}

func dialConn(ctx context.Context, addr string) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true) // a tuning: the connection works without it
	}
	return &Conn{
		nc:      nc,
		r:       bufio.NewReaderSize(nc, 64<<10),
		w:       bufio.NewWriterSize(nc, 64<<10),
		scratch: make([]byte, 0, 64),
		Timeout: 30 * time.Second,
	}, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.nc.Close() }

// --- encoding ---

func (c *Conn) header(prefix byte, n int) {
	c.scratch = append(c.scratch[:0], prefix)
	c.scratch = strconv.AppendInt(c.scratch, int64(n), 10)
	c.scratch = append(c.scratch, '\r', '\n')
	c.w.Write(c.scratch)
}

// Begin starts a command of n arguments (the command name included); follow
// it with exactly n Arg* calls.
func (c *Conn) Begin(n int) { c.header('*', n) }

// Arg writes one argument.
func (c *Conn) Arg(s string) {
	c.header('$', len(s))
	c.w.WriteString(s)
	c.w.WriteString("\r\n")
}

// ArgBytes writes one argument.
func (c *Conn) ArgBytes(b []byte) {
	c.header('$', len(b))
	c.w.Write(b)
	c.w.WriteString("\r\n")
}

// ArgInt writes a decimal integer argument.
func (c *Conn) ArgInt(n int64) { c.ArgKey("", n) }

// ArgKey writes prefix followed by n in decimal ("u:" and 42 give "u:42").
func (c *Conn) ArgKey(prefix string, n int64) {
	var num [20]byte
	digits := strconv.AppendInt(num[:0], n, 10)
	c.header('$', len(prefix)+len(digits))
	c.w.WriteString(prefix)
	c.w.Write(digits)
	c.w.WriteString("\r\n")
}

// Command writes a whole command.
func (c *Conn) Command(args ...string) {
	c.Begin(len(args))
	for _, a := range args {
		c.Arg(a)
	}
}

// Flush sends everything written so far.
func (c *Conn) Flush() error {
	if c.Timeout > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(c.Timeout))
	}
	return c.w.Flush()
}

// --- decoding ---

// Reply is one decoded RESP2/RESP3 reply.
type Reply struct {
	Type  byte    // the RESP type byte: '+', '-', ':', '$', '*', '_', ',', '#', '=', '%', '~', '>', '('
	Str   string  // simple, error, bulk, verbatim (without its "txt:"), double and big number text
	Int   int64   // integers and booleans (1/0)
	Elems []Reply // arrays, sets and pushes; maps as k, v, k, v…
	Null  bool    // RESP2 null bulk/array or RESP3 null
}

// Err is the reply as an error when it is a RESP error, else nil.
func (r Reply) Err() error {
	if r.Type == '-' || r.Type == '!' {
		return ReplyError(r.Str)
	}
	return nil
}

// ReplyError is an error reply from the server.
type ReplyError string

func (e ReplyError) Error() string { return string(e) }

// ErrProtocol is returned for bytes that are not RESP.
var ErrProtocol = errors.New("resp: protocol error")

func (c *Conn) setReadDeadline() {
	if c.Timeout > 0 {
		c.nc.SetReadDeadline(time.Now().Add(c.Timeout))
	}
}

// line reads one CRLF-terminated line without its CRLF. The slice is only
// valid until the next read.
func (c *Conn) line() ([]byte, error) {
	b, err := c.r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("%w: line longer than %d bytes", ErrProtocol, c.r.Size())
		}
		return nil, err
	}
	if len(b) < 3 || b[len(b)-2] != '\r' {
		return nil, fmt.Errorf("%w: bad line %q", ErrProtocol, b)
	}
	return b[:len(b)-2], nil
}

func parseInt(b []byte) (int64, error) {
	if len(b) == 0 {
		return 0, fmt.Errorf("%w: empty integer", ErrProtocol)
	}
	neg := b[0] == '-'
	if neg || b[0] == '+' {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, fmt.Errorf("%w: bad integer", ErrProtocol)
	}
	var n int64
	for _, ch := range b {
		if ch < '0' || ch > '9' {
			return 0, fmt.Errorf("%w: bad integer %q", ErrProtocol, b)
		}
		n = n*10 + int64(ch-'0')
	}
	if neg {
		n = -n
	}
	return n, nil
}

// ReadReply reads and decodes the next reply.
func (c *Conn) ReadReply() (Reply, error) {
	c.setReadDeadline()
	return c.readReply()
}

func (c *Conn) readReply() (Reply, error) {
	ln, err := c.line()
	if err != nil {
		return Reply{}, err
	}
	r := Reply{Type: ln[0]}
	body := ln[1:]
	switch r.Type {
	case '+', '-', ',', '(':
		r.Str = string(body)
	case ':':
		r.Int, err = parseInt(body)
	case '#':
		r.Int = 0
		if len(body) == 1 && body[0] == 't' {
			r.Int = 1
		}
	case '_':
		r.Null = true
	case '$', '=', '!':
		var n int64
		if n, err = parseInt(body); err != nil {
			return r, err
		}
		if n < 0 {
			r.Null = true
			return r, nil
		}
		buf := make([]byte, n+2)
		if _, err = io.ReadFull(c.r, buf); err != nil {
			return r, err
		}
		r.Str = string(buf[:n])
		if r.Type == '=' && len(r.Str) >= 4 {
			r.Str = r.Str[4:]
		}
		if r.Type == '!' {
			r.Type = '-'
		}
	case '*', '~', '>', '%':
		var n int64
		if n, err = parseInt(body); err != nil {
			return r, err
		}
		if n < 0 {
			r.Null = true
			return r, nil
		}
		if r.Type == '%' {
			n *= 2
		}
		r.Elems = make([]Reply, n)
		for i := range r.Elems {
			if r.Elems[i], err = c.readReply(); err != nil {
				return r, err
			}
		}
	default:
		return r, fmt.Errorf("%w: unknown reply type %q", ErrProtocol, r.Type)
	}
	return r, err
}

// SkipReply reads the next reply without decoding it. A top-level error
// reply comes back as errMsg (the only allocation); err is a connection or
// protocol failure after which the connection is unusable.
func (c *Conn) SkipReply() (errMsg string, err error) {
	c.setReadDeadline()
	return c.skip(true)
}

func (c *Conn) skip(top bool) (string, error) {
	ln, err := c.line()
	if err != nil {
		return "", err
	}
	switch ln[0] {
	case '-':
		if top {
			return string(ln[1:]), nil
		}
		return "", nil
	case '+', ':', ',', '(', '#', '_':
		return "", nil
	case '$', '=', '!':
		n, err := parseInt(ln[1:])
		if err != nil || n < 0 {
			return "", err
		}
		if ln[0] == '!' && top {
			buf := make([]byte, n+2)
			if _, err := io.ReadFull(c.r, buf); err != nil {
				return "", err
			}
			return string(buf[:n]), nil
		}
		_, err = c.r.Discard(int(n) + 2)
		return "", err
	case '*', '~', '>', '%':
		n, err := parseInt(ln[1:])
		if err != nil || n < 0 {
			return "", err
		}
		if ln[0] == '%' {
			n *= 2
		}
		for i := int64(0); i < n; i++ {
			if _, err := c.skip(false); err != nil {
				return "", err
			}
		}
		return "", nil
	}
	return "", fmt.Errorf("%w: unknown reply type %q", ErrProtocol, ln[0])
}

// Do sends one command and reads its reply. A RESP error reply is returned
// as a ReplyError.
func (c *Conn) Do(args ...string) (Reply, error) {
	c.Command(args...)
	if err := c.Flush(); err != nil {
		return Reply{}, err
	}
	r, err := c.ReadReply()
	if err != nil {
		return r, err
	}
	return r, r.Err()
}

// Int sends a command whose reply is an integer.
func (c *Conn) Int(args ...string) (int64, error) {
	r, err := c.Do(args...)
	if err != nil {
		return 0, err
	}
	if r.Type != ':' {
		return 0, fmt.Errorf("%s: expected an integer reply, got %q", args[0], r.Type)
	}
	return r.Int, nil
}

// Info sends INFO [section] and returns its fields by name.
func (c *Conn) Info(section ...string) (map[string]string, error) {
	r, err := c.Do(append([]string{"INFO"}, section...)...)
	if err != nil {
		return nil, err
	}
	if r.Type != '$' && r.Type != '=' {
		return nil, fmt.Errorf("INFO: expected a bulk reply, got %q", r.Type)
	}
	return ParseInfo(r.Str), nil
}

// ParseInfo splits INFO text into its "name:value" fields.
func ParseInfo(s string) map[string]string {
	out := map[string]string{}
	for _, ln := range strings.Split(s, "\n") {
		ln = strings.TrimRight(ln, "\r")
		if ln == "" || ln[0] == '#' {
			continue
		}
		if k, v, ok := strings.Cut(ln, ":"); ok {
			out[k] = v
		}
	}
	return out
}
