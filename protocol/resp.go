// Package protocol holds segd's wire-level pieces: the RESP2/RESP3 reply
// encoder, the command table that drives dispatch, COMMAND, COMMAND INFO and
// COMMAND DOCS, argument helpers, and a guard that bounds what a client may
// send before redcon parses it.
//
// redcon writes RESP2 only; segd encodes every reply with Enc and hands the
// bytes to redcon's Conn.WriteRaw. The package imports no other segd package.
package protocol

import (
	"math"
	"strconv"
	"strings"
)

// Enc appends RESP replies to B. Proto selects the wire format: 3 for RESP3
// (after HELLO 3), anything else for RESP2. The zero value encodes RESP2.
//
// Every method appends exactly one RESP value, or the header of an aggregate
// (Array, Map, Set, Push) whose elements the caller appends next: n elements
// for Array, Set and Push, n key/value pairs (2n values) for Map.
type Enc struct {
	Proto int
	B     []byte
}

// Reset empties B, keeping its capacity and the protocol.
func (e *Enc) Reset() { e.B = e.B[:0] }

// Resp3 reports whether e encodes RESP3.
func (e *Enc) Resp3() bool { return e.Proto == 3 }

// SimpleString appends a status reply, "+s\r\n". CR and LF in s are replaced
// by spaces, as a status line cannot hold them.
func (e *Enc) SimpleString(s string) {
	e.B = append(e.B, '+')
	e.B = appendLine(e.B, s)
	e.B = append(e.B, '\r', '\n')
}

// OK appends "+OK\r\n".
func (e *Enc) OK() { e.B = append(e.B, "+OK\r\n"...) }

// Error appends an error reply, "-s\r\n". s carries the code, for example
// "ERR unknown field 'contry'" or "WRONGTYPE ...". CR and LF in s are replaced
// by spaces (Redis does the same), so a message can never break the framing.
func (e *Enc) Error(s string) {
	e.B = append(e.B, '-')
	e.B = appendLine(e.B, s)
	e.B = append(e.B, '\r', '\n')
}

// Int appends an integer reply, ":n\r\n".
func (e *Enc) Int(n int64) {
	e.B = append(e.B, ':')
	e.B = strconv.AppendInt(e.B, n, 10)
	e.B = append(e.B, '\r', '\n')
}

// Bulk appends a bulk string, "$len\r\nb\r\n". A nil b is an empty string,
// not a null: use Null for that.
func (e *Enc) Bulk(b []byte) {
	e.B = appendHeader(e.B, '$', len(b))
	e.B = append(e.B, b...)
	e.B = append(e.B, '\r', '\n')
}

// BulkString appends s as a bulk string.
func (e *Enc) BulkString(s string) {
	e.B = appendHeader(e.B, '$', len(s))
	e.B = append(e.B, s...)
	e.B = append(e.B, '\r', '\n')
}

// BulkInt appends the decimal form of n as a bulk string (cursors, for example,
// are bulk strings).
func (e *Enc) BulkInt(n int64) {
	var buf [20]byte
	d := strconv.AppendInt(buf[:0], n, 10)
	e.B = appendHeader(e.B, '$', len(d))
	e.B = append(e.B, d...)
	e.B = append(e.B, '\r', '\n')
}

// Null appends a null: "_\r\n" under RESP3, the null bulk string "$-1\r\n"
// under RESP2 (what Redis sends for GET of a missing key).
func (e *Enc) Null() {
	if e.Proto == 3 {
		e.B = append(e.B, "_\r\n"...)
		return
	}
	e.B = append(e.B, "$-1\r\n"...)
}

// NullArray appends a null aggregate: "_\r\n" under RESP3, the null array
// "*-1\r\n" under RESP2.
func (e *Enc) NullArray() {
	if e.Proto == 3 {
		e.B = append(e.B, "_\r\n"...)
		return
	}
	e.B = append(e.B, "*-1\r\n"...)
}

// Array appends an array header of n elements.
func (e *Enc) Array(n int) { e.B = appendHeader(e.B, '*', n) }

