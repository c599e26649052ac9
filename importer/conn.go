package importer

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/segd-db/segd/cliutil"

	"github.com/segd-db/segd/progress"
)

// A tiny RESP2 client: commands are encoded into a batch buffer by the
// reader, written in one go, and the replies are read back by a second
// goroutine so that a large pipeline never waits on its own replies.

// ioTimeout bounds each write of a batch and each reply.
const ioTimeout = 2 * time.Minute

// appendArrayHeader starts a RESP command of n arguments; appendArg adds one.
func appendArrayHeader(b []byte, n int) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '\r', '\n')
}

func appendArg(b []byte, s string) []byte {
	b = append(b, '$')
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, '\r', '\n')
	b = append(b, s...)
	return append(b, '\r', '\n')
}

type conn struct {
	nc net.Conn
	r  *bufio.Reader
}

func dial(ctx context.Context, addr, password string, tlsCfg *tls.Config) (*conn, error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var nc net.Conn
	var err error
	if tlsCfg != nil {
		d := tls.Dialer{Config: tlsCfg}
		nc, err = d.DialContext(dctx, "tcp", addr)
	} else {
		var d net.Dialer
		nc, err = d.DialContext(dctx, "tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot connect to %s: %w", addr, err)
	}
	c := &conn{nc: nc, r: bufio.NewReaderSize(nc, 64<<10)}
	// ENT.COUNT (after AUTH when there is a password) checks that this is a
	// segd server that lets us in: unlike PING it needs the password.
	var b []byte
	if password != "" {
		b = appendArrayHeader(b, 2)
		b = appendArg(appendArg(b, "AUTH"), password)
	}
	b = appendArg(appendArrayHeader(b, 1), "ENT.COUNT")
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := nc.Write(b); err != nil {
		nc.Close()
		return nil, fmt.Errorf("%s: %w", addr, err)
	}
	replies := 1
	if password != "" {
		replies = 2
	}
	for range replies {
		msg, isErr, err := c.reply()
		if err == nil && isErr {
			err = cliutil.Refusal(addr, password, msg)
		}
		if err != nil {
			nc.Close()
			return nil, err
		}
	}
	nc.SetDeadline(time.Time{})
	return c, nil
}

func (c *conn) close() { c.nc.Close() }

func (c *conn) write(b []byte) error {
	c.nc.SetWriteDeadline(time.Now().Add(ioTimeout))
	_, err := c.nc.Write(b)
	return err
}

// reply reads one reply; an error reply comes back as (message, true, nil).
func (c *conn) reply() (string, bool, error) {
	c.nc.SetReadDeadline(time.Now().Add(ioTimeout))
	return c.readReply()
}

func (c *conn) line() ([]byte, error) {
	b, err := c.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		// A long simple line (an error message); keep it whole.
		long := append([]byte(nil), b...)
		for err == bufio.ErrBufferFull {
			b, err = c.r.ReadSlice('\n')
			long = append(long, b...)
		}
		b = long
	}
	if err != nil {
		return nil, err
	}
	if len(b) < 3 || b[len(b)-2] != '\r' {
		return nil, fmt.Errorf("not a RESP server: unexpected %q", b)
	}
	return b[:len(b)-2], nil
}

func (c *conn) readReply() (string, bool, error) {
	ln, err := c.line()
	if err != nil {
		return "", false, err
	}
	body := string(ln[1:])
	switch ln[0] {
	case '-', '!':
		if ln[0] == '!' {
			n, _ := strconv.Atoi(body)
			buf := make([]byte, n+2)
			if _, err := io.ReadFull(c.r, buf); err != nil {
				return "", false, err
			}
			body = string(buf[:n])
		}
		return body, true, nil
	case '+', ':', ',', '(', '#', '_':
		return body, false, nil
	case '$', '=':
		n, err := strconv.Atoi(body)
		if err != nil {
			return "", false, fmt.Errorf("not a RESP server: bad length %q", body)
		}
		if n < 0 {
			return "", false, nil
		}
		if _, err := c.r.Discard(n + 2); err != nil {
			return "", false, err
		}
		return "", false, nil
	case '*', '~', '>', '%':
		n, err := strconv.Atoi(body)
		if err != nil {
			return "", false, fmt.Errorf("not a RESP server: bad length %q", body)
		}
		if ln[0] == '%' {
			n *= 2
		}
		for range max(n, 0) {
			if _, _, err := c.readReply(); err != nil {
				return "", false, err
			}
		}
		return "", false, nil
	}
	return "", false, fmt.Errorf("not a RESP server: unexpected %q", ln)
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *progress.Progress
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// value reads one reply as Go values: simple and bulk strings as string,
// integers as int64, null as nil, aggregates (maps flattened) as []any and
// an error reply as errReply.
func (c *conn) value() (any, error) {
	c.nc.SetReadDeadline(time.Now().Add(ioTimeout))
	return c.readValue()
}

func (c *conn) readValue() (any, error) {
	ln, err := c.line()
	if err != nil {
		return nil, err
	}
	body := string(ln[1:])
	switch ln[0] {
	case '-':
		return errReply{body}, nil
	case '+', ',', '(', '#':
		return body, nil
	case '_':
		return nil, nil
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$', '=', '!':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, fmt.Errorf("not a RESP server: bad length %q", body)
		}
		if n < 0 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return nil, err
		}
		if ln[0] == '!' {
			return errReply{string(buf[:n])}, nil
		}
		return string(buf[:n]), nil
	case '*', '~', '>', '%':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, fmt.Errorf("not a RESP server: bad length %q", body)
		}
		if ln[0] == '%' {
			n *= 2
		}
		out := make([]any, 0, max(n, 0))
		for range max(n, 0) {
			v, err := c.readValue()
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("not a RESP server: unexpected %q", ln)
}