// Map appends a map header of n key/value pairs: "%n" under RESP3, a flat
// array of 2n elements under RESP2.
func (e *Enc) Map(n int) {
	if e.Proto == 3 {
		e.B = appendHeader(e.B, '%', n)
		return
	}
	e.B = appendHeader(e.B, '*', 2*n)
}

// Set appends a set header of n elements: "~n" under RESP3, "*n" under RESP2.
func (e *Enc) Set(n int) {
	if e.Proto == 3 {
		e.B = appendHeader(e.B, '~', n)
		return
	}
	e.B = appendHeader(e.B, '*', n)
}

// Push appends an out-of-band push header of n elements (pub/sub messages):
// ">n" under RESP3, "*n" under RESP2.
func (e *Enc) Push(n int) {
	if e.Proto == 3 {
		e.B = appendHeader(e.B, '>', n)
		return
	}
	e.B = appendHeader(e.B, '*', n)
}

// Double appends a floating-point reply: ",1.5\r\n" under RESP3, the bulk
// string "1.5" under RESP2. Infinities are "inf" and "-inf" and NaN is "nan",
// as Redis writes them. Finite values use the shortest form that reads back
// to the same float64 ("0.1", "1000000", "1.5e+300"), plain decimal notation
// for magnitudes from 1e-4 up to 1e17 and exponent notation outside.
func (e *Enc) Double(f float64) {
	var buf [32]byte
	d := AppendDouble(buf[:0], f)
	if e.Proto == 3 {
		e.B = append(e.B, ',')
		e.B = append(e.B, d...)
		e.B = append(e.B, '\r', '\n')
		return
	}
	e.B = appendHeader(e.B, '$', len(d))
	e.B = append(e.B, d...)
	e.B = append(e.B, '\r', '\n')
}

// AppendDouble appends the text of f as Enc.Double writes it.
func AppendDouble(b []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	case math.IsNaN(f):
		return append(b, "nan"...)
	}
	if a := math.Abs(f); a == 0 || (a >= 1e-4 && a < 1e17) {
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// Bool appends a boolean: "#t\r\n"/"#f\r\n" under RESP3, the integer 1/0
// under RESP2.
func (e *Enc) Bool(v bool) {
	switch {
	case e.Proto == 3 && v:
		e.B = append(e.B, "#t\r\n"...)
	case e.Proto == 3:
		e.B = append(e.B, "#f\r\n"...)
	case v:
		e.B = append(e.B, ":1\r\n"...)
	default:
		e.B = append(e.B, ":0\r\n"...)
	}
}

// BigNumber appends an integer of any size given in decimal: "(s\r\n" under
// RESP3, the bulk string s under RESP2. CR and LF in s are replaced by spaces.
func (e *Enc) BigNumber(s string) {
	if e.Proto == 3 {
		e.B = append(e.B, '(')
		e.B = appendLine(e.B, s)
		e.B = append(e.B, '\r', '\n')
		return
	}
	e.BulkString(s)
}

// Verbatim appends a verbatim string: "=len\r\nfmt:s\r\n" under RESP3, the
// bulk string s under RESP2. format is a three-byte type such as "txt" (what
// Redis uses for INFO) or "mkd"; it is cut or padded with spaces to 3 bytes.
func (e *Enc) Verbatim(format, s string) {
	if e.Proto != 3 {
		e.BulkString(s)
		return
	}
	e.B = appendHeader(e.B, '=', len(s)+4)
	for i := 0; i < 3; i++ {
		c := byte(' ')
		if i < len(format) {
			c = format[i]
		}
		e.B = append(e.B, c)
	}
	e.B = append(e.B, ':')
	e.B = append(e.B, s...)
	e.B = append(e.B, '\r', '\n')
}

// Raw appends b unchanged: an already encoded reply.
func (e *Enc) Raw(b []byte) { e.B = append(e.B, b...) }

func appendHeader(b []byte, c byte, n int) []byte {
	b = append(b, c)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '\r', '\n')
}

// appendLine appends s with every CR and LF replaced by a space.
func appendLine(b []byte, s string) []byte {
	if strings.IndexByte(s, '\r') < 0 && strings.IndexByte(s, '\n') < 0 {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return b
}
